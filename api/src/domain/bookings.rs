//! Seat bookings: hold and checkout, payment effects applied from webhook
//! events, cancellation with the refund rule, and the lists people read.
//! Seats move only through `seats`, in the transaction of the booking change.

use actix_web::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use common::ErrorCode;
use common::bookings::{
    BookingDto, BookingStatus, CheckoutResponse, full_refund_until, refund_on_cancel,
};
use common::format::format_session_dates;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use uuid::Uuid;

use super::clock::today_at_venue;
use super::seats::{self, NoSeat};
use super::{is_unique_violation, mail};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::payments::{CheckoutRequest, PaymentGateway, RefundRequest};
use crate::state::AppState;
use crate::webhooks::event::{ChargeObject, CheckoutSessionObject};
use entity::immersion_bookings::{self as bookings, Column};
use entity::{immersion_sessions as sessions, users};

fn status_of(b: &bookings::Model) -> BookingStatus {
    BookingStatus::parse(&b.status).unwrap_or(BookingStatus::Expired)
}

pub fn to_dto(b: bookings::Model, s: &sessions::Model, cutoff_days: i64) -> BookingDto {
    BookingDto {
        id: b.id,
        session_id: b.session_id,
        user_id: b.user_id,
        status: status_of(&b),
        user_email: b.user_email,
        hold_expires_at: b.hold_expires_at,
        amount_cents: b.amount_cents,
        currency: b.currency,
        refunded_cents: b.refunded_cents,
        starts_on: s.starts_on,
        ends_on: s.ends_on,
        location: s.location.clone(),
        full_refund_until: full_refund_until(s.starts_on, cutoff_days),
        created_at: b.created_at,
        updated_at: b.updated_at,
    }
}

pub(crate) fn gateway_failed(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "payment gateway call failed");
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        ErrorCode::PaymentGatewayError,
        "the payment provider did not answer; nothing was charged, try again",
    )
}

/// Moves a booking from one of `from` to `to`; true when this call did it
/// (a concurrent caller that got there first leaves it false).
async fn transition(
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
    Ok(res.rows_affected == 1)
}

