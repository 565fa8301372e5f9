//! Session dates are calendar dates at the venue (invariant 8):
//! "today" is today in Paris, whatever the server's time zone.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Paris;

pub fn today_at_venue(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&Paris).date_naive()
}

/// What time it is when a step inside a request needs the moment itself
/// (a Checkout Session's expiry is measured from the call): the system's
/// clock, or a simulation's, so that a seeded run is the same run.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_evening_utc_is_already_tomorrow_in_paris() {
        let now = DateTime::parse_from_rfc3339("2026-06-30T22:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(today_at_venue(now).to_string(), "2026-07-01");
        let winter = DateTime::parse_from_rfc3339("2026-12-31T22:59:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(today_at_venue(winter).to_string(), "2026-12-31");
    }
}
