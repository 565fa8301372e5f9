//! Business rules and transactions. Handlers call these; these call the
//! database through `entity`.
//!
//! Grouped by concept; a folder imports only the folders above it in this
//! list (`tests/api/layers.rs` checks it):
//!
//! ```text
//! platform/        mail outbox, throttles, job leases, idempotency keys, the actor, the venue's clock
//! accounts/        users, credentials, one-time tokens, sign-in sessions, profiles
//! catalog/         training sessions, their seats, the waiting list
//! billing/         what an event did (`Applied`), owed gateway calls, anomalies, invoices
//! bookings/        holds and cancels, seat payments, minimum-attendee decisions, calendar, reminders
//! subscriptions/   the subscription fold and access, members' resources
//! payment_events/  applying a payment event once (dispatch), reconciliation
//! reports/         the read side: stats, gauges, audit, attendance
//! training/        presence per half-day, trainer links, certificates of completion
//! integrations/    outgoing webhooks: endpoints, deliveries of the events outbox
//! privacy/         a person's export and erasure, how long records are kept
//! upgrades         what follows the migrations: older records completed
//! demo             demo data (uses any of the above)
//! ```

pub mod platform;

pub mod accounts;

pub mod catalog;

pub mod billing;

pub mod bookings;

pub mod subscriptions;

pub mod payment_events;

pub mod reports;

pub mod training;

pub mod integrations;

pub mod privacy;

pub mod upgrades;

pub mod demo;

use sea_orm::{DbErr, SqlErr};

/// True when `e` is a unique-key violation (a conflict, not a failure).
pub fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
