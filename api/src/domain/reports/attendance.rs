//! The attendance sheet of a session (feuille d'émargement): its confirmed
//! attendees, and a signature per half-day, morning and afternoon, of
//! each working day (Monday to Friday) of the session.

use std::collections::HashMap;

use chrono::NaiveDate;
use common::bookings::BookingStatus;
use common::calendar::working_days;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use entity::{immersion_bookings as bookings, immersion_sessions as sessions, user_profiles};

pub struct Sheet {
    pub session: sessions::Model,
    /// The working days, in order: two signatures each.
    pub days: Vec<NaiveDate>,
    /// Sorted by last name, then first name, then e-mail.
    pub attendees: Vec<Attendee>,
}

pub struct Attendee {
    pub booking_id: Uuid,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: String,
    pub company: Option<String>,
}

impl Attendee {
    /// "LAST First", or the e-mail when no name was given.
    pub fn display_name(&self) -> String {
        match (&self.first_name, &self.last_name) {
            (Some(f), Some(l)) => format!("{} {f}", l.to_uppercase()),
            _ => self.email.clone(),
        }
    }
}

pub async fn sheet(db: &impl ConnectionTrait, session_id: Uuid) -> ApiResult<Sheet> {
    let session = sessions::Entity::find_by_id(session_id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    let confirmed = bookings::Entity::find()
        .filter(bookings::Column::SessionId.eq(session_id))
        .filter(bookings::Column::Status.eq(BookingStatus::Confirmed))
        .all(db)
        .await?;
    let mut profiles: HashMap<Uuid, user_profiles::Model> = user_profiles::Entity::find()
        .filter(user_profiles::Column::UserId.is_in(confirmed.iter().map(|b| b.user_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.user_id, p))
        .collect();
    let mut attendees: Vec<Attendee> = confirmed
        .into_iter()
        .map(|b| {
            let p = profiles.remove(&b.user_id);
            Attendee {
                booking_id: b.id,
                first_name: p.as_ref().and_then(|p| p.first_name.clone()),
                last_name: p.as_ref().and_then(|p| p.last_name.clone()),
                company: p.and_then(|p| p.company),
                email: b.user_email,
            }
        })
        .collect();
    attendees.sort_by_cached_key(|a| {
        (
            a.last_name.is_none(),
            a.last_name.as_deref().map(str::to_lowercase),
            a.first_name.as_deref().map(str::to_lowercase),
            a.email.clone(),
        )
    });
    Ok(Sheet {
        days: working_days(session.starts_on, session.ends_on),
        session,
        attendees,
    })
}
