//! `cargo run --release -p bench --bin webhooks [-- EVENTS]`
//!
//! Outgoing webhooks through the real api (one instance, PostgreSQL, its
//! webhook job ticking every second): EVENTS (default 1 000) events, one
//! per resource, committed at once, delivered signed to a receiver of
//! ours on 127.0.0.1. Prints deliveries per second and the delay from
//! commit to arrival (p50, p99), beside the baseline of the same run: the
//! same receiver taking the same bodies POSTed straight from a loop with
//! the same concurrency, no database. It exits non-zero when an event is
//! not delivered exactly once within a minute, or a delivery failed.
//! `BENCH_SMOKE=1` (the test command's smoke run): 20 events.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use api::config::Settings;
use api::startup::Application;
use chrono::{DateTime, Utc};
use common::events::EventType;
use sea_orm::TransactionTrait;
use uuid::Uuid;

#[path = "../support.rs"]
mod support;

/// Deliveries made at once by the job (one batch).
const CONCURRENCY: usize = 100;

#[actix_web::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("webhooks: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let smoke = std::env::var("BENCH_SMOKE").is_ok_and(|v| v == "1");
    let events: usize = match std::env::args().nth(1) {
        Some(s) => s.parse().map_err(|_| format!("EVENTS: {s}"))?,
        None if smoke => 20,
        None => 1_000,
    };
    support::in_own_database(&support::admin_url(), |url| async move {
        bench(&url, events).await
    })
    .await
}

/// What the receiver got: the time each `webhook-id` arrived.
type Arrivals = Arc<Mutex<Vec<(String, Instant)>>>;

async fn receiver() -> Result<(String, Arrivals), String> {
    let got: Arrivals = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let server = HttpServer::new(move || {
        let sink = sink.clone();
        App::new().default_service(web::to(move |req: HttpRequest, _body: web::Bytes| {
            let sink = sink.clone();
            async move {
                let id = req
                    .headers()
                    .get("webhook-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                if let Ok(mut got) = sink.lock() {
                    got.push((id, Instant::now()));
                }
                HttpResponse::NoContent().finish()
            }
        }))
    })
    .workers(2)
    .bind(("127.0.0.1", 0))
    .map_err(|e| e.to_string())?;
    let port = server.addrs()[0].port();
    actix_web::rt::spawn(server.run());
    Ok((format!("http://127.0.0.1:{port}/hook"), got))
}

async fn bench(url: &str, events: usize) -> Result<(), String> {
    let vars: HashMap<String, String> = [
        ("DATABASE_URL", url),
        ("BIND_ADDR", "127.0.0.1:0"),
        ("JWT_SECRET", "bench-secret-bench-secret-bench-secret"),
        ("DEMO_DATA", "false"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_bench"),
        ("WEBHOOK_INTERVAL_SECONDS", "1"),
        ("ALLOW_PRIVATE_WEBHOOK_TARGETS", "true"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let settings = Settings::from_vars(&vars).map_err(|e| e.to_string())?;
    let app = Application::build(settings)
        .await
        .map_err(|e| e.to_string())?;
    let state = app.state();
    actix_web::rt::spawn(app.run_until_stopped());
    let (hook, got) = receiver().await?;

    // The baseline: the same receiver, the same bodies, straight POSTs.
    let body = format!(
        "{{\"type\":\"session.updated\",\"timestamp\":\"{}\",\"data\":{{}}}}",
        Utc::now().to_rfc3339()
    );
    let client = reqwest::Client::new();
    for chunk in (0..events).collect::<Vec<_>>().chunks(CONCURRENCY) {
        let sent = chunk.iter().map(|i| {
            client
                .post(&hook)
                .header("webhook-id", format!("baseline-{i}"))
                .body(body.clone())
                .send()
        });
        for res in futures_join(sent).await {
            let res = res.map_err(|e| e.to_string())?;
            if !res.status().is_success() {
                return Err(format!("baseline POST answered {}", res.status()));
            }
        }
    }
    // As the api's is measured: first to last arrival.
    let baseline = {
        let mut got = got.lock().map_err(|e| e.to_string())?;
        let span = match (got.first(), got.last()) {
            (Some(a), Some(b)) => b.1.duration_since(a.1).as_secs_f64(),
            _ => 0.0,
        };
        got.clear();
        events as f64 / span.max(0.001)
    };

    // The api: an endpoint, then the events, committed at once.
    let endpoint = api::domain::integrations::webhooks::create(
        &state.db,
        state.settings.webhook_targets,
        Uuid::new_v4(),
        common::webhooks::NewWebhookEndpoint {
            url: hook.clone(),
            event_types: vec![EventType::SessionUpdated],
            description: None,
        },
        Utc::now(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let txn = state.db.begin().await.map_err(|e| e.to_string())?;
    for i in 0..events {
        let resource = Uuid::new_v4();
        api::domain::platform::events::record(
            &txn,
            EventType::SessionUpdated,
            resource,
            &serde_json::json!({"id": resource, "n": i}),
            Utc::now(),
        )
        .await
        .map_err(|e| e.to_string())?;
    }
    txn.commit().await.map_err(|e| e.to_string())?;
    let committed = Instant::now();
    let committed_at: DateTime<Utc> = Utc::now();

    // Wait for every delivery (a minute at most), reading the log as it goes.
    let deadline = committed + Duration::from_secs(60);
    loop {
        let n = got.lock().map_err(|e| e.to_string())?.len();
        if n >= events || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let arrivals = got.lock().map_err(|e| e.to_string())?.clone();
    let distinct: std::collections::HashSet<&str> =
        arrivals.iter().map(|(id, _)| id.as_str()).collect();
    if arrivals.len() != events || distinct.len() != events {
        return Err(format!(
            "{} deliveries of {} distinct events, {events} committed (endpoint {})",
            arrivals.len(),
            distinct.len(),
            endpoint.endpoint.id
        ));
    }
    let mut delays: Vec<f64> = arrivals
        .iter()
        .map(|(_, at)| at.duration_since(committed).as_secs_f64() * 1000.0)
        .collect();
    delays.sort_by(f64::total_cmp);
    let pct =
        |p: f64| delays[((delays.len() as f64 * p).ceil() as usize).clamp(1, delays.len()) - 1];
    let last = delays.last().copied().unwrap_or(0.0);
    let first = delays.first().copied().unwrap_or(0.0);
    let rate = events as f64 / ((last - first) / 1000.0).max(0.001);
    println!(
        "webhooks, {events} events committed at {committed_at}, one endpoint, job every 1 s, {CONCURRENCY} at once"
    );
    println!(
        "  api      {rate:9.0} deliveries/s (first to last arrival), delay from commit p50 {:.0} ms p99 {:.0} ms",
        pct(0.50),
        pct(0.99)
    );
    println!(
        "  baseline {baseline:9.0} POSTs/s straight to the same receiver (first to last arrival)"
    );
    println!("  ratio    {:.2}", rate / baseline);
    let failed = state
        .metrics
        .webhook_attempts
        .with_label_values(&["failed"])
        .get();
    if failed > 0 {
        return Err(format!("{failed} delivery attempts failed"));
    }
    Ok(())
}

/// Awaits all of `futures` (a batch of POSTs at once).
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    futures_util::future::join_all(futures).await
}
