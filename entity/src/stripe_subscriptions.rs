use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stripe_subscriptions")]
pub struct Model {
    /// Stripe's subscription id (`sub_…`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: Uuid,
    pub customer_id: Option<String>,
    pub status: Option<common::subscriptions::StripeStatus>,
    pub plan: Option<common::subscriptions::SubscriptionType>,
    pub cancel_at_period_end: bool,
    pub subscription_key: Option<String>,
    pub current_period_end: Option<DateTimeUtc>,
    pub period_key: Option<String>,
    pub payment_failed: bool,
    pub payment_key: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
