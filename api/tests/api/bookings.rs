//! Holds, the local gateway's pay page, bookings, cancellation and refunds,
//! attendees, the sweeper — over HTTP, as a buyer and an admin would.

use chrono::{Duration, Utc};
use common::auth::{License, UserDto};
use common::bookings::{BookingDto, BookingStatus};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::support::{CountingGateway, TestApp, day, spawn_app};

async fn session(app: &TestApp, overrides: Value) -> String {
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, overrides).await;
    s["id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn full_flow_through_the_local_gateway() {
    let app = spawn_app().await;
    let sid = session(&app, json!({"starts_on": day(40), "ends_on": day(44)})).await;
    let token = app.register("marie@example.com").await;

    // Hold: the seat is taken at once.
    let held = app.hold(&sid, &token).await;
    let url = held["checkout_url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/local-checkout/cs_local_", app.base)),
        "{url}"
    );
    let expires: chrono::DateTime<Utc> =
        serde_json::from_value(held["hold_expires_at"].clone()).unwrap();
    // At least Stripe's 30 minutes and its margin (`MIN_HOLD`).
    assert!(
        (expires - Utc::now() - api::payments::MIN_HOLD)
            .num_seconds()
            .abs()
            < 5
    );
    assert_eq!(app.session_row(&sid).await.reserved_places, 1);
    let booking_id = held["booking_id"].as_str().unwrap().to_owned();
    let b: BookingDto = app
        .get(&format!("/api/bookings/{booking_id}"), Some(&token))
        .await
        .ok();
    assert_eq!(b.status, BookingStatus::Held);

    // The pay page shows the seat and the price.
    let page = app.client.get(url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("1\u{202F}997\u{00A0}€"), "{html}");
    assert!(html.contains("id=\"pay\""));

    // Pay: back to the SPA's thank-you page, booking confirmed.
    let res = crate::support::no_redirects()
        .post(format!("{url}/pay"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers().get("location").unwrap().to_str().unwrap();
    assert_eq!(
        location,
        format!("{}/immersion-elite/merci?booking_id={booking_id}", app.base)
    );
    let b: BookingDto = app
        .get(&format!("/api/bookings/{booking_id}"), Some(&token))
        .await
        .ok();
    assert_eq!(b.status, BookingStatus::Confirmed);
    let me: UserDto = app.get("/api/me", Some(&token)).await.ok();
    assert_eq!(me.license, License::Immersion);
    let mails: Vec<_> = app
        .mails_to("marie@example.com")
        .await
        .into_iter()
        .filter(|m| !m.subject.contains("adresse e-mail"))
        .collect();
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].subject.contains("confirmée"),
        "{}",
        mails[0].subject
    );
    assert!(mails[0].body.contains("1\u{202F}997\u{00A0}€"));
    assert_eq!(app.session_row(&sid).await.reserved_places, 1);
    // The page no longer takes a payment.
    let html = app
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("id=\"pay\""));

    // My bookings.
    let mine: Vec<BookingDto> = app.get("/api/me/bookings", Some(&token)).await.ok();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].id.to_string(), booking_id);
    assert_eq!(mine[0].starts_on.to_string(), day(40));
    // The refund rule the SPA shows before cancelling: 14 days by default.
    assert_eq!(mine[0].full_refund_until.to_string(), day(26));

    // Cancel 40 days ahead: full refund, seat back.
    let c = app.cancel(&booking_id, &token).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    let c: BookingDto = c.ok();
    assert_eq!(c.status, BookingStatus::Refunded);
    assert_eq!(c.refunded_cents, Some(199_700));
    let refunds = app.local_gateway().refunds();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].amount_cents, 199_700);
    assert_eq!(
        app.booking_row(&booking_id).await.refund_id.as_deref(),
        Some(refunds[0].id.as_str())
    );
    assert_eq!(app.session_row(&sid).await.reserved_places, 0);
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

