//! Stripe as the tests play it: signed webhook deliveries, Stripe's
//! example objects, and a gateway that counts its calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use api::payments::events::{Payment, PaymentEvent, SubscriptionChange};
use api::payments::local::LocalGateway;
use api::payments::{
    CheckoutRequest, CheckoutSession, GatewayError, PaymentGateway, Refund, RefundRequest,
    SubscriptionCheckoutRequest,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Answer, TestApp, WEBHOOK_SECRET, into_answer, no_redirects};

impl TestApp {
    /// Asks for a subscription to `plan` ("monthly", "yearly") for
    /// `token`, whatever the answer.
    pub async fn subscribe(&self, token: &str, plan: &str) -> Answer {
        self.post(
            "/api/subscriptions/checkout",
            Some(token),
            json!({ "plan": plan }),
        )
        .await
    }

    /// Where the Customer Portal of the user of `token` is.
    pub async fn portal(&self, token: &str) -> String {
        self.post("/api/subscriptions/portal", Some(token), json!({}))
            .await
            .ok::<common::subscriptions::RedirectDto>()
            .url
    }

    /// Posts `event` to the webhook, signed with the test secret now.
    pub async fn deliver(&self, event: &Value) -> Answer {
        let body = serde_json::to_vec(event).expect("json");
        let header = api::payments::stripe::signature::sign(
            &body,
            WEBHOOK_SECRET,
            chrono::Utc::now().timestamp(),
        );
        self.deliver_raw(body, Some(&header)).await
    }

