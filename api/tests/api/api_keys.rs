//! API keys: issued once and kept as a digest, scoped endpoint by
//! endpoint, revoked on every instance at once, expired, limited per key,
//! not a browser, and acting for a person under that person's rules.

use std::collections::BTreeSet;

use api::http::key_auth::{ForUser, ROUTES};
use common::api_keys::{ApiKeyDto, CreatedApiKey, Scope};
use reqwest::{Method, StatusCode};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use sha2::Digest;

use crate::support::{TestApp, paid_seat, spawn_app};
use entity::api_keys as keys;

/// Issues a key with `scopes` (and any other fields of `extra`).
async fn issue(app: &TestApp, admin: &str, scopes: &[Scope], extra: Value) -> CreatedApiKey {
    let mut body = json!({
        "name": "CRM",
        "scopes": scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    });
    crate::support::merge(&mut body, extra);
    let a = app.post("/api/admin/api-keys", Some(admin), body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.ok()
}

fn all_but(scope: Scope) -> Vec<Scope> {
    Scope::ALL.into_iter().filter(|s| *s != scope).collect()
}

#[actix_web::test]
async fn a_key_is_shown_once_kept_as_a_digest_and_listed_with_its_last_use() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created = issue(&app, &admin, &[Scope::StatsRead], json!({})).await;
    assert!(
        created.secret.starts_with("imm_live_"),
        "{}",
        created.secret
    );
    assert!(created.secret.len() >= 9 + 64);
    assert!(created.secret.starts_with(&created.key.prefix));
    assert_eq!(created.key.scopes, vec![Scope::StatsRead]);
    assert_eq!(created.key.last_used_at, None);

    let row = keys::Entity::find_by_id(created.key.id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(row.secret_hash, created.secret);
    assert_eq!(
        row.secret_hash,
        hex::encode(sha2::Sha256::digest(created.secret.as_bytes()))
    );

    app.get("/api/admin/stats", Some(&created.secret))
        .await
        .ok::<Value>();
    let listed = app.get("/api/admin/api-keys", Some(&admin)).await;
    assert!(!listed.body.to_string().contains(&created.secret));
    let listed: Vec<ApiKeyDto> = listed.ok();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].last_used_at.is_some(), "{listed:?}");
}

