//! Stripe, through async-stripe. `STRIPE_API_BASE` points the client at
//! another host (a simulator, or a recording server in tests). Every POST
//! carries an idempotency key derived from our own record, so a retried
//! call never creates a second Checkout Session or refund. Reads for
//! reconciliation come back as JSON and go through `parse`, the same code
//! as webhook deliveries.

use std::collections::HashMap;
use std::time::Duration;

use ::stripe::{
    Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest as _,
};
use stripe_checkout::CheckoutSessionMode;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionInvoiceCreation,
    CreateCheckoutSessionInvoiceCreationInvoiceData,
    CreateCheckoutSessionInvoiceCreationInvoiceDataCustomFields, CreateCheckoutSessionLineItems,
    CreateCheckoutSessionLineItemsPriceData, CreateCheckoutSessionPaymentIntentData,
    ExpireCheckoutSession, ProductData,
};
use stripe_core::refund::CreateRefund;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use stripe_client_core::{RequestBuilder, StripeMethod};

use super::objects::{
    CheckoutSessionObject, CreditNoteObject, Event, InvoicePaidBy, InvoicePaymentObject, List,
    PaymentIntentObject, PriceResource, SubscriptionObject,
};
use super::parse;
use crate::config::Secret;
use crate::payments::events::{Payment, PaymentEvent, SubscriptionChange, SubscriptionChangeKind};
use crate::payments::{
    CheckoutRequest, CheckoutSession, CreditNote, CreditNoteRequest, GatewayError, PaymentGateway,
    RecurringPrice, Refund, RefundRequest, SubscriptionCheckoutRequest,
};

/// How long one call may take unless the settings say
/// (`STRIPE_TIMEOUT_SECONDS`).
const TIMEOUT: Duration = Duration::from_secs(10);

pub struct StripeGateway {
    client: Client,
}

impl StripeGateway {
    pub fn new(secret_key: &Secret, api_base: Option<&str>) -> Result<Self, GatewayError> {
        Self::with_timeout(secret_key, api_base, TIMEOUT)
    }

    /// As `new`, each call given at most `timeout`.
    pub fn with_timeout(
        secret_key: &Secret,
        api_base: Option<&str>,
        timeout: Duration,
    ) -> Result<Self, GatewayError> {
        let mut builder = ClientBuilder::new(secret_key.expose()).timeout(timeout);
        if let Some(base) = api_base {
            // The client appends "v1/…" to the base: it must end with '/'.
            let base = if base.ends_with('/') {
                base.to_owned()
            } else {
                format!("{base}/")
            };
            builder = builder.url(base);
        }
        let client = builder.build().map_err(failed)?;
        Ok(Self { client })
    }
}

impl StripeGateway {
    /// Creates a Checkout Session and answers where to send the browser.
    async fn open(
        &self,
        params: CreateCheckoutSession,
        idempotency_key: &str,
    ) -> Result<CheckoutSession, GatewayError> {
        let session = params
            .customize()
            .request_strategy(idempotent(idempotency_key)?)
            .send(&self.client)
            .await
            .map_err(failed)?;
        let url = session.url.ok_or_else(|| {
            GatewayError::Refused("Stripe returned a Checkout Session without a URL".into())
        })?;
        Ok(CheckoutSession {
            id: session.id.to_string(),
            url,
        })
    }
}

/// Stripe's own message when it answered, without the debug dump of the
/// whole error; a transport failure or timeout is "did not answer".
fn failed(e: StripeError) -> GatewayError {
    match e {
        StripeError::Stripe(api, status) => {
            let message = format!(
                "{} (HTTP {status})",
                api.message.as_deref().unwrap_or("error reported by Stripe")
            );
            // A 5xx or 429 leaves the outcome unknown: retry with the key.
            if status >= 500 || status == 429 {
                GatewayError::Unavailable(message)
            } else {
                GatewayError::Refused(message)
            }
        }
        StripeError::ConfigError(m) => GatewayError::Refused(m),
        other => GatewayError::Unavailable(other.to_string()),
    }
}

