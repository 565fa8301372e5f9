//! Presence per half-day (émargement), as admins and trainers record it,
//! and the hours a certificate of completion (certificat de réalisation)
//! counts from it.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Morning or afternoon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "sea-orm",
    derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum)
)]
#[cfg_attr(
    feature = "sea-orm",
    sea_orm(
        rs_type = "String",
        db_type = "String(sea_orm::sea_query::StringLen::N(2))"
    )
)]
pub enum Half {
    #[serde(rename = "am")]
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "am"))]
    Morning,
    #[serde(rename = "pm")]
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "pm"))]
    Afternoon,
}

impl Half {
    pub const BOTH: [Self; 2] = [Self::Morning, Self::Afternoon];

    pub const fn french(self) -> &'static str {
        match self {
            Self::Morning => "matin",
            Self::Afternoon => "après-midi",
        }
    }
}

/// What was recorded for one attendee and one half-day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "sea-orm",
    derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum)
)]
#[cfg_attr(
    feature = "sea-orm",
    sea_orm(
        rs_type = "String",
        db_type = "String(sea_orm::sea_query::StringLen::N(8))"
    )
)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "present"))]
    Present,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "absent"))]
    Absent,
    /// Absent with a reason the organisation accepted (absence justifiée):
    /// not attended either, but not held against the trainee.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "excused"))]
    Excused,
}

impl Presence {
    pub const ALL: [Self; 3] = [Self::Present, Self::Absent, Self::Excused];

    pub const fn french(self) -> &'static str {
        match self {
            Self::Present => "Présent",
            Self::Absent => "Absent",
            Self::Excused => "Absent excusé",
        }
    }
}

/// Who recorded a mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecordedBy {
    /// An admin (`recorded_by_user`).
    Admin,
    /// The trainer, through the session's link.
    Trainer,
}

/// One mark to record (`PUT …/presence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MarkInput {
    /// A confirmed booking of the session.
    pub booking_id: Uuid,
    /// A working day of the session, today or before.
    #[cfg_attr(target_arch = "wasm32", serde(deserialize_with = "crate::wire::date"))]
    pub day: NaiveDate,
    pub half: Half,
    pub status: Presence,
}

/// `PUT …/presence`: the marks to record; one already so is left as it is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PresenceUpdate {
    #[cfg_attr(feature = "openapi", schema(max_items = 500))]
    pub marks: Vec<MarkInput>,
}

/// The most marks one request records (50 attendees × 5 days × 2): as
/// many as the 64 KB a JSON body may weigh holds.
pub const MAX_MARKS: usize = 500;

/// The mark that counts for a half-day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MarkDto {
    #[cfg_attr(target_arch = "wasm32", serde(deserialize_with = "crate::wire::date"))]
    pub day: NaiveDate,
    pub half: Half,
    pub status: Presence,
    pub recorded_by: RecordedBy,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(deserialize_with = "crate::wire::instant")
    )]
    pub recorded_at: DateTime<Utc>,
}

/// One confirmed attendee and their marks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttendeeDto {
    pub booking_id: Uuid,
    /// "LAST First", or the e-mail when no name was given.
    pub name: String,
    pub company: Option<String>,
    /// The marks that count, one per half-day recorded.
    pub marks: Vec<MarkDto>,
    /// Minutes attended (half-days marked present).
    pub attended_minutes: i64,
}

/// A session's presence sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresenceSheetDto {
    pub session_id: Uuid,
    #[cfg_attr(target_arch = "wasm32", serde(deserialize_with = "crate::wire::date"))]
    pub starts_on: NaiveDate,
    #[cfg_attr(target_arch = "wasm32", serde(deserialize_with = "crate::wire::date"))]
    pub ends_on: NaiveDate,
    pub location: String,
    pub trainer: Option<String>,
    pub half_day_minutes: i32,
    /// The working days (public holidays and weekends left out), two
    /// half-days each.
    #[cfg_attr(target_arch = "wasm32", serde(deserialize_with = "crate::wire::dates"))]
    pub days: Vec<NaiveDate>,
    /// Minutes planned for each attendee: every half-day.
    pub planned_minutes: i64,
    /// Marks may be recorded up to this day (today at the venue).
    #[cfg_attr(target_arch = "wasm32", serde(deserialize_with = "crate::wire::date"))]
    pub today: NaiveDate,
    pub attendees: Vec<AttendeeDto>,
}