/// DESIGN §4.1: take a seat and hold it, then open a Checkout Session
/// that expires with the hold. A gateway failure gives the seat back.
#[tracing::instrument(skip(state, gateway, user), fields(user = %user.id))]
pub async fn hold(
    state: &AppState,
    gateway: &dyn PaymentGateway,
    user: &AuthUser,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<CheckoutResponse> {
    let today = today_at_venue(now);
    let hold_expires_at = now + Duration::minutes(state.settings.hold_minutes);
    let txn = state.db.begin().await?;
    let session = match seats::take(&txn, session_id, today, true, Some(user.id)).await? {
        Ok(session) => session,
        Err(NoSeat::NotFound) => return Err(ApiError::not_found("session")),
        Err(NoSeat::AlreadyBooked) => return Err(already_booked()),
        Err(NoSeat::Closed) => {
            return Err(ApiError::conflict(
                ErrorCode::SessionClosed,
                "bookings are closed for this session",
            ));
        }
        Err(NoSeat::Full) => {
            return Err(ApiError::conflict(
                ErrorCode::SessionFull,
                "no place is left in this session",
            ));
        }
    };
    let booking_id = Uuid::new_v4();
    let inserted = bookings::Entity::insert(bookings::ActiveModel {
        id: Set(booking_id),
        session_id: Set(session_id),
        user_id: Set(user.id),
        user_email: Set(user.email.clone()),
        status: Set(BookingStatus::Held.as_str().to_owned()),
        hold_expires_at: Set(Some(hold_expires_at)),
        stripe_checkout_session_id: Set(None),
        stripe_payment_intent_id: Set(None),
        amount_cents: Set(session.price_cents),
        currency: Set(session.currency.clone()),
        refund_id: Set(None),
        refunded_cents: Set(None),
        confirmed_at: Set(None),
        cancelled_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec(&txn)
    .await;
    match inserted {
        Ok(_) => txn.commit().await?,
        // Dropping the transaction rolls the seat back too.
        Err(e) if is_unique_violation(&e) => return Err(already_booked()),
        Err(e) => return Err(e.into()),
    }

    let public = &state.settings.public_url;
    let request = CheckoutRequest {
        booking_id,
        session_id,
        user_id: user.id,
        customer_email: user.email.clone(),
        product_name: format!(
            "Immersion Élite, {}",
            format_session_dates(session.starts_on, session.ends_on)
        ),
        amount_cents: session.price_cents,
        currency: session.currency.clone(),
        expires_at: hold_expires_at,
        success_url: format!("{public}/immersion-elite/merci?booking_id={booking_id}"),
        cancel_url: format!("{public}/immersion-elite/annulation?booking_id={booking_id}"),
    };
    let checkout = match gateway.create_checkout(&request).await {
        Ok(c) => c,
        Err(e) => {
            release_hold(state, booking_id, session_id, today).await?;
            return Err(gateway_failed(e));
        }
    };
    state
        .checkout_ids
        .record(&state.db, booking_id, checkout.id.clone())
        .await?;
    Ok(CheckoutResponse {
        booking_id,
        checkout_session_id: checkout.id,
        checkout_url: checkout.url,
        hold_expires_at,
    })
}

fn already_booked() -> ApiError {
    ApiError::conflict(
        ErrorCode::AlreadyBooked,
        "you already hold or have a place in this session",
    )
}

async fn release_hold(
    state: &AppState,
    booking_id: Uuid,
    session_id: Uuid,
    today: chrono::NaiveDate,
) -> ApiResult<()> {
    let txn = state.db.begin().await?;
    if transition(
        &txn,
        booking_id,
        &[BookingStatus::Held],
        BookingStatus::Expired,
        vec![],
    )
    .await?
    {
        seats::release(&txn, session_id, today).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// What applying an event did, recorded with the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Confirmed,
    ConfirmedLate,
    RefundedLate,
    Expired,
    Refunded,
    AlreadyApplied,
    AwaitingPayment,
    UnknownBooking,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::ConfirmedLate => "confirmed_late",
            Self::RefundedLate => "refunded_late",
            Self::Expired => "expired",
            Self::Refunded => "refunded",
            Self::AlreadyApplied => "already_applied",
            Self::AwaitingPayment => "awaiting_payment",
            Self::UnknownBooking => "unknown_booking",
        }
    }
}

async fn booking_of(
    txn: &DatabaseTransaction,
    cs: &CheckoutSessionObject,
) -> Result<Option<bookings::Model>, sea_orm::DbErr> {
    let by_id = match cs.booking_id() {
        Some(id) => bookings::Entity::find_by_id(id).one(txn).await?,
        None => None,
    };
    match by_id {
        Some(b) => Ok(Some(b)),
        None => {
            bookings::Entity::find()
                .filter(Column::StripeCheckoutSessionId.eq(cs.id.as_str()))
                .one(txn)
                .await
        }
    }
}

/// DESIGN §4.2 and §4.4: a paid Checkout Session confirms its booking; a
/// payment for a lapsed hold takes a free seat if there is one, and is
/// refunded otherwise.
pub async fn apply_payment(
    txn: &DatabaseTransaction,
    gateway: &dyn PaymentGateway,
    cs: &CheckoutSessionObject,
    now: DateTime<Utc>,
) -> ApiResult<Effect> {
    if !cs.is_paid() {
        return Ok(Effect::AwaitingPayment);
    }
    let Some(booking) = booking_of(txn, cs).await? else {
        tracing::warn!(checkout = %cs.id, "paid checkout session for no known booking");
        return Ok(Effect::UnknownBooking);
    };
    let today = today_at_venue(now);
    let paid = vec![
        (
            Column::StripePaymentIntentId,
            Expr::value(cs.payment_intent.clone()),
        ),
        (Column::StripeCheckoutSessionId, Expr::value(cs.id.clone())),
        (Column::ConfirmedAt, Expr::value(now)),
    ];
    match status_of(&booking) {
        BookingStatus::Confirmed | BookingStatus::Refunded => Ok(Effect::AlreadyApplied),
        BookingStatus::Cancelled if booking.stripe_payment_intent_id.is_some() => {
            Ok(Effect::AlreadyApplied)
        }
        BookingStatus::Held => {
            if !transition(
                txn,
                booking.id,
                &[BookingStatus::Held],
                BookingStatus::Confirmed,
                paid,
            )
            .await?
            {
                return Ok(Effect::AlreadyApplied);
            }
            confirmed(txn, &booking).await?;
            Ok(Effect::Confirmed)
        }
        BookingStatus::Expired | BookingStatus::Cancelled => {
            let lapsed = [BookingStatus::Expired, BookingStatus::Cancelled];
            // A free seat, unless the user already holds one again in this
            // session (that would make two): otherwise refund this payment.
            let seat =
                seats::take(txn, booking.session_id, today, false, Some(booking.user_id)).await?;
            if seat.is_ok() {
                if !transition(txn, booking.id, &lapsed, BookingStatus::Confirmed, paid).await? {
                    return Err(ApiError::internal(
                        "booking changed while confirming a late payment",
                    ));
                }
                confirmed(txn, &booking).await?;
                return Ok(Effect::ConfirmedLate);
            }
            let amount = cs.amount_total.unwrap_or(booking.amount_cents);
            let refund = refund_payment(
                gateway,
                &booking,
                cs.payment_intent.as_deref(),
                amount,
                "late",
            )
            .await?;
            let mut fields = paid;
            fields.extend(refund_fields(&refund.id, amount, now));
            transition(txn, booking.id, &lapsed, BookingStatus::Refunded, fields).await?;
            Ok(Effect::RefundedLate)
        }
    }
}

fn refund_fields(
    refund_id: &str,
    amount: i64,
    now: DateTime<Utc>,
) -> Vec<(Column, sea_orm::sea_query::SimpleExpr)> {
    vec![
        (Column::RefundId, Expr::value(refund_id.to_owned())),
        (Column::RefundedCents, Expr::value(amount)),
        (Column::CancelledAt, Expr::value(now)),
    ]
}

async fn refund_payment(
    gateway: &dyn PaymentGateway,
    booking: &bookings::Model,
    payment_intent: Option<&str>,
    amount_cents: i64,
    why: &str,
) -> ApiResult<crate::payments::Refund> {
    let payment_intent_id = payment_intent
        .or(booking.stripe_payment_intent_id.as_deref())
        .ok_or_else(|| ApiError::internal("refund of a booking without a payment"))?;
    gateway
        .refund(&RefundRequest {
            payment_intent_id: payment_intent_id.to_owned(),
            amount_cents,
            idempotency_key: format!("refund-{why}-{}", booking.id),
            booking_id: booking.id,
        })
        .await
        .map_err(gateway_failed)
}

/// The license and the confirmation mail, in the confirming transaction.
async fn confirmed(txn: &DatabaseTransaction, booking: &bookings::Model) -> ApiResult<()> {
    users::Entity::update_many()
        .col_expr(
            users::Column::License,
            Expr::value(common::auth::License::Immersion.as_str()),
        )
        .col_expr(users::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(users::Column::Id.eq(booking.user_id))
        .exec(txn)
        .await?;
    let session = sessions::Entity::find_by_id(booking.session_id)
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::internal("booking without session"))?;
    let (subject, body) = mail::confirmation(&session, booking.amount_cents, &booking.currency);
    mail::queue(txn, &booking.user_email, subject, body).await?;
    Ok(())
}

/// DESIGN §4.3: an expired or failed Checkout Session releases its hold.
pub async fn apply_checkout_expired(
    txn: &DatabaseTransaction,
    cs: &CheckoutSessionObject,
    now: DateTime<Utc>,
) -> ApiResult<Effect> {
    let Some(booking) = booking_of(txn, cs).await? else {
        return Ok(Effect::UnknownBooking);
    };
    if transition(
        txn,
        booking.id,
        &[BookingStatus::Held],
        BookingStatus::Expired,
        vec![],
    )
    .await?
    {
        seats::release(txn, booking.session_id, today_at_venue(now)).await?;
        Ok(Effect::Expired)
    } else {
        Ok(Effect::AlreadyApplied)
    }
}

/// A refund made outside the api (Stripe dashboard): the booking is
/// refunded and its seat freed.
pub async fn apply_charge_refunded(
    txn: &DatabaseTransaction,
    charge: &ChargeObject,
    now: DateTime<Utc>,
) -> ApiResult<Effect> {
    let Some(pi) = charge.payment_intent.as_deref() else {
        return Ok(Effect::UnknownBooking);
    };
    let Some(booking) = bookings::Entity::find()
        .filter(Column::StripePaymentIntentId.eq(pi))
        .one(txn)
        .await?
    else {
        return Ok(Effect::UnknownBooking);
    };
    if !charge.refunded {
        // A partial refund: the seat stays sold; record what went back.
        bookings::Entity::update_many()
            .col_expr(Column::RefundedCents, Expr::value(charge.amount_refunded))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::Id.eq(booking.id))
            .exec(txn)
            .await?;
        return Ok(Effect::AlreadyApplied);
    }
    let fields = vec![
        (Column::RefundedCents, Expr::value(charge.amount_refunded)),
        (Column::CancelledAt, Expr::value(now)),
    ];
    if transition(
        txn,
        booking.id,
        &[BookingStatus::Confirmed],
        BookingStatus::Refunded,
        fields,
    )
    .await?
    {
        seats::release(txn, booking.session_id, today_at_venue(now)).await?;
        Ok(Effect::Refunded)
    } else {
        Ok(Effect::AlreadyApplied)
    }
}

async fn visible_booking(
    state: &AppState,
    actor: &AuthUser,
    id: Uuid,
) -> ApiResult<(bookings::Model, sessions::Model)> {
    let found = bookings::Entity::find_by_id(id)
        .find_also_related(sessions::Entity)
        .one(&state.db)
        .await?;
    match found {
        // Another user's booking is "not found": ids reveal nothing.
        Some((b, Some(s))) if b.user_id == actor.id || actor.is_admin() => Ok((b, s)),
        _ => Err(ApiError::not_found("booking")),
    }
}

#[tracing::instrument(skip(state, actor), fields(user = %actor.id))]
pub async fn get(state: &AppState, actor: &AuthUser, id: Uuid) -> ApiResult<BookingDto> {
    let (b, s) = visible_booking(state, actor, id).await?;
    Ok(to_dto(b, &s, state.settings.cancellation_cutoff_days))
}

#[tracing::instrument(skip(state, user), fields(user = %user.id))]
pub async fn list_mine(state: &AppState, user: &AuthUser) -> ApiResult<Vec<BookingDto>> {
    let rows = bookings::Entity::find()
        .filter(Column::UserId.eq(user.id))
        .find_also_related(sessions::Entity)
        .order_by_desc(Column::CreatedAt)
        .all(&state.db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(b, s)| s.map(|s| to_dto(b, &s, state.settings.cancellation_cutoff_days)))
        .collect())
}

