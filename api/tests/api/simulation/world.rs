//! One simulated world: a real database, the real domain functions, the
//! simulation's provider and clock. `do_step` runs one step and says what
//! came of it; `check` runs the audit's own code; `settle_all` lets every
//! delayed thing happen, then `check_money` compares our books with the
//! provider's.

use api::config::{Offers, Policy, Prices};
use api::db::checkout_ids::CheckoutIds;
use api::domain::bookings::{self as desk, Desk};
use api::domain::catalog::{sessions, waitlist};
use api::domain::platform::actor::Actor;
use api::domain::platform::clock::today_at_venue;
use api::error::ApiError;
use api::payments::events::Payment;
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::ErrorCode;
use common::auth::Role;
use common::bookings::BookingStatus;
use common::sessions::{NewSession, SessionDecision, SessionPatch};
use common::waitlist::WaitlistStatus;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, Statement, TransactionTrait,
};
use std::collections::HashMap;
use uuid::Uuid;

use super::gateway::{PageState, SimClock, SimGateway};
use super::steps::Step;
use entity::{immersion_bookings as bookings, waitlist_entries as entries};

/// Where every run's clock starts: a fixed moment, so that "today at the
/// venue" is the same in every run of a seed, whenever it is run.
fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2031, 3, 3, 8, 0, 0).unwrap()
}

pub const USERS: usize = 6;
pub const SESSIONS: usize = 3;
const DECISION_DAYS: i64 = 1;

pub struct World {
    pub db: DatabaseConnection,
    pub clock: SimClock,
    pub gateway: SimGateway,
    pub policy: Policy,
    checkout_ids: CheckoutIds,
    users: Vec<Actor>,
    admin: Actor,
    sessions: Vec<Uuid>,
    /// The people erased, and when.
    erased: HashMap<Uuid, DateTime<Utc>>,
}

/// What a step did: a line for the trace, or a broken rule.
pub type Outcome = Result<String, String>;

impl World {
    /// A world on `db`, emptied first; `shape` decides the sessions'
    /// sizes and dates (from the seed).
    pub async fn new(db: DatabaseConnection, shape: [u8; SESSIONS]) -> Self {
        empty(&db).await;
        let clock = SimClock::starting(epoch());
        let public_url = "https://immersion.example".to_owned();
        let policy = Policy {
            hold: Duration::minutes(40),
            hold_cooldown: Some(Duration::minutes(10)),
            holds_per_address: 2,
            cancellation_cutoff_days: 3,
            offers: Offers {
                hold: Duration::hours(2),
                public_url: public_url.clone(),
            },
            public_url,
            past_due_grace: Duration::days(3),
            prices: Prices {
                monthly: Some("price_sim_monthly".into()),
                yearly: Some("price_sim_yearly".into()),
            },
            invoicing: None,
            seller_mentions: Vec::new(),
        };
        let mut users = Vec::new();
        for i in 0..USERS {
            users.push(person(&db, &format!("user{i}@sim.example"), Role::User).await);
        }
        let admin = person(&db, "admin@sim.example", Role::Admin).await;
        let today = today_at_venue(clock.now());
        let mut ids = Vec::new();
        for s in shape {
            let starts_on = today + Duration::days(2 + i64::from(s % 4));
            let max_places = 1 + i32::from(s / 4 % 3);
            let new = NewSession {
                starts_on,
                ends_on: starts_on + Duration::days(2),
                location: "Lyon".into(),
                description: None,
                trainer: None,
                half_day_minutes: common::sessions::DEFAULT_HALF_DAY_MINUTES,
                price_cents: 199_700,
                currency: "EUR".into(),
                max_places,
                is_active: true,
                min_places: (s / 12 % 2 == 1).then_some(max_places.min(2)),
                decide_on: None,
            };
            let made = sessions::create(&db, new, today, DECISION_DAYS)
                .await
                .expect("session created");
            ids.push(made.id);
        }
        Self {
            gateway: SimGateway::new(clock.clone()),
            db,
            clock,
            policy,
            checkout_ids: CheckoutIds::default(),
            users,
            admin,
            sessions: ids,
            erased: HashMap::new(),
        }
    }

