//! Convergence: whatever the delivery order, and with duplicates, a
//! subscription history folds to the state in-order delivery gives.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use common::subscriptions::{StripeStatus, SubscriptionType};
use proptest::prelude::*;

use super::sync::{EventKey, SubEvent, SubRecord, apply, current};

/// One delivery: which subscription, and what it says.
type Delivery = (String, SubEvent);

fn at(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

/// Folds deliveries into per-subscription records, as the webhook does.
fn fold(deliveries: &[Delivery]) -> (BTreeMap<String, SubRecord>, Option<SubRecord>) {
    let mut records: BTreeMap<String, SubRecord> = BTreeMap::new();
    for (sub, event) in deliveries {
        let r = records.remove(sub).unwrap_or_else(|| SubRecord::new(sub));
        records.insert(sub.clone(), apply(r, event));
    }
    let all: Vec<SubRecord> = records.values().cloned().collect();
    let cur = current(&all).cloned();
    (records, cur)
}

/// The lifecycle of one subscription: created → paid → updated → payment
/// failed → updated (past due) → deleted; `len` keeps a prefix of it.
fn lifecycle(sub: &str, start: i64, gaps: &[i64], len: usize, ids: u64) -> Vec<Delivery> {
    let mut t = start;
    let mut out = Vec::new();
    let period = |t: i64| at(t + 30 * 86_400);
    type Step<'a> = (&'a str, &'a dyn Fn(EventKey, i64) -> SubEvent);
    let steps: [Step; 6] = [
        ("customer.subscription.created", &|key, t| {
            SubEvent::Subscription {
                key,
                customer_id: Some("cus_1".into()),
                status: StripeStatus::Active,
                plan: Some(SubscriptionType::PremiumMonthly),
                current_period_end: period(t),
                cancel_at_period_end: false,
            }
        }),
        ("invoice.payment_succeeded", &|key, t| SubEvent::Invoice {
            key,
            customer_id: Some("cus_1".into()),
            paid: true,
            period_end: period(t + 30 * 86_400),
        }),
        ("customer.subscription.updated", &|key, t| {
            SubEvent::Subscription {
                key,
                customer_id: Some("cus_1".into()),
                status: StripeStatus::Active,
                plan: Some(SubscriptionType::PremiumYearly),
                current_period_end: period(t + 30 * 86_400),
                cancel_at_period_end: true,
            }
        }),
        ("invoice.payment_failed", &|key, _| SubEvent::Invoice {
            key,
            customer_id: Some("cus_1".into()),
            paid: false,
            period_end: None,
        }),
        ("customer.subscription.updated", &|key, t| {
            SubEvent::Subscription {
                key,
                customer_id: Some("cus_1".into()),
                status: StripeStatus::PastDue,
                plan: Some(SubscriptionType::PremiumYearly),
                current_period_end: period(t),
                cancel_at_period_end: true,
            }
        }),
        ("customer.subscription.deleted", &|key, t| {
            SubEvent::Subscription {
                key,
                customer_id: Some("cus_1".into()),
                status: StripeStatus::Canceled,
                plan: Some(SubscriptionType::PremiumYearly),
                current_period_end: period(t),
                cancel_at_period_end: false,
            }
        }),
    ];
    for (i, (kind, make)) in steps.iter().take(len).enumerate() {
        t += gaps.get(i).copied().unwrap_or(1);
        let key = EventKey::new(t, rank(kind), &format!("evt_{sub}_{i}_{ids}"));
        out.push((sub.to_owned(), make(key, t)));
    }
    out
}

/// A history: one subscription, or one and then a resubscription.
fn history() -> impl Strategy<Value = Vec<Delivery>> {
    (
        1usize..=6,
        0usize..=6,
        proptest::collection::vec(0i64..=2, 12),
        any::<u64>(),
    )
        .prop_map(|(first, second, gaps, ids)| {
            let mut events = lifecycle("sub_1", 1_900_000_000, &gaps[..6], first, ids);
            if second > 0 {
                let last = 1_900_000_000 + gaps[..first].iter().sum::<i64>() + 5;
                events.extend(lifecycle("sub_2", last, &gaps[6..], second, ids));
            }
            events
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_delivery_order_converges(
        (events, shuffled) in history().prop_flat_map(|e| (Just(e.clone()), Just(e).prop_shuffle()))
    ) {
        prop_assert_eq!(fold(&shuffled), fold(&events));
    }

    #[test]
    fn duplicates_change_nothing(
        (events, doubled) in history().prop_flat_map(|e| {
            let n = e.len();
            (Just(e.clone()), proptest::collection::vec(0..n, 0..=n * 2)
                .prop_map(move |extra| {
                    let mut all = e.clone();
                    all.extend(extra.into_iter().map(|i| e[i].clone()));
                    all
                })
                .prop_shuffle())
        })
    ) {
        prop_assert_eq!(fold(&doubled), fold(&events));
    }
}

fn permutations(items: &[Delivery]) -> Vec<Vec<Delivery>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let head = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, head.clone());
            out.push(p);
        }
    }
    out
}

