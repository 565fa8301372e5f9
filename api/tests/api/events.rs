//! The events outbox and its feed: written with the change, read in
//! commit order, resumed from any event without a gap or a repeat.

use std::collections::HashSet;

use common::api_keys::{CreatedApiKey, Scope};
use common::events::{EventDto, EventType};
use reqwest::StatusCode;
use sea_orm::TransactionTrait;
use serde_json::{Value, json};

use crate::support::{TestApp, paid_seat, spawn_app};

fn on_postgres() -> bool {
    std::env::var("TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres"))
}

async fn feed(app: &TestApp, token: &str, query: &str) -> Vec<EventDto> {
    app.get(&format!("/api/events{query}"), Some(token))
        .await
        .ok()
}

#[actix_web::test]
async fn one_seat_s_life_is_heard_of_in_order() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({"max_places": 1})).await;
    let sid = s["id"].as_str().unwrap().to_owned();
    let paid = paid_seat(&app, &sid, "buyer@example.com").await;
    let c = app.cancel(paid.booking(), &paid.token).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);

    let events = feed(&app, &admin, "").await;
    let kinds: Vec<(EventType, String)> = events
        .iter()
        .map(|e| {
            let about = e.data["id"].as_str().unwrap_or_default().to_owned();
            (e.event_type, about)
        })
        .collect();
    let booking = paid.booking().to_owned();
    let expected = [
        (EventType::SessionCreated, sid.clone()),
        (EventType::SessionFull, sid.clone()),
        (EventType::BookingHeld, booking.clone()),
        (EventType::BookingConfirmed, booking.clone()),
    ];
    assert_eq!(kinds[..4], expected, "{kinds:?}");
    assert!(
        kinds[4..].contains(&(EventType::BookingRefunded, booking.clone()))
            || kinds[4..].contains(&(EventType::BookingCancelled, booking.clone())),
        "{kinds:?}"
    );
    assert!(
        kinds.iter().any(|(t, _)| *t == EventType::InvoiceIssued),
        "{kinds:?}"
    );
    // Each event is the resource as the API shows it.
    let confirmed = &events[3];
    let shown: Value = app
        .get(&format!("/api/bookings/{booking}"), Some(&paid.token))
        .await
        .ok();
    assert_eq!(confirmed.data["status"], "confirmed");
    assert_eq!(
        confirmed.data["full_refund_until"],
        shown["full_refund_until"]
    );
    assert_eq!(confirmed.data["amount_cents"], shown["amount_cents"]);
    // Filtered by type, the same events in the same order.
    let only: Vec<EventType> = feed(&app, &admin, "?types=booking.held,booking.confirmed")
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(only, [EventType::BookingHeld, EventType::BookingConfirmed]);
    // Resumed after the hold: the rest, nothing before it.
    let after_hold = feed(&app, &admin, &format!("?after={}", events[2].id)).await;
    assert_eq!(after_hold, events[3..].to_vec());
}

#[actix_web::test]
async fn bad_feed_queries_are_refused_and_the_feed_is_not_a_user_s() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (_, user) = app.quick_user("someone@example.com").await;
    app.get("/api/events", Some(&user))
        .await
        .assert_problem(403, "forbidden");
    app.get("/api/events?types=booking.eaten", Some(&admin))
        .await
        .assert_problem(422, "validation_failed");
    app.get(
        &format!("/api/events?after={}", uuid::Uuid::new_v4()),
        Some(&admin),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.get("/api/events?limit=0", Some(&admin))
        .await
        .assert_problem(422, "validation_failed");
    app.get("/api/events?after=nope", Some(&admin))
        .await
        .assert_problem(400, "bad_request");
}

/// The guarantee itself: an event written first but committed last is
/// numbered after those committed before it, so a reader already past
/// them still gets it. (PostgreSQL: SQLite has one writer at a time.)
#[actix_web::test]
async fn an_event_committed_late_is_not_skipped_by_a_cursor() {
    if !on_postgres() {
        return;
    }
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let db = &app.state.db;
    let now = chrono::Utc::now();
    let early = db.begin().await.unwrap();
    let slow = uuid::Uuid::new_v4();
    api::domain::platform::events::record(
        &early,
        EventType::SessionUpdated,
        slow,
        &json!({"id": slow}),
        now,
    )
    .await
    .unwrap();
    // Written after, committed first.
    app.create_session(&admin, json!({})).await;
    let first = feed(&app, &admin, "").await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].event_type, EventType::SessionCreated);
    early.commit().await.unwrap();
    let next = feed(&app, &admin, &format!("?after={}", first[0].id)).await;
    assert_eq!(next.len(), 1, "{next:?}");
    assert_eq!(next[0].data["id"], json!(slow));
    assert_eq!(
        api::domain::platform::events::unnumbered(db).await.unwrap(),
        0
    );
}

