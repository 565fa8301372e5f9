//! What admins read about payments that needed attention.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

// Invariant 9 of ARCHITECTURE.md: what claims to be ours and does not
// match is refunded and recorded with one of these kinds.
/// Why a payment was not accepted as it came.
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
pub enum AnomalyKind {
    /// Paid another amount than the booking's price.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "amount_mismatch"))]
    AmountMismatch,
    /// Paid in another currency than the booking's.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "currency_mismatch"))]
    CurrencyMismatch,
    /// A Checkout Session that is not the one recorded on its booking.
    #[cfg_attr(
        feature = "sea-orm",
        sea_orm(string_value = "foreign_checkout_session")
    )]
    ForeignCheckoutSession,
    /// Our metadata names a booking that does not exist.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "unknown_booking"))]
    UnknownBooking,
    /// Completed without being paid (`no_payment_required`, …).
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "not_paid"))]
    NotPaid,
    /// A second payment for a booking already paid.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "second_payment"))]
    SecondPayment,
    /// A subscription on a price we do not sell: no access.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "unknown_price"))]
    UnknownPrice,
    /// A second subscription billed to a customer who had one already
    /// (invariant 16): cancelled at the provider, its payments refunded.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "second_subscription"))]
    SecondSubscription,
}

impl AnomalyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AmountMismatch => "amount_mismatch",
            Self::CurrencyMismatch => "currency_mismatch",
            Self::ForeignCheckoutSession => "foreign_checkout_session",
            Self::UnknownBooking => "unknown_booking",
            Self::NotPaid => "not_paid",
            Self::SecondPayment => "second_payment",
            Self::UnknownPrice => "unknown_price",
            Self::SecondSubscription => "second_subscription",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::AmountMismatch,
            Self::CurrencyMismatch,
            Self::ForeignCheckoutSession,
            Self::UnknownBooking,
            Self::NotPaid,
            Self::SecondPayment,
            Self::UnknownPrice,
            Self::SecondSubscription,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Where the money of an anomaly stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AnomalyRefund {
    /// Nothing was paid, or nothing to give back.
    None,
    /// Owed: the provider has not confirmed it yet (retried).
    Owed,
    Refunded,
    /// The provider refused it for good: a person must look.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnomalyDto {
    pub id: Uuid,
    pub kind: AnomalyKind,
    /// The Stripe event (or reconciliation) that brought it.
    pub event_id: String,
    pub booking_id: Option<Uuid>,
    pub checkout_session_id: Option<String>,
    pub payment_intent_id: Option<String>,
    pub subscription_id: Option<String>,
    pub amount_cents: Option<i64>,
    pub currency: Option<String>,
    /// What did not match, in words.
    pub detail: String,
    pub refund: AnomalyRefund,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(deserialize_with = "crate::wire::instant")
    )]
    pub created_at: DateTime<Utc>,
    /// When an admin acknowledged it; the audit reports it until then.
    #[cfg_attr(
        target_arch = "wasm32",
        serde(default, deserialize_with = "crate::wire::instant_opt")
    )]
    pub acknowledged_at: Option<DateTime<Utc>>,
}

/// A call the payment provider owes us: `owed` until made, then `done`, or
/// `failed` when refused for good or too late for its idempotency key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
pub enum OwedCallStatus {
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "owed"))]
    Owed,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "done"))]
    Done,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "failed"))]
    Failed,
}

impl OwedCallStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Owed => "owed",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

/// What an owed call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
pub enum OwedCallKind {
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "refund"))]
    Refund,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "expire_checkout"))]
    ExpireCheckout,
    /// Cancels a subscription at the provider (target: `sub_…`).
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "cancel_sub"))]
    CancelSubscription,
    /// Refunds what paid an invoice (target: `in_…`); the provider names
    /// the payment when the call is made.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "refund_invoice"))]
    RefundInvoice,
    /// Issues the provider's credit note on its invoice (target: `in_…`)
    /// for money given back (invariant 18).
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "credit_note"))]
    CreditNote,
    /// Deletes a customer at the provider (target: `cus_…`): its e-mail,
    /// name and cards go with it (an erased account, GDPR article 17).
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "delete_customer"))]
    DeleteCustomer,
}

impl OwedCallKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Refund => "refund",
            Self::ExpireCheckout => "expire_checkout",
            Self::CancelSubscription => "cancel_sub",
            Self::RefundInvoice => "refund_invoice",
            Self::CreditNote => "credit_note",
            Self::DeleteCustomer => "delete_customer",
        }
    }
}
