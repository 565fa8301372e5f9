use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub email: String,
    pub password_hash: String,
    pub role: common::auth::Role,
    pub license: common::auth::License,
    /// The address's confusable skeleton (Unicode UTS #39), unique: an
    /// address that looks like another's is not a second account. None
    /// only for an older account that looks like an older one still.
    #[sea_orm(unique)]
    pub email_skeleton: Option<String>,
    /// When the owner followed the verification link; none until then.
    pub email_verified_at: Option<DateTimeUtc>,
    /// When the account was erased (anonymised; legal records kept).
    pub erased_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_one = "super::subscription_status::Entity")]
    SubscriptionStatus,
}

impl Related<super::subscription_status::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SubscriptionStatus.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
