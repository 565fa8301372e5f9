//! Money and seats agree whatever the order of events (invariant 15): a
//! refund seen before its payment is kept and wins when the payment
//! arrives; refund totals only grow, whoever made the refund; the audit
//! sees a confirmed seat whose money went back, and a refund total below
//! the gateway's.

use common::bookings::BookingStatus;
use serde_json::{Value, json};

use crate::support::{CountingGateway, TestApp, day, event, held_seat, paid_seat};

/// Stripe's `charge.refunded` for `payment_intent`, `amount_refunded` of
/// the seat's 1 997 € gone back.
fn charge_refunded(payment_intent: &Value, amount_refunded: i64) -> Value {
    event(
        "charge.refunded",
        json!({
            "id": format!("ch_test_{}", uuid::Uuid::new_v4().simple()),
            "object": "charge",
            "amount": 199_700,
            "amount_refunded": amount_refunded,
            "refunded": amount_refunded == 199_700,
            "payment_intent": payment_intent,
        }),
    )
}

#[actix_web::test]
async fn a_refund_seen_before_its_payment_wins_when_the_payment_arrives() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let seat = held_seat(&app, 8, "marie@example.com").await;
    let paid = seat.paid();
    // Refunded in the Dashboard, and that event comes first.
    let refund = charge_refunded(&paid["payment_intent"], 199_700);
    let a = app.deliver(&refund).await;
    assert_eq!(a.body["outcome"], "refund_before_payment", "{}", a.body);
    let a = app
        .deliver(&event("checkout.session.completed", paid))
        .await;
    assert_eq!(a.body["outcome"], "refunded_before_payment", "{}", a.body);
    let b = app.booking_row(seat.booking()).await;
    assert_eq!(b.status, BookingStatus::Refunded.as_str());
    assert_eq!(b.refunded_cents, Some(199_700));
    assert_eq!(app.session_row(&seat.sid).await.reserved_places, 0);
    // The money went back already: nothing more is owed, no seat confirmed.
    crate::support::settle(&app, &gateway, chrono::Utc::now()).await;
    assert_eq!(gateway.refund_calls(), 0);
    let confirmations = app
        .mails_to("marie@example.com")
        .await
        .into_iter()
        .filter(|m| m.subject.contains("confirmée"))
        .count();
    assert_eq!(confirmations, 0);
    // The same refund delivered again changes nothing.
    assert_eq!(app.deliver(&refund).await.body["duplicate"], true);
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

