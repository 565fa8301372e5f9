//! Every endpoint × anonymous, user, other user, admin.

use common::auth::{Role, UserDto};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::spawn_app;

#[derive(Clone, Copy, Debug)]
enum Who {
    Anonymous,
    User,
    OtherUser,
    Admin,
}

const EVERYONE: [Who; 4] = [Who::Anonymous, Who::User, Who::OtherUser, Who::Admin];

#[actix_web::test]
async fn authorization_matrix() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let user = app.register("user@example.com").await;
    let other = app.register("other@example.com").await;
    let token = |who: Who| -> Option<String> {
        match who {
            Who::Anonymous => None,
            Who::User => Some(user.clone()),
            Who::OtherUser => Some(other.clone()),
            Who::Admin => Some(admin.clone()),
        }
    };
    let public = app.create_session(&admin, json!({})).await;
    let public_id = public["id"].as_str().unwrap().to_owned();

    // (method, path, body, [anonymous, user, other user, admin])
    let mut cases: Vec<(Method, String, Option<Value>, [u16; 4])> = vec![
        (Method::GET, "/health".into(), None, [200, 200, 200, 200]),
        (Method::GET, "/ready".into(), None, [200, 200, 200, 200]),
        (
            Method::GET,
            "/api/openapi.json".into(),
            None,
            [200, 200, 200, 200],
        ),
        (Method::GET, "/api/me".into(), None, [401, 200, 200, 200]),
        (
            Method::GET,
            "/api/sessions".into(),
            None,
            [200, 200, 200, 200],
        ),
        (
            Method::GET,
            format!("/api/sessions/{public_id}"),
            None,
            [200, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/admin/sessions".into(),
            None,
            [401, 403, 403, 200],
        ),
        (
            Method::POST,
            "/api/admin/sessions".into(),
            Some(crate::support::session_body()),
            [401, 403, 403, 201],
        ),
        (
            Method::PATCH,
            format!("/api/admin/sessions/{public_id}"),
            Some(json!({"location": "Marseille"})),
            [401, 403, 403, 200],
        ),
    ];
    // Each delete needs its own session: the admin's succeeds once.
    for who in EVERYONE {
        let s = app.create_session(&admin, json!({})).await;
        let expected = match who {
            Who::Anonymous => 401,
            Who::User | Who::OtherUser => 403,
            Who::Admin => 204,
        };
        let mut row = [0; 4];
        row[who as usize] = expected;
        cases.push((
            Method::DELETE,
            format!("/api/admin/sessions/{}", s["id"].as_str().unwrap()),
            None,
            row,
        ));
    }
    // Bookings: the user's own booking, which the other user may not see.
    let held = app.hold(&public_id, &user).await;
    let booking = held["booking_id"].as_str().unwrap().to_owned();
    cases.extend([
        (
            Method::GET,
            "/api/me/bookings".to_owned(),
            None,
            [401, 200, 200, 200],
        ),
        (
            Method::GET,
            format!("/api/bookings/{booking}"),
            None,
            [401, 200, 404, 200],
        ),
        (
            Method::GET,
            format!("/api/admin/sessions/{public_id}/bookings"),
            None,
            [401, 403, 403, 200],
        ),
        (
            Method::GET,
            "/api/me/access".to_owned(),
            None,
            [401, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/app/resources".to_owned(),
            None,
            [401, 403, 403, 200],
        ),
        (
            Method::GET,
            "/api/admin/resources".to_owned(),
            None,
            [401, 403, 403, 200],
        ),
        (
            Method::POST,
            "/api/admin/resources".to_owned(),
            Some(json!({"title": "Replay", "kind": "link", "url": "https://example.com"})),
            [401, 403, 403, 201],
        ),
        (
            Method::GET,
            "/api/admin/subscriptions".to_owned(),
            None,
            [401, 403, 403, 200],
        ),
        (
            Method::POST,
            "/api/subscriptions/portal".to_owned(),
            Some(json!({})),
            [401, 409, 409, 409],
        ),
    ]);
    // Cancelling: the other user first (not found), then the admin.
    cases.push((
        Method::POST,
        format!("/api/bookings/{booking}/cancel"),
        Some(json!({})),
        [401, 0, 404, 200],
    ));
    // Accounts: the mailed links take no token; the rest is the caller's.
    cases.extend([
        (
            Method::POST,
            "/api/auth/verify-email".to_owned(),
            Some(json!({"token": "00"})),
            [401, 400, 400, 400],
        ),
        (
            Method::POST,
            "/api/auth/verify-email/resend".to_owned(),
            Some(json!({})),
            [401, 202, 202, 409],
        ),
        (
            Method::POST,
            "/api/auth/password-reset".to_owned(),
            Some(json!({"email": "nobody@example.com"})),
            [202, 202, 202, 202],
        ),
        (
            Method::POST,
            "/api/auth/password-reset/confirm".to_owned(),
            Some(json!({"token": "00", "password": "a long enough password"})),
            [400, 400, 400, 400],
        ),
        (
            Method::POST,
            "/api/me/password".to_owned(),
            Some(json!({"current_password": "wrong", "new_password": "a long enough password"})),
            [401, 422, 422, 422],
        ),
        (
            Method::GET,
            "/api/admin/payment-anomalies".to_owned(),
            None,
            [401, 403, 403, 200],
        ),
        (
            Method::POST,
            format!(
                "/api/admin/payment-anomalies/{}/acknowledge",
                uuid::Uuid::new_v4()
            ),
            Some(json!({})),
            [401, 403, 403, 404],
        ),
    ]);
    // Roles: admins only (an admin giving a user the role it has is a
    // no-op, and answers it).
    let user_id = app.me(&user).await.id;
    cases.extend([
        (
            Method::PUT,
            format!("/api/admin/users/{user_id}/role"),
            Some(json!({"role": "user"})),
            [401, 403, 403, 200],
        ),
        (
            Method::GET,
            "/api/admin/role-changes".to_owned(),
            None,
            [401, 403, 403, 200],
        ),
    ]);
    // "me" is always the caller.
    for (who, email) in [
        (Who::User, "user@example.com"),
        (Who::OtherUser, "other@example.com"),
    ] {
        let me: UserDto = app.get("/api/me", token(who).as_deref()).await.ok();
        assert_eq!(me.email, email);
        assert_eq!(me.role, Role::User);
    }
    assert_eq!(app.me(&admin).await.role, Role::Admin);
    // Logout last: it revokes the token.
    cases.push((
        Method::POST,
        "/api/auth/logout".into(),
        Some(json!({})),
        [401, 204, 204, 204],
    ));

    for (method, path, body, expected) in cases {
        for who in EVERYONE {
            let want = expected[who as usize];
            if want == 0 {
                continue;
            }
            let a = app
                .call(method.clone(), &path, token(who).as_deref(), body.clone())
                .await;
            assert_eq!(
                a.status.as_u16(),
                want,
                "{method} {path} as {who:?}: {}",
                a.body
            );
            match (want, path.starts_with("/api/app/")) {
                (401, _) => a.assert_problem(401, "unauthorized"),
                (403, true) => a.assert_problem(403, "subscription_inactive"),
                (403, false) => a.assert_problem(403, "forbidden"),
                _ => {}
            }
        }
    }

    // Signed out: every token is dead.
    for who in [Who::User, Who::OtherUser, Who::Admin] {
        app.get("/api/me", token(who).as_deref())
            .await
            .assert_problem(401, "unauthorized");
    }
}
