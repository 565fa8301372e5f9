//! Certificates of completion (certificats de réalisation): one per
//! trainee of a session that is over, from the organisation's own record
//! of presence: the hours attended (half-days marked present) out of the
//! hours planned (every half-day of every working day).

use chrono::NaiveDate;
use common::bookings::BookingStatus;
use common::calendar::working_days;
use common::presence::{Half, NoCertificate, Presence, no_certificate, planned_minutes};
use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

use crate::domain::platform::actor::Actor;
use crate::domain::reports::attendance;
use crate::domain::training::presence::{Latest, attended_minutes, latest};
use crate::error::{ApiError, ApiResult};
use common::ErrorCode;
use entity::immersion_bookings as bookings;
use entity::immersion_sessions as sessions;

/// What a certificate states.
#[derive(Debug, Clone)]
pub struct Certificate {
    pub booking_id: Uuid,
    /// "First LAST", or the e-mail when no name was given.
    pub trainee: String,
    pub company: Option<String>,
    pub session: sessions::Model,
    pub planned_minutes: i64,
    pub attended_minutes: i64,
    /// Half-days marked absent excused, and absent (or never marked).
    pub excused_half_days: usize,
    pub missed_half_days: usize,
    /// The day it is made ("fait … le …").
    pub issued_on: NaiveDate,
}

fn certificate(
    booking_id: Uuid,
    trainee: String,
    company: Option<String>,
    session: &sessions::Model,
    latest: &Latest,
    today: NaiveDate,
) -> Certificate {
    let days = working_days(session.starts_on, session.ends_on);
    let status = |d: &NaiveDate, h: Half| latest.get(&(booking_id, *d, h)).map(|m| m.status);
    let halves: Vec<Option<Presence>> = days
        .iter()
        .flat_map(|d| Half::BOTH.map(|h| status(d, h)))
        .collect();
    Certificate {
        booking_id,
        trainee,
        company,
        planned_minutes: planned_minutes(days.len(), session.half_day_minutes),
        attended_minutes: attended_minutes(latest, booking_id, &days, session.half_day_minutes),
        excused_half_days: halves
            .iter()
            .filter(|s| **s == Some(Presence::Excused))
            .count(),
        missed_half_days: halves
            .iter()
            .filter(|s| matches!(s, None | Some(Presence::Absent)))
            .count(),
        session: session.clone(),
        issued_on: today,
    }
}

/// A certificate is made once the session is over, and while the
/// presence it is counted from is kept: past that, it would state hours
/// that are no longer on record (`common::presence::no_certificate`).
fn over(session: &sessions::Model, today: NaiveDate) -> ApiResult<()> {
    match no_certificate(session.starts_on, session.ends_on, today) {
        None => Ok(()),
        Some(NoCertificate::NotOver) => Err(ApiError::conflict(
            ErrorCode::SessionNotOver,
            format!(
                "the certificate of completion is made once the session is over (after {})",
                session.ends_on
            ),
        )),
        Some(NoCertificate::NoLongerKept { kept_from }) => Err(ApiError::conflict(
            ErrorCode::PresenceNotKept,
            format!(
                "the presence of this session is no longer kept (it is kept from {kept_from}), so no certificate of completion can be made from it"
            ),
        )),
    }
}

/// The certificate of one seat: its holder's, or any for an admin.
/// Refused for a seat that is not confirmed, before the session is over,
/// and once its presence is no longer kept.
pub async fn of_booking(
    db: &impl ConnectionTrait,
    actor: &Actor,
    booking_id: Uuid,
    today: NaiveDate,
) -> ApiResult<Certificate> {
    let Some((b, Some(s))) = bookings::Entity::find_by_id(booking_id)
        .find_also_related(sessions::Entity)
        .one(db)
        .await?
        .filter(|(b, _)| b.user_id == actor.id || actor.is_admin())
    else {
        return Err(ApiError::not_found("booking"));
    };
    if b.status != BookingStatus::Confirmed {
        return Err(ApiError::conflict(
            ErrorCode::BookingNotConfirmed,
            "only a confirmed seat has a certificate of completion",
        ));
    }
    over(&s, today)?;
    let p = crate::domain::accounts::profiles::get(db, b.user_id).await?;
    let trainee = trainee_name(
        p.first_name.as_deref(),
        p.last_name.as_deref(),
        &b.user_email,
    );
    let latest = latest(db, s.id, Some(b.id)).await?;
    Ok(certificate(b.id, trainee, p.company, &s, &latest, today))
}

/// Every confirmed trainee's certificate of a session that is over, in
/// the attendance sheet's order.
pub async fn of_session(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    today: NaiveDate,
) -> ApiResult<Vec<Certificate>> {
    let sheet = attendance::sheet(db, session_id).await?;
    over(&sheet.session, today)?;
    let latest = latest(db, session_id, None).await?;
    Ok(sheet
        .attendees
        .iter()
        .map(|a| {
            let trainee = trainee_name(a.first_name.as_deref(), a.last_name.as_deref(), &a.email);
            certificate(
                a.booking_id,
                trainee,
                a.company.clone(),
                &sheet.session,
                &latest,
                today,
            )
        })
        .collect())
}

fn trainee_name(first: Option<&str>, last: Option<&str>, email: &str) -> String {
    match (first, last) {
        (Some(f), Some(l)) => format!("{f} {}", l.to_uppercase()),
        _ => email.to_owned(),
    }
}
