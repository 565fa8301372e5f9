//! My profile: names and invoice details, validated like every input.

use serde_json::json;

use crate::support::spawn_app;

#[actix_web::test]
async fn a_profile_is_read_changed_field_by_field_and_kept_to_its_owner() {
    let app = spawn_app().await;
    let (_, marie) = app.quick_user("marie@example.com").await;
    let (_, paul) = app.quick_user("paul@example.com").await;

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
    assert_eq!(named.body["first_name"], "Marie");
    assert_eq!(named.body["complete"], true);

    // Only what is named changes; an empty optional field is cleared.
    let changed = app
        .patch("/api/me/profile", Some(&marie), json!({"company": ""}))
        .await;
    assert_eq!(changed.body["company"], serde_json::Value::Null);
    assert_eq!(changed.body["last_name"], "Dupont");
    assert_eq!(
        changed.body["billing_address"],
        "1 rue de la Paix\n75002 Paris"
    );
    assert_eq!(
        app.get("/api/me/profile", Some(&marie)).await.body,
        changed.body
    );

    // Paul's profile is his own.
    assert_eq!(
        app.get("/api/me/profile", Some(&paul)).await.body["complete"],
        false
    );
}

#[actix_web::test]
async fn bad_profile_input_gets_a_clear_problem() {
    let app = spawn_app().await;
    let (_, token) = app.quick_user("marie@example.com").await;
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
    assert_eq!(
        app.get("/api/me/profile", Some(&token)).await.body["last_name"],
        serde_json::Value::Null
    );
    app.patch("/api/me/profile", Some(&token), json!({"nickname": "M"}))
        .await
        .assert_problem(400, "bad_request");
    app.patch("/api/me/profile", None, json!({"first_name": "M"}))
        .await
        .assert_problem(401, "unauthorized");
}
