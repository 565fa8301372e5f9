//! Waiting lists: a freed seat goes to the first in line as an offer (a
//! held seat, mailed), in order, never to two people; a lapsed or declined
//! offer passes on; a paid one confirms like any hold.

use chrono::{Duration, Utc};
use common::bookings::{BookingDto, BookingStatus};
use common::sessions::SessionDto;
use common::waitlist::{WaitlistEntryDto, WaitlistStatus};
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use crate::support::{Seat, TestApp, event, paid_seat, seat_checkout};

async fn waitlist_app() -> TestApp {
    TestApp::builder()
        .env("SEAT_CHANGES_PER_IP_PER_HOUR", "1000000")
        .env("SEAT_CHANGES_PER_USER_PER_HOUR", "1000000")
        .spawn()
        .await
}

struct Waiter {
    user: uuid::Uuid,
    email: String,
    token: String,
}

async fn waiter(app: &TestApp, name: &str) -> Waiter {
    let email = format!("{name}@example.com");
    let (user, token) = app.quick_user(&email).await;
    Waiter { user, email, token }
}

async fn join(app: &TestApp, sid: &str, w: &Waiter) -> crate::support::Answer {
    app.post(
        &format!("/api/sessions/{sid}/waitlist"),
        Some(&w.token),
        json!({}),
    )
    .await
}

