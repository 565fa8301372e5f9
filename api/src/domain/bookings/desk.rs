//! Seat bookings: hold and checkout, payment effects applied from webhook
//! events, cancellation with the refund rule, and the lists people read.
//! Seats move only through `seats`, in the transaction of the booking change.

use chrono::{DateTime, Utc};
use common::ErrorCode;
use common::bookings::{BookingDto, BookingStatus, CheckoutResponse, refund_on_cancel};
use common::events::EventType;
use common::format::format_session_dates;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    TransactionTrait,
};
use uuid::Uuid;

use super::rows::{end_hold, transition};
use crate::config::Policy;
use crate::db::checkout_ids::CheckoutIds;
use crate::domain::billing::credit_notes;
use crate::domain::billing::gateway_refunds::high_water;
use crate::domain::billing::owed::AfterCommit;
use crate::domain::billing::owed::{self, OwedReason};
use crate::domain::catalog::seats::{self, NoSeat};
use crate::domain::catalog::waitlist;
use crate::domain::is_unique_violation;
use crate::domain::platform::actor::Actor;
use crate::domain::platform::clock::{Clock, today_at_venue};
use crate::domain::platform::events;
use crate::domain::platform::gateway::gateway_failed;
use crate::error::{ApiError, ApiResult};
use crate::payments::events::Payment;
use crate::payments::{CheckoutRequest, MIN_HOLD, PaymentGateway, checkout_expiry};
use entity::immersion_bookings::{self as bookings, Column};
use entity::immersion_sessions as sessions;

/// What booking changes work with: the database, the batcher that stores
/// Checkout Session ids, the policy, and the clock calls are timed by.
pub struct Desk<'a> {
    pub db: &'a sea_orm::DatabaseConnection,
    pub checkout_ids: &'a CheckoutIds,
    pub policy: &'a Policy,
    pub clock: &'a dyn Clock,
}

pub fn to_dto(b: bookings::Model, s: &sessions::Model, cutoff_days: i64) -> ApiResult<BookingDto> {
    Ok(seats::booking_dto(b, s, cutoff_days))
}

/// Booking flow 1: take a seat and hold it, then open a Checkout Session
/// that expires with the hold. A gateway failure gives the seat back.
/// The hold lasts at least `MIN_HOLD`, so that a Checkout Session inside
/// Stripe's window (30 min to 24 h after its creation) never outlives it.
#[tracing::instrument(skip(desk, gateway, user), fields(user = %user.id))]
pub async fn hold(
    desk: &Desk<'_>,
    gateway: &dyn PaymentGateway,
    user: &Actor,
    (session_id, address): (Uuid, Option<&str>),
    now: DateTime<Utc>,
) -> ApiResult<CheckoutResponse> {
    let today = today_at_venue(now);
    let hold_expires_at = now + desk.policy.hold.max(MIN_HOLD);
    let txn = desk.db.begin().await?;
    let taker = seats::Taker {
        user: user.id,
        cooldown_since: desk.policy.hold_cooldown.map(|c| now - c),
        from_catalog: true,
        address: address.map(|a| (a, desk.policy.holds_per_address)),
        one_hold_unless_verified: true,
        // Checked in the seat's own statement: no read of its own.
        named: true,
    };
    let session = match seats::take(&txn, session_id, today, true, Some(taker)).await? {
        Ok(session) => session,
        Err(no) => {
            // The write lock goes back before the answer: on SQLite the
            // UPDATE that matched nothing holds it until the rollback,
            // which a dropped transaction leaves to a task for later.
            txn.rollback().await?;
            return Err(refused(no, desk.policy, now));
        }
    };
    let booking_id = Uuid::new_v4();
    let held = seats::held_booking(
        booking_id,
        &session,
        (user.id, &user.email),
        (hold_expires_at, address),
        now,
    );
    let inserted = bookings::Entity::insert(held.clone().into_active_model())
        .exec(&txn)
        .await;
    let refusal = match inserted {
        Ok(_) => seats::over_limits(&txn, session_id, taker)
            .await?
            .map(|over| refused(over, desk.policy, now)),
        Err(e) if is_unique_violation(&e) => Some(already_booked()),
        Err(e) => return Err(e.into()),
    };
    if let Some(refusal) = refusal {
        // The rollback gives the seat back (and the write lock, at once).
        txn.rollback().await?;
        return Err(refusal);
    }
    events::record(
        &txn,
        EventType::BookingHeld,
        booking_id,
        &seats::booking_dto(held.clone(), &session, 0),
        now,
    )
    .await?;
    txn.commit().await?;

    // Measured when the call is made, not when the seat was taken.
    let expires_at = checkout_expiry(hold_expires_at, desk.clock.now());
    let opened = open_checkout(desk, gateway, &held, &session, user, expires_at).await;
    if opened.is_err() {
        release_hold(desk, booking_id, now).await?;
    }
    opened
}

