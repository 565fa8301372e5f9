//! `cargo run --release -p bench --bin catalog [-- SECONDS ROUNDS]`
//!
//! `GET /api/sessions` through the real api (one instance, PostgreSQL)
//! beside nginx serving the very same bytes from a file, in the same run:
//! wrk with 2 threads and 64 connections, ROUNDS (default 3) rounds of
//! SECONDS (default 10) each side, in turn. Measured with 8 sessions and
//! with 10 000 (the first page of 100). Prints requests/s, p99 and the
//! ratio api/nginx. Goal: ratio ≥ 0.5; it exits non-zero when a request
//! fails or the goal is missed (with `BENCH_SMOKE=1`, only when a request
//! fails: the test command's smoke run).

use std::collections::HashMap;
use std::process::{Child, Command, ExitCode};

use api::config::Settings;
use api::startup::Application;
use chrono::Utc;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

#[path = "../support.rs"]
mod support;

const CONNECTIONS: usize = 64;

#[actix_web::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("catalog: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let mut it = std::env::args().skip(1);
    let seconds: u64 = it
        .next()
        .map_or(Ok(10), |s| s.parse().map_err(|_| format!("SECONDS: {s}")))?;
    let rounds: usize = it
        .next()
        .map_or(Ok(3), |s| s.parse().map_err(|_| format!("ROUNDS: {s}")))?;
    support::in_own_database(&support::admin_url(), |url| async move {
        bench(&url, seconds, rounds).await
    })
    .await
}

