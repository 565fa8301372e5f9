//! The Immersion api as a library: `startup::Application` builds the
//! server; the binary in `main.rs` only parses the command line.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod payments;
pub mod startup;
pub mod state;
pub mod telemetry;
