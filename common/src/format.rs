//! French display of session dates and remaining places, as the catalog
//! shows them ("3 mars - 7 mars 2025", "3 places restantes").

use chrono::{Datelike, NaiveDate};

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// French writes the first day of a month as an ordinal: "1er".
fn day(d: NaiveDate) -> String {
    if d.day() == 1 {
        "1er".to_owned()
    } else {
        d.day().to_string()
    }
}

fn day_month(d: NaiveDate) -> String {
    format!("{} {}", day(d), MONTHS[d.month0() as usize])
}

/// "3 mars 2025", "1er avril 2025".
pub fn format_date(d: NaiveDate) -> String {
    format!("{} {}", day_month(d), d.year())
}

/// "3 mars - 7 mars 2025"; "31 mars - 4 avril 2025"; across a year end
/// both years: "29 décembre 2025 - 2 janvier 2026". A one-day session
/// shows one date.
pub fn format_session_dates(start: NaiveDate, end: NaiveDate) -> String {
    if start == end {
        format_date(start)
    } else if start.year() == end.year() {
        format!("{} - {} {}", day_month(start), day_month(end), end.year())
    } else {
        format!("{} - {}", format_date(start), format_date(end))
    }
}

/// The dates inside a sentence: "du 7 au 11 décembre 2026", "du 28 février
/// au 3 mars 2027", "du 29 décembre 2026 au 2 janvier 2027", and for one
/// day "le 7 décembre 2026". (The catalog's cards keep the seed's form,
/// `format_session_dates`.)
pub fn format_dates_in_sentence(start: NaiveDate, end: NaiveDate) -> String {
    if start == end {
        return format!("le {}", format_date(start));
    }
    let from = if start.year() != end.year() {
        format_date(start)
    } else if start.month() != end.month() {
        day_month(start)
    } else {
        day(start)
    };
    format!("du {from} au {}", format_date(end))
}

/// "3 places restantes", "1 place restante", "Complet".
pub fn format_remaining_places(available: i32) -> String {
    match available {
        i32::MIN..=0 => "Complet".to_owned(),
        1 => "1 place restante".to_owned(),
        n => format!("{n} places restantes"),
    }
}

/// A description as admins write it, plain text: its paragraphs, split
/// on blank lines and trimmed (a single line break stays inside its
/// paragraph). Nothing in it is markup: pages show it as text.
pub fn paragraphs(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    let mut end = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim().is_empty() {
            if let Some(s) = start.take() {
                out.push(text[s..end].trim());
            }
        } else {
            start.get_or_insert(offset);
            end = offset + line.len();
        }
        offset += line.len();
    }
    if let Some(s) = start {
        out.push(text[s..end].trim());
    }
    out
}

/// At most `max` characters of `text` on one line, cut at a word with "…"
/// when longer (a page's meta description, a mail's preview).
pub fn summary(text: &str, max: usize) -> String {
    // ASCII only: a price keeps its no-break spaces ("1 997 €").
    let flat = text.split_ascii_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    let words = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", words.trim_end_matches([',', ';', ':', '.']))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn dates_in_a_sentence_read_as_french() {
        let f = |a, b| format_dates_in_sentence(a, b);
        assert_eq!(
            f(d(2026, 12, 7), d(2026, 12, 11)),
            "du 7 au 11 décembre 2026"
        );
        assert_eq!(
            f(d(2027, 2, 28), d(2027, 3, 3)),
            "du 28 février au 3 mars 2027"
        );
        assert_eq!(
            f(d(2026, 12, 29), d(2027, 1, 2)),
            "du 29 décembre 2026 au 2 janvier 2027"
        );
        assert_eq!(f(d(2027, 3, 1), d(2027, 3, 5)), "du 1er au 5 mars 2027");
        assert_eq!(f(d(2027, 3, 1), d(2027, 3, 1)), "le 1er mars 2027");
    }

    #[test]
    fn single_dates_with_the_first_as_an_ordinal() {
        assert_eq!(format_date(d(2025, 3, 3)), "3 mars 2025");
        assert_eq!(format_date(d(2025, 4, 1)), "1er avril 2025");
    }

    #[test]
    fn same_month_as_in_the_seed() {
        assert_eq!(
            format_session_dates(d(2025, 3, 3), d(2025, 3, 7)),
            "3 mars - 7 mars 2025"
        );
    }

    #[test]
    fn across_months_as_in_the_seed() {
        assert_eq!(
            format_session_dates(d(2025, 3, 31), d(2025, 4, 4)),
            "31 mars - 4 avril 2025"
        );
    }

    #[test]
    fn across_years_shows_both_years() {
        assert_eq!(
            format_session_dates(d(2025, 12, 29), d(2026, 1, 2)),
            "29 décembre 2025 - 2 janvier 2026"
        );
    }

    #[test]
    fn accented_months_and_first_of_month() {
        assert_eq!(
            format_session_dates(d(2025, 8, 1), d(2025, 8, 5)),
            "1er août - 5 août 2025"
        );
        assert_eq!(
            format_session_dates(d(2025, 2, 24), d(2025, 2, 28)),
            "24 février - 28 février 2025"
        );
    }

    #[test]
    fn one_day_session_shows_one_date() {
        assert_eq!(
            format_session_dates(d(2025, 6, 2), d(2025, 6, 2)),
            "2 juin 2025"
        );
    }

    #[test]
    fn remaining_places_agree_in_number() {
        assert_eq!(format_remaining_places(3), "3 places restantes");
        assert_eq!(format_remaining_places(2), "2 places restantes");
        assert_eq!(format_remaining_places(1), "1 place restante");
        assert_eq!(format_remaining_places(0), "Complet");
        assert_eq!(format_remaining_places(-1), "Complet");
    }

    #[test]
    fn paragraphs_split_on_blank_lines_only() {
        let text = "\n  Jour 1 : accueil.\nJour 2 : pratique.\n\n \t\nDernier jour.  \n\n";
        assert_eq!(
            paragraphs(text),
            ["Jour 1 : accueil.\nJour 2 : pratique.", "Dernier jour."]
        );
        assert_eq!(paragraphs("Un seul."), ["Un seul."]);
        assert!(paragraphs(" \n\n ").is_empty());
        assert_eq!(paragraphs("a\r\n\r\nb"), ["a", "b"]);
    }

    #[test]
    fn summaries_cut_at_a_word() {
        assert_eq!(summary("Cinq  jours\nà Paris.", 40), "Cinq jours à Paris.");
        assert_eq!(summary("Cinq jours en petit groupe", 12), "Cinq jours…");
        assert_eq!(summary("Cinq jours, en groupe", 13), "Cinq jours…");
        assert!(summary(&"é".repeat(300), 160).chars().count() <= 160);
    }
}
