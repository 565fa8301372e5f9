//! The local gateway's subscriptions: what Stripe would send when a person
//! subscribes, renews, fails a payment or cancels — Stripe's own example
//! objects (`shapes/`) with the fields a real delivery carries.

use chrono::{DateTime, Duration, Utc};
use common::subscriptions::{Plan, StripeStatus};
use serde_json::{Value, json};
use uuid::Uuid;

use super::events::{event, template};
use crate::payments::events::EventType;

const SUBSCRIPTION: &str = include_str!("shapes/subscription.json");
const INVOICE: &str = include_str!("shapes/invoice.json");
const CHECKOUT_SESSION: &str = include_str!("shapes/checkout.session.json");

/// The local price ids of the two plans.
pub fn price_id(plan: Plan) -> &'static str {
    match plan {
        Plan::Monthly => "price_local_monthly",
        Plan::Yearly => "price_local_yearly",
    }
}

pub fn interval(plan: Plan) -> &'static str {
    match plan {
        Plan::Monthly => "month",
        Plan::Yearly => "year",
    }
}

pub fn period(plan: Plan) -> Duration {
    match plan {
        Plan::Monthly => Duration::days(30),
        Plan::Yearly => Duration::days(365),
    }
}

/// What the local "Stripe" knows of a subscription when it acts on it.
#[derive(Debug, Clone)]
pub struct LocalSubscription {
    pub id: String,
    pub customer_id: String,
    pub user_id: Uuid,
    pub customer_email: String,
    pub plan: Plan,
    /// What each period costs, in euro cents.
    pub amount_cents: i64,
    pub status: StripeStatus,
    pub current_period_end: DateTime<Utc>,
    pub cancel_at_period_end: bool,
}

fn put(o: &mut Value, key: &str, v: Value) {
    if let Some(map) = o.as_object_mut() {
        map.insert(key.to_owned(), v);
    }
}

pub fn subscription_object(s: &LocalSubscription, now: DateTime<Utc>) -> Value {
    let mut o = template(SUBSCRIPTION);
    put(&mut o, "id", json!(s.id));
    put(&mut o, "customer", json!(s.customer_id));
    put(&mut o, "status", json!(s.status));
    put(
        &mut o,
        "cancel_at_period_end",
        json!(s.cancel_at_period_end),
    );
    put(
        &mut o,
        "metadata",
        json!({"type": "subscription", "user_id": s.user_id.to_string()}),
    );
    put(&mut o, "created", json!(now.timestamp()));
    let start = s.current_period_end - period(s.plan);
    let mut item = o["items"]["data"][0].clone();
    put(
        &mut item,
        "current_period_end",
        json!(s.current_period_end.timestamp()),
    );
    put(&mut item, "current_period_start", json!(start.timestamp()));
    put(&mut item, "subscription", json!(s.id));
    let mut price = item["price"].clone();
    put(&mut price, "id", json!(price_id(s.plan)));
    put(&mut price, "currency", json!("eur"));
    put(
        &mut price,
        "recurring",
        json!({"interval": interval(s.plan), "interval_count": 1, "usage_type": "licensed"}),
    );
    put(&mut item, "price", price);
    put(
        &mut o,
        "items",
        json!({"object": "list", "data": [item], "has_more": false}),
    );
    o
}

