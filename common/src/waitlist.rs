//! The waiting list of full sessions: its JSON shapes.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where an entry of the waiting list stands.
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
pub enum WaitlistStatus {
    /// In line (`place` says where).
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "waiting"))]
    Waiting,
    /// A seat is held for this person until `offer_expires_at`: pay it
    /// with `POST /api/bookings/{booking_id}/pay`.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "offered"))]
    Offered,
    /// The offer was paid.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "booked"))]
    Booked,
    /// The offer was declined or ran out.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "lapsed"))]
    Lapsed,
    /// The person left the list.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "left"))]
    Left,
    /// An admin removed the entry.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "removed"))]
    Removed,
    /// The session was cancelled.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "closed"))]
    Closed,
}

impl WaitlistStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Offered => "offered",
            Self::Booked => "booked",
            Self::Lapsed => "lapsed",
            Self::Left => "left",
            Self::Removed => "removed",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Waiting,
            Self::Offered,
            Self::Booked,
            Self::Lapsed,
            Self::Left,
            Self::Removed,
            Self::Closed,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// One entry of a waiting list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WaitlistEntryDto {
    pub id: Uuid,
    pub session_id: Uuid,
    pub user_email: String,
    pub status: WaitlistStatus,
    /// 1 for the first in line; only while `waiting`.
    pub place: Option<u32>,
    /// The held booking of an offer.
    pub booking_id: Option<Uuid>,
    /// Until when an offer can be paid.
    #[cfg_attr(
        target_arch = "wasm32",
        serde(default, deserialize_with = "crate::wire::instant_opt")
    )]
    pub offer_expires_at: Option<DateTime<Utc>>,
    #[cfg_attr(target_arch = "wasm32", serde(deserialize_with = "crate::wire::date"))]
    pub starts_on: NaiveDate,
    #[cfg_attr(target_arch = "wasm32", serde(deserialize_with = "crate::wire::date"))]
    pub ends_on: NaiveDate,
    pub location: String,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(deserialize_with = "crate::wire::instant")
    )]
    pub joined_at: DateTime<Utc>,
}
