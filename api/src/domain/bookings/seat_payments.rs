//! What a seat's payment events do (booking flow 2–4, invariant 9). A paid
//! Checkout Session confirms its booking only when it is the one that was
//! sold: our metadata (checked in `payments::stripe::parse`), the session
//! id recorded on the booking, the booking's amount and currency, and
//! `paid`. What claims to be ours and does not match is refunded and
//! recorded as an anomaly; refunds are owed here and made after the commit.

use chrono::{DateTime, Utc};
use common::bookings::BookingStatus;
use common::payments::AnomalyKind;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};

use super::rows::{confirmed, free_held_seat, transition};
use crate::config::Offers;
use crate::domain::billing::anomalies::{self, Anomaly};
use crate::domain::billing::applied::Applied;
use crate::domain::billing::owed::{self, OwedReason};
use crate::domain::billing::{credit_notes, gateway_refunds};
use crate::domain::catalog::seats;
use crate::domain::catalog::waitlist;
use crate::domain::platform::clock::today_at_venue;
use crate::domain::platform::mail;
use crate::error::{ApiError, ApiResult};
use crate::payments::events::{ChargeRefund, PaymentStatus, SeatCheckout};
use entity::immersion_bookings::{self as bookings, Column};
use entity::immersion_sessions as sessions;

/// Why a paid session is not the one sold for its booking, if it is not.
fn mismatch(seat: &SeatCheckout, booking: &bookings::Model) -> Option<(AnomalyKind, String)> {
    let recorded = booking.stripe_checkout_session_id.as_deref();
    let same_session = match recorded {
        Some(id) => id == seat.checkout_session_id,
        // The crash window between the hold's commit and the id's write:
        // the metadata must name this booking's own user.
        None => seat.user_id == Some(booking.user_id),
    };
    if !same_session {
        let kind = if booking.stripe_payment_intent_id.is_some() {
            AnomalyKind::SecondPayment
        } else {
            AnomalyKind::ForeignCheckoutSession
        };
        return Some((
            kind,
            format!(
                "checkout session {} is not the booking's ({})",
                seat.checkout_session_id,
                recorded.unwrap_or("none recorded")
            ),
        ));
    }
    if seat.amount_total != Some(booking.amount_cents) {
        return Some((
            AnomalyKind::AmountMismatch,
            format!(
                "paid {:?} cents, the booking costs {}",
                seat.amount_total, booking.amount_cents
            ),
        ));
    }
    if seat.currency.as_deref() != Some(booking.currency.to_uppercase().as_str()) {
        return Some((
            AnomalyKind::CurrencyMismatch,
            format!(
                "paid in {:?}, the booking is in {}",
                seat.currency, booking.currency
            ),
        ));
    }
    None
}

/// Declines a payment: records the anomaly and owes its refund when money
/// was taken.
async fn decline(
    txn: &DatabaseTransaction,
    event_id: &str,
    seat: &SeatCheckout,
    booking: Option<&bookings::Model>,
    kind: AnomalyKind,
    detail: String,
    now: DateTime<Utc>,
) -> ApiResult<Applied> {
    let refund = match (&seat.payment_intent, seat.amount_total) {
        (Some(pi), Some(amount)) if amount > 0 && seat.payment_status == PaymentStatus::Paid => {
            // What went back already (a Dashboard refund seen first) is
            // not owed again.
            let gone = gateway_refunds::of(txn, pi)
                .await?
                .map_or(0, |g| g.amount_refunded);
            owed::owe_refund(
                txn,
                booking.map(|b| b.id),
                pi,
                amount - gone,
                OwedReason::Anomaly,
                now,
            )
            .await?
        }
        _ => None,
    };
    let recorded = anomalies::record(
        txn,
        Anomaly {
            kind,
            event_id: event_id.to_owned(),
            booking_id: booking.map(|b| b.id).or(Some(seat.booking_id)),
            checkout_session_id: Some(seat.checkout_session_id.clone()),
            payment_intent_id: seat.payment_intent.clone(),
            subscription_id: None,
            amount_cents: seat.amount_total,
            currency: seat.currency.clone(),
            detail,
            refund_call_id: refund,
        },
        now,
    )
    .await?;
    Ok(Applied {
        // The same payment declined before (a redelivery under another
        // event id, a reconciliation): nothing new.
        outcome: if recorded {
            format!("anomaly_{}", kind.as_str())
        } else {
            "already_applied".to_owned()
        },
        owed: refund.into_iter().collect(),
    })
}

