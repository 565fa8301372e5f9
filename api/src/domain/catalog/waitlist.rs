//! The waiting list of full sessions. People wait in the order they
//! joined; a freed seat (a cancel, an expired hold, a refund, more places)
//! becomes an offer to the first in line, in the transaction that freed
//! it: a held booking for them, counted in `reserved_places` like any hold
//! (invariant 1), for `WAITLIST_OFFER_HOURS`, with a French mail. A
//! declined or lapsed offer passes the seat to the next; with nobody
//! waiting, the seat goes back on sale.
//!
//! Order under concurrency: every path that frees a seat first updates the
//! session's row (`seats::release`), which locks it until the commit, and
//! only then looks for the first in line; a join locks the same row. So
//! frees and joins of one session are serialized, and each offer sees the
//! ones before it: one seat never goes to two people, nobody is skipped.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use common::ErrorCode;
use common::bookings::BookingStatus;
use common::events::EventType;
use common::sessions::SessionDecision;
use common::waitlist::{WaitlistEntryDto, WaitlistStatus};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use crate::config::Offers;
use crate::domain::catalog::seats::{self, NoSeat};
use crate::domain::platform::clock::today_at_venue;
use crate::domain::{is_unique_violation, platform::mail};
use crate::error::{ApiError, ApiResult};
use entity::immersion_bookings as bookings;
use entity::immersion_sessions as sessions;
use entity::waitlist_entries::{self as entries, Column};

const IN_LINE: [&str; 2] = [
    WaitlistStatus::Waiting.as_str(),
    WaitlistStatus::Offered.as_str(),
];

/// Gives a seat back and offers it to the first in line (with `offers`;
/// none when the caller closes the session anyway).
pub async fn release_seat(
    txn: &DatabaseTransaction,
    session_id: Uuid,
    now: DateTime<Utc>,
    offers: Option<&Offers>,
) -> ApiResult<()> {
    seats::release(txn, session_id, today_at_venue(now)).await?;
    if let Some(offers) = offers {
        offer_next(txn, session_id, now, offers).await?;
    }
    Ok(())
}

/// Offers free seats of a session to the people in line, while both last,
/// in the transaction of the admin's edit that freed them (more places,
/// reopened, reactivated).
pub(super) async fn offer_free_seats(
    txn: &DatabaseTransaction,
    session_id: Uuid,
    now: DateTime<Utc>,
    offers: &Offers,
) -> ApiResult<()> {
    while offer_next(txn, session_id, now, offers).await?.is_some() {}
    Ok(())
}

/// Offers one free seat to the first in line; the offer's booking id, or
/// none when nobody waits or no seat can be offered.
async fn offer_next(
    txn: &DatabaseTransaction,
    session_id: Uuid,
    now: DateTime<Utc>,
    offers: &Offers,
) -> ApiResult<Option<Uuid>> {
    loop {
        let Some(first) = entries::Entity::find()
            .filter(Column::SessionId.eq(session_id))
            .filter(Column::Status.eq(WaitlistStatus::Waiting.as_str()))
            .order_by_asc(Column::JoinedAt)
            .order_by_asc(Column::Id)
            .one(txn)
            .await?
        else {
            return Ok(None);
        };
        // One offer is a savepoint: if its entry leaves the line meanwhile
        // (a leave does not lock the session), this offer alone is undone
        // and the next in line is asked, rather than the whole change.
        let offer = txn.begin().await?;
        let taker = seats::Taker {
            user: first.user_id,
            cooldown_since: None,
            from_catalog: false,
            address: None,
            one_hold_unless_verified: false,
            named: false,
        };
        let session =
            match seats::take(&offer, session_id, today_at_venue(now), true, Some(taker)).await? {
                Ok(session) => session,
                // They hold or have a seat already: they no longer wait.
                Err(NoSeat::AlreadyBooked) => {
                    set_status(
                        &offer,
                        first.id,
                        WaitlistStatus::Waiting,
                        WaitlistStatus::Booked,
                        None,
                    )
                    .await?;
                    offer.commit().await?;
                    continue;
                }
                // No seat to offer (taken, closed, started): they keep their place.
                Err(_) => return Ok(None),
            };
        let booking_id = Uuid::new_v4();
        let expires = now + offers.hold;
        let held = seats::held_booking(
            booking_id,
            &session,
            (first.user_id, &first.user_email),
            (expires, None),
            now,
        );
        bookings::Entity::insert(held.into_active_model())
            .exec(&offer)
            .await?;
        if !set_status(
            &offer,
            first.id,
            WaitlistStatus::Waiting,
            WaitlistStatus::Offered,
            Some(booking_id),
        )
        .await?
        {
            offer.rollback().await?;
            continue;
        }
        // Heard of as a seat held, and as an offer (the same booking).
        for event_type in [EventType::BookingHeld, EventType::WaitlistOffered] {
            seats::announce_booking(&offer, booking_id, event_type, now).await?;
        }
        let (subject, body) =
            mail::waitlist_offer(&session, booking_id, expires, &offers.public_url);
        mail::queue(&offer, &first.user_email, subject, body).await?;
        offer.commit().await?;
        tracing::info!(session = %session_id, booking = %booking_id, "waitlist offer made");
        return Ok(Some(booking_id));
    }
}

