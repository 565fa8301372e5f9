use sea_orm::entity::prelude::*;

/// One event of the outbox: the order it was written in (`ins`), its
/// place in the feed once committed and numbered (`seq`), its stable id, its type (`booking.confirmed`), the resource it is about, and that
/// resource as the API showed it then (JSON).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub ins: i64,
    #[sea_orm(unique)]
    pub seq: Option<i64>,
    #[sea_orm(unique)]
    pub id: Uuid,
    pub event_type: String,
    pub resource_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub data: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
