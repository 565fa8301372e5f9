use sea_orm::entity::prelude::*;

/// The subscription checkout a user has open: the claim (`attempt`, the
/// gateway's idempotency key), the plan it is for (`monthly`, `yearly`),
/// and the page once the gateway named it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "subscription_checkouts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub attempt: Uuid,
    pub plan: String,
    pub checkout_id: Option<String>,
    pub claimed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
