//! The webhook pipeline: signatures (checked against the official Python
//! SDK), at-most-once effects under duplicates and concurrency, event
//! order, late payments and refunds.

use std::process::Command;

use chrono::{Duration, Utc};
use common::bookings::{BookingDto, BookingStatus};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::support::{
    CountingGateway, TestApp, WEBHOOK_SECRET, event, held_seat, seat_checkout, spawn_app,
};

/// The official `stripe` Python SDK's header for `payload`.
fn python_header(payload: &str, secret: &str, timestamp: i64) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, stripe; print(stripe.WebhookSignature.generate_signature_header(sys.argv[1], sys.argv[2], int(sys.argv[3])))",
            payload,
            secret,
            &timestamp.to_string(),
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python stripe SDK: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn unknown_event() -> Value {
    event("customer.created", crate::support::fixture("customer"))
}

#[actix_web::test]
async fn signatures_made_by_the_official_sdk_are_accepted_and_everything_else_refused() {
    let app = spawn_app().await;
    let payload = serde_json::to_string(&unknown_event()).unwrap();
    let now = Utc::now().timestamp();

    let header = python_header(&payload, WEBHOOK_SECRET, now);
    let a = app
        .deliver_raw(payload.clone().into_bytes(), Some(&header))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["outcome"], "ignored");

    // Our own signer agrees with the SDK byte for byte.
    assert_eq!(
        api::payments::stripe::signature::sign(payload.as_bytes(), WEBHOOK_SECRET, now),
        header
    );

    let fresh = || serde_json::to_string(&unknown_event()).unwrap();
    let p = fresh();
    let tampered = p.replace("customer.created", "customer.updated");
    let h = python_header(&p, WEBHOOK_SECRET, now);
    app.deliver_raw(tampered.into_bytes(), Some(&h))
        .await
        .assert_problem(400, "signature_mismatch");

    let p = fresh();
    let h = python_header(&p, "whsec_wrong", now);
    app.deliver_raw(p.into_bytes(), Some(&h))
        .await
        .assert_problem(400, "signature_mismatch");

    // Exactly 301 s old is refused. Ahead, the SDK call itself takes a
    // moment before the server reads the header, so 305 s is used here;
    // the exact 301 s boundary both ways is a unit test of `signature`.
    for skew in [-301, 305] {
        let p = fresh();
        let h = python_header(&p, WEBHOOK_SECRET, Utc::now().timestamp() + skew);
        app.deliver_raw(p.into_bytes(), Some(&h))
            .await
            .assert_problem(400, "signature_expired");
    }
    for skew in [-280, 290] {
        let p = fresh();
        let h = python_header(&p, WEBHOOK_SECRET, Utc::now().timestamp() + skew);
        assert_eq!(
            app.deliver_raw(p.into_bytes(), Some(&h)).await.status,
            StatusCode::OK
        );
    }

    app.deliver_raw(fresh().into_bytes(), None)
        .await
        .assert_problem(400, "signature_missing");
    for bad in ["nonsense", "t=,v1=", "v1=abc", "t=123"] {
        app.deliver_raw(fresh().into_bytes(), Some(bad))
            .await
            .assert_problem(400, "signature_malformed");
    }

    // Two v1 values where only the second matches.
    let p = fresh();
    let good = python_header(&p, WEBHOOK_SECRET, now);
    let v1 = good.split("v1=").nth(1).unwrap();
    let two = format!("t={now},v1={},v1={v1}", "0".repeat(64));
    assert_eq!(
        app.deliver_raw(p.into_bytes(), Some(&two)).await.status,
        StatusCode::OK
    );

    // A signed body that is not an event.
    let junk = br#"{"hello":"world"}"#.to_vec();
    let h = api::payments::stripe::signature::sign(&junk, WEBHOOK_SECRET, now);
    app.deliver_raw(junk, Some(&h))
        .await
        .assert_problem(400, "invalid_payload");
}

#[actix_web::test]
async fn a_rotated_secret_list_accepts_both_secrets() {
    let app = TestApp::builder()
        .env("STRIPE_WEBHOOK_SECRET", "whsec_old_one, whsec_new_one")
        .spawn()
        .await;
    let now = Utc::now().timestamp();
    for secret in ["whsec_old_one", "whsec_new_one"] {
        let p = serde_json::to_string(&unknown_event()).unwrap();
        let h = python_header(&p, secret, now);
        assert_eq!(
            app.deliver_raw(p.into_bytes(), Some(&h)).await.status,
            StatusCode::OK,
            "{secret}"
        );
    }
    let p = serde_json::to_string(&unknown_event()).unwrap();
    let h = python_header(&p, WEBHOOK_SECRET, now);
    app.deliver_raw(p.into_bytes(), Some(&h))
        .await
        .assert_problem(400, "signature_mismatch");
}

