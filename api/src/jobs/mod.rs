//! Background work: the hold sweeper, the subscription expiry sweep, the
//! owed payment calls (refunds, Checkout Session expiries), the hourly
//! reconciliation with Stripe and the mail worker. Each is a loop
//! around a `*_once` function that tests call directly with a given `now`.
//! Both are safe with several api instances running them at once.

pub mod mail;
pub mod sweeper;

use std::time::Duration;

use actix_web::web;
use tokio::task::JoinHandle;

use crate::state::AppState;

const SWEEP_EVERY: Duration = Duration::from_secs(60);
const MAIL_EVERY: Duration = Duration::from_secs(5);
const EXPIRY_EVERY: Duration = Duration::from_secs(3600);

/// Starts the jobs on the current runtime.
pub fn spawn(state: web::Data<AppState>) -> Vec<JoinHandle<()>> {
    let sweeper_state = state.clone();
    let sweeper = tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = sweeper::sweep_once(
                &sweeper_state.db,
                sweeper_state.gateway.as_ref(),
                chrono::Utc::now(),
            )
            .await
            {
                tracing::error!(error = %e, "hold sweep failed");
            }
        }
    });
    let expiry_state = state.clone();
    let expiry = tokio::spawn(async move {
        let mut tick = tokio::time::interval(EXPIRY_EVERY);
        loop {
            tick.tick().await;
            let grace = chrono::Duration::hours(expiry_state.settings.past_due_grace_hours);
            match crate::domain::subscriptions::deactivate_expired(
                &expiry_state.db,
                grace,
                chrono::Utc::now(),
            )
            .await
            {
                Ok(n) if n > 0 => {
                    tracing::info!(deactivated = n, "expired subscriptions deactivated")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "subscription expiry sweep failed"),
            }
        }
    });
    let owed_state = state.clone();
    let owed = tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            match crate::domain::owed::settle_due(
                &owed_state.db,
                owed_state.gateway.as_ref(),
                chrono::Utc::now(),
            )
            .await
            {
                Ok(s) if s.done + s.failed > 0 => {
                    tracing::info!(
                        done = s.done,
                        failed = s.failed,
                        "owed payment calls settled"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "owed payment calls failed"),
            }
        }
    });
    let reconcile_state = state.clone();
    let reconcile = tokio::spawn(async move {
        let mut tick = tokio::time::interval(EXPIRY_EVERY);
        loop {
            tick.tick().await;
            let s = &reconcile_state;
            match crate::domain::reconcile::run(
                &s.db,
                s.gateway.as_ref(),
                &s.payment_policy(),
                chrono::Utc::now(),
            )
            .await
            {
                Ok(r) => {
                    for line in &r.changed {
                        tracing::warn!(repair = %line, "reconcile repaired drift");
                    }
                    for line in &r.unrepaired {
                        tracing::error!(drift = %line, "reconcile could not repair");
                    }
                }
                Err(e) => tracing::error!(error = %e, "reconcile failed"),
            }
        }
    });
    let mailer = mail::mailer_for(&state.settings);
    let mail = tokio::spawn(async move {
        let mut tick = tokio::time::interval(MAIL_EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = mail::deliver_once(&state.db, mailer.as_ref(), chrono::Utc::now()).await
            {
                tracing::error!(error = %e, "mail delivery failed");
            }
        }
    });
    vec![sweeper, expiry, owed, reconcile, mail]
}
