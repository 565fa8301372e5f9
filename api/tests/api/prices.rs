//! Free sessions are not sold: a price below Stripe's least charge (0.50)
//! is refused at creation and on edit with a 422 naming the rule. A free
//! seat from before (legacy data) whose payment lands late is answered,
//! never a 500: nothing was taken, so nothing is owed back.

use common::sessions::SessionDto;
use serde_json::json;

use crate::support::{CountingGateway, TestApp, event, seat_checkout, session_body};

#[actix_web::test]
async fn a_free_session_is_refused_at_creation_and_on_edit() {
    let app = TestApp::builder().spawn().await;
    let admin = app.admin_token().await;
    for price in [0, 1, 49] {
        let mut body = session_body();
        body["price_cents"] = json!(price);
        let a = app.post("/api/admin/sessions", Some(&admin), body).await;
        a.assert_problem(422, "validation_failed");
        assert_eq!(a.body["errors"][0]["field"], "price_cents", "{}", a.body);
        assert_eq!(a.body["errors"][0]["rule"], "below_minimum", "{}", a.body);
    }
    let s: SessionDto =
        serde_json::from_value(app.create_session(&admin, json!({})).await).unwrap();
    let path = format!("/api/admin/sessions/{}", s.id);
    let a = app
        .patch(&path, Some(&admin), json!({"price_cents": 0}))
        .await;
    a.assert_problem(422, "validation_failed");
    assert_eq!(a.body["errors"][0]["rule"], "below_minimum", "{}", a.body);
    let cheapest: SessionDto = app
        .patch(&path, Some(&admin), json!({"price_cents": 50}))
        .await
        .ok();
    assert_eq!(cheapest.price_cents, 50);
}

#[actix_web::test]
async fn a_late_payment_of_a_free_seat_from_before_is_answered_and_owes_nothing() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let admin = app.admin_token().await;
    let s: SessionDto =
        serde_json::from_value(app.create_session(&admin, json!({"max_places": 1})).await).unwrap();
    let sid = s.id.to_string();
    // A free session from before they were refused.
    {
        use entity::immersion_sessions as t;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        t::Entity::update_many()
            .col_expr(t::Column::PriceCents, Expr::value(0i64))
            .filter(t::Column::Id.eq(s.id))
            .exec(&app.state.db)
            .await
            .unwrap();
    }
    let (marie, token) = app.quick_user("marie@example.com").await;
    let held = app.hold(&sid, &token).await;
    // The hold lapses, someone else takes the seat, then the payment of
    // nothing lands.
    app.lapse_holds(gateway.as_ref()).await;
    let (_, paul) = app.quick_user("paul@example.com").await;
    app.hold(&sid, &paul).await;
    let mut paid = seat_checkout(&held, &sid, &marie, true);
    paid["amount_total"] = json!(0);
    let a = app
        .deliver(&event("checkout.session.completed", paid))
        .await;
    assert_eq!(a.status, reqwest::StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["outcome"], "refunded_late", "{}", a.body);
    assert_eq!(gateway.refund_calls(), 0);
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

/// A session priced below today's minimum, from before it, can still be
/// edited, closed and deactivated; only a new price must meet it.
#[actix_web::test]
async fn a_free_session_from_before_can_still_be_closed_and_edited() {
    let app = TestApp::builder().spawn().await;
    let admin = app.admin_token().await;
    let s: SessionDto =
        serde_json::from_value(app.create_session(&admin, json!({})).await).unwrap();
    {
        use entity::immersion_sessions as t;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        t::Entity::update_many()
            .col_expr(t::Column::PriceCents, Expr::value(0i64))
            .filter(t::Column::Id.eq(s.id))
            .exec(&app.state.db)
            .await
            .unwrap();
    }
    let path = format!("/api/admin/sessions/{}", s.id);
    let closed: SessionDto = app
        .patch(
            &path,
            Some(&admin),
            json!({"closed": true, "location": "Nantes"}),
        )
        .await
        .ok();
    assert_eq!(
        (closed.price_cents, closed.location.as_str()),
        (0, "Nantes")
    );
    app.patch(&path, Some(&admin), json!({"price_cents": 10}))
        .await
        .assert_problem(422, "validation_failed");
}
