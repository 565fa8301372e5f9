//! The attendance sheet: confirmed attendees only, by last name, with a
//! signature box per half-day of each working day.

use chrono::{Datelike, Duration, Utc, Weekday};
use serde_json::json;

use crate::support::{paid_seat, seat_in, spawn_app};

#[actix_web::test]
async fn the_sheet_lists_confirmed_attendees_with_a_box_per_half_day() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    // Monday to Friday, a month from now.
    let mut start = Utc::now().date_naive() + Duration::days(30);
    while start.weekday() != Weekday::Mon {
        start += Duration::days(1);
    }
    let session = app
        .create_session(&admin, json!({"location": "Bordeaux", "trainer": " Claire & Co ", "starts_on": start, "ends_on": start + Duration::days(4)}))
        .await;
    let sid = session["id"].as_str().unwrap();
    let zoe = paid_seat(&app, sid, "zoe@example.com").await;
    let named = app
        .patch(
            "/api/me/profile",
            Some(&zoe.token),
            json!({"first_name": "Zoé", "last_name": "Abel", "company": "Atelier <b>Abel</b>"}),
        )
        .await;
    assert_eq!(named.status, 200);
    let anonymous = paid_seat(&app, sid, "anonymous@example.com").await;
    // An account from before names were asked, whose seat was paid then.
    app.forget_names(anonymous.user).await;
    seat_in(&app, sid, "unpaid@example.com").await;

    let path = format!("/api/admin/sessions/{sid}/attendance");
    let page = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("Bordeaux"));
    // Headed with the trainer, as the admin typed it (trimmed, escaped).
    assert!(
        html.contains("Formateur : <strong class=\"trainer\">Claire &amp; Co</strong>"),
        "{html}"
    );
    assert_eq!(session["trainer"], "Claire & Co");
    // Named attendees first, by last name; the company's text is escaped.
    let abel = html.find("ABEL Zoé").expect("the named attendee");
    let anon = html.find("anonymous@example.com").expect("the unnamed one");
    assert!(abel < anon);
    assert!(html.contains("Atelier &lt;b&gt;Abel&lt;/b&gt;"));
    assert!(!html.contains("unpaid@example.com"), "a hold does not sign");
    // Two attendees × five days × morning and afternoon.
    assert_eq!(html.matches("class=\"sign\"").count(), 20);
    assert_eq!(html.matches("colspan=\"2\"").count(), 5);

    let csv = app
        .client
        .get(format!("{}{path}?format=csv", app.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&format!("emargement-{start}.csv"))
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3);
    let head: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(head.len(), 4 + 10);
    assert_eq!(
        &head[..5],
        [
            "nom",
            "prénom",
            "e-mail",
            "entreprise",
            &format!("{start} matin")
        ]
    );
    assert_eq!(head[5], format!("{start} après-midi"));
    assert!(lines[1].starts_with("Abel,Zoé,zoe@example.com,Atelier <b>Abel</b>,"));
    assert_eq!(lines[1].split(',').count(), 14);

    let (_, user) = app.quick_user("curious@example.com").await;
    app.get(&path, Some(&user))
        .await
        .assert_problem(403, "forbidden");
    app.get(
        "/api/admin/sessions/00000000-0000-0000-0000-000000000000/attendance",
        Some(&admin),
    )
    .await
    .assert_problem(404, "not_found");
    app.get(&format!("{path}?format=pdf"), Some(&admin))
        .await
        .assert_problem(400, "bad_request");

    // An empty trainer clears it: the sheet leaves a line to fill in.
    let cleared = app
        .patch(
            &format!("/api/admin/sessions/{sid}"),
            Some(&admin),
            json!({"trainer": ""}),
        )
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert_eq!(cleared.ok::<common::sessions::SessionDto>().trainer, None);
    let too_long = app
        .patch(
            &format!("/api/admin/sessions/{sid}"),
            Some(&admin),
            json!({"trainer": "x".repeat(201)}),
        )
        .await;
    too_long.assert_problem(422, "validation_failed");
    assert_eq!(too_long.body["errors"][0]["field"], "trainer");
}
