//! Personal data: what deleting an account means before it is confirmed
//! (`GET /api/me/erasure`), and the confirmation (`DELETE /api/me`).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `DELETE /api/me`: the password, typed again.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AccountDeletion {
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub password: String,
}

/// A seat the deletion cancels, and what comes back of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CancelledSeat {
    pub booking_id: Uuid,
    #[cfg_attr(target_arch = "wasm32", serde(deserialize_with = "crate::wire::date"))]
    pub starts_on: NaiveDate,
    #[cfg_attr(target_arch = "wasm32", serde(deserialize_with = "crate::wire::date"))]
    pub ends_on: NaiveDate,
    pub location: String,
    /// Paid (0 for a seat held and not paid).
    pub paid_cents: i64,
    /// Refunded by the cancellation rules.
    pub refund_cents: i64,
    pub currency: String,
}

/// What deleting the account does, before it is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErasurePreview {
    /// Seats held, or paid for sessions still to come: cancelled by the
    /// cancellation rules.
    pub cancelled_seats: Vec<CancelledSeat>,
    /// Places in waiting lists, left.
    pub waiting_lists: usize,
    /// A live subscription, ended at once (no refund of the period).
    pub subscription_ends: bool,
    /// Records the law requires, kept under their retention period and
    /// then deleted: invoices and credit notes (10 years), presence and
    /// certificates' evidence (3 years).
    pub kept: Vec<String>,
}
