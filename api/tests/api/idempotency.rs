//! `Idempotency-Key`: a retry gets the first answer, never a second hold;
//! the same key on another request is refused; concurrent duplicates run
//! once.

use std::sync::atomic::Ordering;

use common::bookings::CheckoutResponse;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::support::{Answer, CountingGateway, TestApp, into_answer, spawn_app};

async fn post_keyed(app: &TestApp, path: &str, token: &str, key: &str, body: Value) -> Answer {
    let res = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .expect("sent");
    into_answer(res).await
}

async fn holds_of(app: &TestApp, session_id: &str) -> u64 {
    use entity::immersion_bookings::{Column, Entity};
    Entity::find()
        .filter(Column::SessionId.eq(session_id.parse::<uuid::Uuid>().unwrap()))
        .filter(Column::Status.eq("held"))
        .count(&app.state.db)
        .await
        .unwrap()
}

fn replayed(a: &Answer) -> bool {
    a.headers
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true")
}

#[actix_web::test]
async fn the_same_checkout_sent_twice_holds_one_seat_and_answers_the_same_body() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let sid = s["id"].as_str().unwrap();
    let (_, token) = app.quick_user("retry@example.com").await;
    let path = format!("/api/sessions/{sid}/checkout");

    let first = post_keyed(&app, &path, &token, "order-7f3a", json!({})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert!(!replayed(&first));
    let again = post_keyed(&app, &path, &token, "order-7f3a", json!({})).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert!(replayed(&again));
    assert_eq!(again.body, first.body);
    assert_eq!(holds_of(&app, sid).await, 1);

    // Without the key, a second checkout is a new request: refused as booked.
    let plain = app.post(&path, Some(&token), json!({})).await;
    plain.assert_problem(409, "already_booked");
    // Keys are per user: another user's identical key is their own.
    let (_, other) = app.quick_user("other@example.com").await;
    let theirs = post_keyed(&app, &path, &other, "order-7f3a", json!({})).await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.body);
    assert!(!replayed(&theirs));
    assert_ne!(
        theirs.ok::<CheckoutResponse>().booking_id,
        first.ok::<CheckoutResponse>().booking_id
    );
    assert_eq!(holds_of(&app, sid).await, 2);
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

#[actix_web::test]
async fn the_same_key_with_another_body_or_path_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let mut body = crate::support::session_body();
    let created = post_keyed(
        &app,
        "/api/admin/sessions",
        &admin,
        "create-1",
        body.clone(),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);

    body["location"] = json!("Marseille");
    let changed = post_keyed(&app, "/api/admin/sessions", &admin, "create-1", body).await;
    changed.assert_problem(422, "idempotency_key_reused");
    let elsewhere = post_keyed(
        &app,
        "/api/admin/resources",
        &admin,
        "create-1",
        json!({"title": "Guide", "kind": "link", "url": "https://example.com/guide"}),
    )
    .await;
    elsewhere.assert_problem(422, "idempotency_key_reused");

    let sessions = app.get("/api/admin/sessions", Some(&admin)).await;
    assert_eq!(
        sessions.body.as_array().unwrap().len(),
        1,
        "{}",
        sessions.body
    );
}

#[actix_web::test]
async fn ten_concurrent_requests_with_one_key_hold_one_seat() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let sid = s["id"].as_str().unwrap().to_owned();
    let (_, token) = app.quick_user("impatient@example.com").await;

    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (client, url, token) = (
            app.client.clone(),
            format!("{}/api/sessions/{sid}/checkout", app.base),
            token.clone(),
        );
        set.spawn(async move {
            let res = client
                .post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", "double-click")
                .json(&json!({}))
                .send()
                .await
                .expect("sent");
            into_answer(res).await
        });
    }
    let answers = set.join_all().await;
    let created: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .collect();
    assert!(!created.is_empty());
    assert!(created.iter().all(|a| a.body == created[0].body));
    for a in answers.iter().filter(|a| a.status != StatusCode::CREATED) {
        a.assert_problem(409, "idempotency_key_in_progress");
    }
    assert_eq!(holds_of(&app, &sid).await, 1);

    // Once the first has answered, every retry gets that answer.
    let path = format!("/api/sessions/{sid}/checkout");
    let late = post_keyed(&app, &path, &token, "double-click", json!({})).await;
    assert_eq!(late.status, StatusCode::CREATED, "{}", late.body);
    assert_eq!(late.body, created[0].body);
    assert_eq!(holds_of(&app, &sid).await, 1);
}

