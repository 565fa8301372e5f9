//! The binary's maintenance commands, run as a user would run them.

use std::process::Command;

use serde_json::json;

use crate::support::spawn_app;

fn immersion() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_immersion"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("JWT_SECRET", "test-secret-test-secret-test-secret-42")
        .env("DEMO_DATA", "false")
        .current_dir(std::env::temp_dir());
    cmd
}

#[actix_web::test]
async fn promote_admin_gives_an_existing_user_the_admin_role() {
    let app = spawn_app().await;
    let token = app.register("marie@example.com").await;
    let out = immersion()
        .args(["promote-admin", "Marie@Example.com"])
        .env("DATABASE_URL", &app.database_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(app.get("/api/me", Some(&token)).await.body["role"], "admin");

    let out = immersion()
        .args(["promote-admin", "nobody@example.com"])
        .env("DATABASE_URL", &app.database_url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody@example.com"));
}

#[actix_web::test]
async fn migrate_is_idempotent_on_a_migrated_database() {
    let app = spawn_app().await;
    let out = immersion()
        .arg("migrate")
        .env("DATABASE_URL", &app.database_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Still serving the same data.
    let admin = app.admin_token().await;
    app.create_session(&admin, json!({})).await;
}

#[test]
fn openapi_prints_the_document() {
    let out = immersion().arg("openapi").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        api::http::docs::openapi_yaml().unwrap()
    );
}

#[test]
fn bad_settings_are_reported_clearly_and_refuse_to_start() {
    let out = immersion()
        .arg("serve")
        .env("APP_ENV", "production")
        .env_remove("JWT_SECRET")
        .env("HOLD_MINUTES", "soon")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("JWT_SECRET: required"), "{err}");
    assert!(err.contains("HOLD_MINUTES"), "{err}");
}
