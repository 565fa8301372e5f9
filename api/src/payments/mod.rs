//! The payment gateway: what the booking flow asks of a payment provider.
//! `stripe` talks to Stripe; `local` (no `STRIPE_SECRET_KEY`) serves its own
//! pay page and emits Stripe-shaped, signed events through the same webhook
//! pipeline, so the whole product works offline.

pub mod events;
pub mod local;
pub mod price_book;
pub mod stripe;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// A Checkout Session in payment mode for one seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    pub booking_id: Uuid,
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub customer_email: String,
    /// Shown on the payment page, e.g. "Immersion Élite, 3 mars - 7 mars 2025".
    pub product_name: String,
    pub amount_cents: i64,
    /// ISO 4217, upper-case (Stripe wants it lower-case; gateways convert).
    pub currency: String,
    /// When the Checkout Session expires: inside Stripe's window
    /// (`checkout_expiry`), and never after the hold's end.
    pub expires_at: DateTime<Utc>,
    pub success_url: String,
    pub cancel_url: String,
    /// The hold's previous Checkout Session, when this one replaces it (it
    /// can no longer be paid): only in the idempotency key, so that the
    /// new page is not the old one replayed.
    pub replaces: Option<String>,
    /// The seller's legal mentions (SIRET, RCS, declaration number), as
    /// (name, value): the provider prints them on the invoice it issues.
    pub invoice_fields: Vec<(String, String)>,
}

/// Stripe refuses a Checkout Session that expires less than 30 minutes or
/// more than 24 hours after it is created. This margin keeps us inside
/// that window despite clock skew and the time the request takes.
pub const EXPIRY_MARGIN: Duration = Duration::minutes(2);

/// The shortest hold: Stripe's 30 minutes, its margin, and a minute for
/// the time between taking the seat and asking for the Checkout Session.
pub const MIN_HOLD: Duration = Duration::minutes(33);

/// The `expires_at` to send for a hold ending at `hold_end`, measured
/// from `now`, the moment of the call: within Stripe's window with a margin.
pub fn checkout_expiry(hold_end: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    let earliest = now + Duration::minutes(30) + EXPIRY_MARGIN;
    let latest = now + Duration::hours(24) - EXPIRY_MARGIN;
    hold_end.clamp(earliest, latest)
}

impl CheckoutRequest {
    /// One Checkout Session per booking, expiry and replaced page, however
    /// often the call is retried. A hold keeps its end (invariant 14); a
    /// new page for it, when its page can no longer be paid, names the
    /// page it replaces, so Stripe does not replay the old one. (Stripe
    /// refuses a key sent again with other parameters.)
    pub fn idempotency_key(&self) -> String {
        let key = format!(
            "checkout-{}-{}",
            self.booking_id,
            self.expires_at.timestamp()
        );
        match &self.replaces {
            Some(previous) => format!("{key}-after-{previous}"),
            None => key,
        }
    }

    /// The metadata written on every seat Checkout Session (the API conventions).
    pub fn metadata(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("type", "immersion".to_owned()),
            ("booking_id", self.booking_id.to_string()),
            ("session_id", self.session_id.to_string()),
            ("user_id", self.user_id.to_string()),
        ])
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutSession {
    pub id: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub payment_intent_id: String,
    pub amount_cents: i64,
    /// The same key for the same refund: the provider applies it once.
    pub idempotency_key: String,
    pub booking_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: String,
}

/// A credit note on one of the provider's invoices, for money given back
/// outside it (the refund is its own call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditNoteRequest {
    /// The provider's invoice (`in_…`).
    pub invoice_id: String,
    pub amount_cents: i64,
    /// Why, in French, printed on the credit note.
    pub memo: String,
    /// The same key for the same credit note: the provider issues it once.
    pub idempotency_key: String,
    pub booking_id: Option<Uuid>,
}

/// A credit note the provider issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditNote {
    /// `cn_…`.
    pub id: String,
    /// As printed ("ABCD1234-0007-CN-01").
    pub number: String,
    pub amount_cents: i64,
    pub pdf_url: Option<String>,
    pub created: DateTime<Utc>,
}

/// A Checkout Session in subscription mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionCheckoutRequest {
    /// The claim this page answers (`subscription_checkouts`): every
    /// request that finds the same claim sends the same key and gets the
    /// same page (invariant 16).
    pub attempt: Uuid,
    pub user_id: Uuid,
    pub customer_id: String,
    pub plan: common::subscriptions::Plan,
    /// The Stripe price of the plan.
    pub price_id: String,
    pub success_url: String,
    pub cancel_url: String,
}

