//! The outbox of events: what changed, written in the transaction that
//! changes it (so no event is lost or invented), and read in one order by
//! the events feed and the webhook deliveries.
//!
//! Commit order is not write order: on PostgreSQL a transaction that
//! wrote its event first may commit last. A number handed out at write
//! time would let a reader that has seen number 11 miss number 10 when it
//! commits later. So an event is numbered (`seq`) only once it has
//! committed: `sequence` numbers the committed events that have none yet,
//! in the order they were written, one numbering at a time (a lock on
//! PostgreSQL; SQLite has one writer). An event that commits later is
//! numbered later, and a cursor never skips it. Two events about one
//! resource keep their order too: the second transaction waited for the
//! first one's row lock, so it wrote after the first had committed.

use chrono::{DateTime, Utc};
use common::events::{EventDto, EventType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait,
};
use serde::Serialize;
use uuid::Uuid;

use entity::events::{self, Column};

/// The key of the PostgreSQL advisory lock that makes numbering one at a
/// time ("imm-evts" in ASCII).
const NUMBERING_LOCK: i64 = 0x696d_6d2d_6576_7473;

/// Writes an event in the caller's transaction: `data` is the resource as
/// the API shows it.
pub async fn record(
    db: &impl ConnectionTrait,
    event_type: EventType,
    resource_id: Uuid,
    data: &impl Serialize,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let data = serde_json::to_string(data).map_err(|e| DbErr::Custom(e.to_string()))?;
    events::Entity::insert(events::ActiveModel {
        ins: sea_orm::ActiveValue::NotSet,
        seq: Set(None),
        id: Set(Uuid::new_v4()),
        event_type: Set(event_type.as_str().to_owned()),
        resource_id: Set(resource_id),
        data: Set(data),
        created_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Numbers the committed events that have no number yet, past the
/// highest one, in the order they were written. Answers how many.
pub async fn sequence(db: &DatabaseConnection) -> Result<u64, DbErr> {
    // One statement: its snapshot decides which events are committed (the
    // subqueries are read once, by both databases), and each gets a number
    // past the highest, in the order written (gaps allowed). On SQLite it
    // runs alone, holding the one write lock; on PostgreSQL numberings
    // queue on a lock, or two could give the same number.
    const NUMBER: &str = "UPDATE events SET seq = ins + ((SELECT COALESCE(MAX(seq), 0) FROM events) \
         + 1 - (SELECT MIN(ins) FROM events WHERE seq IS NULL)) WHERE seq IS NULL";
    // Nothing to number (the usual case of a poll): no write, no lock.
    if unnumbered(db).await? == 0 {
        return Ok(0);
    }
    let backend = db.get_database_backend();
    if backend != DatabaseBackend::Postgres {
        return Ok(db.execute_unprepared(NUMBER).await?.rows_affected());
    }
    let txn = db.begin().await?;
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        "SELECT pg_advisory_xact_lock($1)",
        [NUMBERING_LOCK.into()],
    ))
    .await?;
    let numbered = txn.execute_unprepared(NUMBER).await?.rows_affected();
    txn.commit().await?;
    Ok(numbered)
}

/// The numbered events after `after`, oldest first, of `types` (all when
/// empty), at most `limit`, with each its number (call `sequence` first).
pub async fn after(
    db: &impl ConnectionTrait,
    after: i64,
    types: &[EventType],
    limit: u64,
) -> Result<Vec<(i64, EventDto)>, DbErr> {
    let mut query = events::Entity::find()
        .filter(Column::Seq.is_not_null())
        .filter(Column::Seq.gt(after));
    if !types.is_empty() {
        query = query.filter(Column::EventType.is_in(types.iter().map(|t| t.as_str())));
    }
    let rows = query.order_by_asc(Column::Seq).limit(limit).all(db).await?;
    rows.into_iter()
        .filter_map(|row| {
            let seq = row.seq?;
            Some(to_dto(row).map(|dto| (seq, dto)))
        })
        .collect()
}

/// The feed number of the event `id` (`None`: no such event, or one not
/// numbered yet: call `sequence` first).
pub async fn number_of(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<i64>, DbErr> {
    Ok(events::Entity::find()
        .filter(Column::Id.eq(id))
        .one(db)
        .await?
        .and_then(|e| e.seq))
}

/// A stored event as the API shows it.
pub fn to_dto(row: events::Model) -> Result<EventDto, DbErr> {
    let event_type = EventType::parse(&row.event_type)
        .ok_or_else(|| DbErr::Custom(format!("unknown event type {}", row.event_type)))?;
    let data = serde_json::from_str(&row.data).map_err(|e| DbErr::Custom(e.to_string()))?;
    Ok(EventDto {
        id: row.id,
        event_type,
        created_at: row.created_at,
        data,
    })
}

/// How many events are written but not yet numbered (for tests and the
/// audit: after `sequence`, only those of transactions still open).
pub async fn unnumbered(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    events::Entity::find()
        .filter(Column::Seq.is_null())
        .count(db)
        .await
}

/// An event as it is served (the feed, a delivery): a booking's last day
/// of full refund is set by the cancellation rule served under, as the
/// API sets it when it shows the booking (the stored copy leaves it here).
pub fn present(mut event: EventDto, cutoff_days: i64) -> EventDto {
    let about_a_booking = matches!(
        event.event_type,
        EventType::BookingHeld
            | EventType::BookingConfirmed
            | EventType::BookingCancelled
            | EventType::BookingExpired
            | EventType::BookingRefunded
            | EventType::WaitlistOffered
    );
    if about_a_booking
        && let Some(starts_on) = event
            .data
            .get("starts_on")
            .and_then(|d| d.as_str())
            .and_then(|d| d.parse::<chrono::NaiveDate>().ok())
    {
        let until = common::bookings::full_refund_until(starts_on, cutoff_days);
        event.data["full_refund_until"] = serde_json::json!(until);
    }
    event
}

/// The event with this id, as stored.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<EventDto>, DbErr> {
    events::Entity::find()
        .filter(Column::Id.eq(id))
        .one(db)
        .await?
        .map(to_dto)
        .transpose()
}

/// The numbered events after `after`, as stored, oldest first (the
/// webhook fan-out reads every type).
pub async fn rows_after(
    db: &impl ConnectionTrait,
    after: i64,
    limit: u64,
) -> Result<Vec<events::Model>, DbErr> {
    events::Entity::find()
        .filter(Column::Seq.is_not_null())
        .filter(Column::Seq.gt(after))
        .order_by_asc(Column::Seq)
        .limit(limit)
        .all(db)
        .await
}
