//! The payment events the domain applies: what a verified Stripe delivery
//! (or the local gateway, or a reconciliation fetch) says happened, in our
//! own small vocabulary. `stripe::parse` is the only place that reads
//! Stripe's JSON into these; the domain checks them against what was sold
//! (invariant 9) and never sees Stripe's shapes.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One event, with the id it is recorded under (at most once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentEvent {
    /// Stripe's event id (`evt_…`), or a reconciliation id.
    pub id: String,
    /// Stripe's event type, kept for the record.
    pub event_type: EventType,
    /// Stripe's `created`, in seconds.
    pub created: i64,
    pub payment: Payment,
}

/// The Stripe event types we act on, spelled once: the parser matches on
/// these, and the local gateway and reconciliation emit them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventType {
    CheckoutCompleted,
    CheckoutAsyncPaymentSucceeded,
    CheckoutExpired,
    CheckoutAsyncPaymentFailed,
    ChargeRefunded,
    SubscriptionCreated,
    SubscriptionUpdated,
    SubscriptionDeleted,
    InvoicePaymentSucceeded,
    InvoicePaid,
    InvoicePaymentFailed,
    /// Any other type: acknowledged, not acted on, kept as sent.
    Other(String),
}

impl EventType {
    const KNOWN: [Self; 11] = [
        Self::CheckoutCompleted,
        Self::CheckoutAsyncPaymentSucceeded,
        Self::CheckoutExpired,
        Self::CheckoutAsyncPaymentFailed,
        Self::ChargeRefunded,
        Self::SubscriptionCreated,
        Self::SubscriptionUpdated,
        Self::SubscriptionDeleted,
        Self::InvoicePaymentSucceeded,
        Self::InvoicePaid,
        Self::InvoicePaymentFailed,
    ];

    pub fn parse(s: &str) -> Self {
        Self::KNOWN
            .into_iter()
            .find(|k| k.as_str() == s)
            .unwrap_or_else(|| Self::Other(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::CheckoutCompleted => "checkout.session.completed",
            Self::CheckoutAsyncPaymentSucceeded => "checkout.session.async_payment_succeeded",
            Self::CheckoutExpired => "checkout.session.expired",
            Self::CheckoutAsyncPaymentFailed => "checkout.session.async_payment_failed",
            Self::ChargeRefunded => "charge.refunded",
            Self::SubscriptionCreated => "customer.subscription.created",
            Self::SubscriptionUpdated => "customer.subscription.updated",
            Self::SubscriptionDeleted => "customer.subscription.deleted",
            Self::InvoicePaymentSucceeded => "invoice.payment_succeeded",
            Self::InvoicePaid => "invoice.paid",
            Self::InvoicePaymentFailed => "invoice.payment_failed",
            Self::Other(s) => s,
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened, as far as the domain cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payment {
    /// A seat's Checkout Session completed (payment may still be pending).
    SeatPaid(SeatCheckout),
    /// A seat's Checkout Session expired or its async payment failed.
    SeatCheckoutClosed(SeatCheckout),
    /// A subscription-mode Checkout Session completed: ties a customer to a user.
    SubscriptionCheckout(SubscriptionCheckout),
    /// A charge was refunded (in full or in part), possibly outside the api.
    ChargeRefunded(ChargeRefund),
    /// `customer.subscription.created|updated|deleted`.
    SubscriptionChanged(SubscriptionChange),
    /// `invoice.payment_succeeded|paid|payment_failed` of a subscription.
    Invoice(InvoiceOutcome),
    /// The paid invoice of a seat (Stripe issues one per seat Checkout
    /// Session, carrying our metadata).
    SeatInvoice(SeatInvoice),
    /// Something of another product on the same Stripe account: acknowledged.
    NotOurs(&'static str),
    /// An event type we do not act on.
    Ignored,
}

/// How Stripe says a Checkout Session stands with its money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentStatus {
    Paid,
    Unpaid,
    NoPaymentRequired,
    Other(String),
}

impl PaymentStatus {
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("paid") => Self::Paid,
            Some("unpaid") | None => Self::Unpaid,
            Some("no_payment_required") => Self::NoPaymentRequired,
            Some(other) => Self::Other(other.to_owned()),
        }
    }
}

/// What a seat's Checkout Session says about itself. Only sessions that
/// carry our metadata become one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatCheckout {
    pub checkout_session_id: String,
    /// `metadata.booking_id`.
    pub booking_id: Uuid,
    /// `metadata.user_id`, when it parses.
    pub user_id: Option<Uuid>,
    pub payment_status: PaymentStatus,
    pub amount_total: Option<i64>,
    /// ISO 4217, upper-case.
    pub currency: Option<String>,
    pub payment_intent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionCheckout {
    /// `metadata.user_id`, else `client_reference_id`.
    pub user_id: Option<Uuid>,
    pub customer: Option<String>,
    pub subscription: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRefund {
    pub payment_intent: Option<String>,
    /// True when the whole charge went back.
    pub refunded: bool,
    pub amount_refunded: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionChangeKind {
    Created,
    Updated,
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionChange {
    pub kind: SubscriptionChangeKind,
    pub subscription_id: String,
    pub customer: Option<String>,
    /// `metadata.user_id`, when it parses.
    pub user_id: Option<Uuid>,
    /// Stripe's status (`canceled` for a deletion).
    pub status: common::subscriptions::StripeStatus,
    /// The price of the first priced item: access depends on it.
    pub price_id: Option<String>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceOutcome {
    pub subscription_id: String,
    pub customer: Option<String>,
    pub customer_email: Option<String>,
    pub user_id: Option<Uuid>,
    pub paid: bool,
    pub period_end: Option<DateTime<Utc>>,
    /// The invoice itself, to list for its customer.
    pub document: InvoiceDocument,
}

/// An invoice as its issuer states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceDocument {
    /// `in_…`.
    pub id: String,
    /// Stripe numbers an invoice when it finalizes it; the local gateway
    /// leaves it to the app (`None`).
    pub number: Option<String>,
    pub hosted_url: Option<String>,
    pub pdf_url: Option<String>,
    pub amount_paid: i64,
    /// ISO 4217, upper-case.
    pub currency: String,
    /// What its first line bills.
    pub description: Option<String>,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    pub created: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatInvoice {
    /// `metadata.booking_id`.
    pub booking_id: Uuid,
    /// `metadata.user_id`, when it parses.
    pub user_id: Option<Uuid>,
    pub document: InvoiceDocument,
}

impl PaymentEvent {
    /// Where this event sorts among events of the same second, in the
    /// lifecycle order of a subscription (the stale-event rule's key).
    pub fn rank(&self) -> u8 {
        match &self.payment {
            Payment::SubscriptionChanged(c) => match c.kind {
                SubscriptionChangeKind::Created => 1,
                SubscriptionChangeKind::Updated => 3,
                SubscriptionChangeKind::Deleted => 4,
            },
            Payment::Invoice(_) => 2,
            _ => 0,
        }
    }
}
