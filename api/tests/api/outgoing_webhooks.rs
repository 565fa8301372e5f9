//! Outgoing webhooks, received by a server of the test's and verified by
//! `standardwebhooks`, the specification's own Python library (not ours):
//! in order, retried with the same id, signed with both secrets while one
//! is rotated out, never sent to a private address unless allowed, and
//! not lost when the api dies between the commit and the delivery.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use chrono::Utc;
use common::events::EventType;
use common::webhooks::{DeliveryStatus, WebhookDeliveryDto, WebhookEndpointWithSecret};
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::support::{TestApp, paid_seat, spawn_app};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A webhook receiver on 127.0.0.1: it keeps what it gets and answers
/// the statuses queued (then 200).
#[derive(Clone)]
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    statuses: Arc<Mutex<Vec<u16>>>,
    arrived: Arc<tokio::sync::Notify>,
}

impl Receiver {
    async fn start() -> Self {
        let got = Arc::new(Mutex::new(Vec::new()));
        let statuses = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(tokio::sync::Notify::new());
        let (g, s, a) = (got.clone(), statuses.clone(), arrived.clone());
        let server = HttpServer::new(move || {
            let (g, s, a) = (g.clone(), s.clone(), a.clone());
            App::new().default_service(web::to(move |req: HttpRequest, body: String| {
                let (g, s, a) = (g.clone(), s.clone(), a.clone());
                async move {
                    let headers = req
                        .headers()
                        .iter()
                        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
                        .collect();
                    g.lock().unwrap().push(Received { headers, body });
                    a.notify_waiters();
                    let status = {
                        let mut queued = s.lock().unwrap();
                        if queued.is_empty() {
                            200
                        } else {
                            queued.remove(0)
                        }
                    };
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                        .body("thanks")
                }
            }))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        actix_web::rt::spawn(server.run());
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            got,
            statuses,
            arrived,
        }
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

/// How many of `got` the specification's library accepts with `secret`.
fn verified_by_the_reference_library(secret: &str, got: &[Received]) -> usize {
    let items: Vec<Value> = got
        .iter()
        .map(|r| {
            json!({
                "body": r.body,
                "headers": {
                    "webhook-id": r.header("webhook-id"),
                    "webhook-timestamp": r.header("webhook-timestamp"),
                    "webhook-signature": r.header("webhook-signature"),
                }
            })
        })
        .collect();
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
secret, items = sys.argv[1], json.loads(sys.stdin.read())
ok = 0
for item in items:
    try:
        Webhook(secret).verify(item["body"], item["headers"])
        ok += 1
    except Exception as e:
        print("refused:", e, file=sys.stderr)
print(ok)
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script, secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&items).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the standardwebhooks library is missing"
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

async fn register(
    app: &TestApp,
    admin: &str,
    url: &str,
    types: &[&str],
) -> WebhookEndpointWithSecret {
    let a = app
        .post(
            "/api/admin/webhook-endpoints",
            Some(admin),
            json!({"url": url, "event_types": types}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let created: WebhookEndpointWithSecret = a.ok();
    assert!(created.secret.starts_with("whsec_"));
    created
}

async fn tick(app: &TestApp) {
    api::jobs::webhooks::tick(&app.state, Utc::now()).await;
}

#[actix_web::test]
async fn one_seat_s_life_reaches_the_receiver_in_order_and_verifies() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    let types = [
        "booking.held",
        "booking.confirmed",
        "booking.cancelled",
        "booking.refunded",
    ];
    let endpoint = register(&app, &admin, &receiver.url, &types).await;
    let s = app.create_session(&admin, json!({})).await;
    let sid = s["id"].as_str().unwrap().to_owned();
    let paid = paid_seat(&app, &sid, "buyer@example.com").await;
    app.cancel(paid.booking(), &paid.token).await;
    tick(&app).await;

    let got = receiver.got();
    let kinds: Vec<String> = got
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds[..2],
        ["booking.held", "booking.confirmed"],
        "{kinds:?}"
    );
    assert!(
        kinds[2] == "booking.cancelled" || kinds[2] == "booking.refunded",
        "{kinds:?}"
    );
    for r in &got {
        assert_eq!(r.json()["data"]["id"], paid.booking());
        assert!(r.header("webhook-id").starts_with("msg_"));
    }
    assert_eq!(
        verified_by_the_reference_library(&endpoint.secret, &got),
        got.len()
    );
    // A tampered body or another secret is refused by the same library.
    let mut tampered = got[0].clone();
    tampered.body = tampered.body.replace("held", "paid");
    assert_eq!(
        verified_by_the_reference_library(&endpoint.secret, &[tampered]),
        0
    );
    assert_eq!(
        verified_by_the_reference_library("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &got),
        0
    );
    // The feed has the same events, in the same order.
    let feed: Vec<common::events::EventDto> = app
        .get(
            &format!("/api/events?types={}", types.join(",")),
            Some(&admin),
        )
        .await
        .ok();
    let feed_ids: Vec<String> = feed
        .iter()
        .map(|e| format!("msg_{}", e.id.simple()))
        .collect();
    let sent_ids: Vec<String> = got
        .iter()
        .map(|r| r.header("webhook-id").to_owned())
        .collect();
    assert_eq!(feed_ids, sent_ids);
    // Nothing twice: another tick sends nothing.
    tick(&app).await;
    assert_eq!(receiver.got().len(), got.len());
}

#[actix_web::test]
async fn a_failed_delivery_is_tried_again_with_the_same_id_and_logged() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    receiver.statuses.lock().unwrap().push(500);
    let endpoint = register(&app, &admin, &receiver.url, &["session.created"]).await;
    app.create_session(&admin, json!({})).await;
    tick(&app).await;
    assert_eq!(receiver.got().len(), 1);
    let log_path = format!(
        "/api/admin/webhook-endpoints/{}/deliveries",
        endpoint.endpoint.id
    );
    let first: Vec<WebhookDeliveryDto> = app.get(&log_path, Some(&admin)).await.ok();
    assert_eq!(first[0].status, DeliveryStatus::Pending);
    assert_eq!(first[0].attempts[0].status_code, Some(500));
    assert_eq!(first[0].attempts[0].excerpt, "thanks");
    let retry_at = first[0].next_attempt_at.unwrap();
    assert!(retry_at > Utc::now(), "tried again later, not at once");
    // Not before its time.
    tick(&app).await;
    assert_eq!(receiver.got().len(), 1);
    // Five seconds later.
    entity::webhook_deliveries::Entity::update_many()
        .col_expr(
            entity::webhook_deliveries::Column::NextAttemptAt,
            Expr::value(Some(Utc::now())),
        )
        .filter(entity::webhook_deliveries::Column::Id.eq(first[0].id))
        .exec(&app.state.db)
        .await
        .unwrap();
    tick(&app).await;
    let got = receiver.got();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert_eq!(got[0].body, got[1].body);
    let second: Vec<WebhookDeliveryDto> = app.get(&log_path, Some(&admin)).await.ok();
    assert_eq!(second[0].status, DeliveryStatus::Delivered);
    assert_eq!(second[0].attempts.len(), 2);
    // "Renvoyer": once more, the same id.
    let a = app
        .post(
            &format!("/api/admin/webhook-deliveries/{}/resend", first[0].id),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    tick(&app).await;
    let got = receiver.got();
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].header("webhook-id"), got[0].header("webhook-id"));
    assert_eq!(
        verified_by_the_reference_library(&endpoint.secret, &got[2..]),
        1
    );
}

#[actix_web::test]
async fn a_rotated_secret_still_verifies_during_the_overlap() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    let endpoint = register(&app, &admin, &receiver.url, &["session.created"]).await;
    let rotated: WebhookEndpointWithSecret = app
        .patch(
            &format!("/api/admin/webhook-endpoints/{}", endpoint.endpoint.id),
            Some(&admin),
            json!({"rotate_secret": true}),
        )
        .await
        .ok();
    assert!(rotated.secret.starts_with("whsec_"));
    assert_ne!(rotated.secret, endpoint.secret);
    assert!(rotated.endpoint.previous_secret_until.is_some());
    app.create_session(&admin, json!({})).await;
    tick(&app).await;
    let got = receiver.got();
    assert_eq!(got.len(), 1);
    assert_eq!(verified_by_the_reference_library(&endpoint.secret, &got), 1);
    assert_eq!(verified_by_the_reference_library(&rotated.secret, &got), 1);
    // Once the overlap is over, only the new one signs.
    entity::webhook_endpoints::Entity::update_many()
        .col_expr(
            entity::webhook_endpoints::Column::PreviousSecretUntil,
            Expr::value(Some(Utc::now() - chrono::Duration::seconds(1))),
        )
        .exec(&app.state.db)
        .await
        .unwrap();
    app.create_session(&admin, json!({})).await;
    tick(&app).await;
    let got = receiver.got();
    assert_eq!(got.len(), 2);
    assert_eq!(
        verified_by_the_reference_library(&endpoint.secret, &got[1..]),
        0
    );
    assert_eq!(
        verified_by_the_reference_library(&rotated.secret, &got[1..]),
        1
    );
}

#[actix_web::test]
async fn private_and_metadata_targets_are_refused_unless_allowed() {
    let app = TestApp::builder()
        .env("ALLOW_PRIVATE_WEBHOOK_TARGETS", "false")
        .spawn()
        .await;
    let admin = app.admin_token().await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://localhost/hook",
        "http://10.0.0.1/hook",
    ] {
        let a = app
            .post(
                "/api/admin/webhook-endpoints",
                Some(&admin),
                json!({"url": url, "event_types": ["session.created"]}),
            )
            .await;
        a.assert_problem(422, "validation_failed");
        assert_eq!(a.body["errors"][0]["field"], "url", "{url}: {}", a.body);
    }
    // One that got in anyway (allowed when it was registered, or a name
    // that now resolves inside) is checked again at delivery: nothing sent.
    let receiver = Receiver::start().await;
    let now = Utc::now();
    entity::webhook_endpoints::Entity::insert(entity::webhook_endpoints::ActiveModel {
        id: sea_orm::Set(uuid::Uuid::new_v4()),
        url: sea_orm::Set(receiver.url.clone()),
        description: sea_orm::Set(None),
        event_types: sea_orm::Set("session.created".into()),
        secret: sea_orm::Set("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
        previous_secret: sea_orm::Set(None),
        previous_secret_until: sea_orm::Set(None),
        enabled: sea_orm::Set(true),
        disabled_reason: sea_orm::Set(None),
        fanned_out_to: sea_orm::Set(0),
        created_by: sea_orm::Set(uuid::Uuid::new_v4()),
        created_at: sea_orm::Set(now),
        updated_at: sea_orm::Set(now),
    })
    .exec_without_returning(&app.state.db)
    .await
    .unwrap();
    app.create_session(&admin, json!({})).await;
    tick(&app).await;
    assert!(receiver.got().is_empty());
    let attempt = entity::webhook_attempts::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("the attempt is logged");
    assert_eq!(attempt.status_code, None);
    assert!(
        attempt.excerpt.contains("not allowed"),
        "{}",
        attempt.excerpt
    );
}

#[actix_web::test]
async fn an_event_committed_before_the_api_died_is_delivered_after_the_restart() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    register(&app, &admin, &receiver.url, &["session.created"]).await;
    // An instance that commits and dies before any delivery.
    let doomed =
        crate::instances::Instance::start(&app.database_url, &[("JOBS_ENABLED", "false")]).await;
    let res = reqwest::Client::new()
        .post(format!("{}/api/admin/sessions", doomed.base))
        .bearer_auth(&admin)
        .json(&crate::support::session_body())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    drop(doomed); // kill -9
    assert!(receiver.got().is_empty());
    let arrived = receiver.arrived.notified();
    let _restarted =
        crate::instances::Instance::start(&app.database_url, &[("WEBHOOK_INTERVAL_SECONDS", "1")])
            .await;
    tokio::time::timeout(std::time::Duration::from_secs(60), arrived)
        .await
        .expect("delivered after the restart");
    let got = receiver.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["type"], EventType::SessionCreated.as_str());
    assert_eq!(got[0].json()["data"]["id"], created["id"]);
}