/// A link for the session's trainer (`POST …/trainer-link`); its secret
/// is in `url`'s fragment, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrainerLinkDto {
    pub id: Uuid,
    pub session_id: Uuid,
    /// The page to open: `/formateur#token=<secret>`.
    pub url: String,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(deserialize_with = "crate::wire::instant")
    )]
    pub expires_at: DateTime<Utc>,
}

/// Years presence marks are kept after the end of their year (the
/// evidence behind a certificate of completion).
pub const KEPT_YEARS: i32 = 3;

/// The first day whose presence marks are still kept on `today`: a
/// half-day's marks go `KEPT_YEARS` after the end of its year. A session
/// that began before it has no certificate of completion any more, as
/// its marks may be gone. (Half-days are dates at the venue: no time zone
/// to convert.)
pub fn kept_from(today: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(today.year() - KEPT_YEARS, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// Why a session's certificates of completion cannot be made on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoCertificate {
    /// Not before the session is over.
    NotOver,
    /// Its first half-days are before `kept_from`: their marks may be gone.
    NoLongerKept { kept_from: NaiveDate },
}

/// Whether the certificates of a session from `starts_on` to `ends_on`
/// can be made on `today`: once it is over, and while its presence is
/// kept. The api refuses on it; Mon compte links the certificate by it.
pub fn no_certificate(
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    today: NaiveDate,
) -> Option<NoCertificate> {
    let kept_from = kept_from(today);
    if today <= ends_on {
        Some(NoCertificate::NotOver)
    } else if starts_on < kept_from {
        Some(NoCertificate::NoLongerKept { kept_from })
    } else {
        None
    }
}

/// Minutes planned: every half-day of every working day.
pub fn planned_minutes(days: usize, half_day_minutes: i32) -> i64 {
    days as i64 * 2 * i64::from(half_day_minutes)
}

/// "24 h", "24 h 30", "0 h".
pub fn format_hours(minutes: i64) -> String {
    match (minutes / 60, minutes % 60) {
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_is_kept_from_the_first_day_of_the_third_year_back() {
        let kept = |y, m, d| kept_from(NaiveDate::from_ymd_opt(y, m, d).unwrap());
        let first = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
        assert_eq!(kept(2026, 1, 1), first);
        assert_eq!(kept(2026, 12, 31), first);
        assert_eq!(kept(2027, 1, 1), first.with_year(2024).unwrap());
    }

    #[test]
    fn a_certificate_waits_for_the_end_and_goes_with_the_presence() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let (starts, ends) = (day(2023, 1, 2), day(2023, 1, 6));
        assert_eq!(
            no_certificate(starts, ends, ends),
            Some(NoCertificate::NotOver)
        );
        assert_eq!(no_certificate(starts, ends, day(2023, 1, 7)), None);
        assert_eq!(no_certificate(starts, ends, day(2026, 12, 31)), None);
        assert_eq!(
            no_certificate(starts, ends, day(2027, 1, 1)),
            Some(NoCertificate::NoLongerKept {
                kept_from: day(2024, 1, 1)
            })
        );
    }

    #[test]
    fn hours_read_the_french_way() {
        assert_eq!(format_hours(0), "0 h");
        assert_eq!(format_hours(210), "3 h 30");
        assert_eq!(format_hours(35 * 60), "35 h");
        assert_eq!(format_hours(65), "1 h 05");
    }

    #[test]
    fn a_week_of_seven_hour_days_plans_35_hours() {
        assert_eq!(planned_minutes(5, 210), 35 * 60);
        assert_eq!(planned_minutes(0, 210), 0);
    }

    #[test]
    fn marks_speak_the_wire_names() {
        let m: MarkInput = serde_json::from_str(
            r#"{"booking_id":"00000000-0000-0000-0000-000000000001","day":"2026-12-07","half":"pm","status":"excused"}"#,
        )
        .unwrap();
        assert_eq!(m.half, Half::Afternoon);
        assert_eq!(m.status, Presence::Excused);
    }
}
