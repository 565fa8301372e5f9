//! The waiting list comes first (invariant 13): a seat that an admin adds,
//! or frees by reopening or reactivating a session, is offered to the
//! first in line in the transaction of the edit; a hold from the catalog
//! never takes a seat that someone in line is owed; the audit sees a free
//! seat beside a waiting line.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Utc;
use common::bookings::BookingStatus;
use common::sessions::{SessionDto, SessionPatch};
use common::waitlist::{WaitlistEntryDto, WaitlistStatus};
use reqwest::StatusCode;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::support::{TestApp, buyers, paid_seat};

async fn app() -> TestApp {
    TestApp::builder()
        .env("SEAT_CHANGES_PER_IP_PER_HOUR", "1000000")
        .env("SEAT_CHANGES_PER_USER_PER_HOUR", "1000000")
        .spawn()
        .await
}

/// A session of `places` places, all sold, with `waiting` people in line
/// (`line{i}@example.com`, in that order); the session's id and the line.
async fn full_with_line(
    app: &TestApp,
    places: i32,
    waiting: usize,
) -> (String, Vec<(uuid::Uuid, String)>) {
    let admin = app.admin_token().await;
    let s: SessionDto = serde_json::from_value(
        app.create_session(&admin, json!({"max_places": places}))
            .await,
    )
    .unwrap();
    let sid = s.id.to_string();
    for i in 0..places {
        paid_seat(app, &sid, &format!("sold{i}@example.com")).await;
    }
    let line = buyers(app, "line", waiting).await;
    for (_, token) in &line {
        let a = app
            .post(
                &format!("/api/sessions/{sid}/waitlist"),
                Some(token),
                json!({}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    }
    (sid, line)
}

async fn entry_of(app: &TestApp, token: &str) -> WaitlistEntryDto {
    let mine: Vec<WaitlistEntryDto> = app.get("/api/me/waitlist", Some(token)).await.ok();
    assert_eq!(mine.len(), 1, "{mine:?}");
    mine.into_iter().next().unwrap()
}

/// The bookings holding or having a seat of the session, by user.
async fn seated(app: &TestApp, sid: &str) -> Vec<uuid::Uuid> {
    use entity::immersion_bookings as b;
    b::Entity::find()
        .filter(b::Column::SessionId.eq(sid.parse::<uuid::Uuid>().unwrap()))
        .filter(b::Column::Status.is_in([
            BookingStatus::Held.as_str(),
            BookingStatus::Confirmed.as_str(),
        ]))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.user_id)
        .collect()
}

/// An admin's edit through the domain alone (no HTTP step after it).
async fn edit(app: &TestApp, sid: &str, patch: SessionPatch) -> SessionDto {
    api::domain::catalog::sessions::update(
        &app.state.db,
        sid.parse().unwrap(),
        patch,
        Utc::now(),
        app.state.settings.min_places_decision_days,
        &app.state.policy.offers,
    )
    .await
    .expect("edit applies")
}

#[actix_web::test]
async fn places_an_admin_adds_go_to_the_line_under_a_rush_from_the_catalog() {
    let app = Arc::new(app().await);
    let (sid, line) = full_with_line(&app, 2, 3).await;
    let racers = buyers(&app, "racer", 12).await;
    let admin = app.admin_token().await;
    // Twelve clients not in line ask for a seat over and over, before,
    // during and after the admin adds two places.
    let done = Arc::new(AtomicBool::new(false));
    let mut rush = Vec::new();
    for (_, token) in racers.clone() {
        let (app, sid, done) = (app.clone(), sid.clone(), done.clone());
        rush.push(tokio::spawn(async move {
            let mut won = 0;
            let mut after = 0;
            while after < 5 {
                if done.load(Ordering::SeqCst) {
                    after += 1;
                }
                let a = app.checkout(&sid, &token).await;
                match a.status {
                    StatusCode::CREATED => won += 1,
                    StatusCode::CONFLICT => {
                        assert_eq!(a.body["code"], "session_full", "{}", a.body)
                    }
                    other => panic!("{other}: {}", a.body),
                }
            }
            won
        }));
    }
    let patched = app
        .patch(
            &format!("/api/admin/sessions/{sid}"),
            Some(&admin),
            json!({"max_places": 4}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    done.store(true, Ordering::SeqCst);
    let mut won = 0;
    for r in rush {
        won += r.await.unwrap();
    }
    assert_eq!(won, 0, "a client not in line got a place an admin added");
    let dto: SessionDto = patched.ok();
    assert_eq!((dto.reserved_places, dto.max_places), (4, 4));
    for (i, (_, token)) in line.iter().enumerate() {
        let e = entry_of(&app, token).await;
        let expected = if i < 2 {
            WaitlistStatus::Offered
        } else {
            WaitlistStatus::Waiting
        };
        assert_eq!(e.status, expected, "line{i}: {e:?}");
    }
    let seated = seated(&app, &sid).await;
    assert!(seated.contains(&line[0].0) && seated.contains(&line[1].0));
    assert!(racers.iter().all(|(r, _)| !seated.contains(r)));
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

#[actix_web::test]
async fn an_admins_edit_offers_the_seats_it_frees_in_its_own_transaction() {
    let app = app().await;
    let (sid, line) = full_with_line(&app, 1, 3).await;

    // More places.
    let dto = edit(
        &app,
        &sid,
        SessionPatch {
            max_places: Some(2),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(dto.reserved_places, 2, "{dto:?}");
    assert_eq!(
        entry_of(&app, &line[0].1).await.status,
        WaitlistStatus::Offered
    );

    // A seat freed while the session is closed waits for the reopening,
    // and the reopening offers it.
    edit(
        &app,
        &sid,
        SessionPatch {
            closed: Some(true),
            ..Default::default()
        },
    )
    .await;
    let offer = entry_of(&app, &line[0].1).await.booking_id.unwrap();
    let declined = app.cancel(&offer.to_string(), &line[0].1).await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.body);
    assert_eq!(
        entry_of(&app, &line[1].1).await.status,
        WaitlistStatus::Waiting
    );
    let dto = edit(
        &app,
        &sid,
        SessionPatch {
            closed: Some(false),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(dto.reserved_places, 2, "{dto:?}");
    assert_eq!(
        entry_of(&app, &line[1].1).await.status,
        WaitlistStatus::Offered
    );

    // The same for a deactivated session, reactivated.
    edit(
        &app,
        &sid,
        SessionPatch {
            is_active: Some(false),
            ..Default::default()
        },
    )
    .await;
    let offer = entry_of(&app, &line[1].1).await.booking_id.unwrap();
    let declined = app.cancel(&offer.to_string(), &line[1].1).await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.body);
    edit(
        &app,
        &sid,
        SessionPatch {
            is_active: Some(true),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        entry_of(&app, &line[2].1).await.status,
        WaitlistStatus::Offered
    );
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

/// A free seat beside a waiting line, made directly in the database (as
/// an edit that forgot the line would leave it).
async fn free_seat_beside_the_line(app: &TestApp, sid: &str) {
    use entity::immersion_sessions as s;
    s::Entity::update_many()
        .col_expr(s::Column::MaxPlaces, Expr::col(s::Column::MaxPlaces).add(1))
        .col_expr(s::Column::Status, Expr::value("open"))
        .filter(s::Column::Id.eq(sid.parse::<uuid::Uuid>().unwrap()))
        .exec(&app.state.db)
        .await
        .unwrap();
}

#[actix_web::test]
async fn a_hold_from_the_catalog_never_takes_a_seat_owed_to_the_line() {
    let app = app().await;
    let (sid, line) = full_with_line(&app, 1, 1).await;
    free_seat_beside_the_line(&app, &sid).await;
    let (racer, token) = app.quick_user("racer@example.com").await;
    app.checkout(&sid, &token)
        .await
        .assert_problem(409, "session_full");
    assert!(!seated(&app, &sid).await.contains(&racer));
    assert_eq!(
        entry_of(&app, &line[0].1).await.status,
        WaitlistStatus::Waiting
    );
}

#[actix_web::test]
async fn the_audit_sees_a_free_seat_while_someone_waits() {
    let app = app().await;
    let (sid, _) = full_with_line(&app, 1, 2).await;
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
    free_seat_beside_the_line(&app, &sid).await;
    let drift = app.audit().await;
    assert!(
        drift
            .iter()
            .any(|d| d.contains(&sid) && d.contains("1 places free while 2 wait in line")),
        "{drift:?}"
    );
}
