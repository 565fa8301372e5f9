//! Which instance runs a background job's tick. Every instance ticks; the
//! first to claim the job's row runs it, the others skip, so a job runs
//! once per interval across all instances, never twice at once.
//!
//! A claim is a lease: an instance that dies mid-run holds the job only
//! until the lease ends, then another takes over. The jobs themselves do
//! not rely on the lease for correctness (each moves its rows with
//! conditional updates); the lease keeps N instances from doing N times
//! the work and from racing each other for the same rows.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use entity::job_leases::{self as leases, Column};

/// A tick that comes a little early (timers drift) still finds the job due.
const EARLY: Duration = Duration::milliseconds(500);

/// Claims `job` for `holder` when its next run is due and nobody holds
/// it; true when the caller should run it now.
pub async fn claim(
    db: &impl ConnectionTrait,
    job: &str,
    holder: &str,
    lease: Duration,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let long_ago = DateTime::<Utc>::UNIX_EPOCH;
    leases::Entity::insert(leases::ActiveModel {
        job: Set(job.to_owned()),
        holder: Set(None),
        lease_until: Set(long_ago),
        next_run_at: Set(long_ago),
    })
    .on_conflict(OnConflict::column(Column::Job).do_nothing().to_owned())
    .exec_without_returning(db)
    .await?;
    let claimed = leases::Entity::update_many()
        .col_expr(Column::Holder, Expr::value(holder))
        .col_expr(Column::LeaseUntil, Expr::value(now + lease))
        .filter(Column::Job.eq(job))
        .filter(Column::NextRunAt.lte(now))
        .filter(Column::LeaseUntil.lte(now))
        .exec(db)
        .await?;
    Ok(claimed.rows_affected == 1)
}

/// Ends `holder`'s run of `job`, started at `started`: the next run is due
/// one interval after that start.
pub async fn finish(
    db: &impl ConnectionTrait,
    job: &str,
    holder: &str,
    every: Duration,
    started: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let next = started + every - Ord::min(EARLY, every / 2);
    leases::Entity::update_many()
        .col_expr(Column::Holder, Expr::value(Option::<String>::None))
        .col_expr(Column::LeaseUntil, Expr::value(now))
        .col_expr(Column::NextRunAt, Expr::value(next))
        .filter(Column::Job.eq(job))
        .filter(Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(())
}
