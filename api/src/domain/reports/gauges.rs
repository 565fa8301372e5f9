//! What the operator watches, read from the database when `/metrics` is
//! scraped: every instance reports the same figures, whichever did the
//! work. Counts in SQL, never whole tables in memory.

use chrono::{DateTime, NaiveDate, Utc};
use common::bookings::BookingStatus;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use entity::{
    immersion_bookings as bookings, immersion_sessions as sessions, mail_outbox,
    owed_gateway_calls as owed, payment_anomalies as anomalies,
};

/// Upcoming sessions reported one by one; past this, the nearest only
/// (the label set of a metric must stay small).
const SESSIONS_CAP: u64 = 200;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Gauges {
    pub outbox_pending: i64,
    pub oldest_pending_mail: Option<DateTime<Utc>>,
    /// Provider calls not done, by kind (`refund`, `expire_checkout`) and
    /// status (`owed`, `failed`).
    pub owed_calls: Vec<(String, String, i64)>,
    pub anomalies_open: i64,
    pub seats: Vec<SessionSeats>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSeats {
    pub session_id: Uuid,
    pub starts_on: NaiveDate,
    pub held: i64,
    pub confirmed: i64,
}

pub async fn read(db: &impl ConnectionTrait, today: NaiveDate) -> Result<Gauges, DbErr> {
    let pending = || {
        mail_outbox::Entity::find()
            .filter(mail_outbox::Column::Status.eq(common::mail::MailStatus::Pending.as_str()))
    };
    let outbox_pending = pending()
        .select_only()
        .column_as(mail_outbox::Column::Id.count(), "n")
        .into_tuple::<i64>()
        .one(db)
        .await?
        .unwrap_or(0);
    let oldest_pending_mail = pending()
        .select_only()
        .column_as(mail_outbox::Column::CreatedAt.min(), "oldest")
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(db)
        .await?
        .flatten();
    let owed_calls = owed::Entity::find()
        .filter(owed::Column::Status.ne(common::payments::OwedCallStatus::Done.as_str()))
        .select_only()
        .column(owed::Column::Kind)
        .column(owed::Column::Status)
        .column_as(owed::Column::Id.count(), "n")
        .group_by(owed::Column::Kind)
        .group_by(owed::Column::Status)
        .into_tuple::<(String, String, i64)>()
        .all(db)
        .await?;
    let anomalies_open = anomalies::Entity::find()
        .filter(anomalies::Column::AcknowledgedAt.is_null())
        .select_only()
        .column_as(anomalies::Column::Id.count(), "n")
        .into_tuple::<i64>()
        .one(db)
        .await?
        .unwrap_or(0);
    Ok(Gauges {
        outbox_pending,
        oldest_pending_mail,
        owed_calls,
        anomalies_open,
        seats: seats(db, today).await?,
    })
}

/// Held and confirmed seats of each upcoming session (the nearest first).
async fn seats(db: &impl ConnectionTrait, today: NaiveDate) -> Result<Vec<SessionSeats>, DbErr> {
    let upcoming = sessions::Entity::find()
        .filter(sessions::Column::EndsOn.gte(today))
        .order_by_asc(sessions::Column::StartsOn)
        .order_by_asc(sessions::Column::Id)
        .limit(SESSIONS_CAP)
        .select_only()
        .column(sessions::Column::Id)
        .column(sessions::Column::StartsOn)
        .into_tuple::<(Uuid, NaiveDate)>()
        .all(db)
        .await?;
    let ids: Vec<Uuid> = upcoming.iter().map(|(id, _)| *id).collect();
    let held = BookingStatus::Held.as_str();
    let confirmed = BookingStatus::Confirmed.as_str();
    let counts = bookings::Entity::find()
        .filter(bookings::Column::Status.is_in([held, confirmed]))
        .filter(bookings::Column::SessionId.is_in(ids))
        .select_only()
        .column(bookings::Column::SessionId)
        .column(bookings::Column::Status)
        .column_as(bookings::Column::Id.count(), "n")
        .group_by(bookings::Column::SessionId)
        .group_by(bookings::Column::Status)
        .into_tuple::<(Uuid, String, i64)>()
        .all(db)
        .await?;
    let count = |id: Uuid, status: &str| {
        counts
            .iter()
            .find(|(s, st, _)| *s == id && st == status)
            .map_or(0, |(_, _, n)| *n)
    };
    Ok(upcoming
        .into_iter()
        .map(|(session_id, starts_on)| SessionSeats {
            session_id,
            starts_on,
            held: count(session_id, held),
            confirmed: count(session_id, confirmed),
        })
        .collect())
}
