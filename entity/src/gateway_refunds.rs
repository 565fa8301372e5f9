use sea_orm::entity::prelude::*;

/// What the gateway says went back of a payment intent (a high-water
/// mark: `amount_refunded` only grows), seen before or after the payment.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "gateway_refunds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub payment_intent: String,
    pub amount_refunded: i64,
    /// The whole charge went back.
    pub whole: bool,
    pub seen_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
