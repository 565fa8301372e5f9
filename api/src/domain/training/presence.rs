//! Presence per half-day (émargement): each confirmed attendee, each
//! morning and afternoon of each working day, present, absent or absent
//! excused. A mark is never changed: a correction is a new mark, and the
//! latest one is what counts (invariant 18: records are kept).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use common::FieldError;
use common::presence::{
    AttendeeDto, Half, MAX_MARKS, MarkDto, Presence, PresenceSheetDto, PresenceUpdate, RecordedBy,
    planned_minutes,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use uuid::Uuid;

use crate::domain::platform::clock::today_at_venue;
use crate::domain::reports::attendance;
use crate::error::{ApiError, ApiResult};
use entity::immersion_sessions as sessions;
use entity::presence_marks::{self as marks, Column};

/// Who records a mark: an admin, or the trainer through a link.
#[derive(Debug, Clone, Copy)]
pub enum Recorder {
    Admin(Uuid),
    TrainerLink(Uuid),
}

/// The mark that counts for each booking, day and half.
pub type Latest = HashMap<(Uuid, NaiveDate, Half), marks::Model>;

/// The latest marks of a session's bookings (all of them, or `booking`'s).
pub async fn latest(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    booking: Option<Uuid>,
) -> ApiResult<Latest> {
    let mut query = marks::Entity::find().filter(Column::SessionId.eq(session_id));
    if let Some(b) = booking {
        query = query.filter(Column::BookingId.eq(b));
    }
    let mut latest = Latest::new();
    for m in query.order_by_asc(Column::Id).all(db).await? {
        latest.insert((m.booking_id, m.day, m.half), m);
    }
    Ok(latest)
}

/// Minutes attended by `booking`: its half-days marked present, on the
/// session's working days.
pub fn attended_minutes(
    latest: &Latest,
    booking: Uuid,
    days: &[NaiveDate],
    half_day_minutes: i32,
) -> i64 {
    let present = days
        .iter()
        .flat_map(|d| Half::BOTH.map(|h| (booking, *d, h)))
        .filter(|k| latest.get(k).is_some_and(|m| m.status == Presence::Present))
        .count();
    present as i64 * i64::from(half_day_minutes)
}

fn mark_dto(m: &marks::Model) -> MarkDto {
    MarkDto {
        day: m.day,
        half: m.half,
        status: m.status,
        recorded_by: match m.recorded_by_user {
            Some(_) => RecordedBy::Admin,
            None => RecordedBy::Trainer,
        },
        recorded_at: m.recorded_at,
    }
}

/// A session's presence sheet: its confirmed attendees, their marks and
/// hours, as of `now`.
pub async fn sheet(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<PresenceSheetDto> {
    let sheet = attendance::sheet(db, session_id).await?;
    let latest = latest(db, session_id, None).await?;
    let s = &sheet.session;
    let attendees = sheet
        .attendees
        .iter()
        .map(|a| {
            let mut own: BTreeMap<(NaiveDate, Half), MarkDto> = BTreeMap::new();
            for ((b, day, half), m) in &latest {
                if *b == a.booking_id && sheet.days.contains(day) {
                    own.insert((*day, *half), mark_dto(m));
                }
            }
            AttendeeDto {
                booking_id: a.booking_id,
                name: a.display_name(),
                company: a.company.clone(),
                marks: own.into_values().collect(),
                attended_minutes: attended_minutes(
                    &latest,
                    a.booking_id,
                    &sheet.days,
                    s.half_day_minutes,
                ),
            }
        })
        .collect();
    Ok(PresenceSheetDto {
        session_id: s.id,
        starts_on: s.starts_on,
        ends_on: s.ends_on,
        location: s.location.clone(),
        trainer: s.trainer.clone(),
        half_day_minutes: s.half_day_minutes,
        planned_minutes: planned_minutes(sheet.days.len(), s.half_day_minutes),
        today: today_at_venue(now),
        days: sheet.days,
        attendees,
    })
}

/// Records marks on a session's sheet, in one transaction: every mark is
/// checked first (a confirmed booking of this session, one of its working
/// days, not after today), and none is written unless all are good. A
/// mark equal to the one that counts is not written again.
#[tracing::instrument(skip(db, update))]
pub async fn record(
    db: &DatabaseConnection,
    session_id: Uuid,
    update: PresenceUpdate,
    by: Recorder,
    now: DateTime<Utc>,
) -> ApiResult<PresenceSheetDto> {
    if update.marks.len() > MAX_MARKS {
        return Err(ApiError::invalid(
            "marks",
            "too_many",
            format!("at most {MAX_MARKS} marks at once"),
        ));
    }
    let today = today_at_venue(now);
    let txn = db.begin().await?;
    // Two recorders of one session queue on its row, so "the latest mark"
    // is the one written last.
    sessions::Entity::update_many()
        .col_expr(
            sessions::Column::UpdatedAt,
            Expr::col(sessions::Column::UpdatedAt),
        )
        .filter(sessions::Column::Id.eq(session_id))
        .exec(&txn)
        .await?;
    let attending = attendance::sheet(&txn, session_id).await?;
    let mut errors = Vec::new();
    for (i, m) in update.marks.iter().enumerate() {
        if !attending
            .attendees
            .iter()
            .any(|a| a.booking_id == m.booking_id)
        {
            errors.push(FieldError::new(
                &format!("marks[{i}].booking_id"),
                "not_an_attendee",
                "not a confirmed booking of this session",
            ));
        }
        if !attending.days.contains(&m.day) {
            errors.push(FieldError::new(
                &format!("marks[{i}].day"),
                "not_a_session_day",
                "not a working day of this session",
            ));
        } else if m.day > today {
            errors.push(FieldError::new(
                &format!("marks[{i}].day"),
                "in_the_future",
                "presence is recorded on the day or after it",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut current = latest(&txn, session_id, None).await?;
    let (user, link) = match by {
        Recorder::Admin(id) => (Some(id), None),
        Recorder::TrainerLink(id) => (None, Some(id)),
    };
    for m in update.marks {
        let key = (m.booking_id, m.day, m.half);
        if current.get(&key).is_some_and(|c| c.status == m.status) {
            continue;
        }
        let written = marks::Entity::insert(marks::ActiveModel {
            session_id: Set(session_id),
            booking_id: Set(m.booking_id),
            day: Set(m.day),
            half: Set(m.half),
            status: Set(m.status),
            recorded_by_user: Set(user),
            recorded_by_link: Set(link),
            recorded_at: Set(now),
            ..Default::default()
        })
        .exec_with_returning(&txn)
        .await?;
        current.insert(key, written);
    }
    txn.commit().await?;
    sheet(db, session_id, now).await
}

/// The sheet as the trainer's link shows it: an attendee with no name
/// given is "Participant n", never their e-mail address (the trainer has
/// no account, and no need of it).
pub fn without_addresses(mut sheet: PresenceSheetDto) -> PresenceSheetDto {
    for (i, a) in sheet.attendees.iter_mut().enumerate() {
        if a.name.contains('@') {
            a.name = format!("Participant {}", i + 1);
        }
    }
    sheet
}
