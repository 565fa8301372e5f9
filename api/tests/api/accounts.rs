//! Register, login, logout, me: tokens, cookies, roles, uniform failures.

use common::auth::{AuthResponse, License, Role, UserDto};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{ADMIN_EMAIL, PASSWORD, spawn_app};

#[actix_web::test]
async fn register_lower_cases_the_email_and_signs_in() {
    let app = spawn_app().await;
    let a = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": "  Marie@Example.COM ", "password": PASSWORD}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let a: AuthResponse = a.ok();
    assert_eq!(a.user.email, "marie@example.com");
    assert_eq!(a.user.role, Role::User);
    assert_eq!(a.user.license, License::None);
    assert!(a.expires_at > chrono::Utc::now());

    let me = app.get("/api/me", Some(&a.token)).await;
    assert_eq!(me.status, StatusCode::OK);
    let me: UserDto = me.ok();
    assert_eq!(me.email, "marie@example.com");
    assert_eq!(me.id, a.user.id);
}

#[actix_web::test]
async fn an_email_is_registered_once_whatever_its_case() {
    let app = spawn_app().await;
    app.register("marie@example.com").await;
    app.post(
        "/api/auth/register",
        None,
        json!({"email": "MARIE@example.com", "password": PASSWORD}),
    )
    .await
    .assert_problem(409, "email_taken");
}

#[actix_web::test]
async fn register_checks_email_and_password() {
    let app = spawn_app().await;
    let a = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": "not-an-email", "password": PASSWORD}),
        )
        .await;
    a.assert_problem(422, "validation_failed");
    assert_eq!(a.body["errors"][0]["field"], "email");
    let a = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": "a@example.com", "password": "short"}),
        )
        .await;
    a.assert_problem(422, "validation_failed");
    assert_eq!(a.body["errors"][0]["field"], "password");
    assert_eq!(a.body["errors"][0]["rule"], "too_short");
    let long = "x".repeat(2000);
    let a = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": "a@example.com", "password": long}),
        )
        .await;
    a.assert_problem(422, "validation_failed");
    assert_eq!(a.body["errors"][0]["rule"], "too_long");
}

#[actix_web::test]
async fn login_answers_the_same_for_unknown_email_and_wrong_password() {
    let app = spawn_app().await;
    app.register("marie@example.com").await;
    let wrong = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "marie@example.com", "password": "wrong password!"}),
        )
        .await;
    let unknown = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "nobody@example.com", "password": PASSWORD}),
        )
        .await;
    wrong.assert_problem(401, "invalid_credentials");
    unknown.assert_problem(401, "invalid_credentials");
    assert_eq!(wrong.body, unknown.body);

    let ok = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "Marie@Example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.ok::<AuthResponse>().user.email, "marie@example.com");
}

