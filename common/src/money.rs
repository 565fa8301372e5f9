//! Money is integer minor units plus an ISO 4217 code (invariant 7).

/// The currencies the catalog accepts, with the symbol French readers expect.
/// All of them have two minor digits.
const CURRENCIES: &[(&str, &str)] = &[
    ("EUR", "€"),
    ("CHF", "CHF"),
    ("GBP", "£GB"),
    ("USD", "$US"),
    ("CAD", "$CA"),
];

/// The normalised (upper-case) code when `code` is a currency we accept.
pub fn known_currency(code: &str) -> Option<&'static str> {
    CURRENCIES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|(c, _)| *c)
}

/// The accepted currency codes, for error messages and the OpenAPI document.
pub fn currency_codes() -> impl Iterator<Item = &'static str> {
    CURRENCIES.iter().map(|(c, _)| *c)
}

/// Narrow no-break space: the CLDR `fr` digit-group separator.
const GROUP: char = '\u{202F}';
/// No-break space: between the amount and its currency symbol.
const NBSP: char = '\u{00A0}';

/// Formats an amount the French way: "1 997 €", "1 997,50 €", "12 345 678 €".
/// Whole amounts drop the decimals, as the catalog shows them.
pub fn format_price(amount_cents: i64, currency: &str) -> String {
    let symbol = CURRENCIES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(currency))
        .map_or(currency, |(_, s)| *s);
    let sign = if amount_cents < 0 { "-" } else { "" };
    let abs = amount_cents.unsigned_abs();
    let (units, cents) = (abs / 100, abs % 100);
    let mut out = format!("{sign}{}", group_thousands(units));
    if cents != 0 {
        out.push_str(&format!(",{cents:02}"));
    }
    out.push(NBSP);
    out.push_str(symbol);
    out
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(GROUP);
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_price_uses_narrow_nbsp_grouping_and_nbsp_before_euro() {
        assert_eq!(format_price(199_700, "EUR"), "1\u{202F}997\u{00A0}€");
    }

    #[test]
    fn small_and_large_amounts() {
        assert_eq!(format_price(0, "EUR"), "0\u{00A0}€");
        assert_eq!(format_price(99_900, "eur"), "999\u{00A0}€");
        assert_eq!(
            format_price(1_234_567_800, "EUR"),
            "12\u{202F}345\u{202F}678\u{00A0}€"
        );
    }

    #[test]
    fn cents_are_shown_with_a_comma_when_not_whole() {
        assert_eq!(format_price(199_750, "EUR"), "1\u{202F}997,50\u{00A0}€");
        assert_eq!(format_price(5, "EUR"), "0,05\u{00A0}€");
        assert_eq!(format_price(-1_050, "EUR"), "-10,50\u{00A0}€");
    }

    #[test]
    fn other_currencies_use_french_symbols() {
        assert_eq!(format_price(10_000, "USD"), "100\u{00A0}$US");
        assert_eq!(format_price(10_000, "CHF"), "100\u{00A0}CHF");
    }

    #[test]
    fn currency_codes_are_checked_case_insensitively() {
        assert_eq!(known_currency("eur"), Some("EUR"));
        assert_eq!(known_currency("EUR"), Some("EUR"));
        assert_eq!(known_currency("XYZ"), None);
        assert_eq!(known_currency(""), None);
    }
}
