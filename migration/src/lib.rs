//! The schema, as SeaORM migrations that behave the same on SQLite and
//! PostgreSQL. The api runs them at start; `cargo run -p migration` and
//! `immersion migrate` run them by hand.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_initial;
mod m20261122_000002_booking_payments;
mod m20261122_000003_stripe_subscriptions;
mod m20261130_000004_money_integrity;
mod m20261130_000005_accounts;
mod m20261130_000006_shared_state;
mod m20261130_000007_idempotency;
mod m20261130_000008_minimum_attendees;
mod m20261130_000009_waitlist;
mod m20261130_000010_mail_once;
mod m20261130_000011_profiles;
mod m20261130_000012_invoices;
mod m20261130_000013_trainer;
mod m20261201_000014_gateway_refunds;
mod m20261201_000015_role_changes;
mod m20261201_000016_subscription_checkouts;
mod m20261201_000017_email_skeletons;
mod m20261201_000018_subscription_calls;
mod m20261201_000019_hold_addresses;
mod m20261202_000020_owed_call_targets;
mod m20261202_000021_api_keys;
mod m20261202_000022_events;
mod m20261202_000023_webhooks;
mod m20261202_000024_credit_notes;
mod m20261203_000025_presence;
mod m20261203_000026_customer_deletions;
mod sqlite;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_initial::Migration),
            Box::new(m20261122_000002_booking_payments::Migration),
            Box::new(m20261122_000003_stripe_subscriptions::Migration),
            Box::new(m20261130_000004_money_integrity::Migration),
            Box::new(m20261130_000005_accounts::Migration),
            Box::new(m20261130_000006_shared_state::Migration),
            Box::new(m20261130_000007_idempotency::Migration),
            Box::new(m20261130_000008_minimum_attendees::Migration),
            Box::new(m20261130_000009_waitlist::Migration),
            Box::new(m20261130_000010_mail_once::Migration),
            Box::new(m20261130_000011_profiles::Migration),
            Box::new(m20261130_000012_invoices::Migration),
            Box::new(m20261130_000013_trainer::Migration),
            Box::new(m20261201_000014_gateway_refunds::Migration),
            Box::new(m20261201_000015_role_changes::Migration),
            Box::new(m20261201_000016_subscription_checkouts::Migration),
            Box::new(m20261201_000017_email_skeletons::Migration),
            Box::new(m20261201_000018_subscription_calls::Migration),
            Box::new(m20261201_000019_hold_addresses::Migration),
            Box::new(m20261202_000020_owed_call_targets::Migration),
            Box::new(m20261202_000021_api_keys::Migration),
            Box::new(m20261202_000022_events::Migration),
            Box::new(m20261202_000023_webhooks::Migration),
            Box::new(m20261202_000024_credit_notes::Migration),
            Box::new(m20261203_000025_presence::Migration),
            Box::new(m20261203_000026_customer_deletions::Migration),
        ]
    }
}
