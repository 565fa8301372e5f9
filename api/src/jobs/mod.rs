//! Background work: the hold sweeper, the subscription expiry sweep, the
//! owed payment calls (refunds, Checkout Session expiries), the hourly
//! reconciliation with Stripe, the mail worker, the minimum-attendee
//! decisions, the expiry of never-verified accounts and the backups
//! (when `BACKUP_DIR` is set). Each is a loop around a `*_once` function that tests call
//! directly with a given `now`.
//!
//! What each job guarantees with several instances on one database:
//! - **Once per tick.** Every instance ticks, but a tick runs only on the
//!   instance that claims the job's lease (`domain::job_leases`); the
//!   others skip it. A lease outlives a crashed holder by at most
//!   `Job::lease`, then another instance takes the job over.
//! - **Each row once, whatever the lease does.** The jobs never rely on
//!   the lease for correctness: the sweeper ends each hold with a
//!   conditional update (a hold is expired once, its seat given back
//!   once); the mail worker leases each mail before sending it (a mail
//!   is sent once, unless the process dies between SMTP's answer and the
//!   write that records it: then it is sent again, never lost); owed
//!   calls carry Stripe idempotency keys (a refund is made once); the
//!   expiry and reconciliation sweeps are idempotent; a session is decided
//!   once (its claim is a conditional update).
//! - **Stopped at a safe point.** On shutdown a job finishes the tick it
//!   is running and starts no other.

pub mod mail;
pub mod sweeper;
pub mod webhooks;

use std::time::Duration;

use actix_web::web;
use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::domain::platform::job_leases;
use crate::state::AppState;

const HOURLY: Duration = Duration::from_secs(3600);
const MAX_LEASE: Duration = Duration::from_secs(3600);

/// The background jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sweeper,
    OwedCalls,
    SubscriptionExpiry,
    Reconcile,
    Mail,
    Decisions,
    Reminders,
    UnverifiedAccounts,
    Retention,
    Backup,
    Webhooks,
}

impl Kind {
    /// The job's name: its lease's key and its metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sweeper => "sweeper",
            Self::OwedCalls => "owed_calls",
            Self::SubscriptionExpiry => "subscription_expiry",
            Self::Reconcile => "reconcile",
            Self::Mail => "mail",
            Self::Decisions => "decisions",
            Self::Reminders => "reminders",
            Self::UnverifiedAccounts => "unverified_accounts",
            Self::Retention => "retention",
            Self::Backup => "backup",
            Self::Webhooks => "webhooks",
        }
    }
}

/// One background job: how often it ticks, and how long a claim holds
/// before another instance may take over.
#[derive(Debug, Clone, Copy)]
pub struct Job {
    pub kind: Kind,
    pub every: Duration,
    pub lease: Duration,
}

/// The running jobs, and the switch that stops them.
pub struct Jobs {
    stop: std::sync::Arc<watch::Sender<bool>>,
    handles: Vec<JoinHandle<()>>,
}

impl Jobs {
    /// The switch: once it is on, every job stops after its current tick
    /// and claims no other.
    pub fn stopper(&self) -> std::sync::Arc<watch::Sender<bool>> {
        self.stop.clone()
    }

    /// Asks every job to stop after its current tick, and waits for them
    /// (at most `within`; past it, they are dropped mid-tick, which each
    /// job survives: see the module doc).
    pub async fn stop(self, within: Duration) {
        let _ = self.stop.send(true);
        let all = async {
            for handle in self.handles {
                let _ = handle.await;
            }
        };
        if tokio::time::timeout(within, all).await.is_err() {
            tracing::warn!("background jobs did not stop in time");
        }
    }
}

/// What the jobs work with: the app's state and one mailer for all ticks.
struct Context {
    state: web::Data<AppState>,
    mailer: mail::Measured,
}

