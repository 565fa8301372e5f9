//! Stripe: the client the gateway uses (`client`), the webhook signature
//! check (`signature`), the shapes of Stripe's objects (`objects`) and the
//! one place where they become payment events (`parse`).

pub mod client;
pub mod objects;
pub mod parse;
pub mod signature;

pub use client::StripeGateway;
