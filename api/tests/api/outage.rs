//! A database outage (issue 27), against PostgreSQL run as a private
//! cluster that this test starts and stops itself: `initdb` and `pg_ctl`
//! on a port of its own, never the machine's shared server.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::support::{Answer, TestApp};

/// A PostgreSQL cluster of the test's own, removed with it.
struct Cluster {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
}

impl Cluster {
    /// A new cluster (trust auth), started.
    fn start() -> Self {
        let out = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .expect("pg_config (the PostgreSQL server's binaries)");
        let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        let dir = std::env::temp_dir().join(format!("immersion-pg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Self { dir, port, bin };
        if is_root() {
            // PostgreSQL refuses to run as root: its own user owns the files.
            let chown = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&cluster.dir)
                .status();
            assert!(chown.unwrap().success(), "chown to postgres");
        }
        let data = cluster.data();
        cluster.run(
            "initdb",
            &["-D", &data, "-U", "postgres", "--auth=trust", "--no-sync"],
        );
        cluster.resume();
        cluster
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// Runs one of the server's tools, as `postgres` when we are root.
    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd.args(args).output().expect(tool);
        assert!(
            out.status.success(),
            "{tool}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server and waits until it accepts connections.
    fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server (fast: sessions are cut, as in a crash or failover).
    fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let exe = self.bin.join("pg_ctl");
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let _ = cmd.args(["-D", &data, "-m", "immediate", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// What the outage answered one request, and how long it took.
async fn timed(answer: impl std::future::Future<Output = Answer>) -> (Answer, Duration) {
    let started = Instant::now();
    let a = answer.await;
    (a, started.elapsed())
}

/// `GET /api/me` from eight clients at once.
async fn eight_at_once(app: &std::sync::Arc<TestApp>, token: &str) -> Vec<(Answer, Duration)> {
    let mut asked = Vec::new();
    for _ in 0..8 {
        let (app, token) = (app.clone(), token.to_owned());
        asked.push(tokio::spawn(async move {
            timed(app.get("/api/me", Some(&token))).await
        }));
    }
    let mut answers = Vec::new();
    for a in asked {
        answers.push(a.await.unwrap());
    }
    answers
}

/// With the database stopped, every kind of request answers 503 with
/// `Retry-After` within 2 s, also eight at once; once it is back, the
/// next 30 requests answer, none of them a 500 (stale pooled connections
/// are tested before use), and the audit is clean. It used to answer 500
/// during the outage and on the first request per stale connection, and
/// each 503 waited out a 10 s pool timeout.
#[actix_web::test]
async fn a_database_outage_answers_503_at_once_and_recovers_without_a_500() {
    let cluster = Cluster::start();
    let app = std::sync::Arc::new(
        TestApp::builder()
            .env("DATABASE_URL", &cluster.url())
            .env("DATABASE_MAX_CONNECTIONS", "8")
            .spawn()
            .await,
    );
    let admin = app.admin_token().await;
    let session = app.create_session(&admin, serde_json::json!({})).await;
    let session_id = session["id"].as_str().unwrap().to_owned();
    let (_, token) = app.quick_user("marie@example.com").await;
    // Every pooled connection has been used before the outage.
    for (a, _) in eight_at_once(&app, &token).await {
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    }

    cluster.stop();
    let mut answers = eight_at_once(&app, &token).await;
    answers.push(timed(app.checkout(&session_id, &token)).await);
    answers.push(timed(app.get("/ready", None)).await);
    for (a, took) in &answers {
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.body);
        assert_eq!(a.body["code"], "service_unavailable");
        assert!(a.headers.contains_key("retry-after"), "{:?}", a.headers);
        assert!(*took < Duration::from_secs(2), "answered in {took:?}");
    }
    assert!(app.state.metrics.database_unreachable.get() >= 9);

    cluster.resume();
    for i in 0..30 {
        let a = app.get("/api/me", Some(&token)).await;
        assert_eq!(a.status, StatusCode::OK, "request {i}: {}", a.body);
    }
    assert_eq!(app.get("/ready", None).await.status, StatusCode::OK);
    assert_eq!(app.audit().await, Vec::<String>::new());
}