/// Booking flow 2 and 4: a paid Checkout Session confirms its booking; a
/// payment for a lapsed hold takes a free seat if there is one, and is
/// refunded otherwise.
pub async fn apply_payment(
    txn: &DatabaseTransaction,
    event_id: &str,
    seat: &SeatCheckout,
    offers: &Offers,
    now: DateTime<Utc>,
) -> ApiResult<Applied> {
    if seat.payment_status == PaymentStatus::Unpaid {
        // An async payment method: the outcome comes in a later event.
        return Ok(Applied::outcome("awaiting_payment"));
    }
    let booking = bookings::Entity::find_by_id(seat.booking_id)
        .one(txn)
        .await?;
    if seat.payment_status != PaymentStatus::Paid {
        let detail = format!(
            "completed with payment_status {:?}, not paid",
            seat.payment_status
        );
        return decline(
            txn,
            event_id,
            seat,
            booking.as_ref(),
            AnomalyKind::NotPaid,
            detail,
            now,
        )
        .await;
    }
    let Some(booking) = booking else {
        let detail = format!("booking {} does not exist", seat.booking_id);
        return decline(
            txn,
            event_id,
            seat,
            None,
            AnomalyKind::UnknownBooking,
            detail,
            now,
        )
        .await;
    };
    if let Some((kind, detail)) = mismatch(seat, &booking) {
        return decline(txn, event_id, seat, Some(&booking), kind, detail, now).await;
    }
    // The booking may move under us (the sweeper or a cancel ending the
    // hold): then it is read again and the payment applied to what it is.
    let mut booking = booking;
    for _ in 0..3 {
        if let Some(applied) = settle_booking(txn, event_id, seat, &booking, offers, now).await? {
            return Ok(applied);
        }
        booking = bookings::Entity::find_by_id(seat.booking_id)
            .one(txn)
            .await?
            .ok_or_else(|| ApiError::internal("booking vanished while applying a payment"))?;
    }
    Err(ApiError::internal(
        "booking kept changing while applying a payment",
    ))
}

