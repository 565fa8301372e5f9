//! Several api processes (the real binary) on one database, as behind a
//! load balancer: seats sold once, throttles counted together, each job
//! once per tick, and nothing lost when an instance is killed or stopped.
//! The multi-instance tests need PostgreSQL (`TEST_DATABASE_URL`); the
//! SIGTERM test runs on both databases.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{ADMIN_EMAIL, TestApp, WEBHOOK_SECRET, buyers, seat_checkout, spawn_app};
use entity::immersion_bookings as bookings;

const METRICS_TOKEN: &str = "metrics-token-for-instances";

fn on_postgres() -> bool {
    std::env::var("TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres"))
}

/// One `immersion serve` process; killed when dropped.
pub struct Instance {
    child: Child,
    pub base: String,
    /// Its JSON log lines, as they come.
    logs: Arc<Mutex<Vec<Value>>>,
}

impl Instance {
    pub async fn start(database_url: &str, extra: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_immersion"));
        cmd.args(["serve", "--no-demo"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("JWT_SECRET", "test-secret-test-secret-test-secret-42")
            .env("ADMIN_EMAILS", ADMIN_EMAIL)
            .env("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info,sqlx=warn,sea_orm=warn")
            .env("WEB_DIST", "no-web-build-here")
            .env("METRICS_TOKEN", METRICS_TOKEN)
            .env("SWEEP_INTERVAL_SECONDS", "1")
            .env("MAIL_INTERVAL_SECONDS", "1")
            .env("SEAT_CHANGES_PER_IP_PER_HOUR", "100000")
            // Every buyer here shares 127.0.0.1, and 210 of them arrive at
            // once on a debug build: seats are what is tested, so they
            // queue for the pool rather than being shed with 503.
            .env("HOLDS_PER_ADDRESS", "1000000")
            .env("DATABASE_ACQUIRE_TIMEOUT_MS", "30000")
            // Three instances and the test's own pool, with other tests
            // running: well below PostgreSQL's 100 connections.
            .env("DATABASE_MAX_CONNECTIONS", "8")
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("immersion starts");
        let stdout = child.stdout.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if v["fields"]["message"] == "listening" {
                    let _ = port_tx.send(v["fields"]["port"].as_u64().unwrap_or(0));
                }
                sink.lock().unwrap().push(v);
            }
        });
        let port =
            tokio::task::spawn_blocking(move || port_rx.recv_timeout(Duration::from_secs(60)))
                .await
                .unwrap()
                .expect("the instance says it listens");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            logs,
        }
    }

    /// Log lines whose message is `message`.
    fn logged(&self, message: &str) -> Vec<Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .filter(|v| v["fields"]["message"] == message)
            .cloned()
            .collect()
    }

    /// `immersion_job_runs_total{job}` as this instance reports it.
    async fn job_runs(&self, job: &str) -> f64 {
        let text = reqwest::Client::new()
            .get(format!("{}/metrics", self.base))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let series = format!("immersion_job_runs_total{{job=\"{job}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(series.as_str()))
            .map_or(0.0, |v| v.trim().parse().unwrap())
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a buyer got back: an answer, or a broken connection.
#[derive(Debug)]
enum Outcome {
    Answered(StatusCode, Value),
    Broken(String),
}

/// Every buyer asks `bases[i % n]` for a seat at once; each outcome is
/// also sent on `done` as it arrives.
fn rush(
    bases: &[String],
    sid: &str,
    buyers: &[(Uuid, String)],
    done: tokio::sync::mpsc::UnboundedSender<()>,
) -> tokio::task::JoinSet<(Uuid, Outcome)> {
    let client = reqwest::Client::new();
    let mut set = tokio::task::JoinSet::new();
    for (i, (user, token)) in buyers.iter().enumerate() {
        let url = format!("{}/api/sessions/{sid}/checkout", bases[i % bases.len()]);
        let (client, token, user, done) = (client.clone(), token.clone(), *user, done.clone());
        set.spawn(async move {
            let outcome = match client.post(url).bearer_auth(token).send().await {
                Ok(res) => {
                    let status = res.status();
                    match res.bytes().await {
                        Ok(body) => Outcome::Answered(
                            status,
                            serde_json::from_slice(&body).unwrap_or(Value::Null),
                        ),
                        Err(e) => Outcome::Broken(e.to_string()),
                    }
                }
                Err(e) => Outcome::Broken(e.to_string()),
            };
            let _ = done.send(());
            (user, outcome)
        });
    }
    set
}

/// Polls `check` every 100 ms until it holds, for at most `within`.
async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn bookings_of(app: &TestApp, sid: &str) -> Vec<bookings::Model> {
    bookings::Entity::find()
        .filter(bookings::Column::SessionId.eq(sid.parse::<Uuid>().unwrap()))
        .all(&app.state.db)
        .await
        .unwrap()
}

/// Moves every hold of `sid` past its end (and the sweeper's grace).
async fn lapse_holds(app: &TestApp, sid: &str) {
    bookings::Entity::update_many()
        .col_expr(
            bookings::Column::HoldExpiresAt,
            Expr::value(Utc::now() - chrono::Duration::hours(1)),
        )
        .filter(bookings::Column::SessionId.eq(sid.parse::<Uuid>().unwrap()))
        .filter(bookings::Column::Status.eq("held"))
        .exec(&app.state.db)
        .await
        .unwrap();
}

/// Posts a signed event to `base`'s webhook endpoint.
async fn deliver(base: &str, event: &Value) -> Result<StatusCode, reqwest::Error> {
    let body = serde_json::to_vec(event).unwrap();
    let header =
        api::payments::stripe::signature::sign(&body, WEBHOOK_SECRET, Utc::now().timestamp());
    reqwest::Client::new()
        .post(format!("{base}/api/webhooks/stripe"))
        .header("content-type", "application/json")
        .header("Stripe-Signature", header)
        .body(body)
        .send()
        .await
        .map(|r| r.status())
}

#[actix_web::test]
async fn three_instances_sell_each_seat_once_share_throttles_and_run_each_job_once() {
    if !on_postgres() {
        eprintln!("skipped: several instances need PostgreSQL (TEST_DATABASE_URL)");
        return;
    }
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({"max_places": 5})).await;
    let sid = s["id"].as_str().unwrap().to_owned();
    let buyers = buyers(&app, "buyer", 210).await;
    let started = Instant::now();
    let limits = [("LOGIN_MAX_PER_IP", "6")];
    let instances = [
        Instance::start(&app.database_url, &limits).await,
        Instance::start(&app.database_url, &limits).await,
        Instance::start(&app.database_url, &limits).await,
    ];
    let bases: Vec<String> = instances.iter().map(|i| i.base.clone()).collect();

    // 210 buyers for 5 seats, spread over the 3 instances.
    let (done, _) = tokio::sync::mpsc::unbounded_channel();
    let outcomes = rush(&bases, &sid, &buyers, done).join_all().await;
    let won = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Answered(StatusCode::CREATED, _)))
        .count();
    let full = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Answered(StatusCode::CONFLICT, b) if b["code"] == "session_full"))
        .count();
    assert_eq!((won, full), (5, 205), "{outcomes:?}");
    assert_eq!(app.session_row(&sid).await.reserved_places, 5);
    assert_eq!(app.audit().await, Vec::<String>::new());
    // Each instance's catalog shows it within a second (its cache of the
    // catalog is stale by at most that for writes made elsewhere).
    for base in &bases {
        let deadline = Instant::now() + Duration::from_millis(1500);
        eventually(Duration::from_secs(2), "the catalog to show it", || async {
            let list: Value = reqwest::get(format!("{base}/api/sessions"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            list[0]["available_places"] == 0
        })
        .await;
        assert!(Instant::now() < deadline, "{base}: stale for over a second");
    }

    // The per-address login limit (6) counts the attempts made on all
    // three together: 3 rounds over the 3 instances, 9 attempts.
    let from = reqwest::Client::builder()
        .local_address("127.0.0.3".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let mut statuses = Vec::new();
    for round in 0..3 {
        for (n, base) in bases.iter().enumerate() {
            // A new account each time: only the per-address limit applies.
            let email = format!("nobody{round}{n}@example.com");
            let res = from
                .post(format!("{base}/api/auth/login"))
                .json(&json!({"email": email, "password": "wrong password!"}))
                .send()
                .await
                .unwrap();
            statuses.push(res.status().as_u16());
        }
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 401, 429, 429, 429]);

    // A mail is sent once, by one of the three mail workers.
    let recipient = format!("once-{}@example.com", Uuid::new_v4().simple());
    api::domain::platform::mail::queue(&app.state.db, &recipient, "Sujet".into(), "Corps".into())
        .await
        .unwrap();
    eventually(Duration::from_secs(30), "the mail to be sent", || async {
        app.mails_to(&recipient).await[0].status == "sent"
    })
    .await;
    let sends = || -> usize {
        instances
            .iter()
            .map(|i| {
                i.logged("mail (no SMTP_URL: logged, not sent)")
                    .iter()
                    .filter(|v| v["fields"]["to"] == recipient.as_str())
                    .count()
            })
            .sum()
    };
    // Log lines are read on their own threads: wait for the first.
    eventually(Duration::from_secs(10), "the mail's log line", || async {
        sends() >= 1
    })
    .await;

    // Each lapsed hold is expired once, by one of the three sweepers.
    lapse_holds(&app, &sid).await;
    eventually(Duration::from_secs(30), "the holds to be swept", || async {
        app.session_row(&sid).await.reserved_places == 0
    })
    .await;
    let expired = || -> u64 {
        instances
            .iter()
            .flat_map(|i| i.logged("lapsed holds expired"))
            .map(|v| v["fields"]["expired"].as_u64().unwrap())
            .sum()
    };
    eventually(Duration::from_secs(10), "the sweeps' log lines", || async {
        expired() >= 5
    })
    .await;
    // The Checkout Sessions the sweeps owe Stripe are expired after their
    // commits, by the sweeper or the owed-calls job: awaited, then clean.
    eventually(
        Duration::from_secs(30),
        "the owed calls to be made",
        || async { app.audit().await.is_empty() },
    )
    .await;
    assert_eq!(app.audit().await, Vec::<String>::new());

    // Once each, two sweeper and mail ticks later still.
    let runs = |job: &'static str| {
        let instances = &instances;
        async move {
            let mut n = 0.0;
            for i in instances {
                n += i.job_runs(job).await;
            }
            n
        }
    };
    let (sweeps, mails) = (runs("sweeper").await, runs("mail").await);
    eventually(Duration::from_secs(10), "two more ticks", || async {
        runs("sweeper").await >= sweeps + 2.0 && runs("mail").await >= mails + 2.0
    })
    .await;
    assert_eq!(sends(), 1);
    assert_eq!(expired(), 5);

    // One sweeper and one mail worker per tick (1 s) across the three:
    // without the lease, three times as many. The bound sits halfway, as
    // each instance's ticks drift on a loaded machine (9 runs in 5.8 s
    // were seen once; three times as many would be 17).
    let elapsed = started.elapsed().as_secs_f64();
    for job in ["sweeper", "mail"] {
        let runs = runs(job).await;
        assert!(
            runs >= 1.0 && runs <= elapsed * 1.5 + 2.0,
            "{job}: {runs} runs in {elapsed:.1} s"
        );
    }
}

