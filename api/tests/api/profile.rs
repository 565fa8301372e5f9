//! My profile: names and invoice details, validated like every input.

use common::profile::ProfileDto;
use serde_json::json;

use crate::support::spawn_app;

#[actix_web::test]
async fn a_profile_is_read_changed_field_by_field_and_kept_to_its_owner() {
    let app = spawn_app().await;
    let (_, marie) = app.nameless_user("marie@example.com").await;
    let (_, paul) = app.nameless_user("paul@example.com").await;

    let empty = app.get("/api/me/profile", Some(&marie)).await;
    assert_eq!(empty.status, 200);
    assert_eq!(
        empty.body,
        json!({"first_name": null, "last_name": null, "company": null,
               "billing_address": null, "phone": null, "complete": false})
    );

    let named = app
        .patch(
            "/api/me/profile",
            Some(&marie),
            json!({"first_name": " Marie ", "last_name": "Dupont", "company": "ACME SAS",
                   "billing_address": "1 rue de la Paix\n75002 Paris", "phone": "+33 6 12 34 56 78"}),
        )
        .await;
    assert_eq!(named.status, 200, "{}", named.body);
    let named: ProfileDto = named.ok();
    assert_eq!(named.first_name.as_deref(), Some("Marie"));
    assert!(named.complete);

    // Only what is named changes; an empty optional field is cleared.
    let changed: ProfileDto = app
        .patch("/api/me/profile", Some(&marie), json!({"company": ""}))
        .await
        .ok();
    assert_eq!(changed.company, None);
    assert_eq!(changed.last_name.as_deref(), Some("Dupont"));
    assert_eq!(
        changed.billing_address.as_deref(),
        Some("1 rue de la Paix\n75002 Paris")
    );
    assert_eq!(
        app.get("/api/me/profile", Some(&marie))
            .await
            .ok::<ProfileDto>(),
        changed
    );

    // Paul's profile is his own.
    let pauls: ProfileDto = app.get("/api/me/profile", Some(&paul)).await.ok();
    assert!(!pauls.complete);
}

#[actix_web::test]
async fn bad_profile_input_gets_a_clear_problem() {
    let app = spawn_app().await;
    let (_, token) = app.nameless_user("marie@example.com").await;
    let bad = app
        .patch(
            "/api/me/profile",
            Some(&token),
            json!({"first_name": "", "last_name": "x".repeat(101), "phone": "appelez-moi"}),
        )
        .await;
    bad.assert_problem(422, "validation_failed");
    let fields: Vec<(&str, &str)> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["rule"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        [
            ("first_name", "required"),
            ("last_name", "too_long"),
            ("phone", "invalid")
        ]
    );
    // Nothing of a refused change is kept.
    let kept: ProfileDto = app.get("/api/me/profile", Some(&token)).await.ok();
    assert_eq!(kept.last_name, None);
    app.patch("/api/me/profile", Some(&token), json!({"nickname": "M"}))
        .await
        .assert_problem(400, "bad_request");
    app.patch("/api/me/profile", None, json!({"first_name": "M"}))
        .await
        .assert_problem(401, "unauthorized");
}

#[actix_web::test]
async fn names_are_needed_before_a_first_booking_or_subscription() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let sid = app.create_session(&admin, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, token) = app.nameless_user("sans-nom@example.com").await;
    app.checkout(&sid, &token)
        .await
        .assert_problem(409, "profile_incomplete");
    app.subscribe(&token, "monthly")
        .await
        .assert_problem(409, "profile_incomplete");
    // Nothing was taken.
    assert_eq!(app.session_row(&sid).await.reserved_places, 0);

    // A first name alone is not enough; both are.
    app.patch(
        "/api/me/profile",
        Some(&token),
        json!({"first_name": "Lou"}),
    )
    .await;
    app.checkout(&sid, &token)
        .await
        .assert_problem(409, "profile_incomplete");
    app.patch(
        "/api/me/profile",
        Some(&token),
        json!({"last_name": "Martin"}),
    )
    .await;
    let held = app.checkout(&sid, &token).await;
    assert_eq!(held.status, 201, "{}", held.body);
    let subscribed = app.subscribe(&token, "monthly").await;
    assert_eq!(subscribed.status, 200, "{}", subscribed.body);
}

/// A name that could pass for someone else's in the attendee list and on
/// the attendance sheet (a right-to-left override, a zero-width space) is
/// refused, naming the field.
#[actix_web::test]
async fn a_name_with_invisible_characters_gets_422() {
    let app = spawn_app().await;
    let (_, marie) = app.nameless_user("marie@example.com").await;
    for (field, value) in [
        ("last_name", "Martin\u{202E}nitraM"),
        ("first_name", "Ma\u{200B}rie"),
        ("company", "ACME\u{2066}"),
    ] {
        let a = app
            .patch(
                "/api/me/profile",
                Some(&marie),
                json!({"first_name": "Marie", "last_name": "Martin", field: value}),
            )
            .await;
        a.assert_problem(422, "validation_failed");
        assert_eq!(a.body["errors"][0]["field"], field, "{}", a.body);
        assert_eq!(a.body["errors"][0]["rule"], "invisible_characters");
    }
}
