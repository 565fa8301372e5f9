//! API keys: what third parties authenticate with, and the scopes that
//! decide which endpoints a key may call.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a key may do. An endpoint needs exactly one scope; admin-only
/// endpoints need admin scopes, and a key never manages keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Scope {
    #[serde(rename = "sessions:read")]
    SessionsRead,
    #[serde(rename = "sessions:write")]
    SessionsWrite,
    #[serde(rename = "bookings:read")]
    BookingsRead,
    #[serde(rename = "bookings:write")]
    BookingsWrite,
    #[serde(rename = "members:read")]
    MembersRead,
    #[serde(rename = "invoices:read")]
    InvoicesRead,
    #[serde(rename = "stats:read")]
    StatsRead,
    #[serde(rename = "webhooks:manage")]
    WebhooksManage,
    #[serde(rename = "events:read")]
    EventsRead,
}

impl Scope {
    pub const ALL: [Self; 9] = [
        Self::SessionsRead,
        Self::SessionsWrite,
        Self::BookingsRead,
        Self::BookingsWrite,
        Self::MembersRead,
        Self::InvoicesRead,
        Self::StatsRead,
        Self::WebhooksManage,
        Self::EventsRead,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SessionsRead => "sessions:read",
            Self::SessionsWrite => "sessions:write",
            Self::BookingsRead => "bookings:read",
            Self::BookingsWrite => "bookings:write",
            Self::MembersRead => "members:read",
            Self::InvoicesRead => "invoices:read",
            Self::StatsRead => "stats:read",
            Self::WebhooksManage => "webhooks:manage",
            Self::EventsRead => "events:read",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// `POST /api/admin/api-keys`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What the key is for ("Comptabilité"), 1 to 100 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    /// At least one.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub scopes: Vec<Scope>,
    /// After this instant the key is refused (401). In the future.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Client addresses or networks (`203.0.113.7`, `2001:db8::/32`) the
    /// key may be used from; absent: any.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 50))]
    pub allowed_ips: Option<Vec<String>>,
}

/// A key as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyDto {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// The secret's first characters (`imm_live_1a2b3c4d`), to tell keys
    /// apart and to find one that leaked.
    pub prefix: String,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(default, deserialize_with = "crate::wire::instant_opt")
    )]
    pub expires_at: Option<DateTime<Utc>>,
    pub allowed_ips: Option<Vec<String>>,
    /// To the minute.
    #[cfg_attr(
        target_arch = "wasm32",
        serde(default, deserialize_with = "crate::wire::instant_opt")
    )]
    pub last_used_at: Option<DateTime<Utc>>,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(deserialize_with = "crate::wire::instant")
    )]
    pub created_at: DateTime<Utc>,
}

/// The answer to a key's creation: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKeyDto,
    /// `imm_live_…`: send it as `Authorization: Bearer imm_live_…`.
    pub secret: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_reads_back_from_its_name_and_its_json() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
            let json = serde_json::to_string(&scope).unwrap();
            assert_eq!(json, format!("\"{}\"", scope.as_str()));
        }
        assert_eq!(Scope::parse("sessions:admin"), None);
    }
}
