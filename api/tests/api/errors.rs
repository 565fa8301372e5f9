//! Bad input of every kind gets a problem+json 4xx with a stable code.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{into_answer, spawn_app};

#[actix_web::test]
async fn malformed_bodies_paths_and_routes_are_problems() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let url = |p: &str| format!("{}{p}", app.base);

    // Not JSON at all.
    let res = app
        .client
        .post(url("/api/auth/login"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    into_answer(res).await.assert_problem(400, "bad_request");

    // JSON of the wrong shape, and an unknown field.
    app.post(
        "/api/auth/login",
        None,
        json!({"email": 42, "password": "x"}),
    )
    .await
    .assert_problem(400, "bad_request");
    let a = app
        .post(
            "/api/admin/sessions",
            Some(&admin),
            json!({"starts_on": "2030-01-01", "bogus": 1}),
        )
        .await;
    a.assert_problem(400, "bad_request");
    let a = app
        .post("/api/admin/sessions", Some(&admin), {
            let mut b = crate::support::session_body();
            crate::support::merge(&mut b, json!({"starts_on": "2030-02-31"}));
            b
        })
        .await;
    a.assert_problem(400, "bad_request");

    // Wrong content type.
    let res = app
        .client
        .post(url("/api/auth/login"))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    into_answer(res)
        .await
        .assert_problem(415, "unsupported_media_type");

    // Too large.
    let big = "x".repeat(70 * 1024);
    app.post(
        "/api/auth/login",
        None,
        json!({"email": big, "password": "x"}),
    )
    .await
    .assert_problem(413, "payload_too_large");

    // A path parameter that is not a uuid.
    app.get("/api/sessions/not-a-uuid", None)
        .await
        .assert_problem(400, "bad_request");
    app.patch("/api/admin/sessions/123", Some(&admin), json!({}))
        .await
        .assert_problem(400, "bad_request");

    // No such route.
    app.get("/api/nothing-here", None)
        .await
        .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let a = app.get("/health", None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["status"], "ok");
    let a = app.get("/ready", None).await;
    assert_eq!(a.status, StatusCode::OK);

    // With its connection closed, readiness says so without leaking the
    // cause, and says when to ask again.
    app.state.ready_db.clone().close().await.unwrap();
    let a = app.get("/ready", None).await;
    a.assert_problem(503, "service_unavailable");
    assert_eq!(a.headers["retry-after"], "2");
    assert!(
        !a.body.to_string().to_lowercase().contains("pool"),
        "{}",
        a.body
    );
    // Liveness does not depend on the database.
    assert_eq!(app.get("/health", None).await.status, StatusCode::OK);
}

#[actix_web::test]
async fn server_errors_do_not_leak_internals() {
    let app = spawn_app().await;
    app.state.db.clone().close().await.unwrap();
    let a = app.get("/api/sessions", None).await;
    assert!(a.status.is_server_error(), "{}", a.status);
    assert_eq!(
        a.headers.get("content-type").unwrap(),
        "application/problem+json"
    );
    let text = a.body.to_string().to_lowercase();
    for leak in ["sqlx", "sqlite", "postgres", "pool", "select"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
}

#[actix_web::test]
async fn a_known_path_with_another_method_is_405_with_allow() {
    let app = spawn_app().await;
    let a = app.delete("/api/sessions", None).await;
    a.assert_problem(405, "method_not_allowed");
    assert_eq!(a.headers.get("allow").unwrap(), "GET");
    let a = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/admin/sessions/{}", uuid::Uuid::new_v4()),
            None,
            None,
        )
        .await;
    a.assert_problem(405, "method_not_allowed");
    let allow = a.headers.get("allow").unwrap().to_str().unwrap();
    assert!(
        allow.contains("PATCH") && allow.contains("DELETE"),
        "{allow}"
    );
}

#[actix_web::test]
async fn a_body_sent_too_slowly_gets_408_instead_of_holding_a_worker() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = crate::support::TestApp::builder()
        .env("REQUEST_TIMEOUT_SECONDS", "1")
        .spawn()
        .await;
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    // Announces 100 bytes, sends 9, then nothing.
    stream
        .write_all(
            b"POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":",
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        let mut buf = [0u8; 1024];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    assert!(read.is_ok(), "no answer to a stalled body");
    let head = String::from_utf8_lossy(&answer);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(head.contains("application/problem+json"), "{head}");
}

#[actix_web::test]
async fn head_is_answered_wherever_get_is() {
    let app = crate::support::spawn_app().await;
    for path in ["/health", "/ready", "/api/sessions", "/api/openapi.json"] {
        let get = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        let head = app
            .client
            .head(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "HEAD {path}"
        );
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "HEAD {path} sent a body"
        );
    }
}
