//! The sessions catalog: public reads, admin writes, validation, status.

use chrono::Utc;
use common::sessions::{SessionDto, SessionStatus};
use reqwest::StatusCode;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{TestApp, day, spawn_app};

/// Takes `n` places of a session the way bookings will: confirmed rows and
/// the counter, together.
pub async fn reserve(app: &TestApp, session_id: &str, n: i32) {
    let session_id: Uuid = session_id.parse().unwrap();
    for _ in 0..n {
        let user = api::domain::accounts::users::insert_user(
            &app.state.db,
            &format!("{}@example.com", Uuid::new_v4().simple()),
            "!".into(),
            common::auth::Role::User,
            common::auth::License::Immersion,
        )
        .await
        .unwrap();
        entity::immersion_bookings::Entity::insert(entity::immersion_bookings::ActiveModel {
            id: Set(Uuid::new_v4()),
            session_id: Set(session_id),
            user_id: Set(user.id),
            user_email: Set(user.email),
            status: Set(common::bookings::BookingStatus::Confirmed),
            hold_expires_at: Set(None),
            stripe_checkout_session_id: Set(None),
            stripe_payment_intent_id: Set(None),
            amount_cents: Set(199_700),
            currency: Set("EUR".into()),
            refund_id: Set(None),
            refunded_cents: Set(None),
            confirmed_at: Set(Some(Utc::now())),
            cancelled_at: Set(None),
            created_at: Set(Utc::now()),
            updated_at: Set(Utc::now()),
            client_address: Set(None),
        })
        .exec(&app.state.db)
        .await
        .unwrap();
    }
    entity::immersion_sessions::Entity::update_many()
        .col_expr(
            entity::immersion_sessions::Column::ReservedPlaces,
            Expr::col(entity::immersion_sessions::Column::ReservedPlaces).add(n),
        )
        .filter(entity::immersion_sessions::Column::Id.eq(session_id))
        .exec(&app.state.db)
        .await
        .unwrap();
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn public_list_shows_active_unfinished_sessions_by_start_date() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let later = app
        .create_session(&admin, json!({"starts_on": day(60), "ends_on": day(64)}))
        .await;
    let sooner = app
        .create_session(&admin, json!({"starts_on": day(20), "ends_on": day(24)}))
        .await;
    let running = app
        .create_session(&admin, json!({"starts_on": day(-2), "ends_on": day(2)}))
        .await;
    let ended = app
        .create_session(&admin, json!({"starts_on": day(-10), "ends_on": day(-6)}))
        .await;
    let inactive = app
        .create_session(
            &admin,
            json!({"starts_on": day(30), "ends_on": day(34), "is_active": false}),
        )
        .await;

    let list = app.get("/api/sessions", None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(
        ids(&list.body),
        [&running["id"], &sooner["id"], &later["id"]]
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    );
    // Started: still listed, but closed to booking.
    let listed: Vec<SessionDto> = list.ok();
    assert_eq!(listed[0].status, SessionStatus::Closed);
    assert_eq!(listed[1].status, SessionStatus::Open);
    assert_eq!(listed[1].available_places, 8);

    for hidden in [&ended, &inactive] {
        let path = format!("/api/sessions/{}", hidden["id"].as_str().unwrap());
        app.get(&path, None).await.assert_problem(404, "not_found");
    }
    let one = app
        .get(
            &format!("/api/sessions/{}", sooner["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.ok::<SessionDto>(), listed[1]);

    // Admins see everything.
    let all = app.get("/api/admin/sessions", Some(&admin)).await;
    assert_eq!(all.body.as_array().unwrap().len(), 5);
}

#[actix_web::test]
async fn create_returns_the_session_with_derived_fields() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app
        .create_session(
            &admin,
            json!({"currency": "eur", "location": "  Bordeaux ", "description": "Cinq jours"}),
        )
        .await;
    assert_eq!(s["currency"], "EUR");
    assert_eq!(s["location"], "Bordeaux");
    assert_eq!(s["description"], "Cinq jours");
    assert_eq!(s["reserved_places"], 0);
    assert_eq!(s["available_places"], 8);
    assert_eq!(s["status"], "open");
    assert_eq!(s["is_active"], true);
    assert_eq!(s["price_cents"], 199_700);
}

#[actix_web::test]
async fn each_validation_rule_is_enforced_with_its_field() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let cases = [
        (
            json!({"starts_on": day(10), "ends_on": day(9)}),
            "ends_on",
            "before_start",
        ),
        (json!({"max_places": 0}), "max_places", "out_of_range"),
        (json!({"max_places": -3}), "max_places", "out_of_range"),
        (json!({"price_cents": -1}), "price_cents", "below_minimum"),
        (
            json!({"price_cents": 100_000_000}),
            "price_cents",
            "out_of_range",
        ),
        (json!({"currency": "XYZ"}), "currency", "unknown"),
        (json!({"location": "  "}), "location", "required"),
        // PostgreSQL cannot store \0: a clear 422, never a 500.
        (
            json!({"location": "Paris\u{0000}"}),
            "location",
            "control_characters",
        ),
        (
            json!({"description": "ligne\u{0007}"}),
            "description",
            "control_characters",
        ),
        (
            json!({"starts_on": "1900-01-01", "ends_on": "1900-01-05"}),
            "starts_on",
            "out_of_range",
        ),
        (
            json!({"starts_on": "2031-01-01", "ends_on": "9999-01-05"}),
            "ends_on",
            "out_of_range",
        ),
    ];
    for (overrides, field, rule) in cases {
        let mut body = crate::support::session_body();
        crate::support::merge(&mut body, overrides.clone());
        let a = app.post("/api/admin/sessions", Some(&admin), body).await;
        a.assert_problem(422, "validation_failed");
        assert_eq!(a.body["errors"][0]["field"], field, "{overrides}");
        assert_eq!(a.body["errors"][0]["rule"], rule, "{overrides}");
    }
    // The same rules hold on edit, against the merged result.
    let s = app.create_session(&admin, json!({})).await;
    let path = format!("/api/admin/sessions/{}", s["id"].as_str().unwrap());
    let a = app
        .patch(&path, Some(&admin), json!({"ends_on": day(1)}))
        .await;
    a.assert_problem(422, "validation_failed");
    assert_eq!(a.body["errors"][0]["rule"], "before_start");
    app.patch(&path, Some(&admin), json!({"currency": "ABC"}))
        .await
        .assert_problem(422, "validation_failed");
    // Nothing changed.
    let all = app.get("/api/admin/sessions", Some(&admin)).await;
    assert_eq!(all.body[0], s);
}

#[actix_web::test]
async fn max_places_never_goes_below_reserved_and_status_follows() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let id = s["id"].as_str().unwrap();
    reserve(&app, id, 6).await;
    let path = format!("/api/admin/sessions/{id}");

    let a = app
        .patch(&path, Some(&admin), json!({"max_places": 5}))
        .await;
    a.assert_problem(422, "validation_failed");
    assert_eq!(a.body["errors"][0]["field"], "max_places");
    assert_eq!(a.body["errors"][0]["rule"], "below_reserved");

    let full = app
        .patch(&path, Some(&admin), json!({"max_places": 6}))
        .await;
    assert_eq!(full.status, StatusCode::OK);
    let full: SessionDto = full.ok();
    assert_eq!(full.status, SessionStatus::Full);
    assert_eq!(full.available_places, 0);
    assert_eq!(stored_status(&app, id).await, "full");

    let open: SessionDto = app
        .patch(&path, Some(&admin), json!({"max_places": 10}))
        .await
        .ok();
    assert_eq!(open.status, SessionStatus::Open);
    assert_eq!(open.available_places, 4);
    assert_eq!(stored_status(&app, id).await, "open");
}

async fn stored_status(app: &TestApp, id: &str) -> String {
    entity::immersion_sessions::Entity::find_by_id(id.parse::<Uuid>().unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .status
        .as_str()
        .to_owned()
}

#[actix_web::test]
async fn admins_close_and_reopen_and_a_started_session_stays_closed() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let id = s["id"].as_str().unwrap();
    let path = format!("/api/admin/sessions/{id}");
    let closed: SessionDto = app
        .patch(&path, Some(&admin), json!({"closed": true}))
        .await
        .ok();
    assert_eq!(closed.status, SessionStatus::Closed);
    assert_eq!(stored_status(&app, id).await, "closed");
    let reopened: SessionDto = app
        .patch(&path, Some(&admin), json!({"closed": false}))
        .await
        .ok();
    assert_eq!(reopened.status, SessionStatus::Open);

    let started = app
        .patch(
            &path,
            Some(&admin),
            json!({"starts_on": day(0), "ends_on": day(3), "closed": false}),
        )
        .await
        .ok::<SessionDto>();
    assert_eq!(started.status, SessionStatus::Closed);
    assert_eq!(stored_status(&app, id).await, "closed");
}

#[actix_web::test]
async fn patch_changes_only_the_given_fields_and_can_clear_the_description() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app
        .create_session(&admin, json!({"description": "Texte"}))
        .await;
    let path = format!("/api/admin/sessions/{}", s["id"].as_str().unwrap());
    let a = app
        .patch(&path, Some(&admin), json!({"location": "Nantes"}))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let a: SessionDto = a.ok();
    assert_eq!(a.location, "Nantes");
    assert_eq!(a.description.as_deref(), Some("Texte"));
    assert_eq!(json!(a.starts_on), s["starts_on"]);
    let a: SessionDto = app
        .patch(
            &path,
            Some(&admin),
            json!({"description": "", "is_active": false}),
        )
        .await
        .ok();
    assert_eq!(a.description, None);
    assert!(!a.is_active);
}

