//! Single-use tokens sent by mail: e-mail verification (24 h) and password
//! reset (1 h). The mail carries 32 random bytes; only their SHA-256 is
//! stored, so a copy of the database cannot use them. Using one marks it
//! used in the same statement that checks it, so it works once.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use entity::account_tokens::{self as tokens, Column};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }

    fn lifetime(self) -> Duration {
        match self {
            Self::VerifyEmail => Duration::hours(24),
            Self::ResetPassword => Duration::hours(1),
        }
    }
}

/// What is stored of a secret handed out (a mailed link's token, an API
/// key, a trainer link): its SHA-256, in hex. The secrets are 256 random
/// bits, so a fast digest is as safe as a slow one.
pub fn digest(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.as_bytes()))
}

/// Every unused token of `user_id` for `purpose` stops working.
pub(super) async fn revoke_all(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    tokens::Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(now))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::Purpose.eq(purpose.as_str()))
        .filter(Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// A new token for `user_id`; returns what the mail carries. A new
/// verification link replaces the earlier ones. Reset links each stay
/// good for their hour, until one is used: anyone may ask for a reset of
/// any address, and a request must not void the link its owner is about
/// to follow (invariant 17). Every link lands in the same mailbox.
pub(super) async fn issue(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    if purpose == Purpose::VerifyEmail {
        revoke_all(db, user_id, purpose, now).await?;
    }
    let raw = hex::encode(rand::random::<[u8; 32]>());
    tokens::Entity::insert(tokens::ActiveModel {
        id: Set(Uuid::new_v4()),
        user_id: Set(user_id),
        purpose: Set(purpose.as_str().to_owned()),
        token_hash: Set(digest(&raw)),
        created_at: Set(now),
        expires_at: Set(now + purpose.lifetime()),
        used_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(raw)
}

/// Whether `user_id` was sent a token for `purpose` since `since` that is
/// still unused and unexpired.
pub(super) async fn pending_since(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    purpose: Purpose,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    Ok(tokens::Entity::find()
        .filter(Column::UserId.eq(user_id))
        .filter(Column::Purpose.eq(purpose.as_str()))
        .filter(Column::UsedAt.is_null())
        .filter(Column::CreatedAt.gt(since))
        .filter(Column::ExpiresAt.gt(now))
        .one(db)
        .await?
        .is_some())
}

/// The account a token was sent to, as a condition on the users' table
/// (for `standing::lock_live`, before the token is used).
pub(super) fn owner_is(raw: &str, purpose: Purpose) -> sea_orm::Condition {
    use sea_orm::sea_query::Query;
    let owner = Query::select()
        .column(Column::UserId)
        .from(tokens::Entity)
        .and_where(Column::TokenHash.eq(digest(raw.trim())))
        .and_where(Column::Purpose.eq(purpose.as_str()))
        .to_owned();
    sea_orm::Condition::all().add(entity::users::Column::Id.in_subquery(owner))
}

/// Uses a token: the user it was for, when it is valid, unused, unexpired
/// and of this purpose. A second use finds it used.
pub(super) async fn consume(
    db: &impl ConnectionTrait,
    raw: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, DbErr> {
    consume_where(db, raw, purpose, None, now).await
}

/// As `consume`, only for a token sent to `user_id`: another user's token
/// is refused and stays usable by its own user.
pub(super) async fn consume_for(
    db: &impl ConnectionTrait,
    raw: &str,
    purpose: Purpose,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, DbErr> {
    consume_where(db, raw, purpose, Some(user_id), now).await
}

async fn consume_where(
    db: &impl ConnectionTrait,
    raw: &str,
    purpose: Purpose,
    user_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, DbErr> {
    let hash = digest(raw.trim());
    let mut find = tokens::Entity::find()
        .filter(Column::TokenHash.eq(hash.as_str()))
        .filter(Column::Purpose.eq(purpose.as_str()));
    if let Some(user) = user_id {
        find = find.filter(Column::UserId.eq(user));
    }
    let Some(token) = find.one(db).await? else {
        return Ok(None);
    };
    let used = tokens::Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(now))
        .filter(Column::Id.eq(token.id))
        .filter(Column::UsedAt.is_null())
        .filter(Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    Ok((used.rows_affected == 1).then_some(token.user_id))
}

/// True when `raw` would be accepted now (checked before costly work).
pub(super) async fn is_usable(
    db: &impl ConnectionTrait,
    raw: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    Ok(tokens::Entity::find()
        .filter(Column::TokenHash.eq(digest(raw.trim()).as_str()))
        .filter(Column::Purpose.eq(purpose.as_str()))
        .filter(Column::UsedAt.is_null())
        .filter(Column::ExpiresAt.gt(now))
        .one(db)
        .await?
        .is_some())
}
