//! What every handler shares: the database pool, settings, token keys and
//! login throttles. Built once in `startup`.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::rate_limit::Limiter;
use crate::auth::token::Tokens;
use crate::config::{Secret, Settings};
use crate::domain::checkout_ids::CheckoutIds;
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
}

impl AppState {
    /// Counts a hold or cancel by `user` from `ip`; 429 past either limit.
    /// Admins are not limited (they cancel on behalf of others).
    pub fn seat_change(
        &self,
        user: &crate::auth::AuthUser,
        ip: &str,
    ) -> crate::error::ApiResult<()> {
        if user.is_admin() {
            return Ok(());
        }
        let now = std::time::Instant::now();
        let user_key = user.id.to_string();
        let wait = [
            self.limits.seats_per_user.check(&user_key, now).err(),
            self.limits.seats_per_ip.check(ip, now).err(),
        ]
        .into_iter()
        .flatten()
        .max();
        if let Some(retry_after_secs) = wait {
            return Err(crate::error::ApiError::RateLimited { retry_after_secs });
        }
        self.limits.seats_per_user.hit(&user_key, now);
        self.limits.seats_per_ip.hit(ip, now);
        Ok(())
    }

    /// What payment events are applied with (see `startup::payment_policy`).
    pub fn payment_policy(&self) -> crate::domain::payment_events::Policy {
        crate::startup::payment_policy(&self.settings, self.local_gateway.is_some())
    }
}

pub struct LoginLimits {
    /// Every login or register attempt, per client IP.
    pub per_ip: Limiter,
    /// Failed logins, per account e-mail and client IP: locks the pair.
    pub per_account_ip: Limiter,
    /// Failed logins, per account from everywhere: past it, guesses trickle.
    pub per_account: Limiter,
    /// One attempt per account every few seconds, once past `per_account`.
    pub account_trickle: Limiter,
    /// Account mails (verification, reset), per account and per IP.
    pub mail: Limiter,
    /// Holds and cancels, per user and per client IP: hoarding seats by
    /// re-holding, or a hold/cancel loop, meets 429.
    pub seats_per_user: Limiter,
    pub seats_per_ip: Limiter,
}

impl LoginLimits {
    pub fn from_settings(settings: &Settings) -> Self {
        let l = settings.login_limits;
        Self {
            per_ip: Limiter::new(l.per_ip, l.window_seconds),
            per_account_ip: Limiter::new(l.per_account, l.window_seconds),
            per_account: Limiter::new(l.account_slowdown_after, l.window_seconds),
            account_trickle: Limiter::new(1, 3),
            mail: Limiter::new(l.mails_per_hour, 3600),
            seats_per_user: Limiter::new(l.seat_changes_per_user, 3600),
            seats_per_ip: Limiter::new(l.seat_changes_per_ip, 3600),
        }
    }
}
