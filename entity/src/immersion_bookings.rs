use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "immersion_bookings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub user_email: String,
    pub status: common::bookings::BookingStatus,
    pub hold_expires_at: Option<DateTimeUtc>,
    #[sea_orm(unique)]
    pub stripe_checkout_session_id: Option<String>,
    pub stripe_payment_intent_id: Option<String>,
    pub amount_cents: i64,
    pub currency: String,
    pub refund_id: Option<String>,
    pub refunded_cents: Option<i64>,
    pub confirmed_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// A keyed hash of the client address that took the hold (none for an
    /// offer from a waiting list): the seats one address holds at once in
    /// a session are limited.
    pub client_address: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::immersion_sessions::Entity",
        from = "Column::SessionId",
        to = "super::immersion_sessions::Column::Id"
    )]
    Session,
}

impl Related<super::immersion_sessions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
