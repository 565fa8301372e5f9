//! Immersion sessions: the catalog's JSON shapes and its pure rules.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::FieldError;
use crate::money::{currency_codes, known_currency};

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
        db_type = "String(sea_orm::sea_query::StringLen::N(16))"
    )
)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "open"))]
    Open,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "full"))]
    Full,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "closed"))]
    Closed,
}

impl SessionStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Full => "full",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "full" => Some(Self::Full),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

/// The one rule for a session's status (invariant 3): `closed` when
/// an admin closed it or its first day has come, else `full` when every
/// place is taken, else `open`.
pub fn derive_status(
    closed_by_admin: bool,
    starts_on: NaiveDate,
    today: NaiveDate,
    reserved_places: i32,
    max_places: i32,
) -> SessionStatus {
    if closed_by_admin || starts_on <= today {
        SessionStatus::Closed
    } else if reserved_places >= max_places {
        SessionStatus::Full
    } else {
        SessionStatus::Open
    }
}

/// What was decided about a session with a minimum group size, on its
/// decision date or earlier by an admin.
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
        db_type = "String(sea_orm::sea_query::StringLen::N(16))"
    )
)]
#[serde(rename_all = "snake_case")]
pub enum SessionDecision {
    /// Enough attendees: the session will run ("session confirmée").
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "confirmed"))]
    Confirmed,
    /// Too few: cancelled, every paid seat refunded in full.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "cancelled"))]
    Cancelled,
}

impl SessionDecision {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "confirmed" => Some(Self::Confirmed),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

/// The decision to apply when the decision date comes: enough confirmed
/// attendees run the session, too few cancel it. No minimum, no decision.
pub fn decide(min_places: Option<i32>, confirmed: i32) -> Option<SessionDecision> {
    min_places.map(|min| {
        if confirmed >= min {
            SessionDecision::Confirmed
        } else {
            SessionDecision::Cancelled
        }
    })
}

/// The decision date when an admin gives none: `days` before the start.
pub fn default_decide_on(starts_on: NaiveDate, days: i64) -> NaiveDate {
    starts_on - chrono::Duration::days(days)
}

/// `POST /api/admin/sessions/{id}/decision`: decide now, before the date.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub decision: SessionDecision,
}

/// A session as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionDto {
    pub id: Uuid,
    /// First day, at the venue (Europe/Paris).
    #[cfg_attr(target_arch = "wasm32", serde(deserialize_with = "crate::wire::date"))]
    pub starts_on: NaiveDate,
    /// Last day, at the venue.
    #[cfg_attr(target_arch = "wasm32", serde(deserialize_with = "crate::wire::date"))]
    pub ends_on: NaiveDate,
    pub location: String,
    pub description: Option<String>,
    /// Who leads it (the attendance sheet names them).
    pub trainer: Option<String>,
    /// How long each half-day lasts, in minutes: the hours a certificate
    /// of completion counts.
    pub half_day_minutes: i32,
    /// Price per seat in minor units (cents).
    pub price_cents: i64,
    /// ISO 4217 code, upper-case.
    pub currency: String,
    pub max_places: i32,
    pub reserved_places: i32,
    pub available_places: i32,
    pub status: SessionStatus,
    pub is_active: bool,
    /// The fewest confirmed attendees the session runs with; none when
    /// any number will do.
    pub min_places: Option<i32>,
    /// When the minimum is looked at (with `min_places`).
    #[cfg_attr(
        target_arch = "wasm32",
        serde(default, deserialize_with = "crate::wire::date_opt")
    )]
    pub decide_on: Option<NaiveDate>,
    /// What was decided, once it was.
    pub decision: Option<SessionDecision>,
    /// How many people wait for a place (never who).
    pub waiting: i32,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(deserialize_with = "crate::wire::instant")
    )]
    pub created_at: DateTime<Utc>,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(deserialize_with = "crate::wire::instant")
    )]
    pub updated_at: DateTime<Utc>,
}

fn default_currency() -> String {
    "EUR".to_owned()
}
fn default_max_places() -> i32 {
    8
}
fn default_true() -> bool {
    true
}
fn default_half_day_minutes() -> i32 {
    DEFAULT_HALF_DAY_MINUTES
}

