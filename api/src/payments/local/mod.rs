//! The local gateway (no Stripe key): checkout URLs open our own pay page;
//! paying or cancelling there produces the events Stripe would send,
//! signed with the webhook secret, through the same pipeline.
//!
//! A development tool for **one instance**: its sessions, refunds and
//! portal links live in this process's memory (a pay page opened through
//! another instance does not know them). What it keeps is pruned as
//! Stripe forgets it: seat sessions a day after they expire, refunds'
//! idempotency keys and subscription checkouts after 24 hours, portal
//! links after an hour, undelivered events after 30 days.

pub mod events;
pub mod subscriptions;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use common::subscriptions::Plan;
use uuid::Uuid;

use super::events::{EventType, Payment, PaymentEvent, SubscriptionChange};
use super::stripe::objects::{CheckoutSessionObject, Event};
use super::stripe::parse;
use super::{
    CheckoutRequest, CheckoutSession, GatewayError, PaymentGateway, RecurringPrice, Refund,
    RefundRequest, SubscriptionCheckoutRequest,
};

/// The path of the local pay page, under `PUBLIC_URL`.
pub const PAY_PATH: &str = "/local-checkout";
/// The path of the local Customer Portal.
pub const PORTAL_PATH: &str = "/local-portal";

/// A subscription Checkout Session waiting on the local pay page.
#[derive(Debug, Clone)]
pub struct PendingSubscription {
    pub user_id: Uuid,
    pub customer_id: String,
    pub plan: Plan,
    pub success_url: String,
    pub cancel_url: String,
}