/// Starts the jobs on the current runtime.
pub fn spawn(state: web::Data<AppState>) -> Jobs {
    let (stop, stopped) = watch::channel(false);
    let settings = &state.settings;
    // Past its lease a tick is presumed dead (its instance crashed) and
    // another instance may run the job: 30 s past the interval, capped.
    let lease = |every: Duration| Ord::min(every, MAX_LEASE) + Duration::from_secs(30);
    let job = |kind, every: Duration| Job {
        kind,
        every,
        lease: lease(every),
    };
    let backup = settings.backup.as_ref().map(|plan| {
        // After a restart, the age of the newest copy is known at once.
        if let Some(at) = crate::db::backup::newest_taken_at(&plan.dir) {
            state.metrics.backup_last_success.set(at);
        }
        job(Kind::Backup, plan.every)
    });
    let jobs = [
        job(Kind::Sweeper, settings.sweep_interval),
        job(Kind::OwedCalls, settings.sweep_interval),
        job(Kind::SubscriptionExpiry, HOURLY),
        job(Kind::Reconcile, HOURLY),
        job(Kind::Mail, settings.mail_interval),
        job(Kind::Decisions, HOURLY),
        job(Kind::Reminders, HOURLY),
        job(Kind::UnverifiedAccounts, HOURLY),
        job(Kind::Retention, HOURLY),
        job(Kind::Webhooks, settings.webhook_interval),
    ]
    .into_iter()
    .chain(backup);
    let context = std::sync::Arc::new(Context {
        mailer: mail::Measured::new(mail::mailer_for(settings), &state.metrics),
        state: state.clone(),
    });
    let handles = jobs
        .map(|job| {
            let context = context.clone();
            let stopped = stopped.clone();
            tokio::spawn(async move { run_every(&context, job, stopped).await })
        })
        .collect();
    Jobs {
        stop: std::sync::Arc::new(stop),
        handles,
    }
}

/// Ticks `job` until stopped, running it on the ticks this instance claims.
async fn run_every(context: &Context, job: Job, mut stopped: watch::Receiver<bool>) {
    let state = &context.state;
    let name = job.kind.as_str();
    let lease = chrono::Duration::from_std(job.lease).unwrap_or(chrono::Duration::hours(1));
    let every = chrono::Duration::from_std(job.every).unwrap_or(chrono::Duration::hours(1));
    let mut tick = tokio::time::interval(job.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.changed() => {}
        }
        if *stopped.borrow() {
            return;
        }
        let started = Utc::now();
        match job_leases::claim(&state.db, name, &state.instance_id, lease, started).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::error!(job = name, error = %e, "job lease not claimed");
                continue;
            }
        }
        state.metrics.job_runs.with_label_values(&[name]).inc();
        run_once(context, job.kind, started).await;
        // A tick may have given seats back or confirmed them.
        state.catalog.invalidate();
        let finished = job_leases::finish(
            &state.db,
            name,
            &state.instance_id,
            every,
            started,
            Utc::now(),
        );
        if let Err(e) = finished.await {
            tracing::error!(job = name, error = %e, "job lease not released");
        }
    }
}

/// One tick of `kind`.
async fn run_once(context: &Context, kind: Kind, now: chrono::DateTime<Utc>) {
    let state = &context.state;
    match kind {
        Kind::Sweeper => sweep(state, now).await,
        Kind::OwedCalls => settle_owed(state, now).await,
        Kind::SubscriptionExpiry => expire_subscriptions(state, now).await,
        Kind::Reconcile => reconcile(state, now).await,
        Kind::Decisions => {
            let settler = state.settler();
            let decided = crate::domain::bookings::decisions::decide_due(&state.db, &settler, now);
            if let Err(e) = decided.await {
                tracing::error!(error = %e, "minimum-attendee decisions failed");
            }
        }
        Kind::Reminders => {
            let today = crate::domain::platform::clock::today_at_venue(now);
            let due = crate::domain::bookings::reminders::queue_due(
                &state.db,
                &state.settings.public_url,
                today,
            );
            if let Err(e) = due.await {
                tracing::error!(error = %e, "session reminders failed");
            }
        }
        Kind::UnverifiedAccounts => {
            let after = chrono::Duration::days(state.settings.unverified_account_days);
            let expired = crate::domain::accounts::unverified::expire(&state.db, after, now);
            if let Err(e) = expired.await {
                tracing::error!(error = %e, "never-verified accounts not expired");
            }
        }
        Kind::Retention => {
            if let Err(e) = crate::domain::privacy::retention::run(&state.db, now).await {
                tracing::error!(error = %e, "records past their retention period not let go");
            }
        }
        Kind::Backup => back_up(state, now).await,
        Kind::Webhooks => webhooks::tick(state, now).await,
        Kind::Mail => {
            if let Err(e) = mail::deliver_once(&state.db, &context.mailer, now).await {
                tracing::error!(error = %e, "mail delivery failed");
            }
        }
    }
}