/// Confirmation mails (accounts get their own verification mails too).
async fn mail_count(app: &TestApp) -> u64 {
    entity::mail_outbox::Entity::find()
        .filter(entity::mail_outbox::Column::Subject.contains("confirmée"))
        .count(&app.state.db)
        .await
        .unwrap()
}

#[actix_web::test]
async fn the_same_event_twice_in_a_row_applies_once() {
    let app = spawn_app().await;
    let seat = held_seat(&app, 8, "marie@example.com").await;
    let e = event(
        "checkout.session.completed",
        seat_checkout(&seat.held, &seat.sid, &seat.user, true),
    );
    let first = app.deliver(&e).await;
    assert_eq!(first.body["outcome"], "confirmed");
    assert_eq!(first.body["duplicate"], false);
    let second = app.deliver(&e).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body["duplicate"], true);
    assert_eq!(mail_count(&app).await, 1);
    assert_eq!(app.session_row(&seat.sid).await.reserved_places, 1);
    let recorded = entity::stripe_events::Entity::find_by_id(e["id"].as_str().unwrap().to_owned())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recorded.outcome.as_deref(), Some("confirmed"));
}

#[actix_web::test]
async fn twenty_concurrent_deliveries_apply_once() {
    let app = spawn_app().await;
    let seat = held_seat(&app, 8, "marie@example.com").await;
    let e = event(
        "checkout.session.completed",
        seat_checkout(&seat.held, &seat.sid, &seat.user, true),
    );
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (client, base, body) = (
            app.client.clone(),
            app.base.clone(),
            serde_json::to_vec(&e).unwrap(),
        );
        set.spawn(async move {
            let h = api::payments::stripe::signature::sign(
                &body,
                WEBHOOK_SECRET,
                Utc::now().timestamp(),
            );
            let res = client
                .post(format!("{base}/api/webhooks/stripe"))
                .header("Stripe-Signature", h)
                .body(body)
                .send()
                .await
                .unwrap();
            crate::support::into_answer(res).await
        });
    }
    let answers = set.join_all().await;
    assert!(
        answers.iter().all(|a| a.status == StatusCode::OK),
        "{:?}",
        answers.iter().map(|a| &a.body).collect::<Vec<_>>()
    );
    let applied = answers
        .iter()
        .filter(|a| a.body["duplicate"] == false)
        .count();
    assert_eq!(applied, 1);
    assert_eq!(mail_count(&app).await, 1);
    assert_eq!(app.session_row(&seat.sid).await.reserved_places, 1);
    let b = app
        .get(
            &format!("/api/bookings/{}", seat.booking()),
            Some(&seat.token),
        )
        .await
        .ok::<BookingDto>();
    assert_eq!(b.status, BookingStatus::Confirmed);
}

#[actix_web::test]
async fn expired_then_completed_confirms_when_a_seat_is_free() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let seat = held_seat(&app, 2, "marie@example.com").await;
    let expired = event(
        "checkout.session.expired",
        seat_checkout(&seat.held, &seat.sid, &seat.user, false),
    );
    assert_eq!(app.deliver(&expired).await.body["outcome"], "expired");
    assert_eq!(app.session_row(&seat.sid).await.reserved_places, 0);
    // Its duplicate changes nothing.
    assert_eq!(app.deliver(&expired).await.body["duplicate"], true);

    let completed = event(
        "checkout.session.completed",
        seat_checkout(&seat.held, &seat.sid, &seat.user, true),
    );
    assert_eq!(
        app.deliver(&completed).await.body["outcome"],
        "confirmed_late"
    );
    assert_eq!(app.deliver(&completed).await.body["duplicate"], true);
    let b = app
        .get(
            &format!("/api/bookings/{}", seat.booking()),
            Some(&seat.token),
        )
        .await
        .ok::<BookingDto>();
    assert_eq!(b.status, BookingStatus::Confirmed);
    assert_eq!(app.session_row(&seat.sid).await.reserved_places, 1);
    assert_eq!(gateway.refund_calls(), 0);
    assert_eq!(mail_count(&app).await, 1);
    assert!(app.audit().await.is_empty());
}

#[actix_web::test]
async fn a_late_payment_with_no_seat_left_is_refunded_once() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let seat = held_seat(&app, 1, "marie@example.com").await;
    // The hold lapses (the sweeper runs), and someone else takes the seat.
    let later = Utc::now() + Duration::minutes(40);
    api::jobs::sweeper::sweep_once(
        &app.state.db,
        gateway.as_ref(),
        &app.state.policy.offers,
        later,
    )
    .await
    .unwrap();
    let (_, paul) = app.quick_user("paul@example.com").await;
    app.hold(&seat.sid, &paul).await;

    let completed = event(
        "checkout.session.completed",
        seat_checkout(&seat.held, &seat.sid, &seat.user, true),
    );
    let a = app.deliver(&completed).await;
    assert_eq!(a.body["outcome"], "refunded_late", "{}", a.body);
    assert_eq!(app.deliver(&completed).await.body["duplicate"], true);
    assert_eq!(gateway.refund_calls(), 1);
    let b = app.booking_row(seat.booking()).await;
    assert_eq!(b.status, "refunded");
    assert_eq!(b.refunded_cents, Some(199_700));
    assert!(b.refund_id.is_some());
    let s = app.session_row(&seat.sid).await;
    assert_eq!((s.reserved_places, s.max_places), (1, 1));
    assert_eq!(mail_count(&app).await, 0);
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