async fn bench(url: &str, seconds: u64, rounds: usize) -> Result<(), String> {
    let vars: HashMap<String, String> = [
        ("DATABASE_URL", url),
        ("BIND_ADDR", "127.0.0.1:0"),
        ("JWT_SECRET", "bench-secret-bench-secret-bench-secret"),
        ("DEMO_DATA", "false"),
        ("JOBS_ENABLED", "false"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_bench"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let settings = Settings::from_vars(&vars).map_err(|e| e.to_string())?;
    let app = Application::build(settings)
        .await
        .map_err(|e| e.to_string())?;
    let api_base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    actix_web::rt::spawn(app.run_until_stopped());
    let dir = std::env::temp_dir().join(format!("bench_catalog_{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let nginx = Nginx::start(&dir)?;
    let mut missed = Vec::new();
    for (sessions, total) in [(8, 8), (9_992, 10_000)] {
        insert_sessions(&state.db, sessions).await?;
        // Written behind the api's back: let it read them now.
        state.catalog.invalidate();
        // The api's bytes, served by nginx too.
        let body = reqwest::get(format!("{api_base}/api/sessions"))
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| e.to_string())?
            .bytes()
            .await
            .map_err(|e| e.to_string())?;
        std::fs::write(dir.join("sessions.json"), &body).map_err(|e| e.to_string())?;
        let (mut api, mut web) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            api.push(off_runtime(wrk, format!("{api_base}/api/sessions"), seconds).await?);
            web.push(off_runtime(wrk, format!("{}/api/sessions", nginx.base), seconds).await?);
        }
        let mean = |v: &[(f64, f64)]| v.iter().map(|r| r.0).sum::<f64>() / v.len() as f64;
        let worst = |v: &[(f64, f64)]| v.iter().map(|r| r.1).fold(0.0, f64::max);
        let ratio = mean(&api) / mean(&web);
        println!(
            "catalog, {total} sessions ({} bytes served), {CONNECTIONS} connections, {rounds} rounds of {seconds} s each side",
            body.len()
        );
        for (i, (a, w)) in api.iter().zip(&web).enumerate() {
            println!(
                "  round {}: api {:9.0} req/s, nginx {:9.0} req/s, ratio {:.2}",
                i + 1,
                a.0,
                w.0,
                a.0 / w.0
            );
        }
        println!(
            "  api {:9.0} req/s p99 {:.1} ms; nginx {:9.0} req/s p99 {:.1} ms; ratio {ratio:.2} (goal >= 0.50: {})",
            mean(&api),
            worst(&api),
            mean(&web),
            worst(&web),
            if ratio >= 0.5 { "met" } else { "not met" }
        );
        if ratio < 0.5 {
            missed.push(format!("{total} sessions: ratio {ratio:.2}"));
        }
    }
    drop(nginx);
    let _ = std::fs::remove_dir_all(&dir);
    // A smoke run (`BENCH_SMOKE=1`: a debug build for a second, in the
    // test command) checks that every request succeeds, not the speed.
    let smoke = std::env::var("BENCH_SMOKE").is_ok_and(|v| v == "1");
    if !missed.is_empty() && !smoke {
        return Err(format!("goal missed: {}", missed.join("; ")));
    }
    Ok(())
}

/// `n` more active, upcoming sessions, in one statement.
async fn insert_sessions(db: &sea_orm::DatabaseConnection, n: usize) -> Result<(), String> {
    let start = Utc::now().date_naive() + chrono::Duration::days(30);
    db.execute_unprepared(&format!(
        "INSERT INTO immersion_sessions (id, starts_on, ends_on, max_places, reserved_places, \
         status, closed_by_admin, location, price_cents, currency, description, is_active, \
         created_at, updated_at) \
         SELECT gen_random_uuid(), DATE '{start}' + (i % 700), DATE '{start}' + (i % 700) + 4, 8, 0, \
         'open', false, 'Paris', 199700, 'EUR', 'Cinq jours pour changer de cap.', true, now(), now() \
         FROM generate_series(1, {n}) i"
    ))
    .await
    .map_err(|e| e.to_string())?;
    Ok(())
}

/// Runs a blocking load generator on a thread of its own: the pool's
/// connections made on this runtime (setup) must keep being served while
/// it runs, or requests using them would wait for it.
async fn off_runtime<T: Send + 'static>(
    f: fn(&str, u64) -> Result<T, String>,
    url: String,
    seconds: u64,
) -> Result<T, String> {
    tokio::task::spawn_blocking(move || f(&url, seconds))
        .await
        .map_err(|e| e.to_string())?
}

/// Requests per second and p99 (ms) of one wrk run.
fn wrk(url: &str, seconds: u64) -> Result<(f64, f64), String> {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{seconds}s"),
            "--latency",
            url,
        ])
        .output()
        .map_err(|e| format!("wrk: {e} (apt-get install wrk)"))?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let total: f64 = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no request count in wrk output: {text}"))?;
    if text.contains("Non-2xx") {
        return Err(format!("errors in the run: {text}"));
    }
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(str::trim)
        .and_then(|raw| {
            let (v, unit) = raw.split_at(raw.find(|c: char| c.is_ascii_alphabetic())?);
            let v: f64 = v.parse().ok()?;
            Some(match unit {
                "us" => v / 1000.0,
                "s" => v * 1000.0,
                _ => v,
            })
        })
        .unwrap_or(0.0);
    Ok((total / seconds as f64, p99))
}

/// nginx serving `dir/sessions.json` at `/api/sessions`, as a child.
struct Nginx {
    child: Child,
    base: String,
}

impl Nginx {
    fn start(dir: &std::path::Path) -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let d = dir.display();
        let conf = format!(
            "worker_processes auto;\n\
             pid {d}/nginx.pid;\n\
             error_log {d}/error.log;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n\
               access_log off;\n\
               client_body_temp_path {d}/body;\n\
               proxy_temp_path {d}/proxy;\n\
               fastcgi_temp_path {d}/fastcgi;\n\
               uwsgi_temp_path {d}/uwsgi;\n\
               scgi_temp_path {d}/scgi;\n\
               server {{\n\
                 listen 127.0.0.1:{port};\n\
                 location = /api/sessions {{ default_type application/json; alias {d}/sessions.json; }}\n\
               }}\n\
             }}\n"
        );
        let file = dir.join("nginx.conf");
        std::fs::write(&file, conf).map_err(|e| e.to_string())?;
        let child = Command::new("nginx")
            .arg("-c")
            .arg(&file)
            .arg("-p")
            .arg(dir)
            .args(["-g", "daemon off;"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("nginx: {e} (apt-get install nginx-light)"))?;
        let base = format!("http://127.0.0.1:{port}");
        // Until it listens.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(Self { child, base });
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Err("nginx did not start".into())
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // TERM, not KILL: the master then stops its workers.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}
