//! The members' area content that admins manage and subscribers read.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "sea-orm",
    derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum)
)]
#[cfg_attr(
    feature = "sea-orm",
    sea_orm(
        rs_type = "String",
        db_type = "String(sea_orm::sea_query::StringLen::N(16))"
    )
)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "link"))]
    Link,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "video"))]
    Video,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "document"))]
    Document,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "text"))]
    Text,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Link => "link",
            Self::Video => "video",
            Self::Document => "document",
            Self::Text => "text",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "link" => Some(Self::Link),
            "video" => Some(Self::Video),
            "document" => Some(Self::Document),
            "text" => Some(Self::Text),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourceDto {
    pub id: Uuid,
    pub title: String,
    pub kind: ResourceKind,
    pub url: Option<String>,
    pub body: Option<String>,
    /// Display order, from 0.
    pub position: i32,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(deserialize_with = "crate::wire::instant")
    )]
    pub created_at: DateTime<Utc>,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(deserialize_with = "crate::wire::instant")
    )]
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/admin/resources`: links, videos and documents need a `url`,
/// texts a `body`. New resources go last.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewResource {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub title: String,
    pub kind: ResourceKind,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
}

/// `PATCH /api/admin/resources/{id}`: only the fields present change.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResourcePatch {
    pub title: Option<String>,
    pub kind: Option<ResourceKind>,
    pub url: Option<String>,
    pub body: Option<String>,
}

/// `PUT /api/admin/resources`: every resource id, in the new order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResourceOrder {
    pub ids: Vec<Uuid>,
}

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_BODY_CHARS: usize = 20_000;

/// Checks a resource's fields together; returns them trimmed, with the
/// field the kind does not use cleared.
pub fn validate_resource(
    title: &str,
    kind: ResourceKind,
    url: Option<&str>,
    body: Option<&str>,
) -> Result<(String, Option<String>, Option<String>), Vec<FieldError>> {
    let mut errors = Vec::new();
    let title = title.trim().to_owned();
    if crate::has_control_chars(&title, false) {
        errors.push(crate::control_chars_error("title"));
    } else if title.is_empty() {
        errors.push(FieldError::new("title", "required", "title is required"));
    } else if title.chars().count() > MAX_TITLE_CHARS {
        errors.push(FieldError::new(
            "title",
            "too_long",
            format!("title is at most {MAX_TITLE_CHARS} characters"),
        ));
    }
    let url = url
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned);
    let body = body
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(str::to_owned);
    let (url, body) = if kind == ResourceKind::Text {
        if body.is_none() {
            errors.push(FieldError::new(
                "body",
                "required",
                "a text resource needs a body",
            ));
        }
        (None, body)
    } else {
        match &url {
            None => errors.push(FieldError::new(
                "url",
                "required",
                "this kind of resource needs a url",
            )),
            Some(u)
                if !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 2000 =>
            {
                errors.push(FieldError::new(
                    "url",
                    "format",
                    "url must be an http(s) address",
                ));
            }
            Some(_) => {}
        }
        (url, body)
    };
    if url
        .as_ref()
        .is_some_and(|u| crate::has_control_chars(u, false))
    {
        errors.push(crate::control_chars_error("url"));
    }
    if body
        .as_ref()
        .is_some_and(|b| crate::has_control_chars(b, true))
    {
        errors.push(crate::control_chars_error("body"));
    } else if body
        .as_ref()
        .is_some_and(|b| b.chars().count() > MAX_BODY_CHARS)
    {
        errors.push(FieldError::new(
            "body",
            "too_long",
            format!("body is at most {MAX_BODY_CHARS} characters"),
        ));
    }
    if errors.is_empty() {
        Ok((title, url, body))
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_need_an_http_url_and_texts_a_body() {
        assert!(
            validate_resource(
                "Replay",
                ResourceKind::Video,
                Some("https://v.example/1"),
                None
            )
            .is_ok()
        );
        let e =
            validate_resource("Replay", ResourceKind::Video, Some("ftp://x"), None).unwrap_err();
        assert_eq!(e[0].rule, "format");
        let e =
            validate_resource("Notes", ResourceKind::Text, Some("https://x"), None).unwrap_err();
        assert_eq!(
            (e[0].field.as_str(), e[0].rule.as_str()),
            ("body", "required")
        );
        let (t, url, body) = validate_resource(
            " Notes ",
            ResourceKind::Text,
            Some("https://x"),
            Some(" hi "),
        )
        .unwrap();
        assert_eq!(
            (t.as_str(), url, body.as_deref()),
            ("Notes", None, Some("hi"))
        );
        let e = validate_resource("  ", ResourceKind::Link, None, None).unwrap_err();
        assert_eq!(e.len(), 2);
    }
}
