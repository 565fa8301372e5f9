use sea_orm::entity::prelude::*;

/// The first answer to a request sent with an `Idempotency-Key`: `state`
/// is `in_progress` while it runs, `done` once its answer is stored.
/// `fingerprint` hashes the method, path and body, so a key reused for
/// another request is refused.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub fingerprint: String,
    pub state: String,
    /// The run that holds the key while it is in progress.
    pub owner: Uuid,
    pub response_status: Option<i32>,
    pub content_type: Option<String>,
    pub response_body: Option<String>,
    pub started_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