    fn desk(&self) -> Desk<'_> {
        Desk {
            db: &self.db,
            checkout_ids: &self.checkout_ids,
            policy: &self.policy,
            clock: &self.clock,
        }
    }

    fn user(&self, i: u8) -> &Actor {
        &self.users[usize::from(i) % USERS]
    }

    /// A person still here, who can sign in and act; None once erased.
    fn present(&self, i: u8) -> Option<&Actor> {
        Some(self.user(i)).filter(|u| !self.erased.contains_key(&u.id))
    }

    fn session(&self, i: u8) -> Uuid {
        self.sessions[usize::from(i) % SESSIONS]
    }

    /// Bookings in an order every run of a seed agrees on (ids are random).
    async fn bookings(&self, of: &[BookingStatus]) -> Vec<bookings::Model> {
        let mut rows = bookings::Entity::find().all(&self.db).await.unwrap();
        rows.retain(|b| of.contains(&b.status));
        rows.sort_by_key(|b| (b.created_at, self.rank(b.session_id, b.user_id)));
        rows
    }

    fn rank(&self, session: Uuid, user: Uuid) -> (usize, usize) {
        let s = self.sessions.iter().position(|x| *x == session);
        let u = self.users.iter().position(|x| x.id == user);
        (s.unwrap_or(usize::MAX), u.unwrap_or(usize::MAX))
    }

    fn owner(&self, user: Uuid) -> &Actor {
        self.users.iter().find(|u| u.id == user).unwrap()
    }

    /// Runs one step, a second after the last: no two steps share an
    /// instant, so rows that sort by time (the waiting line) never fall
    /// back on their random ids, and the same seed is the same run.
    pub async fn do_step(&mut self, step: Step) -> Outcome {
        self.clock.advance(Duration::seconds(1));
        let now = self.clock.now();
        let desk = self.desk();
        let gw = &self.gateway;
        match step {
            Step::Hold { user, session } => {
                let Some(u) = self.present(user) else {
                    return skip();
                };
                let r = desk::hold(&desk, gw, u, (self.session(session), None), now).await;
                answer(r.map(|_| ()))
            }
            Step::PayAgain { pick } => {
                let held = self.bookings(&[BookingStatus::Held]).await;
                let Some(b) = choose(&held, pick) else {
                    return skip();
                };
                answer(desk::pay(&desk, gw, self.owner(b.user_id), b.id, now).await)
            }
            Step::Cancel { pick, admin, force } => {
                let live = self
                    .bookings(&[BookingStatus::Held, BookingStatus::Confirmed])
                    .await;
                let Some(b) = choose(&live, pick) else {
                    return skip();
                };
                let actor = if admin {
                    &self.admin
                } else if self.erased.contains_key(&b.user_id) {
                    return skip();
                } else {
                    self.owner(b.user_id)
                };
                answer(desk::cancel(&desk, gw, actor, b.id, admin && force, now).await)
            }
            Step::Join { user, session } => {
                let Some(u) = self.present(user) else {
                    return skip();
                };
                answer(waitlist::join(&self.db, u.id, self.session(session), now).await)
            }
            Step::Leave { pick, admin } => {
                let mut line = entries::Entity::find().all(&self.db).await.unwrap();
                line.retain(|e| {
                    matches!(e.status, WaitlistStatus::Waiting | WaitlistStatus::Offered)
                });
                line.sort_by_key(|e| (e.joined_at, self.rank(e.session_id, e.user_id)));
                let Some(e) = choose(&line, pick) else {
                    return skip();
                };
                let to = if admin {
                    WaitlistStatus::Removed
                } else if self.erased.contains_key(&e.user_id) {
                    return skip();
                } else {
                    WaitlistStatus::Left
                };
                answer(desk::leave_waitlist(&desk, gw, e, to, now).await)
            }
            Step::PayPage { pick, debit } => {
                let open: Vec<usize> = (0..gw.pages().len())
                    .filter(|i| gw.pages()[*i].state == PageState::Open)
                    .collect();
                match choose(&open, pick) {
                    Some(i) if gw.pay_page(*i, debit) => Ok("paid".into()),
                    Some(_) => Ok("page past its expiry".into()),
                    None => skip(),
                }
            }
            Step::BankAnswers { pick, ok } => {
                let charges = gw.charges();
                let waiting: Vec<usize> = (0..charges.len())
                    .filter(|i| !charges[*i].settled && !charges[*i].failed)
                    .collect();
                match choose(&waiting, pick) {
                    Some(i) => Ok(format!("debit answered: {}", gw.settle_debit(*i, ok))),
                    None => skip(),
                }
            }
            Step::DashboardRefund { pick, half } => {
                let charges = gw.charges();
                let refundable: Vec<usize> = (0..charges.len())
                    .filter(|i| charges[*i].settled && charges[*i].refunded < charges[*i].amount)
                    .collect();
                match choose(&refundable, pick) {
                    Some(i) => Ok(format!("refunded: {}", gw.dashboard_refund(*i, half))),
                    None => skip(),
                }
            }
            Step::Deliver { pick, again } => {
                let pending = gw.pending();
                let Some(i) = choose(&pending, pick).copied() else {
                    return skip();
                };
                let out = self.deliver(i, now).await;
                if !again && out.is_ok() {
                    gw.mark_delivered(i);
                }
                out
            }
            Step::Lose { pick } => match choose(&gw.pending(), pick).copied() {
                Some(i) => {
                    gw.mark_lost(i);
                    Ok("lost".into())
                }
                None => skip(),
            },
            Step::Crash { pick } => {
                let Some(i) = choose(&gw.pending(), pick).copied() else {
                    return skip();
                };
                self.crash_applying(i, now).await
            }
            Step::Capacity { session, up } => {
                let id = self.session(session);
                let s = sessions::get_any(&self.db, id, today_at_venue(now))
                    .await
                    .unwrap();
                let max_places = if up {
                    s.max_places + 1
                } else {
                    (s.max_places - 1).max(1)
                };
                self.edit(
                    id,
                    SessionPatch {
                        max_places: Some(max_places),
                        ..Default::default()
                    },
                    now,
                )
                .await
            }
            Step::Close { session, closed } => {
                let patch = SessionPatch {
                    closed: Some(closed),
                    ..Default::default()
                };
                self.edit(self.session(session), patch, now).await
            }
            Step::Activate { session, active } => {
                let patch = SessionPatch {
                    is_active: Some(active),
                    ..Default::default()
                };
                self.edit(self.session(session), patch, now).await
            }
            Step::Decide { session, runs } => {
                let decision = if runs {
                    SessionDecision::Confirmed
                } else {
                    SessionDecision::Cancelled
                };
                let id = self.session(session);
                let decided =
                    api::domain::bookings::decisions::decide_early(&self.db, gw, id, decision, now)
                        .await;
                answer(decided)
            }
            Step::Subscribe { user, yearly } => match self.present(user) {
                Some(_) => self.subscribe_twice(user, yearly, now).await,
                None => skip(),
            },
            Step::PaySubscription { pick } => match choose(&gw.open_subscription_pages(), pick) {
                Some(page) if gw.pay_subscription_page(page) => Ok("subscription paid".into()),
                Some(_) => Ok("its customer was deleted".into()),
                None => skip(),
            },
            Step::SubscribeElsewhere { pick } => {
                match choose(&gw.paid_subscription_pages(), pick) {
                    Some(page) if gw.subscribe_elsewhere(page) => {
                        Ok("a second subscription billed".into())
                    }
                    Some(_) => Ok("its customer was deleted".into()),
                    None => skip(),
                }
            }
            Step::Erase { user } => self.erase(user, now).await,
            Step::Outage { calls } => {
                gw.fail_next(u32::from(calls));
                Ok(format!("the provider stops answering for {calls} calls"))
            }
            Step::Reconcile => self.reconcile().await,
            Step::Wait { minutes } => self.wait(Duration::minutes(i64::from(minutes))).await,
        }
    }

    /// Erases person `user` (again, when erased already: nothing more
    /// happens); afterwards they hold no seat still to come and wait in no
    /// line.
    async fn erase(&mut self, user: u8, now: DateTime<Utc>) -> Outcome {
        use api::domain::privacy::erasure;
        let id = self.user(user).id;
        let erased = erasure::erase(&self.desk(), &self.gateway, id, now).await;
        if let Err(e) = erased {
            return answer::<()>(Err(e));
        }
        self.erased.entry(id).or_insert(now);
        let today = today_at_venue(now);
        for b in self
            .bookings(&[BookingStatus::Held, BookingStatus::Confirmed])
            .await
        {
            let s = sessions::get_any(&self.db, b.session_id, today)
                .await
                .unwrap();
            let to_come = b.status == BookingStatus::Held || s.starts_on > today;
            if b.user_id == id && to_come {
                return Err(format!(
                    "booking {} still {} after its holder was erased",
                    b.id,
                    b.status.as_str()
                ));
            }
        }
        let waiting = entries::Entity::find().all(&self.db).await.unwrap();
        if waiting.iter().any(|e| {
            e.user_id == id && matches!(e.status, WaitlistStatus::Waiting | WaitlistStatus::Offered)
        }) {
            return Err("an erased person still waits in a line".into());
        }
        Ok("erased".into())
    }

    async fn edit(&self, id: Uuid, patch: SessionPatch, now: DateTime<Utc>) -> Outcome {
        let offers = &self.policy.offers;
        answer(sessions::update(&self.db, id, patch, now, DECISION_DAYS, offers).await)
    }

    /// Delivers event `i` as the webhook does: applied once, then what it
    /// owes is called for.
    async fn deliver(&self, i: usize, now: DateTime<Utc>) -> Outcome {
        use api::domain::payment_events::{Delivery, apply_and_settle};
        let sent = self.gateway.sent(i);
        let delivered = apply_and_settle(&self.db, &self.gateway, &self.policy, &sent.event, now);
        match delivered.await {
            Ok(Delivery::Applied { outcome, .. }) => {
                Ok(format!("{}: {outcome}", sent.event.event_type))
            }
            Ok(Delivery::Duplicate) => Ok(format!("{}: duplicate", sent.event.event_type)),
            Err(e) => unexpected(e),
        }
    }

    /// Applies event `i` in a transaction that is dropped before its
    /// commit (the process died): nothing of it may remain.
    async fn crash_applying(&self, i: usize, now: DateTime<Utc>) -> Outcome {
        use api::domain::bookings::seat_payments;
        let sent = self.gateway.sent(i);
        let offers = &self.policy.offers;
        let txn = self.db.begin().await.unwrap();
        let applied = match &sent.event.payment {
            Payment::SeatPaid(seat) => {
                seat_payments::apply_payment(&txn, &sent.event.id, seat, offers, now).await
            }
            Payment::SeatCheckoutClosed(seat) => {
                seat_payments::apply_checkout_closed(&txn, seat, offers, now).await
            }
            Payment::ChargeRefunded(c) => {
                seat_payments::apply_charge_refunded(&txn, c, offers, now).await
            }
            _ => return skip(),
        };
        // A dead process's transaction is rolled back by the database
        // before any other writer goes on; a transaction merely dropped
        // here would be rolled back later, by a task, and the next step's
        // write could wait out SQLite's busy timeout behind it (seed 5119
        // once, on a loaded machine, then clean on replay).
        txn.rollback().await.unwrap();
        match applied {
            Ok(_) => Ok(format!("{}: crashed before commit", sent.event.event_type)),
            Err(e) => unexpected(e),
        }
    }

    /// Two subscription checkouts one after the other get one page.
    async fn subscribe_twice(&self, user: u8, yearly: bool, now: DateTime<Utc>) -> Outcome {
        use common::subscriptions::Plan;
        let plan = if yearly { Plan::Yearly } else { Plan::Monthly };
        let u = self.user(user);
        let subscribe = || {
            api::domain::subscriptions::subscribe(
                &self.db,
                &self.gateway,
                &self.policy,
                u,
                plan,
                now,
            )
        };
        let first = match subscribe().await {
            Ok(page) => page,
            other => return answer(other),
        };
        match subscribe().await {
            Ok(second) if second.url == first.url => Ok("one subscription page".into()),
            Ok(second) => Err(format!(
                "two subscription pages for one customer: {} and {} (invariant 16)",
                first.url, second.url
            )),
            other => answer(other),
        }
    }

    /// Time passes in steps of at most fifteen minutes; at each, the provider
    /// expires its pages and the jobs run, as they would.
    async fn wait(&self, by: Duration) -> Outcome {
        let mut left = by;
        while left > Duration::zero() {
            let step = left.min(Duration::minutes(15));
            let hour = self.clock.now().timestamp() / 3600;
            self.clock.advance(step);
            left -= step;
            self.gateway.tick();
            self.run_jobs().await?;
            // The hourly job.
            if self.clock.now().timestamp() / 3600 != hour {
                self.reconcile().await?;
            }
        }
        Ok(format!("now {}", self.clock.now().format("%d %H:%M")))
    }

    async fn run_jobs(&self) -> Result<(), String> {
        let now = self.clock.now();
        let gw = &self.gateway;
        let swept = api::jobs::sweeper::sweep_once(&self.db, gw, &self.policy.offers, now).await;
        swept.map_err(|e| format!("sweeper: {e}"))?;
        let decided = api::domain::bookings::decisions::decide_due(&self.db, gw, now).await;
        decided.map_err(|e| format!("decisions: {e}"))?;
        let settled = api::domain::billing::owed::settle_due(&self.db, gw, now).await;
        settled.map_err(|e| format!("owed calls: {e}"))?;
        Ok(())
    }

    /// The audit's findings, at the simulation's time.
    async fn findings(&self) -> Result<api::domain::reports::audit::Findings, String> {
        api::domain::reports::audit::findings(&self.db, &self.policy, self.clock.now())
            .await
            .map_err(|e| format!("audit: {e}"))
    }

    /// The reconcile job, as it runs every hour.
    async fn reconcile(&self) -> Outcome {
        let now = self.clock.now();
        let gw = &self.gateway;
        answer(api::domain::payment_events::reconcile::run(&self.db, gw, &self.policy, now).await)
    }

    /// The audit's own rules, at the simulation's time.
    pub async fn check(&self) -> Result<(), String> {
        let found = self.findings().await?;
        match found.broken.first() {
            Some(line) => Err(line.clone()),
            None => Ok(()),
        }
    }

    /// Everything delayed happens: the provider answers again, the bank
    /// answers every debit, every event is delivered, reconcile runs, and
    /// time passes for the owed calls' retries.
    pub async fn settle_all(&mut self) -> Result<(), String> {
        self.gateway.fail_next(0);
        let charges = self.gateway.charges();
        for i in 0..charges.len() {
            self.gateway.settle_debit(i, true);
        }
        for _ in 0..4 {
            for i in self.gateway.pending() {
                let now = self.clock.now();
                self.deliver(i, now).await?;
                self.gateway.mark_delivered(i);
            }
            self.reconcile().await?;
            self.wait(Duration::hours(2)).await?;
        }
        let found = self.findings().await?;
        if let Some(line) = found.broken.first().or(found.owed.first()) {
            return Err(line.clone());
        }
        Ok(())
    }

    /// Once everything has happened, our books and the provider's agree:
    /// money kept only for a confirmed seat (or one cancelled after the
    /// cutoff), at its price, once; what went back recorded as the
    /// provider says.
    pub async fn check_money(&self) -> Result<(), String> {
        let all = self
            .bookings(&[
                BookingStatus::Held,
                BookingStatus::Confirmed,
                BookingStatus::Cancelled,
                BookingStatus::Expired,
                BookingStatus::Refunded,
            ])
            .await;
        let by_id: HashMap<Uuid, &bookings::Model> = all.iter().map(|b| (b.id, b)).collect();
        let pages = self.gateway.pages();
        let mut kept: HashMap<Uuid, i64> = HashMap::new();
        for c in self.gateway.charges() {
            let page = pages.iter().find(|p| p.id == c.page).unwrap();
            let b = by_id[&page.request.booking_id];
            let money = if c.failed { 0 } else { c.amount - c.refunded };
            if money > 0 {
                *kept.entry(b.id).or_default() += 1;
            }
            let ours = b.stripe_payment_intent_id.as_deref() == Some(c.id.as_str());
            if ours && b.refunded_cents.unwrap_or(0) != c.refunded {
                return Err(format!(
                    "booking {}: {} recorded as refunded, the provider says {}",
                    b.id,
                    b.refunded_cents.unwrap_or(0),
                    c.refunded
                ));
            }
            // A seat cancelled after the cutoff keeps its money; a hold
            // cancelled before it was paid keeps none.
            let may_keep = ours
                && (b.status == BookingStatus::Confirmed
                    || (b.status == BookingStatus::Cancelled && b.confirmed_at.is_some()));
            if money > 0 && !may_keep {
                return Err(format!(
                    "payment {} of {} kept for booking {} ({})",
                    c.id,
                    money,
                    b.id,
                    b.status.as_str()
                ));
            }
        }
        // Access is what Stripe says: a member while billed, else not;
        // and Stripe bills nobody twice (invariant 16).
        let billed = self.gateway.subscribers();
        for u in &self.users {
            let (access, _) = api::domain::subscriptions::access_of(
                &self.db,
                u.id,
                Role::User,
                self.policy.past_due_grace,
                self.clock.now(),
            )
            .await
            .map_err(|e| format!("access: {e}"))?;
            let bills = billed.iter().filter(|b| **b == u.id).count();
            if self.erased.contains_key(&u.id) {
                if bills > 0 {
                    return Err(format!("erased user {}: Stripe still bills them", u.email));
                }
                let mut customers: Vec<String> = entity::stripe_subscriptions::Entity::find()
                    .all(&self.db)
                    .await
                    .map_err(|e| format!("subscriptions: {e}"))?
                    .into_iter()
                    .filter(|s| s.user_id == u.id)
                    .filter_map(|s| s.customer_id)
                    .collect();
                customers.extend(
                    entity::subscription_status::Entity::find_by_id(u.id)
                        .one(&self.db)
                        .await
                        .map_err(|e| format!("status: {e}"))?
                        .and_then(|s| s.stripe_customer_id),
                );
                if let Some(c) = customers.iter().find(|c| !self.gateway.customer_deleted(c)) {
                    return Err(format!(
                        "erased user {}: customer {c} kept at Stripe",
                        u.email
                    ));
                }
            }
            if bills > 1 {
                return Err(format!(
                    "user {}: Stripe bills {bills} subscriptions",
                    u.email
                ));
            }
            if access.active != billed.contains(&u.id) {
                return Err(format!(
                    "user {}: access {} while Stripe bills {} subscriptions",
                    u.email,
                    access.active,
                    billed.iter().filter(|b| **b == u.id).count()
                ));
            }
        }
        // Nobody erased keeps a seat they could not have kept by asking:
        // one of a session that had not begun when they were erased.
        for b in all.iter().filter(|b| b.status == BookingStatus::Confirmed) {
            let Some(at) = self.erased.get(&b.user_id) else {
                continue;
            };
            let today = today_at_venue(self.clock.now());
            let s = sessions::get_any(&self.db, b.session_id, today)
                .await
                .map_err(|e| format!("session: {e}"))?;
            if s.starts_on > today_at_venue(*at) {
                return Err(format!(
                    "booking {}: confirmed for a person erased before its session",
                    b.id
                ));
            }
        }
        for b in &all {
            let n = kept.get(&b.id).copied().unwrap_or(0);
            if n > 1 {
                return Err(format!("booking {}: {n} payments kept", b.id));
            }
            if b.status == BookingStatus::Confirmed && n == 0 {
                return Err(format!("booking {}: confirmed with no money kept", b.id));
            }
        }
        Ok(())
    }
}

