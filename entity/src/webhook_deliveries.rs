use common::webhooks::DeliveryStatus;
use sea_orm::entity::prelude::*;

/// One event's delivery to one endpoint: `pending` (with its next
/// attempt, pushed a minute ahead while an attempt is under way),
/// `delivered` or `failed`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub event_seq: i64,
    pub event_type: String,
    pub resource_id: Uuid,
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<DateTimeUtc>,
    /// The first failure since it last succeeded or was sent again: the
    /// 3 days are counted from it.
    pub failing_since: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub delivered_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