#[actix_web::test]
async fn the_cookie_signs_the_browser_in_and_logout_clears_it() {
    let app = spawn_app().await;
    let browser = &app.browser;
    let a = app
        .call_with(
            browser,
            Method::POST,
            "/api/auth/register",
            None,
            Some(json!({"email": "marie@example.com", "password": PASSWORD})),
        )
        .await;
    let cookie = a
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("immersion_token="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");

    // The browser keeps the cookie: no bearer token needed.
    let me = app
        .call_with(browser, Method::GET, "/api/me", None, None)
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.ok::<UserDto>().email, "marie@example.com");
    // An API client without the cookie is anonymous.
    app.get("/api/me", None)
        .await
        .assert_problem(401, "unauthorized");

    let out = app
        .call_with(browser, Method::POST, "/api/auth/logout", None, None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let cleared = out.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    app.call_with(browser, Method::GET, "/api/me", None, None)
        .await
        .assert_problem(401, "unauthorized");
    // A copy of the old cookie is worth nothing either: the session is revoked.
    let old = cookie.split(';').next().unwrap();
    let res = app
        .client
        .get(format!("{}/api/me", app.base))
        .header("cookie", old)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn bad_expired_and_orphan_tokens_are_refused() {
    let app = spawn_app().await;
    let token = app.register("marie@example.com").await;
    let a = app.get("/api/me", Some(&format!("{token}x"))).await;
    a.assert_problem(401, "unauthorized");
    assert_eq!(a.headers.get("www-authenticate").unwrap(), "Bearer");

    let id = app.me(&token).await.id;
    let (expired, _) = api::domain::accounts::sign_ins::sign_in(
        &app.state.db,
        &app.state.tokens,
        id,
        chrono::Utc::now() - chrono::Duration::hours(3),
    )
    .await
    .unwrap();
    app.get("/api/me", Some(&expired))
        .await
        .assert_problem(401, "unauthorized");

    // A well-signed token naming no session (never opened, or forged
    // with a stolen secret for another user) is refused.
    let (orphan, _) = app
        .state
        .tokens
        .issue(
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4(),
            chrono::Utc::now(),
        )
        .unwrap();
    app.get("/api/me", Some(&orphan))
        .await
        .assert_problem(401, "unauthorized");
}

#[actix_web::test]
async fn admin_emails_from_settings_get_the_admin_role_once_verified() {
    let app = spawn_app().await;
    let a = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": ADMIN_EMAIL.to_uppercase(), "password": PASSWORD}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.ok::<AuthResponse>().user.role, Role::User);
    // `admin_token` follows the mailed link, then signs in.
    let token = app.admin_token().await;
    assert_eq!(app.me(&token).await.role, Role::Admin);
}

#[actix_web::test]
async fn a_user_listed_later_in_admin_emails_becomes_admin_at_next_start_and_login() {
    let app = spawn_app().await;
    let token = app.register("late@example.com").await;
    let unverified = app.register("squatter@example.com").await;
    assert_eq!(app.me(&token).await.role, Role::User);
    let link = app.mailed_token("late@example.com", "verifier-email").await;
    let verified = app
        .post(
            "/api/auth/verify-email",
            Some(&token),
            json!({"token": link}),
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    let (promoted, _) = api::domain::accounts::roles::follow_admin_emails(
        &app.state.db,
        &[
            "late@example.com".to_owned(),
            "squatter@example.com".to_owned(),
        ],
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    // Only the verified address: nobody proved they own the other one.
    assert_eq!(promoted, 1);
    assert_eq!(app.me(&unverified).await.role, Role::User);
    // The role is read fresh on each request: the same token now sees it.
    assert_eq!(app.me(&token).await.role, Role::Admin);
}

#[actix_web::test]
async fn an_unverified_admin_from_before_is_demoted_at_start() {
    let app = spawn_app().await;
    // Made admin by the old build, which did not ask for verification.
    let squatter = api::domain::accounts::users::insert_user(
        &app.state.db,
        ADMIN_EMAIL,
        "!".into(),
        common::auth::Role::Admin,
        common::auth::License::None,
    )
    .await
    .unwrap();
    api::domain::accounts::roles::follow_admin_emails(
        &app.state.db,
        &[ADMIN_EMAIL.to_owned()],
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    use sea_orm::EntityTrait;
    let row = entity::users::Entity::find_by_id(squatter.id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.role, "user");
}

/// `ADMIN_EMAILS` grants and withdraws: an admin the list made goes back
/// to user when a restart no longer finds it there, and the change is
/// kept; an admin made on the command line stays.
#[actix_web::test]
async fn an_address_removed_from_admin_emails_is_demoted_at_restart() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    assert_eq!(app.me(&admin).await.role, Role::Admin);
    let cli_admin = app.register("cli@example.com").await;
    let cli_id = app.me(&cli_admin).await.id;
    let made = api::domain::accounts::users::set_role_by_cli(
        &app.state.db,
        "cli@example.com",
        Role::Admin,
    )
    .await
    .unwrap();
    assert_eq!(made.role, Role::Admin);
    // The same database, started again with nobody listed.
    let restarted = crate::support::TestApp::builder()
        .env("DATABASE_URL", &app.database_url)
        .env("ADMIN_EMAILS", "someone.else@example.com")
        .spawn()
        .await;
    let boss = app.me(&admin).await;
    assert_eq!(
        boss.role,
        Role::User,
        "withdrawn from the list, still admin"
    );
    assert_eq!(restarted.me(&cli_admin).await.role, Role::Admin);
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let kept = entity::role_changes::Entity::find()
        .filter(entity::role_changes::Column::UserId.eq(boss.id))
        .order_by_asc(entity::role_changes::Column::ChangedAt)
        .all(&app.state.db)
        .await
        .unwrap();
    let steps: Vec<(Role, Role, &str)> = kept
        .iter()
        .map(|c| (c.old_role, c.new_role, c.changed_by.as_str()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (Role::User, Role::Admin, "ADMIN_EMAILS"),
            (Role::Admin, Role::User, "ADMIN_EMAILS"),
        ]
    );
    let cli_kept = entity::role_changes::Entity::find()
        .filter(entity::role_changes::Column::UserId.eq(cli_id))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(cli_kept.len(), 1);
    assert_eq!(cli_kept[0].changed_by, "cli");
}

/// Issue 22: `bоss@` with a Cyrillic о would sit beside `boss@` in
/// attendee lists looking like the same person. Addresses are unique by
/// their confusable skeleton (UTS #39): the look-alike gets 409.
#[actix_web::test]
async fn an_address_that_looks_like_a_taken_one_is_refused() {
    let app = spawn_app().await;
    app.register("boss@example.com").await;
    for look_alike in ["b\u{043e}ss@example.com", "boss@ex\u{0430}mple.com"] {
        let a = app
            .post(
                "/api/auth/register",
                None,
                json!({"email": look_alike, "password": PASSWORD}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CONFLICT, "{look_alike}: {}", a.body);
        assert_eq!(a.body["code"], "email_taken");
    }
    // A different address is still welcome.
    app.register("bossa@example.com").await;
}

/// Accounts made before the skeleton was kept get it at startup, oldest
/// first; of two that look alike, the younger keeps none (and is logged).
#[actix_web::test]
async fn older_accounts_get_their_skeleton_the_older_of_two_look_alikes_first() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let app = spawn_app().await;
    let (first, _) = app.quick_user("marie@example.com").await;
    let (second, _) = app.quick_user("jean@example.com").await;
    let db = &app.state.db;
    // As before the column existed; the second's address now looks like
    // the first's (written directly, as an older version let it be).
    entity::users::Entity::update_many()
        .col_expr(
            entity::users::Column::EmailSkeleton,
            Expr::value(Option::<String>::None),
        )
        .exec(db)
        .await
        .unwrap();
    entity::users::Entity::update_many()
        .col_expr(
            entity::users::Column::Email,
            Expr::value("m\u{0430}rie@example.com"),
        )
        .filter(entity::users::Column::Id.eq(second))
        .exec(db)
        .await
        .unwrap();
    let filled = api::domain::accounts::users::fill_skeletons(db)
        .await
        .unwrap();
    let skeleton_of = |id| async move {
        entity::users::Entity::find_by_id(id)
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .email_skeleton
    };
    assert!(skeleton_of(first).await.is_some());
    assert_eq!(skeleton_of(second).await, None);
    // The admin of spawn_app and the first: filled; the look-alike: not.
    assert!(filled >= 1);
}
