//! Minimum group sizes: on the decision date a session with too few paid
//! seats is cancelled and every paid seat refunded once; with enough, it is
//! confirmed to run. Deciding twice, even at once, decides once.

use std::sync::atomic::Ordering;

use chrono::{Duration, Utc};
use common::sessions::{SessionDecision, SessionDto, SessionStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{CountingGateway, TestApp, paid_seat, pay_with, seat_in, settle};

/// Today at the venue, as the api counts days.
fn today() -> chrono::NaiveDate {
    api::domain::platform::clock::today_at_venue(Utc::now())
}

async fn session_with_minimum(app: &TestApp, min: i32) -> String {
    let admin = app.admin_token().await;
    let tomorrow = today() + Duration::days(1);
    let s = app
        .create_session(
            &admin,
            json!({"min_places": min, "decide_on": tomorrow.to_string()}),
        )
        .await;
    assert_eq!(s["min_places"], min);
    assert_eq!(s["decide_on"], tomorrow.to_string());
    assert_eq!(s["decision"], Value::Null);
    s["id"].as_str().unwrap().to_owned()
}

/// The day the decision is due, and later.
fn decision_day() -> chrono::DateTime<Utc> {
    Utc::now() + Duration::days(2)
}

async fn decide_due(app: &TestApp, gateway: &CountingGateway) -> Vec<(uuid::Uuid, String)> {
    api::domain::bookings::decisions::decide_due(&app.state.db, gateway, decision_day())
        .await
        .unwrap()
        .into_iter()
        .map(|(id, d)| (id, d.as_str().to_owned()))
        .collect()
}

#[actix_web::test]
async fn below_the_minimum_the_session_is_cancelled_and_each_paid_seat_refunded_once() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let sid = session_with_minimum(&app, 3).await;
    let paid = [
        paid_seat(&app, &sid, "anne@example.com").await,
        paid_seat(&app, &sid, "bruno@example.com").await,
    ];
    let held = seat_in(&app, &sid, "chloe@example.com").await;
    // Nothing happens before the date.
    let early =
        api::domain::bookings::decisions::decide_due(&app.state.db, gateway.as_ref(), Utc::now());
    assert!(early.await.unwrap().is_empty());

    gateway.refund_failures.store(1, Ordering::SeqCst);
    let decided = decide_due(&app, &gateway).await;
    assert_eq!(decided, [(sid.parse().unwrap(), "cancelled".to_owned())]);
    // The first refund failed; the owed-calls job makes it.
    settle(&app, &gateway, decision_day() + Duration::minutes(5)).await;
    let refunds = gateway.inner.refunds();
    assert_eq!(refunds.len(), 2, "{refunds:?}");
    for seat in &paid {
        let b = app.booking_row(seat.booking()).await;
        assert_eq!(b.status, "refunded");
        assert_eq!(b.refunded_cents, Some(199_700));
        let theirs: Vec<_> = refunds
            .iter()
            .filter(|r| r.booking_id == Some(b.id))
            .collect();
        assert_eq!(theirs.len(), 1);
        assert_eq!(theirs[0].amount_cents, 199_700);
        assert_eq!(b.refund_id.as_deref(), Some(theirs[0].id.as_str()));
        let mails = app.mails_to(&b.user_email).await;
        assert!(
            mails
                .iter()
                .any(|m| m.subject.contains("annulée") && m.body.contains("remboursé")),
            "{mails:?}"
        );
    }
    let h = app.booking_row(held.booking()).await;
    assert_eq!(h.status, "cancelled");
    assert!(
        app.mails_to(&h.user_email)
            .await
            .iter()
            .any(|m| m.subject.contains("annulée"))
    );
    let row = app.session_row(&sid).await;
    assert_eq!(
        (
            row.reserved_places,
            row.status.as_str(),
            row.decision.map(|d| d.as_str())
        ),
        (0, "closed", Some("cancelled"))
    );

    // The session takes no one any more, not even a late payment.
    let (_, late) = app.quick_user("late@example.com").await;
    let a = app.checkout(&sid, &late).await;
    a.assert_problem(409, "session_closed");
    let (outcome, _) = pay_with(&app, &held, |_| {}).await;
    assert_eq!(outcome, "refunded_late");
    assert_eq!(app.session_row(&sid).await.reserved_places, 0);
    // An admin cannot reopen it.
    let admin = app.admin_token().await;
    let reopen = app
        .patch(
            &format!("/api/admin/sessions/{sid}"),
            Some(&admin),
            json!({"closed": false}),
        )
        .await
        .ok::<SessionDto>();
    assert_eq!(reopen.status, SessionStatus::Closed, "{reopen:?}");

    // Deciding again changes nothing.
    assert!(decide_due(&app, &gateway).await.is_empty());
    settle(&app, &gateway, Utc::now() + Duration::hours(1)).await;
    assert_eq!(
        gateway.inner.refunds().len(),
        3,
        "two seats and the late payment"
    );
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

#[actix_web::test]
async fn at_the_minimum_the_session_is_confirmed_to_run() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let sid = session_with_minimum(&app, 2).await;
    let paid = [
        paid_seat(&app, &sid, "anne@example.com").await,
        paid_seat(&app, &sid, "bruno@example.com").await,
    ];
    let held = seat_in(&app, &sid, "chloe@example.com").await;

    let decided = decide_due(&app, &gateway).await;
    assert_eq!(decided, [(sid.parse().unwrap(), "confirmed".to_owned())]);
    for seat in &paid {
        let b = app.booking_row(seat.booking()).await;
        assert_eq!(b.status, "confirmed");
        let mails = app.mails_to(&b.user_email).await;
        assert!(
            mails
                .iter()
                .any(|m| m.subject.contains("session Immersion Élite est confirmée")),
            "{mails:?}"
        );
    }
    // A hold is not an attendee: it stays held, and is not told.
    assert_eq!(app.booking_row(held.booking()).await.status, "held");
    assert!(gateway.inner.refunds().is_empty());
    let public: SessionDto = app.get(&format!("/api/sessions/{sid}"), None).await.ok();
    assert_eq!(
        public.decision,
        Some(SessionDecision::Confirmed),
        "{public:?}"
    );
    assert_eq!(public.status, SessionStatus::Open);
    assert!(decide_due(&app, &gateway).await.is_empty());
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

#[actix_web::test]
async fn two_deciders_at_once_decide_once() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let sid = session_with_minimum(&app, 4).await;
    for name in ["anne", "bruno", "chloe"] {
        paid_seat(&app, &sid, &format!("{name}@example.com")).await;
    }
    let (a, b) = tokio::join!(decide_due(&app, &gateway), decide_due(&app, &gateway));
    let all: Vec<_> = a.into_iter().chain(b).collect();
    assert_eq!(all, [(sid.parse().unwrap(), "cancelled".to_owned())]);
    settle(&app, &gateway, decision_day() + Duration::minutes(5)).await;
    assert_eq!(gateway.inner.refunds().len(), 3);
    assert_eq!(gateway.refund_calls(), 3);
    let mails = app.mails_to("anne@example.com").await;
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.subject.contains("annulée"))
            .count(),
        1
    );
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

