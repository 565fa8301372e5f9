//! Applies payment events (the webhook pipeline and invariants 4, 9, 10): the event
//! id is recorded and its effects applied in one transaction, so a
//! duplicate delivery finds the id and changes nothing. Money that goes
//! back is only owed here; the caller settles it after the commit.

use chrono::{DateTime, TimeZone, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, TransactionTrait};
use uuid::Uuid;

use crate::config::Policy;
use crate::domain::billing::applied::Applied;
use crate::domain::is_unique_violation;
use crate::domain::{billing::invoices, bookings::seat_payments, subscriptions};
use crate::error::ApiResult;
use crate::payments::events::{Payment, PaymentEvent};

/// What became of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// First delivery: recorded, with what it did and the calls it owes.
    Applied { outcome: String, owed: Vec<Uuid> },
    /// Seen before: nothing done.
    Duplicate,
}

/// Records `event` and applies it, all or nothing.
#[tracing::instrument(skip(db, policy, event), fields(event = %event.id, kind = %event.event_type))]
pub async fn apply(
    db: &DatabaseConnection,
    policy: &Policy,
    event: &PaymentEvent,
    now: DateTime<Utc>,
) -> ApiResult<Delivery> {
    let txn = db.begin().await?;
    // The id goes in first: a concurrent duplicate waits on it, then fails
    // the unique key and is answered as a duplicate.
    let recorded = entity::stripe_events::Entity::insert(entity::stripe_events::ActiveModel {
        id: Set(event.id.clone()),
        event_type: Set(event.event_type.to_string()),
        created: Set(Utc.timestamp_opt(event.created, 0).single().unwrap_or(now)),
        received_at: Set(now),
        processed_at: Set(Some(now)),
        outcome: Set(None),
    })
    .exec(&txn)
    .await;
    match recorded {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Ok(Delivery::Duplicate),
        Err(e) => return Err(e.into()),
    }
    let applied = dispatch(&txn, policy, event, now).await?;
    entity::stripe_events::Entity::update(entity::stripe_events::ActiveModel {
        id: Set(event.id.clone()),
        outcome: Set(Some(applied.outcome.clone())),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    txn.commit().await?;
    tracing::info!(outcome = %applied.outcome, "payment event applied");
    Ok(Delivery::Applied {
        outcome: applied.outcome,
        owed: applied.owed,
    })
}

/// `apply`, then the calls it owes, made after its commit (best effort:
/// the owed-calls job finishes what fails). Reconciliation takes events
/// in this way.
pub async fn apply_and_settle(
    db: &DatabaseConnection,
    gateway: &dyn crate::payments::PaymentGateway,
    policy: &Policy,
    event: &PaymentEvent,
    now: DateTime<Utc>,
) -> ApiResult<Delivery> {
    let delivery = apply(db, policy, event, now).await?;
    if let Delivery::Applied { owed, .. } = &delivery {
        crate::domain::billing::owed::settle_now(db, gateway, owed, now).await?;
    }
    Ok(delivery)
}

async fn dispatch(
    txn: &sea_orm::DatabaseTransaction,
    policy: &Policy,
    event: &PaymentEvent,
    now: DateTime<Utc>,
) -> ApiResult<Applied> {
    match &event.payment {
        Payment::SeatPaid(seat) => {
            let applied =
                seat_payments::apply_payment(txn, &event.id, seat, &policy.offers, now).await?;
            if let Some(invoicing) = &policy.invoicing {
                invoices::issue_for_seat(txn, invoicing, seat.booking_id, now).await?;
            }
            Ok(applied)
        }
        Payment::SeatCheckoutClosed(seat) => {
            seat_payments::apply_checkout_closed(txn, seat, &policy.offers, now).await
        }
        Payment::ChargeRefunded(charge) => {
            seat_payments::apply_charge_refunded(txn, charge, &policy.offers, now).await
        }
        Payment::SubscriptionCheckout(link) => subscriptions::link_checkout(txn, link, now).await,
        Payment::SubscriptionChanged(change) => {
            subscriptions::apply_change(txn, policy, event, change, now).await
        }
        Payment::Invoice(invoice) => {
            let applied = subscriptions::apply_invoice(txn, policy, event, invoice, now).await?;
            if invoice.paid {
                let invoicing = policy.invoicing.as_ref();
                invoices::record_subscription(txn, invoicing, invoice, now).await?;
            }
            Ok(applied)
        }
        Payment::SeatInvoice(seat) => {
            invoices::record_seat(txn, policy.invoicing.as_ref(), seat, now).await
        }
        Payment::NotOurs(why) => Ok(Applied::outcome(format!("ignored_{why}"))),
        Payment::Ignored => Ok(Applied::outcome("ignored")),
    }
}
