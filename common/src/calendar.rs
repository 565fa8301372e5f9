//! The French public holidays (jours fériés, Code du travail L3133-1):
//! a session is not held on one, its attendance sheet has no box for it,
//! and its planned hours leave it out. The three that move with Easter
//! (Easter Monday, Ascension, Whit Monday) come from the Gregorian
//! computus. Alsace-Moselle's two extra days (Good Friday, 26 December)
//! are local and not counted here.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Easter Sunday of `year` (the anonymous Gregorian algorithm, valid for
/// every year of the Gregorian calendar).
pub fn easter(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    // The algorithm gives March or April and a day within it.
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).unwrap_or_default()
}

/// The eleven public holidays of `year`, in date order, with their names.
pub fn holidays(year: i32) -> [(NaiveDate, &'static str); 11] {
    let fixed = |month, day| NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default();
    let easter = easter(year);
    let mut days = [
        (fixed(1, 1), "Jour de l'an"),
        (easter + Duration::days(1), "Lundi de Pâques"),
        (fixed(5, 1), "Fête du Travail"),
        (fixed(5, 8), "Victoire 1945"),
        (easter + Duration::days(39), "Ascension"),
        (easter + Duration::days(50), "Lundi de Pentecôte"),
        (fixed(7, 14), "Fête nationale"),
        (fixed(8, 15), "Assomption"),
        (fixed(11, 1), "Toussaint"),
        (fixed(11, 11), "Armistice 1918"),
        (fixed(12, 25), "Noël"),
    ];
    // Ascension can fall on 1 or 8 May (2008, 2035), Whit Monday in June
    // or May: keep the list in date order.
    days.sort_by_key(|(d, _)| *d);
    days
}

/// The holiday's name when `day` is one.
pub fn holiday(day: NaiveDate) -> Option<&'static str> {
    holidays(day.year())
        .into_iter()
        .find(|(d, _)| *d == day)
        .map(|(_, name)| name)
}

/// The holidays from `start` to `end`, both included.
pub fn holidays_between(start: NaiveDate, end: NaiveDate) -> Vec<(NaiveDate, &'static str)> {
    (start.year()..=end.year())
        .flat_map(holidays)
        .filter(|(d, _)| (start..=end).contains(d))
        .collect()
}

/// The days from `start` to `end`, both included, on which a session is
/// held: Monday to Friday, but not a public holiday.
pub fn working_days(start: NaiveDate, end: NaiveDate) -> Vec<NaiveDate> {
    start
        .iter_days()
        .take_while(|d| *d <= end)
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .filter(|d| holiday(*d).is_none())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// The official list (service-public.fr) for 2025 to 2030.
    const OFFICIAL: [(i32, [&str; 11]); 6] = [
        (
            2025,
            [
                "2025-01-01",
                "2025-04-21",
                "2025-05-01",
                "2025-05-08",
                "2025-05-29",
                "2025-06-09",
                "2025-07-14",
                "2025-08-15",
                "2025-11-01",
                "2025-11-11",
                "2025-12-25",
            ],
        ),
        (
            2026,
            [
                "2026-01-01",
                "2026-04-06",
                "2026-05-01",
                "2026-05-08",
                "2026-05-14",
                "2026-05-25",
                "2026-07-14",
                "2026-08-15",
                "2026-11-01",
                "2026-11-11",
                "2026-12-25",
            ],
        ),
        (
            2027,
            [
                "2027-01-01",
                "2027-03-29",
                "2027-05-01",
                "2027-05-06",
                "2027-05-08",
                "2027-05-17",
                "2027-07-14",
                "2027-08-15",
                "2027-11-01",
                "2027-11-11",
                "2027-12-25",
            ],
        ),
        (
            2028,
            [
                "2028-01-01",
                "2028-04-17",
                "2028-05-01",
                "2028-05-08",
                "2028-05-25",
                "2028-06-05",
                "2028-07-14",
                "2028-08-15",
                "2028-11-01",
                "2028-11-11",
                "2028-12-25",
            ],
        ),
        (
            2029,
            [
                "2029-01-01",
                "2029-04-02",
                "2029-05-01",
                "2029-05-08",
                "2029-05-10",
                "2029-05-21",
                "2029-07-14",
                "2029-08-15",
                "2029-11-01",
                "2029-11-11",
                "2029-12-25",
            ],
        ),
        (
            2030,
            [
                "2030-01-01",
                "2030-04-22",
                "2030-05-01",
                "2030-05-08",
                "2030-05-30",
                "2030-06-10",
                "2030-07-14",
                "2030-08-15",
                "2030-11-01",
                "2030-11-11",
                "2030-12-25",
            ],
        ),
    ];

    #[test]
    fn the_holidays_of_2025_to_2030_are_the_official_ones() {
        for (year, official) in OFFICIAL {
            let ours: Vec<NaiveDate> = holidays(year).iter().map(|(d, _)| *d).collect();
            let theirs: Vec<NaiveDate> = official.iter().map(|s| d(s)).collect();
            assert_eq!(ours, theirs, "{year}");
        }
    }

    #[test]
    fn the_moving_holidays_are_named() {
        assert_eq!(holiday(d("2027-03-29")), Some("Lundi de Pâques"));
        assert_eq!(holiday(d("2028-05-25")), Some("Ascension"));
        assert_eq!(holiday(d("2030-06-10")), Some("Lundi de Pentecôte"));
        assert_eq!(holiday(d("2026-12-25")), Some("Noël"));
        assert_eq!(holiday(d("2026-12-24")), None);
    }

    #[test]
    fn easter_on_its_extreme_dates() {
        // The earliest and latest possible Easter Sundays.
        assert_eq!(easter(1818), d("1818-03-22"));
        assert_eq!(easter(2038), d("2038-04-25"));
    }

    #[test]
    fn weekends_have_no_half_days() {
        // Thursday 4 March 2027 to Monday 8 March: Thu, Fri, Mon.
        assert_eq!(
            working_days(d("2027-03-04"), d("2027-03-08")),
            [d("2027-03-04"), d("2027-03-05"), d("2027-03-08")]
        );
        assert_eq!(working_days(d("2027-03-06"), d("2027-03-07")), []);
    }

    #[test]
    fn a_christmas_week_is_held_on_four_days() {
        let days = working_days(d("2026-12-21"), d("2026-12-25"));
        assert_eq!(days.len(), 4);
        assert!(!days.contains(&d("2026-12-25")));
        assert_eq!(
            holidays_between(d("2026-12-21"), d("2027-01-08")),
            vec![(d("2026-12-25"), "Noël"), (d("2027-01-01"), "Jour de l'an")]
        );
    }
}