#[actix_web::test]
async fn an_answer_that_did_not_run_to_the_end_is_not_kept() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let sid = s["id"].as_str().unwrap();
    let (_, token) = app.quick_user("outage@example.com").await;
    let path = format!("/api/sessions/{sid}/checkout");

    gateway.fail_checkout.store(true, Ordering::SeqCst);
    let failed = post_keyed(&app, &path, &token, "k-1", json!({})).await;
    failed.assert_problem(502, "payment_gateway_error");
    gateway.fail_checkout.store(false, Ordering::SeqCst);
    let retried = post_keyed(&app, &path, &token, "k-1", json!({})).await;
    assert_eq!(retried.status, StatusCode::CREATED, "{}", retried.body);
    assert!(!replayed(&retried));
    assert_eq!(holds_of(&app, sid).await, 1);
    assert_eq!(gateway.creates.load(Ordering::SeqCst), 2);

    // A refusal that ran is kept, like Stripe's: the same key answers it again.
    let cancel = format!(
        "/api/bookings/{}/cancel",
        retried.ok::<CheckoutResponse>().booking_id
    );
    let (_, stranger) = app.quick_user("stranger@example.com").await;
    let refused = post_keyed(&app, &cancel, &stranger, "c-1", json!({})).await;
    let again = post_keyed(&app, &cancel, &stranger, "c-1", json!({})).await;
    assert_eq!(again.status, refused.status);
    assert_eq!(again.body, refused.body);
    assert!(replayed(&again));
}

#[actix_web::test]
async fn bad_keys_are_refused_and_old_answers_are_forgotten() {
    let app = spawn_app().await;
    let (user_id, token) = app.quick_user("keys@example.com").await;
    let long = "k".repeat(256);
    let a = post_keyed(
        &app,
        "/api/subscriptions/portal",
        &token,
        &long,
        json!(null),
    )
    .await;
    a.assert_problem(400, "bad_request");

    use api::domain::platform::idempotency::{self, Begun, KEPT, Key, Stored};
    let db = &app.state.db;
    let now = chrono::Utc::now();
    let dead = chrono::Duration::minutes(10);
    let k = Key { user_id, key: "k" };
    let Begun::Run { owner } = idempotency::begin(db, k, "f1", now, dead).await.unwrap() else {
        panic!("a new key runs");
    };
    assert_eq!(
        idempotency::begin(db, k, "f1", now, dead).await.unwrap(),
        Begun::InProgress
    );
    let answer = Stored {
        status: 200,
        content_type: "application/json".into(),
        body: "{}".into(),
    };
    // Only the run that claimed the key stores its answer.
    idempotency::finish(db, k, uuid::Uuid::new_v4(), &answer)
        .await
        .unwrap();
    assert_eq!(
        idempotency::begin(db, k, "f1", now, dead).await.unwrap(),
        Begun::InProgress
    );
    idempotency::finish(db, k, owner, &answer).await.unwrap();
    assert_eq!(
        idempotency::begin(db, k, "f1", now, dead).await.unwrap(),
        Begun::Replay(answer)
    );
    assert_eq!(
        idempotency::begin(db, k, "f2", now, dead).await.unwrap(),
        Begun::Reused
    );
    let later = now + KEPT + chrono::Duration::seconds(1);
    let Begun::Run { owner: first } = idempotency::begin(db, k, "f2", later, dead).await.unwrap()
    else {
        panic!("an expired key runs again");
    };
    // A run its instance never finished frees the key after a while, and
    // the dead run can no longer free or store it.
    let taken_over = later + dead;
    assert!(matches!(
        idempotency::begin(db, k, "f2", taken_over, dead)
            .await
            .unwrap(),
        Begun::Run { .. }
    ));
    idempotency::abandon(db, k, first).await.unwrap();
    assert_eq!(
        idempotency::begin(db, k, "f2", taken_over, dead)
            .await
            .unwrap(),
        Begun::InProgress
    );
    assert_eq!(idempotency::prune(db, taken_over + KEPT).await.unwrap(), 1);

    // A body over the JSON limit is refused as a problem, not read whole.
    let huge = "x".repeat(70 * 1024);
    let res = app
        .client
        .post(format!("{}/api/subscriptions/portal", app.base))
        .bearer_auth(&token)
        .header("Idempotency-Key", "big")
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    into_answer(res)
        .await
        .assert_problem(413, "payload_too_large");
}
