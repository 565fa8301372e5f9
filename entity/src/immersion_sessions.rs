use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "immersion_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub starts_on: Date,
    pub ends_on: Date,
    pub max_places: i32,
    pub reserved_places: i32,
    pub status: common::sessions::SessionStatus,
    pub closed_by_admin: bool,
    pub location: String,
    pub price_cents: i64,
    pub currency: String,
    pub description: Option<String>,
    /// Who leads it.
    pub trainer: Option<String>,
    /// How long each half-day lasts, in minutes (the certificate's hours).
    pub half_day_minutes: i32,
    pub is_active: bool,
    pub min_places: Option<i32>,
    pub decide_on: Option<Date>,
    pub decision: Option<common::sessions::SessionDecision>,
    pub decided_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