/// Two instances write while a reader follows the feed page by page:
/// the reader ends with every event, once each, in the feed's order.
#[actix_web::test]
async fn a_reader_following_two_writing_instances_misses_nothing_and_repeats_nothing() {
    // The reader polls as fast as it can: its key is not the limit tested.
    let app = TestApp::builder()
        .env("API_KEY_REQUESTS_PER_MINUTE", "1000000")
        .spawn()
        .await;
    let admin = app.admin_token().await;
    let other = crate::instances::Instance::start(&app.database_url, &[]).await;
    let key: CreatedApiKey = app
        .post(
            "/api/admin/api-keys",
            Some(&admin),
            json!({"name": "feed", "scopes": [Scope::EventsRead.as_str()]}),
        )
        .await
        .ok();
    let writers = ["a", "b"].map(|who| {
        let base = if who == "a" {
            app.base.clone()
        } else {
            other.base.clone()
        };
        let admin = admin.clone();
        actix_web::rt::spawn(async move {
            let client = reqwest::Client::new();
            for _ in 0..15 {
                let res = client
                    .post(format!("{base}/api/admin/sessions"))
                    .bearer_auth(&admin)
                    .json(&crate::support::session_body())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), StatusCode::CREATED);
            }
        })
    });
    // Follow the feed while they write, three at a time.
    let mut seen: Vec<EventDto> = Vec::new();
    let mut cursor: Option<uuid::Uuid> = None;
    let mut done = false;
    loop {
        let query = match cursor {
            Some(id) => format!("?limit=3&after={id}"),
            None => "?limit=3".to_owned(),
        };
        let page = feed(&app, &key.secret, &query).await;
        if let Some(last) = page.last() {
            cursor = Some(last.id);
        }
        let empty = page.is_empty();
        seen.extend(page);
        if done && empty {
            break;
        }
        if !done && writers.iter().all(|w| w.is_finished()) {
            done = true;
        }
    }
    for w in writers {
        w.await.unwrap();
    }
    let ids: HashSet<uuid::Uuid> = seen.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), seen.len(), "an event came twice");
    assert_eq!(seen.len(), 30, "{} events", seen.len());
    // The same events, in the same order, as one read from the start.
    let all: Vec<EventDto> = feed(&app, &admin, "?limit=500").await;
    assert_eq!(all, seen);
}

#[actix_web::test]
async fn a_subscription_s_life_is_heard_of() {
    use common::subscriptions::RedirectDto;
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let token = app.register("marie@example.com").await;
    let page: RedirectDto = app.subscribe(&token, "monthly").await.ok();
    crate::support::click(&format!("{}/pay", page.url)).await;
    let portal = app.portal(&token).await;
    crate::support::click(&format!("{portal}/renew")).await;
    crate::support::click(&format!("{portal}/fail")).await;
    let events = feed(
        &app,
        &admin,
        "?types=subscription.activated,subscription.updated,subscription.ended",
    )
    .await;
    let kinds: Vec<EventType> = events.iter().map(|e| e.event_type).collect();
    assert_eq!(
        kinds.first(),
        Some(&EventType::SubscriptionActivated),
        "{kinds:?}"
    );
    assert_eq!(
        kinds.last(),
        Some(&EventType::SubscriptionEnded),
        "{kinds:?}"
    );
    assert!(kinds.contains(&EventType::SubscriptionUpdated), "{kinds:?}");
    let me = app.me(&token).await;
    for e in &events {
        assert_eq!(e.data["user_id"], json!(me.id));
        assert_eq!(e.data["email"], "marie@example.com");
    }
    assert_eq!(events[0].data["is_active"], true);
    assert_eq!(events.last().unwrap().data["is_active"], false);
}
