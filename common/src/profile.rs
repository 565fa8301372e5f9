//! A user's profile (`GET`/`PATCH /api/me/profile`): names, which the
//! attendee list and its CSV show, and what an invoice to a company needs
//! (its name, billing address, a phone number).

use serde::{Deserialize, Serialize};

use crate::FieldError;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileDto {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    /// Several lines.
    pub billing_address: Option<String>,
    pub phone: Option<String>,
    /// Both names are given.
    pub complete: bool,
}

/// A change: an absent field stays as it is; an empty one clears it
/// (names cannot be cleared).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub billing_address: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// The longest value of each field, in characters.
pub const MAX_NAME: usize = 100;
pub const MAX_COMPANY: usize = 200;
pub const MAX_ADDRESS: usize = 500;
pub const MAX_PHONE: usize = 32;

/// "First Last", when both names are known.
pub fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    Some(format!("{} {}", first?, last?))
}

/// One text field: trimmed, within `max` characters, free of control
/// characters (line breaks only where `multiline`). `Ok(None)` clears it.
fn text(
    field: &str,
    value: &str,
    max: usize,
    multiline: bool,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let value = value.trim();
    if crate::has_control_chars(value, multiline) {
        errors.push(crate::control_chars_error(field));
        return None;
    }
    // Shown to others (attendee lists, the attendance sheet): no name may
    // pass for another with characters that show nothing.
    if crate::has_invisible_chars(value) {
        errors.push(FieldError::new(
            field,
            "invisible_characters",
            format!("{field} must not contain invisible or direction-changing characters"),
        ));
        return None;
    }
    if value.chars().count() > max {
        errors.push(FieldError::new(
            field,
            "too_long",
            format!("{field} must be at most {max} characters"),
        ));
        return None;
    }
    (!value.is_empty()).then(|| value.to_owned())
}

/// What a patch sets, checked: each field given maps to its new value
/// (`None` clears it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidPatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<Option<String>>,
    pub billing_address: Option<Option<String>>,
    pub phone: Option<Option<String>>,
}

/// A name: like any text, and never emptied.
fn name(field: &str, value: Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    let value = value?;
    let checked = text(field, &value, MAX_NAME, false, errors);
    if checked.is_none() && value.trim().is_empty() {
        errors.push(FieldError::new(
            field,
            "required",
            format!("{field} must not be empty"),
        ));
    }
    checked
}

pub fn validate_profile(patch: ProfilePatch) -> Result<ValidPatch, Vec<FieldError>> {
    let mut errors = Vec::new();
    let first_name = name("first_name", patch.first_name, &mut errors);
    let last_name = name("last_name", patch.last_name, &mut errors);
    let company = patch
        .company
        .map(|v| text("company", &v, MAX_COMPANY, false, &mut errors));
    let billing_address = patch
        .billing_address
        .map(|v| text("billing_address", &v, MAX_ADDRESS, true, &mut errors));
    let phone = patch.phone.map(|v| {
        let phone = text("phone", &v, MAX_PHONE, false, &mut errors)?;
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        let allowed = phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-.()/".contains(c));
        if !allowed || digits < 6 {
            errors.push(FieldError::new(
                "phone",
                "invalid",
                "phone must be digits (at least 6), spaces and + - . ( ) /",
            ));
            return None;
        }
        Some(phone)
    });
    if errors.is_empty() {
        Ok(ValidPatch {
            first_name,
            last_name,
            company,
            billing_address,
            phone,
        })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(patch: ProfilePatch) -> Vec<(String, String)> {
        validate_profile(patch)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.field, e.rule))
            .collect()
    }

    #[test]
    fn names_that_could_pass_for_others_are_refused() {
        for disguised in [
            "Martin\u{202E}nitraM",
            "Mar\u{200B}tin",
            "\u{2066}Martin\u{2069}",
            "Martin\u{FEFF}",
        ] {
            let got = rules(ProfilePatch {
                last_name: Some(disguised.into()),
                company: Some("ACME".into()),
                ..Default::default()
            });
            assert!(
                got.contains(&("last_name".into(), "invisible_characters".into())),
                "{disguised:?}: {got:?}"
            );
        }
        // Accents and other scripts are names, not disguises.
        assert!(
            rules(ProfilePatch {
                first_name: Some("Zoë".into()),
                last_name: Some("Nguyễn-Łukasiewicz".into()),
                ..Default::default()
            })
            .is_empty()
        );
    }

    #[test]
    fn names_are_trimmed_and_required_once_given() {
        let ok = validate_profile(ProfilePatch {
            first_name: Some("  Élodie ".into()),
            last_name: Some("Martin".into()),
            company: Some(String::new()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ok.first_name.as_deref(), Some("Élodie"));
        assert_eq!(ok.company, Some(None), "an empty company clears it");
        assert_eq!(ok.phone, None, "an absent field is left alone");
        assert_eq!(
            rules(ProfilePatch {
                first_name: Some("  ".into()),
                ..Default::default()
            }),
            [("first_name".to_owned(), "required".to_owned())]
        );
    }

    #[test]
    fn bad_values_name_their_field_and_rule() {
        let bad = ProfilePatch {
            first_name: Some("a\u{0}b".into()),
            last_name: Some("x".repeat(MAX_NAME + 1)),
            company: Some("ACME\nSA".into()),
            billing_address: Some("1 rue de la Paix\n75002 Paris".into()),
            phone: Some("call me".into()),
        };
        assert_eq!(
            rules(bad),
            [
                ("first_name".to_owned(), "control_characters".to_owned()),
                ("last_name".to_owned(), "too_long".to_owned()),
                ("company".to_owned(), "control_characters".to_owned()),
                ("phone".to_owned(), "invalid".to_owned()),
            ]
        );
        assert!(
            validate_profile(ProfilePatch {
                phone: Some("+33 (0)6 12-34.56/78".into()),
                ..Default::default()
            })
            .is_ok()
        );
    }
}
