//! How Stripe's events fold into subscription state, as pure functions so
//! that order-independence can be tested on generated histories.
//!
//! Each Stripe subscription has its own record, in three parts; each part
//! remembers the key of the event that last set it:
//! - the subscription itself (status, plan, cancel flag), set by
//!   `customer.subscription.*` events;
//! - the end of the paid period, set by those and by paid invoices;
//! - the last payment's outcome, set by `invoice.payment_succeeded|failed`.
//!
//! The stale-event rule (invariant 5): an event changes a part only
//! when its key is greater than that part's. A key is (created, rank of
//! the event type within a second, event id): a total order. For the
//! subscription part, an ended subscription (`canceled`,
//! `incomplete_expired`) outranks every other state whatever its key, so a
//! late `updated` never revives a deleted subscription. Each part is thus
//! the max of a set, and the record depends on which events arrived, never
//! on their order or duplicates. A user's current subscription is chosen
//! from their records by a rule of the same kind (`current`).

use chrono::{DateTime, Utc};
use common::subscriptions::{StripeStatus, SubscriptionType};

/// The order of events: `created`; within a second, the lifecycle order of
/// types; then the event id. Stored as text that sorts the same way.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventKey(String);

impl EventKey {
    /// `rank` is the event's place in a subscription's lifecycle within one
    /// second (`PaymentEvent::rank`).
    pub fn new(created: i64, rank: u8, event_id: &str) -> Self {
        Self(format!("{:020}.{rank}.{event_id}", created.max(0)))
    }

    pub fn parse(stored: &str) -> Self {
        Self(stored.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The record of one Stripe subscription.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubRecord {
    pub subscription_id: String,
    pub customer_id: Option<String>,
    /// The subscription's own Stripe status; none until a subscription event.
    pub status: Option<StripeStatus>,
    pub plan: Option<SubscriptionType>,
    pub cancel_at_period_end: bool,
    pub subscription_key: Option<EventKey>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub period_key: Option<EventKey>,
    pub payment_failed: bool,
    pub payment_key: Option<EventKey>,
}

impl SubRecord {
    pub fn new(subscription_id: &str) -> Self {
        Self {
            subscription_id: subscription_id.to_owned(),
            ..Self::default()
        }
    }

    fn ended(&self) -> bool {
        self.status.as_ref().is_some_and(StripeStatus::is_ended)
    }

    /// The status access is decided on: a failed payment newer than the
    /// subscription's own news makes an active subscription past due, as
    /// Stripe itself does right after.
    pub fn effective_status(&self) -> Option<StripeStatus> {
        let status = self.status.as_ref()?;
        let failure_is_newer = self.payment_failed && self.payment_key > self.subscription_key;
        if failure_is_newer && status.is_live() {
            Some(StripeStatus::PastDue)
        } else {
            Some(status.clone())
        }
    }

    pub fn subscription_type(&self) -> SubscriptionType {
        if self.ended() || self.status.is_none() {
            SubscriptionType::Free
        } else {
            self.plan.unwrap_or(SubscriptionType::Free)
        }
    }
}

/// What an event says about one subscription, once read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubEvent {
    /// `customer.subscription.created|updated|deleted`.
    Subscription {
        key: EventKey,
        customer_id: Option<String>,
        status: StripeStatus,
        plan: Option<SubscriptionType>,
        current_period_end: Option<DateTime<Utc>>,
        cancel_at_period_end: bool,
    },
    /// `invoice.payment_succeeded|failed`.
    Invoice {
        key: EventKey,
        customer_id: Option<String>,
        paid: bool,
        period_end: Option<DateTime<Utc>>,
    },
}

fn newer(key: &EventKey, than: &Option<EventKey>) -> bool {
    than.as_ref().is_none_or(|t| key > t)
}

pub fn apply(mut r: SubRecord, event: &SubEvent) -> SubRecord {
    match event {
        SubEvent::Subscription {
            key,
            customer_id,
            status,
            plan,
            current_period_end,
            cancel_at_period_end,
        } => {
            // (ended, key) decides: an ended subscription stays ended.
            let incoming = (status.is_ended(), key);
            let wins = match &r.subscription_key {
                None => true,
                Some(stored) => incoming > (r.ended(), stored),
            };
            if wins {
                if customer_id.is_some() {
                    r.customer_id.clone_from(customer_id);
                }
                r.status = Some(status.clone());
                r.plan = *plan;
                r.cancel_at_period_end = *cancel_at_period_end;
                r.subscription_key = Some(key.clone());
            }
            if current_period_end.is_some() && newer(key, &r.period_key) {
                r.current_period_end = *current_period_end;
                r.period_key = Some(key.clone());
            }
            r
        }
        SubEvent::Invoice {
            key,
            customer_id,
            paid,
            period_end,
        } => {
            if r.customer_id.is_none() {
                r.customer_id.clone_from(customer_id);
            }
            if newer(key, &r.payment_key) {
                r.payment_failed = !paid;
                r.payment_key = Some(key.clone());
            }
            if *paid && period_end.is_some() && newer(key, &r.period_key) {
                r.current_period_end = *period_end;
                r.period_key = Some(key.clone());
            }
            r
        }
    }
}

/// A user's current subscription among their records: one that has not
/// ended if any, the one with the latest subscription news among those.
/// A live subscription on a price we do not sell (no plan) is never it:
/// another product's subscription must not hide the one the user pays us.
pub fn current(records: &[SubRecord]) -> Option<&SubRecord> {
    records
        .iter()
        .filter(|r| r.status.is_some() && (r.plan.is_some() || r.ended()))
        .max_by(|a, b| (!a.ended(), &a.subscription_key).cmp(&(!b.ended(), &b.subscription_key)))
}
