//! Sign-in sessions: every token names one, and the request that reads
//! the user's role reads it too (one query), so a revoked session is
//! refused at once. Sign-out revokes one; a password change revokes the
//! user's others, a reset all of them.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use entity::auth_sessions::{self as sessions, Column};
use entity::users;

/// Opens a session for `user_id` lasting `ttl`; returns its id.
pub async fn open(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<Uuid, DbErr> {
    let id = Uuid::new_v4();
    sessions::Entity::insert(sessions::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        created_at: Set(now),
        expires_at: Set(now + ttl),
        revoked_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(id)
}

/// The user of a live session (not revoked, not expired), in one query.
pub async fn user_of(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<users::Model>, DbErr> {
    Ok(sessions::Entity::find_by_id(session_id)
        .filter(Column::UserId.eq(user_id))
        .filter(Column::RevokedAt.is_null())
        .filter(Column::ExpiresAt.gt(now))
        .find_also_related(users::Entity)
        .one(db)
        .await?
        .and_then(|(_, user)| user))
}

/// Ends one session.
pub async fn revoke(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    sessions::Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(now))
        .filter(Column::Id.eq(session_id))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every session of the user but `keep`.
pub(super) async fn revoke_all(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    keep: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut update = sessions::Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(now))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::RevokedAt.is_null());
    if let Some(keep) = keep {
        update = update.filter(Column::Id.ne(keep));
    }
    Ok(update.exec(db).await?.rows_affected)
}

/// Signs `user_id` in: a new session and its token.
pub async fn sign_in(
    db: &impl ConnectionTrait,
    tokens: &crate::auth::token::Tokens,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> crate::error::ApiResult<(String, DateTime<Utc>)> {
    let session_id = open(db, user_id, tokens.ttl(), now).await?;
    tokens.issue(user_id, session_id, now)
}
