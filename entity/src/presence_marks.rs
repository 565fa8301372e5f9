use sea_orm::entity::prelude::*;

/// One attendee's presence for one half-day (`am`, `pm`): `present`,
/// `absent` or `excused`, recorded by an admin (`recorded_by_user`) or
/// through a trainer link (`recorded_by_link`). Never changed: the latest
/// mark (highest `id`) for a booking, day and half is the one that counts.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "presence_marks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub session_id: Uuid,
    pub booking_id: Uuid,
    pub day: Date,
    pub half: common::presence::Half,
    pub status: common::presence::Presence,
    pub recorded_by_user: Option<Uuid>,
    pub recorded_by_link: Option<Uuid>,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
