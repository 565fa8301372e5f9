//! Stripe, through async-stripe. `STRIPE_API_BASE` points the client at
//! another host (a simulator, or a recording server in tests).

use std::collections::HashMap;
use std::time::Duration;

use ::stripe::{
    Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest as _,
};
use stripe_checkout::CheckoutSessionMode;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData,
    CreateCheckoutSessionPaymentIntentData, ExpireCheckoutSession, ProductData,
};
use stripe_core::refund::CreateRefund;

use super::{
    CheckoutRequest, CheckoutSession, GatewayError, PaymentGateway, Refund, RefundRequest,
    SubscriptionCheckoutRequest,
};
use crate::config::Secret;

const TIMEOUT: Duration = Duration::from_secs(20);

pub struct StripeGateway {
    client: Client,
}

impl StripeGateway {
    pub fn new(secret_key: &Secret, api_base: Option<&str>) -> Result<Self, GatewayError> {
        let mut builder = ClientBuilder::new(secret_key.expose()).timeout(TIMEOUT);
        if let Some(base) = api_base {
            // The client appends "v1/…" to the base: it must end with '/'.
            let base = if base.ends_with('/') {
                base.to_owned()
            } else {
                format!("{base}/")
            };
            builder = builder.url(base);
        }
        let client = builder.build().map_err(|e| GatewayError(message(&e)))?;
        Ok(Self { client })
    }
}

impl StripeGateway {
    /// Creates a Checkout Session and answers where to send the browser.
    async fn open(&self, params: CreateCheckoutSession) -> Result<CheckoutSession, GatewayError> {
        let session = params.send(&self.client).await.map_err(failed)?;
        let url = session.url.ok_or_else(|| {
            GatewayError("Stripe returned a Checkout Session without a URL".into())
        })?;
        Ok(CheckoutSession {
            id: session.id.to_string(),
            url,
        })
    }
}

/// Stripe's own message, without the debug dump of the whole error.
fn message(e: &StripeError) -> String {
    match e {
        StripeError::Stripe(api, status) => format!(
            "{} (HTTP {status})",
            api.message.as_deref().unwrap_or("error reported by Stripe")
        ),
        other => other.to_string(),
    }
}

fn failed(e: StripeError) -> GatewayError {
    GatewayError(message(&e))
}

/// The Checkout Session of one seat, as sent to Stripe.
pub fn checkout_params(req: &CheckoutRequest) -> CreateCheckoutSession {
    let metadata: HashMap<String, String> = req
        .metadata()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let price = CreateCheckoutSessionLineItemsPriceData {
        product_data: Some(ProductData::new(req.product_name.clone())),
        unit_amount: Some(req.amount_cents),
        ..CreateCheckoutSessionLineItemsPriceData::new(
            req.currency
                .to_lowercase()
                .parse::<stripe_types::Currency>()
                .unwrap_or(stripe_types::Currency::EUR),
        )
    };
    let item = CreateCheckoutSessionLineItems {
        price_data: Some(price),
        quantity: Some(1),
        ..Default::default()
    };
    CreateCheckoutSession::new()
        .mode(CheckoutSessionMode::Payment)
        .line_items(vec![item])
        .expires_at(req.expires_at.timestamp())
        .client_reference_id(req.booking_id.to_string())
        .customer_email(req.customer_email.clone())
        .success_url(req.success_url.clone())
        .cancel_url(req.cancel_url.clone())
        .payment_intent_data(CreateCheckoutSessionPaymentIntentData {
            metadata: Some(metadata.clone()),
            ..Default::default()
        })
        .metadata(metadata)
}

/// The subscription Checkout Session, as sent to Stripe.
pub fn subscription_params(req: &SubscriptionCheckoutRequest) -> CreateCheckoutSession {
    let metadata: HashMap<String, String> = req
        .metadata()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let item = CreateCheckoutSessionLineItems {
        price: Some(req.price_id.clone()),
        quantity: Some(1),
        ..Default::default()
    };
    CreateCheckoutSession::new()
        .mode(CheckoutSessionMode::Subscription)
        .customer(req.customer_id.clone())
        .client_reference_id(req.user_id.to_string())
        .line_items(vec![item])
        .subscription_data(
            stripe_checkout::checkout_session::CreateCheckoutSessionSubscriptionData {
                metadata: Some(metadata.clone()),
                ..Default::default()
            },
        )
        .success_url(req.success_url.clone())
        .cancel_url(req.cancel_url.clone())
        .metadata(metadata)
}

#[async_trait::async_trait]
impl PaymentGateway for StripeGateway {
    async fn create_checkout(
        &self,
        req: &CheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        self.open(checkout_params(req)).await
    }

    async fn expire_checkout(&self, checkout_session_id: &str) -> Result<(), GatewayError> {
        ExpireCheckoutSession::new(checkout_session_id)
            .send(&self.client)
            .await
            .map(|_| ())
            .map_err(failed)
    }

    async fn refund(&self, req: &RefundRequest) -> Result<Refund, GatewayError> {
        let key = IdempotencyKey::new(&req.idempotency_key)
            .map_err(|e| GatewayError(format!("idempotency key: {e:?}")))?;
        let refund = CreateRefund::new()
            .payment_intent(req.payment_intent_id.clone())
            .amount(req.amount_cents)
            .customize()
            .request_strategy(RequestStrategy::Idempotent(key))
            .send(&self.client)
            .await
            .map_err(failed)?;
        Ok(Refund {
            id: refund.id.to_string(),
        })
    }

    async fn create_customer(
        &self,
        user_id: uuid::Uuid,
        email: &str,
    ) -> Result<String, GatewayError> {
        let customer = stripe_core::customer::CreateCustomer::new()
            .email(email.to_owned())
            .metadata(HashMap::from([("user_id".to_owned(), user_id.to_string())]))
            .send(&self.client)
            .await
            .map_err(failed)?;
        Ok(customer.id.to_string())
    }

    async fn create_subscription_checkout(
        &self,
        req: &SubscriptionCheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        self.open(subscription_params(req)).await
    }

    async fn create_portal_session(
        &self,
        customer_id: &str,
        return_url: &str,
    ) -> Result<String, GatewayError> {
        let portal = stripe_billing::billing_portal_session::CreateBillingPortalSession::new()
            .customer(customer_id.to_owned())
            .return_url(return_url.to_owned())
            .send(&self.client)
            .await
            .map_err(failed)?;
        Ok(portal.url)
    }
}