async fn mine(app: &TestApp, w: &Waiter) -> Vec<WaitlistEntryDto> {
    let a = app.get("/api/me/waitlist", Some(&w.token)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.ok()
}

/// Pays the offer held for `w`: opens its Checkout, then Stripe's paid event.
async fn pay_offer(app: &TestApp, sid: &str, w: &Waiter, booking: &str) -> String {
    let opened = app
        .post(
            &format!("/api/bookings/{booking}/pay"),
            Some(&w.token),
            json!({}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.body);
    let paid = seat_checkout(&opened.body, sid, &w.user, true);
    let a = app
        .deliver(&event("checkout.session.completed", paid))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body["outcome"].as_str().unwrap().to_owned()
}

/// Every rule of the lists, for every session: audit clean, nobody waits
/// while a seat is free, offers are held bookings, nobody still waiting
/// joined before someone who got an offer, nobody holds two seats.
async fn assert_lists_sound(app: &TestApp) {
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
    use entity::waitlist_entries as w;
    let entries = w::Entity::find()
        .order_by_asc(w::Column::JoinedAt)
        .all(&app.state.db)
        .await
        .unwrap();
    for e in &entries {
        let session = app.session_row(&e.session_id.to_string()).await;
        if e.status == "waiting" {
            assert_eq!(
                session.reserved_places, session.max_places,
                "{e:?} waits beside a free seat"
            );
            let skipped = entries.iter().find(|o| {
                o.session_id == e.session_id
                    && ["offered", "booked", "lapsed"].contains(&o.status.as_str())
                    && o.joined_at > e.joined_at
            });
            assert!(skipped.is_none(), "{e:?} was skipped for {skipped:?}");
        }
        if e.status == "offered" {
            let b = app.booking_row(&e.booking_id.unwrap().to_string()).await;
            assert_eq!(b.status, "held", "{e:?}");
            assert_eq!(b.user_id, e.user_id);
        }
    }
    use entity::immersion_bookings as b;
    let active = b::Entity::find()
        .filter(b::Column::Status.is_in(["held", "confirmed"]))
        .all(&app.state.db)
        .await
        .unwrap();
    let mut seen = std::collections::HashSet::new();
    for booking in active {
        assert!(
            seen.insert((booking.session_id, booking.user_id)),
            "two seats: {booking:?}"
        );
    }
}

#[actix_web::test]
async fn freed_seats_go_to_the_first_in_line_in_order() {
    let app = waitlist_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({"max_places": 3})).await;
    let sid = s["id"].as_str().unwrap().to_owned();
    let mut holders: Vec<Seat> = Vec::new();
    for name in ["anne", "bruno", "chloe"] {
        holders.push(paid_seat(&app, &sid, &format!("{name}@example.com")).await);
    }
    let mut waiters = Vec::new();
    for i in 1..=5 {
        let w = waiter(&app, &format!("w{i}")).await;
        let a = join(&app, &sid, &w).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        let entry: WaitlistEntryDto = a.ok();
        assert_eq!(entry.place, Some(i));
        assert_eq!(entry.status, WaitlistStatus::Waiting);
        waiters.push(w);
    }
    assert_eq!(mine(&app, &waiters[2]).await[0].place, Some(3));
    let public = app.get(&format!("/api/sessions/{sid}"), None).await;
    assert_eq!(public.ok::<SessionDto>().waiting, 5);
    assert!(!public.body.to_string().contains("w1@example.com"));

    // Three cancels at once.
    let mut set = tokio::task::JoinSet::new();
    for h in &holders {
        let (client, url, token) = (
            app.client.clone(),
            format!("{}/api/bookings/{}/cancel", app.base, h.booking()),
            h.token.clone(),
        );
        set.spawn(async move {
            let res = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            crate::support::into_answer(res).await
        });
    }
    for a in set.join_all().await {
        assert_eq!(a.ok::<BookingDto>().status, BookingStatus::Refunded);
    }
    let mut offers = Vec::new();
    for w in &waiters[..3] {
        let entries = mine(&app, w).await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].status, WaitlistStatus::Offered, "{entries:?}");
        let booking = entries[0].booking_id.unwrap().to_string();
        let b = app.booking_row(&booking).await;
        assert_eq!((b.status.as_str(), b.user_id), ("held", w.user));
        let mails = app.mails_to(&w.email).await;
        let link = format!("/immersion-elite/offre/{booking}");
        assert!(mails.iter().any(|m| m.body.contains(&link)), "{mails:?}");
        let listed: Vec<BookingDto> = app.get("/api/me/bookings", Some(&w.token)).await.ok();
        assert_eq!(listed[0].id.to_string(), booking);
        offers.push(booking);
    }
    assert_eq!(mine(&app, &waiters[3]).await[0].place, Some(1));
    assert_eq!(mine(&app, &waiters[4]).await[0].place, Some(2));
    let row = app.session_row(&sid).await;
    assert_eq!((row.reserved_places, row.status.as_str()), (3, "full"));
    assert_lists_sound(&app).await;

    // W2 pays: confirmed like any hold. W3 declines: W4 gets the seat.
    assert_eq!(
        pay_offer(&app, &sid, &waiters[1], &offers[1]).await,
        "confirmed"
    );
    assert_eq!(app.booking_row(&offers[1]).await.status, "confirmed");
    assert!(mine(&app, &waiters[1]).await.is_empty());
    let left = app
        .delete(
            &format!("/api/sessions/{sid}/waitlist"),
            Some(&waiters[2].token),
        )
        .await;
    assert_eq!(left.status, StatusCode::NO_CONTENT, "{}", left.body);
    assert_eq!(app.booking_row(&offers[2]).await.status, "cancelled");
    assert_eq!(
        mine(&app, &waiters[3]).await[0].status,
        WaitlistStatus::Offered
    );
    assert_lists_sound(&app).await;

    // W1 opens its Checkout, then lets the offer lapse: W5 gets it. W4's
    // lapses at the same time: nobody is left, so its seat goes on sale.
    let opened = app
        .post(
            &format!("/api/bookings/{}/pay", offers[0]),
            Some(&waiters[0].token),
            json!({}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.body);
    let later = Utc::now() + Duration::hours(25);
    let gateway = app.state.gateway.clone();
    let swept = api::jobs::sweeper::sweep_once(
        &app.state.db,
        gateway.as_ref(),
        &app.state.policy.offers,
        later,
    )
    .await
    .unwrap();
    assert_eq!(swept, 2);
    assert_eq!(
        mine(&app, &waiters[4]).await[0].status,
        WaitlistStatus::Offered
    );
    assert!(mine(&app, &waiters[0]).await.is_empty());
    let row = app.session_row(&sid).await;
    assert_eq!(row.reserved_places, 2, "W2 confirmed, W5 offered");
    // W1's payment arrives late: a seat is free, so it confirms.
    let late = seat_checkout(&opened.body, &sid, &waiters[0].user, true);
    let a = app
        .deliver(&event("checkout.session.completed", late))
        .await;
    assert_eq!(a.body["outcome"], "confirmed_late", "{}", a.body);
    assert_lists_sound(&app).await;
}