#[test]
fn every_permutation_of_the_full_lifecycle_ends_deleted() {
    // Same-second ties included: gaps of 0.
    let events = lifecycle("sub_1", 1_900_000_000, &[1, 0, 1, 0, 0, 1], 6, 7);
    let expected = fold(&events);
    let record = &expected.0["sub_1"];
    assert_eq!(record.status, Some(StripeStatus::Canceled));
    assert_eq!(record.subscription_type(), SubscriptionType::Free);
    for p in permutations(&events) {
        assert_eq!(fold(&p), expected);
    }
}

#[test]
fn a_late_update_never_revives_a_deleted_subscription() {
    let events = lifecycle("sub_1", 1_900_000_000, &[1, 1, 1, 1, 1, 1], 6, 1);
    let deleted = events[5].clone();
    // An update stamped after the deletion (clock skew): still deleted.
    let late = (
        "sub_1".to_owned(),
        SubEvent::Subscription {
            key: EventKey::new(
                1_900_000_100,
                rank("customer.subscription.updated"),
                "evt_late",
            ),
            customer_id: None,
            status: StripeStatus::Active,
            plan: None,
            current_period_end: at(1_990_000_000),
            cancel_at_period_end: false,
        },
    );
    for order in [vec![deleted.clone(), late.clone()], vec![late, deleted]] {
        let (records, _) = fold(&order);
        assert_eq!(records["sub_1"].status, Some(StripeStatus::Canceled));
    }
}

#[test]
fn a_resubscription_wins_over_an_older_ended_or_past_due_one() {
    let mut events = lifecycle("sub_1", 1_900_000_000, &[1; 6], 5, 1); // ends past due
    events.extend(lifecycle("sub_2", 1_900_000_100, &[1; 6], 2, 1)); // new, paid
    for p in [events.clone(), events.iter().rev().cloned().collect()] {
        let (_, cur) = fold(&p);
        let cur = cur.unwrap();
        assert_eq!(cur.subscription_id, "sub_2");
        assert_eq!(cur.effective_status(), Some(StripeStatus::Active));
    }
}

#[test]
fn a_failed_payment_newer_than_the_subscription_news_means_past_due() {
    let events = lifecycle("sub_1", 1_900_000_000, &[1; 6], 4, 1);
    let (records, _) = fold(&events);
    assert_eq!(records["sub_1"].status, Some(StripeStatus::Active));
    assert_eq!(
        records["sub_1"].effective_status(),
        Some(StripeStatus::PastDue)
    );
}

/// The rank `PaymentEvent::rank` gives each event type.
fn rank(kind: &str) -> u8 {
    match kind {
        "customer.subscription.created" => 1,
        "invoice.payment_succeeded" | "invoice.payment_failed" => 2,
        "customer.subscription.updated" => 3,
        "customer.subscription.deleted" => 4,
        _ => 0,
    }
}
