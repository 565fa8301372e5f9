//! The admin dashboard's figures on a known data set (run on SQLite and on
//! PostgreSQL like every test here).

use chrono::{Duration, Utc};
use common::payments::{AnomalyKind, OwedCallKind, OwedCallStatus};
use common::subscriptions::SubscriptionType;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::json;
use uuid::Uuid;

use crate::support::{TestApp, paid_seat, seat_in, spawn_app};

async fn member(app: &TestApp, email: &str, plan: SubscriptionType, active: bool) {
    let (user_id, _) = app.quick_user(email).await;
    entity::subscription_status::Entity::insert(entity::subscription_status::ActiveModel {
        user_id: Set(user_id),
        is_active: Set(active),
        subscription_type: Set(plan),
        stripe_customer_id: Set(None),
        stripe_subscription_id: Set(None),
        stripe_status: Set(None),
        current_period_end: Set(None),
        cancel_at_period_end: Set(false),
        last_event_at: Set(None),
        updated_at: Set(Utc::now()),
    })
    .exec(&app.state.db)
    .await
    .unwrap();
}

#[actix_web::test]
async fn the_dashboard_figures_match_a_known_data_set() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let start_a = Utc::now().date_naive() + Duration::days(30);
    let a = app
        .create_session(&admin, json!({"max_places": 4, "location": "Lyon", "starts_on": start_a, "ends_on": start_a + Duration::days(4)}))
        .await;
    let start_b = start_a + Duration::days(10);
    let b = app
        .create_session(&admin, json!({"max_places": 8, "location": "Annecy", "starts_on": start_b, "ends_on": start_b + Duration::days(4)}))
        .await;
    let (sa, sb) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());

    // Session A: two paid seats (one then cancelled and refunded) and a hold.
    let a1 = paid_seat(&app, sa, "a1@example.com").await;
    paid_seat(&app, sa, "a2@example.com").await;
    seat_in(&app, sa, "held@example.com").await;
    let cancelled = app.cancel(a1.booking(), &a1.token).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    // Session B: one paid seat, paid four months ago (its month's column).
    let b1 = paid_seat(&app, sb, "b1@example.com").await;
    let now = Utc::now();
    let bounds = api::domain::reports::stats::month_bounds(now);
    let then = bounds[8].1 + Duration::days(10);
    let moved = entity::immersion_bookings::ActiveModel {
        id: Set(b1.booking().parse().unwrap()),
        confirmed_at: Set(Some(then)),
        ..Default::default()
    };
    entity::immersion_bookings::Entity::update(moved)
        .exec(&app.state.db)
        .await
        .unwrap();

    // Members: three monthly, one yearly, one whose access has ended.
    for i in 0..3 {
        member(
            &app,
            &format!("m{i}@example.com"),
            SubscriptionType::PremiumMonthly,
            true,
        )
        .await;
    }
    member(&app, "y@example.com", SubscriptionType::PremiumYearly, true).await;
    member(
        &app,
        "gone@example.com",
        SubscriptionType::PremiumMonthly,
        false,
    )
    .await;

    // One refund still owed, one settled; one open anomaly.
    for (status, cents) in [(OwedCallStatus::Owed, 5_000), (OwedCallStatus::Done, 7_000)] {
        let id = Uuid::new_v4();
        entity::owed_gateway_calls::Entity::insert(entity::owed_gateway_calls::ActiveModel {
            id: Set(id),
            kind: Set(OwedCallKind::Refund),
            reason: Set("anomaly".into()),
            booking_id: Set(None),
            target: Set(format!("pi_{id}")),
            amount_cents: Set(Some(cents)),
            idempotency_key: Set(format!("refund-{id}")),
            status: Set(status),
            result_id: Set(None),
            attempts: Set(0),
            last_error: Set(None),
            next_attempt_at: Set(now),
            created_at: Set(now),
            done_at: Set(None),
        })
        .exec(&app.state.db)
        .await
        .unwrap();
    }
    entity::payment_anomalies::Entity::insert(entity::payment_anomalies::ActiveModel {
        id: Set(Uuid::new_v4()),
        kind: Set(AnomalyKind::AmountMismatch),
        event_id: Set("evt_1".into()),
        booking_id: Set(None),
        checkout_session_id: Set(None),
        payment_intent_id: Set(None),
        subscription_id: Set(None),
        amount_cents: Set(Some(100)),
        currency: Set(Some("EUR".into())),
        detail: Set("paid 1 €".into()),
        refund_call_id: Set(None),
        created_at: Set(now),
        acknowledged_at: Set(None),
        acknowledged_by: Set(None),
    })
    .exec(&app.state.db)
    .await
    .unwrap();

    let res = app.get("/api/admin/stats", Some(&admin)).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let s = &res.body;
    // This month: two seats paid, one refunded.
    let months = s["revenue_by_month"].as_array().unwrap();
    assert_eq!(months.len(), 12);
    assert_eq!(
        months[11],
        json!({"month": bounds[11].0.format("%Y-%m").to_string(), "paid_cents": 399_400, "refunded_cents": 199_700, "revenue_cents": 199_700})
    );
    assert_eq!(s["revenue_this_month_cents"], 199_700);
    assert_eq!(months[8]["paid_cents"], 199_700);
    assert_eq!(months[8]["month"], bounds[8].0.format("%Y-%m").to_string());
    for (i, m) in months.iter().enumerate() {
        if i != 8 && i != 11 {
            assert_eq!(m["revenue_cents"], 0, "{m}");
        }
    }
    // Upcoming sessions, soonest first.
    assert_eq!(s["seats_sold_upcoming"], 2);
    let up = s["upcoming"].as_array().unwrap();
    assert_eq!(up.len(), 2);
    assert_eq!(
        (
            &up[0]["location"],
            &up[0]["confirmed"],
            &up[0]["held"],
            &up[0]["fill_rate"]
        ),
        (&json!("Lyon"), &json!(1), &json!(1), &json!(0.25))
    );
    assert_eq!(
        (
            &up[1]["location"],
            &up[1]["confirmed"],
            &up[1]["held"],
            &up[1]["fill_rate"]
        ),
        (&json!("Annecy"), &json!(1), &json!(0), &json!(0.125))
    );
    // Members and recurring revenue at the local prices (29 € and 290 €).
    assert_eq!(
        s["subscribers"],
        json!([{"plan": "premium_monthly", "active": 3}, {"plan": "premium_yearly", "active": 1}])
    );
    assert_eq!(s["mrr_cents"], 3 * 2_900 + 2_417);
    assert_eq!(s["cancellations_30d"], 1);
    assert_eq!(s["refunds_30d"], 1);
    assert_eq!(s["refunded_30d_cents"], 199_700);
    assert_eq!(s["owed_refunds"], 1);
    assert_eq!(s["owed_refunds_cents"], 5_000);
    assert_eq!(s["open_anomalies"], 1);

    let (_, user) = app.quick_user("curious@example.com").await;
    app.get("/api/admin/stats", Some(&user))
        .await
        .assert_problem(403, "forbidden");
}