fn idempotent(key: &str) -> Result<RequestStrategy, GatewayError> {
    IdempotencyKey::new(key)
        .map(RequestStrategy::Idempotent)
        .map_err(|e| GatewayError::Refused(format!("idempotency key: {e:?}")))
}

/// Reads any JSON answer into our own object shapes.
fn from_json<T: DeserializeOwned>(raw: &miniserde::json::Value) -> Result<T, GatewayError> {
    serde_json::from_str(&miniserde::json::to_string(raw))
        .map_err(|e| GatewayError::Unavailable(format!("unexpected answer from Stripe: {e}")))
}

/// The Checkout Session of one seat, as sent to Stripe.
pub fn checkout_params(req: &CheckoutRequest) -> CreateCheckoutSession {
    let metadata: HashMap<String, String> = req
        .metadata()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    // Never a default: a code Stripe does not know is sent as it is, and
    // Stripe refuses the session.
    let Ok(currency) = req
        .currency
        .to_lowercase()
        .parse::<stripe_types::Currency>();
    let price = CreateCheckoutSessionLineItemsPriceData {
        product_data: Some(ProductData::new(req.product_name.clone())),
        unit_amount: Some(req.amount_cents),
        ..CreateCheckoutSessionLineItemsPriceData::new(currency)
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
        // A French company buying training needs an invoice: Stripe issues
        // one once paid, carrying our metadata, so that its `invoice.paid`
        // event names the seat it bills.
        .invoice_creation(CreateCheckoutSessionInvoiceCreation {
            enabled: true,
            invoice_data: Some(CreateCheckoutSessionInvoiceCreationInvoiceData {
                metadata: Some(metadata.clone()),
                // The training organisation's legal mentions, which
                // Stripe's invoice template lacks (Stripe takes four).
                custom_fields: Some(
                    req.invoice_fields
                        .iter()
                        .take(4)
                        .map(|(name, value)| {
                            CreateCheckoutSessionInvoiceCreationInvoiceDataCustomFields {
                                name: name.clone(),
                                value: value.clone(),
                            }
                        })
                        .collect(),
                )
                .filter(|f: &Vec<_>| !f.is_empty()),
                ..CreateCheckoutSessionInvoiceCreationInvoiceData::new()
            }),
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
        self.open(checkout_params(req), &req.idempotency_key())
            .await
    }

    async fn expire_checkout(
        &self,
        checkout_session_id: &str,
        idempotency_key: &str,
    ) -> Result<(), GatewayError> {
        ExpireCheckoutSession::new(checkout_session_id)
            .customize()
            .request_strategy(idempotent(idempotency_key)?)
            .send(&self.client)
            .await
            .map(|_| ())
            .map_err(failed)
    }

    async fn refund(&self, req: &RefundRequest) -> Result<Refund, GatewayError> {
        let refund = CreateRefund::new()
            .payment_intent(req.payment_intent_id.clone())
            .amount(req.amount_cents)
            .customize()
            .request_strategy(idempotent(&req.idempotency_key)?)
            .send(&self.client)
            .await
            .map_err(failed)?;
        Ok(Refund {
            id: refund.id.to_string(),
        })
    }

    /// `POST /v1/credit_notes` on a paid invoice: the money went back by a
    /// refund of its own, so the whole amount is credited out of band
    /// (Stripe wants a paid invoice's credit note to say how it is paid
    /// back: refund, customer balance or out of band, adding up to it).
    async fn create_credit_note(
        &self,
        req: &CreditNoteRequest,
    ) -> Result<CreditNote, GatewayError> {
        // Encoded as Stripe's form: `metadata[booking_id]` nests.
        let form = serde_json::json!({
            "invoice": req.invoice_id,
            "amount": req.amount_cents,
            "out_of_band_amount": req.amount_cents,
            "memo": req.memo,
            "metadata": {"booking_id": req.booking_id.map(|b| b.to_string())},
        });
        let raw = RequestBuilder::new(StripeMethod::Post, "/credit_notes")
            .form(&form)
            .customize::<miniserde::json::Value>()
            .request_strategy(idempotent(&req.idempotency_key)?)
            .send(&self.client)
            .await
            .map_err(failed)?;
        let note: CreditNoteObject = from_json(&raw)?;
        Ok(CreditNote {
            id: note.id,
            number: note.number,
            amount_cents: note.amount,
            pdf_url: note.pdf,
            created: DateTime::from_timestamp(note.created, 0).unwrap_or_else(Utc::now),
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
            .customize()
            .request_strategy(idempotent(&format!("customer-{user_id}"))?)
            .send(&self.client)
            .await
            .map_err(failed)?;
        Ok(customer.id.to_string())
    }

    async fn delete_customer(&self, customer_id: &str) -> Result<(), GatewayError> {
        let deleted =
            RequestBuilder::new(StripeMethod::Delete, format!("/customers/{customer_id}"))
                .customize::<miniserde::json::Value>()
                .send(&self.client)
                .await;
        match deleted {
            Ok(_) => Ok(()),
            // "No such customer": deleted already (by an earlier try whose
            // answer was lost, or in the Dashboard), which is all we ask.
            Err(StripeError::Stripe(_, 404)) => Ok(()),
            Err(e) => Err(failed(e)),
        }
    }

    async fn create_subscription_checkout(
        &self,
        req: &SubscriptionCheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        self.open(subscription_params(req), &req.idempotency_key())
            .await
    }

    async fn create_portal_session(
        &self,
        customer_id: &str,
        return_url: &str,
    ) -> Result<String, GatewayError> {
        let portal = stripe_billing::billing_portal_session::CreateBillingPortalSession::new()
            .customer(customer_id.to_owned())
            .return_url(return_url.to_owned())
            .customize()
            .request_strategy(idempotent(&format!("portal-{}", uuid::Uuid::new_v4()))?)
            .send(&self.client)
            .await
            .map_err(failed)?;
        Ok(portal.url)
    }

    async fn reopen_checkout(
        &self,
        checkout_session_id: &str,
    ) -> Result<Option<CheckoutSession>, GatewayError> {
        let raw = self
            .get(
                &format!("/checkout/sessions/{checkout_session_id}"),
                &serde_json::json!({}),
            )
            .await?;
        let cs: CheckoutSessionObject = from_json(&raw)?;
        Ok(match (cs.status.as_deref(), cs.url) {
            (Some("open"), Some(url)) => Some(CheckoutSession { id: cs.id, url }),
            _ => None,
        })
    }

    async fn checkout_session(
        &self,
        checkout_session_id: &str,
    ) -> Result<Option<Payment>, GatewayError> {
        let raw = self
            .get(
                &format!("/checkout/sessions/{checkout_session_id}"),
                &serde_json::json!({}),
            )
            .await?;
        let cs: CheckoutSessionObject = from_json(&raw)?;
        Ok(match cs.status.as_deref() {
            Some("complete") => Some(parse::checkout_payment(&cs, false)),
            Some("expired") => Some(parse::checkout_payment(&cs, true)),
            _ => None,
        })
    }

    async fn undelivered_events(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<PaymentEvent>, GatewayError> {
        let mut query = serde_json::json!({
            "delivery_success": false,
            "created": {"gte": since.timestamp()},
            "limit": 100,
        });
        let mut out = Vec::new();
        loop {
            let page: List<Event> = from_json(&self.get("/events", &query).await?)?;
            let more = page.has_more;
            let last = page.data.last().map(|e| e.id.clone());
            for event in &page.data {
                match parse::parse_event(event) {
                    Ok(e) => out.push(e),
                    Err(e) => {
                        tracing::warn!(event = %event.id, error = %e, "undelivered event not readable")
                    }
                }
            }
            match (more, last) {
                (true, Some(last)) => query["starting_after"] = serde_json::json!(last),
                _ => return Ok(out),
            }
        }
    }

    async fn refundable(&self, payment_intent_id: &str) -> Result<i64, GatewayError> {
        let query = serde_json::json!({"expand": ["latest_charge"]});
        let raw = self
            .get(&format!("/payment_intents/{payment_intent_id}"), &query)
            .await?;
        let intent: PaymentIntentObject = from_json(&raw)?;
        // No charge: nothing was taken, so nothing can go back.
        Ok(intent
            .latest_charge
            .map_or(0, |c| (c.amount - c.amount_refunded).max(0)))
    }

    async fn price(&self, price_id: &str) -> Result<RecurringPrice, GatewayError> {
        let raw = self
            .get(&format!("/prices/{price_id}"), &serde_json::json!({}))
            .await?;
        let price: PriceResource = from_json(&raw)?;
        parse::recurring_price(&price).map_err(GatewayError::Refused)
    }

    async fn customer_subscriptions(
        &self,
        customer_id: &str,
    ) -> Result<Vec<SubscriptionChange>, GatewayError> {
        let query = serde_json::json!({"customer": customer_id, "status": "all", "limit": 100});
        let page: List<SubscriptionObject> = from_json(&self.get("/subscriptions", &query).await?)?;
        Ok(page
            .data
            .iter()
            .map(|s| parse::subscription_change(s, SubscriptionChangeKind::Updated))
            .collect())
    }

    async fn cancel_subscription(
        &self,
        subscription_id: &str,
        idempotency_key: &str,
    ) -> Result<(), GatewayError> {
        RequestBuilder::new(
            StripeMethod::Delete,
            format!("/subscriptions/{subscription_id}"),
        )
        .customize::<miniserde::json::Value>()
        .request_strategy(idempotent(idempotency_key)?)
        .send(&self.client)
        .await
        .map(|_| ())
        .map_err(failed)
    }

    async fn subscription_ended(&self, subscription_id: &str) -> Result<bool, GatewayError> {
        let raw = self
            .get(
                &format!("/subscriptions/{subscription_id}"),
                &serde_json::json!({}),
            )
            .await?;
        let sub: SubscriptionObject = from_json(&raw)?;
        Ok(common::subscriptions::StripeStatus::parse(&sub.status).is_ended())
    }

    async fn invoice_payment(&self, invoice_id: &str) -> Result<Option<String>, GatewayError> {
        // Current API versions list an invoice's payments on their own;
        // older ones name the payment on the invoice.
        let query = serde_json::json!({"invoice": invoice_id, "limit": 10});
        let listed = match self.get("/invoice_payments", &query).await {
            Ok(raw) => from_json::<List<InvoicePaymentObject>>(&raw)?
                .data
                .into_iter()
                .filter(|p| p.status.as_deref() == Some("paid"))
                .find_map(|p| p.payment.and_then(|p| p.payment_intent)),
            // An API version without the list: the invoice says.
            Err(GatewayError::Refused(_)) => None,
            Err(e) => return Err(e),
        };
        if listed.is_some() {
            return Ok(listed);
        }
        let raw = self
            .get(&format!("/invoices/{invoice_id}"), &serde_json::json!({}))
            .await?;
        Ok(from_json::<InvoicePaidBy>(&raw)?.payment_intent)
    }
}

impl StripeGateway {
    async fn get(
        &self,
        path: &str,
        query: &serde_json::Value,
    ) -> Result<miniserde::json::Value, GatewayError> {
        RequestBuilder::new(StripeMethod::Get, path)
            .query(query)
            .customize::<miniserde::json::Value>()
            .send(&self.client)
            .await
            .map_err(failed)
    }
}
