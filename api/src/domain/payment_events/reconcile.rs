//! Reconciliation (`immersion reconcile`, and an hourly job): what Stripe
//! says is brought in through the same domain code as webhooks, for when a
//! delivery was lost (the endpoint down longer than Stripe retries, a
//! wrong secret). Each repair is recorded under an event id derived from
//! what it applies, so running it twice, or on several instances at once,
//! changes nothing the second time.

use chrono::{DateTime, Duration, Utc};
use common::bookings::BookingStatus;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter};

use crate::config::Policy;
use crate::domain::payment_events::{self, Delivery};
use crate::domain::{billing::owed, subscriptions};
use crate::error::ApiResult;
use crate::payments::PaymentGateway;
use crate::payments::events::{EventType, Payment, PaymentEvent, PaymentStatus};
use entity::immersion_bookings::{self as bookings, Column};

/// How far back lapsed holds are checked for a payment Stripe took.
const LAPSED_WINDOW: Duration = Duration::hours(48);
/// How far back undelivered events are replayed.
const EVENTS_WINDOW: Duration = Duration::days(3);

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Each change made, in words.
    pub changed: Vec<String>,
    /// Drift found and not repaired (the provider failed, a call still owed).
    pub unrepaired: Vec<String>,
}

/// Outcomes that leave everything as it was.
fn changed_nothing(outcome: &str) -> bool {
    matches!(
        outcome,
        "already_applied"
            | "stale"
            | "unknown_booking"
            | "not_this_booking"
            | "unknown_user"
            | "awaiting_payment"
    ) || outcome.starts_with("ignored")
}

async fn apply(
    db: &DatabaseConnection,
    gateway: &dyn PaymentGateway,
    policy: &Policy,
    event: PaymentEvent,
    what: String,
    report: &mut Report,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let delivery = payment_events::apply_and_settle(db, gateway, policy, &event, now).await?;
    if let Delivery::Applied { outcome, .. } = delivery
        && !changed_nothing(&outcome)
    {
        report.changed.push(format!("{what}: {outcome}"));
    }
    Ok(())
}

/// Checkout Sessions of bookings still held, or lapsed in the last 48 h.
async fn checkouts(
    db: &DatabaseConnection,
    gateway: &dyn PaymentGateway,
    policy: &Policy,
    report: &mut Report,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let lapsed = [
        BookingStatus::Expired.as_str(),
        BookingStatus::Cancelled.as_str(),
    ];
    let rows = bookings::Entity::find()
        .filter(Column::StripeCheckoutSessionId.is_not_null())
        .filter(Column::StripePaymentIntentId.is_null())
        .filter(
            Condition::any()
                .add(Column::Status.eq(BookingStatus::Held.as_str()))
                .add(
                    Condition::all()
                        .add(Column::Status.is_in(lapsed))
                        .add(Column::UpdatedAt.gte(now - LAPSED_WINDOW)),
                ),
        )
        .all(db)
        .await?;
    for booking in rows {
        let Some(cs) = booking.stripe_checkout_session_id.as_deref() else {
            continue;
        };
        let payment = match gateway.checkout_session(cs).await {
            Ok(Some(p)) => p,
            // Still open: the buyer may yet pay.
            Ok(None) => continue,
            Err(e) => {
                report.unrepaired.push(format!(
                    "booking {}: checkout session {cs}: {e}",
                    booking.id
                ));
                continue;
            }
        };
        // The id names what is applied: a payment still pending is left
        // for later (and not recorded), its success then gets its own id.
        let (suffix, event_type) = match &payment {
            Payment::SeatPaid(p) if p.payment_status == PaymentStatus::Unpaid => continue,
            Payment::SeatPaid(p) => (
                format!(
                    "paid_{}",
                    p.payment_intent.as_deref().unwrap_or("no_payment_intent")
                ),
                EventType::CheckoutCompleted,
            ),
            Payment::SeatCheckoutClosed(_) => ("closed".to_owned(), EventType::CheckoutExpired),
            _ => continue,
        };
        let event = PaymentEvent {
            id: format!("reconcile_{cs}_{suffix}"),
            event_type,
            created: now.timestamp(),
            payment,
        };
        let what = format!("booking {} ({cs})", booking.id);
        apply(db, gateway, policy, event, what, report, now).await?;
    }
    Ok(())
}

/// Stripe's current subscriptions of every customer we know.
async fn subscriptions(
    db: &DatabaseConnection,
    gateway: &dyn PaymentGateway,
    policy: &Policy,
    report: &mut Report,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    for customer in subscriptions::known_customers(db).await? {
        let changes = match gateway.customer_subscriptions(&customer).await {
            Ok(c) => c,
            Err(e) => {
                report.unrepaired.push(format!("customer {customer}: {e}"));
                continue;
            }
        };
        for change in changes {
            // What differs from our record, keyed by that record's own
            // version too: the same state coming back later is news again.
            let Some(version) = subscriptions::differs(db, policy, &change).await? else {
                continue;
            };
            let event = PaymentEvent {
                id: format!(
                    "reconcile_{}_{}_{}_{}_{}_{version}",
                    change.subscription_id,
                    change.status,
                    change.current_period_end.map_or(0, |t| t.timestamp()),
                    change.cancel_at_period_end,
                    change.price_id.as_deref().unwrap_or("none"),
                ),
                event_type: EventType::SubscriptionUpdated,
                created: now.timestamp(),
                payment: Payment::SubscriptionChanged(change.clone()),
            };
            let what = format!("subscription {}", change.subscription_id);
            apply(db, gateway, policy, event, what, report, now).await?;
        }
    }
    Ok(())
}

/// One reconciliation pass: owed calls, lapsed and held checkouts, events
/// Stripe could not deliver, and the subscriptions of known customers.
#[tracing::instrument(skip(db, gateway, policy))]
pub async fn run(
    db: &DatabaseConnection,
    gateway: &dyn PaymentGateway,
    policy: &Policy,
    now: DateTime<Utc>,
) -> ApiResult<Report> {
    let mut report = Report::default();
    let settled = owed::settle_due(db, gateway, now).await?;
    if settled.done > 0 {
        report
            .changed
            .push(format!("{} owed payment calls made", settled.done));
    }
    checkouts(db, gateway, policy, &mut report, now).await?;
    match gateway.undelivered_events(now - EVENTS_WINDOW).await {
        Ok(events) => {
            for event in events {
                let what = format!("event {} ({})", event.id, event.event_type);
                apply(db, gateway, policy, event, what, &mut report, now).await?;
            }
        }
        Err(e) => report.unrepaired.push(format!("undelivered events: {e}")),
    }
    subscriptions(db, gateway, policy, &mut report, now).await?;
    for call in owed::still_owed(db).await? {
        report.unrepaired.push(format!(
            "owed {} {} of {}: {}",
            call.reason,
            call.kind,
            call.target,
            call.last_error.as_deref().unwrap_or("not yet tried")
        ));
    }
    Ok(report)
}