async fn sweep(state: &AppState, now: chrono::DateTime<Utc>) {
    if let Err(e) =
        sweeper::sweep_once(&state.db, &state.settler(), &state.policy.offers, now).await
    {
        tracing::error!(error = %e, "hold sweep failed");
    }
    if let Err(e) = crate::domain::platform::throttles::prune(&state.db, now).await {
        tracing::error!(error = %e, "throttle counters not pruned");
    }
    if let Err(e) = crate::domain::platform::idempotency::prune(&state.db, now).await {
        tracing::error!(error = %e, "idempotency keys not pruned");
    }
}

async fn back_up(state: &AppState, now: chrono::DateTime<Utc>) {
    if let Err(e) = backup_once(state, now).await {
        tracing::error!(error = %e, "backup failed");
    }
}

/// One tick of the backup job: a copy into `BACKUP_DIR`, checked, then the
/// oldest pruned to `BACKUP_KEEP`. Answers the copy (None: no
/// `BACKUP_DIR`).
pub async fn backup_once(
    state: &AppState,
    now: chrono::DateTime<Utc>,
) -> Result<Option<std::path::PathBuf>, crate::db::backup::BackupError> {
    let Some(plan) = &state.settings.backup else {
        return Ok(None);
    };
    let url = &state.settings.database_url;
    let path = crate::db::backup::take(&state.db, url, &plan.dir, now).await?;
    tracing::info!(copy = %path.display(), "backup taken and checked");
    let taken = now.timestamp() as f64;
    state.metrics.backup_last_success.set(taken);
    let old = crate::db::backup::prune(&plan.dir, plan.keep)?;
    if !old.is_empty() {
        tracing::info!(removed = old.len(), "old backups pruned");
    }
    Ok(Some(path))
}

async fn settle_owed(state: &AppState, now: chrono::DateTime<Utc>) {
    match crate::domain::billing::owed::settle_due(&state.db, state.gateway.as_ref(), now).await {
        Ok(s) if s.done + s.failed > 0 => {
            tracing::info!(
                done = s.done,
                failed = s.failed,
                "owed payment calls settled"
            )
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "owed payment calls failed"),
    }
}

async fn expire_subscriptions(state: &AppState, now: chrono::DateTime<Utc>) {
    let grace = state.policy.past_due_grace;
    match crate::domain::subscriptions::deactivate_expired(&state.db, grace, now).await {
        Ok(n) if n > 0 => tracing::info!(deactivated = n, "expired subscriptions deactivated"),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "subscription expiry sweep failed"),
    }
}

async fn reconcile(state: &AppState, now: chrono::DateTime<Utc>) {
    match crate::domain::payment_events::reconcile::run(
        &state.db,
        state.gateway.as_ref(),
        &state.policy,
        now,
    )
    .await
    {
        Ok(r) => {
            for line in &r.changed {
                tracing::warn!(repair = %line, "reconcile repaired drift");
            }
            for line in &r.unrepaired {
                tracing::error!(drift = %line, "reconcile could not repair");
            }
            let m = &state.metrics;
            m.reconcile_repairs.inc_by(r.changed.len() as u64);
            m.reconcile_unrepaired.inc_by(r.unrepaired.len() as u64);
        }
        Err(e) => tracing::error!(error = %e, "reconcile failed"),
    }
}