#[actix_web::test]
async fn delete_refuses_a_session_with_bookings_and_removes_one_without() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let booked = app.create_session(&admin, json!({})).await;
    let empty = app.create_session(&admin, json!({})).await;
    reserve(&app, booked["id"].as_str().unwrap(), 1).await;

    let a = app
        .delete(
            &format!("/api/admin/sessions/{}", booked["id"].as_str().unwrap()),
            Some(&admin),
        )
        .await;
    a.assert_problem(409, "session_has_bookings");
    let gone = app
        .delete(
            &format!("/api/admin/sessions/{}", empty["id"].as_str().unwrap()),
            Some(&admin),
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let all = app.get("/api/admin/sessions", Some(&admin)).await;
    assert_eq!(ids(&all.body), [booked["id"].as_str().unwrap().to_owned()]);

    // Deactivating is the way out for a booked session.
    let path = format!("/api/admin/sessions/{}", booked["id"].as_str().unwrap());
    let a = app
        .patch(&path, Some(&admin), json!({"is_active": false}))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(ids(&app.get("/api/sessions", None).await.body).is_empty());
}

#[actix_web::test]
async fn unknown_sessions_are_404_for_every_verb() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let path = format!("/api/admin/sessions/{}", Uuid::new_v4());
    app.patch(&path, Some(&admin), json!({"location": "x"}))
        .await
        .assert_problem(404, "not_found");
    app.delete(&path, Some(&admin))
        .await
        .assert_problem(404, "not_found");
    app.get(&format!("/api/sessions/{}", Uuid::new_v4()), None)
        .await
        .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn lists_come_in_pages_linked_by_rfc_8288() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let mut created = Vec::new();
    for d in [30, 40, 50] {
        let s = app
            .create_session(&admin, json!({"starts_on": day(d), "ends_on": day(d + 2)}))
            .await;
        created.push(s["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut path = "/api/sessions?limit=1".to_owned();
    loop {
        let a = app.get(&path, None).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let page = a.body.as_array().unwrap();
        assert_eq!(page.len(), 1);
        seen.push(page[0]["id"].as_str().unwrap().to_owned());
        let Some(link) = a.headers.get("link") else {
            break;
        };
        let link = link.to_str().unwrap();
        assert!(link.ends_with("; rel=\"next\""), "{link}");
        path = link[1..link.find('>').unwrap()].to_owned();
        assert!(path.starts_with("/api/sessions?"), "{path}");
    }
    assert_eq!(seen, created);
    // Without `limit`, today's clients get the whole (short) list and no Link.
    let all = app.get("/api/sessions", None).await;
    assert_eq!(all.body.as_array().unwrap().len(), 3);
    assert!(all.headers.get("link").is_none());
    // Other parameters survive in the link.
    app.quick_user("marie@example.com").await;
    let subs = app
        .get(
            "/api/admin/subscriptions?active=false&limit=1",
            Some(&admin),
        )
        .await;
    let link = subs.headers.get("link").unwrap().to_str().unwrap();
    assert!(link.contains("active=false"), "{link}");
    for bad in ["limit=0", "limit=501", "after=garbage"] {
        app.get(&format!("/api/sessions?{bad}"), None)
            .await
            .assert_problem(422, "validation_failed");
    }
}

/// The catalog with `If-None-Match: etag` (when given).
async fn catalog(app: &TestApp, etag: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(format!("{}/api/sessions", app.base));
    if let Some(tag) = etag {
        req = req.header("If-None-Match", tag);
    }
    req.send().await.unwrap()
}

#[actix_web::test]
async fn the_catalog_answers_304_to_the_version_the_client_has() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_session(&admin, json!({})).await;
    let first = catalog(&app, None).await;
    assert_eq!(first.status(), StatusCode::OK);
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(first.headers()["cache-control"], "no-cache");
    let body: Value = first.json().await.unwrap();
    assert_eq!(body.as_array().unwrap().len(), 1);

    let again = catalog(&app, Some(&etag)).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    assert!(again.bytes().await.unwrap().is_empty());
    // A weak comparison, in a list, as browsers and proxies send it.
    let listed = format!("\"other\", W/{etag}");
    assert_eq!(
        catalog(&app, Some(&listed)).await.status(),
        StatusCode::NOT_MODIFIED
    );
    assert_eq!(
        catalog(&app, Some("\"stale\"")).await.status(),
        StatusCode::OK
    );
}

#[actix_web::test]
async fn a_change_made_here_shows_in_the_catalog_at_once() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({"max_places": 3})).await;
    let sid = s["id"].as_str().unwrap();
    let before = catalog(&app, None).await;
    let etag = before.headers()["etag"].to_str().unwrap().to_owned();
    let places = |v: &Value| v[0]["available_places"].as_i64().unwrap();
    assert_eq!(places(&before.json().await.unwrap()), 3);

    // A hold on this instance: the next read is fresh, with a new version.
    let (_, token) = app.quick_user("lea@example.com").await;
    app.hold(sid, &token).await;
    let after = catalog(&app, Some(&etag)).await;
    assert_eq!(after.status(), StatusCode::OK);
    assert_ne!(after.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(places(&after.json().await.unwrap()), 2);

    // An admin's edit too.
    let edit = app
        .patch(
            &format!("/api/admin/sessions/{sid}"),
            Some(&admin),
            json!({"max_places": 5}),
        )
        .await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
    assert_eq!(places(&catalog(&app, None).await.json().await.unwrap()), 4);
}