/// Moves an entry `from` → `to`; true when this call did it.
async fn set_status(
    db: &impl ConnectionTrait,
    id: Uuid,
    from: WaitlistStatus,
    to: WaitlistStatus,
    booking_id: Option<Uuid>,
) -> Result<bool, sea_orm::DbErr> {
    let mut update = entries::Entity::update_many()
        .col_expr(Column::Status, Expr::value(to.as_str()))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()));
    if let Some(b) = booking_id {
        update = update.col_expr(Column::BookingId, Expr::value(b));
    }
    let res = update
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(from.as_str()))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// The offer behind `booking_id`, if any, ended unpaid.
pub async fn offer_ended(
    db: &impl ConnectionTrait,
    booking_id: Uuid,
) -> Result<(), sea_orm::DbErr> {
    mark_offer(
        db,
        booking_id,
        &[WaitlistStatus::Offered],
        WaitlistStatus::Lapsed,
    )
    .await
}

/// The offer behind `booking_id`, if any, was paid (late too).
pub async fn offer_paid(db: &impl ConnectionTrait, booking_id: Uuid) -> Result<(), sea_orm::DbErr> {
    let from = [WaitlistStatus::Offered, WaitlistStatus::Lapsed];
    mark_offer(db, booking_id, &from, WaitlistStatus::Booked).await
}

async fn mark_offer(
    db: &impl ConnectionTrait,
    booking_id: Uuid,
    from: &[WaitlistStatus],
    to: WaitlistStatus,
) -> Result<(), sea_orm::DbErr> {
    entries::Entity::update_many()
        .col_expr(Column::Status, Expr::value(to.as_str()))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(Column::BookingId.eq(booking_id))
        .filter(Column::Status.is_in(from.iter().map(|s| s.as_str())))
        .exec(db)
        .await?;
    Ok(())
}

/// A cancelled session's list is closed: nobody waits any more.
pub async fn close(db: &impl ConnectionTrait, session_id: Uuid) -> Result<(), sea_orm::DbErr> {
    entries::Entity::update_many()
        .col_expr(Column::Status, Expr::value(WaitlistStatus::Closed.as_str()))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(Column::SessionId.eq(session_id))
        .filter(Column::Status.is_in(IN_LINE))
        .exec(db)
        .await?;
    Ok(())
}

/// Joins the line of a full session.
pub async fn join(
    db: &DatabaseConnection,
    user_id: Uuid,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<WaitlistEntryDto> {
    let today = today_at_venue(now);
    let txn = db.begin().await?;
    // Locks the session's row (see the module doc), and checks in the same
    // statement that it is full and still bookable.
    use sessions::Column as S;
    let locked = sessions::Entity::update_many()
        .col_expr(S::UpdatedAt, Expr::col(S::UpdatedAt))
        .filter(S::Id.eq(session_id))
        .filter(S::IsActive.eq(true))
        .filter(S::ClosedByAdmin.eq(false))
        .filter(S::StartsOn.gt(today))
        .filter(
            S::Decision
                .is_null()
                .or(S::Decision.ne(SessionDecision::Cancelled.as_str())),
        )
        .filter(Expr::col(S::ReservedPlaces).gte(Expr::col(S::MaxPlaces)))
        .exec(&txn)
        .await?;
    // Nobody erased while this request ran joins (their place would
    // carry their address past the erasure, and be offered a seat).
    let user = crate::domain::accounts::standing::require_live(&txn, user_id).await?;
    let session = sessions::Entity::find_by_id(session_id)
        .one(&txn)
        .await?
        .filter(|s| s.is_active)
        .ok_or_else(|| ApiError::not_found("session"))?;
    if locked.rows_affected == 0 {
        return Err(
            if session.reserved_places < session.max_places
                && !session.closed_by_admin
                && session.starts_on > today
            {
                ApiError::conflict(
                    ErrorCode::SessionNotFull,
                    "places are free: book one instead",
                )
            } else {
                ApiError::conflict(
                    ErrorCode::SessionClosed,
                    "bookings are closed for this session",
                )
            },
        );
    }
    let booked = bookings::Entity::find()
        .filter(bookings::Column::SessionId.eq(session_id))
        .filter(bookings::Column::UserId.eq(user_id))
        .filter(bookings::Column::Status.is_in([
            BookingStatus::Held.as_str(),
            BookingStatus::Confirmed.as_str(),
        ]))
        .one(&txn)
        .await?;
    if booked.is_some() {
        return Err(ApiError::conflict(
            ErrorCode::AlreadyBooked,
            "you already hold or have a place in this session",
        ));
    }
    let id = Uuid::new_v4();
    let inserted = entries::Entity::insert(entries::ActiveModel {
        id: Set(id),
        session_id: Set(session_id),
        user_id: Set(user_id),
        user_email: Set(user.email),
        status: Set(WaitlistStatus::Waiting),
        booking_id: Set(None),
        joined_at: Set(now),
        updated_at: Set(now),
    })
    .exec(&txn)
    .await;
    match inserted {
        Ok(_) => txn.commit().await?,
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::conflict(
                ErrorCode::AlreadyWaiting,
                "you are already in the waiting list of this session",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    of_session(db, session_id)
        .await?
        .into_iter()
        .find(|e| e.id == id)
        .ok_or_else(|| ApiError::internal("joined entry not found"))
}

/// The entry of `user_id` in line for `session_id` (waiting or offered).
pub async fn entry_of(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    session_id: Uuid,
) -> ApiResult<entries::Model> {
    entries::Entity::find()
        .filter(Column::SessionId.eq(session_id))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::Status.is_in(IN_LINE))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("waiting-list entry"))
}

/// An entry by id (for admins).
pub async fn entry(db: &impl ConnectionTrait, id: Uuid) -> ApiResult<entries::Model> {
    entries::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("waiting-list entry"))
}