/// `POST /api/admin/sessions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    #[cfg_attr(target_arch = "wasm32", serde(deserialize_with = "crate::wire::date"))]
    pub starts_on: NaiveDate,
    #[cfg_attr(target_arch = "wasm32", serde(deserialize_with = "crate::wire::date"))]
    pub ends_on: NaiveDate,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "Paris", min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub location: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 5000))]
    pub description: Option<String>,
    /// Who leads the session.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(example = "Claire Fontaine", max_length = 200)
    )]
    pub trainer: Option<String>,
    /// How long each half-day lasts, in minutes (210 by default: a day of
    /// 7 hours). Certificates of completion count hours with it.
    #[serde(default = "default_half_day_minutes")]
    #[cfg_attr(
        feature = "openapi",
        schema(example = 210, minimum = 60, maximum = 300)
    )]
    pub half_day_minutes: i32,
    #[cfg_attr(
        feature = "openapi",
        schema(example = 199700, minimum = 50, maximum = 99_999_999)
    )]
    pub price_cents: i64,
    /// ISO 4217 code: EUR, CHF, GBP, USD or CAD (any case).
    #[serde(default = "default_currency")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "EUR",
            pattern = "^(EUR|CHF|GBP|USD|CAD|eur|chf|gbp|usd|cad)$"
        )
    )]
    pub currency: String,
    #[serde(default = "default_max_places")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000))]
    pub max_places: i32,
    #[serde(default = "default_true")]
    pub is_active: bool,
    /// The fewest confirmed attendees the session runs with (1 to
    /// `max_places`); below it on `decide_on`, it is cancelled and every
    /// paid seat refunded. Omit for no minimum.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000))]
    pub min_places: Option<i32>,
    /// When the minimum is looked at; defaults to `MIN_PLACES_DECISION_DAYS`
    /// days before `starts_on`. Must be before `starts_on`.
    #[serde(default)]
    #[cfg_attr(
        target_arch = "wasm32",
        serde(deserialize_with = "crate::wire::date_opt")
    )]
    pub decide_on: Option<NaiveDate>,
}

/// `PATCH /api/admin/sessions/{id}`: only the fields present change.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SessionPatch {
    #[cfg_attr(
        target_arch = "wasm32",
        serde(default, deserialize_with = "crate::wire::date_opt")
    )]
    pub starts_on: Option<NaiveDate>,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(default, deserialize_with = "crate::wire::date_opt")
    )]
    pub ends_on: Option<NaiveDate>,
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub location: Option<String>,
    /// An empty string clears the description.
    #[cfg_attr(feature = "openapi", schema(max_length = 5000))]
    pub description: Option<String>,
    /// An empty string clears the trainer.
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub trainer: Option<String>,
    #[cfg_attr(feature = "openapi", schema(minimum = 60, maximum = 300))]
    pub half_day_minutes: Option<i32>,
    #[cfg_attr(feature = "openapi", schema(minimum = 50, maximum = 99_999_999))]
    pub price_cents: Option<i64>,
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^(EUR|CHF|GBP|USD|CAD|eur|chf|gbp|usd|cad)$")
    )]
    pub currency: Option<String>,
    /// Never below the places already reserved.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000))]
    pub max_places: Option<i32>,
    pub is_active: Option<bool>,
    /// `true` closes bookings; `false` reopens them (unless it has started).
    pub closed: Option<bool>,
    /// 0 removes the minimum.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1000))]
    pub min_places: Option<i32>,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(default, deserialize_with = "crate::wire::date_opt")
    )]
    pub decide_on: Option<NaiveDate>,
}

/// The editable fields of a session, checked together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionFields {
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub location: String,
    pub description: Option<String>,
    pub trainer: Option<String>,
    pub half_day_minutes: i32,
    pub price_cents: i64,
    pub currency: String,
    pub max_places: i32,
}

/// Largest number of places one session may offer.
pub const MAX_PLACES_LIMIT: i32 = 1000;
/// Longest accepted location, in characters.
pub const MAX_LOCATION_CHARS: usize = 200;
/// Longest accepted trainer name, in characters.
pub const MAX_TRAINER_CHARS: usize = 200;
/// A half-day lasts 3 h 30 unless the session says otherwise.
pub const DEFAULT_HALF_DAY_MINUTES: i32 = 210;
/// A half-day lasts from one to five hours.
pub const HALF_DAY_MINUTES: std::ops::RangeInclusive<i32> = 60..=300;

/// The half-day's length, when it is out of bounds.
pub fn half_day_error(minutes: i32) -> Option<FieldError> {
    (!HALF_DAY_MINUTES.contains(&minutes)).then(|| {
        FieldError::new(
            "half_day_minutes",
            "out_of_range",
            format!(
                "half_day_minutes must lie between {} and {}",
                HALF_DAY_MINUTES.start(),
                HALF_DAY_MINUTES.end()
            ),
        )
    })
}
/// Longest accepted description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 5000;
/// Session dates lie in these years: anything else is a typing error.
pub const MIN_YEAR: i32 = 2000;
pub const MAX_YEAR: i32 = 2100;
/// Highest accepted price, in minor units (Stripe's own ceiling).
pub const MAX_PRICE_CENTS: i64 = 99_999_999;
/// The lowest price: Stripe charges no less than 0.50 in these currencies,
/// and a free session cannot go through Checkout, so none is sold.
pub const MIN_PRICE_CENTS: i64 = 50;

