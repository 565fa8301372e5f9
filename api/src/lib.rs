//! The Immersion api as a library: `startup::Application` builds the
//! server; the binary in `main.rs` only parses the command line.
//!
//! The layers, and who may import whom (arrows point down only, and no
//! module reaches back to one that reaches it; `tests/api/layers.rs`
//! checks it on the import graph; ARCHITECTURE.md has the whole picture):
//!
//! ```text
//! main, cli, startup        wiring: settings, pool, state, server, jobs
//!   │
//! http/  jobs/  state       the edges: requests (extractors in http::extract,
//!   │                       one file per resource) and background ticks;
//!   │                       AppState is what they share
//! domain/                   rules and transactions, one folder per concept;
//!   │                       takes a connection, the gateway trait, the
//!   │                       one `config::Policy` (or a `Desk`/`Gate`
//!   │                       bundling them) and an `Actor`; never actix,
//!   │                       an extractor or AppState
//! payments/  auth::{password, token}  mail  webhook_targets
//!   │                       what the domain calls out to;
//!   │                       payments imports nothing from the domain
//! entity, common, config, error, db, tasks
//! ```

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod email;
pub mod error;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod payments;
pub mod startup;
pub mod state;
pub mod tasks;
pub mod telemetry;
pub mod webhook_targets;
