//! A payment for a session that has begun is refunded (invariant 15),
//! whatever became of its hold: an asynchronous method (SEPA) lands days
//! after the checkout. The buyer is told in French, in the transaction
//! that owes the refund; the seat is not kept.

use chrono::{Duration, Utc};
use common::bookings::BookingStatus;
use serde_json::json;

use crate::support::{CountingGateway, Seat, TestApp, event, held_seat};

/// The session of `seat` began today (time passed since it was held).
async fn begin_today(app: &TestApp, seat: &Seat) {
    use entity::immersion_sessions as s;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let today = api::domain::platform::clock::today_at_venue(Utc::now());
    s::Entity::update_many()
        .col_expr(s::Column::StartsOn, Expr::value(today))
        .col_expr(s::Column::EndsOn, Expr::value(today + Duration::days(4)))
        .filter(s::Column::Id.eq(seat.sid.parse::<uuid::Uuid>().unwrap()))
        .exec(&app.state.db)
        .await
        .unwrap();
}

async fn refund_mails(app: &TestApp, to: &str) -> Vec<entity::mail_outbox::Model> {
    app.mails_to(to)
        .await
        .into_iter()
        .filter(|m| m.subject.contains("remboursé"))
        .collect()
}

async fn settle(app: &TestApp, gateway: &CountingGateway) {
    crate::support::settle(app, gateway, Utc::now()).await;
}

#[actix_web::test]
async fn a_late_payment_for_a_session_that_has_begun_is_refunded_with_a_seat_free() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let seat = held_seat(&app, 8, "marie@example.com").await;
    // The hold lapses; the session begins; then the SEPA payment lands.
    app.lapse_holds(gateway.as_ref()).await;
    begin_today(&app, &seat).await;
    let a = app
        .deliver(&event("checkout.session.completed", seat.paid()))
        .await;
    assert_eq!(a.body["outcome"], "refunded_late", "{}", a.body);
    settle(&app, &gateway).await;
    assert_eq!(gateway.refund_calls(), 1);
    let b = app.booking_row(seat.booking()).await;
    assert_eq!(b.status, BookingStatus::Refunded.as_str());
    assert_eq!(b.refunded_cents, Some(199_700));
    let s = app.session_row(&seat.sid).await;
    assert_eq!(
        s.reserved_places, 0,
        "a seat was kept for a session that had begun"
    );
    let mails = refund_mails(&app, "marie@example.com").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].body.contains("déjà commencé"), "{}", mails[0].body);
    let price = common::money::format_price(199_700, "EUR");
    assert!(mails[0].body.contains(&price), "{}", mails[0].body);
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

#[actix_web::test]
async fn a_hold_paid_after_its_session_began_is_refunded_and_its_seat_freed() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let seat = held_seat(&app, 8, "marie@example.com").await;
    begin_today(&app, &seat).await;
    let completed = event("checkout.session.completed", seat.paid());
    let a = app.deliver(&completed).await;
    assert_eq!(a.body["outcome"], "refunded_late", "{}", a.body);
    assert_eq!(app.deliver(&completed).await.body["duplicate"], json!(true));
    settle(&app, &gateway).await;
    assert_eq!(gateway.refund_calls(), 1);
    let b = app.booking_row(seat.booking()).await;
    assert_eq!(b.status, BookingStatus::Refunded.as_str());
    assert_eq!(app.session_row(&seat.sid).await.reserved_places, 0);
    assert_eq!(refund_mails(&app, "marie@example.com").await.len(), 1);
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

#[actix_web::test]
async fn a_late_payment_with_no_seat_left_tells_the_buyer_it_is_refunded() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let seat = held_seat(&app, 1, "marie@example.com").await;
    app.lapse_holds(gateway.as_ref()).await;
    let (_, paul) = app.quick_user("paul@example.com").await;
    app.hold(&seat.sid, &paul).await;
    let a = app
        .deliver(&event("checkout.session.completed", seat.paid()))
        .await;
    assert_eq!(a.body["outcome"], "refunded_late", "{}", a.body);
    let mails = refund_mails(&app, "marie@example.com").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0].body.contains("dernière place"),
        "{}",
        mails[0].body
    );
}

#[actix_web::test]
async fn the_audit_sees_a_seat_confirmed_once_its_session_had_begun() {
    let app = TestApp::builder().spawn().await;
    let seat = crate::support::paid_seat(
        &app,
        app.create_session(&app.admin_token().await, json!({}))
            .await["id"]
            .as_str()
            .unwrap(),
        "marie@example.com",
    )
    .await;
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
    // As the previous code did: a payment kept after the start.
    begin_today(&app, &seat).await;
    let drift = app.audit().await;
    assert!(
        drift
            .iter()
            .any(|d| d.contains(seat.booking()) && d.contains("invariant 15")),
        "{drift:?}"
    );
}

/// A hold (an offer made the day before, say) of a session that has
/// begun ends at the next sweep, and its page is closed: nobody pays for
/// a place only to have it refunded.
#[actix_web::test]
async fn the_sweeper_ends_holds_of_a_session_that_has_begun() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let seat = held_seat(&app, 8, "marie@example.com").await;
    begin_today(&app, &seat).await;
    let swept = api::jobs::sweeper::sweep_once(
        &app.state.db,
        gateway.as_ref(),
        &app.state.policy.offers,
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(swept, 1);
    let b = app.booking_row(seat.booking()).await;
    assert_eq!(b.status, BookingStatus::Expired.as_str());
    assert_eq!(app.session_row(&seat.sid).await.reserved_places, 0);
    assert_eq!(
        gateway.expires.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the page was not closed"
    );
}
