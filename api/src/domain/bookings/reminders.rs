//! Reminders to confirmed attendees before their session: one a week
//! before, one the day before, each with the session's calendar file.
//!
//! Each goes out at most once per booking: it is queued in the outbox
//! under `reminder:{booking}:{7|1}`, which the outbox's unique key makes a
//! no-op the second time, on any instance, after any restart. The job is
//! hourly and idempotent; a week's reminder still goes out within the
//! week if the service was down on the day (it then says how many days
//! are left).

use chrono::NaiveDate;
use common::bookings::BookingStatus;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

use crate::domain::bookings::calendar;
use crate::domain::platform::mail::{self, Attachment};
use entity::{immersion_bookings as bookings, immersion_sessions as sessions};

/// Each reminder: its name in the key, and the days before the start in
/// which it is due (latest first).
const REMINDERS: [(u8, i64, i64); 2] = [(7, 7, 2), (1, 1, 1)];

/// Queues the reminders due on `today` (at the venue); returns how many
/// this call queued.
pub async fn queue_due(
    db: &DatabaseConnection,
    public_url: &str,
    today: NaiveDate,
) -> Result<usize, DbErr> {
    let mut queued = 0;
    for (name, from_days, to_days) in REMINDERS {
        let due = bookings::Entity::find()
            .find_also_related(sessions::Entity)
            .filter(bookings::Column::Status.eq(BookingStatus::Confirmed))
            .filter(sessions::Column::StartsOn.between(
                today + chrono::Days::new(to_days as u64),
                today + chrono::Days::new(from_days as u64),
            ))
            .all(db)
            .await?;
        for (booking, session) in due {
            let Some(session) = session else { continue };
            let days_left = (session.starts_on - today).num_days();
            let attachment = Attachment {
                name: calendar::file_name(&session),
                content_type: calendar::CONTENT_TYPE.to_owned(),
                text: calendar::booking_ics(&booking, &session, public_url),
            };
            let key = format!("reminder:{}:{name}", booking.id);
            let mail = mail::reminder(&session, days_left);
            if mail::queue_once(db, &key, &booking.user_email, mail, Some(attachment)).await? {
                queued += 1;
            }
        }
    }
    Ok(queued)
}
