//! Rows as the API shows them (a session, a booking), and the events that
//! carry them: written in the caller's transaction, from one place for
//! every concept of the catalog and the bookings.

use chrono::{DateTime, NaiveDate, Utc};
use common::bookings::{BookingDto, full_refund_until};
use common::events::EventType;
use common::sessions::{SessionDto, derive_status};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

use crate::domain::platform::events;
use entity::immersion_bookings as bookings;
use entity::immersion_sessions as sessions;

/// A session as the API shows it on `today` (its waiting count aside).
pub fn session_dto(m: sessions::Model, today: NaiveDate) -> SessionDto {
    let status = derive_status(
        m.closed_by_admin,
        m.starts_on,
        today,
        m.reserved_places,
        m.max_places,
    );
    SessionDto {
        id: m.id,
        starts_on: m.starts_on,
        ends_on: m.ends_on,
        location: m.location,
        description: m.description,
        trainer: m.trainer,
        half_day_minutes: m.half_day_minutes,
        price_cents: m.price_cents,
        currency: m.currency,
        max_places: m.max_places,
        reserved_places: m.reserved_places,
        available_places: Ord::max(m.max_places - m.reserved_places, 0),
        status,
        is_active: m.is_active,
        min_places: m.min_places,
        decide_on: m.decide_on,
        decision: m.decision,
        waiting: 0,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// A booking as the API shows it (`cutoff_days`: the cancellation rule's,
/// for the last day of a full refund).
pub fn booking_dto(b: bookings::Model, s: &sessions::Model, cutoff_days: i64) -> BookingDto {
    BookingDto {
        id: b.id,
        session_id: b.session_id,
        user_id: b.user_id,
        status: b.status,
        user_email: b.user_email,
        attendee_name: None,
        hold_expires_at: b.hold_expires_at,
        amount_cents: b.amount_cents,
        currency: b.currency,
        refunded_cents: b.refunded_cents,
        starts_on: s.starts_on,
        ends_on: s.ends_on,
        location: s.location.clone(),
        full_refund_until: full_refund_until(s.starts_on, cutoff_days),
        invoice_url: None,
        credit_note_urls: Vec::new(),
        refund_pending: false,
        created_at: b.created_at,
        updated_at: b.updated_at,
    }
}

/// Records `event_type` for a booking as it is now, in the caller's
/// transaction. Its `full_refund_until` is the session's first day here:
/// the feed and the deliveries set it by the cancellation rule they serve
/// under (`platform::events::present`).
pub async fn announce_booking(
    db: &impl ConnectionTrait,
    booking_id: Uuid,
    event_type: EventType,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let found = bookings::Entity::find_by_id(booking_id)
        .find_also_related(sessions::Entity)
        .one(db)
        .await?;
    let Some((b, Some(s))) = found else {
        return Ok(());
    };
    events::record(db, event_type, b.id, &booking_dto(b, &s, 0), now).await
}

/// Records `event_type` for a session as it is now, in the caller's
/// transaction.
pub async fn announce_session(
    db: &impl ConnectionTrait,
    session: &sessions::Model,
    event_type: EventType,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let dto = session_dto(
        session.clone(),
        crate::domain::platform::clock::today_at_venue(now),
    );
    events::record(db, event_type, session.id, &dto, now).await
}
