//! Fixed-window throttles kept in the database, so that every api
//! instance counts against the same numbers: N instances behind a load
//! balancer allow what one allows, not N times as much.
//!
//! One row per throttle and subject (`login_ip:203.0.113.9`). Counting is
//! a single upsert that starts a new window when the old one has ended
//! and answers the counts, so concurrent hits on several instances never
//! lose a count and need no transaction (`db::tally::add`). Holds and
//! cancels, which a rush makes on every request, are counted in the
//! process first and added every second (`db::tally::Tally`, whose
//! documentation gives the bound across instances); the account
//! throttles, which guard passwords, are counted in the database at once.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::db::tally::{self, Tally};
use crate::error::{ApiError, ApiResult};
use entity::throttle_hits::{self as hits, Column};

/// A throttle: at most `max` attempts per subject within `window_seconds`
/// of the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    pub name: &'static str,
    pub max: u32,
    pub window_seconds: u64,
}

impl Throttle {
    pub const fn new(name: &'static str, max: u32, window_seconds: u64) -> Self {
        Self {
            name,
            max,
            window_seconds,
        }
    }

    fn key(&self, subject: &str) -> String {
        format!("{}:{subject}", self.name)
    }

    /// `Some(seconds to wait)` when `counter`, this attempt counted, went
    /// past the limit.
    fn exceeded(&self, counter: &hits::Model, now: i64) -> Option<u64> {
        (i64::from(counter.hits) > i64::from(self.max)).then(|| wait(counter, now))
    }
}

fn wait(counter: &hits::Model, now: i64) -> u64 {
    Ord::max(u64::try_from(counter.window_end - now).unwrap_or(0), 1)
}

/// Counts one attempt against each of `counters`, in one statement;
/// answers the counters after it, in the same order.
pub async fn hit(
    db: &impl ConnectionTrait,
    counters: &[(Throttle, &str)],
    now: DateTime<Utc>,
) -> Result<Vec<hits::Model>, DbErr> {
    let now = now.timestamp();
    let adds: Vec<tally::Add> = counters
        .iter()
        .map(|(t, subject)| tally::Add {
            key: t.key(subject),
            window_end: now.saturating_add_unsigned(t.window_seconds),
            hits: 1,
        })
        .collect();
    tally::add(db, &adds, now).await
}

/// Counts one attempt against each of `counters` and refuses it (429)
/// when any went past its limit. A refused attempt is taken back: it
/// uses up nothing, and windows never move.
pub async fn admit(
    db: &impl ConnectionTrait,
    counters: &[(Throttle, &str)],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    admit_counted(db, counters, now).await.map(|_| ())
}

/// As `admit`, answering the counters as this attempt left them, so that
/// the caller can take the attempt back later (`take_back`).
pub async fn admit_counted(
    db: &impl ConnectionTrait,
    counters: &[(Throttle, &str)],
    now: DateTime<Utc>,
) -> ApiResult<Vec<hits::Model>> {
    let counted = hit(db, counters, now).await?;
    let refused = refuse_longest(
        counters
            .iter()
            .zip(&counted)
            .filter_map(|((t, _), c)| t.exceeded(c, now.timestamp())),
    );
    if refused.is_err() {
        take_back(db, &counted).await?;
    }
    refused.map(|()| counted)
}

/// Undoes one count on each of `counted`, unless its window has been
/// started again since.
pub async fn take_back(db: &impl ConnectionTrait, counted: &[hits::Model]) -> Result<(), DbErr> {
    for c in counted {
        hits::Entity::update_many()
            .col_expr(Column::Hits, Expr::col(Column::Hits).sub(1))
            .filter(Column::Key.eq(c.key.as_str()))
            .filter(Column::WindowEnd.eq(c.window_end))
            .filter(Column::Hits.gt(0))
            .exec(db)
            .await?;
    }
    Ok(())
}

fn refuse_longest(waits: impl Iterator<Item = u64>) -> ApiResult<()> {
    match waits.max() {
        Some(retry_after_secs) => Err(ApiError::RateLimited { retry_after_secs }),
        None => Ok(()),
    }
}

/// Forgets counters (a successful login clears its failures).
pub async fn reset(db: &impl ConnectionTrait, counters: &[(Throttle, &str)]) -> Result<(), DbErr> {
    let keys = counters.iter().map(|(t, s)| t.key(s));
    hits::Entity::delete_many()
        .filter(Column::Key.is_in(keys))
        .exec(db)
        .await?;
    Ok(())
}