/// Opens the Checkout Session of a held booking, for the amount it was
/// booked at and expiring at `expires_at`, and records its id. A new hold
/// that would end before Stripe's earliest expiry follows the Checkout
/// Session, so the seat stays held while it can be paid; paying again
/// never asks for that (`pay`).
async fn open_checkout(
    desk: &Desk<'_>,
    gateway: &dyn PaymentGateway,
    booking: &bookings::Model,
    session: &sessions::Model,
    user: &Actor,
    expires_at: DateTime<Utc>,
) -> ApiResult<CheckoutResponse> {
    let booking_id = booking.id;
    let hold_expires_at = booking.hold_expires_at.unwrap_or(expires_at);
    let public = &desk.policy.public_url;
    let request = CheckoutRequest {
        booking_id,
        session_id: session.id,
        user_id: user.id,
        customer_email: user.email.clone(),
        product_name: format!(
            "Immersion Élite, {}",
            format_session_dates(session.starts_on, session.ends_on)
        ),
        // What was booked, even if the session's price changed since.
        amount_cents: booking.amount_cents,
        currency: booking.currency.clone(),
        expires_at,
        success_url: format!("{public}/immersion-elite/merci?booking_id={booking_id}"),
        cancel_url: format!("{public}/immersion-elite/annulation?booking_id={booking_id}"),
        replaces: booking.stripe_checkout_session_id.clone(),
        invoice_fields: desk.policy.seller_mentions.clone(),
    };
    let checkout = gateway
        .create_checkout(&request)
        .await
        .map_err(gateway_failed)?;
    let hold_expires_at = if request.expires_at > hold_expires_at {
        bookings::Entity::update_many()
            .col_expr(Column::HoldExpiresAt, Expr::value(request.expires_at))
            .filter(Column::Id.eq(booking_id))
            .filter(Column::Status.eq(BookingStatus::Held.as_str()))
            .exec(desk.db)
            .await?;
        request.expires_at
    } else {
        hold_expires_at
    };
    // Ended while the page was being opened (the session was cancelled,
    // an admin cancelled it): close the page rather than hand it out.
    let still_held = desk
        .checkout_ids
        .record(desk.db, booking_id, checkout.id.clone())
        .await?;
    if !still_held {
        let now = desk.clock.now();
        let owed = owed::owe_expiry(desk.db, booking_id, Some(&checkout.id), now).await?;
        let owed: Vec<Uuid> = owed.into_iter().collect();
        owed::settle_now(desk.db, gateway, &owed, now).await?;
        return Err(ApiError::conflict(
            ErrorCode::BookingNotPayable,
            "this booking ended while its payment page was being opened",
        ));
    }
    Ok(CheckoutResponse {
        booking_id,
        checkout_session_id: checkout.id,
        checkout_url: checkout.url,
        hold_expires_at,
    })
}

/// The booking whose Checkout Session is `checkout_id`, with its session.
pub async fn by_checkout(
    db: &impl ConnectionTrait,
    checkout_id: &str,
) -> Result<Option<(bookings::Model, sessions::Model)>, sea_orm::DbErr> {
    let found = bookings::Entity::find()
        .filter(Column::StripeCheckoutSessionId.eq(checkout_id))
        .find_also_related(sessions::Entity)
        .one(db)
        .await?;
    Ok(found.and_then(|(b, s)| s.map(|s| (b, s))))
}

