//! Minimum group sizes. On a session's decision date (or earlier, by an
//! admin) it is decided once: with enough confirmed attendees it runs
//! ("session confirmée"); with too few it is cancelled, every paid seat
//! refunded in full through the owed-refund path and every hold released.
//!
//! Deciding twice, or on several instances at once, decides once: the
//! decider claims the session with a conditional update of `decided_at`,
//! in the transaction that applies the decision. Bookings move with the
//! same conditional transitions as everywhere else, so a payment landing
//! meanwhile is either refunded here or meets a cancelled session (the
//! late-payment rule then refunds it: `seats::take` never seats anyone in
//! a cancelled session).

use chrono::{DateTime, Utc};
use common::ErrorCode;
use common::bookings::BookingStatus;
use common::events::EventType;
use common::sessions::{SessionDecision, SessionStatus, decide};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use super::rows::{end_hold, transition};
use crate::domain::billing::credit_notes;
use crate::domain::billing::owed::{self, AfterCommit, OwedReason};
use crate::domain::platform::clock::today_at_venue;
use crate::domain::{catalog::waitlist, platform::mail};
use crate::error::{ApiError, ApiResult};
use entity::immersion_bookings::{self as bookings, Column as B};
use entity::immersion_sessions::{self as sessions, Column};

/// Decides every session whose decision date has come; answers what was
/// decided, per session. A failure on one session does not stop the others.
pub async fn decide_due(
    db: &DatabaseConnection,
    after: &(impl AfterCommit + ?Sized),
    now: DateTime<Utc>,
) -> ApiResult<Vec<(Uuid, SessionDecision)>> {
    let today = today_at_venue(now);
    let due = sessions::Entity::find()
        .filter(Column::MinPlaces.is_not_null())
        .filter(Column::DecidedAt.is_null())
        .filter(Column::DecideOn.lte(today))
        // A session that has begun runs: nobody is refunded mid-course.
        .filter(Column::StartsOn.gt(today))
        .order_by_asc(Column::DecideOn)
        .all(db)
        .await?;
    let mut decided = Vec::new();
    for session in due {
        match decide_session(db, after, session.id, None, now).await {
            Ok(Some(d)) => decided.push((session.id, d)),
            Ok(None) => {}
            Err(e) => tracing::error!(session = %session.id, error = %e, "session not decided"),
        }
    }
    Ok(decided)
}

