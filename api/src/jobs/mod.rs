//! Background work: the hold sweeper and the mail worker. Each is a loop
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
    vec![sweeper, mail]
}