#[actix_web::test]
async fn kill_9_mid_rush_then_restart_loses_no_seat_and_no_payment() {
    if !on_postgres() {
        eprintln!("skipped: several instances need PostgreSQL (TEST_DATABASE_URL)");
        return;
    }
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({"max_places": 40})).await;
    let sid = s["id"].as_str().unwrap().to_owned();
    let buyers = buyers(&app, "buyer", 240).await;
    let mut instances = [
        Instance::start(&app.database_url, &[]).await,
        Instance::start(&app.database_url, &[]).await,
        Instance::start(&app.database_url, &[]).await,
    ];
    let bases: Vec<String> = instances.iter().map(|i| i.base.clone()).collect();

    let (done, mut arrived) = tokio::sync::mpsc::unbounded_channel();
    let set = rush(&bases, &sid, &buyers, done);
    for _ in 0..30 {
        arrived.recv().await.unwrap();
    }
    // kill -9 of the second instance, in the middle of the rush.
    instances[1].child.kill().unwrap();
    instances[1].child.wait().unwrap();
    let outcomes = set.join_all().await;
    let broken: Vec<&str> = outcomes
        .iter()
        .filter_map(|(_, o)| match o {
            Outcome::Broken(why) => Some(why.as_str()),
            Outcome::Answered(..) => None,
        })
        .collect();
    eprintln!(
        "{} requests broken by the kill, first: {:?}",
        broken.len(),
        broken.first()
    );

    // Every hold answered is paid. A delivery to the dead instance fails
    // and, as Stripe does, is retried on another.
    let mut paid = 0;
    for (i, (user, outcome)) in outcomes.iter().enumerate() {
        let Outcome::Answered(StatusCode::CREATED, held) = outcome else {
            continue;
        };
        let event = crate::support::event(
            "checkout.session.completed",
            seat_checkout(held, &sid, user, true),
        );
        let first = deliver(&bases[i % 3], &event).await;
        if !matches!(first, Ok(StatusCode::OK)) {
            assert_eq!(deliver(&bases[0], &event).await.unwrap(), StatusCode::OK);
        }
        paid += 1;
    }
    // The killed instance comes back.
    instances[1] = Instance::start(&app.database_url, &[]).await;

    // Holds nobody was told about (the instance died first), some maybe
    // without their Checkout Session recorded, are released by a sweeper.
    lapse_holds(&app, &sid).await;
    // The killed instance may have died holding the sweeper's lease: it
    // lapses 31 s after its claim.
    eventually(
        Duration::from_secs(90),
        "the lapsed holds to be swept",
        || async {
            bookings_of(&app, &sid)
                .await
                .iter()
                .all(|b| b.status != "held")
        },
    )
    .await;
    let rows = bookings_of(&app, &sid).await;
    let confirmed = rows.iter().filter(|b| b.status == "confirmed").count();
    assert_eq!(confirmed, paid, "a confirmed payment was lost");
    assert_eq!(app.session_row(&sid).await.reserved_places as usize, paid);
    assert!(paid <= 40);
    for b in &rows {
        if b.stripe_checkout_session_id.is_none() {
            assert_eq!(b.status, "expired", "half-made hold {} not released", b.id);
        }
    }
    assert_eq!(app.audit().await, Vec::<String>::new());
}

