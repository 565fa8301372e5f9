//! `cargo run --release -p bench --bin booking_rush [-- [--sqlite] CLIENTS SECONDS ROUNDS [INSTANCES…]]`
//!
//! Holds per second through the real api (HTTP, auth, the hold
//! transaction) for CLIENTS concurrent clients on PostgreSQL, beside
//! pgbench running the same SQL transaction against the same database in
//! the same run: ROUNDS (default 3) rounds of SECONDS (default 10) each,
//! api and pgbench in turn. Prints both, the ratio, and the api's latency
//! percentiles. With `--sqlite`, the same on the embedded default (a
//! database file of its own), beside Debian's `sqlite3` shell running
//! the same statements on that file (`sqlite3.rs`). Each side's CPU time
//! per transaction is printed too, in its parts (`cpu.rs`).
//! Goal: ratio ≥ 0.75 and p99 < 500 ms at 256 clients; it exits non-zero when
//! a request fails or a goal is missed (with `BENCH_SMOKE=1`, only when a
//! request fails: the test command's smoke run).
//!
//! With INSTANCES (for example `1 2 3`), the same for 1, 2 and 3 api
//! instances on the one database, each with its own server and pool (the
//! 32 connections shared among them, as pgbench has 32), the clients
//! spread evenly over them (one wrk per instance). Goal: each of several
//! instances keeps at least 0.9× the single instance's ratio (without a
//! single instance in the run, the ratio goal above), p99 under 1 s.

use std::collections::HashMap;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use api::config::Settings;
use api::startup::Application;
use chrono::Utc;
use sea_orm::{ActiveValue::Set, EntityTrait};
use uuid::Uuid;

mod cpu;
mod pgbench;
mod sqlite3;
#[path = "../support.rs"]
mod support;

use pgbench::PgBench;
use sqlite3::Sqlite3;

/// Sessions to spread holds over; each (session, user) pair is used once.
const SESSIONS: usize = 400;
/// Users per api client: a client moves to its next user after SESSIONS holds.
const USERS_PER_CLIENT: usize = 8;
const JWT_SECRET: &str = "bench-secret-bench-secret-bench-secret";
/// The api's pool size; pgbench gets as many connections.
pub const DB_CONNECTIONS: usize = 32;
/// The goals a full run is held to (it exits non-zero when one is
/// missed): the api's holds per second against pgbench's transactions
/// per second on the same statements, and the worst round's p99.
const RATIO_GOAL: f64 = 0.75;
const P99_GOAL_MS: f64 = 500.0;
/// Several instances on the one database are held to keeping the single
/// instance's rate (`KEPT_GOAL`, as ratios to pgbench: more instances
/// cannot add throughput on two cores) and to a p99 under a second.
const KEPT_GOAL: f64 = 0.9;
const SEVERAL_P99_GOAL_MS: f64 = 1000.0;

/// The goals of a configuration of `instances`: the ratio to its baseline
/// and the worst round's p99. Several instances are held to the single
/// instance's ratio instead (`KEPT_GOAL`) when the run measures one
/// (`single_in_run`), else to the ratio goal too.
fn goals(instances: usize, single_in_run: bool) -> (Option<f64>, f64) {
    match (instances, single_in_run) {
        (1, _) => (Some(RATIO_GOAL), P99_GOAL_MS),
        (_, true) => (None, SEVERAL_P99_GOAL_MS),
        (_, false) => (Some(RATIO_GOAL), SEVERAL_P99_GOAL_MS),
    }
}

struct Args {
    /// On a SQLite file rather than PostgreSQL.
    sqlite: bool,
    /// `BENCH_SMOKE=1`: only that every request succeeds (the test
    /// command's run: a debug build, a few clients for a second).
    smoke: bool,
    clients: usize,
    seconds: u64,
    rounds: usize,
    /// How many api instances each configuration runs (default: one).
    instances: Vec<usize>,
    admin_url: String,
}