#[actix_web::test]
async fn cancelling_on_the_pay_page_releases_the_seat() {
    let app = spawn_app().await;
    let sid = session(&app, json!({})).await;
    let token = app.register("marie@example.com").await;
    let held = app.hold(&sid, &token).await;
    let url = held["checkout_url"].as_str().unwrap();
    let res = crate::support::no_redirects()
        .post(format!("{url}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        res.headers()
            .get("location")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("/immersion-elite/annulation")
    );
    let b: BookingDto = app
        .get(
            &format!("/api/bookings/{}", held["booking_id"].as_str().unwrap()),
            Some(&token),
        )
        .await
        .ok();
    assert_eq!(b.status, BookingStatus::Expired);
    assert_eq!(app.session_row(&sid).await.reserved_places, 0);
    // Paying afterwards is no longer offered.
    let res = crate::support::no_redirects()
        .post(format!("{url}/pay"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let b: BookingDto = app
        .get(
            &format!("/api/bookings/{}", held["booking_id"].as_str().unwrap()),
            Some(&token),
        )
        .await
        .ok();
    assert_eq!(b.status, BookingStatus::Expired);
}

#[actix_web::test]
async fn checkout_refuses_full_closed_duplicate_missing_and_anonymous() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let one_seat = session(&app, json!({"max_places": 1})).await;
    let (_, first) = app.quick_user("first@example.com").await;
    let (_, second) = app.quick_user("second@example.com").await;
    app.hold(&one_seat, &first).await;
    let path = format!("/api/sessions/{one_seat}/checkout");
    app.post(&path, Some(&second), json!({}))
        .await
        .assert_problem(409, "session_full");
    app.post(&path, Some(&first), json!({}))
        .await
        .assert_problem(409, "already_booked");
    assert_eq!(app.session_row(&one_seat).await.status, "full");

    let closed = session(&app, json!({})).await;
    app.patch(
        &format!("/api/admin/sessions/{closed}"),
        Some(&admin),
        json!({"closed": true}),
    )
    .await;
    app.checkout(&closed, &second)
        .await
        .assert_problem(409, "session_closed");
    let started = session(&app, json!({"starts_on": day(0), "ends_on": day(3)})).await;
    app.checkout(&started, &second)
        .await
        .assert_problem(409, "session_closed");
    let inactive = session(&app, json!({"is_active": false})).await;
    app.checkout(&inactive, &second)
        .await
        .assert_problem(404, "not_found");
    app.post(
        &format!("/api/sessions/{}/checkout", uuid::Uuid::new_v4()),
        Some(&second),
        json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    app.post(&path, None, json!({}))
        .await
        .assert_problem(401, "unauthorized");
    assert!(app.audit().await.is_empty());
}

#[actix_web::test]
async fn a_gateway_failure_gives_the_seat_back_and_answers_502() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let sid = session(&app, json!({"max_places": 1})).await;
    let (_, token) = app.quick_user("marie@example.com").await;
    gateway
        .fail_checkout
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let a = app.checkout(&sid, &token).await;
    a.assert_problem(502, "payment_gateway_error");
    assert!(
        !a.body.to_string().contains("simulated outage"),
        "internal cause leaked: {}",
        a.body
    );
    let s = app.session_row(&sid).await;
    assert_eq!((s.reserved_places, s.status.as_str()), (0, "open"));
    // The provider is back: the same user can book the last seat.
    gateway
        .fail_checkout
        .store(false, std::sync::atomic::Ordering::SeqCst);
    app.hold(&sid, &token).await;
    assert!(app.audit().await.is_empty());
}

/// Confirms a hold the way Stripe would (a signed checkout.session.completed).
async fn pay(app: &TestApp, sid: &str, held: &Value, user: &uuid::Uuid) -> Value {
    let object = crate::support::seat_checkout(held, sid, user, true);
    let a = app
        .deliver(&crate::support::event(
            "checkout.session.completed",
            object.clone(),
        ))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    object
}

#[actix_web::test]
async fn cancellation_follows_the_refund_rule_and_admins_may_force() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    // Starts in 5 days: inside the 14-day cutoff, no refund.
    let soon = session(&app, json!({"starts_on": day(5), "ends_on": day(9)})).await;
    let (marie, marie_token) = app.quick_user("marie@example.com").await;
    let (_, paul_token) = app.quick_user("paul@example.com").await;
    let held = app.hold(&soon, &marie_token).await;
    pay(&app, &soon, &held, &marie).await;
    let id = held["booking_id"].as_str().unwrap();
    let cancel = format!("/api/bookings/{id}/cancel");

    // Another user can neither see nor cancel it; a user cannot force a refund.
    app.get(&format!("/api/bookings/{id}"), Some(&paul_token))
        .await
        .assert_problem(404, "not_found");
    app.post(&cancel, Some(&paul_token), json!({}))
        .await
        .assert_problem(404, "not_found");
    app.post(&cancel, Some(&marie_token), json!({"force_refund": true}))
        .await
        .assert_problem(403, "forbidden");

    let c: BookingDto = app.post(&cancel, Some(&marie_token), json!({})).await.ok();
    assert_eq!(c.status, BookingStatus::Cancelled, "{c:?}");
    assert_eq!(c.refunded_cents, None);
    assert!(app.local_gateway().refunds().is_empty());
    assert_eq!(app.session_row(&soon).await.reserved_places, 0);
    app.post(&cancel, Some(&marie_token), json!({}))
        .await
        .assert_problem(409, "booking_not_cancellable");

    // Same case, but an admin cancels with a forced refund.
    let held = app.hold(&soon, &marie_token).await;
    pay(&app, &soon, &held, &marie).await;
    let id = held["booking_id"].as_str().unwrap();
    let c: BookingDto = app
        .post(
            &format!("/api/bookings/{id}/cancel"),
            Some(&admin),
            json!({"force_refund": true}),
        )
        .await
        .ok();
    assert_eq!(c.status, BookingStatus::Refunded, "{c:?}");
    assert_eq!(app.local_gateway().refunds().len(), 1);
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);

    // A malformed body is a clear 400, not a silent default.
    app.post(
        &format!("/api/bookings/{id}/cancel"),
        Some(&admin),
        json!(["x"]),
    )
    .await
    .assert_problem(400, "bad_request");
}

