//! The parts of Stripe events we read. Parsed leniently: unknown fields
//! are ignored and objects may be ids or expanded, so both old and new API
//! shapes are accepted.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created: i64,
    pub data: EventData,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventData {
    pub object: Value,
}

/// An id field that may also come expanded into an object.
fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

fn deserialize_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(id_of))
}

fn deserialize_metadata<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<HashMap<String, String>, D::Error> {
    let v = Option::<HashMap<String, Value>>::deserialize(d)?;
    Ok(v.unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k, s)),
            _ => None,
        })
        .collect())
}

/// `checkout.session`.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckoutSessionObject {
    pub id: String,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub payment_status: Option<String>,
    #[serde(default, deserialize_with = "deserialize_metadata")]
    pub metadata: HashMap<String, String>,
    #[serde(default)]
    pub client_reference_id: Option<String>,
    #[serde(default, deserialize_with = "deserialize_id")]
    pub payment_intent: Option<String>,
    #[serde(default)]
    pub amount_total: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "deserialize_id")]
    pub customer: Option<String>,
    #[serde(default, deserialize_with = "deserialize_id")]
    pub subscription: Option<String>,
}

impl CheckoutSessionObject {
    pub fn is_paid(&self) -> bool {
        matches!(
            self.payment_status.as_deref(),
            Some("paid" | "no_payment_required")
        )
    }

    /// Our booking id: `metadata.booking_id`, else `client_reference_id`.
    pub fn booking_id(&self) -> Option<uuid::Uuid> {
        self.metadata
            .get("booking_id")
            .or(self.client_reference_id.as_ref())
            .and_then(|s| s.parse().ok())
    }

    pub fn is_seat(&self) -> bool {
        self.metadata.get("type").map(String::as_str) == Some("immersion")
            || (self.mode.as_deref() == Some("payment") && self.booking_id().is_some())
    }
}

/// `charge` (for `charge.refunded`).
#[derive(Debug, Clone, Deserialize)]
pub struct ChargeObject {
    pub id: String,
    #[serde(default, deserialize_with = "deserialize_id")]
    pub payment_intent: Option<String>,
    #[serde(default)]
    pub refunded: bool,
    #[serde(default)]
    pub amount_refunded: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_may_be_expanded_objects_and_metadata_may_be_null() {
        let o: CheckoutSessionObject = serde_json::from_value(json!({
            "id": "cs_1",
            "payment_intent": {"id": "pi_1", "object": "payment_intent"},
            "metadata": null,
            "client_reference_id": "6f1c0a5e-4a44-4c53-9a4f-6d1f3b0e9c11",
            "mode": "payment",
            "payment_status": "paid",
        }))
        .unwrap();
        assert_eq!(o.payment_intent.as_deref(), Some("pi_1"));
        assert!(o.is_paid());
        assert!(o.is_seat());
        assert_eq!(
            o.booking_id().unwrap().to_string(),
            "6f1c0a5e-4a44-4c53-9a4f-6d1f3b0e9c11"
        );
    }
}