pub fn invoice_object(
    s: &LocalSubscription,
    paid: bool,
    period_end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Value {
    let mut o = template(INVOICE);
    put(
        &mut o,
        "id",
        json!(format!("in_local_{}", Uuid::new_v4().simple())),
    );
    put(&mut o, "customer", json!(s.customer_id));
    put(&mut o, "customer_email", json!(s.customer_email));
    put(&mut o, "subscription", Value::Null);
    put(
        &mut o,
        "parent",
        json!({
            "type": "subscription_details",
            "quote_details": null,
            "subscription_details": {
                "subscription": s.id,
                "metadata": {"type": "subscription", "user_id": s.user_id.to_string()},
            },
        }),
    );
    put(&mut o, "status", json!(if paid { "paid" } else { "open" }));
    put(&mut o, "created", json!(now.timestamp()));
    put(&mut o, "currency", json!("eur"));
    put(&mut o, "amount_due", json!(s.amount_cents));
    put(
        &mut o,
        "amount_paid",
        json!(if paid { s.amount_cents } else { 0 }),
    );
    // The local gateway leaves the number to the app (its own sequence).
    put(&mut o, "number", Value::Null);
    put(&mut o, "hosted_invoice_url", Value::Null);
    put(&mut o, "invoice_pdf", Value::Null);
    let mut line = o["lines"]["data"][0].clone();
    put(&mut line, "amount", json!(s.amount_cents));
    put(&mut line, "currency", json!("eur"));
    put(
        &mut line,
        "description",
        json!(match s.plan {
            Plan::Monthly => "Abonnement Immersion, formule mensuelle",
            Plan::Yearly => "Abonnement Immersion, formule annuelle",
        }),
    );
    put(
        &mut line,
        "period",
        json!({"start": (period_end - period(s.plan)).timestamp(), "end": period_end.timestamp()}),
    );
    put(
        &mut o,
        "lines",
        json!({"object": "list", "data": [line], "has_more": false}),
    );
    o
}

pub fn checkout_completed_object(
    s: &LocalSubscription,
    checkout_id: &str,
    now: DateTime<Utc>,
) -> Value {
    let mut o = template(CHECKOUT_SESSION);
    put(&mut o, "id", json!(checkout_id));
    put(&mut o, "mode", json!("subscription"));
    put(&mut o, "customer", json!(s.customer_id));
    put(&mut o, "subscription", json!(s.id));
    put(&mut o, "client_reference_id", json!(s.user_id.to_string()));
    put(
        &mut o,
        "metadata",
        json!({"type": "subscription", "user_id": s.user_id.to_string()}),
    );
    put(&mut o, "status", json!("complete"));
    put(&mut o, "payment_status", json!("paid"));
    put(&mut o, "payment_intent", Value::Null);
    put(&mut o, "created", json!(now.timestamp()));
    put(&mut o, "url", Value::Null);
    o
}

/// What the person did on a local page, and the events Stripe would send.
pub enum Action {
    Subscribe { checkout_id: String },
    Renew,
    FailPayment,
    CancelAtPeriodEnd,
    CancelNow,
}

/// The events for `action` on `s` (updated in place), all created `now`.
pub fn events_for(action: &Action, s: &mut LocalSubscription, now: DateTime<Utc>) -> Vec<Value> {
    match action {
        Action::Subscribe { checkout_id } => vec![
            event(
                &EventType::CheckoutCompleted,
                checkout_completed_object(s, checkout_id, now),
                now,
            ),
            event(
                &EventType::SubscriptionCreated,
                subscription_object(s, now),
                now,
            ),
            event(
                &EventType::InvoicePaymentSucceeded,
                invoice_object(s, true, s.current_period_end, now),
                now,
            ),
        ],
        Action::Renew => {
            s.current_period_end = s.current_period_end.max(now) + period(s.plan);
            s.status = StripeStatus::Active;
            vec![
                event(
                    &EventType::InvoicePaymentSucceeded,
                    invoice_object(s, true, s.current_period_end, now),
                    now,
                ),
                event(
                    &EventType::SubscriptionUpdated,
                    subscription_object(s, now),
                    now,
                ),
            ]
        }
        Action::FailPayment => {
            s.status = StripeStatus::PastDue;
            let next = s.current_period_end + period(s.plan);
            vec![
                event(
                    &EventType::InvoicePaymentFailed,
                    invoice_object(s, false, next, now),
                    now,
                ),
                event(
                    &EventType::SubscriptionUpdated,
                    subscription_object(s, now),
                    now,
                ),
            ]
        }
        Action::CancelAtPeriodEnd => {
            s.cancel_at_period_end = true;
            vec![event(
                &EventType::SubscriptionUpdated,
                subscription_object(s, now),
                now,
            )]
        }
        Action::CancelNow => {
            s.status = StripeStatus::Canceled;
            vec![event(
                &EventType::SubscriptionDeleted,
                subscription_object(s, now),
                now,
            )]
        }
    }
}