/// Applies a matching payment to the booking as read; None when the
/// booking changed meanwhile (read it again).
async fn settle_booking(
    txn: &DatabaseTransaction,
    event_id: &str,
    seat: &SeatCheckout,
    booking: &bookings::Model,
    offers: &Offers,
    now: DateTime<Utc>,
) -> ApiResult<Option<Applied>> {
    let status = booking.status;
    if booking.stripe_payment_intent_id.is_some() {
        // Already paid (then maybe cancelled or refunded): this event
        // again, or a second payment of the same session.
        if booking.stripe_payment_intent_id == seat.payment_intent {
            return Ok(Some(Applied::outcome("already_applied")));
        }
        let detail = format!("booking {} is already paid", booking.id);
        return decline(
            txn,
            event_id,
            seat,
            Some(booking),
            AnomalyKind::SecondPayment,
            detail,
            now,
        )
        .await
        .map(Some);
    }
    let paid = vec![
        (
            Column::StripePaymentIntentId,
            Expr::value(seat.payment_intent.clone()),
        ),
        (
            Column::StripeCheckoutSessionId,
            Expr::value(seat.checkout_session_id.clone()),
        ),
        (Column::ConfirmedAt, Expr::value(now)),
    ];
    // A refund of this payment seen before it (invariant 15): what went
    // back is recorded with it; when the whole charge went back, it wins.
    // The payment intent's row is locked and read in one statement (an
    // upsert of nothing), so a refund of it applied at the same moment
    // waits for this commit and then finds the booking, or went first and
    // is read here.
    let early = match seat.payment_intent.as_deref() {
        Some(pi) => Some(gateway_refunds::remember(txn, pi, 0, false, now).await?)
            .filter(|e| e.amount_refunded > 0),
        None => None,
    };
    let already_refunded = early.as_ref().map_or(0, |e| e.amount_refunded);
    // The fields of a confirmation: the payment, and what of it went back.
    let confirming = |paid: &Vec<(Column, sea_orm::sea_query::SimpleExpr)>| {
        let mut fields = paid.clone();
        if already_refunded > 0 {
            fields.push((Column::RefundedCents, Expr::value(already_refunded)));
        }
        fields
    };
    if early.as_ref().is_some_and(|e| e.whole)
        && !matches!(status, BookingStatus::Confirmed | BookingStatus::Refunded)
    {
        let mut fields = confirming(&paid);
        fields.push((Column::CancelledAt, Expr::value(now)));
        let from = [
            BookingStatus::Held,
            BookingStatus::Expired,
            BookingStatus::Cancelled,
        ];
        if !transition(txn, booking.id, &from, BookingStatus::Refunded, fields).await? {
            return Ok(None);
        }
        if status == BookingStatus::Held {
            free_held_seat(txn, booking, now, Some(offers)).await?;
        }
        return Ok(Some(Applied::outcome("refunded_before_payment")));
    }
    let session = sessions::Entity::find_by_id(booking.session_id)
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::internal("booking without session"))?;
    // Invariant 15: a payment for a session that has begun is refunded,
    // whatever became of its hold (an asynchronous method lands days late).
    let started = session.starts_on <= today_at_venue(now);
    // A person erased since buys nothing: their account is gone, and so
    // is every seat of theirs still to come.
    let erased = matches!(
        status,
        BookingStatus::Held | BookingStatus::Expired | BookingStatus::Cancelled
    ) && crate::domain::accounts::standing::erased_locked(txn, booking.user_id)
        .await?;
    match status {
        // Confirmed or refunded without a payment of ours: nothing to add.
        BookingStatus::Confirmed | BookingStatus::Refunded => {
            Ok(Some(Applied::outcome("already_applied")))
        }
        BookingStatus::Held if started || erased => {
            let refunded = refund_late(
                txn,
                seat,
                booking,
                &session,
                &[BookingStatus::Held],
                Paid {
                    fields: paid,
                    already_refunded,
                },
                now,
            )
            .await?;
            if refunded.is_some() {
                // Nobody is offered a seat of a session that has begun.
                let offers = (!started).then_some(offers);
                free_held_seat(txn, booking, now, offers).await?;
            }
            Ok(refunded)
        }
        BookingStatus::Held => {
            if !transition(
                txn,
                booking.id,
                &[BookingStatus::Held],
                BookingStatus::Confirmed,
                confirming(&paid),
            )
            .await?
            {
                return Ok(None);
            }
            confirmed(txn, booking).await?;
            Ok(Some(Applied::outcome(BookingStatus::Confirmed.as_str())))
        }
        BookingStatus::Expired | BookingStatus::Cancelled => {
            let lapsed = [BookingStatus::Expired, BookingStatus::Cancelled];
            // A free seat, unless the user already holds one again in this
            // session (that would make two): otherwise refund this payment.
            if started || erased {
                return refund_late(
                    txn,
                    seat,
                    booking,
                    &session,
                    &lapsed,
                    Paid {
                        fields: paid,
                        already_refunded,
                    },
                    now,
                )
                .await;
            }
            let today = today_at_venue(now);
            let seat_taken = seats::take(
                txn,
                booking.session_id,
                today,
                false,
                // A late payment is not a new hold: no cooldown.
                Some(seats::Taker {
                    user: booking.user_id,
                    cooldown_since: None,
                    from_catalog: false,
                    address: None,
                    one_hold_unless_verified: false,
                    named: false,
                }),
            )
            .await?;
            if seat_taken.is_ok() {
                let fields = confirming(&paid);
                if !transition(txn, booking.id, &lapsed, BookingStatus::Confirmed, fields).await? {
                    return Err(ApiError::internal(
                        "booking changed while confirming a late payment",
                    ));
                }
                confirmed(txn, booking).await?;
                return Ok(Some(Applied::outcome("confirmed_late")));
            }
            refund_late(
                txn,
                seat,
                booking,
                &session,
                &lapsed,
                Paid {
                    fields: paid,
                    already_refunded,
                },
                now,
            )
            .await
        }
    }
}

/// What a payment writes on its booking, and what of it went back before
/// it arrived (a refund seen early).
struct Paid {
    fields: Vec<(Column, sea_orm::sea_query::SimpleExpr)>,
    already_refunded: i64,
}