    pub async fn deliver_raw(&self, body: Vec<u8>, header: Option<&str>) -> Answer {
        let mut req = self
            .client
            .post(format!("{}/api/webhooks/stripe", self.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(h) = header {
            req = req.header("Stripe-Signature", h);
        }
        into_answer(req.send().await.expect("sent")).await
    }

    pub fn local_gateway(&self) -> Arc<LocalGateway> {
        self.state.local_gateway.clone().expect("local gateway")
    }
}

/// Stripe's example objects (`api/tests/fixtures/stripe/`, copied
/// unchanged from the shared fixtures so a bare clone runs its tests).
pub fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/stripe")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// An event envelope (from the fixture) around `object`.
pub fn event(kind: &str, object: Value) -> Value {
    let mut e = fixture("event");
    e["id"] = json!(format!("evt_test_{}", uuid::Uuid::new_v4().simple()));
    e["type"] = json!(kind);
    e["created"] = json!(chrono::Utc::now().timestamp());
    e["api_version"] = json!("2025-08-27.basil");
    e["data"] = json!({ "object": object });
    e
}

/// A seat's Checkout Session (from the fixture), as Stripe sends it for
/// the hold answered by `POST /api/sessions/{id}/checkout`.
pub fn seat_checkout(held: &Value, session_id: &str, user_id: &uuid::Uuid, paid: bool) -> Value {
    let booking_id = held["booking_id"].as_str().expect("booking_id");
    let mut o = fixture("checkout.session");
    o["id"] = held["checkout_session_id"].clone();
    o["mode"] = json!("payment");
    o["client_reference_id"] = json!(booking_id);
    o["metadata"] = json!({
        "type": "immersion",
        "booking_id": booking_id,
        "session_id": session_id,
        "user_id": user_id.to_string(),
    });
    o["amount_total"] = json!(199_700);
    o["currency"] = json!("eur");
    if paid {
        o["status"] = json!("complete");
        o["payment_status"] = json!("paid");
        o["payment_intent"] = json!(format!("pi_test_{}", uuid::Uuid::new_v4().simple()));
    } else {
        o["status"] = json!("expired");
        o["payment_status"] = json!("unpaid");
        o["payment_intent"] = Value::Null;
    }
    o
}

/// A gateway that counts calls and can be told to fail, around the local one.
pub struct CountingGateway {
    pub inner: LocalGateway,
    pub creates: AtomicUsize,
    pub expires: AtomicUsize,
    pub refunds: AtomicUsize,
    pub fail_checkout: AtomicBool,
    /// How long each refund call takes, in milliseconds.
    pub refund_delay_ms: AtomicU64,
    /// Refund calls that fail before reaching the provider.
    pub refund_failures: AtomicUsize,
    /// Refund calls that are made, but whose answer is lost on the way back.
    pub lost_refund_answers: AtomicUsize,
    /// Told when a refund call begins.
    pub refund_started: tokio::sync::Notify,
    /// Says no Checkout Session can be reopened, as for pages past their
    /// expiry.
    pub pages_expired: AtomicBool,
    /// Subscription pages Stripe says were paid (page → subscription),
    /// whose events have not been delivered.
    pub paid_subscription_pages: std::sync::Mutex<std::collections::HashMap<String, String>>,
    /// The customers deleted, in the order of the calls.
    pub deleted_customers: std::sync::Mutex<Vec<String>>,
    /// The next call of this name waits, once it has begun, until
    /// `release` is told; `held` is told when it begins.
    pub hold_next: std::sync::Mutex<Option<&'static str>>,
    pub held: tokio::sync::Notify,
    pub release: tokio::sync::Notify,
}

fn take_one(n: &AtomicUsize) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
        .is_ok()
}

impl CountingGateway {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: LocalGateway::new("http://127.0.0.1:9"),
            creates: AtomicUsize::new(0),
            expires: AtomicUsize::new(0),
            refunds: AtomicUsize::new(0),
            fail_checkout: AtomicBool::new(false),
            refund_delay_ms: AtomicU64::new(0),
            refund_failures: AtomicUsize::new(0),
            lost_refund_answers: AtomicUsize::new(0),
            refund_started: tokio::sync::Notify::new(),
            pages_expired: AtomicBool::new(false),
            paid_subscription_pages: Default::default(),
            deleted_customers: Default::default(),
            hold_next: Default::default(),
            held: tokio::sync::Notify::new(),
            release: tokio::sync::Notify::new(),
        })
    }

    /// Holds the call `name` when `hold_next` names it (see there).
    async fn hold_if(&self, name: &str) {
        let hold = {
            let mut next = self.hold_next.lock().unwrap();
            next.take_if(|n| *n == name).is_some()
        };
        if hold {
            self.held.notify_one();
            self.release.notified().await;
        }
    }

    /// The customer pays subscription page `page`, which makes
    /// `subscription`; its events are left undelivered.
    pub fn pay_subscription_page(&self, page: &str, subscription: &str) {
        self.inner.close_subscription_checkout(page);
        self.paid_subscription_pages
            .lock()
            .unwrap()
            .insert(page.to_owned(), subscription.to_owned());
    }

    fn paid_subscription(&self, page: &str) -> Option<String> {
        self.paid_subscription_pages
            .lock()
            .unwrap()
            .get(page)
            .cloned()
    }

    pub fn refund_calls(&self) -> usize {
        self.refunds.load(Ordering::SeqCst)
    }
}

/// The owed-calls job (refunds and expiries to make again), at `at`.
pub async fn settle(
    app: &TestApp,
    gateway: &CountingGateway,
    at: chrono::DateTime<chrono::Utc>,
) -> api::domain::billing::owed::Settled {
    api::domain::billing::owed::settle_due(&app.state.db, gateway, at)
        .await
        .unwrap()
}