#[actix_web::test]
async fn admins_decide_early_once_and_set_sensible_minimums() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({"min_places": 5})).await;
    let sid = s["id"].as_str().unwrap().to_owned();
    // The default date: MIN_PLACES_DECISION_DAYS (14) before the start.
    let starts: chrono::NaiveDate = s["starts_on"].as_str().unwrap().parse().unwrap();
    assert_eq!(s["decide_on"], (starts - Duration::days(14)).to_string());
    let seat = paid_seat(&app, &sid, "anne@example.com").await;

    let path = format!("/api/admin/sessions/{sid}/decision");
    let (_, user) = app.quick_user("nobody@example.com").await;
    app.post(&path, Some(&user), json!({"decision": "confirmed"}))
        .await
        .assert_problem(403, "forbidden");
    let bad = app
        .post(&path, Some(&admin), json!({"decision": "maybe"}))
        .await;
    bad.assert_problem(400, "bad_request");

    let d = app
        .post(&path, Some(&admin), json!({"decision": "confirmed"}))
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    assert_eq!(
        d.ok::<SessionDto>().decision,
        Some(SessionDecision::Confirmed)
    );
    assert!(
        app.mails_to("anne@example.com")
            .await
            .iter()
            .any(|m| m.subject.contains("est confirmée ("))
    );
    app.post(&path, Some(&admin), json!({"decision": "cancelled"}))
        .await
        .assert_problem(409, "session_already_decided");
    assert_eq!(app.booking_row(seat.booking()).await.status, "confirmed");
    let missing = format!("/api/admin/sessions/{}/decision", uuid::Uuid::new_v4());
    app.post(&missing, Some(&admin), json!({"decision": "cancelled"}))
        .await
        .assert_problem(404, "not_found");

    // A minimum above the places, or a date not before the start, is refused.
    let mut body = crate::support::session_body();
    body["min_places"] = json!(9);
    body["decide_on"] = body["starts_on"].clone();
    let a = app.post("/api/admin/sessions", Some(&admin), body).await;
    a.assert_problem(422, "validation_failed");
    let fields: Vec<_> = a.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["min_places", "decide_on"]);
    // A decision date already past is refused; a late session's default
    // is tomorrow, not a date already gone.
    let mut body = crate::support::session_body();
    body["min_places"] = json!(2);
    body["decide_on"] = json!((today() - Duration::days(1)).to_string());
    let a = app.post("/api/admin/sessions", Some(&admin), body).await;
    a.assert_problem(422, "validation_failed");
    assert_eq!(a.body["errors"][0]["rule"], "in_the_past", "{}", a.body);
    let soon = today() + Duration::days(5);
    let late = app
        .create_session(
            &admin,
            json!({"min_places": 2, "starts_on": soon.to_string(), "ends_on": soon.to_string()}),
        )
        .await;
    let tomorrow = today() + Duration::days(1);
    assert_eq!(late["decide_on"], tomorrow.to_string());
    // 0 removes a minimum.
    let other = app.create_session(&admin, json!({"min_places": 2})).await;
    let cleared = app
        .patch(
            &format!("/api/admin/sessions/{}", other["id"].as_str().unwrap()),
            Some(&admin),
            json!({"min_places": 0}),
        )
        .await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    let cleared: SessionDto = cleared.ok();
    assert_eq!((cleared.min_places, cleared.decide_on), (None, None));
}