#[actix_web::test]
async fn joining_is_for_full_sessions_once_and_admins_see_and_remove() {
    let app = waitlist_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({"max_places": 1})).await;
    let sid = s["id"].as_str().unwrap().to_owned();
    let early = waiter(&app, "early").await;
    join(&app, &sid, &early)
        .await
        .assert_problem(409, "session_not_full");
    let holder = paid_seat(&app, &sid, "holder@example.com").await;
    let ann = waiter(&app, "ann").await;
    assert_eq!(join(&app, &sid, &ann).await.status, StatusCode::CREATED);
    join(&app, &sid, &ann)
        .await
        .assert_problem(409, "already_waiting");
    app.post(
        &format!("/api/sessions/{sid}/waitlist"),
        Some(&holder.token),
        json!({}),
    )
    .await
    .assert_problem(409, "already_booked");
    app.post(
        &format!("/api/sessions/{}/waitlist", uuid::Uuid::new_v4()),
        Some(&ann.token),
        json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    app.delete(&format!("/api/sessions/{sid}/waitlist"), Some(&early.token))
        .await
        .assert_problem(404, "not_found");
    let bob = waiter(&app, "bob").await;
    join(&app, &sid, &bob).await;

    let list = app
        .get(&format!("/api/admin/sessions/{sid}/waitlist"), Some(&admin))
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let list: Vec<WaitlistEntryDto> = list.ok();
    let emails: Vec<_> = list.iter().map(|e| e.user_email.as_str()).collect();
    assert_eq!(emails, ["ann@example.com", "bob@example.com"]);
    app.get(
        &format!("/api/admin/sessions/{sid}/waitlist"),
        Some(&ann.token),
    )
    .await
    .assert_problem(403, "forbidden");
    let ann_entry = list[0].id;
    let removed = app
        .delete(&format!("/api/admin/waitlist/{ann_entry}"), Some(&admin))
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    assert!(mine(&app, &ann).await.is_empty());
    assert_eq!(mine(&app, &bob).await[0].place, Some(1));

    // More places: those waiting get them first.
    let patched = app
        .patch(
            &format!("/api/admin/sessions/{sid}"),
            Some(&admin),
            json!({"max_places": 3}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let patched: SessionDto = patched.ok();
    assert_eq!(patched.reserved_places, 2);
    assert_eq!(patched.waiting, 0);
    assert_eq!(mine(&app, &bob).await[0].status, WaitlistStatus::Offered);
    // Someone else's offer is not theirs to pay.
    let offer = mine(&app, &bob).await[0].booking_id.unwrap();
    app.post(
        &format!("/api/bookings/{offer}/pay"),
        Some(&ann.token),
        json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    // A cancelled session closes its list.
    let cancelled = app
        .post(
            &format!("/api/admin/sessions/{sid}/decision"),
            Some(&admin),
            json!({"decision": "cancelled"}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert!(mine(&app, &bob).await.is_empty());
    app.post(
        &format!("/api/bookings/{offer}/pay"),
        Some(&bob.token),
        json!({}),
    )
    .await
    .assert_problem(409, "booking_not_payable");
    assert_lists_sound(&app).await;
}

#[actix_web::test]
async fn randomized_joins_leaves_cancels_expiries_and_payments_keep_the_lists_sound() {
    let app = waitlist_app().await;
    let admin = app.admin_token().await;
    let seed: u64 = std::env::var("WAITLIST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("waitlist seed: {seed} (WAITLIST_SEED={seed} replays it)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let gateway = app.state.gateway.clone();
    for run in 0..3 {
        let max: i32 = rng.random_range(1..=3);
        let s = app.create_session(&admin, json!({"max_places": max})).await;
        let sid = s["id"].as_str().unwrap().to_owned();
        let mut people = Vec::new();
        for i in 0..7 {
            people.push(waiter(&app, &format!("r{run}-{i}")).await);
        }
        let mut clock = Utc::now();
        for _ in 0..30 {
            let p = &people[rng.random_range(0..people.len())];
            match rng.random_range(0..6) {
                // Book a seat, or join the line when full.
                0 | 1 => {
                    let a = app.checkout(&sid, &p.token).await;
                    if a.body["code"] == "session_full" {
                        join(&app, &sid, p).await;
                    }
                }
                2 => {
                    app.delete(&format!("/api/sessions/{sid}/waitlist"), Some(&p.token))
                        .await;
                }
                // Cancel my booking, held or paid.
                3 => {
                    let mine = app.get("/api/me/bookings", Some(&p.token)).await;
                    if let Some(b) = mine.body.as_array().unwrap().iter().find(|b| {
                        b["session_id"] == sid.as_str()
                            && (b["status"] == "held" || b["status"] == "confirmed")
                    }) {
                        app.cancel(b["id"].as_str().unwrap(), &p.token).await;
                    }
                }
                // Pay what is held for me.
                4 => {
                    let mine = app.get("/api/me/bookings", Some(&p.token)).await;
                    if let Some(b) = mine
                        .body
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|b| b["session_id"] == sid.as_str() && b["status"] == "held")
                    {
                        pay_offer(&app, &sid, p, b["id"].as_str().unwrap()).await;
                    }
                }
                // Time passes: holds and offers lapse.
                _ => {
                    clock += Duration::hours(rng.random_range(0..=25));
                    api::jobs::sweeper::sweep_once(
                        &app.state.db,
                        gateway.as_ref(),
                        &app.state.policy.offers,
                        clock,
                    )
                    .await
                    .unwrap();
                }
            }
            assert_lists_sound(&app).await;
        }
    }
}
