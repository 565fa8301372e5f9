//! Stripe-shaped events, built on Stripe's own example objects (copied
//! unchanged into `shapes/`) with the fields a real delivery would carry.

use crate::payments::events::EventType;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

const CHECKOUT_SESSION: &str = include_str!("shapes/checkout.session.json");
const EVENT: &str = include_str!("shapes/event.json");

/// The API version our local events claim to come from.
pub const API_VERSION: &str = "2025-08-27.basil";

/// What a seat's Checkout Session carries.
#[derive(Debug, Clone)]
pub struct SeatCheckout {
    pub checkout_session_id: String,
    pub booking_id: Uuid,
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub customer_email: String,
    pub amount_cents: i64,
    pub currency: String,
    pub expires_at: DateTime<Utc>,
}

pub(crate) fn template(text: &str) -> Value {
    // The shapes are compiled in and checked by a test; an unreadable one
    // would be a build defect, so an empty object is a safe fallback.
    serde_json::from_str(text).unwrap_or_else(|_| json!({}))
}

/// A `checkout.session` object in payment mode, `paid` or not.
pub fn checkout_session(c: &SeatCheckout, paid: bool, now: DateTime<Utc>) -> Value {
    let mut o = template(CHECKOUT_SESSION);
    let set = |o: &mut Value, k: &str, v: Value| {
        if let Some(map) = o.as_object_mut() {
            map.insert(k.to_owned(), v);
        }
    };
    set(&mut o, "id", json!(c.checkout_session_id));
    set(&mut o, "mode", json!("payment"));
    set(
        &mut o,
        "client_reference_id",
        json!(c.booking_id.to_string()),
    );
    set(
        &mut o,
        "metadata",
        json!({
            "type": "immersion",
            "booking_id": c.booking_id.to_string(),
            "session_id": c.session_id.to_string(),
            "user_id": c.user_id.to_string(),
        }),
    );
    set(&mut o, "amount_subtotal", json!(c.amount_cents));
    set(&mut o, "amount_total", json!(c.amount_cents));
    set(&mut o, "currency", json!(c.currency.to_lowercase()));
    set(&mut o, "customer_email", json!(c.customer_email));
    set(&mut o, "created", json!(now.timestamp()));
    set(&mut o, "expires_at", json!(c.expires_at.timestamp()));
    set(&mut o, "url", Value::Null);
    if paid {
        set(&mut o, "status", json!("complete"));
        set(&mut o, "payment_status", json!("paid"));
        set(
            &mut o,
            "payment_intent",
            json!(format!("pi_local_{}", Uuid::new_v4().simple())),
        );
    } else {
        set(&mut o, "status", json!("expired"));
        set(&mut o, "payment_status", json!("unpaid"));
        set(&mut o, "payment_intent", Value::Null);
    }
    o
}

/// An event envelope around `object`.
pub fn event(event_type: &EventType, object: Value, now: DateTime<Utc>) -> Value {
    let mut e = template(EVENT);
    if let Some(map) = e.as_object_mut() {
        map.insert(
            "id".into(),
            json!(format!("evt_local_{}", Uuid::new_v4().simple())),
        );
        map.insert("type".into(), json!(event_type.as_str()));
        map.insert("created".into(), json!(now.timestamp()));
        map.insert("api_version".into(), json!(API_VERSION));
        map.insert("data".into(), json!({ "object": object }));
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_parse_and_events_carry_what_the_pipeline_reads() {
        assert!(serde_json::from_str::<Value>(CHECKOUT_SESSION).is_ok());
        assert!(serde_json::from_str::<Value>(EVENT).is_ok());
        let c = SeatCheckout {
            checkout_session_id: "cs_local_1".into(),
            booking_id: Uuid::new_v4(),
            session_id: Uuid::new_v4(),
            user_id: Uuid::new_v4(),
            customer_email: "a@example.com".into(),
            amount_cents: 199_700,
            currency: "EUR".into(),
            expires_at: Utc::now(),
        };
        let e = event(
            &EventType::CheckoutCompleted,
            checkout_session(&c, true, Utc::now()),
            Utc::now(),
        );
        let o = &e["data"]["object"];
        assert_eq!(e["type"], "checkout.session.completed");
        assert!(e["id"].as_str().unwrap().starts_with("evt_"));
        assert_eq!(o["object"], "checkout.session");
        assert_eq!(o["payment_status"], "paid");
        assert_eq!(o["metadata"]["booking_id"], c.booking_id.to_string());
        assert_eq!(o["client_reference_id"], c.booking_id.to_string());
        assert_eq!(o["currency"], "eur");
        assert!(o["payment_intent"].as_str().unwrap().starts_with("pi_"));
        let expired = checkout_session(&c, false, Utc::now());
        assert_eq!(expired["status"], "expired");
        assert_eq!(expired["payment_status"], "unpaid");
    }
}