/// Pays a held booking of mine: a waiting-list offer, or a hold whose
/// Checkout page was closed. The hold's end never moves (invariant 14):
/// its Checkout Session, while still open, is handed out again; otherwise
/// a new one opens that expires by the hold's end, when Stripe's window
/// (at least 30 minutes) still fits before it.
#[tracing::instrument(skip(desk, gateway, user), fields(user = %user.id))]
pub async fn pay(
    desk: &Desk<'_>,
    gateway: &dyn PaymentGateway,
    user: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<CheckoutResponse> {
    let (booking, session) = visible_booking(desk, user, id).await?;
    if booking.user_id != user.id {
        // An admin sees it, but only its owner pays it.
        return Err(ApiError::not_found("booking"));
    }
    crate::domain::accounts::profiles::require_names(desk.db, user.id).await?;
    if session.starts_on <= today_at_venue(now) {
        // Its payment would only be refunded (invariant 15).
        return Err(ApiError::conflict(
            ErrorCode::BookingNotPayable,
            "the session has begun: its places can no longer be paid",
        ));
    }
    let hold_end = booking.hold_expires_at.filter(|end| *end > now);
    let (BookingStatus::Held, Some(hold_end)) = (booking.status, hold_end) else {
        return Err(ApiError::conflict(
            ErrorCode::BookingNotPayable,
            "only a booking held for you, and not yet lapsed, can be paid",
        ));
    };
    if let Some(page) = &booking.stripe_checkout_session_id {
        if let Some(open) = gateway
            .reopen_checkout(page)
            .await
            .map_err(gateway_failed)?
        {
            return Ok(CheckoutResponse {
                booking_id: booking.id,
                checkout_session_id: open.id,
                checkout_url: open.url,
                hold_expires_at: hold_end,
            });
        }
        // Not open: a new page only if that one expired unpaid. One that
        // was completed carries a payment on its way (a card's webhook, a
        // bank transfer's days): a second page would have it refunded.
        let closed = gateway
            .checkout_session(page)
            .await
            .map_err(gateway_failed)?;
        if !matches!(closed, Some(Payment::SeatCheckoutClosed(_))) {
            return Err(ApiError::conflict(
                ErrorCode::BookingNotPayable,
                "a payment of this booking is on its way; it is confirmed when it arrives",
            ));
        }
    }
    let expires_at = checkout_expiry(hold_end, desk.clock.now());
    if expires_at > hold_end {
        return Err(ApiError::conflict(
            ErrorCode::BookingNotPayable,
            "too little time is left on this hold for a new payment page; \
             the place is freed when the hold ends",
        ));
    }
    open_checkout(desk, gateway, &booking, &session, user, expires_at).await
}

fn already_booked() -> ApiError {
    ApiError::conflict(
        ErrorCode::AlreadyBooked,
        "you already hold or have a place in this session",
    )
}

async fn release_hold(desk: &Desk<'_>, booking_id: Uuid, now: DateTime<Utc>) -> ApiResult<()> {
    let txn = desk.db.begin().await?;
    if let Some(booking) = bookings::Entity::find_by_id(booking_id).one(&txn).await? {
        end_hold(
            &txn,
            &booking,
            BookingStatus::Expired,
            now,
            Some(&desk.policy.offers),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

async fn visible_booking(
    desk: &Desk<'_>,
    actor: &Actor,
    id: Uuid,
) -> ApiResult<(bookings::Model, sessions::Model)> {
    let found = bookings::Entity::find_by_id(id)
        .find_also_related(sessions::Entity)
        .one(desk.db)
        .await?;
    match found {
        // Another user's booking is "not found": ids reveal nothing.
        Some((b, Some(s))) if b.user_id == actor.id || actor.is_admin() => Ok((b, s)),
        _ => Err(ApiError::not_found("booking")),
    }
}

#[tracing::instrument(skip(desk, actor), fields(user = %actor.id))]
pub async fn get(desk: &Desk<'_>, actor: &Actor, id: Uuid) -> ApiResult<BookingDto> {
    let (b, s) = visible_booking(desk, actor, id).await?;
    let mut extras = Extras::of(desk.db, [b.id]).await?;
    Ok(extras.add(to_dto(b, &s, desk.policy.cancellation_cutoff_days)?))
}

/// What a booking's answer tells beyond its row: its invoice's and credit
/// notes' addresses and whether a refund is still to be made. Read for a
/// page of bookings in three queries.
struct Extras {
    invoices: std::collections::HashMap<Uuid, String>,
    credit_notes: std::collections::HashMap<Uuid, Vec<String>>,
    pending: std::collections::HashSet<Uuid>,
}

impl Extras {
    async fn of(db: &impl ConnectionTrait, ids: impl IntoIterator<Item = Uuid>) -> ApiResult<Self> {
        let ids: Vec<Uuid> = ids.into_iter().collect();
        Ok(Self {
            invoices: crate::domain::billing::invoices::urls_of_seats(db, ids.iter().copied())
                .await?,
            credit_notes: credit_notes::urls_of_seats(db, &ids).await?,
            pending: owed::refunds_pending(db, ids).await?,
        })
    }

    fn add(&mut self, dto: BookingDto) -> BookingDto {
        BookingDto {
            invoice_url: self.invoices.remove(&dto.id),
            credit_note_urls: self.credit_notes.remove(&dto.id).unwrap_or_default(),
            refund_pending: self.pending.contains(&dto.id),
            ..dto
        }
    }
}

/// The calendar file of a confirmed booking (its owner or an admin): its
/// file name and text.
pub async fn calendar(desk: &Desk<'_>, actor: &Actor, id: Uuid) -> ApiResult<(String, String)> {
    let (b, s) = visible_booking(desk, actor, id).await?;
    if b.status != BookingStatus::Confirmed {
        return Err(ApiError::new(
            ErrorCode::BookingNotConfirmed,
            "only a confirmed seat has a calendar file",
        ));
    }
    let ics = crate::domain::bookings::calendar::booking_ics(&b, &s, &desk.policy.public_url);
    Ok((crate::domain::bookings::calendar::file_name(&s), ics))
}

#[tracing::instrument(skip(desk, user), fields(user = %user.id))]
pub async fn list_mine(desk: &Desk<'_>, user: &Actor) -> ApiResult<Vec<BookingDto>> {
    let rows = bookings::Entity::find()
        .filter(Column::UserId.eq(user.id))
        .find_also_related(sessions::Entity)
        .order_by_desc(Column::CreatedAt)
        .all(desk.db)
        .await?;
    let mut extras = Extras::of(desk.db, rows.iter().map(|(b, _)| b.id)).await?;
    rows.into_iter()
        .filter_map(|(b, s)| {
            s.map(|s| to_dto(b, &s, desk.policy.cancellation_cutoff_days).map(|d| extras.add(d)))
        })
        .collect()
}

/// A session's bookings, for admins: every status, oldest first.
#[tracing::instrument(skip(desk))]
pub async fn attendees(desk: &Desk<'_>, session_id: Uuid) -> ApiResult<Vec<BookingDto>> {
    let session = sessions::Entity::find_by_id(session_id)
        .one(desk.db)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    let rows = bookings::Entity::find()
        .filter(Column::SessionId.eq(session_id))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .all(desk.db)
        .await?;
    let cutoff = desk.policy.cancellation_cutoff_days;
    let names =
        crate::domain::accounts::profiles::names_of(desk.db, rows.iter().map(|b| b.user_id))
            .await?;
    let mut extras = Extras::of(desk.db, rows.iter().map(|b| b.id)).await?;
    rows.into_iter()
        .map(|b| {
            let name = names.get(&b.user_id).cloned();
            to_dto(b, &session, cutoff).map(|dto| BookingDto {
                attendee_name: name,
                ..extras.add(dto)
            })
        })
        .collect()
}

/// Booking flow 5: the owner or an admin cancels. The seat comes back; a paid
/// seat is refunded in full up to the cutoff (or when an admin forces it).
#[tracing::instrument(skip(desk, after, actor), fields(user = %actor.id))]
pub async fn cancel(
    desk: &Desk<'_>,
    after: &(impl AfterCommit + ?Sized),
    actor: &Actor,
    id: Uuid,
    force_refund: bool,
    now: DateTime<Utc>,
) -> ApiResult<BookingDto> {
    if force_refund && !actor.is_admin() {
        return Err(ApiError::forbidden());
    }
    let (booking, session) = visible_booking(desk, actor, id).await?;
    let today = today_at_venue(now);
    let offers_policy = desk.policy.offers.clone();
    let txn = desk.db.begin().await?;
    // What the provider is owed is committed with the change, and asked
    // of it only after the commit: no call while a row is locked.
    let owed = match booking.status {
        BookingStatus::Held => {
            if !end_hold(
                &txn,
                &booking,
                BookingStatus::Cancelled,
                now,
                Some(&offers_policy),
            )
            .await?
            {
                return Err(not_cancellable());
            }
            // So the abandoned Checkout page can no longer take a payment.
            owed::owe_expiry(&txn, id, booking.stripe_checkout_session_id.as_deref(), now).await?
        }
        BookingStatus::Confirmed => {
            let policy = refund_on_cancel(
                today,
                session.starts_on,
                desk.policy.cancellation_cutoff_days,
                booking.amount_cents,
            );
            let due = if force_refund {
                booking.amount_cents
            } else {
                policy
            };
            // What a partial refund (made in Stripe's dashboard) already
            // gave back is not refunded again: Stripe would refuse it.
            let already = booking.refunded_cents.unwrap_or(0);
            let amount = due.min(booking.amount_cents - already).max(0);
            let payment = booking.stripe_payment_intent_id.as_deref();
            let (to, mut fields) = match payment {
                Some(_) if amount > 0 => (
                    BookingStatus::Refunded,
                    // Never below what a refund seen meanwhile recorded.
                    vec![(
                        Column::RefundedCents,
                        high_water(Expr::col(Column::RefundedCents), already + amount),
                    )],
                ),
                _ => (BookingStatus::Cancelled, vec![]),
            };
            fields.push((Column::CancelledAt, Expr::value(now)));
            // The transition locks the row first, so two cancels cannot both refund.
            if !transition(&txn, id, &[BookingStatus::Confirmed], to, fields).await? {
                return Err(not_cancellable());
            }
            waitlist::release_seat(&txn, booking.session_id, now, Some(&offers_policy)).await?;
            let owed = match payment {
                Some(pi) if to == BookingStatus::Refunded => {
                    owed::owe_refund(&txn, Some(id), pi, amount, OwedReason::Cancel, now).await?
                }
                _ => None,
            };
            credit_notes::cover_seat(&txn, id, now).await?;
            owed
        }
        BookingStatus::Cancelled | BookingStatus::Expired | BookingStatus::Refunded => {
            return Err(not_cancellable());
        }
    };
    txn.commit().await?;
    // Answered once the refund is owed: it is made after, never while
    // the person waits (`refund_pending` until then).
    after.owed(desk.db, owed.into_iter().collect(), now).await;
    get(desk, actor, id).await
}

/// Why no seat was taken, as answered to the person who asked.
fn refused(no: NoSeat, policy: &crate::config::Policy, now: DateTime<Utc>) -> ApiError {
    match no {
        NoSeat::NotFound => ApiError::not_found("session"),
        NoSeat::AlreadyBooked => already_booked(),
        NoSeat::CoolingDown(ended) => {
            let until = ended + policy.hold_cooldown.unwrap_or_default();
            ApiError::RateLimited {
                retry_after_secs: (until - now).num_seconds().max(1) as u64,
            }
        }
        NoSeat::Closed => ApiError::conflict(
            ErrorCode::SessionClosed,
            "bookings are closed for this session",
        ),
        NoSeat::Full => {
            ApiError::conflict(ErrorCode::SessionFull, "no place is left in this session")
        }
        NoSeat::OwedToLine => ApiError::conflict(
            ErrorCode::SessionFull,
            "the free places go to the people on the waiting list first",
        ),
        NoSeat::AddressLimit(limit) => ApiError::conflict(
            ErrorCode::HoldLimit,
            format!(
                "{limit} seats of this session are already held from your network: \
                 pay for them or let them go first"
            ),
        ),
        NoSeat::Unnamed => crate::domain::accounts::profiles::names_missing(),
        NoSeat::Erased => crate::domain::accounts::standing::account_erased(),
        NoSeat::VerifyFirst => ApiError::conflict(
            ErrorCode::HoldLimit,
            "an account whose e-mail address is not verified holds one seat at a time: \
             verify it, or pay for the seat held first",
        ),
    }
}

fn not_cancellable() -> ApiError {
    ApiError::conflict(
        ErrorCode::BookingNotCancellable,
        "this booking is no longer active",
    )
}

/// Takes an entry out of a waiting list (`left` by its owner, `removed` by
/// an admin). An offered entry declines its offer: the held seat goes to
/// the next in line, and its Checkout page, if opened, is closed.
#[tracing::instrument(skip(desk, after, entry), fields(entry = %entry.id))]
pub async fn leave_waitlist(
    desk: &Desk<'_>,
    after: &(impl AfterCommit + ?Sized),
    entry: &entity::waitlist_entries::Model,
    to: common::waitlist::WaitlistStatus,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let offers = desk.policy.offers.clone();
    let txn = desk.db.begin().await?;
    let mut owed = None;
    if let Some(offer) = waitlist::take_out(&txn, entry, to).await?
        && let Some(booking) = bookings::Entity::find_by_id(offer).one(&txn).await?
        && end_hold(&txn, &booking, BookingStatus::Cancelled, now, Some(&offers)).await?
    {
        owed = owed::owe_expiry(
            &txn,
            booking.id,
            booking.stripe_checkout_session_id.as_deref(),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    after.owed(desk.db, owed.into_iter().collect(), now).await;
    Ok(())
}
