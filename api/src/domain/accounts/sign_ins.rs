//! Sign-in sessions: every token names one, and the request that reads
//! the user's role reads it too (one query), so a revoked session is
//! refused at once. Sign-out revokes one; a password change revokes the
//! user's others, a reset all of them.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use std::sync::LazyLock;

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult,
    IdenStatic, QueryFilter, QueryTrait, SelectB, Statement, Value,
};
use uuid::Uuid;

use crate::db::rendered::{Fresh, Inputs, Rendered};
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
/// Every signed-in request asks it: its statement is rendered once.
pub async fn user_of(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<users::Model>, DbErr> {
    let live = Live {
        session_id,
        user_id,
        now,
    };
    let statement = USER_OF.statement(db.get_database_backend(), &live);
    let Some(row) = db.query_one_raw(statement).await? else {
        return Ok(None);
    };
    // The columns of the related model, as `find_also_related` names them.
    users::Model::from_query_result_optional(&row, SelectB.as_str())
}

/// A live session of the user, and its id.
struct Live {
    session_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
}

impl Inputs for Live {
    fn values(&self) -> Vec<Value> {
        vec![self.session_id.into(), self.user_id.into(), self.now.into()]
    }

    fn stand_in(&self, fresh: &mut Fresh) -> Self {
        Self {
            session_id: fresh.uuid(),
            user_id: fresh.uuid(),
            now: fresh.time(),
        }
    }

    fn shape(&self) -> u64 {
        0
    }
}

static USER_OF: LazyLock<Rendered<Live>> =
    LazyLock::new(|| Rendered::new("user_of", user_of_statement));

fn user_of_statement(live: &Live, backend: DbBackend) -> Statement {
    let mut query = sessions::Entity::find_by_id(live.session_id)
        .filter(Column::UserId.eq(live.user_id))
        .filter(Column::RevokedAt.is_null())
        .filter(Column::ExpiresAt.gt(live.now))
        // A session made by a login that checked its password while the
        // account was being erased signs in to nothing.
        .filter(users::Column::ErasedAt.is_null())
        .find_also_related(users::Entity)
        .into_query();
    query.limit(1);
    backend.build(&query)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_session_s_lookup_is_rendered_once() {
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            let live = Live {
                session_id: Uuid::new_v4(),
                user_id: Uuid::new_v4(),
                now: Utc::now(),
            };
            assert!(USER_OF.learned(backend, &live));
        }
    }
}
