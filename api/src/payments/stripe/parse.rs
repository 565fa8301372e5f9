//! Verified Stripe JSON → payment events. Every event type we act on is
//! named in `payment_of`, and nowhere else; what does not carry our
//! metadata is marked as not ours here, before the domain sees it.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use common::subscriptions::{PlanInterval, StripeStatus};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::objects::{
    ChargeObject, CheckoutSessionObject, Event, InvoiceObject, PriceResource, SubscriptionObject,
};
use super::signature::{self, SignatureError};
use crate::payments::RecurringPrice;
use crate::payments::events::{
    ChargeRefund, EventType, InvoiceDocument, InvoiceOutcome, Payment, PaymentEvent, PaymentStatus,
    SeatCheckout, SeatInvoice, SubscriptionChange, SubscriptionChangeKind, SubscriptionCheckout,
};

/// Why a delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("{0}")]
    Payload(String),
}

/// Checks `Stripe-Signature` against every secret, then reads the event.
pub fn verify_and_parse(
    body: &[u8],
    signature_header: Option<&str>,
    secrets: &[&str],
    now: i64,
) -> Result<PaymentEvent, DeliveryError> {
    signature::verify(body, signature_header, secrets, now)?;
    let event: Event = serde_json::from_slice(body)
        .map_err(|e| DeliveryError::Payload(format!("not a Stripe event: {e}")))?;
    parse_event(&event).map_err(DeliveryError::Payload)
}

/// One Stripe event (from a delivery or from the Events API).
pub fn parse_event(event: &Event) -> Result<PaymentEvent, String> {
    Ok(PaymentEvent {
        id: event.id.clone(),
        event_type: EventType::parse(&event.event_type),
        created: event.created,
        payment: payment_of(event)?,
    })
}

fn object<T: DeserializeOwned>(event: &Event) -> Result<T, String> {
    serde_json::from_value(event.data.object.clone())
        .map_err(|e| format!("unexpected {} object: {e}", event.event_type))
}

fn payment_of(event: &Event) -> Result<Payment, String> {
    use EventType as T;
    use SubscriptionChangeKind as K;
    Ok(match EventType::parse(&event.event_type) {
        T::CheckoutCompleted | T::CheckoutAsyncPaymentSucceeded => {
            checkout_payment(&object(event)?, false)
        }
        T::CheckoutExpired | T::CheckoutAsyncPaymentFailed => {
            checkout_payment(&object(event)?, true)
        }
        T::ChargeRefunded => {
            let c: ChargeObject = object(event)?;
            Payment::ChargeRefunded(ChargeRefund {
                payment_intent: c.payment_intent,
                refunded: c.refunded,
                amount_refunded: c.amount_refunded,
            })
        }
        T::SubscriptionCreated => subscription_payment(&object(event)?, K::Created),
        T::SubscriptionUpdated => subscription_payment(&object(event)?, K::Updated),
        T::SubscriptionDeleted => subscription_payment(&object(event)?, K::Deleted),
        T::InvoicePaymentSucceeded | T::InvoicePaid => invoice_payment(&object(event)?, true),
        T::InvoicePaymentFailed => invoice_payment(&object(event)?, false),
        T::Other(_) => Payment::Ignored,
    })
}

/// A subscription price, when it is one we can show: a fixed amount billed
/// every single interval.
pub fn recurring_price(p: &PriceResource) -> Result<RecurringPrice, String> {
    let (Some(amount_cents), Some(recurring)) = (p.unit_amount, &p.recurring) else {
        return Err(format!("{} is not a fixed recurring price", p.id));
    };
    if recurring.interval_count.unwrap_or(1) != 1 {
        return Err(format!(
            "{} is billed every {:?} intervals",
            p.id, recurring.interval_count
        ));
    }
    let interval = PlanInterval::parse(&recurring.interval)
        .ok_or_else(|| format!("{}: unknown interval {:?}", p.id, recurring.interval))?;
    Ok(RecurringPrice {
        amount_cents,
        currency: p.currency.to_uppercase(),
        interval,
    })
}

fn uuid_in(metadata: &HashMap<String, String>, key: &str) -> Option<Uuid> {
    metadata.get(key)?.parse().ok()
}

fn ts(secs: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(secs, 0).single()
}

/// A Checkout Session: a seat only when it carries our `type` and a
/// `booking_id`; `client_reference_id` alone (a Payment Link) is not ours.
pub fn checkout_payment(cs: &CheckoutSessionObject, closed: bool) -> Payment {
    if cs.mode.as_deref() == Some("subscription") {
        if closed {
            return Payment::Ignored;
        }
        return Payment::SubscriptionCheckout(SubscriptionCheckout {
            user_id: uuid_in(&cs.metadata, "user_id").or_else(|| {
                cs.client_reference_id
                    .as_deref()
                    .and_then(|r| r.parse().ok())
            }),
            customer: cs.customer.clone(),
            subscription: cs.subscription.clone(),
        });
    }
    if cs.metadata.get("type").map(String::as_str) != Some("immersion") {
        return Payment::NotOurs("not_a_seat");
    }
    let Some(booking_id) = uuid_in(&cs.metadata, "booking_id") else {
        return Payment::NotOurs("seat_without_booking");
    };
    let seat = SeatCheckout {
        checkout_session_id: cs.id.clone(),
        booking_id,
        user_id: uuid_in(&cs.metadata, "user_id"),
        payment_status: PaymentStatus::parse(cs.payment_status.as_deref()),
        amount_total: cs.amount_total,
        currency: cs.currency.as_deref().map(str::to_uppercase),
        payment_intent: cs.payment_intent.clone(),
    };
    if closed {
        Payment::SeatCheckoutClosed(seat)
    } else {
        Payment::SeatPaid(seat)
    }
}

