//! What every concept stands on: who acts, the venue's clock, the mail
//! outbox, the events outbox, throttles, job leases and idempotency keys, and how a failed
//! payment-gateway call is answered.

pub mod actor;
pub mod clock;
pub mod events;
pub mod gateway;
pub mod idempotency;
pub mod job_leases;
pub mod mail;
pub mod throttles;