impl SubscriptionCheckoutRequest {
    /// One page per claim, however many requests find it at once.
    pub fn idempotency_key(&self) -> String {
        format!("subscription-checkout-{}", self.attempt)
    }

    /// Written on the session and on the subscription it creates (the API conventions).
    pub fn metadata(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("type", "subscription".to_owned()),
            ("user_id", self.user_id.to_string()),
        ])
    }
}

/// A recurring price as the provider states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecurringPrice {
    pub amount_cents: i64,
    /// ISO 4217, upper-case.
    pub currency: String,
    pub interval: common::subscriptions::PlanInterval,
}

/// Why a call to the provider failed: it answered no, or it did not
/// answer (then the call may have happened: retry with the same key).
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("the payment provider refused the request: {0}")]
    Refused(String),
    #[error("the payment provider did not answer: {0}")]
    Unavailable(String),
}

#[async_trait::async_trait]
pub trait PaymentGateway: Send + Sync {
    async fn create_checkout(&self, req: &CheckoutRequest)
    -> Result<CheckoutSession, GatewayError>;
    /// Closes an open Checkout Session so it can no longer be paid.
    async fn expire_checkout(
        &self,
        checkout_session_id: &str,
        idempotency_key: &str,
    ) -> Result<(), GatewayError>;
    async fn refund(&self, req: &RefundRequest) -> Result<Refund, GatewayError>;
    /// Issues a credit note on one of the provider's own invoices. A
    /// gateway whose invoices the app issues itself (the local one) has
    /// none to credit: the app issues its own credit notes.
    async fn create_credit_note(
        &self,
        req: &CreditNoteRequest,
    ) -> Result<CreditNote, GatewayError> {
        Err(GatewayError::Refused(format!(
            "no invoice {} at this payment provider: the app credits its own invoices",
            req.invoice_id
        )))
    }
    /// A Stripe customer for a user (metadata `user_id`); returns its id.
    async fn create_customer(&self, user_id: Uuid, email: &str) -> Result<String, GatewayError>;
    /// Deletes a customer for good: its e-mail, name and cards go, and its
    /// subscriptions are cancelled at once (Stripe's rule). A customer
    /// already gone answers as the first time. (No idempotency key: Stripe
    /// asks for none on a DELETE, idempotent by definition.)
    async fn delete_customer(&self, customer_id: &str) -> Result<(), GatewayError>;
    async fn create_subscription_checkout(
        &self,
        req: &SubscriptionCheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError>;
    /// A Customer Portal session; returns its URL.
    async fn create_portal_session(
        &self,
        customer_id: &str,
        return_url: &str,
    ) -> Result<String, GatewayError>;
    /// A Checkout Session that can still be paid (open, not past its
    /// expiry): its id and URL, to hand out again. None once complete or
    /// expired.
    async fn reopen_checkout(
        &self,
        checkout_session_id: &str,
    ) -> Result<Option<CheckoutSession>, GatewayError>;
    /// What a Checkout Session says now: paid, closed, or still open (None).
    async fn checkout_session(
        &self,
        checkout_session_id: &str,
    ) -> Result<Option<events::Payment>, GatewayError>;
    /// Events whose delivery has not succeeded, created since `since`.
    async fn undelivered_events(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<events::PaymentEvent>, GatewayError>;
    /// What can still be refunded of a payment: its amount less what went
    /// back (refunds made here or in Stripe's Dashboard).
    async fn refundable(&self, payment_intent_id: &str) -> Result<i64, GatewayError>;
    /// A subscription price: its amount, currency and interval.
    async fn price(&self, price_id: &str) -> Result<RecurringPrice, GatewayError>;
    /// Every subscription of a customer, ended ones included.
    async fn customer_subscriptions(
        &self,
        customer_id: &str,
    ) -> Result<Vec<events::SubscriptionChange>, GatewayError>;
    /// Cancels a subscription now: it bills no more. Its
    /// `customer.subscription.deleted` follows as an event.
    async fn cancel_subscription(
        &self,
        subscription_id: &str,
        idempotency_key: &str,
    ) -> Result<(), GatewayError>;
    /// Whether a subscription has ended (cancelled, or expired unpaid).
    async fn subscription_ended(&self, subscription_id: &str) -> Result<bool, GatewayError>;
    /// The payment that paid an invoice (`pi_…`); None when nothing did.
    async fn invoice_payment(&self, invoice_id: &str) -> Result<Option<String>, GatewayError>;
}
