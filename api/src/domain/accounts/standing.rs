//! Whether an account still stands, as a step that writes for its
//! person reads it: erased accounts keep nothing a request of theirs
//! already under way would make. Read under a shared lock, after the
//! step's first write (so that on SQLite it holds the write lock and
//! reads the latest).

use common::ErrorCode;
use sea_orm::sea_query::{Expr, IntoCondition};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use entity::users;

/// The row of `user_id`, read under a shared lock in `txn`, which has
/// already written (so that on SQLite it holds the write lock and reads
/// the latest). An erasure writes the user's row first: a step that reads
/// it here while one runs waits for it and sees it, or the erasure waits
/// for the step and then finds what it left.
async fn read_locked(
    txn: &DatabaseTransaction,
    user_id: Uuid,
) -> Result<Option<users::Model>, DbErr> {
    users::Entity::find_by_id(user_id)
        .lock_shared()
        .one(txn)
        .await
}

/// Whether the account of `user_id` was erased (`read_locked`).
pub async fn erased_locked(txn: &DatabaseTransaction, user_id: Uuid) -> Result<bool, DbErr> {
    Ok(read_locked(txn, user_id)
        .await?
        .is_some_and(|u| u.erased_at.is_some()))
}

/// Whether the account of `user_id` was erased, read without a lock: for
/// explaining a refusal after the fact (a hold's seat found no names, as
/// the erasure had taken them), not for deciding a write.
pub async fn was_erased(db: &impl ConnectionTrait, user_id: Uuid) -> Result<bool, DbErr> {
    Ok(users::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .is_some_and(|u| u.erased_at.is_some()))
}

/// The account of `user_id` as it stands (`read_locked`): 401 when it is
/// gone or was erased while the request ran (it was past its sign-in
/// check when the erasure signed it out).
pub async fn require_live(txn: &DatabaseTransaction, user_id: Uuid) -> ApiResult<users::Model> {
    read_locked(txn, user_id)
        .await?
        .filter(|u| u.erased_at.is_none())
        .ok_or_else(account_erased)
}

/// The answer to a request whose account was erased while it ran.
pub fn account_erased() -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, "this account was erased")
}

/// Writes the row of the account `which` names onto itself, unless it
/// was erased: true when it stands. The first statement of a step that
/// then writes the account's tokens, so that it takes the account's row
/// before them, in the erasure's order (the user's row, then the tokens),
/// and neither waits on the other in a circle.
pub async fn lock_live(
    txn: &DatabaseTransaction,
    which: impl IntoCondition,
) -> Result<bool, DbErr> {
    let locked = users::Entity::update_many()
        .col_expr(
            users::Column::UpdatedAt,
            Expr::col(users::Column::UpdatedAt),
        )
        .filter(which)
        .filter(users::Column::ErasedAt.is_null())
        .exec(txn)
        .await?;
    Ok(locked.rows_affected == 1)
}
