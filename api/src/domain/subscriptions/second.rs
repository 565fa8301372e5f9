//! Invariant 16, its last line: one live subscription per customer. The
//! checkout rule (`checkouts`) opens no second page while one is open,
//! paid or live; a subscription can still be made where we do not see it
//! (a payment link, the Dashboard, a page paid in another tab whose
//! events had not arrived). Checked in the transaction of each event
//! about a subscription:
//!
//! - Before that event at most one subscription was billed, so when the
//!   event's own subscription is billed beside another, the event's is
//!   the newcomer.
//! - A newcomer that pays while the other's payments fail (past due) is
//!   the member subscribing again to get back in: the failing one is
//!   cancelled, with nothing to refund (its last invoice was not paid).
//! - Otherwise the newcomer is a second bill: it is cancelled, each
//!   invoice that paid it is refunded, and an anomaly is recorded. Once
//!   found (its anomaly), it stays the second, so an invoice of it that
//!   arrives later is refunded too, whichever event comes first.
//!
//! Every call is owed with a key of its own, so a redelivery owes nothing
//! twice; the caller settles them after the commit.

use chrono::{DateTime, Utc};
use common::payments::{AnomalyKind, OwedCallKind, OwedCallStatus};
use common::subscriptions::StripeStatus;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::domain::billing::anomalies::{self, Anomaly};
use crate::domain::billing::credit_notes;
use crate::domain::billing::owed::{self, OwedReason};
use entity::owed_gateway_calls as calls;
use entity::payment_anomalies as marks;
use entity::stripe_subscriptions as records;

/// Billed: Stripe takes (or tries to take) money for it, on a price we
/// sell.
fn billed(r: &records::Model) -> bool {
    r.plan.is_some()
        && matches!(
            r.status,
            Some(StripeStatus::Active | StripeStatus::Trialing | StripeStatus::PastDue)
        )
}

/// The subscriptions found to be a second one.
async fn seconds(db: &impl ConnectionTrait, among: Vec<String>) -> Result<Vec<String>, DbErr> {
    Ok(marks::Entity::find()
        .filter(marks::Column::Kind.eq(AnomalyKind::SecondSubscription.as_str()))
        .filter(marks::Column::SubscriptionId.is_in(among))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|m| m.subscription_id)
        .collect())
}

/// The subscriptions we have asked the provider to cancel (a second one,
/// or one replaced), and that it has not refused for good: until their
/// end arrives, they are not counted as a customer's live subscription;
/// their calls are reported while owed. One whose cancel failed for good
/// counts again (and the audit reports the failed call).
/// Those among `among`.
async fn cancelling(db: &impl ConnectionTrait, among: Vec<String>) -> Result<Vec<String>, DbErr> {
    Ok(calls::Entity::find()
        .filter(calls::Column::Kind.eq(OwedCallKind::CancelSubscription.as_str()))
        .filter(calls::Column::Status.ne(OwedCallStatus::Failed.as_str()))
        .filter(calls::Column::Target.is_in(among))
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.target)
        .collect())
}

/// The subscription records `filter` selects, less those being cancelled
/// (see `cancelling`): the ones that count as a customer's. One query.
pub async fn counted(
    db: &impl ConnectionTrait,
    filter: impl sea_orm::sea_query::IntoCondition,
) -> Result<Vec<records::Model>, DbErr> {
    let being_cancelled = Query::select()
        .expr(Expr::val(1))
        .from(calls::Entity)
        .and_where(
            Expr::col((calls::Entity, calls::Column::Kind))
                .eq(OwedCallKind::CancelSubscription.as_str()),
        )
        .and_where(
            Expr::col((calls::Entity, calls::Column::Status)).ne(OwedCallStatus::Failed.as_str()),
        )
        .and_where(
            Expr::col((calls::Entity, calls::Column::Target))
                .equals((records::Entity, records::Column::Id)),
        )
        .to_owned();
    records::Entity::find()
        .filter(filter)
        .filter(Expr::exists(being_cancelled).not())
        .order_by_asc(records::Column::Id)
        .all(db)
        .await
}

/// An invoice of the event: its id and what was paid.
pub struct PaidInvoice<'a> {
    pub id: &'a str,
    pub amount_cents: i64,
    pub currency: &'a str,
}

