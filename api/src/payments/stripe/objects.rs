//! The parts of Stripe objects we read (`parse` turns them into payment
//! events). Parsed leniently: unknown fields
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
    /// `open`, `complete` or `expired`.
    #[serde(default)]
    pub status: Option<String>,
    /// The payment page, while the session is open.
    #[serde(default)]
    pub url: Option<String>,
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

/// `charge` (for `charge.refunded`).
#[derive(Debug, Clone, Deserialize)]
pub struct ChargeObject {
    pub id: String,
    #[serde(default)]
    pub amount: i64,
    #[serde(default, deserialize_with = "deserialize_id")]
    pub payment_intent: Option<String>,
    #[serde(default)]
    pub refunded: bool,
    #[serde(default)]
    pub amount_refunded: i64,
}

/// `invoice_payment` (`GET /v1/invoice_payments?invoice=…`): what paid
/// an invoice, in current API versions.
#[derive(Debug, Clone, Deserialize)]
pub struct InvoicePaymentObject {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub payment: Option<InvoicePaymentRef>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct InvoicePaymentRef {
    #[serde(default, deserialize_with = "deserialize_id")]
    pub payment_intent: Option<String>,
}

/// A credit note (`POST /v1/credit_notes`): what the app keeps of it.
#[derive(Debug, Clone, Deserialize)]
pub struct CreditNoteObject {
    pub id: String,
    pub number: String,
    /// Its total, in the smallest unit.
    pub amount: i64,
    #[serde(default)]
    pub pdf: Option<String>,
    pub created: i64,
}

/// An invoice as older API versions give it: its payment on itself.
#[derive(Debug, Clone, Deserialize)]
pub struct InvoicePaidBy {
    #[serde(default, deserialize_with = "deserialize_id")]
    pub payment_intent: Option<String>,
}

/// `payment_intent`, with its `latest_charge` expanded.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentIntentObject {
    #[serde(default)]
    pub latest_charge: Option<ChargeObject>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Recurring {
    #[serde(default)]
    pub interval: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PriceObject {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub recurring: Option<Recurring>,
    /// Plans (older shape) carry the interval directly.
    #[serde(default)]
    pub interval: Option<String>,
}

impl PriceObject {
    pub fn interval(&self) -> Option<&str> {
        self.recurring
            .as_ref()
            .and_then(|r| r.interval.as_deref())
            .or(self.interval.as_deref())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SubscriptionItem {
    /// Current API versions: the period is on each item.
    #[serde(default)]
    pub current_period_end: Option<i64>,
    #[serde(default)]
    pub price: Option<PriceObject>,
    #[serde(default)]
    pub plan: Option<PriceObject>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct List<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
}

/// `price` (`GET /v1/prices/{id}`): what a plan costs.
#[derive(Debug, Clone, Deserialize)]
pub struct PriceResource {
    pub id: String,
    /// Null for a tiered or customer-chosen price.
    pub unit_amount: Option<i64>,
    pub currency: String,
    /// Null for a one-time price.
    pub recurring: Option<PriceRecurring>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PriceRecurring {
    pub interval: String,
    #[serde(default)]
    pub interval_count: Option<i64>,
}

/// `subscription` (for `customer.subscription.*`).
#[derive(Debug, Clone, Deserialize)]
pub struct SubscriptionObject {
    pub id: String,
    #[serde(default, deserialize_with = "deserialize_id")]
    pub customer: Option<String>,
    pub status: String,
    #[serde(default)]
    pub cancel_at_period_end: bool,
    /// Older API versions: the period is on the subscription.
    #[serde(default)]
    pub current_period_end: Option<i64>,
    #[serde(default)]
    pub items: Option<List<SubscriptionItem>>,
    #[serde(default, deserialize_with = "deserialize_metadata")]
    pub metadata: HashMap<String, String>,
}

impl SubscriptionObject {
    fn items(&self) -> &[SubscriptionItem] {
        self.items.as_ref().map_or(&[], |l| l.data.as_slice())
    }

    /// The end of the paid period, from the items (current shape) or the
    /// subscription (older shape).
    pub fn period_end(&self) -> Option<i64> {
        self.items()
            .iter()
            .filter_map(|i| i.current_period_end)
            .max()
            .or(self.current_period_end)
    }

    /// The billing interval of the first priced item (`month`, `year`).
    pub fn interval(&self) -> Option<&str> {
        self.items().iter().find_map(|i| {
            i.price
                .as_ref()
                .and_then(PriceObject::interval)
                .or_else(|| i.plan.as_ref().and_then(PriceObject::interval))
        })
    }

    /// The price of the first priced item; older API versions name it
    /// on the item's plan.
    pub fn price_id(&self) -> Option<&str> {
        self.items().iter().find_map(|i| {
            i.price
                .as_ref()
                .and_then(|p| p.id.as_deref())
                .or_else(|| i.plan.as_ref().and_then(|p| p.id.as_deref()))
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SubscriptionDetails {
    #[serde(default, deserialize_with = "deserialize_id")]
    pub subscription: Option<String>,
    #[serde(default, deserialize_with = "deserialize_metadata")]
    pub metadata: HashMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct InvoiceParent {
    #[serde(default)]
    pub subscription_details: Option<SubscriptionDetails>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Period {
    #[serde(default)]
    pub start: Option<i64>,
    #[serde(default)]
    pub end: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct InvoiceLine {
    #[serde(default)]
    pub period: Option<Period>,
    #[serde(default)]
    pub description: Option<String>,
}

/// `invoice` (for `invoice.payment_succeeded|failed`).
#[derive(Debug, Clone, Deserialize)]
pub struct InvoiceObject {
    pub id: String,
    #[serde(default, deserialize_with = "deserialize_id")]
    pub customer: Option<String>,
    #[serde(default)]
    pub customer_email: Option<String>,
    /// Older API versions name the subscription here.
    #[serde(default, deserialize_with = "deserialize_id")]
    pub subscription: Option<String>,
    /// Current API versions name it under `parent.subscription_details`.
    #[serde(default)]
    pub parent: Option<InvoiceParent>,
    /// Older API versions: `subscription_details.metadata` at the top.
    #[serde(default)]
    pub subscription_details: Option<SubscriptionDetails>,
    #[serde(default)]
    pub lines: Option<List<InvoiceLine>>,
    /// The invoice's own metadata: a seat's invoice carries ours (set
    /// through the Checkout Session's `invoice_creation`).
    #[serde(
        rename = "metadata",
        default,
        deserialize_with = "deserialize_metadata"
    )]
    pub own_metadata: HashMap<String, String>,
    /// Given when the invoice is finalized.
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub hosted_invoice_url: Option<String>,
    #[serde(default)]
    pub invoice_pdf: Option<String>,
    #[serde(default)]
    pub amount_paid: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub created: Option<i64>,
}

impl InvoiceObject {
    fn details(&self) -> Option<&SubscriptionDetails> {
        self.parent
            .as_ref()
            .and_then(|p| p.subscription_details.as_ref())
            .or(self.subscription_details.as_ref())
    }

    pub fn subscription_id(&self) -> Option<&str> {
        self.details()
            .and_then(|d| d.subscription.as_deref())
            .or(self.subscription.as_deref())
    }

    /// The subscription's metadata, as the invoice repeats it.
    pub fn metadata(&self) -> Option<&HashMap<String, String>> {
        self.details().map(|d| &d.metadata)
    }

    /// The start of the period this invoice paid for: the earliest line start.
    pub fn period_start(&self) -> Option<i64> {
        self.lines
            .as_ref()?
            .data
            .iter()
            .filter_map(|l| l.period.as_ref().and_then(|p| p.start))
            .min()
    }

    /// What its first line says it bills.
    pub fn line_description(&self) -> Option<&str> {
        self.lines.as_ref()?.data.first()?.description.as_deref()
    }

    /// The end of the period this invoice paid for: the latest line end.
    pub fn period_end(&self) -> Option<i64> {
        self.lines
            .as_ref()?
            .data
            .iter()
            .filter_map(|l| l.period.as_ref().and_then(|p| p.end))
            .max()
    }
}

#[cfg(test)]
mod shape_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subscription_period_and_interval_in_both_shapes() {
        let current: SubscriptionObject = serde_json::from_value(json!({
            "id": "sub_1", "status": "active", "customer": "cus_1",
            "items": {"data": [{"current_period_end": 1900000000,
                "price": {"id": "price_m", "recurring": {"interval": "month"}}}]}
        }))
        .unwrap();
        assert_eq!(current.period_end(), Some(1_900_000_000));
        assert_eq!(current.interval(), Some("month"));
        let older: SubscriptionObject = serde_json::from_value(json!({
            "id": "sub_1", "status": "active", "current_period_end": 1800000000,
            "items": {"data": [{"plan": {"id": "plan_y", "interval": "year"}}]}
        }))
        .unwrap();
        assert_eq!(older.period_end(), Some(1_800_000_000));
        assert_eq!(older.interval(), Some("year"));
    }

    #[test]
    fn invoice_subscription_in_both_shapes() {
        let current: InvoiceObject = serde_json::from_value(json!({
            "id": "in_1", "subscription": null,
            "parent": {"subscription_details": {"subscription": "sub_new", "metadata": {"user_id": "u"}}},
            "lines": {"data": [{"period": {"end": 10}}, {"period": {"end": 20}}]}
        }))
        .unwrap();
        assert_eq!(current.subscription_id(), Some("sub_new"));
        assert_eq!(current.metadata().unwrap()["user_id"], "u");
        assert_eq!(current.period_end(), Some(20));
        let older: InvoiceObject =
            serde_json::from_value(json!({"id": "in_2", "subscription": "sub_old"})).unwrap();
        assert_eq!(older.subscription_id(), Some("sub_old"));
    }
}
