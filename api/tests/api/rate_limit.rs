//! Login throttling per account and per client IP: 429 with Retry-After.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{PASSWORD, TestApp};

#[actix_web::test]
async fn failed_logins_lock_the_account_but_not_others() {
    let app = TestApp::builder()
        .env("LOGIN_MAX_FAILURES_PER_ACCOUNT", "3")
        .env("LOGIN_WINDOW_SECONDS", "600")
        .spawn()
        .await;
    app.register("marie@example.com").await;
    app.register("paul@example.com").await;
    for _ in 0..3 {
        app.post(
            "/api/auth/login",
            None,
            json!({"email": "marie@example.com", "password": "wrong password!"}),
        )
        .await
        .assert_problem(401, "invalid_credentials");
    }
    // Locked, even with the right password, and whatever the e-mail's case.
    let a = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "MARIE@example.com", "password": PASSWORD}),
        )
        .await;
    a.assert_problem(429, "rate_limited");
    let retry: u64 = a
        .headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&retry), "{retry}");

    let other = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "paul@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(other.status, StatusCode::OK);
}

#[actix_web::test]
async fn a_success_resets_the_account_counter() {
    let app = TestApp::builder()
        .env("LOGIN_MAX_FAILURES_PER_ACCOUNT", "2")
        .spawn()
        .await;
    app.register("marie@example.com").await;
    let wrong = json!({"email": "marie@example.com", "password": "wrong password!"});
    let right = json!({"email": "marie@example.com", "password": PASSWORD});
    app.post("/api/auth/login", None, wrong.clone())
        .await
        .assert_problem(401, "invalid_credentials");
    assert_eq!(
        app.post("/api/auth/login", None, right).await.status,
        StatusCode::OK
    );
    app.post("/api/auth/login", None, wrong.clone())
        .await
        .assert_problem(401, "invalid_credentials");
    app.post("/api/auth/login", None, wrong)
        .await
        .assert_problem(401, "invalid_credentials");
}

#[actix_web::test]
async fn one_ip_is_limited_across_accounts() {
    let app = TestApp::builder()
        .env("LOGIN_MAX_PER_IP", "4")
        .spawn()
        .await;
    // Registering counts as an attempt from this IP too.
    app.register("marie@example.com").await;
    for n in 0..3 {
        app.post(
            "/api/auth/login",
            None,
            json!({"email": format!("user{n}@example.com"), "password": PASSWORD}),
        )
        .await
        .assert_problem(401, "invalid_credentials");
    }
    let a = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "marie@example.com", "password": PASSWORD}),
        )
        .await;
    a.assert_problem(429, "rate_limited");
    assert!(a.headers.get("retry-after").is_some());
    app.post(
        "/api/auth/register",
        None,
        json!({"email": "new@example.com", "password": PASSWORD}),
    )
    .await
    .assert_problem(429, "rate_limited");
}

#[actix_web::test]
async fn a_burst_of_concurrent_guesses_gets_no_more_than_the_limit() {
    let app = TestApp::builder()
        .env("LOGIN_MAX_PER_IP", "5")
        .spawn()
        .await;
    let mut set = tokio::task::JoinSet::new();
    for n in 0..20 {
        let (client, url) = (app.client.clone(), format!("{}/api/auth/login", app.base));
        set.spawn(async move {
            client
                .post(url)
                .json(&json!({"email": format!("guess{n}@example.com"), "password": "wrong password!"}))
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    let statuses = set.join_all().await;
    let tried = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((tried, refused), (5, 15), "{statuses:?}");
}