#[actix_web::test]
async fn sigterm_during_a_rush_answers_every_request_it_took() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({"max_places": 60})).await;
    let sid = s["id"].as_str().unwrap().to_owned();
    let buyers = buyers(&app, "buyer", 120).await;
    let mut instance = Instance::start(&app.database_url, &[]).await;

    let (done, mut arrived) = tokio::sync::mpsc::unbounded_channel();
    let set = rush(std::slice::from_ref(&instance.base), &sid, &buyers, done);
    arrived.recv().await.unwrap();
    instance.signal("-TERM");
    let outcomes = set.join_all().await;
    let exit = tokio::task::spawn_blocking(move || {
        let status = instance.child.wait().unwrap();
        (status, instance)
    })
    .await
    .unwrap();
    assert!(exit.0.success(), "exit status {:?}", exit.0);
    assert_eq!(exit.1.logged("stopped").len(), 1);

    // A seat taken is a seat whose buyer got the answer; none half-made.
    let rows = bookings_of(&app, &sid).await;
    for (user, outcome) in &outcomes {
        let booked = rows.iter().any(|b| b.user_id == *user);
        let told = matches!(outcome, Outcome::Answered(StatusCode::CREATED, _));
        assert_eq!(booked, told, "user {user}: {outcome:?}");
    }
    assert!(rows.iter().all(|b| b.stripe_checkout_session_id.is_some()));
    assert_eq!(app.audit().await, Vec::<String>::new());
}

