//! Integration tests: the real server on port 0 with a fresh database
//! (SQLite, or PostgreSQL when `TEST_DATABASE_URL` names one).
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod accounts;
mod api_keys;
mod attendance;
mod authorization;
mod backups;
mod bookings;
mod calendar;
mod catalog;
mod cli;
mod compose;
mod demo;
mod errors;
mod hold_end;
mod idempotency;
mod instances;
mod invoices;
mod late_payments;
mod layers;
mod line_first;
mod localstripe;
mod mail;
mod metrics;
mod minimum;
mod no_store;
mod openapi;
mod outage;
mod owners;
mod payment_integrity;
mod prices;
mod profile;
mod rate_limit;
mod refund_order;
mod roles;
mod rush;
mod simulation;
mod spa;
mod stats;
mod status_rule;
mod stripe_gateway;
mod subscriptions;
mod support;
mod upgrades;
mod waitlist;
mod webhooks;