/// A session's bookings, for admins: every status, oldest first.
#[tracing::instrument(skip(state))]
pub async fn attendees(state: &AppState, session_id: Uuid) -> ApiResult<Vec<BookingDto>> {
    let session = sessions::Entity::find_by_id(session_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    let rows = bookings::Entity::find()
        .filter(Column::SessionId.eq(session_id))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .all(&state.db)
        .await?;
    let cutoff = state.settings.cancellation_cutoff_days;
    Ok(rows
        .into_iter()
        .map(|b| to_dto(b, &session, cutoff))
        .collect())
}

/// DESIGN §4.5: the owner or an admin cancels. The seat comes back; a paid
/// seat is refunded in full up to the cutoff (or when an admin forces it).
#[tracing::instrument(skip(state, gateway, actor), fields(user = %actor.id))]
pub async fn cancel(
    state: &AppState,
    gateway: &dyn PaymentGateway,
    actor: &AuthUser,
    id: Uuid,
    force_refund: bool,
    now: DateTime<Utc>,
) -> ApiResult<BookingDto> {
    if force_refund && !actor.is_admin() {
        return Err(ApiError::forbidden());
    }
    let (booking, session) = visible_booking(state, actor, id).await?;
    let today = today_at_venue(now);
    let txn = state.db.begin().await?;
    let cancelled_at = vec![(Column::CancelledAt, Expr::value(now))];
    match status_of(&booking) {
        BookingStatus::Held => {
            if !transition(
                &txn,
                id,
                &[BookingStatus::Held],
                BookingStatus::Cancelled,
                cancelled_at,
            )
            .await?
            {
                return Err(not_cancellable());
            }
            seats::release(&txn, booking.session_id, today).await?;
            txn.commit().await?;
            // So the abandoned Checkout page can no longer take a payment.
            crate::payments::expire_quietly(gateway, booking.stripe_checkout_session_id.as_deref())
                .await;
        }
        BookingStatus::Confirmed => {
            let policy = refund_on_cancel(
                today,
                session.starts_on,
                state.settings.cancellation_cutoff_days,
                booking.amount_cents,
            );
            let amount = if force_refund {
                booking.amount_cents
            } else {
                policy
            };
            let paid = booking.stripe_payment_intent_id.is_some();
            let (to, mut fields) = if amount > 0 && paid {
                (
                    BookingStatus::Refunded,
                    vec![(Column::RefundedCents, Expr::value(amount))],
                )
            } else {
                (BookingStatus::Cancelled, vec![])
            };
            fields.extend(cancelled_at);
            // The transition locks the row first, so two cancels cannot both refund.
            if !transition(&txn, id, &[BookingStatus::Confirmed], to, fields).await? {
                return Err(not_cancellable());
            }
            seats::release(&txn, booking.session_id, today).await?;
            if to == BookingStatus::Refunded {
                let refund = refund_payment(gateway, &booking, None, amount, "cancel").await?;
                bookings::Entity::update_many()
                    .col_expr(Column::RefundId, Expr::value(refund.id))
                    .filter(Column::Id.eq(id))
                    .exec(&txn)
                    .await?;
            }
            txn.commit().await?;
        }
        BookingStatus::Cancelled | BookingStatus::Expired | BookingStatus::Refunded => {
            return Err(not_cancellable());
        }
    }
    get(state, actor, id).await
}

fn not_cancellable() -> ApiError {
    ApiError::conflict(
        ErrorCode::BookingNotCancellable,
        "this booking is no longer active",
    )
}
