//! The trainer's link: what an admin gives the trainer of one session so
//! they can record presence without an account. The secret (256 random
//! bits) is shown once and kept only as its SHA-256; it opens that one
//! session's sheet, until 30 days after its last day or until the admin
//! makes a new link (which revokes the old one) or revokes it.

use chrono::{DateTime, Days, Utc};
use common::presence::TrainerLinkDto;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    TransactionTrait,
};
use uuid::Uuid;

use crate::domain::accounts::tokens::digest;
use crate::error::{ApiError, ApiResult};
use entity::immersion_sessions as sessions;
use entity::trainer_links::{self as links, Column};

/// Every link's secret starts so (a leaked one is recognisable).
const SECRET_PREFIX: &str = "imm_trn_";
/// How long after the session's last day its link still works: late
/// corrections of the sheet.
const DAYS_AFTER: u64 = 30;

/// A new link for the session's trainer; any earlier one stops working.
#[tracing::instrument(skip(db))]
pub async fn issue(
    db: &DatabaseConnection,
    session_id: Uuid,
    admin: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<TrainerLinkDto> {
    let txn = db.begin().await?;
    // The write first, so the transaction holds the lock before it reads.
    revoke_all(&txn, session_id, now).await?;
    let session = sessions::Entity::find_by_id(session_id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    let expires_at = session
        .ends_on
        .checked_add_days(Days::new(DAYS_AFTER + 1))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .ok_or_else(|| ApiError::internal("session end out of range"))?;
    if expires_at <= now {
        return Err(ApiError::invalid(
            "session",
            "too_old",
            format!("the session ended more than {DAYS_AFTER} days ago"),
        ));
    }
    let secret = format!("{SECRET_PREFIX}{}", hex::encode(rand::random::<[u8; 32]>()));
    let id = Uuid::new_v4();
    links::Entity::insert(links::ActiveModel {
        id: Set(id),
        session_id: Set(session_id),
        token_hash: Set(digest(&secret)),
        created_by: Set(admin),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
    })
    .exec(&txn)
    .await?;
    txn.commit().await?;
    Ok(TrainerLinkDto {
        id,
        session_id,
        url: format!("/formateur#token={secret}"),
        expires_at,
    })
}

async fn revoke_all(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<u64> {
    Ok(links::Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(now))
        .filter(Column::SessionId.eq(session_id))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}

/// Revokes the session's link; 404 when it has none working.
#[tracing::instrument(skip(db))]
pub async fn revoke(
    db: &DatabaseConnection,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    match revoke_all(db, session_id, now).await? {
        0 => Err(ApiError::not_found("trainer link")),
        _ => Ok(()),
    }
}

/// A working link's id and the one session it opens.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    pub id: Uuid,
    pub session_id: Uuid,
}

/// The link a secret opens; 401 when unknown, revoked or expired.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    secret: &str,
    now: DateTime<Utc>,
) -> ApiResult<Link> {
    if !secret.starts_with(SECRET_PREFIX) || secret.len() > 200 {
        return Err(ApiError::unauthorized());
    }
    let row = links::Entity::find()
        .filter(Column::TokenHash.eq(digest(secret)))
        .filter(Column::RevokedAt.is_null())
        .filter(Column::ExpiresAt.gt(now))
        .one(db)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    Ok(Link {
        id: row.id,
        session_id: row.session_id,
    })
}