#[actix_web::test]
async fn bad_keys_are_refused_with_the_field_named() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for (body, field) in [
        (json!({"name": "", "scopes": ["stats:read"]}), "name"),
        (json!({"name": "x", "scopes": []}), "scopes"),
        (
            json!({"name": "x", "scopes": ["stats:read"], "expires_at": "2000-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"name": "x", "scopes": ["stats:read"], "allowed_ips": ["example.com"]}),
            "allowed_ips",
        ),
    ] {
        let a = app.post("/api/admin/api-keys", Some(&admin), body).await;
        a.assert_problem(422, "validation_failed");
        assert_eq!(a.body["errors"][0]["field"], field, "{}", a.body);
    }
    let a = app
        .post(
            "/api/admin/api-keys",
            Some(&admin),
            json!({"name": "x", "scopes": ["sessions:admin"]}),
        )
        .await;
    assert!(a.status.is_client_error(), "{}", a.body);
}

/// Every endpoint a key may call, with a request that succeeds for a key
/// holding its scope.
#[actix_web::test]
async fn authorization_matrix_of_scopes() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (buyer_id, _) = app.quick_user("buyer@example.com").await;
    let s = app.create_session(&admin, json!({})).await;
    let sid = s["id"].as_str().unwrap().to_owned();
    let paid = paid_seat(&app, &sid, "paid@example.com").await;
    let booking = paid.booking().to_owned();
    let invoice: Value = app
        .get("/api/me/invoices", Some(&paid.token))
        .await
        .ok::<Vec<Value>>()
        .into_iter()
        .next()
        .expect("an invoice for the paid seat");
    let invoice = invoice["id"].as_str().unwrap().to_owned();
    let to_delete = app.create_session(&admin, json!({})).await;
    let to_delete = to_delete["id"].as_str().unwrap().to_owned();

    // (scope, method, path, body, expected status)
    let cases: Vec<(Scope, Method, String, Option<Value>, u16)> = vec![
        (
            Scope::SessionsRead,
            Method::GET,
            "/api/admin/sessions".into(),
            None,
            200,
        ),
        (
            Scope::SessionsWrite,
            Method::POST,
            "/api/admin/sessions".into(),
            Some(crate::support::session_body()),
            201,
        ),
        (
            Scope::SessionsWrite,
            Method::PATCH,
            format!("/api/admin/sessions/{sid}"),
            Some(json!({"location": "Lyon"})),
            200,
        ),
        (
            Scope::SessionsWrite,
            Method::DELETE,
            format!("/api/admin/sessions/{to_delete}"),
            None,
            204,
        ),
        (
            Scope::BookingsRead,
            Method::GET,
            format!("/api/admin/sessions/{sid}/bookings"),
            None,
            200,
        ),
        (
            Scope::BookingsRead,
            Method::GET,
            format!("/api/bookings/{booking}"),
            None,
            200,
        ),
        (
            Scope::BookingsRead,
            Method::GET,
            "/api/me/bookings?on_behalf_of=paid@example.com".into(),
            None,
            200,
        ),
        (
            Scope::BookingsWrite,
            Method::POST,
            format!("/api/sessions/{sid}/checkout?on_behalf_of={buyer_id}"),
            Some(json!({})),
            201,
        ),
        (
            Scope::MembersRead,
            Method::GET,
            "/api/admin/subscriptions".into(),
            None,
            200,
        ),
        (
            Scope::InvoicesRead,
            Method::GET,
            format!("/api/invoices/{invoice}"),
            None,
            200,
        ),
        (
            Scope::InvoicesRead,
            Method::GET,
            "/api/me/invoices?on_behalf_of=paid@example.com".into(),
            None,
            200,
        ),
        (
            Scope::StatsRead,
            Method::GET,
            "/api/admin/stats".into(),
            None,
            200,
        ),
        (
            Scope::EventsRead,
            Method::GET,
            "/api/events".into(),
            None,
            200,
        ),
        (
            Scope::WebhooksManage,
            Method::GET,
            "/api/admin/webhook-endpoints".into(),
            None,
            200,
        ),
    ];
    // Every scope an endpoint needs is tried here.
    let needed: BTreeSet<Scope> = ROUTES.iter().map(|r| r.scope).collect();
    let tried: BTreeSet<Scope> = cases.iter().map(|c| c.0).collect();
    assert_eq!(needed, tried);

    for (scope, method, path, body, expected) in cases {
        let without = issue(&app, &admin, &all_but(scope), json!({})).await;
        let refused = app
            .call(method.clone(), &path, Some(&without.secret), body.clone())
            .await;
        refused.assert_problem(403, "forbidden");
        assert!(
            refused.body["detail"]
                .as_str()
                .unwrap()
                .contains(scope.as_str()),
            "{}",
            refused.body
        );
        let with = issue(&app, &admin, &[scope], json!({})).await;
        let a = app
            .call(method.clone(), &path, Some(&with.secret), body)
            .await;
        assert_eq!(a.status.as_u16(), expected, "{method} {path}: {}", a.body);
    }

    // Every endpoint a key may call refuses a key without its scope, and
    // every other one that takes a sign-in refuses a key with them all.
    let all = issue(&app, &admin, &Scope::ALL, json!({})).await;
    let doc: Value = app.get("/api/openapi.json", None).await.ok();
    let some_id = uuid::Uuid::new_v4().to_string();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let signed_in = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            if !signed_in {
                continue;
            }
            let path = template.replace("{id}", &some_id);
            let route = ROUTES
                .iter()
                .find(|r| r.path == template && r.method.as_str() == method.as_str());
            let (secret, what) = match route {
                Some(r) => {
                    let without = issue(&app, &admin, &all_but(r.scope), json!({})).await;
                    (without.secret, "without its scope")
                }
                None => (all.secret.clone(), "not open to keys"),
            };
            let a = app
                .call(method.clone(), &path, Some(&secret), Some(json!({})))
                .await;
            assert_eq!(
                a.status.as_u16(),
                403,
                "{method} {template} {what}: {}",
                a.body
            );
            // The document says which scope each open operation needs.
            let declared = op["security"]
                .as_array()
                .unwrap()
                .iter()
                .find_map(|r| r.get("api_key"))
                .cloned();
            assert_eq!(
                declared,
                route.map(|r| json!([r.scope.as_str()])),
                "{method} {template}"
            );
        }
    }
}

