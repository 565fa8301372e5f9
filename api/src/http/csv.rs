//! CSV files for spreadsheets (RFC 4180 lines, CRLF), with cells a
//! spreadsheet would run as a formula defused. Hand-written: two small
//! functions, where a CSV crate would add a dependency for the same.

/// Quotes a cell when needed, and defuses cells a spreadsheet would run
/// as a formula.
pub fn cell(raw: &str) -> String {
    let safe = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
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
}
