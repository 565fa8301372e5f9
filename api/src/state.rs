//! What every handler shares: the database pool, settings, token keys and
//! the throttles' limits. Built once in `startup`.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::token::Tokens;
use crate::config::{Secret, Settings};
use crate::domain::checkout_ids::CheckoutIds;
use crate::domain::throttles::LoginLimits;
use crate::payments::PaymentGateway;
use crate::payments::local::LocalGateway;

pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Settings,
    /// The rules' numbers, typed once at start.
    pub policy: crate::config::Policy,
    pub gateway: Arc<dyn PaymentGateway>,
    /// Set when payments are local: its pay page is served.
    pub local_gateway: Option<Arc<LocalGateway>>,
    /// The secrets webhook signatures are checked against (the configured
    /// ones, or a generated one that the local gateway signs with).
    pub webhook_secrets: Vec<Secret>,
    pub tokens: Tokens,
    pub limits: LoginLimits,
    /// Verified against when a login names an unknown e-mail (same timing).
    pub decoy_hash: String,
    /// New holds' Checkout Session ids, written in batches.
    pub checkout_ids: CheckoutIds,
    pub metrics: crate::metrics::Metrics,
    /// The public catalog's bytes (`http::catalog_cache`).
    pub catalog: crate::http::catalog_cache::CatalogCache,
    /// This process, in the job leases (`domain::job_leases`).
    pub instance_id: String,
}

impl AppState {
    /// How waiting-list offers are made.
    pub fn offers(&self) -> crate::domain::waitlist::Offers {
        crate::domain::waitlist::Offers::of(&self.policy)
    }

    /// What signing up and in work with.
    pub fn gate(&self) -> crate::domain::users::Gate<'_> {
        crate::domain::users::Gate {
            db: &self.db,
            limits: self.limits,
            decoy_hash: &self.decoy_hash,
            admin_emails: &self.settings.admin_emails,
            public_url: &self.settings.public_url,
        }
    }

    /// What booking changes work with.
    pub fn desk(&self) -> crate::domain::bookings::Desk<'_> {
        crate::domain::bookings::Desk {
            db: &self.db,
            checkout_ids: &self.checkout_ids,
            policy: &self.policy,
        }
    }

    pub fn payment_policy(&self) -> crate::domain::payment_events::Policy {
        crate::startup::payment_policy(&self.settings, self.local_gateway.is_some())
    }
}
