//! Outgoing webhooks (the Standard Webhooks specification): endpoints that
//! admins register, and the log of what was delivered to them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::events::EventType;

/// `POST /api/admin/webhook-endpoints`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewWebhookEndpoint {
    /// Where events are POSTed: https in production, never a private,
    /// loopback, link-local or metadata address.
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub url: String,
    /// The event types it wants (at least one).
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub event_types: Vec<EventType>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub description: Option<String>,
}

/// `PATCH /api/admin/webhook-endpoints/{id}`: only the fields present
/// change. `rotate_secret` issues a new secret; the old one still signs,
/// beside it, for 24 hours. `enabled: true` turns a disabled endpoint
/// back on.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointPatch {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub event_types: Option<Vec<EventType>>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub rotate_secret: Option<bool>,
}

/// An endpoint, never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEndpointDto {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<EventType>,
    pub description: Option<String>,
    /// False once it failed for 3 days (admins are mailed), or when an
    /// admin turned it off.
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// Until then, deliveries are signed with the previous secret too.
    #[cfg_attr(
        target_arch = "wasm32",
        serde(default, deserialize_with = "crate::wire::instant_opt")
    )]
    pub previous_secret_until: Option<DateTime<Utc>>,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(deserialize_with = "crate::wire::instant")
    )]
    pub created_at: DateTime<Utc>,
}

/// The answer to a creation or a rotation: the only time the secret
/// (`whsec_…`) is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: WebhookEndpointDto,
    pub secret: String,
}

/// Where a delivery stands.
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
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "pending"))]
    Pending,
    /// The endpoint answered 2xx.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "delivered"))]
    Delivered,
    /// Given up after 3 days of failures.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "failed"))]
    Failed,
}

impl DeliveryStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

/// One attempt at a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookAttemptDto {
    #[cfg_attr(
        target_arch = "wasm32",
        serde(deserialize_with = "crate::wire::instant")
    )]
    pub at: DateTime<Utc>,
    /// The HTTP status answered; none when no answer came.
    pub status_code: Option<u16>,
    pub duration_ms: u64,
    /// The start of the answer's body, or why there was none.
    pub excerpt: String,
}

/// One event's delivery to one endpoint, with its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDeliveryDto {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    /// The event's id: the `webhook-id` header, the same on every attempt.
    pub event_id: Uuid,
    pub event_type: EventType,
    pub status: DeliveryStatus,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(default, deserialize_with = "crate::wire::instant_opt")
    )]
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub attempts: Vec<WebhookAttemptDto>,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(deserialize_with = "crate::wire::instant")
    )]
    pub created_at: DateTime<Utc>,
}