/// Decides one session: `forced` by an admin, else by its minimum.
/// `None` when another decider got there first (or there is no minimum
/// and nothing was forced).
pub async fn decide_session(
    db: &DatabaseConnection,
    after: &(impl AfterCommit + ?Sized),
    session_id: Uuid,
    forced: Option<SessionDecision>,
    now: DateTime<Utc>,
) -> ApiResult<Option<SessionDecision>> {
    let txn = db.begin().await?;
    // Rows are locked in the order every other path takes them: bookings
    // first (a cancel, an expiry, a refund moves its booking, then the
    // seat), then the session. (SQLite runs one writer at a time anyway.)
    bookings::Entity::find()
        .filter(B::SessionId.eq(session_id))
        .filter(B::Status.is_in([
            BookingStatus::Held.as_str(),
            BookingStatus::Confirmed.as_str(),
        ]))
        .lock_exclusive()
        .all(&txn)
        .await?;
    // The claim locks the session's row until the commit: seats taken
    // meanwhile wait for the decision, and a second decider finds it made.
    let claimed = sessions::Entity::update_many()
        .col_expr(Column::DecidedAt, Expr::value(now))
        .filter(Column::Id.eq(session_id))
        .filter(Column::DecidedAt.is_null())
        .exec(&txn)
        .await?;
    if claimed.rows_affected == 0 {
        return Ok(None);
    }
    let session = sessions::Entity::find_by_id(session_id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    let active = bookings::Entity::find()
        .filter(B::SessionId.eq(session_id))
        .filter(B::Status.is_in([
            BookingStatus::Held.as_str(),
            BookingStatus::Confirmed.as_str(),
        ]))
        .order_by_asc(B::CreatedAt)
        .all(&txn)
        .await?;
    let confirmed = active
        .iter()
        .filter(|b| b.status == BookingStatus::Confirmed)
        .count();
    let confirmed = i32::try_from(confirmed).unwrap_or(i32::MAX);
    let Some(decision) = forced.or_else(|| decide(session.min_places, confirmed)) else {
        // No minimum: nothing to decide; the claim is rolled back.
        return Ok(None);
    };
    let owed = match decision {
        SessionDecision::Confirmed => {
            run(&txn, &session, &active).await?;
            Vec::new()
        }
        SessionDecision::Cancelled => cancel(&txn, &session, active, now).await?,
    };
    txn.commit().await?;
    tracing::info!(session = %session_id, decision = decision.as_str(), "session decided");
    // The decision is made whatever these calls do: made after the
    // commit (the job finishes what fails).
    after.owed(db, owed, now).await;
    Ok(Some(decision))
}

/// An admin decides before the date, in either direction.
pub async fn decide_early(
    db: &DatabaseConnection,
    after: &(impl AfterCommit + ?Sized),
    session_id: Uuid,
    decision: SessionDecision,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    match decide_session(db, after, session_id, Some(decision), now).await? {
        Some(_) => Ok(()),
        None => match sessions::Entity::find_by_id(session_id).one(db).await? {
            None => Err(ApiError::not_found("session")),
            Some(_) => Err(ApiError::conflict(
                ErrorCode::SessionAlreadyDecided,
                "this session was already decided",
            )),
        },
    }
}

/// Records a decision's event, with the session as it is now.
async fn announce(
    txn: &DatabaseTransaction,
    session_id: Uuid,
    event_type: EventType,
) -> ApiResult<()> {
    let session = sessions::Entity::find_by_id(session_id)
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    crate::domain::catalog::seats::announce_session(txn, &session, event_type, Utc::now()).await?;
    Ok(())
}

async fn run(
    txn: &DatabaseTransaction,
    session: &sessions::Model,
    active: &[bookings::Model],
) -> ApiResult<()> {
    sessions::Entity::update_many()
        .col_expr(
            Column::Decision,
            Expr::value(SessionDecision::Confirmed.as_str()),
        )
        .filter(Column::Id.eq(session.id))
        .exec(txn)
        .await?;
    announce(txn, session.id, EventType::SessionConfirmed).await?;
    let (subject, body) = mail::session_confirmed(session);
    for b in active
        .iter()
        .filter(|b| b.status == BookingStatus::Confirmed)
    {
        mail::queue(txn, &b.user_email, subject.clone(), body.clone()).await?;
    }
    Ok(())
}

/// Closes the session for good, releases every hold and refunds every
/// paid seat in full; answers the owed calls to make after the commit.
async fn cancel(
    txn: &DatabaseTransaction,
    session: &sessions::Model,
    active: Vec<bookings::Model>,
    now: DateTime<Utc>,
) -> ApiResult<Vec<Uuid>> {
    sessions::Entity::update_many()
        .col_expr(
            Column::Decision,
            Expr::value(SessionDecision::Cancelled.as_str()),
        )
        .col_expr(Column::ClosedByAdmin, Expr::value(true))
        .col_expr(Column::Status, Expr::value(SessionStatus::Closed.as_str()))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(session.id))
        .exec(txn)
        .await?;
    announce(txn, session.id, EventType::SessionCancelled).await?;
    waitlist::close(txn, session.id).await?;
    let mut owed = Vec::new();
    let mut refunded = Vec::new();
    for booking in active {
        let mut booking = booking;
        if booking.status == BookingStatus::Held {
            if end_hold(txn, &booking, BookingStatus::Cancelled, now, None).await? {
                owed.extend(
                    owed::owe_expiry(
                        txn,
                        booking.id,
                        booking.stripe_checkout_session_id.as_deref(),
                        now,
                    )
                    .await?,
                );
                let (subject, body) = mail::session_cancelled(session, None);
                mail::queue(txn, &booking.user_email, subject, body).await?;
                continue;
            }
            // Paid meanwhile: refund it like any confirmed seat.
            match bookings::Entity::find_by_id(booking.id).one(txn).await? {
                Some(now_row) => booking = now_row,
                None => continue,
            }
        }
        if booking.status == BookingStatus::Confirmed {
            owed.extend(refund_seat(txn, session, &booking, now).await?);
            refunded.push(booking.id);
        }
    }
    // The credit notes once every seat is locked and moved: the series'
    // counter is taken last, so a refund of one of these seats arriving
    // meanwhile (which takes its seat, then the counter) never waits on
    // this transaction in the other order.
    for id in refunded {
        credit_notes::cover_seat(txn, id, now).await?;
    }
    Ok(owed)
}

/// A confirmed seat of a cancelled session: refunded in full (less what a
/// dashboard refund already gave back), its seat released, a mail queued.
async fn refund_seat(
    txn: &DatabaseTransaction,
    session: &sessions::Model,
    booking: &bookings::Model,
    now: DateTime<Utc>,
) -> ApiResult<Option<Uuid>> {
    let already = booking.refunded_cents.unwrap_or(0);
    let amount = (booking.amount_cents - already).max(0);
    let payment = booking
        .stripe_payment_intent_id
        .as_deref()
        .filter(|_| amount > 0);
    let (to, mut fields) = match payment {
        Some(_) => (
            BookingStatus::Refunded,
            // Never below what a refund seen meanwhile recorded.
            vec![(
                B::RefundedCents,
                crate::domain::billing::gateway_refunds::high_water(
                    Expr::col(B::RefundedCents),
                    already + amount,
                ),
            )],
        ),
        None => (BookingStatus::Cancelled, vec![]),
    };
    fields.push((B::CancelledAt, Expr::value(now)));
    if !transition(txn, booking.id, &[BookingStatus::Confirmed], to, fields).await? {
        return Ok(None);
    }
    waitlist::release_seat(txn, booking.session_id, now, None).await?;
    let (subject, body) = mail::session_cancelled(
        session,
        payment.map(|_| (amount, booking.currency.as_str())),
    );
    mail::queue(txn, &booking.user_email, subject, body).await?;
    let owed = match payment {
        Some(pi) => {
            owed::owe_refund(
                txn,
                Some(booking.id),
                pi,
                amount,
                OwedReason::SessionCancelled,
                now,
            )
            .await?
        }
        None => None,
    };
    Ok(owed)
}