fn choose<T>(items: &[T], pick: u16) -> Option<&T> {
    (!items.is_empty()).then(|| &items[usize::from(pick) % items.len()])
}

fn skip() -> Outcome {
    Ok("nothing to do".into())
}

/// A refusal the product gives its users is an outcome; a database error
/// or an internal one is a broken run.
fn answer<T>(result: Result<T, ApiError>) -> Outcome {
    match result {
        Ok(_) => Ok("ok".into()),
        // The provider refusing a call is a broken rule of ours (a key
        // sent again with other parameters, an expiry outside Stripe's
        // window); its not answering is the simulated outage.
        Err(ApiError::Client {
            code: ErrorCode::PaymentGatewayError,
            detail,
        }) if detail.as_deref().is_some_and(|d| d.contains("refused")) => {
            Err(format!("the provider refused a call: {detail:?}"))
        }
        Err(ApiError::Client { code, .. })
            if code.status() < 500 || code == ErrorCode::PaymentGatewayError =>
        {
            Ok(format!("refused: {code}"))
        }
        Err(ApiError::Validation(fields)) => Ok(format!("invalid: {fields:?}")),
        Err(ApiError::RateLimited { .. }) => Ok("refused: rate limited".into()),
        Err(e) => unexpected(e),
    }
}