#[actix_web::test]
async fn keys_never_manage_keys() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let all = issue(&app, &admin, &Scope::ALL, json!({})).await;
    app.get("/api/admin/api-keys", Some(&all.secret))
        .await
        .assert_problem(403, "forbidden");
    let a = app
        .post(
            "/api/admin/api-keys",
            Some(&all.secret),
            json!({"name": "mine", "scopes": ["stats:read"]}),
        )
        .await;
    a.assert_problem(403, "forbidden");
    app.delete(
        &format!("/api/admin/api-keys/{}", all.key.id),
        Some(&all.secret),
    )
    .await
    .assert_problem(403, "forbidden");
}

#[actix_web::test]
async fn an_unknown_or_expired_key_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let key = issue(
        &app,
        &admin,
        &[Scope::StatsRead],
        json!({"expires_at": (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339()}),
    )
    .await;
    app.get("/api/admin/stats", Some(&key.secret))
        .await
        .ok::<Value>();
    // The last digit changed (to another one: a '0' becomes '1').
    let (head, last) = key.secret.split_at(key.secret.len() - 1);
    let forged = format!("{head}{}", if last == "0" { "1" } else { "0" });
    app.get("/api/admin/stats", Some(&forged))
        .await
        .assert_problem(401, "unauthorized");
    // Thirty days later.
    keys::Entity::update_many()
        .col_expr(
            keys::Column::ExpiresAt,
            Expr::value(Some(chrono::Utc::now() - chrono::Duration::seconds(1))),
        )
        .filter(keys::Column::Id.eq(key.key.id))
        .exec(&app.state.db)
        .await
        .unwrap();
    app.get("/api/admin/stats", Some(&key.secret))
        .await
        .assert_problem(401, "unauthorized");
}

#[actix_web::test]
async fn a_revoked_key_is_refused_at_once_by_another_instance() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let key = issue(&app, &admin, &[Scope::StatsRead], json!({})).await;
    let other = crate::instances::Instance::start(&app.database_url, &[]).await;
    let client = reqwest::Client::new();
    let ask = || {
        client
            .get(format!("{}/api/admin/stats", other.base))
            .bearer_auth(&key.secret)
            .send()
    };
    assert_eq!(ask().await.unwrap().status(), StatusCode::OK);
    app.delete(&format!("/api/admin/api-keys/{}", key.key.id), Some(&admin))
        .await;
    // The next request to the other instance, with no wait.
    assert_eq!(ask().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let listed: Vec<ApiKeyDto> = app.get("/api/admin/api-keys", Some(&admin)).await.ok();
    assert!(listed.is_empty());
    let row = keys::Entity::find_by_id(key.key.id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.revoked_at.is_some());
    // Once revoked, always: 404 to revoke it again.
    app.delete(&format!("/api/admin/api-keys/{}", key.key.id), Some(&admin))
        .await
        .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn a_key_has_its_own_rate_limit() {
    let app = TestApp::builder()
        .env("API_KEY_REQUESTS_PER_MINUTE", "3")
        .spawn()
        .await;
    let admin = app.admin_token().await;
    let key = issue(&app, &admin, &[Scope::StatsRead], json!({})).await;
    let other = issue(&app, &admin, &[Scope::StatsRead], json!({})).await;
    for remaining in ["2", "1", "0"] {
        let a = app.get("/api/admin/stats", Some(&key.secret)).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert_eq!(a.headers["ratelimit-limit"], "3");
        assert_eq!(a.headers["ratelimit-remaining"], remaining);
    }
    let refused = app.get("/api/admin/stats", Some(&key.secret)).await;
    refused.assert_problem(429, "rate_limited");
    let retry: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(refused.headers["ratelimit-remaining"], "0");
    assert_eq!(
        refused.headers["ratelimit-reset"],
        refused.headers["retry-after"]
    );
    // Another key, and the admin in the browser, are not limited by it.
    app.get("/api/admin/stats", Some(&other.secret))
        .await
        .ok::<Value>();
    let a = app.get("/api/admin/stats", Some(&admin)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.headers.get("ratelimit-limit").is_none());
}

#[actix_web::test]
async fn a_key_is_not_a_browser_and_may_be_bound_to_addresses() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let key = issue(&app, &admin, &[Scope::SessionsWrite], json!({})).await;
    // A foreign Origin does not matter to a key: no browser sends it.
    let a = app
        .client
        .post(format!("{}/api/admin/sessions", app.base))
        .bearer_auth(&key.secret)
        .header("origin", "https://evil.example")
        .json(&crate::support::session_body())
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), StatusCode::CREATED);
    // A key in the cookie is no sign-in.
    let a = app
        .client
        .get(format!("{}/api/admin/sessions", app.base))
        .header("cookie", format!("immersion_token={}", key.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), StatusCode::UNAUTHORIZED);

    let elsewhere = issue(
        &app,
        &admin,
        &[Scope::StatsRead],
        json!({"allowed_ips": ["10.0.0.0/8"]}),
    )
    .await;
    app.get("/api/admin/stats", Some(&elsewhere.secret))
        .await
        .assert_problem(403, "forbidden");
    let here = issue(
        &app,
        &admin,
        &[Scope::StatsRead],
        json!({"allowed_ips": ["10.0.0.0/8", "127.0.0.1"]}),
    )
    .await;
    app.get("/api/admin/stats", Some(&here.secret))
        .await
        .ok::<Value>();
}

