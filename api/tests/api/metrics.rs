//! `GET /metrics`: guarded by `METRICS_TOKEN`, parsed by Prometheus's own
//! Python client, and moved by a hold, a webhook and a mail.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

use api::jobs::mail::{LogMailer, Measured, deliver_once};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TestApp, seat_checkout, spawn_app};

const TOKEN: &str = "metrics-token-for-tests-0123";

type Labels = Vec<(String, String)>;

/// One sample: its metric name and labels, and its value.
type Samples = HashMap<(String, Labels), f64>;

/// Scrapes `/metrics` and parses it with `prometheus_client` (Python), the
/// parser Prometheus's own project maintains: a format error fails here.
async fn scrape(app: &TestApp) -> Samples {
    let res = app
        .client
        .get(format!("{}/metrics", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    let text = res.text().await.unwrap();
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import sys, json\n\
             from prometheus_client.parser import text_string_to_metric_families\n\
             out = []\n\
             for f in text_string_to_metric_families(sys.stdin.read()):\n\
             \x20   for s in f.samples:\n\
             \x20       out.append([s.name, sorted(s.labels.items()), s.value])\n\
             print(json.dumps(out))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 with prometheus_client (pip install prometheus_client)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "not Prometheus text: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: Vec<(String, Labels, f64)> = serde_json::from_slice(&out.stdout).unwrap();
    parsed
        .into_iter()
        .map(|(name, labels, value)| ((name, labels), value))
        .collect()
}

/// The value of `name` with exactly `labels` (0 when absent).
fn value(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    labels.sort();
    samples
        .get(&(name.to_owned(), labels))
        .copied()
        .unwrap_or(0.0)
}

#[actix_web::test]
async fn metrics_answer_404_when_no_token_is_configured() {
    let app = spawn_app().await;
    let a = app.get("/metrics", None).await;
    a.assert_problem(404, "not_found");
    let res = app
        .client
        .get(format!("{}/metrics", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn metrics_are_refused_without_the_token() {
    let app = TestApp::builder().env("METRICS_TOKEN", TOKEN).spawn().await;
    app.get("/metrics", None)
        .await
        .assert_problem(401, "unauthorized");
    app.get("/metrics", Some("not-the-token-at-all-0000"))
        .await
        .assert_problem(401, "unauthorized");
}

#[actix_web::test]
async fn a_hold_a_webhook_and_a_mail_each_move_their_series() {
    let app = TestApp::builder().env("METRICS_TOKEN", TOKEN).spawn().await;
    let admin = app.admin_token().await;
    let session = app.create_session(&admin, json!({})).await;
    let sid = session["id"].as_str().unwrap();
    let before = scrape(&app).await;
    let seats = |s: &Samples, state: &str| {
        let starts = session["starts_on"].as_str().unwrap();
        value(
            s,
            "immersion_session_seats",
            &[("session", sid), ("starts_on", starts), ("state", state)],
        )
    };
    assert_eq!(seats(&before, "held"), 0.0);
    let taken = [("outcome", "taken"), ("reason", "")];
    let held_before = value(&before, "immersion_holds_total", &taken);

    // A hold.
    let (user_id, token) = app.quick_user("ines@example.com").await;
    let held = app.hold(sid, &token).await;
    let after_hold = scrape(&app).await;
    assert_eq!(
        value(&after_hold, "immersion_holds_total", &taken),
        held_before + 1.0
    );
    assert_eq!(seats(&after_hold, "held"), 1.0);
    let route = [
        ("route", "/api/sessions/{id}/checkout"),
        ("method", "POST"),
        ("status", "201"),
    ];
    assert_eq!(
        value(&after_hold, "immersion_http_requests_total", &route),
        1.0
    );
    // A second hold by the same user is refused, with its reason.
    let again = app.checkout(sid, &token).await;
    let reason = again.body["code"].as_str().unwrap().to_owned();
    let after_refusal = scrape(&app).await;
    assert_eq!(
        value(
            &after_refusal,
            "immersion_holds_total",
            &[("outcome", "refused"), ("reason", reason.as_str())]
        ),
        1.0
    );

    // A webhook: the payment confirms the seat.
    let event = crate::support::event(
        "checkout.session.completed",
        seat_checkout(&held, sid, &user_id, true),
    );
    let ack = app.deliver(&event).await;
    assert_eq!(ack.status, StatusCode::OK, "{}", ack.body);
    let after_webhook = scrape(&app).await;
    let confirmed = [
        ("type", "checkout.session.completed"),
        ("outcome", ack.body["outcome"].as_str().unwrap()),
    ];
    assert_eq!(
        value(&after_webhook, "immersion_webhook_events_total", &confirmed),
        1.0
    );
    assert_eq!(
        value(&after_webhook, "immersion_webhook_lag_seconds_count", &[]),
        value(&after_refusal, "immersion_webhook_lag_seconds_count", &[]) + 1.0
    );
    assert_eq!(seats(&after_webhook, "held"), 0.0);
    assert_eq!(seats(&after_webhook, "confirmed"), 1.0);
    // The confirmation mail waits in the outbox.
    let pending = value(&after_webhook, "immersion_mail_outbox_pending", &[]);
    assert!(pending >= 1.0, "{pending}");

    // A mail: the worker sends what waits.
    let mailer = Measured::new(Box::new(LogMailer), &app.state.metrics);
    let sent = deliver_once(&app.state.db, &mailer, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(sent as f64, pending);
    let after_mail = scrape(&app).await;
    assert_eq!(
        value(&after_mail, "immersion_mails_sent_total", &[]),
        value(&after_webhook, "immersion_mails_sent_total", &[]) + pending
    );
    assert_eq!(
        value(&after_mail, "immersion_mail_outbox_pending", &[]),
        0.0
    );
    assert_eq!(
        value(
            &after_mail,
            "immersion_mail_outbox_oldest_pending_age_seconds",
            &[]
        ),
        0.0
    );
    // The pool reports its connections.
    let pool = value(
        &after_mail,
        "immersion_db_pool_connections",
        &[("state", "idle")],
    ) + value(
        &after_mail,
        "immersion_db_pool_connections",
        &[("state", "in_use")],
    );
    assert!(pool >= 1.0);
}
