//! Presence per half-day and the certificates of completion counted from
//! it: recorded by an admin or through the trainer's link (which opens
//! one session and nothing else), corrections kept beside what they
//! correct, and certificates (page and PDF) that state the hours attended
//! out of the hours planned, with the organisation's declaration number.

use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use common::calendar::working_days;
use common::presence::{PresenceSheetDto, RecordedBy, TrainerLinkDto, format_hours};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::support::{Seat, TestApp, paid_seat};

/// The settings a training organisation's certificate needs.
async fn organisation() -> TestApp {
    TestApp::builder()
        .env("COMPANY_NAME", "Immersion SAS")
        .env("COMPANY_ADDRESS", "12 rue de la Paix | 75002 Paris")
        .env("COMPANY_SIRET", "732 829 320 00074")
        .env("COMPANY_NDA", "11 75 12345 75")
        .spawn()
        .await
}

/// A session of a week, with two paid seats, moved to the week that
/// began `weeks` Mondays ago (sessions are sold before they begin).
async fn past_session(app: &TestApp, weeks: i64, who: [&str; 2]) -> (String, Vec<Seat>) {
    let admin = app.admin_token().await;
    let s = app
        .create_session(&admin, json!({"location": "Lyon"}))
        .await;
    let sid = s["id"].as_str().unwrap().to_owned();
    let mut seats = Vec::new();
    for email in who {
        seats.push(paid_seat(app, &sid, email).await);
    }
    let mut monday = Utc::now().date_naive() - Duration::weeks(weeks);
    while monday.weekday() != Weekday::Mon {
        monday -= Duration::days(1);
    }
    move_session(app, &sid, monday, monday + Duration::days(4)).await;
    (sid, seats)
}

async fn move_session(app: &TestApp, sid: &str, starts_on: NaiveDate, ends_on: NaiveDate) {
    entity::immersion_sessions::Entity::update(entity::immersion_sessions::ActiveModel {
        id: Set(sid.parse().unwrap()),
        starts_on: Set(starts_on),
        ends_on: Set(ends_on),
        decide_on: Set(None),
        min_places: Set(None),
        ..Default::default()
    })
    .exec(&app.state.db)
    .await
    .unwrap();
}

fn mark(seat: &Seat, day: NaiveDate, half: &str, status: &str) -> Value {
    json!({"booking_id": seat.booking(), "day": day, "half": half, "status": status})
}

async fn record(
    app: &TestApp,
    sid: &str,
    token: &str,
    marks: Vec<Value>,
) -> crate::support::Answer {
    app.put(
        &format!("/api/admin/sessions/{sid}/presence"),
        Some(token),
        json!({ "marks": marks }),
    )
    .await
}

async fn body(app: &TestApp, path: &str, token: &str) -> (StatusCode, String, Vec<u8>) {
    let res = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let kind = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, res.bytes().await.unwrap().to_vec())
}

/// The text of every page of a PDF, as a reader would extract it, its
/// spaces made plain.
pub fn pdf_text(bytes: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(bytes).expect("a PDF");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    doc.extract_text(&pages)
        .expect("its text")
        .replace(['\u{a0}', '\u{202f}'], " ")
}

/// The number of pages of a PDF.
fn pdf_pages(bytes: &[u8]) -> usize {
    lopdf::Document::load_mem(bytes).unwrap().get_pages().len()
}

fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[actix_web::test]
async fn presence_for_half_days_gives_certificates_with_the_right_hours() {
    let app = organisation().await;
    let admin = app.admin_token().await;
    let (sid, seats) = past_session(&app, 3, ["ada@example.com", "bob@example.com"]).await;
    let (ada, bob) = (&seats[0], &seats[1]);
    let days = {
        let row = app.session_row(&sid).await;
        working_days(row.starts_on, row.ends_on)
    };
    assert!(days.len() >= 3, "{days:?}");
    // Ada: every half-day, but the first afternoon absent and the second
    // morning excused. Bob: one morning.
    let mut marks = Vec::new();
    for (i, d) in days.iter().enumerate() {
        marks.push(mark(
            ada,
            *d,
            "am",
            if i == 1 { "excused" } else { "present" },
        ));
        marks.push(mark(
            ada,
            *d,
            "pm",
            if i == 0 { "absent" } else { "present" },
        ));
    }
    marks.push(mark(bob, days[0], "am", "present"));
    let sheet: PresenceSheetDto = record(&app, &sid, &admin, marks).await.ok();
    let half = 210;
    let planned = days.len() as i64 * 2 * half;
    assert_eq!(sheet.planned_minutes, planned);
    let of = |seat: &Seat| {
        sheet
            .attendees
            .iter()
            .find(|a| a.booking_id.to_string() == seat.booking())
            .unwrap()
            .clone()
    };
    assert_eq!(of(ada).attended_minutes, planned - 2 * half);
    assert_eq!(of(bob).attended_minutes, half);
    assert!(
        of(ada)
            .marks
            .iter()
            .all(|m| m.recorded_by == RecordedBy::Admin)
    );

    // A correction is a new mark: the latest counts, the first is kept.
    let corrected: PresenceSheetDto = record(
        &app,
        &sid,
        &admin,
        vec![
            mark(bob, days[0], "am", "absent"),
            mark(bob, days[0], "pm", "present"),
        ],
    )
    .await
    .ok();
    let bob_now = corrected
        .attendees
        .iter()
        .find(|a| a.booking_id.to_string() == bob.booking())
        .unwrap();
    assert_eq!(bob_now.attended_minutes, half);
    // Sending what already counts writes nothing.
    record(
        &app,
        &sid,
        &admin,
        vec![mark(bob, days[0], "pm", "present")],
    )
    .await
    .ok::<Value>();
    let kept = entity::presence_marks::Entity::find()
        .filter(
            entity::presence_marks::Column::BookingId
                .eq(bob.booking().parse::<uuid::Uuid>().unwrap()),
        )
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(kept, 3, "the morning's two marks and the afternoon's");

    // Ada's certificate, as a page and as a PDF.
    let want_hours = format!(
        "pour une durée de {} réalisées sur {} prévues.",
        format_hours(planned - 2 * half),
        format_hours(planned)
    );
    let path = format!("/api/bookings/{}/certificate", ada.booking());
    let (status, kind, page) = body(&app, &path, &ada.token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/html"), "{kind}");
    let page = String::from_utf8(page).unwrap();
    for want in [
        "Certificat de réalisation",
        "Camille TEST",
        want_hours.as_str(),
        "Déclaration d'activité n° 11 75 12345 75",
        "SIRET 732 829 320 00074",
        "à Lyon",
        "Fait à Paris, le ",
        "1 justifiée(s), 1 non justifiée(s)",
    ] {
        assert!(page.contains(want), "{want:?} in {page}");
    }
    let (status, kind, pdf) = body(&app, &format!("{path}?format=pdf"), &ada.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, "application/pdf");
    let text = squeeze(&pdf_text(&pdf));
    for want in [
        "Certificat de réalisation",
        "Camille TEST",
        want_hours.as_str(),
        "Déclaration d'activité n° 11 75 12345 75",
        "Fait à Paris, le",
    ] {
        assert!(text.contains(want), "{want:?} in {text}");
    }

    // The admin prints the whole session's at once: one page each.
    let all = format!("/api/admin/sessions/{sid}/certificates");
    let (status, _, page) = body(&app, &all, &admin).await;
    assert_eq!(status, StatusCode::OK);
    let page = String::from_utf8(page).unwrap();
    assert_eq!(page.matches("class=\"certificate\"").count(), 2);
    let (_, _, pdf) = body(&app, &format!("{all}?format=pdf"), &admin).await;
    assert_eq!(pdf_pages(&pdf), 2);
    let bob_hours = format!("{} réalisées sur", format_hours(half));
    assert!(squeeze(&pdf_text(&pdf)).contains(&bob_hours));

    // Nobody else reads Ada's.
    let (status, _, _) = body(&app, &path, &bob.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A key without the scope, an attendee on the admin's routes: refused.
    let refused = app
        .get(
            &format!("/api/admin/sessions/{sid}/presence"),
            Some(&ada.token),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn marks_outside_the_session_or_in_the_future_are_refused_whole() {
    let app = organisation().await;
    let admin = app.admin_token().await;
    let (sid, seats) = past_session(&app, 2, ["ada@example.com", "bob@example.com"]).await;
    let (other, others) = past_session(&app, 2, ["cyd@example.com", "dan@example.com"]).await;
    let row = app.session_row(&sid).await;
    let day = row.starts_on;
    let saturday = row.starts_on + Duration::days(5);
    let bad = record(
        &app,
        &sid,
        &admin,
        vec![
            mark(&seats[0], day, "am", "present"),
            mark(&others[0], day, "am", "present"),
            mark(&seats[1], saturday, "am", "present"),
        ],
    )
    .await;
    bad.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["marks[1].booking_id", "marks[2].day"]);
    let none = entity::presence_marks::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(none, 0, "nothing of a refused request is written");

    // A session still to come: no presence for tomorrow, no certificate.
    let future = app.create_session(&admin, json!({})).await;
    let fid = future["id"].as_str().unwrap();
    let seat = paid_seat(&app, fid, "eve@example.com").await;
    let sheet: PresenceSheetDto = app
        .get(&format!("/api/admin/sessions/{fid}/presence"), Some(&admin))
        .await
        .ok();
    let early = record(
        &app,
        fid,
        &admin,
        vec![mark(&seat, sheet.days[0], "am", "present")],
    )
    .await;
    early.assert_problem(422, "validation_failed");
    assert_eq!(early.body["errors"][0]["rule"], "in_the_future");
    let cert = app
        .get(
            &format!("/api/bookings/{}/certificate", seat.booking()),
            Some(&seat.token),
        )
        .await;
    cert.assert_problem(409, "session_not_over");
    app.get(
        &format!("/api/admin/sessions/{fid}/certificates"),
        Some(&admin),
    )
    .await
    .assert_problem(409, "session_not_over");
    // Malformed marks are a 400/422, never a 500.
    let odd = app
        .put(
            &format!("/api/admin/sessions/{other}/presence"),
            Some(&admin),
            json!({"marks": [{"booking_id": seat.booking(), "day": day, "half": "evening", "status": "present"}]}),
        )
        .await;
    assert!(odd.status.is_client_error(), "{}", odd.status);
}

/// A certificate states hours from the presence marks, which the
/// retention job deletes 3 years after the end of their year: a session
/// that began before the first day kept has no certificate any more
/// (rather than one counting 0 hours), on the day it would be pruned as
/// on the day before.
#[actix_web::test]
async fn no_certificate_once_the_presence_is_no_longer_kept() {
    let app = organisation().await;
    let admin = app.admin_token().await;
    let (sid, seats) = past_session(&app, 2, ["old@example.com", "older@example.com"]).await;
    let sheet: PresenceSheetDto = app
        .get(&format!("/api/admin/sessions/{sid}/presence"), Some(&admin))
        .await
        .ok();
    let day = sheet.days[0];
    let _: PresenceSheetDto = record(
        &app,
        &sid,
        &admin,
        vec![mark(&seats[0], day, "am", "present")],
    )
    .await
    .ok();
    let certificate = format!("/api/bookings/{}/certificate", seats[0].booking());
    let all = format!("/api/admin/sessions/{sid}/certificates");
    let served = |path: String, token: String| {
        let app = &app;
        async move { body(app, &path, &token).await.0 }
    };
    assert_eq!(
        served(certificate.clone(), seats[0].token.clone()).await,
        StatusCode::OK
    );

    // The first day kept is 1 January, three years back: a session that
    // began then still has its certificates.
    // (The year at the venue, as the api counts it: on 31 December after
    // 23:00 UTC, Paris is in the next one.)
    let today = api::domain::platform::clock::today_at_venue(Utc::now());
    let first_kept = NaiveDate::from_ymd_opt(today.year() - 3, 1, 1).unwrap();
    move_session(&app, &sid, first_kept, first_kept + Duration::days(4)).await;
    assert_eq!(
        served(certificate.clone(), seats[0].token.clone()).await,
        StatusCode::OK
    );
    assert_eq!(served(all.clone(), admin.clone()).await, StatusCode::OK);

    // A day earlier, its first half-days' marks are gone.
    let before = first_kept - Duration::days(1);
    move_session(&app, &sid, before, before + Duration::days(4)).await;
    for token in [&seats[0].token, &admin] {
        app.get(&certificate, Some(token))
            .await
            .assert_problem(409, "presence_not_kept");
    }
    app.get(&all, Some(&admin))
        .await
        .assert_problem(409, "presence_not_kept");
    app.get(&format!("{certificate}?format=pdf"), Some(&seats[0].token))
        .await
        .assert_problem(409, "presence_not_kept");
}

#[actix_web::test]
async fn the_trainers_link_opens_its_session_and_nothing_else() {
    let app = organisation().await;
    let admin = app.admin_token().await;
    let (sid, seats) = past_session(&app, 1, ["ada@example.com", "bob@example.com"]).await;
    let (other, others) = past_session(&app, 1, ["cyd@example.com", "dan@example.com"]).await;
    let made = app
        .post(
            &format!("/api/admin/sessions/{sid}/trainer-link"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let link: TrainerLinkDto = made.ok();
    let secret = link
        .url
        .strip_prefix("/formateur#token=")
        .expect("the secret in the fragment");
    assert!(
        secret.starts_with("imm_trn_") && secret.len() == 8 + 64,
        "{secret}"
    );

    // An attendee who gave no name is no address to the trainer.
    app.forget_names(seats[1].user).await;
    let sheet: PresenceSheetDto = app.get("/api/trainer/presence", Some(secret)).await.ok();
    assert_eq!(sheet.session_id.to_string(), sid);
    let names: Vec<&str> = sheet.attendees.iter().map(|a| a.name.as_str()).collect();
    assert!(names.contains(&"Participant 2"), "{names:?}");
    assert!(!names.iter().any(|n| n.contains('@')), "{names:?}");
    let admins: PresenceSheetDto = app
        .get(&format!("/api/admin/sessions/{sid}/presence"), Some(&admin))
        .await
        .ok();
    assert!(admins.attendees.iter().any(|a| a.name == "bob@example.com"));
    let day = sheet.days[0];
    let recorded: PresenceSheetDto = app
        .put(
            "/api/trainer/presence",
            Some(secret),
            json!({"marks": [mark(&seats[0], day, "am", "present")]}),
        )
        .await
        .ok();
    let ada = &recorded
        .attendees
        .iter()
        .find(|a| a.booking_id.to_string() == seats[0].booking())
        .unwrap();
    assert_eq!(ada.marks[0].recorded_by, RecordedBy::Trainer);
    let row = entity::presence_marks::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.recorded_by_link, Some(link.id));

    // Another session's attendee, through this link: refused, unwritten.
    let across = app
        .put(
            "/api/trainer/presence",
            Some(secret),
            json!({"marks": [mark(&others[0], day, "am", "absent")]}),
        )
        .await;
    across.assert_problem(422, "validation_failed");
    let theirs: PresenceSheetDto = app
        .get(
            &format!("/api/admin/sessions/{other}/presence"),
            Some(&admin),
        )
        .await
        .ok();
    assert!(theirs.attendees.iter().all(|a| a.marks.is_empty()));
    // The link is no sign-in: the admin's routes and the attendees' own
    // refuse it, and an admin's token is no link.
    for path in [
        format!("/api/admin/sessions/{other}/presence"),
        format!("/api/admin/sessions/{sid}/presence"),
        format!("/api/bookings/{}/certificate", seats[0].booking()),
        "/api/me".to_owned(),
    ] {
        let a = app.get(&path, Some(secret)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}: {}", a.body);
    }
    app.get("/api/trainer/presence", Some(&admin))
        .await
        .assert_problem(401, "unauthorized");
    app.get("/api/trainer/presence", None)
        .await
        .assert_problem(401, "unauthorized");
    let forged = format!("imm_trn_{}", "0".repeat(64));
    app.get("/api/trainer/presence", Some(&forged))
        .await
        .assert_problem(401, "unauthorized");
    // An unknown link is refused before its body is read, however bad.
    app.put(
        "/api/trainer/presence",
        Some(&forged),
        json!({"marks": [{}]}),
    )
    .await
    .assert_problem(401, "unauthorized");

    // A new link revokes the old; revoking ends the new one.
    let again: TrainerLinkDto = app
        .post(
            &format!("/api/admin/sessions/{sid}/trainer-link"),
            Some(&admin),
            json!({}),
        )
        .await
        .ok();
    app.get("/api/trainer/presence", Some(secret))
        .await
        .assert_problem(401, "unauthorized");
    let second = again.url.strip_prefix("/formateur#token=").unwrap();
    assert_eq!(
        app.get("/api/trainer/presence", Some(second)).await.status,
        StatusCode::OK
    );
    let revoked = app
        .delete(
            &format!("/api/admin/sessions/{sid}/trainer-link"),
            Some(&admin),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    app.get("/api/trainer/presence", Some(second))
        .await
        .assert_problem(401, "unauthorized");
    app.delete(
        &format!("/api/admin/sessions/{sid}/trainer-link"),
        Some(&admin),
    )
    .await
    .assert_problem(404, "not_found");
}
