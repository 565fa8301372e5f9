//! Idempotency keys, with Stripe's semantics: the first request with a
//! key runs and its answer is stored for 24 hours, per user and key; a
//! retry with the same key and the same request gets that answer again; the
//! same key on another request is refused; a retry that arrives while the
//! first still runs is refused as in progress, never run a second time.
//!
//! The row is claimed by an insert that does nothing on conflict, so two
//! instances receiving the same retry at once cannot both run it. The run
//! that claimed it (its `owner`) is the only one that stores or frees it.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use entity::idempotency_keys::{self as keys, Column};

/// How long an answer is kept (Stripe keeps its keys 24 hours).
pub const KEPT: Duration = Duration::hours(24);

const IN_PROGRESS: &str = "in_progress";
const DONE: &str = "done";

/// A stored answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// What a request carrying a key must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begun {
    /// The key is new (or its earlier use has expired): run the request,
    /// then `finish` or `abandon` it as `owner`.
    Run { owner: Uuid },
    /// The same request ran before: answer this.
    Replay(Stored),
    /// The key was used for another request.
    Reused,
    /// The same request is running now.
    InProgress,
}

/// A key of one user.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    pub user_id: Uuid,
    pub key: &'a str,
}

/// Claims `key` for this request, or says what was answered before. A
/// run still in progress after `abandoned_after` died with its instance
/// (requests time out well before): its key may run again.
pub async fn begin(
    db: &impl ConnectionTrait,
    key: Key<'_>,
    fingerprint: &str,
    now: DateTime<Utc>,
    abandoned_after: Duration,
) -> Result<Begun, DbErr> {
    if let Some(owner) = claim(db, key, fingerprint, now).await? {
        return Ok(Begun::Run { owner });
    }
    // Taken: by an expired answer or a dead run (free them, once), or live.
    let stale = Column::ExpiresAt.lte(now).or(Column::State
        .eq(IN_PROGRESS)
        .and(Column::StartedAt.lte(now - abandoned_after)));
    let freed = of(key).filter(stale).exec(db).await?.rows_affected;
    if freed > 0
        && let Some(owner) = claim(db, key, fingerprint, now).await?
    {
        return Ok(Begun::Run { owner });
    }
    let Some(row) = keys::Entity::find_by_id((key.user_id, key.key.to_owned()))
        .one(db)
        .await?
    else {
        // Freed by its own run an instant ago: the client retries.
        return Ok(Begun::InProgress);
    };
    Ok(if row.fingerprint != fingerprint {
        Begun::Reused
    } else {
        match (row.state.as_str(), stored(&row)) {
            (DONE, Some(answer)) => Begun::Replay(answer),
            _ => Begun::InProgress,
        }
    })
}

fn of(key: Key<'_>) -> sea_orm::DeleteMany<keys::Entity> {
    keys::Entity::delete_many()
        .filter(Column::UserId.eq(key.user_id))
        .filter(Column::Key.eq(key.key))
}

async fn claim(
    db: &impl ConnectionTrait,
    key: Key<'_>,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, DbErr> {
    let owner = Uuid::new_v4();
    let claimed = keys::Entity::insert(keys::ActiveModel {
        user_id: Set(key.user_id),
        key: Set(key.key.to_owned()),
        fingerprint: Set(fingerprint.to_owned()),
        state: Set(IN_PROGRESS.to_owned()),
        owner: Set(owner),
        response_status: Set(None),
        content_type: Set(None),
        response_body: Set(None),
        started_at: Set(now),
        expires_at: Set(now + KEPT),
    })
    .on_conflict(
        OnConflict::columns([Column::UserId, Column::Key])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok((claimed == 1).then_some(owner))
}

fn stored(row: &keys::Model) -> Option<Stored> {
    Some(Stored {
        status: u16::try_from(row.response_status?).ok()?,
        content_type: row.content_type.clone()?,
        body: row.response_body.clone()?,
    })
}

/// Stores the answer of the request that ran under `key` as `owner`.
pub async fn finish(
    db: &impl ConnectionTrait,
    key: Key<'_>,
    owner: Uuid,
    answer: &Stored,
) -> Result<(), DbErr> {
    keys::Entity::update_many()
        .col_expr(Column::State, DONE.into())
        .col_expr(Column::ResponseStatus, i32::from(answer.status).into())
        .col_expr(Column::ContentType, answer.content_type.clone().into())
        .col_expr(Column::ResponseBody, answer.body.clone().into())
        .filter(Column::UserId.eq(key.user_id))
        .filter(Column::Key.eq(key.key))
        .filter(Column::Owner.eq(owner))
        .filter(Column::State.eq(IN_PROGRESS))
        .exec(db)
        .await?;
    Ok(())
}

/// Frees `key` after a request whose answer must not be replayed (it did
/// not run to the end: a throttle, an outage): a retry runs again.
pub async fn abandon(db: &impl ConnectionTrait, key: Key<'_>, owner: Uuid) -> Result<(), DbErr> {
    of(key)
        .filter(Column::Owner.eq(owner))
        .filter(Column::State.eq(IN_PROGRESS))
        .exec(db)
        .await?;
    Ok(())
}

/// Forgets answers older than `KEPT`; the sweeper calls it.
pub async fn prune(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(keys::Entity::delete_many()
        .filter(Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected)
}
