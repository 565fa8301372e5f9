//! Seat bookings: their JSON shapes and the refund rule.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `held` while the buyer pays (the seat is taken until `hold_expires_at`),
/// then `confirmed`; `expired` when the hold lapsed unpaid; `cancelled`
/// when cancelled without refund; `refunded` when the payment went back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "sea-orm",
    derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum)
)]
#[cfg_attr(
    feature = "sea-orm",
    sea_orm(
        rs_type = "String",
        db_type = "String(sea_orm::sea_query::StringLen::N(16))"
    )
)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "held"))]
    Held,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "confirmed"))]
    Confirmed,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "cancelled"))]
    Cancelled,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "expired"))]
    Expired,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "refunded"))]
    Refunded,
}

impl BookingStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "held" => Some(Self::Held),
            "confirmed" => Some(Self::Confirmed),
            "cancelled" => Some(Self::Cancelled),
            "expired" => Some(Self::Expired),
            "refunded" => Some(Self::Refunded),
            _ => None,
        }
    }

    /// Held and confirmed bookings occupy a seat (invariant 1).
    pub fn takes_a_seat(self) -> bool {
        matches!(self, Self::Held | Self::Confirmed)
    }
}

/// A booking, with the dates and place of its session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BookingDto {
    pub id: Uuid,
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub user_email: String,
    /// "First Last" from the attendee's profile, in admins' lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attendee_name: Option<String>,
    pub status: BookingStatus,
    /// Until when a `held` seat is kept for payment.
    #[cfg_attr(
        target_arch = "wasm32",
        serde(default, deserialize_with = "crate::wire::instant_opt")
    )]
    pub hold_expires_at: Option<DateTime<Utc>>,
    pub amount_cents: i64,
    pub currency: String,
    /// What was paid back, when refunded.
    pub refunded_cents: Option<i64>,
    #[cfg_attr(target_arch = "wasm32", serde(deserialize_with = "crate::wire::date"))]
    pub starts_on: NaiveDate,
    #[cfg_attr(target_arch = "wasm32", serde(deserialize_with = "crate::wire::date"))]
    pub ends_on: NaiveDate,
    pub location: String,
    /// The last day (venue time) on which cancelling refunds in full;
    /// after it, cancelling refunds nothing (the refund rule below).
    #[cfg_attr(target_arch = "wasm32", serde(deserialize_with = "crate::wire::date"))]
    pub full_refund_until: NaiveDate,
    /// Where to read the seat's invoice, once there is one (in the
    /// owner's list and the admins' attendee list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_url: Option<String>,
    /// Where to read the credit notes that correct that invoice (money
    /// given back on the seat), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credit_note_urls: Vec<String>,
    /// A refund is owed and the payment provider has not made it yet
    /// ("Remboursement en cours"); it is made within moments, or retried.
    #[serde(default)]
    pub refund_pending: bool,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(deserialize_with = "crate::wire::instant")
    )]
    pub created_at: DateTime<Utc>,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(deserialize_with = "crate::wire::instant")
    )]
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/sessions/{id}/checkout`: the seat is held; pay at `checkout_url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckoutResponse {
    pub booking_id: Uuid,
    pub checkout_session_id: String,
    pub checkout_url: String,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(deserialize_with = "crate::wire::instant")
    )]
    pub hold_expires_at: DateTime<Utc>,
}

/// `POST /api/bookings/{id}/cancel`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Admins only: refund in full whatever the date.
    #[serde(default)]
    pub force_refund: bool,
}

/// The refund rule: a full refund when cancelled at least `cutoff_days`
/// before the first day of the session, none after.
pub fn refund_on_cancel(
    today: NaiveDate,
    starts_on: NaiveDate,
    cutoff_days: i64,
    amount_cents: i64,
) -> i64 {
    if today <= full_refund_until(starts_on, cutoff_days) {
        amount_cents
    } else {
        0
    }
}

/// The last day a cancellation is refunded in full: `cutoff_days` before
/// the first day of the session.
pub fn full_refund_until(starts_on: NaiveDate, cutoff_days: i64) -> NaiveDate {
    starts_on - chrono::Duration::days(cutoff_days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn full_refund_up_to_the_cutoff_and_none_after() {
        let start = d("2030-03-15");
        assert_eq!(
            refund_on_cancel(d("2030-03-01"), start, 14, 199_700),
            199_700
        );
        assert_eq!(
            refund_on_cancel(d("2030-02-01"), start, 14, 199_700),
            199_700
        );
        assert_eq!(refund_on_cancel(d("2030-03-02"), start, 14, 199_700), 0);
        assert_eq!(
            refund_on_cancel(d("2030-03-15"), start, 0, 199_700),
            199_700
        );
        assert_eq!(refund_on_cancel(d("2030-03-16"), start, 0, 199_700), 0);
        assert_eq!(full_refund_until(start, 14), d("2030-03-01"));
    }

    #[test]
    fn statuses_round_trip_and_only_held_and_confirmed_take_seats() {
        for s in [
            BookingStatus::Held,
            BookingStatus::Confirmed,
            BookingStatus::Cancelled,
            BookingStatus::Expired,
            BookingStatus::Refunded,
        ] {
            assert_eq!(BookingStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                s.takes_a_seat(),
                matches!(s, BookingStatus::Held | BookingStatus::Confirmed)
            );
        }
    }
}
