//! A hold's end is fixed when it is taken (invariant 14): paying again
//! hands out the open Checkout Session, or opens a new one under a new
//! key that expires by the hold's end, and never moves the hold; the
//! audit sees a hold longer than its bound.

use chrono::{Duration, Utc};
use common::bookings::CheckoutResponse;
use serde_json::json;

use crate::support::{CountingGateway, TestApp, held_seat};

async fn pay(app: &TestApp, booking: &str, token: &str) -> crate::support::Answer {
    app.post(
        &format!("/api/bookings/{booking}/pay"),
        Some(token),
        json!({}),
    )
    .await
}

#[actix_web::test]
async fn paying_again_hands_out_the_same_page_and_never_moves_the_hold() {
    let app = TestApp::builder().spawn().await;
    let seat = held_seat(&app, 8, "marie@example.com").await;
    let first: CheckoutResponse = serde_json::from_value(seat.held.clone()).unwrap();
    // Two minutes into a 33-minute hold, then every minute after: the
    // hold's end stays where it was.
    let end = Utc::now() + Duration::minutes(31);
    app.set_hold_end(seat.booking(), end).await;
    for _ in 0..5 {
        let again: CheckoutResponse = pay(&app, seat.booking(), &seat.token).await.ok();
        assert_eq!(again.checkout_session_id, first.checkout_session_id);
        assert_eq!(again.checkout_url, first.checkout_url);
        assert_eq!(again.hold_expires_at.timestamp(), end.timestamp());
        let row = app.booking_row(seat.booking()).await;
        assert_eq!(row.hold_expires_at.unwrap().timestamp(), end.timestamp());
    }
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

#[actix_web::test]
async fn a_new_page_for_a_hold_gets_a_new_key_and_expires_by_the_hold_s_end() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let seat = held_seat(&app, 8, "marie@example.com").await;
    let first: CheckoutResponse = serde_json::from_value(seat.held.clone()).unwrap();
    let end = app
        .booking_row(seat.booking())
        .await
        .hold_expires_at
        .unwrap();
    // The first page is gone (Stripe says it expired): a new one, that
    // ends with the hold; the hold stays.
    gateway
        .pages_expired
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let again: CheckoutResponse = pay(&app, seat.booking(), &seat.token).await.ok();
    assert_ne!(again.checkout_session_id, first.checkout_session_id);
    assert_eq!(again.hold_expires_at, end);
    assert_eq!(gateway.creates.load(std::sync::atomic::Ordering::SeqCst), 2);
    let row = app.booking_row(seat.booking()).await;
    assert_eq!(row.hold_expires_at, Some(end));
    assert_eq!(
        row.stripe_checkout_session_id.as_deref(),
        Some(again.checkout_session_id.as_str())
    );
    // With less than Stripe's 30 minutes left, no page can end by the
    // hold's end: the answer says so, and the hold stays.
    let near = Utc::now() + Duration::minutes(31);
    app.set_hold_end(seat.booking(), near).await;
    pay(&app, seat.booking(), &seat.token)
        .await
        .assert_problem(409, "booking_not_payable");
    assert_eq!(gateway.creates.load(std::sync::atomic::Ordering::SeqCst), 2);
    let row = app.booking_row(seat.booking()).await;
    assert_eq!(row.hold_expires_at.unwrap().timestamp(), near.timestamp());
}

#[actix_web::test]
async fn the_audit_sees_a_hold_longer_than_its_bound() {
    let app = TestApp::builder().spawn().await;
    let seat = held_seat(&app, 8, "marie@example.com").await;
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
    let row = app.booking_row(seat.booking()).await;
    app.set_hold_end(seat.booking(), row.created_at + Duration::hours(3))
        .await;
    let drift = app.audit().await;
    assert!(
        drift
            .iter()
            .any(|d| d.contains(seat.booking()) && d.contains("invariant 14")),
        "{drift:?}"
    );
}

/// A page that was completed carries a payment on its way (a card's
/// webhook, a bank transfer's days): paying again opens no second page,
/// whose existence would have that payment refunded as a stranger's.
#[actix_web::test]
async fn paying_again_while_a_payment_is_on_its_way_opens_no_second_page() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let seat = held_seat(&app, 8, "marie@example.com").await;
    let first: CheckoutResponse = serde_json::from_value(seat.held.clone()).unwrap();
    // Paid on the page; Stripe's event is not here yet.
    let completed = gateway
        .inner
        .close_seat(&first.checkout_session_id, true, Utc::now())
        .unwrap();
    pay(&app, seat.booking(), &seat.token)
        .await
        .assert_problem(409, "booking_not_payable");
    assert_eq!(gateway.creates.load(std::sync::atomic::Ordering::SeqCst), 1);
    // The payment arrives, and confirms the seat.
    let a = app.deliver(&completed).await;
    assert_eq!(a.body["outcome"], "confirmed", "{}", a.body);
}

/// A new page asks for what was booked, not today's price.
#[actix_web::test]
async fn a_new_page_charges_what_was_booked() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let seat = held_seat(&app, 8, "marie@example.com").await;
    let admin = app.admin_token().await;
    let patched = app
        .patch(
            &format!("/api/admin/sessions/{}", seat.sid),
            Some(&admin),
            json!({"price_cents": 249_700}),
        )
        .await;
    assert!(patched.status.is_success(), "{}", patched.body);
    gateway
        .pages_expired
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let again: CheckoutResponse = pay(&app, seat.booking(), &seat.token).await.ok();
    // The buyer pays the new page: its event carries what the page asked.
    gateway
        .pages_expired
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let completed = gateway
        .inner
        .close_seat(&again.checkout_session_id, true, Utc::now())
        .unwrap();
    assert_eq!(completed["data"]["object"]["amount_total"], 199_700);
    let a = app.deliver(&completed).await;
    assert_eq!(a.body["outcome"], "confirmed", "{}", a.body);
}

#[actix_web::test]
async fn a_session_that_has_begun_cannot_be_paid() {
    let app = TestApp::builder().spawn().await;
    let seat = held_seat(&app, 8, "marie@example.com").await;
    {
        use entity::immersion_sessions as s;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        let today = api::domain::platform::clock::today_at_venue(Utc::now());
        s::Entity::update_many()
            .col_expr(s::Column::StartsOn, Expr::value(today))
            .filter(s::Column::Id.eq(seat.sid.parse::<uuid::Uuid>().unwrap()))
            .exec(&app.state.db)
            .await
            .unwrap();
    }
    pay(&app, seat.booking(), &seat.token)
        .await
        .assert_problem(409, "booking_not_payable");
}