#[actix_web::test]
async fn cancelling_a_hold_frees_the_seat_and_closes_its_checkout() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let sid = session(&app, json!({})).await;
    let (_, token) = app.quick_user("marie@example.com").await;
    let held = app.hold(&sid, &token).await;
    let c: BookingDto = app
        .cancel(held["booking_id"].as_str().unwrap(), &token)
        .await
        .ok();
    assert_eq!(c.status, BookingStatus::Cancelled);
    assert_eq!(app.session_row(&sid).await.reserved_places, 0);
    assert_eq!(gateway.expires.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(
        gateway
            .inner
            .is_expired(held["checkout_session_id"].as_str().unwrap())
    );
}

#[actix_web::test]
async fn admins_list_attendees_as_json_and_csv() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let sid = session(&app, json!({})).await;
    let (marie, token) = app.quick_user("marie@example.com").await;
    let named = app
        .patch(
            "/api/me/profile",
            Some(&token),
            json!({"first_name": "Marie", "last_name": "Dupont, née Martin"}),
        )
        .await;
    assert_eq!(named.status, StatusCode::OK, "{}", named.body);
    let held = app.hold(&sid, &token).await;
    pay(&app, &sid, &held, &marie).await;
    let (paul_id, paul) = app.quick_user("paul@example.com").await;
    app.hold(&sid, &paul).await;
    // Paul's account is from before names were asked: his seat, unnamed.
    app.forget_names(paul_id).await;

    let path = format!("/api/admin/sessions/{sid}/bookings");
    let json = app.get(&path, Some(&admin)).await;
    let list: Vec<BookingDto> = json.ok();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].user_email, "marie@example.com");
    assert_eq!(
        list[0].attendee_name.as_deref(),
        Some("Marie Dupont, née Martin")
    );
    assert_eq!(list[0].status, BookingStatus::Confirmed);
    assert_eq!(list[1].status, BookingStatus::Held);
    // Left out of the JSON, not sent as null.
    assert!(
        json.body[1].get("attendee_name").is_none(),
        "Paul gave no name"
    );
    app.get(&path, Some(&token))
        .await
        .assert_problem(403, "forbidden");

    let res = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(&admin)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        res.headers()
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "booking_id,name,email,status,amount_cents,currency,refunded_cents,created_at"
    );
    assert_eq!(lines.len(), 3);
    assert!(
        lines[1].contains(",\"Marie Dupont, née Martin\",marie@example.com,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains(",marie@example.com,confirmed,199700,EUR,,"),
        "{}",
        lines[1]
    );
    // A download link cannot set Accept: the query says CSV instead.
    let linked = app
        .client
        .get(format!("{}{path}?format=csv", app.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(linked.status(), StatusCode::OK);
    assert_eq!(linked.text().await.unwrap(), csv);
    let forced_json = app.get(&format!("{path}?format=json"), Some(&admin)).await;
    assert_eq!(forced_json.body, json.body);
    app.get(&format!("{path}?format=xml"), Some(&admin))
        .await
        .assert_problem(400, "bad_request");
    app.get(
        &format!("/api/admin/sessions/{}/bookings", uuid::Uuid::new_v4()),
        Some(&admin),
    )
    .await
    .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn the_sweeper_expires_lapsed_holds_once_even_when_run_twice_at_once() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let sid = session(&app, json!({"max_places": 2})).await;
    let (_, a) = app.quick_user("a@example.com").await;
    let (_, b) = app.quick_user("b@example.com").await;
    let first = app.hold(&sid, &a).await;
    app.hold(&sid, &b).await;
    assert_eq!(app.session_row(&sid).await.status, "full");

    // Not yet lapsed: nothing happens.
    let now = Utc::now();
    let n = api::jobs::sweeper::sweep_once(
        &app.state.db,
        gateway.as_ref(),
        &app.state.policy.offers,
        now,
    )
    .await
    .unwrap();
    assert_eq!(n, 0);

    let later = now + Duration::minutes(40);
    let offers = app.state.policy.offers.clone();
    let (x, y) = tokio::join!(
        api::jobs::sweeper::sweep_once(&app.state.db, gateway.as_ref(), &offers, later),
        api::jobs::sweeper::sweep_once(&app.state.db, gateway.as_ref(), &offers, later),
    );
    assert_eq!(x.unwrap() + y.unwrap(), 2);
    let s = app.session_row(&sid).await;
    assert_eq!((s.reserved_places, s.status.as_str()), (0, "open"));
    assert_eq!(
        app.booking_row(first["booking_id"].as_str().unwrap())
            .await
            .status,
        "expired"
    );
    assert_eq!(gateway.expires.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert!(app.audit().await.is_empty());
    let held = entity::immersion_bookings::Entity::find()
        .filter(entity::immersion_bookings::Column::Status.eq("held"))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(held, 0);
}

#[actix_web::test]
async fn the_local_pay_page_escapes_what_admins_and_users_typed() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app
        .create_session(
            &admin,
            json!({"location": "<script>alert('x')</script> & co"}),
        )
        .await;
    let (_, token) = app.quick_user("o'brien@example.com").await;
    let held = app.hold(s["id"].as_str().unwrap(), &token).await;
    let page = app
        .client
        .get(held["checkout_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert('x')&lt;/script&gt; &amp; co"),
        "{html}"
    );
    assert!(html.contains("o'brien@example.com"), "{html}");
}
