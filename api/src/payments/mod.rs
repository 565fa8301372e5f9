//! The payment gateway: what the booking flow asks of a payment provider.
//! `stripe` talks to Stripe; `local` (no `STRIPE_SECRET_KEY`) serves its own
//! pay page and emits Stripe-shaped, signed events through the same webhook
//! pipeline, so the whole product works offline.

pub mod local;
pub mod stripe;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
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
    /// The hold's end: the Checkout Session expires with it.
    pub expires_at: DateTime<Utc>,
    pub success_url: String,
    pub cancel_url: String,
}

impl CheckoutRequest {
    /// The metadata written on every seat Checkout Session (DESIGN §8).
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
    pub booking_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: String,
}

/// A Checkout Session in subscription mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionCheckoutRequest {
    pub user_id: Uuid,
    pub customer_id: String,
    pub plan: common::subscriptions::Plan,
    /// The Stripe price of the plan.
    pub price_id: String,
    pub success_url: String,
    pub cancel_url: String,
}

impl SubscriptionCheckoutRequest {
    /// Written on the session and on the subscription it creates (DESIGN §8).
    pub fn metadata(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("type", "subscription".to_owned()),
            ("user_id", self.user_id.to_string()),
        ])
    }
}

#[derive(Debug, thiserror::Error)]
#[error("payment gateway: {0}")]
pub struct GatewayError(pub String);

#[async_trait::async_trait]
pub trait PaymentGateway: Send + Sync {
    async fn create_checkout(&self, req: &CheckoutRequest)
    -> Result<CheckoutSession, GatewayError>;
    /// Closes an open Checkout Session so it can no longer be paid.
    async fn expire_checkout(&self, checkout_session_id: &str) -> Result<(), GatewayError>;
    async fn refund(&self, req: &RefundRequest) -> Result<Refund, GatewayError>;
    /// A Stripe customer for a user (metadata `user_id`); returns its id.
    async fn create_customer(&self, user_id: Uuid, email: &str) -> Result<String, GatewayError>;
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
}

/// Closes a Checkout Session whose booking no longer waits for payment.
/// Best effort: if it fails and a payment still lands, the webhook handles
/// it as a late payment.
pub async fn expire_quietly(gateway: &dyn PaymentGateway, checkout_session_id: Option<&str>) {
    let Some(id) = checkout_session_id else {
        return;
    };
    if let Err(e) = gateway.expire_checkout(id).await {
        tracing::warn!(error = %e, checkout = id, "could not expire the checkout session");
    }
}