#[actix_web::test]
async fn completed_after_the_hold_lapsed_with_a_seat_free_confirms() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let seat = held_seat(&app, 3, "marie@example.com").await;
    api::jobs::sweeper::sweep_once(
        &app.state.db,
        gateway.as_ref(),
        &app.state.policy.offers,
        Utc::now() + Duration::minutes(40),
    )
    .await
    .unwrap();
    assert_eq!(app.booking_row(seat.booking()).await.status, "expired");
    let completed = event(
        "checkout.session.completed",
        seat_checkout(&seat.held, &seat.sid, &seat.user, true),
    );
    assert_eq!(
        app.deliver(&completed).await.body["outcome"],
        "confirmed_late"
    );
    assert_eq!(app.deliver(&completed).await.body["duplicate"], true);
    assert_eq!(app.booking_row(seat.booking()).await.status, "confirmed");
    assert_eq!(app.session_row(&seat.sid).await.reserved_places, 1);
    assert_eq!(gateway.refund_calls(), 0);
}

#[actix_web::test]
async fn unpaid_completion_waits_then_async_outcomes_decide() {
    let app = spawn_app().await;
    let seat = held_seat(&app, 8, "marie@example.com").await;
    let mut unpaid = seat_checkout(&seat.held, &seat.sid, &seat.user, true);
    unpaid["payment_status"] = json!("unpaid");
    let a = app
        .deliver(&event("checkout.session.completed", unpaid))
        .await;
    assert_eq!(a.body["outcome"], "awaiting_payment");
    assert_eq!(app.booking_row(seat.booking()).await.status, "held");

    let ok = seat_checkout(&seat.held, &seat.sid, &seat.user, true);
    let a = app
        .deliver(&event("checkout.session.async_payment_succeeded", ok))
        .await;
    assert_eq!(a.body["outcome"], "confirmed");

    let other = held_seat(&app, 8, "paul@example.com").await;
    let failed = seat_checkout(&other.held, &other.sid, &other.user, false);
    let a = app
        .deliver(&event("checkout.session.async_payment_failed", failed))
        .await;
    assert_eq!(a.body["outcome"], "expired");
    assert_eq!(app.session_row(&other.sid).await.reserved_places, 0);
}

#[actix_web::test]
async fn a_refund_made_in_the_dashboard_frees_the_seat() {
    let app = spawn_app().await;
    let seat = held_seat(&app, 8, "marie@example.com").await;
    let paid = seat_checkout(&seat.held, &seat.sid, &seat.user, true);
    app.deliver(&event("checkout.session.completed", paid.clone()))
        .await;
    let charge = json!({
        "id": "ch_test_1",
        "object": "charge",
        "amount": 199_700,
        "amount_refunded": 199_700,
        "refunded": true,
        "payment_intent": paid["payment_intent"],
    });
    let refunded = event("charge.refunded", charge);
    assert_eq!(app.deliver(&refunded).await.body["outcome"], "refunded");
    assert_eq!(app.deliver(&refunded).await.body["duplicate"], true);
    let b = app.booking_row(seat.booking()).await;
    assert_eq!(
        (b.status.as_str(), b.refunded_cents),
        ("refunded", Some(199_700))
    );
    assert_eq!(app.session_row(&seat.sid).await.reserved_places, 0);
    assert!(app.audit().await.is_empty());
}

#[actix_web::test]
async fn a_failure_answers_5xx_and_records_nothing_so_stripe_retries() {
    let app = spawn_app().await;
    let seat = held_seat(&app, 8, "marie@example.com").await;
    let e = event(
        "checkout.session.completed",
        seat_checkout(&seat.held, &seat.sid, &seat.user, true),
    );
    // Break the mail outbox: confirming cannot complete.
    use sea_orm::ConnectionTrait;
    app.state
        .db
        .execute_unprepared("ALTER TABLE mail_outbox RENAME TO mail_outbox_gone")
        .await
        .unwrap();
    let a = app.deliver(&e).await;
    assert!(a.status.is_server_error(), "{}", a.status);
    assert_eq!(app.booking_row(seat.booking()).await.status, "held");
    let recorded = entity::stripe_events::Entity::find()
        .filter(entity::stripe_events::Column::Id.eq(e["id"].as_str().unwrap()))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(recorded, 0);
    // Stripe retries once the fault is gone: applied then.
    app.state
        .db
        .execute_unprepared("ALTER TABLE mail_outbox_gone RENAME TO mail_outbox")
        .await
        .unwrap();
    assert_eq!(app.deliver(&e).await.body["outcome"], "confirmed");
}