fn unexpected(e: ApiError) -> Outcome {
    Err(format!("unexpected error: {e}"))
}

async fn person(db: &DatabaseConnection, email: &str, role: Role) -> Actor {
    let user = crate::support::account(db, email, role).await;
    crate::support::give_names(db, user.id).await;
    Actor {
        id: user.id,
        email: user.email,
        role,
    }
}

/// Every table emptied but the migrations' own, so each seed starts from
/// the same place without building a database each time.
async fn empty(db: &DatabaseConnection) {
    let backend = db.get_database_backend();
    let list = match backend {
        DbBackend::Postgres => {
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    };
    let rows = db
        .query_all_raw(Statement::from_string(backend, list))
        .await
        .unwrap();
    let tables: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "name").unwrap())
        .filter(|t| t != "seaql_migrations")
        .collect();
    let txn = db.begin().await.unwrap();
    if backend == DbBackend::Postgres {
        let quoted: Vec<String> = tables.iter().map(|t| format!("\"{t}\"")).collect();
        txn.execute_unprepared(&format!("TRUNCATE {} CASCADE", quoted.join(", ")))
            .await
            .unwrap();
    } else {
        txn.execute_unprepared("PRAGMA defer_foreign_keys = ON")
            .await
            .unwrap();
        for t in &tables {
            txn.execute_unprepared(&format!("DELETE FROM \"{t}\""))
                .await
                .unwrap();
        }
    }
    // The counters' rows (invoices, credit notes) are part of the schema.
    txn.execute_unprepared(
        "INSERT INTO invoice_numbers (name, last) VALUES ('invoices', 0), ('credit_notes', 0)",
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
}
