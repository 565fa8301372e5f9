//! One e-mail address, one account. A value that both the settings
//! (`ADMIN_EMAILS`) and the domain read, so it sits beside `config`, below
//! both.
//!
//! An address is accepted only when it
//! is a single RFC 5321 mailbox (`local@domain`, no display name, comma,
//! quote, angle bracket or whitespace), and it is normalised — Unicode
//! NFC, lower-cased — so that addresses that look the same are the same.

use unicode_normalization::UnicodeNormalization;

/// An address, validated and normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// RFC 5321's limit on a path, hence on an address.
const MAX_LEN: usize = 254;
/// RFC 5321's limit on the local part, and on each domain label.
const MAX_LOCAL: usize = 64;
const MAX_LABEL: usize = 63;

/// Letters that render as nothing (Hangul fillers): an address holding one
/// would look like another.
fn invisible(c: char) -> bool {
    matches!(c, '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}')
}

/// A non-ASCII letter or digit that shows (RFC 6531).
fn visible_unicode(c: char) -> bool {
    !c.is_ascii() && c.is_alphanumeric() && !invisible(c)
}

/// The characters of an unquoted local part (RFC 5322 `atext`), and any
/// visible non-ASCII letter.
fn local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || visible_unicode(c)
}

fn domain_label(label: &str) -> bool {
    !label.is_empty()
        && label.chars().count() <= MAX_LABEL
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || visible_unicode(c))
}

impl Email {
    /// None when `raw` is not one plain mailbox. Surrounding whitespace is
    /// forgiven; anything inside is not.
    pub fn parse(raw: &str) -> Option<Self> {
        let email: String = raw.trim().nfc().collect::<String>().to_lowercase();
        if email.len() > MAX_LEN {
            return None;
        }
        let (local, domain) = email.split_once('@')?;
        let local_ok = !local.is_empty()
            && local.chars().count() <= MAX_LOCAL
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.split('.').all(|atom| atom.chars().all(local_char));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2 && labels.iter().all(|l| domain_label(l));
        (local_ok && domain_ok).then_some(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The confusable skeleton of an address (Unicode UTS #39): `bоss@` with
/// a Cyrillic о and `boss@` have the same one, so they cannot both be
/// accounts. Lower-cased first, as addresses are.
pub fn skeleton(address: &str) -> String {
    unicode_security::confusable_detection::skeleton(&address.to_lowercase()).collect()
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn plain_mailboxes_are_normalised() {
        let e = Email::parse("  Marie.Dupont+immersion@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "marie.dupont+immersion@example.com");
        // The same letter composed or decomposed is one address.
        let composed = Email::parse("jos\u{e9}@x.io").unwrap();
        let decomposed = Email::parse("jose\u{301}@x.io").unwrap();
        assert_eq!(composed, decomposed);
        assert!(Email::parse("élodie@exemple.fr").is_some());
    }

    #[test]
    fn anything_but_one_mailbox_is_refused() {
        for bad in [
            "",
            "marie",
            "@example.com",
            "marie@",
            "marie@example",
            "marie@.com",
            "marie@example.com.",
            "ma rie@example.com",
            "a@b@example.com",
            "x<victim@example.com>",
            "Marie <marie@example.com>",
            "a,b@x.io",
            "a@x.io,b@y.io",
            "\"quoted\"@x.io",
            ".marie@x.io",
            "marie.@x.io",
            "ma..rie@x.io",
            "marie@-x.io",
            "marie@x_y.io",
            "marie\u{0}@x.io",
            "ma\trie@x.io",
            "boss\u{115F}@corp.test",
            "boss@corp\u{3164}.test",
        ] {
            assert_eq!(Email::parse(bad), None, "{bad:?}");
        }
        // Whitespace around the address is forgiven.
        assert!(Email::parse("marie@x.io\n").is_some());
        assert_eq!(Email::parse(&format!("{}@x.io", "a".repeat(65))), None);
    }
}