#[actix_web::test]
async fn a_key_acting_for_a_user_meets_the_user_s_rules() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let key = issue(
        &app,
        &admin,
        &[Scope::BookingsWrite, Scope::BookingsRead],
        json!({}),
    )
    .await;
    let s = app.create_session(&admin, json!({"max_places": 1})).await;
    let sid = s["id"].as_str().unwrap().to_owned();
    let (alice, alice_token) = app.quick_user("alice@example.com").await;
    // Verified: she may hold seats in two sessions at once.
    app.mark_verified(alice).await;
    let (bob, _) = app.quick_user("bob@example.com").await;
    let (_, carol_token) = app.quick_user("carol@example.com").await;
    let checkout = |who: String| {
        let sid = sid.clone();
        let secret = key.secret.clone();
        let app = &app;
        async move {
            app.post(
                &format!("/api/sessions/{sid}/checkout?on_behalf_of={who}"),
                Some(&secret),
                json!({}),
            )
            .await
        }
    };

    // Without a person: refused, the endpoint is a person's own.
    app.post(
        &format!("/api/sessions/{sid}/checkout"),
        Some(&key.secret),
        json!({}),
    )
    .await
    .assert_problem(422, "validation_failed");
    checkout("nobody@example.com".into())
        .await
        .assert_problem(404, "not_found");

    // Alice's seat, held by the key in her name.
    let held = checkout("Alice@Example.com".into()).await;
    assert_eq!(held.status, StatusCode::CREATED, "{}", held.body);
    let booking = held.body["booking_id"].as_str().unwrap().to_owned();
    assert_eq!(app.booking_row(&booking).await.user_id, alice);
    // She sees it as hers.
    let mine: Vec<Value> = app.get("/api/me/bookings", Some(&alice_token)).await.ok();
    assert_eq!(mine.len(), 1);
    // Twice for her: the same rule as in the browser.
    checkout(alice.to_string())
        .await
        .assert_problem(409, "already_booked");
    // The session is full for Bob.
    checkout(bob.to_string())
        .await
        .assert_problem(409, "session_full");
    // Carol waits in line; Alice lets her seat go (through the key).
    app.post(
        &format!("/api/sessions/{sid}/waitlist"),
        Some(&carol_token),
        json!({}),
    )
    .await;
    let c = app
        .post(
            &format!("/api/bookings/{booking}/cancel?on_behalf_of={alice}"),
            Some(&key.secret),
            json!({}),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    // The freed seat is Carol's: the key cannot take it for Bob.
    checkout(bob.to_string())
        .await
        .assert_problem(409, "session_full");
    // Alice let a hold go: she cools down, through the key too.
    let other = app.create_session(&admin, json!({})).await;
    let other = other["id"].as_str().unwrap();
    let again = app
        .post(
            &format!("/api/sessions/{other}/checkout?on_behalf_of={alice}"),
            Some(&key.secret),
            json!({}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    let again = checkout(alice.to_string()).await;
    again.assert_problem(429, "rate_limited");

    // Acting for an admin lends no admin powers: Alice's booking is not
    // the admin's to read through the key.
    let as_admin = app
        .get(
            &format!(
                "/api/bookings/{booking}?on_behalf_of={}",
                crate::support::ADMIN_EMAIL
            ),
            Some(&key.secret),
        )
        .await;
    as_admin.assert_problem(404, "not_found");
    // Without a person, the key reads it as an admin would.
    app.get(&format!("/api/bookings/{booking}"), Some(&key.secret))
        .await
        .ok::<Value>();
    // Her list, through the key, pages with her name kept.
    let listed = app
        .get(
            &format!("/api/me/bookings?on_behalf_of={alice}&limit=1"),
            Some(&key.secret),
        )
        .await;
    let link = listed.headers["link"].to_str().unwrap();
    assert!(link.contains(&format!("on_behalf_of={alice}")), "{link}");
    // An endpoint that acts for nobody takes no person.
    let k = issue(&app, &admin, &[Scope::StatsRead], json!({})).await;
    app.get(
        &format!("/api/admin/stats?on_behalf_of={alice}"),
        Some(&k.secret),
    )
    .await
    .assert_problem(400, "bad_request");
    assert!(ROUTES.iter().any(|r| r.for_user == ForUser::Must));
}

#[actix_web::test]
async fn a_key_works_only_while_its_issuer_is_an_admin() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (other_admin, other_token) = app.quick_user("second@example.com").await;
    app.mark_verified(other_admin).await;
    app.put(
        &format!("/api/admin/users/{other_admin}/role"),
        Some(&admin),
        json!({"role": "admin"}),
    )
    .await
    .ok::<Value>();
    let key = issue(&app, &other_token, &[Scope::StatsRead], json!({})).await;
    app.get("/api/admin/stats", Some(&key.secret))
        .await
        .ok::<Value>();
    app.put(
        &format!("/api/admin/users/{other_admin}/role"),
        Some(&admin),
        json!({"role": "user"}),
    )
    .await
    .ok::<Value>();
    app.get("/api/admin/stats", Some(&key.secret))
        .await
        .assert_problem(401, "unauthorized");
}

#[actix_web::test]
async fn a_key_s_idempotency_keys_are_its_own_and_its_secret_is_never_kept() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let key = issue(&app, &admin, &[Scope::SessionsWrite], json!({})).await;
    let create = |secret: String| {
        let app = &app;
        async move {
            let res = app
                .client
                .post(format!("{}/api/admin/sessions", app.base))
                .bearer_auth(secret)
                .header("idempotency-key", "create-42")
                .json(&crate::support::session_body())
                .send()
                .await
                .unwrap();
            crate::support::into_answer(res).await
        }
    };
    // A retry with the same key gets the same session, not a second one.
    let first = create(key.secret.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let again = create(key.secret.clone()).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_eq!(first.body["id"], again.body["id"]);
    // The admin who issued it, with the same Idempotency-Key: a new one.
    let by_admin = create(admin.clone()).await;
    assert_eq!(by_admin.status, StatusCode::CREATED, "{}", by_admin.body);
    assert_ne!(by_admin.body["id"], first.body["id"]);

    // Issuing a key keeps no answer that holds its secret.
    let res = app
        .client
        .post(format!("{}/api/admin/api-keys", app.base))
        .bearer_auth(&admin)
        .header("idempotency-key", "key-1")
        .json(&json!({"name": "x", "scopes": ["stats:read"]}))
        .send()
        .await
        .unwrap();
    let created: CreatedApiKey = crate::support::into_answer(res).await.ok();
    let kept = entity::idempotency_keys::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(!kept.is_empty());
    for row in kept {
        let body = row.response_body.unwrap_or_default();
        assert!(!body.contains(&created.secret));
    }
}

#[actix_web::test]
async fn a_booking_key_cancels_only_for_the_person_never_as_an_admin() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let key = issue(&app, &admin, &[Scope::BookingsWrite], json!({})).await;
    let s = app.create_session(&admin, json!({})).await;
    let sid = s["id"].as_str().unwrap().to_owned();
    let paid = paid_seat(&app, &sid, "paid@example.com").await;
    let forced = app
        .post(
            &format!("/api/bookings/{}/cancel", paid.booking()),
            Some(&key.secret),
            json!({"force_refund": true}),
        )
        .await;
    forced.assert_problem(422, "validation_failed");
    // For the person, the person's rules: no forced refund.
    let forced = app
        .post(
            &format!(
                "/api/bookings/{}/cancel?on_behalf_of={}",
                paid.booking(),
                paid.user
            ),
            Some(&key.secret),
            json!({"force_refund": true}),
        )
        .await;
    assert!(forced.status.is_client_error(), "{}", forced.body);
    assert_eq!(
        app.booking_row(paid.booking()).await.status,
        common::bookings::BookingStatus::Confirmed
    );
}
