//! Business rules and transactions. Handlers call these; these call the
//! database through `entity`.

pub mod account_tokens;
pub mod accounts;
pub mod actor;
pub mod anomalies;
pub mod attendance;
pub mod audit;
pub mod auth_sessions;
pub mod bookings;
pub mod calendar;
pub mod clock;
pub mod decisions;
pub mod demo;
pub mod gauges;
pub mod idempotency;
pub mod invoices;
pub mod job_leases;
pub mod mail;
pub mod owed;
pub mod payment_events;
pub mod profiles;
pub mod reconcile;
pub mod reminders;
pub mod resources;
pub mod seat_payments;
pub mod seats;
pub mod sessions;
pub mod stats;
pub mod subscriptions;
pub mod throttles;
pub mod users;
pub mod waitlist;

use sea_orm::{DbErr, SqlErr};

/// True when `e` is a unique-key violation (a conflict, not a failure).
pub fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
