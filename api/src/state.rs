//! What every handler shares: the database pool, settings, token keys and
//! the throttles' limits. Built once in `startup`, which also opens the
//! domain's services on it: this module knows nothing of the domain.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::token::Tokens;
use crate::config::{Secret, Settings};
use crate::db::checkout_ids::CheckoutIds;
use crate::payments::PaymentGateway;
use crate::payments::local::LocalGateway;

pub struct AppState {
    pub db: DatabaseConnection,
    /// One connection of its own for `/ready`: a health check never
    /// queues behind requests for the pool.
    pub ready_db: DatabaseConnection,
    pub settings: Settings,
    /// The rules' numbers, typed once at start.
    pub policy: crate::config::Policy,
    pub gateway: Arc<dyn PaymentGateway>,
    /// What requests started and did not wait for.
    pub tasks: crate::tasks::Tasks,
    /// Set when payments are local: its pay page is served.
    pub local_gateway: Option<Arc<LocalGateway>>,
    /// The secrets webhook signatures are checked against (the configured
    /// ones, or a generated one that the local gateway signs with).
    pub webhook_secrets: Vec<Secret>,
    pub tokens: Tokens,
    /// Verified against when a login names an unknown e-mail (same timing).
    pub decoy_hash: String,
    /// This app's line for password hashes (one per CPU at a time).
    pub hashing: crate::auth::password::HashLimit,
    /// New holds' Checkout Session ids, written in batches.
    pub checkout_ids: CheckoutIds,
    /// Holds and cancels counted against their throttles in this
    /// process, added to the database every second.
    pub seat_counts: crate::db::tally::Tally,
    pub metrics: crate::metrics::Metrics,
    /// The plans' prices, read from the gateway at most hourly.
    pub price_book: crate::payments::price_book::PriceBook,
    /// The public catalog's bytes (`http::catalog_cache`).
    pub catalog: crate::http::catalog_cache::CatalogCache,
    /// This process, in the job leases.
    pub instance_id: String,
}