fn args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1).peekable();
    let sqlite = it.next_if(|a| a == "--sqlite").is_some();
    let clients = it
        .next()
        .map_or(Ok(256), |s| s.parse().map_err(|_| format!("CLIENTS: {s}")))?;
    let seconds = it
        .next()
        .map_or(Ok(10), |s| s.parse().map_err(|_| format!("SECONDS: {s}")))?;
    let rounds = it
        .next()
        .map_or(Ok(3), |s| s.parse().map_err(|_| format!("ROUNDS: {s}")))?;
    let mut instances = Vec::new();
    for s in it {
        match s.parse::<usize>() {
            Ok(n @ 1..=8) => instances.push(n),
            _ => return Err(format!("INSTANCES: 1 to 8, got {s}")),
        }
    }
    if instances.is_empty() {
        instances.push(1);
    }
    let most = instances.iter().copied().max().unwrap_or(1);
    if clients < most {
        return Err(format!(
            "CLIENTS: at least one per instance, got {clients} for {most} instances"
        ));
    }
    if sqlite && instances != [1] {
        return Err("--sqlite: one instance (the embedded database is one process's)".into());
    }
    if rounds == 0 || rounds * instances.len() > USERS_PER_CLIENT {
        return Err(format!(
            "ROUNDS × configurations: at most {USERS_PER_CLIENT} (each round uses fresh users)"
        ));
    }
    let admin_url = support::admin_url();
    Ok(Args {
        sqlite,
        smoke: std::env::var("BENCH_SMOKE").is_ok_and(|v| v == "1"),
        clients,
        seconds,
        rounds,
        instances,
        admin_url,
    })
}

#[actix_web::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("booking_rush: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let args = args()?;
    // With RUST_LOG (e.g. `error`), the api's own logs show why a request
    // failed; without it, nothing is logged, as logging would be measured.
    if std::env::var_os("RUST_LOG").is_some() {
        api::telemetry::init(api::config::LogFormat::Text);
    }
    let admin_url = args.admin_url.clone();
    let args = &args;
    if args.sqlite {
        let dir = std::env::temp_dir().join(format!("booking_rush_{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let url = format!("sqlite://{}?mode=rwc", dir.join("rush.db").display());
        let result = bench(args, &url).await;
        let _ = std::fs::remove_dir_all(&dir);
        return result;
    }
    support::in_own_database(&admin_url, |url| async move { bench(args, &url).await }).await
}

/// What the api is measured against: the database's own client running
/// the same statements on the same database, in the same run.
enum Baseline {
    Pg(PgBench, String),
    Sqlite(Sqlite3),
}

impl Baseline {
    fn name(&self) -> &'static str {
        match self {
            Self::Pg(..) => "pgbench",
            Self::Sqlite(_) => "sqlite3",
        }
    }

    /// Transactions per second over one round of `seconds`.
    fn run(&self, seconds: u64) -> Result<f64, String> {
        match self {
            Self::Pg(pg, url) => PgBench::run_file(&pg.file, url, seconds),
            Self::Sqlite(s) => s.run(seconds),
        }
    }

    fn remove(self) {
        if let Self::Pg(pg, _) = self {
            pg.remove();
        }
    }
}