/// Takes an entry out of line (`left` or `removed`). A waiting entry
/// just leaves; an offered one declines its offer: the held booking ends
/// and its seat goes to the next in line. Answers the booking whose hold
/// must end (the caller ends it, with its Checkout Session).
pub async fn take_out(
    txn: &DatabaseTransaction,
    entry: &entries::Model,
    to: WaitlistStatus,
) -> ApiResult<Option<Uuid>> {
    let from = entry.status;
    if !matches!(from, WaitlistStatus::Waiting | WaitlistStatus::Offered)
        || !set_status(txn, entry.id, from, to, None).await?
    {
        return Err(ApiError::not_found("waiting-list entry"));
    }
    Ok(entry.booking_id.filter(|_| from == WaitlistStatus::Offered))
}

/// My entries still in line, with my place, soonest session first.
pub async fn mine(db: &impl ConnectionTrait, user_id: Uuid) -> ApiResult<Vec<WaitlistEntryDto>> {
    let rows = entries::Entity::find()
        .filter(Column::UserId.eq(user_id))
        .filter(Column::Status.is_in(IN_LINE))
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for e in rows {
        let line = of_session(db, e.session_id).await?;
        if let Some(mine) = line.into_iter().find(|x| x.id == e.id) {
            out.push(mine);
        }
    }
    out.sort_by_key(|e| (e.starts_on, e.joined_at));
    Ok(out)
}

/// A session's list in line order: places for those waiting, and every
/// entry that ever joined (for admins).
pub async fn of_session(
    db: &impl ConnectionTrait,
    session_id: Uuid,
) -> ApiResult<Vec<WaitlistEntryDto>> {
    let session = sessions::Entity::find_by_id(session_id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    let rows = entries::Entity::find()
        .filter(Column::SessionId.eq(session_id))
        .order_by_asc(Column::JoinedAt)
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    let offers: HashMap<Uuid, Option<DateTime<Utc>>> = bookings::Entity::find()
        .filter(bookings::Column::Id.is_in(rows.iter().filter_map(|e| e.booking_id)))
        .filter(bookings::Column::Status.eq(BookingStatus::Held.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|b| (b.id, b.hold_expires_at))
        .collect();
    let mut place = 0;
    rows.into_iter()
        .map(|e| {
            let status = e.status;
            let place = (status == WaitlistStatus::Waiting).then(|| {
                place += 1;
                place
            });
            Ok(WaitlistEntryDto {
                id: e.id,
                session_id,
                user_email: e.user_email,
                status,
                place,
                booking_id: e.booking_id,
                offer_expires_at: e.booking_id.and_then(|b| offers.get(&b).copied().flatten()),
                starts_on: session.starts_on,
                ends_on: session.ends_on,
                location: session.location.clone(),
                joined_at: e.joined_at,
            })
        })
        .collect()
}

/// How many wait, per session that has anyone waiting.
pub(super) async fn waiting_counts(
    db: &impl ConnectionTrait,
) -> Result<HashMap<Uuid, i32>, sea_orm::DbErr> {
    let rows: Vec<(Uuid, i64)> = entries::Entity::find()
        .select_only()
        .column(Column::SessionId)
        .column_as(Column::Id.count(), "n")
        .filter(Column::Status.eq(WaitlistStatus::Waiting.as_str()))
        .group_by(Column::SessionId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, n)| (id, i32::try_from(n).unwrap_or(i32::MAX)))
        .collect())
}
