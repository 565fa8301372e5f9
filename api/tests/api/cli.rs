//! The binary's maintenance commands, run as a user would run them.

use std::process::Command;

use common::auth::Role;
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

/// Runs a command of the binary against the test app's database.
fn on_database(app: &crate::support::TestApp, args: &[&str]) -> std::process::Output {
    immersion()
        .args(args)
        .env("DATABASE_URL", &app.database_url)
        .output()
        .unwrap()
}

#[actix_web::test]
async fn promote_admin_gives_an_existing_user_the_admin_role() {
    let app = spawn_app().await;
    let token = app.register("marie@example.com").await;
    let out = on_database(&app, &["promote-admin", "Marie@Example.com"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(app.me(&token).await.role, Role::Admin);

    let out = on_database(&app, &["promote-admin", "nobody@example.com"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody@example.com"));
}

#[actix_web::test]
async fn migrate_is_idempotent_on_a_migrated_database() {
    let app = spawn_app().await;
    let out = on_database(&app, &["migrate"]);
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
        .env("COMPANY_SIRET", "73282932000074")
        .env("COMPANY_NDA", "11751234575")
        .env_remove("JWT_SECRET")
        .env("HOLD_MINUTES", "soon")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("JWT_SECRET: required"), "{err}");
    assert!(err.contains("HOLD_MINUTES"), "{err}");
}

#[actix_web::test]
async fn audit_passes_on_a_sound_database_and_names_the_drift_otherwise() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let (_, token) = app.quick_user("marie@example.com").await;
    app.hold(s["id"].as_str().unwrap(), &token).await;
    let run = || on_database(&app, &["audit"]);
    let ok = run();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    use sea_orm::ConnectionTrait;
    app.state
        .db
        .execute_unprepared("UPDATE immersion_sessions SET reserved_places = 3")
        .await
        .unwrap();
    let drift = run();
    assert!(!drift.status.success());
    let err = String::from_utf8_lossy(&drift.stderr);
    assert!(err.contains(s["id"].as_str().unwrap()), "{err}");
    assert!(err.contains("reserved_places = 3 but 1"), "{err}");
}

#[actix_web::test]
async fn sweep_expires_lapsed_holds_from_the_command_line() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let (_, token) = app.quick_user("marie@example.com").await;
    let held = app.hold(s["id"].as_str().unwrap(), &token).await;
    use sea_orm::ConnectionTrait;
    app.state
        .db
        .execute_unprepared(
            "UPDATE immersion_bookings SET hold_expires_at = '2000-01-01T00:00:00+00:00'",
        )
        .await
        .unwrap();
    let out = on_database(&app, &["sweep"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 lapsed holds expired"));
    assert_eq!(
        app.booking_row(held["booking_id"].as_str().unwrap())
            .await
            .status,
        "expired"
    );
    assert_eq!(
        app.session_row(s["id"].as_str().unwrap())
            .await
            .reserved_places,
        0
    );
}

#[test]
fn production_without_the_stripe_settings_refuses_to_start_and_names_them() {
    let out = immersion()
        .args(["serve", "--no-demo"])
        .env("APP_ENV", "production")
        .env("COMPANY_SIRET", "73282932000074")
        .env("COMPANY_NDA", "11751234575")
        .env("BIND_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for name in ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"] {
        assert!(stderr.contains(name), "{name} not named: {stderr}");
    }
}

#[actix_web::test]
async fn demote_admin_takes_the_role_back() {
    let app = spawn_app().await;
    let token = app.register("marie@example.com").await;
    let out = on_database(&app, &["promote-admin", "marie@example.com"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(app.me(&token).await.role, Role::Admin);
    let out = on_database(&app, &["demote-admin", "Marie@Example.com"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(app.me(&token).await.role, Role::User);
    let out = on_database(&app, &["demote-admin", "nobody@example.com"]);
    assert!(!out.status.success());
}
