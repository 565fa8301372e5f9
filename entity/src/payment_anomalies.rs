use sea_orm::entity::prelude::*;

/// A payment that claimed to be ours and did not match what was sold, or
/// a subscription on a price we do not sell (invariant 9).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_anomalies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: common::payments::AnomalyKind,
    pub event_id: String,
    pub booking_id: Option<Uuid>,
    pub checkout_session_id: Option<String>,
    pub payment_intent_id: Option<String>,
    pub subscription_id: Option<String>,
    pub amount_cents: Option<i64>,
    pub currency: Option<String>,
    pub detail: String,
    /// The owed refund of this payment, when one was due.
    pub refund_call_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    /// When an admin looked at it (the audit stops reporting it).
    pub acknowledged_at: Option<DateTimeUtc>,
    pub acknowledged_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
