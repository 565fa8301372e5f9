use sea_orm::entity::prelude::*;

/// One person in the waiting list of a full session; see the migration
/// for the statuses and the order.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "waitlist_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub user_email: String,
    pub status: common::waitlist::WaitlistStatus,
    pub booking_id: Option<Uuid>,
    pub joined_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
