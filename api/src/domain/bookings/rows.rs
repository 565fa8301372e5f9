//! The row-level moves of a booking that holds, payments and decisions
//! share: a guarded status change, the end of an unpaid hold, and what a
//! confirmation brings. Only this folder uses the first and the last.

use chrono::{DateTime, Utc};
use common::bookings::BookingStatus;
use common::events::EventType;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::config::Offers;
use crate::domain::catalog::seats::announce_booking;
use crate::domain::catalog::waitlist;
use crate::domain::platform::mail;
use crate::error::{ApiError, ApiResult};
use entity::immersion_bookings::{self as bookings, Column};
use entity::{immersion_sessions as sessions, users};

/// Moves a booking from one of `from` to `to`; true when this call did it
/// (a concurrent caller that got there first leaves it false).
pub(super) async fn transition(
    db: &impl ConnectionTrait,
    id: Uuid,
    from: &[BookingStatus],
    to: BookingStatus,
    extra: Vec<(Column, sea_orm::sea_query::SimpleExpr)>,
) -> Result<bool, sea_orm::DbErr> {
    let mut update = bookings::Entity::update_many()
        .col_expr(Column::Status, Expr::value(to.as_str()))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()));
    for (col, value) in extra {
        update = update.col_expr(col, value);
    }
    let res = update
        .filter(Column::Id.eq(id))
        .filter(Column::Status.is_in(from.iter().map(|s| s.as_str())))
        .exec(db)
        .await?;
    if res.rows_affected != 1 {
        return Ok(false);
    }
    // Every move of a booking is heard of, from this one place.
    let event_type = match to {
        BookingStatus::Held => EventType::BookingHeld,
        BookingStatus::Confirmed => EventType::BookingConfirmed,
        BookingStatus::Cancelled => EventType::BookingCancelled,
        BookingStatus::Expired => EventType::BookingExpired,
        BookingStatus::Refunded => EventType::BookingRefunded,
    };
    announce_booking(db, id, event_type, Utc::now()).await?;
    Ok(true)
}

/// The one way a hold ends unpaid (cancel, expiry event, sweeper, failed
/// checkout, a declined offer): `held` → `to` and the seat back (to the
/// waiting list with `offers`), in the caller's transaction. False when
/// the booking was no longer held.
pub async fn end_hold(
    txn: &DatabaseTransaction,
    booking: &bookings::Model,
    to: BookingStatus,
    now: DateTime<Utc>,
    offers: Option<&Offers>,
) -> ApiResult<bool> {
    let extra = if to == BookingStatus::Cancelled {
        vec![(Column::CancelledAt, Expr::value(now))]
    } else {
        vec![]
    };
    if !transition(txn, booking.id, &[BookingStatus::Held], to, extra).await? {
        return Ok(false);
    }
    free_held_seat(txn, booking, now, offers).await?;
    Ok(true)
}

/// What follows a hold's end, however it ended (lapsed, cancelled, or
/// paid too late and refunded): an offer it was is over, and its seat goes
/// back (to the waiting list with `offers`).
pub(super) async fn free_held_seat(
    txn: &DatabaseTransaction,
    booking: &bookings::Model,
    now: DateTime<Utc>,
    offers: Option<&Offers>,
) -> ApiResult<()> {
    waitlist::offer_ended(txn, booking.id).await?;
    waitlist::release_seat(txn, booking.session_id, now, offers).await
}

/// The license and the confirmation mail, in the confirming transaction.
pub(super) async fn confirmed(
    txn: &DatabaseTransaction,
    booking: &bookings::Model,
) -> ApiResult<()> {
    users::Entity::update_many()
        .col_expr(
            users::Column::License,
            Expr::value(common::auth::License::Immersion.as_str()),
        )
        .col_expr(users::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(users::Column::Id.eq(booking.user_id))
        .exec(txn)
        .await?;
    waitlist::offer_paid(txn, booking.id).await?;
    let session = sessions::Entity::find_by_id(booking.session_id)
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::internal("booking without session"))?;
    let (subject, body) = mail::confirmation(&session, booking.amount_cents, &booking.currency);
    mail::queue(txn, &booking.user_email, subject, body).await?;
    Ok(())
}
