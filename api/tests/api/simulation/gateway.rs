//! The simulation's payment provider: Stripe's money and its events,
//! deterministic. Ids are counters, time is the simulation's clock, and
//! every event goes to an outbox the simulation delivers late, twice, out
//! of order or never. It keeps Stripe's rules that the money path leans
//! on: an `expires_at` 30 minutes to 24 hours out, a key sent again with
//! other parameters refused, only an open page expired, never more
//! refunded than was paid, a refund answered once per key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use api::payments::events::{
    ChargeRefund, EventType, Payment, PaymentEvent, PaymentStatus, SeatCheckout,
    SubscriptionChange, SubscriptionChangeKind, SubscriptionCheckout,
};
use api::payments::local::check_expiry;
use api::payments::{
    CheckoutRequest, CheckoutSession, GatewayError, PaymentGateway, RecurringPrice, Refund,
    RefundRequest, SubscriptionCheckoutRequest,
};
use chrono::{DateTime, Utc};
use common::subscriptions::{Plan, StripeStatus};

/// The simulation's time, shared by the world, the gateway and the desk.
#[derive(Clone)]
pub struct SimClock(Arc<Mutex<DateTime<Utc>>>);

impl SimClock {
    pub fn starting(at: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(at)))
    }

    pub fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }

    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl api::domain::platform::clock::Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        SimClock::now(self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageState {
    Open,
    /// Paid by card, or by a bank debit still on its way (`settled` false).
    Complete,
    Expired,
}

#[derive(Debug, Clone)]
pub struct Page {
    pub id: String,
    pub request: CheckoutRequest,
    pub state: PageState,
    /// The payment it took, once complete.
    pub payment: Option<String>,
}

/// A payment taken by a page: what Stripe holds and what went back.
#[derive(Debug, Clone)]
pub struct Charge {
    pub id: String,
    pub page: String,
    pub amount: i64,
    /// False while a bank debit is on its way; a failed one never settles.
    pub settled: bool,
    pub failed: bool,
    pub refunded: i64,
}

/// An event and how its delivery stands.
#[derive(Debug, Clone)]
pub struct Sent {
    pub event: PaymentEvent,
    /// Answered 2xx by the webhook (or applied by reconcile).
    pub delivered: bool,
    /// Stripe gave up on it: only reconcile finds it.
    pub lost: bool,
}

/// A subscription page: open, or paid (the subscription it made).
#[derive(Debug, Clone)]
pub struct SubscriptionPage {
    pub id: String,
    pub request: SubscriptionCheckoutRequest,
    pub paid: Option<String>,
    /// Expired unpaid (through the API): it can be paid no more.
    pub expired: bool,
}

#[derive(Default)]
struct State {
    pages: Vec<Page>,
    charges: Vec<Charge>,
    keys: HashMap<String, (CheckoutRequest, String)>,
    refunds: HashMap<String, (String, i64, String)>,
    subscription_pages: Vec<SubscriptionPage>,
    subscriptions: Vec<SubscriptionChange>,
    customers: u32,
    /// Customers deleted: Stripe acts no more for them.
    deleted_customers: Vec<String>,
    outbox: Vec<Sent>,
    ids: u64,
    /// The next this many calls fail as if the provider did not answer.
    outage: u32,
}

pub struct SimGateway {
    clock: SimClock,
    state: Mutex<State>,
}

impl SimGateway {
    pub fn new(clock: SimClock) -> Self {
        Self {
            clock,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    pub fn fail_next(&self, calls: u32) {
        self.state().outage = calls;
    }

    pub fn pages(&self) -> Vec<Page> {
        self.state().pages.clone()
    }

    pub fn charges(&self) -> Vec<Charge> {
        self.state().charges.clone()
    }

    /// Events not yet delivered and not lost, oldest first.
    pub fn pending(&self) -> Vec<usize> {
        let state = self.state();
        (0..state.outbox.len())
            .filter(|i| !state.outbox[*i].delivered && !state.outbox[*i].lost)
            .collect()
    }

    pub fn sent(&self, index: usize) -> Sent {
        self.state().outbox[index].clone()
    }

    pub fn mark_delivered(&self, index: usize) {
        self.state().outbox[index].delivered = true;
    }

    pub fn mark_lost(&self, index: usize) {
        self.state().outbox[index].lost = true;
    }

    /// Stripe expires the open pages whose time has come.
    pub fn tick(&self) {
        let now = self.clock.now();
        let mut state = self.state();
        let due: Vec<usize> = (0..state.pages.len())
            .filter(|i| {
                let p = &state.pages[*i];
                p.state == PageState::Open && p.request.expires_at <= now
            })
            .collect();
        for i in due {
            expire(&mut state, i, now);
        }
    }

    /// The customer pays page `index` by card, or by a bank debit that
    /// settles later. False when it cannot be paid.
    pub fn pay_page(&self, index: usize, debit: bool) -> bool {
        let now = self.clock.now();
        let mut state = self.state();
        let page = state.pages[index].clone();
        if page.state != PageState::Open || page.request.expires_at <= now {
            return false;
        }
        state.ids += 1;
        let charge = Charge {
            id: format!("pi_sim_{}", state.ids),
            page: page.id.clone(),
            amount: page.request.amount_cents,
            settled: !debit,
            failed: false,
            refunded: 0,
        };
        let page = &mut state.pages[index];
        page.state = PageState::Complete;
        page.payment = Some(charge.id.clone());
        let status = if debit {
            PaymentStatus::Unpaid
        } else {
            PaymentStatus::Paid
        };
        let seat = seat_checkout(page, status);
        state.charges.push(charge);
        emit(
            &mut state,
            now,
            EventType::CheckoutCompleted,
            Payment::SeatPaid(seat),
        );
        true
    }

    /// The bank answers for debit `index`: paid, or failed.
    pub fn settle_debit(&self, index: usize, ok: bool) -> bool {
        let now = self.clock.now();
        let mut state = self.state();
        let charge = &mut state.charges[index];
        if charge.settled || charge.failed {
            return false;
        }
        if ok {
            charge.settled = true;
        } else {
            charge.failed = true;
        }
        let page_id = charge.page.clone();
        let page = state.pages.iter().find(|p| p.id == page_id).unwrap();
        let (event_type, payment) = if ok {
            let seat = seat_checkout(page, PaymentStatus::Paid);
            (
                EventType::CheckoutAsyncPaymentSucceeded,
                Payment::SeatPaid(seat),
            )
        } else {
            let seat = seat_checkout(page, PaymentStatus::Unpaid);
            (
                EventType::CheckoutAsyncPaymentFailed,
                Payment::SeatCheckoutClosed(seat),
            )
        };
        emit(&mut state, now, event_type, payment);
        true
    }

    /// The users Stripe bills, once per live subscription (only a
    /// cancel ends one here).
    pub fn subscribers(&self) -> Vec<uuid::Uuid> {
        let state = self.state();
        state
            .subscriptions
            .iter()
            .filter(|s| !s.status.is_ended())
            .filter_map(|s| s.user_id)
            .collect()
    }

    /// Open subscription pages, oldest first.
    pub fn open_subscription_pages(&self) -> Vec<String> {
        let state = self.state();
        state
            .subscription_pages
            .iter()
            .filter(|p| p.paid.is_none() && !p.expired)
            .map(|p| p.id.clone())
            .collect()
    }

    /// The customer pays a subscription page: Stripe makes the
    /// subscription and sends the page's completion and its creation.
    /// False when its customer was deleted: Stripe bills them no more.
    pub fn pay_subscription_page(&self, id: &str) -> bool {
        let now = self.clock.now();
        let mut state = self.state();
        let index = state
            .subscription_pages
            .iter()
            .position(|p| p.id == id)
            .unwrap();
        let req = state.subscription_pages[index].request.clone();
        if state.deleted_customers.contains(&req.customer_id) {
            return false;
        }
        let sub = subscribe(&mut state, &req, now);
        state.subscription_pages[index].paid = Some(sub.clone());
        let link = SubscriptionCheckout {
            user_id: Some(req.user_id),
            customer: Some(req.customer_id),
            subscription: Some(sub),
        };
        emit(
            &mut state,
            now,
            EventType::CheckoutCompleted,
            Payment::SubscriptionCheckout(link),
        );
        true
    }

    /// Paid subscription pages, oldest first.
    pub fn paid_subscription_pages(&self) -> Vec<String> {
        let state = self.state();
        state
            .subscription_pages
            .iter()
            .filter(|p| p.paid.is_some())
            .map(|p| p.id.clone())
            .collect()
    }

    /// The customer of page `id` subscribes again where we do not see it
    /// (a payment link, another tab's stale page): Stripe makes a second
    /// subscription and sends only its creation.
    /// False when its customer was deleted.
    pub fn subscribe_elsewhere(&self, id: &str) -> bool {
        let now = self.clock.now();
        let mut state = self.state();
        let page = state.subscription_pages.iter().find(|p| p.id == id);
        let req = page.unwrap().request.clone();
        if state.deleted_customers.contains(&req.customer_id) {
            return false;
        }
        subscribe(&mut state, &req, now);
        true
    }

    /// Whether Stripe deleted `customer`.
    pub fn customer_deleted(&self, customer: &str) -> bool {
        self.state().deleted_customers.iter().any(|c| c == customer)
    }

    /// An admin refunds in Stripe's Dashboard: all that is left of charge
    /// `index`, or half of it.
    pub fn dashboard_refund(&self, index: usize, half: bool) -> bool {
        let now = self.clock.now();
        let mut state = self.state();
        let charge = &state.charges[index];
        let left = charge.amount - charge.refunded;
        if !charge.settled || left <= 0 {
            return false;
        }
        let amount = if half { (left / 2).max(1) } else { left };
        refund_charge(&mut state, index, amount, now);
        true
    }
}

fn seat_checkout(page: &Page, status: PaymentStatus) -> SeatCheckout {
    SeatCheckout {
        checkout_session_id: page.id.clone(),
        booking_id: page.request.booking_id,
        user_id: Some(page.request.user_id),
        payment_status: status,
        amount_total: Some(page.request.amount_cents),
        currency: Some(page.request.currency.clone()),
        payment_intent: page.payment.clone(),
    }
}

/// Page `i` expires, and Stripe says so.
fn expire(state: &mut State, i: usize, now: DateTime<Utc>) {
    state.pages[i].state = PageState::Expired;
    let seat = seat_checkout(&state.pages[i], PaymentStatus::Unpaid);
    emit(
        state,
        now,
        EventType::CheckoutExpired,
        Payment::SeatCheckoutClosed(seat),
    );
}

/// Stripe makes a live subscription as `req` asked, and sends its
/// creation; answers its id.
fn subscribe(state: &mut State, req: &SubscriptionCheckoutRequest, now: DateTime<Utc>) -> String {
    state.ids += 1;
    let sub = format!("sub_sim_{}", state.ids);
    let days = if req.plan == Plan::Yearly { 365 } else { 30 };
    let change = SubscriptionChange {
        kind: SubscriptionChangeKind::Created,
        subscription_id: sub.clone(),
        customer: Some(req.customer_id.clone()),
        user_id: Some(req.user_id),
        status: StripeStatus::Active,
        price_id: Some(req.price_id.clone()),
        current_period_end: Some(now + chrono::Duration::days(days)),
        cancel_at_period_end: false,
    };
    state.subscriptions.push(change.clone());
    emit(
        state,
        now,
        EventType::SubscriptionCreated,
        Payment::SubscriptionChanged(change),
    );
    sub
}

fn emit(state: &mut State, now: DateTime<Utc>, event_type: EventType, payment: Payment) {
    state.ids += 1;
    let event = PaymentEvent {
        id: format!("evt_sim_{}", state.ids),
        event_type,
        created: now.timestamp(),
        payment,
    };
    state.outbox.push(Sent {
        event,
        delivered: false,
        lost: false,
    });
}

/// Gives `amount` back on charge `index`; `charge.refunded` follows with
/// the running total, as Stripe sends it.
fn refund_charge(state: &mut State, index: usize, amount: i64, now: DateTime<Utc>) {
    let charge = &mut state.charges[index];
    charge.refunded += amount;
    let refund = ChargeRefund {
        payment_intent: Some(charge.id.clone()),
        refunded: charge.refunded == charge.amount,
        amount_refunded: charge.refunded,
    };
    emit(
        state,
        now,
        EventType::ChargeRefunded,
        Payment::ChargeRefunded(refund),
    );
}

impl SimGateway {
    /// One call reaches the provider, unless an outage is under way.
    fn reach(&self) -> Result<(), GatewayError> {
        let mut state = self.state();
        if state.outage > 0 {
            state.outage -= 1;
            return Err(GatewayError::Unavailable("simulated outage".into()));
        }
        Ok(())
    }

    fn page_index(state: &State, id: &str) -> Result<usize, GatewayError> {
        state
            .pages
            .iter()
            .position(|p| p.id == id)
            .ok_or_else(|| GatewayError::Refused(format!("No such checkout.session: {id}")))
    }
}

#[async_trait::async_trait]
impl PaymentGateway for SimGateway {
    async fn create_checkout(
        &self,
        req: &CheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        self.reach()?;
        let now = self.clock.now();
        let mut state = self.state();
        let key = req.idempotency_key();
        if let Some((first, id)) = state.keys.get(&key) {
            if first != req {
                return Err(GatewayError::Refused(
                    "Keys for idempotent requests can only be used with the same parameters".into(),
                ));
            }
            return Ok(page_of(id));
        }
        check_expiry(req.expires_at, now)?;
        state.ids += 1;
        let id = format!("cs_sim_{}", state.ids);
        state.keys.insert(key, (req.clone(), id.clone()));
        state.pages.push(Page {
            id: id.clone(),
            request: req.clone(),
            state: PageState::Open,
            payment: None,
        });
        Ok(page_of(&id))
    }

    async fn expire_checkout(
        &self,
        checkout_session_id: &str,
        _idempotency_key: &str,
    ) -> Result<(), GatewayError> {
        self.reach()?;
        let now = self.clock.now();
        let mut state = self.state();
        if let Some(page) = state
            .subscription_pages
            .iter_mut()
            .find(|p| p.id == checkout_session_id)
        {
            if page.paid.is_some() || page.expired {
                return Err(GatewayError::Refused(format!(
                    "checkout session {checkout_session_id} is not open"
                )));
            }
            page.expired = true;
            return Ok(());
        }
        let i = Self::page_index(&state, checkout_session_id)?;
        if state.pages[i].state != PageState::Open {
            return Err(GatewayError::Refused(format!(
                "checkout session {checkout_session_id} is not open"
            )));
        }
        expire(&mut state, i, now);
        Ok(())
    }

    async fn refund(&self, req: &RefundRequest) -> Result<Refund, GatewayError> {
        self.reach()?;
        let now = self.clock.now();
        let mut state = self.state();
        if let Some((pi, amount, id)) = state.refunds.get(&req.idempotency_key) {
            if *pi != req.payment_intent_id || *amount != req.amount_cents {
                return Err(GatewayError::Refused(
                    "Keys for idempotent requests can only be used with the same parameters".into(),
                ));
            }
            return Ok(Refund { id: id.clone() });
        }
        let Some(index) = state
            .charges
            .iter()
            .position(|c| c.id == req.payment_intent_id)
        else {
            return Err(GatewayError::Refused(format!(
                "No such payment_intent: {}",
                req.payment_intent_id
            )));
        };
        let charge = &state.charges[index];
        if !charge.settled {
            return Err(GatewayError::Refused(
                "This PaymentIntent has no successful charge to refund".into(),
            ));
        }
        if req.amount_cents <= 0 || req.amount_cents > charge.amount - charge.refunded {
            return Err(GatewayError::Refused(format!(
                "Refund amount ({}) is greater than the charge's unrefunded amount ({})",
                req.amount_cents,
                charge.amount - charge.refunded
            )));
        }
        refund_charge(&mut state, index, req.amount_cents, now);
        state.ids += 1;
        let id = format!("re_sim_{}", state.ids);
        state.refunds.insert(
            req.idempotency_key.clone(),
            (req.payment_intent_id.clone(), req.amount_cents, id.clone()),
        );
        Ok(Refund { id })
    }

    async fn create_customer(
        &self,
        _user_id: uuid::Uuid,
        _email: &str,
    ) -> Result<String, GatewayError> {
        self.reach()?;
        let mut state = self.state();
        state.customers += 1;
        Ok(format!("cus_sim_{}", state.customers))
    }

    /// As Stripe: the customer's live subscriptions are cancelled at once,
    /// and deleting it again answers as the first time.
    async fn delete_customer(&self, customer_id: &str) -> Result<(), GatewayError> {
        self.reach()?;
        {
            let mut state = self.state();
            if !state.deleted_customers.iter().any(|c| c == customer_id) {
                state.deleted_customers.push(customer_id.to_owned());
            }
        }
        let theirs: Vec<String> = self
            .state()
            .subscriptions
            .iter()
            .filter(|s| s.customer.as_deref() == Some(customer_id) && !s.status.is_ended())
            .map(|s| s.subscription_id.clone())
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
        self.reach()?;
        let mut state = self.state();
        let key = req.idempotency_key();
        if let Some(first) = state
            .subscription_pages
            .iter()
            .find(|p| p.request.idempotency_key() == key)
        {
            if first.request != *req {
                return Err(GatewayError::Refused(
                    "Keys for idempotent requests can only be used with the same parameters".into(),
                ));
            }
            return Ok(page_of(&first.id));
        }
        state.ids += 1;
        let id = format!("cs_sim_sub_{}", state.ids);
        state.subscription_pages.push(SubscriptionPage {
            id: id.clone(),
            request: req.clone(),
            paid: None,
            expired: false,
        });
        Ok(page_of(&id))
    }

    async fn create_portal_session(
        &self,
        customer_id: &str,
        _return_url: &str,
    ) -> Result<String, GatewayError> {
        self.reach()?;
        Ok(format!("https://billing.example/{customer_id}"))
    }

    async fn reopen_checkout(
        &self,
        checkout_session_id: &str,
    ) -> Result<Option<CheckoutSession>, GatewayError> {
        self.reach()?;
        let now = self.clock.now();
        let state = self.state();
        if let Some(page) = state
            .subscription_pages
            .iter()
            .find(|p| p.id == checkout_session_id)
        {
            // Open until paid or expired through the API.
            let open = page.paid.is_none() && !page.expired;
            return Ok(open.then(|| page_of(checkout_session_id)));
        }
        let page = &state.pages[Self::page_index(&state, checkout_session_id)?];
        let open = page.state == PageState::Open && page.request.expires_at > now;
        Ok(open.then(|| page_of(checkout_session_id)))
    }

    async fn checkout_session(
        &self,
        checkout_session_id: &str,
    ) -> Result<Option<Payment>, GatewayError> {
        self.reach()?;
        let state = self.state();
        if let Some(page) = state
            .subscription_pages
            .iter()
            .find(|p| p.id == checkout_session_id)
        {
            // Paid, with its subscription; expired, with none.
            let closed = page.paid.is_some() || page.expired;
            return Ok(closed.then(|| {
                Payment::SubscriptionCheckout(SubscriptionCheckout {
                    user_id: Some(page.request.user_id),
                    customer: Some(page.request.customer_id.clone()),
                    subscription: page.paid.clone(),
                })
            }));
        }
        let page = &state.pages[Self::page_index(&state, checkout_session_id)?];
        let charge = page
            .payment
            .as_ref()
            .and_then(|pi| state.charges.iter().find(|c| &c.id == pi));
        Ok(match (page.state, charge) {
            (PageState::Open, _) => None,
            (PageState::Expired, _) => Some(Payment::SeatCheckoutClosed(seat_checkout(
                page,
                PaymentStatus::Unpaid,
            ))),
            (PageState::Complete, Some(c)) if c.failed => Some(Payment::SeatCheckoutClosed(
                seat_checkout(page, PaymentStatus::Unpaid),
            )),
            (PageState::Complete, Some(c)) => {
                let status = if c.settled {
                    PaymentStatus::Paid
                } else {
                    PaymentStatus::Unpaid
                };
                Some(Payment::SeatPaid(seat_checkout(page, status)))
            }
            (PageState::Complete, None) => unreachable!("a complete page has its payment"),
        })
    }

    async fn undelivered_events(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<PaymentEvent>, GatewayError> {
        self.reach()?;
        let state = self.state();
        Ok(state
            .outbox
            .iter()
            .filter(|s| !s.delivered && s.event.created >= since.timestamp())
            .map(|s| s.event.clone())
            .collect())
    }

    async fn refundable(&self, payment_intent_id: &str) -> Result<i64, GatewayError> {
        self.reach()?;
        let state = self.state();
        match state.charges.iter().find(|c| c.id == payment_intent_id) {
            Some(c) if c.failed => Ok(0),
            Some(c) => Ok(c.amount - c.refunded),
            None => Err(GatewayError::Refused(format!(
                "No such payment_intent: '{payment_intent_id}'"
            ))),
        }
    }

    async fn price(&self, price_id: &str) -> Result<RecurringPrice, GatewayError> {
        Err(GatewayError::Refused(format!(
            "No such price: '{price_id}'"
        )))
    }

    async fn customer_subscriptions(
        &self,
        customer_id: &str,
    ) -> Result<Vec<SubscriptionChange>, GatewayError> {
        self.reach()?;
        Ok(self
            .state()
            .subscriptions
            .iter()
            .filter(|s| s.customer.as_deref() == Some(customer_id))
            .map(|s| SubscriptionChange {
                kind: SubscriptionChangeKind::Updated,
                ..s.clone()
            })
            .collect())
    }

    async fn cancel_subscription(&self, id: &str, _key: &str) -> Result<(), GatewayError> {
        self.reach()?;
        let now = self.clock.now();
        let mut state = self.state();
        let sub = state
            .subscriptions
            .iter_mut()
            .find(|s| s.subscription_id == id)
            .ok_or_else(|| GatewayError::Refused(format!("No such subscription: '{id}'")))?;
        if sub.status.is_ended() {
            return Ok(());
        }
        sub.status = StripeStatus::Canceled;
        let change = SubscriptionChange {
            kind: SubscriptionChangeKind::Deleted,
            ..sub.clone()
        };
        emit(
            &mut state,
            now,
            EventType::SubscriptionDeleted,
            Payment::SubscriptionChanged(change),
        );
        Ok(())
    }

    async fn subscription_ended(&self, id: &str) -> Result<bool, GatewayError> {
        self.reach()?;
        self.state()
            .subscriptions
            .iter()
            .find(|s| s.subscription_id == id)
            .map(|s| s.status.is_ended())
            .ok_or_else(|| GatewayError::Refused(format!("No such subscription: '{id}'")))
    }

    /// The simulation's subscriptions send no invoices: nothing to name.
    async fn invoice_payment(&self, _invoice_id: &str) -> Result<Option<String>, GatewayError> {
        self.reach()?;
        Ok(None)
    }
}

fn page_of(id: &str) -> CheckoutSession {
    CheckoutSession {
        id: id.to_owned(),
        url: format!("https://checkout.example/{id}"),
    }
}
