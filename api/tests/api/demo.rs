//! Demo data: the seed's calendar and fill levels, made of real bookings.

use chrono::{Datelike, NaiveDate, Weekday};
use common::auth::{AuthResponse, Role};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::support::{TestApp, spawn_app};

#[actix_web::test]
async fn the_calendar_relative_to_a_fixed_today() {
    let app = spawn_app().await;
    // A Wednesday: the first session starts the following Monday.
    let today: NaiveDate = "2031-01-08".parse().unwrap();
    assert_eq!(today.weekday(), Weekday::Wed);
    let accounts = api::domain::demo::seed_if_empty(&app.state.db, &app.state.hashing, today)
        .await
        .unwrap();
    assert!(accounts.is_some());

    let admin = app
        .post(
            "/api/auth/login",
            None,
            serde_json::json!({"email": "admin@immersion.test", "password": accounts.unwrap().admin_password}),
        )
        .await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.body);
    let admin: AuthResponse = admin.ok();
    assert_eq!(admin.user.role, Role::Admin);
    let token = admin.token.as_str();

    let all = app.get("/api/admin/sessions", Some(token)).await;
    let list = all.body.as_array().unwrap();
    let got: Vec<(String, String, i64, String)> = list
        .iter()
        .map(|s| {
            (
                s["starts_on"].as_str().unwrap().to_owned(),
                s["ends_on"].as_str().unwrap().to_owned(),
                s["reserved_places"].as_i64().unwrap(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want: Vec<(String, String, i64, String)> = [
        ("2031-01-13", "2031-01-17", 3, "open"),
        ("2031-01-27", "2031-01-31", 6, "open"),
        ("2031-02-10", "2031-02-14", 2, "open"),
        ("2031-02-24", "2031-02-28", 8, "full"),
        ("2031-03-10", "2031-03-14", 0, "open"),
        ("2031-03-24", "2031-03-28", 0, "open"),
        ("2031-04-07", "2031-04-11", 0, "open"),
        ("2031-04-21", "2031-04-25", 0, "open"),
    ]
    .iter()
    .map(|(a, b, c, d)| ((*a).to_owned(), (*b).to_owned(), *c, (*d).to_owned()))
    .collect();
    assert_eq!(got, want);
    for s in list {
        assert_eq!(s["max_places"], 8);
        assert_eq!(s["price_cents"], 199_700);
        assert_eq!(s["currency"], "EUR");
        // Invariant 1: the counter equals the held + confirmed bookings.
        let id: uuid::Uuid = s["id"].as_str().unwrap().parse().unwrap();
        let booked = entity::immersion_bookings::Entity::find()
            .filter(entity::immersion_bookings::Column::SessionId.eq(id))
            .filter(entity::immersion_bookings::Column::Status.is_in(["held", "confirmed"]))
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(booked as i64, s["reserved_places"].as_i64().unwrap());
    }

    // Seeding is once only.
    assert!(
        api::domain::demo::seed_if_empty(&app.state.db, &app.state.hashing, today)
            .await
            .unwrap()
            .is_none()
    );
    let again = app.get("/api/admin/sessions", Some(token)).await;
    assert_eq!(again.body.as_array().unwrap().len(), 8);

    // The members' area has something to show, and attendees have names.
    let resources = app.get("/api/app/resources", Some(token)).await;
    assert_eq!(resources.status, StatusCode::OK, "{}", resources.body);
    let kinds: Vec<&str> = resources
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["text", "document", "video"]);
    let first = list[0]["id"].as_str().unwrap();
    let attendees = app
        .get(
            &format!("/api/admin/sessions/{first}/bookings"),
            Some(token),
        )
        .await;
    let names: Vec<&str> = attendees
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["attendee_name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3);
    assert!(names.contains(&"Camille Martin"), "{names:?}");
}

#[actix_web::test]
async fn a_development_start_lists_the_eight_demo_sessions_in_the_future() {
    let app = TestApp::builder().env("DEMO_DATA", "true").spawn().await;
    let list = app.get("/api/sessions", None).await;
    let list = list.body.as_array().unwrap();
    assert_eq!(list.len(), 8);
    let fills: Vec<i64> = list
        .iter()
        .map(|s| s["reserved_places"].as_i64().unwrap())
        .collect();
    assert_eq!(fills, [3, 6, 2, 8, 0, 0, 0, 0]);
    let today = chrono::Utc::now().date_naive();
    for s in list {
        let start: NaiveDate = s["starts_on"].as_str().unwrap().parse().unwrap();
        assert!(start > today);
        assert_eq!(start.weekday(), Weekday::Mon);
    }
    assert_eq!(list[3]["status"], "full");
    assert_eq!(list[3]["available_places"], 0);
}

#[actix_web::test]
async fn demo_data_can_be_turned_off_and_production_never_seeds() {
    let off = TestApp::builder().env("DEMO_DATA", "false").spawn().await;
    assert_eq!(
        off.get("/api/sessions", None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let prod = TestApp::builder()
        .env("DEMO_DATA", "true")
        .env("APP_ENV", "production")
        .env("COMPANY_SIRET", "73282932000074")
        .env("COMPANY_NDA", "11751234575")
        .env("ALLOW_HTTP_PUBLIC_URL", "true")
        .env("STRIPE_SECRET_KEY", "sk_test_unused")
        .env("SMTP_URL", "smtp://127.0.0.1:2525")
        .env("ALLOW_PLAIN_SMTP", "true")
        .env("STRIPE_PRICE_MONTHLY", "price_monthly")
        .env("STRIPE_PRICE_YEARLY", "price_yearly")
        .spawn()
        .await;
    assert_eq!(
        prod.get("/api/sessions", None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        0
    );
}
