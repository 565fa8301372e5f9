//! SeaORM entities, one file per table (schema in the `migration` crate).
//! Enumerated columns are the enums of `common` (its `sea-orm` feature).

pub mod account_tokens;
pub mod api_keys;
pub mod auth_sessions;
pub mod credit_notes;
pub mod events;
pub mod gateway_refunds;
pub mod idempotency_keys;
pub mod immersion_bookings;
pub mod immersion_sessions;
pub mod invoice_numbers;
pub mod invoices;
pub mod job_leases;
pub mod mail_outbox;
pub mod member_resources;
pub mod owed_gateway_calls;
pub mod payment_anomalies;
pub mod presence_marks;
pub mod role_changes;
pub mod stripe_events;
pub mod stripe_subscriptions;
pub mod subscription_checkouts;
pub mod subscription_status;
pub mod throttle_hits;
pub mod trainer_links;
pub mod user_profiles;
pub mod users;
pub mod waitlist_entries;
pub mod webhook_attempts;
pub mod webhook_deliveries;
pub mod webhook_endpoints;
