//! What the api and the web front end share: the JSON shapes of the API
//! contract, the stable error codes, and pure rules (validation, derived
//! session status, French formatting). No I/O here, so it builds for wasm32.

pub mod api_keys;
pub mod auth;
pub mod bookings;
pub mod calendar;
pub mod error;
pub mod events;
pub mod format;
pub mod invoices;
pub mod mail;
pub mod money;
pub mod pages;
pub mod payments;
pub mod presence;
pub mod privacy;
pub mod profile;
pub mod resources;
pub mod sessions;
pub mod stats;
pub mod subscriptions;
pub mod waitlist;
pub mod webhooks;
pub mod wire;

pub use error::{ErrorCode, FieldError, Problem};

/// True when `text` holds a control character other than a line break or
/// a tab: such text is refused (PostgreSQL cannot even store `\0`).
pub fn has_control_chars(text: &str, multiline: bool) -> bool {
    text.chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
}

/// True when `text` holds characters that show nothing yet change how
/// text reads (Unicode's default-ignorable code points: zero-width
/// spaces and joiners, bidi overrides and isolates, the BOM, variation
/// selectors, tags): what makes one name pass for another.
pub fn has_invisible_chars(text: &str) -> bool {
    text.chars().any(|c| {
        matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
    })
}

/// A 422 entry for a field holding control characters.
pub fn control_chars_error(field: &str) -> FieldError {
    FieldError::new(
        field,
        "control_characters",
        format!("{field} must not contain control characters"),
    )
}

/// The stored-text enums (each with `as_str`, the value its column holds):
/// they print as that text, and compare with it (`row.status == "held"`).
macro_rules! stored_text {
    ($($t:ty),* $(,)?) => {$(
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}

stored_text!(
    auth::Role,
    auth::License,
    bookings::BookingStatus,
    mail::MailStatus,
    payments::AnomalyKind,
    payments::OwedCallStatus,
    payments::OwedCallKind,
    resources::ResourceKind,
    sessions::SessionStatus,
    sessions::SessionDecision,
    subscriptions::StripeStatus,
    subscriptions::SubscriptionType,
    waitlist::WaitlistStatus,
);