/// Checks the subscription an event was about (`paid`: the event's own
/// paid invoice, when it is one) and owes what the rules above ask.
/// Answers the calls owed.
pub async fn refuse_second(
    txn: &impl ConnectionTrait,
    subscription_id: &str,
    paid: Option<PaidInvoice<'_>>,
    event_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, DbErr> {
    let Some(this) = records::Entity::find_by_id(subscription_id.to_owned())
        .one(txn)
        .await?
    else {
        return Ok(Vec::new());
    };
    let theirs = records::Entity::find()
        .filter(records::Column::UserId.eq(this.user_id))
        .all(txn)
        .await?;
    let ids = || theirs.iter().map(|r| r.id.clone()).collect();
    let seconds = seconds(txn, ids()).await?;
    if seconds.contains(&this.id) {
        return refund_second(txn, &this, paid, event_id, false, now).await;
    }
    let cancelling = cancelling(txn, ids()).await?;
    if cancelling.contains(&this.id) {
        // Replaced by the member's new one: its overdue invoice, paid
        // now, bought a period without access; it goes back.
        let Some(paid) = paid else {
            return Ok(Vec::new());
        };
        let reason = OwedReason::Replaced;
        let call = owed::owe_invoice_refund(txn, paid.id, paid.amount_cents, reason, now).await?;
        credit_notes::cover_provider_invoice(txn, paid.id, now)
            .await
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        return Ok(call.into_iter().collect());
    }
    if !billed(&this) {
        return Ok(Vec::new());
    }
    let Some(other) = theirs.iter().find(|r| {
        r.id != this.id && billed(r) && !seconds.contains(&r.id) && !cancelling.contains(&r.id)
    }) else {
        return Ok(Vec::new());
    };
    // Paying now: a trial pays nothing, so it replaces nothing.
    let pays = this.status == Some(StripeStatus::Active);
    if pays && other.status == Some(StripeStatus::PastDue) {
        let reason = OwedReason::Replaced;
        let call = owed::owe_cancel_subscription(txn, &other.id, reason, now).await?;
        return Ok(call.into_iter().collect());
    }
    refund_second(txn, &this, paid, event_id, true, now).await
}

/// Owes the cancel of a second subscription and the refund of each of its
/// invoices, and records its anomaly when `found` now.
async fn refund_second(
    txn: &impl ConnectionTrait,
    this: &records::Model,
    paid: Option<PaidInvoice<'_>>,
    event_id: &str,
    found: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, DbErr> {
    let reason = OwedReason::SecondSubscription;
    let mut owed_calls: Vec<Uuid> = owed::owe_cancel_subscription(txn, &this.id, reason, now)
        .await?
        .into_iter()
        .collect();
    let recorded = entity::invoices::Entity::find()
        .filter(entity::invoices::Column::SubscriptionId.eq(this.id.clone()))
        .all(txn)
        .await?;
    let mut invoices: Vec<(String, i64, String)> = recorded
        .into_iter()
        .filter_map(|i| Some((i.provider_invoice_id?, i.amount_cents, i.currency)))
        .chain(paid.map(|p| (p.id.to_owned(), p.amount_cents, p.currency.to_owned())))
        .collect();
    invoices.sort();
    invoices.dedup_by(|a, b| a.0 == b.0);
    let mut refund_call = None;
    for (invoice, amount, _) in &invoices {
        let call = owed::owe_invoice_refund(txn, invoice, *amount, reason, now).await?;
        credit_notes::cover_provider_invoice(txn, invoice, now)
            .await
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        refund_call = refund_call.or(call);
        owed_calls.extend(call);
    }
    if found {
        let total: i64 = invoices.iter().map(|i| i.1).sum();
        let currency = invoices.first().map(|i| i.2.clone());
        let anomaly = Anomaly {
            kind: AnomalyKind::SecondSubscription,
            event_id: event_id.to_owned(),
            booking_id: None,
            checkout_session_id: None,
            payment_intent_id: None,
            subscription_id: Some(this.id.clone()),
            amount_cents: currency.is_some().then_some(total),
            currency,
            detail: format!(
                "subscription {} is a second one billed to a customer who has one: \
                 cancelled, and what paid it refunded",
                this.id
            ),
            refund_call_id: refund_call,
        };
        anomalies::record(txn, anomaly, now).await?;
    }
    Ok(owed_calls)
}
