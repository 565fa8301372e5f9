//! Answers with personal data carry `Cache-Control: no-store`, so no
//! browser cache or shared proxy keeps them: everything under `/api/me`
//! and `/api/admin`, and any answer to a signed-in request; the public
//! catalog keeps its own caching.

use serde_json::json;

use crate::support::{TestApp, paid_seat};

fn cache_control(a: &crate::support::Answer) -> String {
    a.headers
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[actix_web::test]
async fn personal_answers_are_never_stored() {
    let app = TestApp::builder().spawn().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let sid = s["id"].as_str().unwrap();
    let seat = paid_seat(&app, sid, "marie@example.com").await;
    for (path, token) in [
        ("/api/me".to_owned(), &seat.token),
        ("/api/me/bookings".to_owned(), &seat.token),
        ("/api/me/profile".to_owned(), &seat.token),
        ("/api/me/access".to_owned(), &seat.token),
        ("/api/me/invoices".to_owned(), &seat.token),
        (format!("/api/bookings/{}", seat.booking()), &seat.token),
        ("/api/admin/stats".to_owned(), &admin),
        (format!("/api/admin/sessions/{sid}/bookings"), &admin),
        (
            format!("/api/admin/sessions/{sid}/bookings?format=csv"),
            &admin,
        ),
        (format!("/api/admin/sessions/{sid}/attendance"), &admin),
        (
            format!("/api/admin/sessions/{sid}/attendance?format=csv"),
            &admin,
        ),
    ] {
        let a = app.get(&path, Some(token)).await;
        assert!(a.status.is_success(), "{path}: {} {}", a.status, a.body);
        assert!(
            cache_control(&a).contains("no-store"),
            "{path}: Cache-Control {:?}",
            cache_control(&a)
        );
    }
    // Even refused, an answer about someone is not kept.
    let a = app.get("/api/me", None).await;
    assert_eq!(a.status, reqwest::StatusCode::UNAUTHORIZED);
    assert!(cache_control(&a).contains("no-store"));
    // The public catalog, asked anonymously, keeps its own caching.
    let a = app.get("/api/sessions", None).await;
    assert!(
        !cache_control(&a).contains("no-store"),
        "{:?}",
        cache_control(&a)
    );
}