#[async_trait::async_trait]
impl PaymentGateway for CountingGateway {
    async fn create_checkout(
        &self,
        req: &CheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        self.creates.fetch_add(1, Ordering::SeqCst);
        if self.fail_checkout.load(Ordering::SeqCst) {
            return Err(GatewayError::Unavailable("simulated outage".into()));
        }
        self.inner.create_checkout(req).await
    }
    async fn expire_checkout(&self, id: &str, key: &str) -> Result<(), GatewayError> {
        self.expires.fetch_add(1, Ordering::SeqCst);
        self.inner.expire_checkout(id, key).await
    }
    async fn refund(&self, req: &RefundRequest) -> Result<Refund, GatewayError> {
        self.refunds.fetch_add(1, Ordering::SeqCst);
        self.refund_started.notify_one();
        let delay = self.refund_delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
        }
        if take_one(&self.refund_failures) {
            return Err(GatewayError::Unavailable("simulated refund outage".into()));
        }
        let refund = self.inner.refund(req).await?;
        if take_one(&self.lost_refund_answers) {
            return Err(GatewayError::Unavailable("connection reset".into()));
        }
        Ok(refund)
    }
    async fn create_customer(
        &self,
        user_id: uuid::Uuid,
        email: &str,
    ) -> Result<String, GatewayError> {
        self.hold_if("create_customer").await;
        self.inner.create_customer(user_id, email).await
    }
    async fn delete_customer(&self, customer_id: &str) -> Result<(), GatewayError> {
        self.inner.delete_customer(customer_id).await?;
        self.deleted_customers
            .lock()
            .unwrap()
            .push(customer_id.to_owned());
        Ok(())
    }
    async fn create_subscription_checkout(
        &self,
        req: &SubscriptionCheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        self.hold_if("create_subscription_checkout").await;
        self.inner.create_subscription_checkout(req).await
    }
    async fn create_portal_session(
        &self,
        customer_id: &str,
        return_url: &str,
    ) -> Result<String, GatewayError> {
        self.inner
            .create_portal_session(customer_id, return_url)
            .await
    }
    async fn reopen_checkout(&self, id: &str) -> Result<Option<CheckoutSession>, GatewayError> {
        if self.pages_expired.load(Ordering::SeqCst) {
            return Ok(None);
        }
        self.inner.reopen_checkout(id).await
    }
    async fn checkout_session(&self, id: &str) -> Result<Option<Payment>, GatewayError> {
        if let Some(subscription) = self.paid_subscription(id) {
            // As Stripe reads a complete subscription-mode session.
            return Ok(Some(Payment::SubscriptionCheckout(
                api::payments::events::SubscriptionCheckout {
                    user_id: None,
                    customer: None,
                    subscription: Some(subscription),
                },
            )));
        }
        if self.pages_expired.load(Ordering::SeqCst) {
            // As Stripe at the page's expiry: closed unpaid.
            self.inner.close_seat(id, false, chrono::Utc::now());
        }
        self.inner.checkout_session(id).await
    }
    async fn undelivered_events(
        &self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<PaymentEvent>, GatewayError> {
        self.inner.undelivered_events(since).await
    }
    async fn refundable(&self, payment_intent_id: &str) -> Result<i64, GatewayError> {
        self.inner.refundable(payment_intent_id).await
    }
    async fn price(&self, price_id: &str) -> Result<api::payments::RecurringPrice, GatewayError> {
        self.inner.price(price_id).await
    }
    async fn customer_subscriptions(
        &self,
        customer_id: &str,
    ) -> Result<Vec<SubscriptionChange>, GatewayError> {
        self.inner.customer_subscriptions(customer_id).await
    }
    async fn cancel_subscription(&self, id: &str, key: &str) -> Result<(), GatewayError> {
        self.inner.cancel_subscription(id, key).await
    }
    async fn subscription_ended(&self, id: &str) -> Result<bool, GatewayError> {
        self.inner.subscription_ended(id).await
    }
    async fn invoice_payment(&self, invoice_id: &str) -> Result<Option<String>, GatewayError> {
        self.inner.invoice_payment(invoice_id).await
    }
}

/// Presses a button of the local Checkout or portal page (a form posted
/// to `url`); returns where it sends the browser.
pub async fn click(url: &str) -> String {
    let res = no_redirects().post(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{url}");
    res.headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}
