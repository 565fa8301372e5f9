//! Reminders before a session (J-7 and J-1, each queued once whatever runs
//! them) and the booking's calendar file.

use chrono::{Days, NaiveDate};
use icalendar::{Calendar, CalendarComponent, Component, DatePerhapsTime, EventLike};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::support::{TestApp, paid_seat, seat_in, spawn_app};
use entity::mail_outbox;

async fn reminders_for(app: &TestApp, booking: &str) -> Vec<mail_outbox::Model> {
    mail_outbox::Entity::find()
        .filter(mail_outbox::Column::DedupKey.starts_with(format!("reminder:{booking}:")))
        .all(&app.state.db)
        .await
        .unwrap()
}

async fn run_reminders(app: &TestApp, today: NaiveDate) -> usize {
    api::domain::bookings::reminders::queue_due(
        &app.state.db,
        &app.state.settings.public_url,
        today,
    )
    .await
    .unwrap()
}

/// The one event of a calendar file.
fn event_of(ics: &str) -> icalendar::Event {
    let calendar: Calendar = ics.parse().expect("a calendar file");
    let mut events = calendar.components.into_iter().filter_map(|c| match c {
        CalendarComponent::Event(e) => Some(e),
        _ => None,
    });
    let event = events.next().expect("one event");
    assert!(events.next().is_none(), "exactly one event");
    event
}

#[actix_web::test]
async fn confirmed_attendees_get_each_reminder_once_at_j7_and_j1() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let session = app.create_session(&admin, json!({})).await;
    let sid = session["id"].as_str().unwrap();
    let starts: NaiveDate = session["starts_on"].as_str().unwrap().parse().unwrap();
    let paid = paid_seat(&app, sid, "paid@example.com").await;
    let held = seat_in(&app, sid, "held@example.com").await;

    // J-8: nothing is due yet.
    assert_eq!(run_reminders(&app, starts - Days::new(8)).await, 0);
    assert!(reminders_for(&app, paid.booking()).await.is_empty());

    // J-7, ticked by three instances at once and again later: one mail.
    let j7 = starts - Days::new(7);
    let (a, b, c) = tokio::join!(
        run_reminders(&app, j7),
        run_reminders(&app, j7),
        run_reminders(&app, j7)
    );
    assert_eq!(a + b + c, 1);
    assert_eq!(run_reminders(&app, j7 + Days::new(1)).await, 0);
    let sent = reminders_for(&app, paid.booking()).await;
    assert_eq!(sent.len(), 1);
    let week = &sent[0];
    assert_eq!(week.recipient, "paid@example.com");
    assert!(week.subject.contains("dans 7 jours"), "{}", week.subject);
    assert!(week.body.contains("Lyon"), "{}", week.body);
    assert_eq!(
        week.attachment_type.as_deref(),
        Some("text/calendar; charset=utf-8")
    );
    let event = event_of(week.attachment.as_deref().unwrap());
    assert_eq!(
        event.get_uid(),
        Some(format!("booking-{}@127.0.0.1", paid.booking()).as_str())
    );

    // J-1: the second reminder, once.
    let j1 = starts - Days::new(1);
    assert_eq!(run_reminders(&app, j1).await, 1);
    assert_eq!(run_reminders(&app, j1).await, 0);
    let sent = reminders_for(&app, paid.booking()).await;
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().any(|m| m.subject.contains("demain")));
    // The start day itself and after: nothing more.
    assert_eq!(run_reminders(&app, starts).await, 0);

    // An unpaid hold is reminded of nothing.
    assert!(reminders_for(&app, held.booking()).await.is_empty());
}

#[actix_web::test]
async fn a_confirmed_booking_downloads_its_session_as_a_calendar_file() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let session = app
        .create_session(
            &admin,
            json!({"location": "Annecy", "description": "Cinq jours d'immersion."}),
        )
        .await;
    let sid = session["id"].as_str().unwrap();
    let starts: NaiveDate = session["starts_on"].as_str().unwrap().parse().unwrap();
    let ends: NaiveDate = session["ends_on"].as_str().unwrap().parse().unwrap();
    let paid = paid_seat(&app, sid, "ics@example.com").await;
    let path = format!("/api/bookings/{}/calendar.ics", paid.booking());

    let res = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(&paid.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        disposition,
        format!("attachment; filename=\"immersion-elite-{starts}.ics\"")
    );
    let ics = res.text().await.unwrap();
    let event = event_of(&ics);
    // All-day, at the venue's dates; the end is exclusive (the day after).
    assert_eq!(event.get_start(), Some(DatePerhapsTime::Date(starts)));
    assert_eq!(
        event.get_end(),
        Some(DatePerhapsTime::Date(ends + Days::new(1)))
    );
    assert_eq!(event.get_location(), Some("Annecy"));
    assert!(
        event
            .get_description()
            .unwrap()
            .contains("Cinq jours d'immersion.")
    );
    let uid = format!("booking-{}@127.0.0.1", paid.booking());
    assert_eq!(event.get_uid(), Some(uid.as_str()));

    // The same file again: the same UID (a re-import updates, never doubles).
    let again = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200, "an admin may download it too");
    assert_eq!(again.text().await.unwrap(), ics);

    // Someone else's booking is not found; an unpaid hold has no file.
    let (_, stranger) = app.quick_user("stranger@example.com").await;
    app.get(&path, Some(&stranger))
        .await
        .assert_problem(404, "not_found");
    let held = seat_in(&app, sid, "unpaid@example.com").await;
    app.get(
        &format!("/api/bookings/{}/calendar.ics", held.booking()),
        Some(&held.token),
    )
    .await
    .assert_problem(409, "booking_not_confirmed");
    app.get(&path, None)
        .await
        .assert_problem(401, "unauthorized");
}