/// Checks and normalises a session's fields: trims text, upper-cases the
/// currency, turns an empty description into none. Every broken rule is
/// reported, not just the first.
pub fn validate_session(mut f: SessionFields) -> Result<SessionFields, Vec<FieldError>> {
    let mut errors = Vec::new();
    for (field, day) in [("starts_on", f.starts_on), ("ends_on", f.ends_on)] {
        if !(MIN_YEAR..=MAX_YEAR).contains(&chrono::Datelike::year(&day)) {
            errors.push(FieldError::new(
                field,
                "out_of_range",
                format!("{field} must lie between {MIN_YEAR} and {MAX_YEAR}"),
            ));
        }
    }
    if f.ends_on < f.starts_on {
        errors.push(FieldError::new(
            "ends_on",
            "before_start",
            "ends_on must be on or after starts_on",
        ));
    }
    f.location = f.location.trim().to_owned();
    if crate::has_control_chars(&f.location, false) {
        errors.push(crate::control_chars_error("location"));
    } else if f.location.is_empty() {
        errors.push(FieldError::new(
            "location",
            "required",
            "location is required",
        ));
    } else if f.location.chars().count() > MAX_LOCATION_CHARS {
        errors.push(FieldError::new(
            "location",
            "too_long",
            format!("location is at most {MAX_LOCATION_CHARS} characters"),
        ));
    }
    f.description = f
        .description
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty());
    if f.description
        .as_ref()
        .is_some_and(|d| crate::has_control_chars(d, true))
    {
        errors.push(crate::control_chars_error("description"));
    } else if f
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        errors.push(FieldError::new(
            "description",
            "too_long",
            format!("description is at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    f.trainer = f
        .trainer
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    if let Some(t) = &f.trainer {
        if crate::has_control_chars(t, false) {
            errors.push(crate::control_chars_error("trainer"));
        } else if t.chars().count() > MAX_TRAINER_CHARS {
            errors.push(FieldError::new(
                "trainer",
                "too_long",
                format!("trainer is at most {MAX_TRAINER_CHARS} characters"),
            ));
        }
    }
    errors.extend(half_day_error(f.half_day_minutes));
    if f.price_cents < MIN_PRICE_CENTS {
        errors.push(FieldError::new(
            "price_cents",
            "below_minimum",
            format!(
                "price_cents must be at least {MIN_PRICE_CENTS}: payments go through Stripe, \
                 which charges no less, and free sessions are not sold"
            ),
        ));
    } else if f.price_cents > MAX_PRICE_CENTS {
        errors.push(FieldError::new(
            "price_cents",
            "out_of_range",
            format!("price_cents must be at most {MAX_PRICE_CENTS}"),
        ));
    }
    match known_currency(&f.currency) {
        Some(code) => f.currency = code.to_owned(),
        None => errors.push(FieldError::new(
            "currency",
            "unknown",
            format!(
                "currency must be one of {}",
                currency_codes().collect::<Vec<_>>().join(", ")
            ),
        )),
    }
    if !(1..=MAX_PLACES_LIMIT).contains(&f.max_places) {
        errors.push(FieldError::new(
            "max_places",
            "out_of_range",
            format!("max_places must be between 1 and {MAX_PLACES_LIMIT}"),
        ));
    }
    if errors.is_empty() {
        Ok(f)
    } else {
        Err(errors)
    }
}

/// Checks a minimum group size against the session's places and dates.
pub fn validate_minimum(
    min_places: Option<i32>,
    decide_on: Option<NaiveDate>,
    max_places: i32,
    starts_on: NaiveDate,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(min) = min_places
        && !(1..=max_places).contains(&min)
    {
        errors.push(FieldError::new(
            "min_places",
            "out_of_range",
            format!("min_places must be between 1 and max_places ({max_places})"),
        ));
    }
    if let Some(day) = decide_on
        && (day >= starts_on || chrono::Datelike::year(&day) < MIN_YEAR)
    {
        errors.push(FieldError::new(
            "decide_on",
            "not_before_start",
            "decide_on must be a day before starts_on",
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimum_decides_at_and_above_it() {
        assert_eq!(decide(None, 0), None);
        assert_eq!(decide(Some(3), 2), Some(SessionDecision::Cancelled));
        assert_eq!(decide(Some(3), 3), Some(SessionDecision::Confirmed));
        assert_eq!(decide(Some(3), 8), Some(SessionDecision::Confirmed));
        let start = d(2027, 3, 10);
        assert_eq!(default_decide_on(start, 14), d(2027, 2, 24));
        assert!(validate_minimum(Some(3), Some(d(2027, 3, 9)), 8, start).is_empty());
        let bad = validate_minimum(Some(9), Some(start), 8, start);
        let rules: Vec<_> = bad.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(rules, ["min_places", "decide_on"]);
        assert_eq!(validate_minimum(Some(0), None, 8, start).len(), 1);
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn fields() -> SessionFields {
        SessionFields {
            starts_on: d(2030, 3, 4),
            ends_on: d(2030, 3, 8),
            location: " Paris ".into(),
            description: Some("  ".into()),
            trainer: None,
            half_day_minutes: DEFAULT_HALF_DAY_MINUTES,
            price_cents: 199_700,
            currency: "eur".into(),
            max_places: 8,
        }
    }

    fn rules(r: Result<SessionFields, Vec<FieldError>>) -> Vec<(String, String)> {
        r.err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.field, e.rule))
            .collect()
    }

    #[test]
    fn valid_fields_are_normalised() {
        let ok = validate_session(fields()).unwrap();
        assert_eq!(ok.location, "Paris");
        assert_eq!(ok.currency, "EUR");
        assert_eq!(ok.description, None);
    }

    #[test]
    fn one_day_session_is_valid() {
        let f = SessionFields {
            ends_on: d(2030, 3, 4),
            ..fields()
        };
        assert!(validate_session(f).is_ok());
    }

    #[test]
    fn every_broken_rule_is_reported() {
        let f = SessionFields {
            starts_on: d(2030, 3, 8),
            ends_on: d(2030, 3, 4),
            location: "   ".into(),
            description: Some("x".repeat(MAX_DESCRIPTION_CHARS + 1)),
            trainer: None,
            half_day_minutes: 20,
            price_cents: -1,
            currency: "ZZZ".into(),
            max_places: 0,
        };
        let got = rules(validate_session(f));
        let want: Vec<(String, String)> = [
            ("ends_on", "before_start"),
            ("location", "required"),
            ("description", "too_long"),
            ("half_day_minutes", "out_of_range"),
            ("price_cents", "below_minimum"),
            ("currency", "unknown"),
            ("max_places", "out_of_range"),
        ]
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn bounds_are_inclusive() {
        let f = SessionFields {
            trainer: Some("  Claire Fontaine ".into()),
            ..fields()
        };
        assert_eq!(
            validate_session(f).unwrap().trainer.as_deref(),
            Some("Claire Fontaine")
        );
        let f = SessionFields {
            trainer: Some(" ".into()),
            ..fields()
        };
        assert_eq!(validate_session(f).unwrap().trainer, None);
        for bad in [
            "x".repeat(MAX_TRAINER_CHARS + 1),
            "Claire\nFontaine".to_owned(),
        ] {
            let f = SessionFields {
                trainer: Some(bad),
                ..fields()
            };
            assert_eq!(rules(validate_session(f)).len(), 1);
        }
        let f = SessionFields {
            price_cents: MIN_PRICE_CENTS,
            max_places: 1,
            ..fields()
        };
        assert!(validate_session(f).is_ok());
        for free in [0, MIN_PRICE_CENTS - 1] {
            let f = SessionFields {
                price_cents: free,
                ..fields()
            };
            assert_eq!(
                rules(validate_session(f)),
                vec![("price_cents".to_owned(), "below_minimum".to_owned())]
            );
        }
        let f = SessionFields {
            price_cents: MAX_PRICE_CENTS + 1,
            max_places: MAX_PLACES_LIMIT + 1,
            ..fields()
        };
        assert_eq!(rules(validate_session(f)).len(), 2);
    }

    #[test]
    fn status_is_derived_from_places_dates_and_admin_closing() {
        let today = d(2030, 1, 1);
        let later = d(2030, 2, 1);
        assert_eq!(
            derive_status(false, later, today, 3, 8),
            SessionStatus::Open
        );
        assert_eq!(
            derive_status(false, later, today, 8, 8),
            SessionStatus::Full
        );
        assert_eq!(
            derive_status(true, later, today, 3, 8),
            SessionStatus::Closed
        );
        // Started today or before: closed, even with free places.
        assert_eq!(
            derive_status(false, today, today, 0, 8),
            SessionStatus::Closed
        );
        assert_eq!(
            derive_status(false, d(2029, 12, 1), today, 8, 8),
            SessionStatus::Closed
        );
    }
}