/// Drops the counters whose window has ended: they count nothing any more.
pub async fn prune(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(hits::Entity::delete_many()
        .filter(Column::WindowEnd.lte(now.timestamp()))
        .exec(db)
        .await?
        .rows_affected)
}

/// Counts a hold or cancel by `actor` from `ip`; 429 past either limit.
/// Admins are not limited (they cancel on behalf of others).
pub async fn seat_change(
    db: &impl ConnectionTrait,
    counts: &Tally,
    limits: &LoginLimits,
    actor: &crate::domain::platform::actor::Actor,
    ip: &str,
) -> ApiResult<()> {
    if actor.is_admin() {
        return Ok(());
    }
    let user_key = actor.id.to_string();
    let limits: Vec<tally::Limit> = [
        (limits.seats_per_user, user_key.as_str()),
        (limits.seats_per_ip, ip),
    ]
    .iter()
    .map(|(t, subject)| tally::Limit {
        key: t.key(subject),
        max: t.max,
        window_seconds: t.window_seconds,
    })
    .collect();
    counts
        .try_count(db, &limits, Utc::now().timestamp())
        .await?
        .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })
}

/// The throttles of accounts and seats, counted here so that they hold
/// across instances.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Failed logins and every register attempt, per client IP (a
    /// successful login is taken back: an office behind one address does
    /// not lock itself out).
    pub per_ip: Throttle,
    /// Failed logins, per account e-mail and client IP: locks the pair.
    pub per_account_ip: Throttle,
    /// Failed logins from a client that signed in to the account before
    /// (its device cookie), in place of the pair and account counters:
    /// others' failures never lock the owner's own client out.
    pub per_device: Throttle,
    /// Failed logins, per account from everywhere: past it, guesses trickle.
    pub per_account: Throttle,
    /// One attempt per account every few seconds, once past `per_account`.
    pub account_trickle: Throttle,
    /// Account mails (verification, reset), per account and per IP.
    pub mail: Throttle,
    /// Reset mails to one address asked from one client address: the
    /// target's quota is per requester, so a third party who uses up
    /// theirs leaves the mailbox's owner theirs.
    pub reset_per_requester: Throttle,
    /// Holds and cancels, per user and per client IP: hoarding seats by
    /// re-holding, or a hold/cancel loop, meets 429.
    pub seats_per_user: Throttle,
    pub seats_per_ip: Throttle,
    /// Wrong current passwords in a password change, per account: the
    /// next one past it meets 429 (a guess of the password is a guess,
    /// wherever it is made).
    pub password_change_failures: Throttle,
    /// Password changes, right or wrong, per account: each costs the
    /// app's hashing line one or two hashes, so no account may
    /// take it from everyone's logins.
    pub password_changes: Throttle,
    /// Password changes per client address, across accounts.
    pub password_changes_per_ip: Throttle,
    /// Reset links followed per client address (a token is 256 random
    /// bits: this bounds the load, not a guess).
    pub reset_confirms_per_ip: Throttle,
    /// Requests made with one API key, wherever they come from.
    pub api_key: Throttle,
}

impl LoginLimits {
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        let l = settings.login_limits;
        Self {
            per_ip: Throttle::new("login_ip", l.per_ip, l.window_seconds),
            per_account_ip: Throttle::new("login_account_ip", l.per_account, l.window_seconds),
            per_device: Throttle::new("login_device", l.per_account, l.window_seconds),
            per_account: Throttle::new("login_account", l.account_slowdown_after, l.window_seconds),
            account_trickle: Throttle::new("login_trickle", 1, 3),
            mail: Throttle::new("account_mail", l.mails_per_hour, 3600),
            reset_per_requester: Throttle::new("reset_requester", l.mails_per_hour, 3600),
            seats_per_user: Throttle::new("seats_user", l.seat_changes_per_user, 3600),
            seats_per_ip: Throttle::new("seats_ip", l.seat_changes_per_ip, 3600),
            password_change_failures: Throttle::new(
                "password_change_failures",
                l.per_account,
                l.window_seconds,
            ),
            password_changes: Throttle::new("password_changes", 10, 3600),
            password_changes_per_ip: Throttle::new(
                "password_changes_ip",
                l.per_ip,
                l.window_seconds,
            ),
            reset_confirms_per_ip: Throttle::new("reset_confirms_ip", l.per_ip, l.window_seconds),
            api_key: Throttle::new("api_key", l.api_key_per_minute, 60),
        }
    }
}
