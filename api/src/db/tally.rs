//! Throttle counters kept in the database (`throttle_hits`), so that
//! every api instance counts against the same numbers: one upsert adds
//! attempts to a key's window, or starts a new window when the old one
//! has ended, and answers the counts.
//!
//! `Tally` counts in this process first, for the throttles a rush meets
//! on every request (holds and cancels): a database write per attempt on
//! one row per client address lined every hold from one office (or one
//! benchmark) up behind that row's lock. It adds its counts to the
//! database once a second (`flush`) and learns the other instances'
//! counts then, and when it first meets a key. The bound: one instance
//! alone counts exactly, save the attempts of its last second when it is
//! killed (a clean stop flushes them); N instances together admit at
//! most what each of the others admits in one second past a limit.

use std::collections::HashMap;
use std::sync::Mutex;

use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use entity::throttle_hits::{self as hits, Column};

/// Attempts to add to a key's window.
#[derive(Debug, Clone)]
pub struct Add {
    pub key: String,
    /// Where a new window ends, when the stored one has ended.
    pub window_end: i64,
    pub hits: i32,
}

/// Adds each of `adds` to its key, in one statement; answers the
/// counters after it, in the same order.
pub async fn add(
    db: &impl ConnectionTrait,
    adds: &[Add],
    now: i64,
) -> Result<Vec<hits::Model>, DbErr> {
    let mut rows: Vec<hits::ActiveModel> = adds
        .iter()
        .map(|a| hits::ActiveModel {
            key: Set(a.key.clone()),
            window_end: Set(a.window_end),
            hits: Set(a.hits),
        })
        .collect();
    // Rows are locked in key order on every instance: two statements
    // counting the same pair of keys can never deadlock.
    rows.sort_by(|a, b| a.key.as_ref().cmp(b.key.as_ref()));
    let ended = Expr::col((hits::Entity, Column::WindowEnd)).lte(now);
    let hits_after = CaseStatement::new()
        .case(ended.clone(), Expr::cust("excluded.hits"))
        .finally(Expr::col((hits::Entity, Column::Hits)).add(Expr::cust("excluded.hits")));
    let end_after = CaseStatement::new()
        .case(ended, Expr::cust("excluded.window_end"))
        .finally(Expr::col((hits::Entity, Column::WindowEnd)));
    let counted = hits::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(Column::Key)
                .value(Column::Hits, hits_after)
                .value(Column::WindowEnd, end_after)
                .to_owned(),
        )
        .exec_with_returning(db)
        .await?;
    adds.iter()
        .map(|a| {
            counted
                .iter()
                .find(|c| c.key == a.key)
                .cloned()
                .ok_or_else(|| DbErr::Custom(format!("throttle counter {} not returned", a.key)))
        })
        .collect()
}

/// One key to count in `Tally::try_count`.
#[derive(Debug, Clone)]
pub struct Limit {
    pub key: String,
    pub max: u32,
    pub window_seconds: u64,
}

#[derive(Debug, Clone, Copy)]
struct Count {
    window_end: i64,
    /// The database's count when this process last read or wrote it.
    stored: i64,
    /// Attempts admitted here since.
    pending: i64,
}

impl Count {
    fn total(self) -> i64 {
        self.stored + self.pending
    }
}

/// Counts kept in this process and added to the database by `flush`.
#[derive(Default)]
pub struct Tally {
    counts: Mutex<HashMap<String, Count>>,
}

impl Tally {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Count>> {
        // A panic elsewhere cannot leave a count half-written.
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one attempt against each of `limits`, or none when any is
    /// at its limit: then `Ok(Err(seconds))`, the longest wait.
    pub async fn try_count(
        &self,
        db: &impl ConnectionTrait,
        limits: &[Limit],
        now: i64,
    ) -> Result<Result<(), u64>, DbErr> {
        self.learn(db, limits, now).await?;
        let mut counts = self.lock();
        let mut wait = None;
        for l in limits {
            let c = counts.get(&l.key).copied().unwrap_or(Count {
                window_end: now.saturating_add_unsigned(l.window_seconds),
                stored: 0,
                pending: 0,
            });
            if c.total() >= i64::from(l.max) {
                let seconds = Ord::max(u64::try_from(c.window_end - now).unwrap_or(0), 1);
                wait = Some(wait.map_or(seconds, |w: u64| Ord::max(w, seconds)));
            }
        }
        if let Some(seconds) = wait {
            return Ok(Err(seconds));
        }
        for l in limits {
            counts
                .entry(l.key.clone())
                .or_insert(Count {
                    window_end: now.saturating_add_unsigned(l.window_seconds),
                    stored: 0,
                    pending: 0,
                })
                .pending += 1;
        }
        Ok(Ok(()))
    }

    /// Reads from the database the keys this process does not know, or
    /// whose window it saw end: another instance may have counted them.
    async fn learn(
        &self,
        db: &impl ConnectionTrait,
        limits: &[Limit],
        now: i64,
    ) -> Result<(), DbErr> {
        let unknown: Vec<&Limit> = {
            let counts = self.lock();
            limits
                .iter()
                .filter(|l| counts.get(&l.key).is_none_or(|c| c.window_end <= now))
                .collect()
        };
        if unknown.is_empty() {
            return Ok(());
        }
        let stored = hits::Entity::find()
            .filter(Column::Key.is_in(unknown.iter().map(|l| l.key.as_str())))
            .filter(Column::WindowEnd.gt(now))
            .all(db)
            .await?;
        let mut counts = self.lock();
        for l in unknown {
            let fresh = stored.iter().find(|s| s.key == l.key).map_or(
                Count {
                    window_end: now.saturating_add_unsigned(l.window_seconds),
                    stored: 0,
                    pending: 0,
                },
                |s| Count {
                    window_end: s.window_end,
                    stored: i64::from(s.hits),
                    pending: 0,
                },
            );
            let known = counts.entry(l.key.clone()).or_insert(fresh);
            // Another request may have learnt it while this one read.
            if known.window_end <= now {
                *known = fresh;
            }
        }
        Ok(())
    }

    /// Adds the attempts counted here since the last flush to the
    /// database, and learns the counts there; forgets keys whose window
    /// has ended with nothing left to add.
    pub async fn flush(&self, db: &impl ConnectionTrait, now: i64) -> Result<(), DbErr> {
        let adds: Vec<Add> = {
            let mut counts = self.lock();
            counts.retain(|_, c| c.pending > 0 || c.window_end > now);
            counts
                .iter_mut()
                .filter(|(_, c)| c.pending > 0)
                .map(|(key, c)| {
                    let hits = i32::try_from(c.pending).unwrap_or(i32::MAX);
                    c.stored += i64::from(hits);
                    c.pending -= i64::from(hits);
                    Add {
                        key: key.clone(),
                        window_end: c.window_end,
                        hits,
                    }
                })
                .collect()
        };
        if adds.is_empty() {
            return Ok(());
        }
        match add(db, &adds, now).await {
            Ok(rows) => {
                let mut counts = self.lock();
                for row in rows {
                    if let Some(c) = counts.get_mut(&row.key) {
                        c.stored = i64::from(row.hits);
                        c.window_end = row.window_end;
                    }
                }
                Ok(())
            }
            Err(e) => {
                // Kept to add at the next flush.
                let mut counts = self.lock();
                for a in &adds {
                    if let Some(c) = counts.get_mut(&a.key) {
                        c.stored -= i64::from(a.hits);
                        c.pending += i64::from(a.hits);
                    }
                }
                Err(e)
            }
        }
    }
}
