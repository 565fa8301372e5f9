//! Whether an account still stands, as a step that writes for its
//! person reads it: erased accounts keep nothing a request of theirs
//! already under way would make. Read under a shared lock, after the
//! step's first write (so that on SQLite it holds the write lock and
//! reads the latest).

use common::ErrorCode;
use sea_orm::{DatabaseTransaction, DbErr, EntityTrait, QuerySelect};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use entity::users;

/// Whether the account of `user_id` was erased, read under a shared lock
/// in `txn`, which has already written (so that on SQLite it holds the
/// write lock and reads the latest). An erasure writes the user's row
/// first: a step that checks here while one runs waits for it and sees
/// it, or the erasure waits for the step and then finds what it left.
pub async fn erased_locked(txn: &DatabaseTransaction, user_id: Uuid) -> Result<bool, DbErr> {
    Ok(users::Entity::find_by_id(user_id)
        .lock_shared()
        .one(txn)
        .await?
        .is_some_and(|u| u.erased_at.is_some()))
}

/// The account of `user_id` as it stands, read under the same lock as
/// `erased_locked`: 401 when it is gone or was erased while the request
/// ran (it was past its sign-in check when the erasure signed it out).
pub async fn require_live(txn: &DatabaseTransaction, user_id: Uuid) -> ApiResult<users::Model> {
    users::Entity::find_by_id(user_id)
        .lock_shared()
        .one(txn)
        .await?
        .filter(|u| u.erased_at.is_none())
        .ok_or_else(account_erased)
}

/// The answer to a request whose account was erased while it ran.
pub fn account_erased() -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, "this account was erased")
}