/// Starts `n` api instances on `url`, sharing `DB_CONNECTIONS` among their
/// pools; answers their base URLs and a handle to stop each.
async fn start_instances(
    url: &str,
    n: usize,
) -> Result<(Vec<String>, Vec<actix_web::dev::ServerHandle>), String> {
    let pool = (DB_CONNECTIONS / n).max(1).to_string();
    let mut vars: HashMap<String, String> = [
        ("DATABASE_URL", url),
        ("BIND_ADDR", "127.0.0.1:0"),
        ("JWT_SECRET", JWT_SECRET),
        ("DEMO_DATA", "false"),
        ("JOBS_ENABLED", "false"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_bench"),
        // The load comes from one address with many users: the abuse
        // limits are not what is measured.
        ("SEAT_CHANGES_PER_IP_PER_HOUR", "1000000"),
        ("SEAT_CHANGES_PER_USER_PER_HOUR", "1000000"),
        ("HOLDS_PER_ADDRESS", "1000000"),
        // Saturation is what is measured: hundreds of clients queue for
        // the pool, as pgbench's do for theirs, rather than being shed
        // with 503 after the production default's second.
        ("DATABASE_ACQUIRE_TIMEOUT_MS", "30000"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    // On SQLite the pool keeps the api's own default: writes take turns.
    if url.starts_with("postgres") {
        vars.insert("DATABASE_MAX_CONNECTIONS".into(), pool);
    }
    let (mut bases, mut handles) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let settings = Settings::from_vars(&vars).map_err(|e| e.to_string())?;
        let app = Application::build(settings)
            .await
            .map_err(|e| e.to_string())?;
        bases.push(format!("http://127.0.0.1:{}", app.port()));
        handles.push(app.handle());
        actix_web::rt::spawn(app.run_until_stopped());
    }
    Ok((bases, handles))
}

async fn bench(args: &Args, url: &str) -> Result<(), String> {
    // Set up through a pool of its own (the instances measured start per
    // configuration, and close their pools when stopped).
    let setup = api::db::connect_with(
        url,
        api::db::Pool {
            max_connections: Some(4),
            ..api::db::Pool::default()
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    api::db::migrate(&setup).await.map_err(|e| e.to_string())?;
    let db = &setup;
    let signer = api::auth::token::Tokens::new(JWT_SECRET.as_bytes(), 60);
    // Sessions that never fill up, so every attempt is a real hold.
    let start = Utc::now().date_naive() + chrono::Duration::days(60);
    let mut session_ids = Vec::with_capacity(SESSIONS);
    for _ in 0..SESSIONS {
        let id = Uuid::new_v4();
        entity::immersion_sessions::Entity::insert(entity::immersion_sessions::ActiveModel {
            id: Set(id),
            starts_on: Set(start),
            ends_on: Set(start + chrono::Duration::days(4)),
            max_places: Set(10_000_000),
            reserved_places: Set(0),
            status: Set(common::sessions::SessionStatus::Open),
            closed_by_admin: Set(false),
            location: Set("Paris".into()),
            price_cents: Set(199_700),
            currency: Set("EUR".into()),
            description: Set(None),
            trainer: Set(None),
            half_day_minutes: Set(common::sessions::DEFAULT_HALF_DAY_MINUTES),
            is_active: Set(true),
            min_places: Set(None),
            decide_on: Set(None),
            decision: Set(None),
            decided_at: Set(None),
            created_at: Set(Utc::now()),
            updated_at: Set(Utc::now()),
        })
        .exec(db)
        .await
        .map_err(|e| e.to_string())?;
        session_ids.push(id);
    }
    let mut tokens = Vec::with_capacity(args.clients);
    for c in 0..args.clients {
        let mut mine = Vec::with_capacity(USERS_PER_CLIENT);
        for u in 0..USERS_PER_CLIENT {
            let user = api::domain::accounts::users::insert_user(
                db,
                &format!("client{c}-user{u}@bench.test"),
                "!".into(),
                common::auth::Role::User,
                common::auth::License::None,
            )
            .await
            .map_err(|e| e.to_string())?;
            // A verified address: an unverified account holds one seat
            // at a time, and each user here holds one per session.
            use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
            entity::users::Entity::update_many()
                .col_expr(
                    entity::users::Column::EmailVerifiedAt,
                    Expr::value(Utc::now()),
                )
                .filter(entity::users::Column::Id.eq(user.id))
                .exec(db)
                .await
                .map_err(|e| e.to_string())?;
            // Names come before a first booking (409 profile_incomplete).
            let names = common::profile::ProfilePatch {
                first_name: Some("Camille".into()),
                last_name: Some(format!("Client {c}-{u}")),
                ..Default::default()
            };
            api::domain::accounts::profiles::update(db, user.id, names)
                .await
                .map_err(|e| e.to_string())?;
            mine.push(
                api::domain::accounts::sign_ins::sign_in(db, &signer, user.id, Utc::now())
                    .await
                    .map_err(|e| e.to_string())?
                    .0,
            );
        }
        tokens.push(mine);
    }

    let use_wrk = std::env::var("BENCH_DRIVER").as_deref() != Ok("reqwest")
        && Command::new("wrk").arg("--version").output().is_ok();
    let driver = if use_wrk {
        "wrk, external, 2 threads in all"
    } else {
        "reqwest, in process"
    };
    let baseline = std::sync::Arc::new(if args.sqlite {
        let path = url
            .strip_prefix("sqlite://")
            .and_then(|p| p.split('?').next())
            .ok_or("not a SQLite URL")?;
        Baseline::Sqlite(Sqlite3::prepare(std::path::Path::new(path), &session_ids)?)
    } else {
        Baseline::Pg(PgBench::prepare(db, &session_ids).await?, url.to_owned())
    });
    let total_rounds = args.rounds * args.instances.len();
    let mut configurations = Vec::new();
    let mut failed = 0usize;
    let mut missed = Vec::new();
    for (c, &n) in args.instances.iter().enumerate() {
        let (bases, handles) = start_instances(url, n).await?;
        // The machine's speed drifts within a minute: short api and
        // pgbench rounds in turn see the same drift, and their totals are
        // compared.
        let (mut api_rounds, mut pg_rounds) = (Vec::new(), Vec::new());
        let (mut api_cpu, mut base_cpu) = (Vec::new(), Vec::new());
        for round in 0..args.rounds {
            let slice = Slice {
                round: c * args.rounds + round,
                rounds: total_rounds,
            };
            // wrk and pgbench run on a thread of their own: the pool's
            // connections made on this runtime (setup) must keep being
            // served while they run, or the requests using them wait.
            let before = cpu::sample();
            api_rounds.push(if use_wrk {
                let (bases, sessions, share) =
                    (bases.clone(), session_ids.clone(), slice.share(&tokens));
                let (clients, seconds) = (args.clients, args.seconds);
                tokio::task::spawn_blocking(move || {
                    wrk_load(&bases, &sessions, &share, clients, seconds)
                })
                .await
                .map_err(|e| e.to_string())??
            } else {
                reqwest_round(&bases, &session_ids, &tokens, args.seconds, slice).await
            });
            api_cpu.push(cpu::since(before));
            let (baseline, seconds) = (baseline.clone(), args.seconds);
            let before = cpu::sample();
            pg_rounds.push(
                tokio::task::spawn_blocking(move || baseline.run(seconds))
                    .await
                    .map_err(|e| e.to_string())??,
            );
            base_cpu.push(cpu::since(before));
        }
        for h in handles {
            h.stop(true).await;
        }
        let (ratio_goal, p99_goal) = goals(n, args.instances.contains(&1));
        let (ratio, p99) = report(
            args,
            (n, ratio_goal, p99_goal),
            (driver, baseline.name()),
            &api_rounds,
            &pg_rounds,
        );
        report_cpu(
            args,
            baseline.name(),
            (&api_rounds, &api_cpu),
            (&pg_rounds, &base_cpu),
        );
        if ratio_goal.is_some_and(|goal| ratio < goal) || p99 >= p99_goal {
            missed.push(format!(
                "{n} instance(s): ratio {ratio:.2}, p99 {p99:.0} ms"
            ));
        }
        configurations.push((n, ratio));
        failed += api_rounds.iter().map(|r| r.errors).sum::<usize>();
    }
    if let Ok(baseline) = std::sync::Arc::try_unwrap(baseline) {
        baseline.remove();
    }
    if let Some(&(_, single)) = configurations.iter().find(|(n, _)| *n == 1) {
        for &(n, ratio) in configurations.iter().filter(|(n, _)| *n > 1) {
            let kept = ratio / single;
            println!(
                "{n} instances keep {kept:.2}× the single instance's rate, as ratios to pgbench (goal >= {KEPT_GOAL:.2}: {})",
                if kept >= KEPT_GOAL { "met" } else { "not met" }
            );
            if kept < KEPT_GOAL {
                missed.push(format!("{n} instances keep {kept:.2}×"));
            }
        }
    }
    // A figure made of failed requests is no figure.
    if failed > 0 {
        return Err(format!("{failed} hold requests failed"));
    }
    // A smoke run (a debug build, a few clients for a second) checks that
    // every request succeeds, not the speed.
    if !missed.is_empty() && !args.smoke {
        return Err(format!("goals missed: {}", missed.join("; ")));
    }
    Ok(())
}

/// Prints one configuration's rounds against its goals (`goals`);
/// answers its api/pgbench ratio and its worst p99 (ms).
fn report(
    args: &Args,
    (instances, ratio_goal, p99_goal): (usize, Option<f64>, f64),
    (driver, baseline): (&str, &str),
    api_rounds: &[Round],
    base_rounds: &[f64],
) -> (f64, f64) {
    let n = api_rounds.len() as f64;
    let api_rate = api_rounds.iter().map(|r| r.rate).sum::<f64>() / n;
    let p50 = api_rounds.iter().map(|r| r.p50).sum::<f64>() / n;
    let p99 = api_rounds.iter().map(|r| r.p99).fold(0.0, f64::max);
    let errors: usize = api_rounds.iter().map(|r| r.errors).sum();
    let base_tps = base_rounds.iter().sum::<f64>() / n;
    let ratio = api_rate / base_tps;
    let database = if args.sqlite { "SQLite" } else { "PostgreSQL" };
    println!(
        "booking_rush on {database}, {instances} api instance(s), {} clients, {} rounds of {} s each side, in turn (load: {driver})",
        args.clients, args.rounds, args.seconds
    );
    for (i, (a, p)) in api_rounds.iter().zip(base_rounds).enumerate() {
        println!(
            "  round {}: api {:7.1} holds/s, {baseline} {p:7.1} tps, ratio {:.2}",
            i + 1,
            a.rate,
            a.rate / p
        );
    }
    println!(
        "  api      {api_rate:9.1} holds/s   p50 {p50:6.1} ms   p99 {p99:6.1} ms (worst round)   errors {errors}"
    );
    let connections = if args.sqlite {
        "one connection".to_owned()
    } else {
        format!("{DB_CONNECTIONS} connections")
    };
    println!("  {baseline}  {base_tps:9.1} tps       ({connections}, the same statements)");
    let met = |ok: bool| if ok { "met" } else { "not met" };
    let ratio_goal = match ratio_goal {
        Some(goal) => format!("goal >= {goal:.2}: {}", met(ratio >= goal)),
        None => format!("goal: keep the single instance's, >= {KEPT_GOAL:.2}× it"),
    };
    println!(
        "  ratio api/{baseline} {ratio:.2} ({ratio_goal}); p99 goal < {p99_goal} ms: {}",
        met(p99 < p99_goal)
    );
    (ratio, p99)
}

/// Prints the CPU time per transaction of each side, in its parts. The
/// load generator's (wrk; pgbench's client) is counted on its side, as it
/// shares the two cores too: the sums' ratio is the rate ratio the cores
/// would allow if nothing else waited.
fn report_cpu(
    args: &Args,
    baseline: &str,
    (api_rounds, api_cpu): (&[Round], &[cpu::Used]),
    (base_rounds, base_cpu): (&[f64], &[cpu::Used]),
) {
    let seconds = args.seconds as f64;
    let per = |cpu: &[cpu::Used], done: f64| cpu.iter().copied().sum::<cpu::Used>().per(done);
    let [api, wrk, api_server] = per(api_cpu, api_rounds.iter().map(|r| r.rate * seconds).sum());
    let [_, client, base_server] = per(base_cpu, base_rounds.iter().sum::<f64>() * seconds);
    // On SQLite a PostgreSQL running beside serves neither side.
    let server = |us: f64| (!args.sqlite).then_some(us);
    let (api_server, base_server) = (server(api_server), server(base_server));
    let (api_total, base_total) = (
        api + wrk + api_server.unwrap_or(0.0),
        client + base_server.unwrap_or(0.0),
    );
    let part = |us: Option<f64>| us.map_or_else(String::new, |us| format!(" + PostgreSQL {us:.0}"));
    println!(
        "  CPU per hold (µs): api {api:.0}{} + wrk {wrk:.0} = {api_total:.0}",
        part(api_server)
    );
    println!(
        "  CPU per transaction (µs): {baseline} {client:.0}{} = {base_total:.0}",
        part(base_server)
    );
    println!(
        "  CPU ratio {baseline}/api {:.2} (the rate ratio the two cores would allow)",
        base_total / api_total.max(f64::MIN_POSITIVE)
    );
}

/// Drives the api with wrk (a C load generator in its own process, so the
/// client does not take the server's CPU): `hold.lua` gives every request
/// its own (user, session) pair. One wrk per instance, each with its share
/// of the clients and of this round's users (`share`: each client's, from
/// `Slice::share`). Returns the rate, the mean p50, the worst p99 and the
/// errors.
fn wrk_load(
    bases: &[String],
    sessions: &[Uuid],
    tokens: &[Vec<String>],
    clients: usize,
    seconds: u64,
) -> Result<Round, String> {
    let n = bases.len();
    let threads = if n == 1 { 2 } else { 1 };
    let mut running = Vec::new();
    for (i, base) in bases.iter().enumerate() {
        // Client c's users go to instance c % n.
        let mine: Vec<String> = tokens
            .iter()
            .enumerate()
            .filter(|(c, _)| c % n == i)
            .flat_map(|(_, t)| t.iter().cloned())
            .collect();
        let dir =
            std::env::temp_dir().join(format!("booking_rush_wrk_{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let write = |name: &str, lines: Vec<String>| {
            std::fs::write(dir.join(name), lines.join("\n") + "\n").map_err(|e| e.to_string())
        };
        write("tokens.txt", mine)?;
        write(
            "sessions.txt",
            sessions.iter().map(Uuid::to_string).collect(),
        )?;
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("booking_rush/hold.lua");
        let child = Command::new("wrk")
            .args([
                &format!("-t{threads}"),
                &format!("-c{}", (clients / n).max(threads)),
                &format!("-d{seconds}s"),
                "--latency",
                "--timeout",
                "10s",
                "-s",
            ])
            .arg(&script)
            .arg(base)
            .env("BOOKING_RUSH_DIR", &dir)
            .env("BOOKING_RUSH_THREADS", threads.to_string())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("wrk: {e}"))?;
        running.push((child, dir));
    }
    let mut rounds = Vec::new();
    for (child, dir) in running {
        let out = child.wait_with_output().map_err(|e| format!("wrk: {e}"))?;
        let _ = std::fs::remove_dir_all(&dir);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if !out.status.success() {
            return Err(format!(
                "wrk failed: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        rounds.push(parse_wrk(&text, seconds)?);
    }
    let count = rounds.len() as f64;
    Ok(Round {
        rate: rounds.iter().map(|r| r.rate).sum(),
        p50: rounds.iter().map(|r| r.p50).sum::<f64>() / count,
        p99: rounds.iter().map(|r| r.p99).fold(0.0, f64::max),
        errors: rounds.iter().map(|r| r.errors).sum(),
    })
}

/// One wrk run's successful requests per second, p50, p99 and errors.
fn parse_wrk(text: &str, seconds: u64) -> Result<Round, String> {
    let number_after = |label: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.trim_end_matches(',').parse().ok())
    };
    let millis = |label: &str| -> Option<f64> {
        let raw = text
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))?
            .trim()
            .to_owned();
        let (value, unit) = raw.split_at(raw.find(|c: char| c.is_ascii_alphabetic())?);
        let v: f64 = value.parse().ok()?;
        Some(match unit {
            "us" => v / 1000.0,
            "ms" => v,
            "s" => v * 1000.0,
            _ => return None,
        })
    };
    let total = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| format!("no request count in wrk output: {text}"))?;
    let failed = number_after("Non-2xx or 3xx responses:").unwrap_or(0.0);
    Ok(Round {
        rate: (total - failed) / seconds as f64,
        p50: millis("50%").unwrap_or(0.0),
        p99: millis("99%").unwrap_or(0.0),
        errors: failed as usize,
    })
}

/// One round of api load.
struct Round {
    rate: f64,
    p50: f64,
    p99: f64,
    errors: usize,
}

/// Which part of the users a round may use.
#[derive(Clone, Copy)]
struct Slice {
    round: usize,
    rounds: usize,
}

impl Slice {
    /// Each client's users for this round: its own part of its own users,
    /// so that no (user, session) pair comes back in another round or
    /// configuration, however the clients are spread over instances and
    /// wrk threads (a pair used twice answers 409, counted as an error).
    fn share(self, tokens: &[Vec<String>]) -> Vec<Vec<String>> {
        tokens
            .iter()
            .map(|mine| {
                let (from, to) = (
                    self.round * mine.len() / self.rounds,
                    (self.round + 1) * mine.len() / self.rounds,
                );
                mine[from..to].to_vec()
            })
            .collect()
    }
}

/// One round with the in-process client: each client uses its own share
/// of its users for this round.
async fn reqwest_round(
    bases: &[String],
    sessions: &[Uuid],
    tokens: &[Vec<String>],
    seconds: u64,
    slice: Slice,
) -> Round {
    let share = slice.share(tokens);
    let (holds, latencies, errors) =
        api_load(bases, sessions, share, Duration::from_secs(seconds)).await;
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[i].as_secs_f64() * 1000.0
    };
    Round {
        rate: holds as f64 / seconds as f64,
        p50: pct(0.50),
        p99: pct(0.99),
        errors,
    }
}

/// Every client holds seats back to back until the time is up.
async fn api_load(
    bases: &[String],
    sessions: &[Uuid],
    tokens: Vec<Vec<String>>,
    length: Duration,
) -> (usize, Vec<Duration>, usize) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .unwrap_or_default();
    let deadline = Instant::now() + length;
    let mut set = tokio::task::JoinSet::new();
    for (c, mine) in tokens.into_iter().enumerate() {
        let base = bases[c % bases.len()].clone();
        let (client, sessions) = (client.clone(), sessions.to_vec());
        set.spawn(async move {
            let (mut ok, mut errors, mut lat) = (0usize, 0usize, Vec::new());
            let mut j = 0usize;
            while Instant::now() < deadline {
                let (user, session) = (j / sessions.len(), sessions[j % sessions.len()]);
                let Some(token) = mine.get(user) else { break };
                j += 1;
                let t0 = Instant::now();
                let res = client
                    .post(format!("{base}/api/sessions/{session}/checkout"))
                    .bearer_auth(token)
                    .send()
                    .await;
                lat.push(t0.elapsed());
                match res {
                    Ok(r) if r.status().as_u16() == 201 => ok += 1,
                    _ => errors += 1,
                }
            }
            (ok, errors, lat)
        });
    }
    let mut holds = 0;
    let mut errors = 0;
    let mut latencies = Vec::new();
    for (ok, err, lat) in set.join_all().await {
        holds += ok;
        errors += err;
        latencies.extend(lat);
    }
    latencies.sort();
    (holds, latencies, errors)
}