#[actix_web::test]
async fn a_partial_refund_seen_early_is_recorded_on_the_seat_it_confirms() {
    let app = TestApp::builder().spawn().await;
    let seat = held_seat(&app, 8, "marie@example.com").await;
    let paid = seat.paid();
    let a = app
        .deliver(&charge_refunded(&paid["payment_intent"], 50_000))
        .await;
    assert_eq!(a.body["outcome"], "refund_before_payment", "{}", a.body);
    let a = app
        .deliver(&event("checkout.session.completed", paid))
        .await;
    assert_eq!(a.body["outcome"], "confirmed", "{}", a.body);
    let b = app.booking_row(seat.booking()).await;
    assert_eq!(b.status, BookingStatus::Confirmed.as_str());
    assert_eq!(b.refunded_cents, Some(50_000));
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

#[actix_web::test]
async fn partial_refunds_out_of_order_never_lower_the_total() {
    let app = TestApp::builder().spawn().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let seat = paid_seat(&app, s["id"].as_str().unwrap(), "marie@example.com").await;
    let pi = app
        .booking_row(seat.booking())
        .await
        .stripe_payment_intent_id
        .unwrap();
    // The second partial refund's event (50 000 in all) comes first.
    app.deliver(&charge_refunded(&json!(pi), 50_000)).await;
    app.deliver(&charge_refunded(&json!(pi), 20_000)).await;
    let b = app.booking_row(seat.booking()).await;
    assert_eq!(b.refunded_cents, Some(50_000));
    assert_eq!(b.status, BookingStatus::Confirmed.as_str());
}

#[actix_web::test]
async fn a_dashboard_refund_of_a_seat_cancelled_after_the_cutoff_is_recorded() {
    let app = TestApp::builder().spawn().await;
    let admin = app.admin_token().await;
    // Inside the cutoff: cancelling keeps the money.
    let s = app
        .create_session(&admin, json!({"starts_on": day(5), "ends_on": day(9)}))
        .await;
    let seat = paid_seat(&app, s["id"].as_str().unwrap(), "marie@example.com").await;
    let c = app.cancel(seat.booking(), &seat.token).await;
    assert_eq!(c.status, reqwest::StatusCode::OK, "{}", c.body);
    let pi = app
        .booking_row(seat.booking())
        .await
        .stripe_payment_intent_id
        .unwrap();
    // A person refunds it anyway, in the Dashboard.
    let a = app.deliver(&charge_refunded(&json!(pi), 199_700)).await;
    assert_eq!(a.body["outcome"], "refunded", "{}", a.body);
    let b = app.booking_row(seat.booking()).await;
    assert_eq!(b.status, BookingStatus::Refunded.as_str());
    assert_eq!(b.refunded_cents, Some(199_700));
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

#[actix_web::test]
async fn the_audit_sees_money_gone_back_from_a_confirmed_seat_and_totals_below_stripe_s() {
    let app = TestApp::builder().spawn().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let seat = paid_seat(&app, s["id"].as_str().unwrap(), "marie@example.com").await;
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
    use entity::immersion_bookings as b;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let id: uuid::Uuid = seat.booking().parse().unwrap();
    // A confirmed seat whose whole price went back.
    b::Entity::update_many()
        .col_expr(b::Column::RefundedCents, Expr::value(Some(199_700i64)))
        .filter(b::Column::Id.eq(id))
        .exec(&app.state.db)
        .await
        .unwrap();
    let drift = app.audit().await;
    assert!(
        drift
            .iter()
            .any(|d| d.contains(seat.booking()) && d.contains("money went back")),
        "{drift:?}"
    );
    // A refund total below what Stripe said went back.
    b::Entity::update_many()
        .col_expr(b::Column::RefundedCents, Expr::value(Some(10_000i64)))
        .filter(b::Column::Id.eq(id))
        .exec(&app.state.db)
        .await
        .unwrap();
    let pi = app
        .booking_row(seat.booking())
        .await
        .stripe_payment_intent_id
        .unwrap();
    api::domain::billing::gateway_refunds::remember(
        &app.state.db,
        &pi,
        50_000,
        false,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let drift = app.audit().await;
    assert!(
        drift
            .iter()
            .any(|d| d.contains(seat.booking()) && d.contains("below the gateway's")),
        "{drift:?}"
    );
}

/// A partial refund seen early, then the payment lands after its hold
/// lapsed with no seat left: the rest is refunded, not the whole.
#[actix_web::test]
async fn a_late_payment_after_an_early_partial_refund_owes_only_the_rest() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let seat = held_seat(&app, 1, "marie@example.com").await;
    app.lapse_holds(gateway.as_ref()).await;
    let (_, paul) = app.quick_user("paul@example.com").await;
    app.hold(&seat.sid, &paul).await;
    let paid = seat.paid();
    app.deliver(&charge_refunded(&paid["payment_intent"], 50_000))
        .await;
    let a = app
        .deliver(&event("checkout.session.completed", paid))
        .await;
    assert_eq!(a.status, reqwest::StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["outcome"], "refunded_late", "{}", a.body);
    crate::support::settle(&app, &gateway, chrono::Utc::now()).await;
    let refunds = gateway.inner.refunds();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0].amount_cents, 149_700);
    let b = app.booking_row(seat.booking()).await;
    assert_eq!(b.refunded_cents, Some(199_700));
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

/// A second payment of a paid seat, already refunded in the Dashboard
/// before its event came: nothing more is owed back.
#[actix_web::test]
async fn a_second_payment_refunded_early_is_not_refunded_again() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let seat = paid_seat(&app, s["id"].as_str().unwrap(), "marie@example.com").await;
    let mut second = seat.paid();
    second["payment_intent"] = json!("pi_test_second");
    app.deliver(&charge_refunded(&json!("pi_test_second"), 199_700))
        .await;
    let a = app
        .deliver(&event("checkout.session.completed", second))
        .await;
    assert_eq!(a.body["outcome"], "anomaly_second_payment", "{}", a.body);
    crate::support::settle(&app, &gateway, chrono::Utc::now()).await;
    assert_eq!(gateway.refund_calls(), 0);
}

/// Found by the simulation (seed 6): an admin refunds a paid seat in full
/// in Stripe's Dashboard, and before that event arrives its owner cancels.
/// The refund we owe is refused (nothing is left to refund); it used to be
/// retried until it failed for good, for a person to look at. The money
/// is back: nothing more is asked, and nothing is left owed or failed.
#[actix_web::test]
async fn a_refund_owed_after_a_dashboard_refund_asks_only_what_is_left() {
    // All of it back in the Dashboard: nothing more is asked. Part of it:
    // the rest, under a key of its own.
    for dashboard in [199_700, 50_000] {
        cancel_after_a_dashboard_refund(dashboard).await;
    }
}

async fn cancel_after_a_dashboard_refund(dashboard: i64) {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let seat = held_seat(&app, 8, "marie@example.com").await;
    let page = seat.held["checkout_session_id"].as_str().unwrap();
    let paid = gateway
        .inner
        .close_seat(page, true, chrono::Utc::now())
        .expect("the page is paid");
    let pi = paid["data"]["object"]["payment_intent"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = app.deliver(&paid).await;
    assert_eq!(a.body["outcome"], "confirmed", "{}", a.body);
    // The Dashboard refund; its charge.refunded is still on its way.
    use api::payments::PaymentGateway;
    gateway
        .inner
        .refund(&api::payments::RefundRequest {
            payment_intent_id: pi.clone(),
            amount_cents: dashboard,
            idempotency_key: "dashboard".into(),
            booking_id: None,
        })
        .await
        .unwrap();
    let a = app.cancel(seat.booking(), &seat.token).await;
    assert!(a.status.is_success(), "{}", a.body);
    // The job retries until the call is settled one way or the other.
    for minutes in [0, 2, 5, 10, 20, 40, 80] {
        crate::support::settle(
            &app,
            &gateway,
            chrono::Utc::now() + chrono::Duration::minutes(minutes),
        )
        .await;
    }
    let back: i64 = gateway
        .inner
        .refunds()
        .iter()
        .filter(|r| r.payment_intent_id == pi)
        .map(|r| r.amount_cents)
        .sum();
    assert_eq!(back, 199_700, "all of it back, none twice");
    let drift = app.audit().await;
    assert!(drift.is_empty(), "{drift:?}");
}
