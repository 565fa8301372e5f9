//! Dates as the API writes them (`2027-03-01`, RFC 3339 instants in UTC
//! such as `2027-03-01T09:30:00.123456Z`), read without chrono's general
//! parser. In the browser build the DTOs read their dates through these
//! (`serde(deserialize_with)`, on wasm32 only): chrono's parser is a tenth
//! of the app's non-UI code, and the app must stay within its size budget
//! (bench/web_size.sh). The api keeps chrono's own, and the tests below
//! check these against it.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Deserializer, de::Error};

fn digits(s: &str) -> Option<u32> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `YYYY-MM-DD`, a real day.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    NaiveDate::from_ymd_opt(
        i32::try_from(digits(&s[..4])?).ok()?,
        digits(&s[5..7])?,
        digits(&s[8..])?,
    )
}

/// `YYYY-MM-DDTHH:MM:SS`, optional fraction, then `Z` or `±HH:MM`.
pub fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    let (date, rest) = (s.get(..10)?, s.get(10..)?);
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let (clock, zone) = if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else {
        let split = rest.len().checked_sub(6)?;
        let (clock, zone) = (rest.get(..split)?, rest.get(split..)?);
        let sign = match zone.as_bytes()[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        if zone.as_bytes()[3] != b':' {
            return None;
        }
        let minutes = digits(&zone[1..3])? * 60 + digits(&zone[4..])?;
        (clock, sign * i64::from(minutes))
    };
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let hb = hms.as_bytes();
    if hb.len() != 8 || hb[2] != b':' || hb[5] != b':' {
        return None;
    }
    let nanos = match fraction {
        "" if !clock.contains('.') => 0,
        f if f.len() <= 9 => digits(f)? * 10u32.pow(9 - f.len() as u32),
        _ => return None,
    };
    let time = NaiveTime::from_hms_nano_opt(
        digits(&hms[..2])?,
        digits(&hms[3..5])?,
        digits(&hms[6..])?,
        nanos,
    )?;
    let local = NaiveDateTime::new(parse_date(date)?, time);
    Some(local.and_utc() - chrono::Duration::minutes(zone))
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    String::deserialize(d)
}

pub fn date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    let s = text(d)?;
    parse_date(&s).ok_or_else(|| D::Error::custom("expected a date YYYY-MM-DD"))
}

pub fn date_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|s| parse_date(&s).ok_or_else(|| D::Error::custom("expected a date YYYY-MM-DD")))
        .transpose()
}

pub fn dates<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<NaiveDate>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|s| parse_date(s).ok_or_else(|| D::Error::custom("expected a date YYYY-MM-DD")))
        .collect()
}

pub fn instant<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let s = text(d)?;
    parse_instant(&s).ok_or_else(|| D::Error::custom("expected an RFC 3339 instant"))
}

pub fn instant_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|s| parse_instant(&s).ok_or_else(|| D::Error::custom("expected an RFC 3339 instant")))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_chrono_reads_them() {
        for s in ["2027-03-01", "2000-02-29", "2100-12-31", "0999-01-01"] {
            assert_eq!(parse_date(s), s.parse().ok(), "{s}");
        }
        for bad in [
            "2027-02-29",
            "2027-3-01",
            "2027-03-1",
            "27-03-01",
            "2027/03/01",
            "2027-03-01x",
            "",
            "+2027-03-01",
            "2027-0a-01",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn instants_read_as_chrono_reads_them() {
        for s in [
            "2027-03-01T09:30:00Z",
            "2027-03-01T09:30:00.123456Z",
            "2027-03-01T09:30:00.123456789Z",
            "2027-03-01T09:30:00.1Z",
            "2027-03-01T09:30:00+01:00",
            "2027-03-01T00:30:00.5-02:30",
            "2027-12-31T23:59:59-00:00",
        ] {
            let chrono_reads = DateTime::parse_from_rfc3339(s).ok().map(|t| t.to_utc());
            assert_eq!(parse_instant(s), chrono_reads, "{s}");
        }
        // What the api writes reads back as it was.
        let now = Utc::now();
        assert_eq!(parse_instant(&now.to_rfc3339()), Some(now));
        assert_eq!(
            parse_instant(serde_json::to_value(now).unwrap().as_str().unwrap()),
            Some(now)
        );
        for bad in [
            "2027-03-01",
            "2027-03-01T09:30Z",
            "2027-03-01T09:30:00",
            "2027-03-01T09:30:00.Z",
            "2027-03-01T25:00:00Z",
            "2027-03-01T09:30:00+0100",
            "2027-03-01T09:30:00.1234567890Z",
        ] {
            assert_eq!(parse_instant(bad), None, "{bad}");
        }
    }
}
