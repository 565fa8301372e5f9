//! CSV files for spreadsheets (RFC 4180 lines, CRLF), with cells a
//! spreadsheet would run as a formula defused. Hand-written: two small
//! functions, where a CSV crate would add a dependency for the same.

/// Characters a spreadsheet may skip before it reads a formula: spaces,
/// and the invisible ones (zero-width, joiners, bidi controls, the BOM,
/// the soft hyphen).
fn invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
        )
}

/// What starts a formula, after NFKC (so `＝SUM(…)` and `﹦1` count as
/// `=`: a spreadsheet may fold them the same way).
fn starts_formula(c: char) -> bool {
    use unicode_normalization::UnicodeNormalization;
    std::iter::once(c)
        .nfkc()
        .next()
        .is_some_and(|n| matches!(n, '=' | '+' | '-' | '@'))
}

/// Quotes a cell when needed, and defuses cells a spreadsheet would run
/// as a formula, also behind leading spaces or invisible characters.
pub fn cell(raw: &str) -> String {
    let first_seen = raw.chars().find(|c| !invisible(*c));
    let defuse = raw.starts_with(['\t', '\r']) || first_seen.is_some_and(starts_formula);
    let safe = if defuse {
        format!("'{raw}")
    } else {
        raw.to_owned()
    };
    if safe.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", safe.replace('"', "\"\""))
    } else {
        safe
    }
}

/// One line of cells, ended by CRLF.
pub fn line<S: AsRef<str>>(cells: impl IntoIterator<Item = S>) -> String {
    let mut out = cells
        .into_iter()
        .map(|c| cell(c.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::{cell, line};

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain@example.com"), "plain@example.com");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(line(["a", "b,c", ""]), "a,\"b,c\",\r\n");
    }

    #[test]
    fn full_width_and_hidden_formulas_are_defused_too() {
        for formula in [
            "\u{FF1D}HYPERLINK(\"https://evil.example\")",
            "\u{FF0B}1",
            "\u{200B}=1+1",
            "\u{FEFF}@SUM(A1)",
            "\u{202E}-2",
            " =1",
            "\u{FE66}1",
            "\u{FE62}1",
        ] {
            let defused = cell(formula);
            assert!(
                defused.trim_start_matches('"').starts_with('\''),
                "{formula:?}: {defused}"
            );
        }
        for text in ["Marie", "\u{200B}Marie", "2026-12-01", "ＡＢＣ"] {
            assert!(!cell(text).starts_with('\''), "{text:?}");
        }
    }
}