/// The holds and cancels an instance counted in its own tally (added to
/// the shared counters every second) reach the database when it stops
/// cleanly: the next instance counts on from them.
#[actix_web::test]
async fn seat_counts_survive_a_clean_stop() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let mut sids = Vec::new();
    for _ in 0..3 {
        let s = app.create_session(&admin, json!({})).await;
        sids.push(s["id"].as_str().unwrap().to_owned());
    }
    let (_, token) = app.quick_user("counted@example.com").await;
    let limits = [
        ("SEAT_CHANGES_PER_USER_PER_HOUR", "3"),
        ("HOLD_COOLDOWN_MINUTES", "0"),
    ];
    let client = reqwest::Client::new();
    let hold = |base: String, sid: String| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            let res = client
                .post(format!("{base}/api/sessions/{sid}/checkout"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (res.status(), res.json::<Value>().await.unwrap())
        }
    };
    // Two changes on the first instance: a hold, and its cancel.
    let first = Instance::start(&app.database_url, &limits).await;
    let (status, held) = hold(first.base.clone(), sids[0].clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    let cancelled = client
        .post(format!(
            "{}/api/bookings/{}/cancel",
            first.base,
            held["booking_id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), StatusCode::OK);
    first.signal("-TERM");
    let (status, _first) = tokio::task::spawn_blocking(move || {
        let mut first = first;
        (first.child.wait().unwrap(), first)
    })
    .await
    .unwrap();
    assert!(status.success(), "{status:?}");

    let second = Instance::start(&app.database_url, &limits).await;
    let (status, body) = hold(second.base.clone(), sids[1].clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The fourth change of the hour, whichever instance counted the others.
    let (status, body) = hold(second.base.clone(), sids[2].clone()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
}

/// A log collector that dies leaves the server's standard output and
/// error a broken pipe. SIGTERM still stops it: a failed log write used to
/// be reported on standard error, and that report, failing too, panicked
/// the task that logged — the signal's own, so the server ran on.
#[actix_web::test]
async fn sigterm_stops_the_server_after_its_log_reader_has_gone() {
    let app = spawn_app().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_immersion"))
        .args(["serve", "--no-demo"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.database_url)
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("JWT_SECRET", "test-secret-test-secret-test-secret-42")
        .env("LOG_FORMAT", "json")
        .env("WEB_DIST", "no-web-build-here")
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let mut port = 0;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        let v: Value = serde_json::from_str(&line).unwrap_or_default();
        if v["fields"]["message"] == "listening" {
            port = v["fields"]["port"].as_u64().unwrap();
            break;
        }
    }
    // Both pipes closed: the reader has gone.
    drop(stderr);
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..3 {
        // Each logs a line that can no longer be written.
        let res = reqwest::get(format!("{base}/api/nothing-here"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
    let pid = child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let waited = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::task::spawn_blocking(move || {
            let status = child.wait();
            (status, child)
        }),
    )
    .await;
    match waited {
        Ok(done) => assert!(done.unwrap().0.unwrap().success()),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            panic!("SIGTERM did not stop the server within 20 s");
        }
    }
}