#[actix_web::test]
async fn a_turned_off_endpoint_holds_up_no_other_and_a_claimed_delivery_is_sent_once() {
    use api::domain::integrations::webhooks;
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let broken = Receiver::start().await;
    broken.statuses.lock().unwrap().extend([500, 500, 500]);
    let a = register(&app, &admin, &broken.url, &["session.created"]).await;
    for _ in 0..3 {
        app.create_session(&admin, json!({})).await;
    }
    tick(&app).await;
    assert_eq!(broken.got().len(), 3);
    // A's failures are due again, and A is turned off.
    app.patch(
        &format!("/api/admin/webhook-endpoints/{}", a.endpoint.id),
        Some(&admin),
        json!({"enabled": false}),
    )
    .await
    .ok::<Value>();
    entity::webhook_deliveries::Entity::update_many()
        .col_expr(
            entity::webhook_deliveries::Column::NextAttemptAt,
            Expr::value(Some(Utc::now())),
        )
        .exec(&app.state.db)
        .await
        .unwrap();
    let working = Receiver::start().await;
    let b = register(&app, &admin, &working.url, &["session.created"]).await;
    app.create_session(&admin, json!({})).await;
    webhooks::fan_out(&app.state.db, Utc::now()).await.unwrap();
    // One at a time: B's comes first, A's older ones are not in the way.
    let now = Utc::now();
    let first = webhooks::due(&app.state.db, now, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].endpoint.id, b.endpoint.id);
    // Claimed: another tick at the same moment does not get it again.
    assert!(
        webhooks::due(&app.state.db, now, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
