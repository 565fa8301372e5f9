//! Clients generated from the committed `openapi.yaml` work: a Python one
//! (openapi-python-client, every operation generated) and a TypeScript one
//! (openapi-typescript + openapi-fetch, type-checked with `tsc`) each list
//! the sessions, book a seat for a user with an API key and read the
//! booking back (`clients/run.sh`).

use common::api_keys::{CreatedApiKey, Scope};
use serde_json::json;

use crate::support::spawn_app;

#[actix_web::test]
async fn clients_generated_from_the_document_book_with_an_api_key() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let key: CreatedApiKey = app
        .post(
            "/api/admin/api-keys",
            Some(&admin),
            json!({
                "name": "generated clients",
                "scopes": [Scope::SessionsRead, Scope::BookingsRead, Scope::BookingsWrite],
            }),
        )
        .await
        .ok();
    app.create_session(&admin, json!({})).await;
    // One user per client: each holds a seat of its own.
    let mut users = Vec::new();
    for name in ["python", "typescript"] {
        let email = format!("{name}-client@example.com");
        let (id, _) = app.quick_user(&email).await;
        app.mark_verified(id).await;
        users.push((id, email));
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/run.sh");
    let out = tokio::process::Command::new("bash")
        .arg(&script)
        .env("IMMERSION_BASE", &app.base)
        .env("IMMERSION_KEY", &key.secret)
        .env("IMMERSION_PYTHON_USER", &users[0].1)
        .env("IMMERSION_TYPESCRIPT_USER", &users[1].1)
        .output()
        .await
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("python: held "), "{stdout}");
    assert!(stdout.contains("typescript: held "), "{stdout}");
    // Each seat is held in its user's name.
    for (id, email) in &users {
        let mine: Vec<serde_json::Value> = app
            .get(
                &format!("/api/me/bookings?on_behalf_of={email}"),
                Some(&key.secret),
            )
            .await
            .ok();
        assert_eq!(mine.len(), 1, "{email}");
        assert_eq!(mine[0]["user_id"], json!(id));
    }
}
