//! Prometheus metrics (the `prometheus` crate), one registry per running
//! app, so tests that run several apps in one process never mix their
//! figures. Counters are moved where the work happens (HTTP layer, jobs);
//! the figures that live in the database (outbox, owed calls, anomalies,
//! seats) are read when `/metrics` is scraped (`domain::gauges`), so that
//! every instance reports the same numbers.

use common::bookings::BookingStatus;
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::domain::reports::gauges::Gauges;

pub struct Metrics {
    registry: Registry,
    /// Two scrapes at once would race between clearing and setting the
    /// per-session and per-call gauges: one renders at a time.
    rendering: std::sync::Mutex<()>,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub holds: IntCounterVec,
    pub webhooks: IntCounterVec,
    pub webhook_lag: Histogram,
    pub mails_sent: IntCounter,
    pub mail_failures: IntCounter,
    pub reconcile_repairs: IntCounter,
    pub reconcile_unrepaired: IntCounter,
    pub job_runs: IntCounterVec,
    pub webhook_attempts: IntCounterVec,
    pub database_unreachable: IntCounter,
    /// When the last checked backup this instance knows of was taken.
    pub backup_last_success: Gauge,
    outbox_pending: IntGauge,
    outbox_oldest_age: Gauge,
    owed_calls: IntGaugeVec,
    anomalies_open: IntGauge,
    pool_connections: IntGaugeVec,
    seats: IntGaugeVec,
}

/// Pool figures (`in_use`, `idle`) when the backend tells them.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolFigures {
    pub in_use: i64,
    pub idle: i64,
}

impl Metrics {
    /// Fails only on an invalid metric definition (a programming error,
    /// reported at start).
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("immersion".into()), None)?;
        let m = Self {
            rendering: std::sync::Mutex::new(()),
            http_requests: IntCounterVec::new(
                Opts::new(
                    "http_requests_total",
                    "HTTP requests by route template, method and status",
                ),
                &["route", "method", "status"],
            )?,
            http_duration: HistogramVec::new(
                HistogramOpts::new(
                    "http_request_duration_seconds",
                    "HTTP request latency by route template",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ]),
                &["route", "method"],
            )?,
            holds: IntCounterVec::new(
                Opts::new(
                    "holds_total",
                    "Seat holds asked for: taken, or refused with the reason's error code",
                ),
                &["outcome", "reason"],
            )?,
            webhooks: IntCounterVec::new(
                Opts::new(
                    "webhook_events_total",
                    "Stripe webhook events by type and outcome",
                ),
                &["type", "outcome"],
            )?,
            webhook_lag: Histogram::with_opts(
                HistogramOpts::new(
                    "webhook_lag_seconds",
                    "From a webhook event's `created` to its processing",
                )
                .buckets(vec![
                    0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 21600.0,
                ]),
            )?,
            mails_sent: IntCounter::new("mails_sent_total", "Mails handed to the mailer")?,
            mail_failures: IntCounter::new(
                "mail_failures_total",
                "Mail attempts that failed (retried later)",
            )?,
            reconcile_repairs: IntCounter::new(
                "reconcile_repairs_total",
                "Drift the reconciliation with Stripe repaired",
            )?,
            reconcile_unrepaired: IntCounter::new(
                "reconcile_unrepaired_total",
                "Drift the reconciliation found and could not repair",
            )?,
            job_runs: IntCounterVec::new(
                Opts::new(
                    "job_runs_total",
                    "Background job ticks this instance ran (one instance per tick)",
                ),
                &["job"],
            )?,
            webhook_attempts: IntCounterVec::new(
                Opts::new(
                    "outgoing_webhook_attempts_total",
                    "Attempts at delivering an event to a webhook endpoint, by outcome (ok: 2xx)",
                ),
                &["outcome"],
            )?,
            database_unreachable: IntCounter::new(
                "database_unreachable_total",
                "Answers 503 because the database could not be reached",
            )?,
            backup_last_success: Gauge::new(
                "backup_last_success_timestamp_seconds",
                "When the newest checked backup in BACKUP_DIR was taken (0: none known)",
            )?,
            outbox_pending: IntGauge::new("mail_outbox_pending", "Mails waiting to be sent")?,
            outbox_oldest_age: Gauge::new(
                "mail_outbox_oldest_pending_age_seconds",
                "Age of the oldest mail not sent yet (0 when none)",
            )?,
            owed_calls: IntGaugeVec::new(
                Opts::new(
                    "owed_gateway_calls",
                    "Calls owed to the payment provider (refunds, Checkout expiries) not done yet",
                ),
                &["kind", "status"],
            )?,
            anomalies_open: IntGauge::new(
                "payment_anomalies_open",
                "Payment anomalies no admin has acknowledged",
            )?,
            pool_connections: IntGaugeVec::new(
                Opts::new("db_pool_connections", "Database pool connections by state"),
                &["state"],
            )?,
            seats: IntGaugeVec::new(
                Opts::new(
                    "session_seats",
                    "Held and confirmed seats per upcoming session",
                ),
                &["session", "starts_on", "state"],
            )?,
            registry,
        };
        m.register_all()?;
        Ok(m)
    }

    fn register_all(&self) -> Result<(), prometheus::Error> {
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(self.http_requests.clone()),
            Box::new(self.http_duration.clone()),
            Box::new(self.holds.clone()),
            Box::new(self.webhooks.clone()),
            Box::new(self.webhook_lag.clone()),
            Box::new(self.mails_sent.clone()),
            Box::new(self.mail_failures.clone()),
            Box::new(self.reconcile_repairs.clone()),
            Box::new(self.reconcile_unrepaired.clone()),
            Box::new(self.job_runs.clone()),
            Box::new(self.webhook_attempts.clone()),
            Box::new(self.database_unreachable.clone()),
            Box::new(self.backup_last_success.clone()),
            Box::new(self.outbox_pending.clone()),
            Box::new(self.outbox_oldest_age.clone()),
            Box::new(self.owed_calls.clone()),
            Box::new(self.anomalies_open.clone()),
            Box::new(self.pool_connections.clone()),
            Box::new(self.seats.clone()),
        ];
        for c in collectors {
            self.registry.register(c)?;
        }
        Ok(())
    }

    /// The text exposition, after setting the gauges read at scrape time.
    pub fn render(
        &self,
        gauges: &Gauges,
        pool: PoolFigures,
        now: chrono::DateTime<chrono::Utc>,
    ) -> String {
        let _one_at_a_time = self.rendering.lock().unwrap_or_else(|e| e.into_inner());
        self.outbox_pending.set(gauges.outbox_pending);
        let age = gauges
            .oldest_pending_mail
            .map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0);
        self.outbox_oldest_age.set(age);
        self.owed_calls.reset();
        for (kind, status, n) in &gauges.owed_calls {
            self.owed_calls.with_label_values(&[kind, status]).set(*n);
        }
        self.anomalies_open.set(gauges.anomalies_open);
        self.pool_connections
            .with_label_values(&["in_use"])
            .set(pool.in_use);
        self.pool_connections
            .with_label_values(&["idle"])
            .set(pool.idle);
        // Sessions that are over drop out of the series.
        self.seats.reset();
        for s in &gauges.seats {
            let id = s.session_id.to_string();
            let day = s.starts_on.to_string();
            self.seats
                .with_label_values(&[id.as_str(), day.as_str(), BookingStatus::Held.as_str()])
                .set(s.held);
            self.seats
                .with_label_values(&[id.as_str(), day.as_str(), BookingStatus::Confirmed.as_str()])
                .set(s.confirmed);
        }
        let mut out = Vec::new();
        // Encoding our own families into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}