pub fn subscription_change(
    s: &SubscriptionObject,
    kind: SubscriptionChangeKind,
) -> SubscriptionChange {
    SubscriptionChange {
        kind,
        subscription_id: s.id.clone(),
        customer: s.customer.clone(),
        user_id: uuid_in(&s.metadata, "user_id"),
        status: if kind == SubscriptionChangeKind::Deleted {
            StripeStatus::Canceled
        } else {
            StripeStatus::parse(&s.status)
        },
        price_id: s.price_id().map(str::to_owned),
        current_period_end: s.period_end().and_then(ts),
        cancel_at_period_end: s.cancel_at_period_end,
    }
}

fn subscription_payment(s: &SubscriptionObject, kind: SubscriptionChangeKind) -> Payment {
    Payment::SubscriptionChanged(subscription_change(s, kind))
}

/// An invoice: a subscription's (its payment moves access), or a seat's
/// (Stripe issued it for a seat's Checkout Session, with our metadata);
/// any other is not ours.
fn invoice_payment(i: &InvoiceObject, paid: bool) -> Payment {
    let Some(subscription_id) = i.subscription_id() else {
        let seat = i.own_metadata.get("type").map(String::as_str) == Some("immersion");
        return match uuid_in(&i.own_metadata, "booking_id") {
            Some(booking_id) if seat && paid => Payment::SeatInvoice(SeatInvoice {
                booking_id,
                user_id: uuid_in(&i.own_metadata, "user_id"),
                document: invoice_document(i),
            }),
            Some(_) if seat => Payment::Ignored,
            _ => Payment::NotOurs("not_a_subscription"),
        };
    };
    Payment::Invoice(InvoiceOutcome {
        subscription_id: subscription_id.to_owned(),
        customer: i.customer.clone(),
        customer_email: i.customer_email.clone(),
        user_id: i.metadata().and_then(|m| uuid_in(m, "user_id")),
        paid,
        period_end: i.period_end().and_then(ts),
        document: invoice_document(i),
    })
}

/// Stripe's links, kept only as https addresses of a sane length (they go
/// into pages and redirects).
fn link(url: Option<&String>) -> Option<String> {
    url.filter(|u| u.starts_with("https://") && u.len() <= 2048)
        .cloned()
}

fn invoice_document(i: &InvoiceObject) -> InvoiceDocument {
    InvoiceDocument {
        id: i.id.clone(),
        // Stripe's numbers are short; one that is not cannot be printed.
        number: i.number.clone().filter(|n| n.chars().count() <= 64),
        hosted_url: link(i.hosted_invoice_url.as_ref()),
        pdf_url: link(i.invoice_pdf.as_ref()),
        amount_paid: i.amount_paid.unwrap_or(0),
        currency: i.currency.as_deref().unwrap_or_default().to_uppercase(),
        // The column's length: a longer line is cut, not refused.
        description: i.line_description().map(|d| d.chars().take(500).collect()),
        period_start: i.period_start().and_then(ts),
        period_end: i.period_end().and_then(ts),
        created: i.created.and_then(ts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: &str, object: serde_json::Value) -> Event {
        serde_json::from_value(json!({
            "id": "evt_1", "type": kind, "created": 1, "data": {"object": object}
        }))
        .unwrap()
    }

    #[test]
    fn a_seat_needs_our_metadata_and_expanded_ids_are_read() {
        let booking = "6f1c0a5e-4a44-4c53-9a4f-6d1f3b0e9c11";
        let ours = event(
            "checkout.session.completed",
            json!({
                "id": "cs_1", "mode": "payment", "payment_status": "paid",
                "payment_intent": {"id": "pi_1", "object": "payment_intent"},
                "amount_total": 199700, "currency": "eur",
                "metadata": {"type": "immersion", "booking_id": booking},
            }),
        );
        let Payment::SeatPaid(seat) = parse_event(&ours).unwrap().payment else {
            panic!("not a seat");
        };
        assert_eq!(seat.payment_intent.as_deref(), Some("pi_1"));
        assert_eq!(seat.currency.as_deref(), Some("EUR"));
        assert_eq!(seat.booking_id.to_string(), booking);
        assert_eq!(seat.payment_status, PaymentStatus::Paid);

        // A Payment Link naming the booking only in client_reference_id.
        let link = event(
            "checkout.session.completed",
            json!({"id": "cs_2", "mode": "payment", "payment_status": "paid",
                   "metadata": null, "client_reference_id": booking}),
        );
        assert_eq!(
            parse_event(&link).unwrap().payment,
            Payment::NotOurs("not_a_seat")
        );
    }

    #[test]
    fn invoice_paid_ranks_with_the_other_invoice_events() {
        let invoice = json!({"id": "in_1", "subscription": "sub_1"});
        for kind in [
            "invoice.paid",
            "invoice.payment_succeeded",
            "invoice.payment_failed",
        ] {
            let e = parse_event(&event(kind, invoice.clone())).unwrap();
            assert_eq!(e.rank(), 2, "{kind}");
        }
        let unknown = parse_event(&event("customer.created", json!({}))).unwrap();
        assert_eq!(unknown.payment, Payment::Ignored);
    }
}
