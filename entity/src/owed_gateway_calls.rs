use sea_orm::entity::prelude::*;

/// A call the payment provider owes us a result for (a refund, the expiry
/// of a Checkout Session): committed first, then made with its stable
/// idempotency key, then marked done (invariant 10).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "owed_gateway_calls")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `refund` or `expire_checkout`.
    pub kind: common::payments::OwedCallKind,
    /// Why: `cancel`, `late`, `anomaly`, `hold_ended`, …
    pub reason: String,
    pub booking_id: Option<Uuid>,
    /// The payment intent to refund, or the Checkout Session to expire.
    pub target: String,
    pub amount_cents: Option<i64>,
    #[sea_orm(unique)]
    pub idempotency_key: String,
    /// `owed`, `done`, or `failed` (refused for good, or past the provider's
    /// 24-hour idempotency window: a person must look).
    pub status: common::payments::OwedCallStatus,
    /// The refund id, once made.
    pub result_id: Option<String>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub done_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