#[derive(Debug, Clone)]
pub struct PortalSession {
    pub customer_id: String,
    pub return_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalRefund {
    pub id: String,
    pub payment_intent_id: String,
    pub amount_cents: i64,
    pub booking_id: Option<Uuid>,
}

/// A seat's Checkout Session as the local "Stripe" knows it: what it was
/// asked for, and its `checkout.session` object once paid or expired.
#[derive(Debug, Clone)]
struct LocalSeat {
    checkout: events::SeatCheckout,
    closed: Option<serde_json::Value>,
}

/// Stripe's rule for idempotency keys: the id `key` made, the same again
/// for the same request (false: not new), a new one (`prefix_…`) for a
/// new key, and a refusal for the key sent again with other parameters.
fn keyed<R: Clone + PartialEq>(
    keys: &Mutex<HashMap<String, (R, String)>>,
    key: &str,
    req: &R,
    prefix: &str,
) -> Result<(String, bool), GatewayError> {
    let mut keys = lock(keys);
    if let Some((first, id)) = keys.get(key) {
        if first != req {
            return Err(GatewayError::Refused(
                "Keys for idempotent requests can only be used with the same parameters \
                 they were first used with."
                    .into(),
            ));
        }
        return Ok((id.clone(), false));
    }
    let id = format!("{prefix}_{}", Uuid::new_v4().simple());
    keys.insert(key.to_owned(), (req.clone(), id.clone()));
    Ok((id, true))
}

pub struct LocalGateway {
    public_url: String,
    expired: Mutex<HashSet<String>>,
    /// Seat Checkout Sessions by id, and their ids by idempotency key.
    seats: Mutex<HashMap<String, LocalSeat>>,
    /// The request each idempotency key was first sent with, and the id
    /// it made: as Stripe, a key sent again with other parameters is
    /// refused.
    seat_keys: Mutex<HashMap<String, (CheckoutRequest, String)>>,
    /// Events whose delivery to the webhook pipeline failed.
    undelivered: Mutex<Vec<serde_json::Value>>,
    /// Refunds by idempotency key: a repeated key returns the first refund.
    refunds: Mutex<HashMap<String, LocalRefund>>,
    subscription_checkouts: Mutex<HashMap<String, PendingSubscription>>,
    /// Subscription pages by idempotency key, with the request first sent.
    subscription_keys: Mutex<HashMap<String, (SubscriptionCheckoutRequest, String)>>,
    portals: Mutex<HashMap<String, PortalSession>>,
    /// The last `created` time handed out: each action's events are later
    /// than the previous action's, as Stripe's would be.
    clock: Mutex<i64>,
    /// When `prune` last ran (it runs at most once a minute).
    pruned_at: Mutex<DateTime<Utc>>,
    /// When each refund, subscription checkout and portal link was made.
    made_at: Mutex<HashMap<String, DateTime<Utc>>>,
    /// What the monthly and yearly plans cost, in euro cents (settings).
    plan_cents: (i64, i64),
    /// The subscriptions it made, as it last described them, by id.
    subscriptions: Mutex<HashMap<String, subscriptions::LocalSubscription>>,
    /// What paid each subscription invoice: the payment and its amount.
    invoice_payments: Mutex<HashMap<String, (String, i64)>>,
}

/// How long each thing is kept (see the module doc).
const KEEP_CLOSED_SEAT: chrono::Duration = chrono::Duration::hours(24);
const KEEP_KEYS: chrono::Duration = chrono::Duration::hours(24);
const KEEP_PORTAL: chrono::Duration = chrono::Duration::hours(1);
const KEEP_UNDELIVERED: chrono::Duration = chrono::Duration::days(30);

impl LocalGateway {
    /// What is left of a paid seat's payment after its refunds; None when
    /// no page kept here took it (pruned, or not a seat's).
    fn left_of(&self, payment_intent_id: &str) -> Option<i64> {
        let seat = lock(&self.seats).values().find_map(|s| {
            let o = s.closed.as_ref()?;
            (o["payment_intent"] == payment_intent_id && o["payment_status"] == "paid")
                .then(|| o["amount_total"].as_i64())
                .flatten()
        });
        let invoice = || {
            lock(&self.invoice_payments)
                .values()
                .find(|(pi, _)| pi == payment_intent_id)
                .map(|(_, amount)| *amount)
        };
        let paid = seat.or_else(invoice)?;
        let back: i64 = lock(&self.refunds)
            .values()
            .filter(|r| r.payment_intent_id == payment_intent_id)
            .map(|r| r.amount_cents)
            .sum();
        Some((paid - back).max(0))
    }

    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            expired: Mutex::new(HashSet::new()),
            seats: Mutex::new(HashMap::new()),
            seat_keys: Mutex::new(HashMap::new()),
            undelivered: Mutex::new(Vec::new()),
            refunds: Mutex::new(HashMap::new()),
            subscription_checkouts: Mutex::new(HashMap::new()),
            subscription_keys: Mutex::new(HashMap::new()),
            portals: Mutex::new(HashMap::new()),
            clock: Mutex::new(0),
            pruned_at: Mutex::new(DateTime::<Utc>::UNIX_EPOCH),
            made_at: Mutex::new(HashMap::new()),
            plan_cents: crate::config::DEFAULT_PLAN_CENTS,
            subscriptions: Mutex::new(HashMap::new()),
            invoice_payments: Mutex::new(HashMap::new()),
        }
    }

    /// What a person does to a subscription (subscribe, renew, cancel…):
    /// `sub` changes as Stripe would change it, which this gateway
    /// remembers with each invoice's payment, and the events Stripe would
    /// send are returned.
    pub fn act(
        &self,
        action: &subscriptions::Action,
        sub: &mut subscriptions::LocalSubscription,
    ) -> Vec<serde_json::Value> {
        let events = subscriptions::events_for(action, sub, self.next_instant());
        lock(&self.subscriptions).insert(sub.id.clone(), sub.clone());
        let mut paid = lock(&self.invoice_payments);
        for e in &events {
            let invoice = &e["data"]["object"];
            if e["type"] == EventType::InvoicePaymentSucceeded.as_str()
                && let (Some(id), Some(amount)) =
                    (invoice["id"].as_str(), invoice["amount_paid"].as_i64())
            {
                let payment = format!("pi_local_{}", Uuid::new_v4().simple());
                paid.insert(id.to_owned(), (payment, amount));
            }
        }
        events
    }

    /// Prices the monthly and yearly plans at these amounts (euro cents).
    pub fn with_plan_prices(mut self, monthly_cents: i64, yearly_cents: i64) -> Self {
        self.plan_cents = (monthly_cents, yearly_cents);
        self
    }

    /// What a plan costs, in euro cents.
    pub fn plan_cents(&self, plan: Plan) -> i64 {
        match plan {
            Plan::Monthly => self.plan_cents.0,
            Plan::Yearly => self.plan_cents.1,
        }
    }

    /// Forgets what Stripe would have forgotten by `now`.
    pub fn prune(&self, now: DateTime<Utc>) {
        {
            let mut last = lock(&self.pruned_at);
            if now - *last < chrono::Duration::minutes(1) {
                return;
            }
            *last = now;
        }
        let mut seats = lock(&self.seats);
        seats.retain(|_, s| s.checkout.expires_at + KEEP_CLOSED_SEAT > now);
        lock(&self.seat_keys).retain(|_, (_, id)| seats.contains_key(id));
        lock(&self.expired).retain(|id| seats.contains_key(id));
        drop(seats);
        let mut made_at = lock(&self.made_at);
        made_at.retain(|key, at| {
            let keep = if key.starts_with("bps_") {
                KEEP_PORTAL
            } else {
                KEEP_KEYS
            };
            *at + keep > now
        });
        lock(&self.refunds).retain(|key, _| made_at.contains_key(key));
        lock(&self.subscription_checkouts).retain(|id, _| made_at.contains_key(id));
        lock(&self.subscription_keys).retain(|_, (_, id)| made_at.contains_key(id));
        lock(&self.portals).retain(|token, _| made_at.contains_key(token));
        drop(made_at);
        let oldest = (now - KEEP_UNDELIVERED).timestamp();
        lock(&self.undelivered).retain(|e| e["created"].as_i64().is_some_and(|c| c >= oldest));
    }

    /// Remembers when `key` was made, for `prune`.
    fn made(&self, key: &str, now: DateTime<Utc>) {
        lock(&self.made_at).entry(key.to_owned()).or_insert(now);
        self.prune(now);
    }

    pub fn subscription_checkout(&self, id: &str) -> Option<PendingSubscription> {
        lock(&self.subscription_checkouts).get(id).cloned()
    }

    /// Marks a subscription checkout as used; false when it already was.
    pub fn close_subscription_checkout(&self, id: &str) -> bool {
        lock(&self.subscription_checkouts).remove(id).is_some()
    }

    pub fn portal(&self, token: &str) -> Option<PortalSession> {
        lock(&self.portals).get(token).cloned()
    }

    /// A time for the next action's events: now, or one second after the
    /// previous action if that was in the same second.
    pub fn next_instant(&self) -> DateTime<Utc> {
        let mut last = lock(&self.clock);
        let now = Utc::now().timestamp().max(*last + 1);
        *last = now;
        DateTime::from_timestamp(now, 0).unwrap_or_else(Utc::now)
    }

    pub fn is_expired(&self, checkout_session_id: &str) -> bool {
        lock(&self.expired).contains(checkout_session_id)
    }

    /// Every refund made, once each.
    pub fn refunds(&self) -> Vec<LocalRefund> {
        lock(&self.refunds).values().cloned().collect()
    }

    /// The buyer pays (or abandons) a seat's Checkout Session: its object
    /// is closed as Stripe would close it, and the event to send is
    /// returned. None when the session is unknown, expired or closed.
    pub fn close_seat(
        &self,
        checkout_session_id: &str,
        paid: bool,
        now: DateTime<Utc>,
    ) -> Option<serde_json::Value> {
        if self.is_expired(checkout_session_id) {
            return None;
        }
        let mut seats = lock(&self.seats);
        let seat = seats.get_mut(checkout_session_id)?;
        if seat.closed.is_some() {
            return None;
        }
        let object = events::checkout_session(&seat.checkout, paid, now);
        seat.closed = Some(object.clone());
        let kind = if paid {
            EventType::CheckoutCompleted
        } else {
            EventType::CheckoutExpired
        };
        Some(events::event(&kind, object, now))
    }

    /// Keeps an event the pipeline could not take, as Stripe keeps the
    /// events it could not deliver (`undelivered_events` lists them).
    pub fn remember_undelivered(&self, event: serde_json::Value) {
        lock(&self.undelivered).push(event);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Poisoning only means a panic elsewhere; the data is still consistent
    // (every mutation is a single insert).
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[async_trait::async_trait]
impl PaymentGateway for LocalGateway {
    async fn create_checkout(
        &self,
        req: &CheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        check_expiry(req.expires_at, Utc::now())?;
        self.prune(Utc::now());
        let (id, _) = keyed(&self.seat_keys, &req.idempotency_key(), req, "cs_local")?;
        lock(&self.seats)
            .entry(id.clone())
            .or_insert_with(|| LocalSeat {
                checkout: events::SeatCheckout {
                    checkout_session_id: id.clone(),
                    booking_id: req.booking_id,
                    session_id: req.session_id,
                    user_id: req.user_id,
                    customer_email: req.customer_email.clone(),
                    amount_cents: req.amount_cents,
                    currency: req.currency.clone(),
                    expires_at: req.expires_at,
                },
                closed: None,
            });
        let url = format!("{}{PAY_PATH}/{id}", self.public_url);
        Ok(CheckoutSession { id, url })
    }

    async fn expire_checkout(
        &self,
        checkout_session_id: &str,
        _idempotency_key: &str,
    ) -> Result<(), GatewayError> {
        let paid = lock(&self.seats)
            .get(checkout_session_id)
            .and_then(|s| s.closed.as_ref())
            .is_some_and(|o| o["payment_status"] == "paid");
        if paid {
            // As Stripe: only an open session can be expired.
            return Err(GatewayError::Refused(format!(
                "checkout session {checkout_session_id} is complete"
            )));
        }
        lock(&self.expired).insert(checkout_session_id.to_owned());
        // A subscription's page, expired, can no longer be paid either.
        lock(&self.subscription_checkouts).remove(checkout_session_id);
        Ok(())
    }

    async fn refund(&self, req: &RefundRequest) -> Result<Refund, GatewayError> {
        self.made(&req.idempotency_key, Utc::now());
        let new = !lock(&self.refunds).contains_key(&req.idempotency_key);
        // As Stripe: never more back than is left of the payment.
        if new
            && let Some(left) = self.left_of(&req.payment_intent_id)
            && req.amount_cents > left
        {
            return Err(GatewayError::Refused(format!(
                "Refund amount ({}) is greater than the charge's unrefunded amount ({left})",
                req.amount_cents
            )));
        }
        let mut refunds = lock(&self.refunds);
        let refund = refunds
            .entry(req.idempotency_key.clone())
            .or_insert_with(|| LocalRefund {
                id: format!("re_local_{}", Uuid::new_v4().simple()),
                payment_intent_id: req.payment_intent_id.clone(),
                amount_cents: req.amount_cents,
                booking_id: req.booking_id,
            });
        Ok(Refund {
            id: refund.id.clone(),
        })
    }

    async fn create_customer(&self, _user_id: Uuid, _email: &str) -> Result<String, GatewayError> {
        Ok(format!("cus_local_{}", Uuid::new_v4().simple()))
    }

    /// As Stripe: the customer's live subscriptions are cancelled at once.
    /// The local gateway keeps no customer of its own to forget.
    async fn delete_customer(&self, customer_id: &str) -> Result<(), GatewayError> {
        let theirs: Vec<String> = lock(&self.subscriptions)
            .values()
            .filter(|s| s.customer_id == customer_id && !s.status.is_ended())
            .map(|s| s.id.clone())
            .collect();
        for id in theirs {
            self.cancel_subscription(&id, &format!("delete-{customer_id}"))
                .await?;
        }
        Ok(())
    }

    async fn create_subscription_checkout(
        &self,
        req: &SubscriptionCheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        let (id, new) = keyed(
            &self.subscription_keys,
            &req.idempotency_key(),
            req,
            "cs_local_sub",
        )?;
        let url = format!("{}{PAY_PATH}/{id}", self.public_url);
        if !new {
            return Ok(CheckoutSession { id, url });
        }
        self.made(&id, Utc::now());
        lock(&self.subscription_checkouts).insert(
            id.clone(),
            PendingSubscription {
                user_id: req.user_id,
                customer_id: req.customer_id.clone(),
                plan: req.plan,
                success_url: req.success_url.clone(),
                cancel_url: req.cancel_url.clone(),
            },
        );
        Ok(CheckoutSession { id, url })
    }

    async fn create_portal_session(
        &self,
        customer_id: &str,
        return_url: &str,
    ) -> Result<String, GatewayError> {
        let token = format!("bps_local_{}", Uuid::new_v4().simple());
        self.made(&token, Utc::now());
        lock(&self.portals).insert(
            token.clone(),
            PortalSession {
                customer_id: customer_id.to_owned(),
                return_url: return_url.to_owned(),
            },
        );
        Ok(format!("{}{PORTAL_PATH}/{token}", self.public_url))
    }

    async fn reopen_checkout(
        &self,
        checkout_session_id: &str,
    ) -> Result<Option<CheckoutSession>, GatewayError> {
        let page = || CheckoutSession {
            id: checkout_session_id.to_owned(),
            url: format!("{}{PAY_PATH}/{checkout_session_id}", self.public_url),
        };
        if checkout_session_id.starts_with("cs_local_sub_") {
            // Open until paid or cancelled on its page.
            let open = lock(&self.subscription_checkouts).contains_key(checkout_session_id);
            return Ok(open.then(page));
        }
        let seats = lock(&self.seats);
        let Some(seat) = seats.get(checkout_session_id) else {
            return Err(GatewayError::Refused(format!(
                "No such checkout.session: {checkout_session_id}"
            )));
        };
        let open = seat.closed.is_none()
            && !self.is_expired(checkout_session_id)
            && seat.checkout.expires_at > Utc::now();
        Ok(open.then(page))
    }

    async fn checkout_session(
        &self,
        checkout_session_id: &str,
    ) -> Result<Option<Payment>, GatewayError> {
        let seats = lock(&self.seats);
        let Some(seat) = seats.get(checkout_session_id) else {
            return Err(GatewayError::Refused(format!(
                "No such checkout.session: {checkout_session_id}"
            )));
        };
        let expired = self.is_expired(checkout_session_id);
        let object = match (&seat.closed, expired) {
            (Some(o), _) => o.clone(),
            (None, true) => events::checkout_session(&seat.checkout, false, Utc::now()),
            (None, false) => return Ok(None),
        };
        let cs: CheckoutSessionObject =
            serde_json::from_value(object).map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        let closed = cs.status.as_deref() == Some("expired");
        Ok(Some(parse::checkout_payment(&cs, closed)))
    }

    async fn undelivered_events(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<PaymentEvent>, GatewayError> {
        let raw = lock(&self.undelivered).clone();
        Ok(raw
            .into_iter()
            .filter_map(|v| serde_json::from_value::<Event>(v).ok())
            .filter(|e| e.created >= since.timestamp())
            .filter_map(|e| parse::parse_event(&e).ok())
            .collect())
    }

    async fn refundable(&self, payment_intent_id: &str) -> Result<i64, GatewayError> {
        self.left_of(payment_intent_id).ok_or_else(|| {
            GatewayError::Refused(format!("No such payment_intent: '{payment_intent_id}'"))
        })
    }

    async fn price(&self, price_id: &str) -> Result<RecurringPrice, GatewayError> {
        use common::subscriptions::PlanInterval;
        let (amount_cents, interval) = match Plan::ALL
            .into_iter()
            .find(|p| subscriptions::price_id(*p) == price_id)
        {
            Some(plan @ Plan::Monthly) => (self.plan_cents(plan), PlanInterval::Month),
            Some(plan @ Plan::Yearly) => (self.plan_cents(plan), PlanInterval::Year),
            None => {
                return Err(GatewayError::Refused(format!(
                    "No such price: '{price_id}'"
                )));
            }
        };
        Ok(RecurringPrice {
            amount_cents,
            currency: "EUR".to_owned(),
            interval,
        })
    }

    /// The local gateway's subscription events are applied as they are
    /// made (a failed one is kept as undelivered): it holds no other state.
    async fn customer_subscriptions(
        &self,
        _customer_id: &str,
    ) -> Result<Vec<SubscriptionChange>, GatewayError> {
        Ok(Vec::new())
    }

    /// Ends the subscription; its `customer.subscription.deleted` waits
    /// among the undelivered events (this gateway has no line to the
    /// pipeline), which the next reconciliation delivers.
    async fn cancel_subscription(
        &self,
        subscription_id: &str,
        _idempotency_key: &str,
    ) -> Result<(), GatewayError> {
        let mut sub = lock(&self.subscriptions)
            .get(subscription_id)
            .cloned()
            .ok_or_else(|| {
                GatewayError::Refused(format!("No such subscription: '{subscription_id}'"))
            })?;
        // Cancelling again is answered as the first time.
        if sub.status.is_ended() {
            return Ok(());
        }
        for event in self.act(&subscriptions::Action::CancelNow, &mut sub) {
            self.remember_undelivered(event);
        }
        Ok(())
    }

    async fn subscription_ended(&self, subscription_id: &str) -> Result<bool, GatewayError> {
        lock(&self.subscriptions)
            .get(subscription_id)
            .map(|s| s.status.is_ended())
            .ok_or_else(|| {
                GatewayError::Refused(format!("No such subscription: '{subscription_id}'"))
            })
    }

    async fn invoice_payment(&self, invoice_id: &str) -> Result<Option<String>, GatewayError> {
        Ok(lock(&self.invoice_payments)
            .get(invoice_id)
            .map(|(payment, _)| payment.clone()))
    }
}

/// Stripe's documented rule: a Checkout Session expires 30 minutes to 24
/// hours after it is created. The local gateway refuses the same requests.
pub fn check_expiry(expires_at: DateTime<Utc>, created: DateTime<Utc>) -> Result<(), GatewayError> {
    let after = expires_at - created;
    if after < chrono::Duration::minutes(30) || after > chrono::Duration::hours(24) {
        return Err(GatewayError::Refused(format!(
            "expires_at must be between 30 minutes and 24 hours after creation (got {} s)",
            after.num_seconds()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seat(expires_at: DateTime<Utc>) -> CheckoutRequest {
        CheckoutRequest {
            booking_id: Uuid::new_v4(),
            session_id: Uuid::new_v4(),
            user_id: Uuid::new_v4(),
            customer_email: "a@example.com".into(),
            product_name: "Immersion Élite".into(),
            amount_cents: 199_700,
            currency: "EUR".into(),
            expires_at,
            success_url: "http://x/merci".into(),
            cancel_url: "http://x/annulation".into(),
            replaces: None,
            invoice_fields: Vec::new(),
        }
    }

    #[actix_web::test]
    async fn what_stripe_would_have_forgotten_is_pruned() {
        let gateway = LocalGateway::new("http://127.0.0.1:1");
        let now = Utc::now();
        let session = gateway
            .create_checkout(&seat(now + chrono::Duration::minutes(40)))
            .await
            .unwrap();
        let refund = RefundRequest {
            payment_intent_id: "pi_1".into(),
            amount_cents: 100,
            booking_id: None,
            idempotency_key: "refund-1".into(),
        };
        gateway.refund(&refund).await.unwrap();
        let portal = gateway
            .create_portal_session("cus_1", "http://x")
            .await
            .unwrap();
        let token = portal.rsplit('/').next().unwrap().to_owned();
        assert!(gateway.portal(&token).is_some());

        // Two hours on: the portal link is gone, the rest is kept.
        gateway.prune(now + chrono::Duration::hours(2));
        assert!(gateway.portal(&token).is_none());
        assert_eq!(gateway.refunds().len(), 1);
        assert!(gateway.checkout_session(&session.id).await.is_ok());

        // Two days on: the seat's session and the refund's key too.
        gateway.prune(now + chrono::Duration::days(2));
        assert!(gateway.refunds().is_empty());
        assert!(gateway.checkout_session(&session.id).await.is_err());
    }

    /// As Stripe: a key sent again with the same parameters answers the
    /// same session; with other parameters it is refused.
    #[actix_web::test]
    async fn a_key_sent_again_with_other_parameters_is_refused() {
        let gateway = LocalGateway::new("http://127.0.0.1:1");
        let req = seat(Utc::now() + chrono::Duration::minutes(40));
        let first = gateway.create_checkout(&req).await.unwrap();
        assert_eq!(gateway.create_checkout(&req).await.unwrap(), first);
        let other = CheckoutRequest {
            amount_cents: 1,
            ..req.clone()
        };
        assert_eq!(other.idempotency_key(), req.idempotency_key());
        let refused = gateway.create_checkout(&other).await;
        assert!(
            matches!(&refused, Err(GatewayError::Refused(m)) if m.contains("same parameters")),
            "{refused:?}"
        );
        // Another expiry is another key: another session.
        let later = CheckoutRequest {
            expires_at: req.expires_at + chrono::Duration::minutes(5),
            ..req
        };
        assert_ne!(gateway.create_checkout(&later).await.unwrap().id, first.id);
    }
}
