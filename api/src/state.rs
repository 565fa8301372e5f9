//! What every handler shares: the database pool, settings, token keys and
//! the throttles' limits. Built once in `startup`.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::token::Tokens;
use crate::config::{Secret, Settings};
use crate::domain::checkout_ids::CheckoutIds;
use crate::domain::throttles::{self, Throttle};
use crate::payments::PaymentGateway;
use crate::payments::local::LocalGateway;

pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Settings,
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
    /// Counts a hold or cancel by `user` from `ip`; 429 past either limit.
    /// Admins are not limited (they cancel on behalf of others).
    pub async fn seat_change(
        &self,
        user: &crate::auth::AuthUser,
        ip: &str,
    ) -> crate::error::ApiResult<()> {
        if user.is_admin() {
            return Ok(());
        }
        let user_key = user.id.to_string();
        throttles::admit(
            &self.db,
            &[
                (self.limits.seats_per_user, &user_key),
                (self.limits.seats_per_ip, ip),
            ],
            chrono::Utc::now(),
        )
        .await
    }

    /// What payment events are applied with (see `startup::payment_policy`).
    /// How waiting-list offers are made.
    pub fn offers(&self) -> crate::domain::waitlist::Offers {
        crate::domain::waitlist::Offers::from_settings(&self.settings)
    }

    pub fn payment_policy(&self) -> crate::domain::payment_events::Policy {
        crate::startup::payment_policy(&self.settings, self.local_gateway.is_some())
    }
}

/// The throttles, counted in the database (`domain::throttles`) so that
/// they hold across instances.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Every login or register attempt, per client IP.
    pub per_ip: Throttle,
    /// Failed logins, per account e-mail and client IP: locks the pair.
    pub per_account_ip: Throttle,
    /// Failed logins, per account from everywhere: past it, guesses trickle.
    pub per_account: Throttle,
    /// One attempt per account every few seconds, once past `per_account`.
    pub account_trickle: Throttle,
    /// Account mails (verification, reset), per account and per IP.
    pub mail: Throttle,
    /// Holds and cancels, per user and per client IP: hoarding seats by
    /// re-holding, or a hold/cancel loop, meets 429.
    pub seats_per_user: Throttle,
    pub seats_per_ip: Throttle,
}

impl LoginLimits {
    pub fn from_settings(settings: &Settings) -> Self {
        let l = settings.login_limits;
        Self {
            per_ip: Throttle::new("login_ip", l.per_ip, l.window_seconds),
            per_account_ip: Throttle::new("login_account_ip", l.per_account, l.window_seconds),
            per_account: Throttle::new("login_account", l.account_slowdown_after, l.window_seconds),
            account_trickle: Throttle::new("login_trickle", 1, 3),
            mail: Throttle::new("account_mail", l.mails_per_hour, 3600),
            seats_per_user: Throttle::new("seats_user", l.seat_changes_per_user, 3600),
            seats_per_ip: Throttle::new("seats_ip", l.seat_changes_per_ip, 3600),
        }
    }
}