/// Refunds a payment that came too late (its hold lapsed and no seat is
/// left, or the session has begun): the booking `from` one of `from` to
/// `refunded`, the refund owed, the buyer told in French. None when the
/// booking changed meanwhile (read it again).
async fn refund_late(
    txn: &DatabaseTransaction,
    seat: &SeatCheckout,
    booking: &bookings::Model,
    session: &sessions::Model,
    from: &[BookingStatus],
    paid: Paid,
    now: DateTime<Utc>,
) -> ApiResult<Option<Applied>> {
    let Paid {
        fields: paid,
        already_refunded,
    } = paid;
    let pi = seat
        .payment_intent
        .as_deref()
        .ok_or_else(|| ApiError::internal("a paid checkout session without a payment"))?;
    let mut fields = paid;
    fields.extend([
        (Column::RefundedCents, Expr::value(booking.amount_cents)),
        (Column::CancelledAt, Expr::value(now)),
    ]);
    if !transition(txn, booking.id, from, BookingStatus::Refunded, fields).await? {
        return Ok(None);
    }
    // What went back already (a refund seen early) is not owed again.
    let owed = owed::owe_refund(
        txn,
        Some(booking.id),
        pi,
        booking.amount_cents - already_refunded,
        OwedReason::Late,
        now,
    )
    .await?;
    credit_notes::cover_seat(txn, booking.id, now).await?;
    if booking.amount_cents > 0 {
        let started = session.starts_on <= today_at_venue(now);
        let (subject, body) =
            mail::late_payment_refunded(session, booking.amount_cents, &booking.currency, started);
        mail::queue(txn, &booking.user_email, subject, body).await?;
    }
    Ok(Some(Applied {
        outcome: "refunded_late".into(),
        owed: owed.into_iter().collect(),
    }))
}

/// Booking flow 3: an expired or failed Checkout Session releases its hold,
/// when it is the booking's own session.
pub async fn apply_checkout_closed(
    txn: &DatabaseTransaction,
    seat: &SeatCheckout,
    offers: &Offers,
    now: DateTime<Utc>,
) -> ApiResult<Applied> {
    let Some(booking) = bookings::Entity::find_by_id(seat.booking_id)
        .one(txn)
        .await?
    else {
        return Ok(Applied::outcome("unknown_booking"));
    };
    if booking
        .stripe_checkout_session_id
        .as_deref()
        .is_some_and(|id| id != seat.checkout_session_id)
    {
        return Ok(Applied::outcome("not_this_booking"));
    }
    if crate::domain::bookings::end_hold(txn, &booking, BookingStatus::Expired, now, Some(offers))
        .await?
    {
        Ok(Applied::outcome(BookingStatus::Expired.as_str()))
    } else {
        Ok(Applied::outcome("already_applied"))
    }
}

/// A refund made outside the api (Stripe dashboard), or the news of ours:
/// what went back is recorded as a high-water mark (events come in any
/// order); a whole refund ends the seat (a confirmed seat is freed, a
/// cancelled one marked refunded). A refund seen before its payment is
/// kept, and wins when the payment arrives (invariant 15).
pub async fn apply_charge_refunded(
    txn: &DatabaseTransaction,
    charge: &ChargeRefund,
    offers: &Offers,
    now: DateTime<Utc>,
) -> ApiResult<Applied> {
    let Some(pi) = charge.payment_intent.as_deref() else {
        return Ok(Applied::outcome("unknown_booking"));
    };
    gateway_refunds::remember(txn, pi, charge.amount_refunded, charge.refunded, now).await?;
    let Some(booking) = bookings::Entity::find()
        .filter(Column::StripePaymentIntentId.eq(pi))
        .one(txn)
        .await?
    else {
        // Seen before its payment: kept, it wins when the payment arrives.
        return Ok(Applied::outcome("refund_before_payment"));
    };
    // What went back, as a high-water mark: never lowered by an older
    // event of the same charge.
    let total = || {
        (
            Column::RefundedCents,
            gateway_refunds::high_water(Expr::col(Column::RefundedCents), charge.amount_refunded),
        )
    };
    // A whole refund ends the seat: a confirmed one is freed, a cancelled
    // one (after the cutoff, money kept, refunded anyway from the
    // Dashboard) is marked refunded; its seat is already free.
    let ends = match booking.status {
        BookingStatus::Confirmed => Some(vec![total(), (Column::CancelledAt, Expr::value(now))]),
        BookingStatus::Cancelled => Some(vec![total()]),
        _ => None,
    };
    if let Some(fields) = ends.filter(|_| charge.refunded) {
        let from = booking.status;
        if !transition(txn, booking.id, &[from], BookingStatus::Refunded, fields).await? {
            return Ok(Applied::outcome("already_applied"));
        }
        if from == BookingStatus::Confirmed {
            waitlist::release_seat(txn, booking.session_id, now, Some(offers)).await?;
        }
        credit_notes::cover_seat(txn, booking.id, now).await?;
        return Ok(Applied::outcome(BookingStatus::Refunded.as_str()));
    }
    // A partial refund (the seat stays sold), or news of a refund already
    // applied: what went back is recorded.
    let (column, value) = total();
    bookings::Entity::update_many()
        .col_expr(column, value)
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(booking.id))
        .exec(txn)
        .await?;
    credit_notes::cover_seat(txn, booking.id, now).await?;
    Ok(Applied::outcome("already_applied"))
}
