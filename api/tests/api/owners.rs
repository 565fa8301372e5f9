//! What proves an account's owner, and what an attacker cannot do:
//! verified e-mail before `ADMIN_EMAILS` counts, password reset by mail,
//! sign-out and password changes that revoke tokens, one address one
//! account, throttling that spares the owner.

use common::auth::{AuthResponse, Role, UserDto};
use common::bookings::CheckoutResponse;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{ADMIN_EMAIL, PASSWORD, TestApp, spawn_app};

#[actix_web::test]
async fn a_squatted_admin_address_never_makes_the_squatter_admin() {
    let app = spawn_app().await;
    // The attacker registers the boss's address first.
    let a = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": format!(" {}", ADMIN_EMAIL.to_uppercase()), "password": PASSWORD}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a: AuthResponse = a.ok();
    assert_eq!(a.user.role, Role::User);
    assert!(!a.user.email_verified);
    let squatter = a.token;
    app.get("/api/admin/sessions", Some(&squatter))
        .await
        .assert_problem(403, "forbidden");

    // The boss gets the mail and follows the link: without the account's
    // session it proves only the mailbox, and changes nothing.
    let link = app.mailed_token(ADMIN_EMAIL, "verifier-email").await;
    app.post("/api/auth/verify-email", None, json!({"token": link}))
        .await
        .assert_problem(401, "unauthorized");
    let (_, boss_elsewhere) = app.quick_user("boss.personal@example.com").await;
    app.post(
        "/api/auth/verify-email",
        Some(&boss_elsewhere),
        json!({"token": link}),
    )
    .await
    .assert_problem(400, "invalid_token");
    assert_eq!(app.me(&squatter).await.role, Role::User);

    // "Mot de passe oublié": the mailbox's owner takes the account back.
    app.post(
        "/api/auth/password-reset",
        None,
        json!({"email": ADMIN_EMAIL}),
    )
    .await;
    let reset = app.mailed_token(ADMIN_EMAIL, "mot-de-passe/nouveau").await;
    let done = app
        .post(
            "/api/auth/password-reset/confirm",
            None,
            json!({"token": reset, "password": "the boss's own passphrase"}),
        )
        .await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.body);
    // The squatter is out, and their password is gone.
    app.get("/api/me", Some(&squatter))
        .await
        .assert_problem(401, "unauthorized");
    app.post(
        "/api/auth/login",
        None,
        json!({"email": ADMIN_EMAIL, "password": PASSWORD}),
    )
    .await
    .assert_problem(401, "invalid_credentials");
    let boss = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": ADMIN_EMAIL, "password": "the boss's own passphrase"}),
        )
        .await;
    let boss: AuthResponse = boss.ok();
    assert_eq!(
        (boss.user.role, boss.user.email_verified),
        (Role::Admin, true)
    );
}

#[actix_web::test]
async fn the_owner_following_the_link_while_signed_in_becomes_admin() {
    let app = spawn_app().await;
    let a = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": ADMIN_EMAIL, "password": PASSWORD}),
        )
        .await;
    let a: AuthResponse = a.ok();
    let token = a.token;
    assert_eq!(a.user.role, Role::User);
    let link = app.mailed_token(ADMIN_EMAIL, "verifier-email").await;
    app.post(
        "/api/auth/verify-email",
        Some(&token),
        json!({"token": "0".repeat(64)}),
    )
    .await
    .assert_problem(400, "invalid_token");
    let ok = app
        .post(
            "/api/auth/verify-email",
            Some(&token),
            json!({"token": link}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let ok: UserDto = ok.ok();
    assert_eq!((ok.role, ok.email_verified), (Role::Admin, true));
    // Single use.
    app.post(
        "/api/auth/verify-email",
        Some(&token),
        json!({"token": link}),
    )
    .await
    .assert_problem(400, "invalid_token");
    assert_eq!(app.me(&token).await.role, Role::Admin);
    app.post("/api/auth/verify-email/resend", Some(&token), json!({}))
        .await
        .assert_problem(409, "email_already_verified");
}

#[actix_web::test]
async fn sign_out_revokes_the_token_for_bearer_and_cookie_alike() {
    let app = spawn_app().await;
    let token = app.register("marie@example.com").await;
    let other = app.login("marie@example.com").await;
    assert_eq!(
        app.get("/api/me", Some(&token)).await.status,
        StatusCode::OK
    );
    let out = app.post("/api/auth/logout", Some(&token), json!({})).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    app.get("/api/me", Some(&token))
        .await
        .assert_problem(401, "unauthorized");
    // Another session of the same account is not affected.
    assert_eq!(
        app.get("/api/me", Some(&other)).await.status,
        StatusCode::OK
    );
}

#[actix_web::test]
async fn a_password_change_ends_every_other_session() {
    let app = spawn_app().await;
    let here = app.register("marie@example.com").await;
    let elsewhere = app.login("marie@example.com").await;
    let wrong = app
        .change_password(&here, "not my password", "a brand new passphrase")
        .await;
    wrong.assert_problem(422, "validation_failed");
    assert_eq!(wrong.body["errors"][0]["field"], "current_password");
    let ok = app
        .change_password(&here, PASSWORD, "a brand new passphrase")
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{}", ok.body);
    assert_eq!(app.get("/api/me", Some(&here)).await.status, StatusCode::OK);
    app.get("/api/me", Some(&elsewhere))
        .await
        .assert_problem(401, "unauthorized");
    let old = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "marie@example.com", "password": PASSWORD}),
        )
        .await;
    old.assert_problem(401, "invalid_credentials");
}

#[actix_web::test]
async fn forgot_then_reset_signs_every_session_out_and_the_link_works_once() {
    let app = spawn_app().await;
    let before = app.register("marie@example.com").await;
    // Unknown and known addresses get the same answer.
    for email in ["nobody@example.com", "Marie@Example.com"] {
        let a = app
            .post("/api/auth/password-reset", None, json!({"email": email}))
            .await;
        assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    }
    assert!(app.mails_to("nobody@example.com").await.is_empty());
    let token = app
        .mailed_token("marie@example.com", "mot-de-passe/nouveau")
        .await;
    let short = app
        .post(
            "/api/auth/password-reset/confirm",
            None,
            json!({"token": token, "password": "short"}),
        )
        .await;
    short.assert_problem(422, "validation_failed");
    let ok = app
        .post(
            "/api/auth/password-reset/confirm",
            None,
            json!({"token": token, "password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{}", ok.body);
    app.get("/api/me", Some(&before))
        .await
        .assert_problem(401, "unauthorized");
    app.post(
        "/api/auth/password-reset/confirm",
        None,
        json!({"token": token, "password": "yet another passphrase"}),
    )
    .await
    .assert_problem(400, "invalid_token");
    let login = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "marie@example.com", "password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
    // The mail reached the address: it counts as verified.
    assert!(login.ok::<AuthResponse>().user.email_verified);
}

#[actix_web::test]
async fn unusable_addresses_are_refused_and_look_alikes_are_one_account() {
    let app = spawn_app().await;
    for bad in [
        "x<victim@example.com>",
        "a,b@x.io",
        "Marie <m@x.io>",
        "m@x.io\u{0}",
    ] {
        let a = app
            .post(
                "/api/auth/register",
                None,
                json!({"email": bad, "password": PASSWORD}),
            )
            .await;
        a.assert_problem(422, "validation_failed");
        assert_eq!(a.body["errors"][0]["field"], "email", "{bad:?}");
    }
    let first = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": "jos\u{e9}@x.io", "password": PASSWORD}),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    app.post(
        "/api/auth/register",
        None,
        json!({"email": "jose\u{301}@x.io", "password": PASSWORD}),
    )
    .await
    .assert_problem(409, "email_taken");
}

#[actix_web::test]
async fn an_attackers_failures_never_lock_the_owner_out_from_another_address() {
    let app = TestApp::builder()
        .env("LOGIN_MAX_FAILURES_PER_ACCOUNT", "5")
        .spawn()
        .await;
    app.register("victim@example.com").await;
    let wrong = json!({"email": "victim@example.com", "password": "guess guess guess"});
    for _ in 0..5 {
        app.post("/api/auth/login", None, wrong.clone())
            .await
            .assert_problem(401, "invalid_credentials");
    }
    app.post("/api/auth/login", None, wrong.clone())
        .await
        .assert_problem(429, "rate_limited");
    // The owner, from another address, gets in.
    let owner = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let a = app
        .call_with(
            &owner,
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"email": "victim@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

#[actix_web::test]
async fn a_squatter_cannot_keep_an_address_from_the_mailbox_s_owner() {
    let app = spawn_app().await;
    let victim = "victim@example.com";
    let reset = json!({"email": victim});
    // The squatter registers the owner's address first.
    let squatter = app.register(victim).await;
    let resets = || async {
        app.mails_to(victim)
            .await
            .iter()
            .filter(|m| m.body.contains("/mot-de-passe/nouveau#token="))
            .count()
    };
    // The squatter uses up every reset quota it can reach: one mail goes
    // (to the owner's mailbox), the others within ten minutes send
    // nothing more, and the sixth request is refused.
    for _ in 0..5 {
        let a = app
            .post("/api/auth/password-reset", None, reset.clone())
            .await;
        assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    }
    app.post("/api/auth/password-reset", None, reset.clone())
        .await
        .assert_problem(429, "rate_limited");
    assert_eq!(resets().await, 1);
    // ... and changes the account's password.
    let changed = app
        .change_password(&squatter, PASSWORD, "the squatter's passphrase")
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    // The owner, from their own address, may still ask...
    let owner = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let asked = app
        .call_with(
            &owner,
            Method::POST,
            "/api/auth/password-reset",
            None,
            Some(reset.clone()),
        )
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
    // ... and the link in their mailbox works: the account is theirs.
    let link = app.mailed_token(victim, "mot-de-passe/nouveau").await;
    let done = app
        .post(
            "/api/auth/password-reset/confirm",
            None,
            json!({"token": link, "password": "the owner's own passphrase"}),
        )
        .await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.body);
    app.get("/api/me", Some(&squatter))
        .await
        .assert_problem(401, "unauthorized");
    // Once used, it is void: nobody can undo the owner's choice with it.
    app.post(
        "/api/auth/password-reset/confirm",
        None,
        json!({"token": link, "password": "the squatter again"}),
    )
    .await
    .assert_problem(400, "invalid_token");
    let back = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": victim, "password": "the owner's own passphrase"}),
        )
        .await;
    assert!(back.ok::<AuthResponse>().user.email_verified);
}

#[actix_web::test]
async fn following_reset_links_is_limited_per_client_address() {
    let app = TestApp::builder()
        .env("LOGIN_MAX_PER_IP", "3")
        .spawn()
        .await;
    let wrong = json!({"token": "0".repeat(64), "password": "a new passphrase!"});
    for _ in 0..3 {
        app.post("/api/auth/password-reset/confirm", None, wrong.clone())
            .await
            .assert_problem(400, "invalid_token");
    }
    app.post("/api/auth/password-reset/confirm", None, wrong)
        .await
        .assert_problem(429, "rate_limited");
}

#[actix_web::test]
async fn a_password_change_in_a_verified_account_voids_pending_reset_links() {
    let app = spawn_app().await;
    let token = app.register("owner@example.com").await;
    let proof = app
        .mailed_token("owner@example.com", "verifier-email")
        .await;
    let verified = app
        .post(
            "/api/auth/verify-email",
            Some(&token),
            json!({"token": proof}),
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    app.post(
        "/api/auth/password-reset",
        None,
        json!({"email": "owner@example.com"}),
    )
    .await;
    let link = app
        .mailed_token("owner@example.com", "mot-de-passe/nouveau")
        .await;
    let changed = app
        .change_password(&token, PASSWORD, "a new passphrase of mine")
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    app.post(
        "/api/auth/password-reset/confirm",
        None,
        json!({"token": link, "password": "someone else's"}),
    )
    .await
    .assert_problem(400, "invalid_token");
}

#[actix_web::test]
async fn accounts_never_verified_expire_and_free_their_address() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let week = chrono::Duration::days(7);
    let expire = |now| api::domain::accounts::unverified::expire(&app.state.db, week, now);
    // The squatter never verifies; it once held a seat, let it lapse, and
    // waits in the line of a full session.
    let squatter = app.register("victim@example.com").await;
    let open = app.create_session(&admin, json!({})).await;
    let open = open["id"].as_str().unwrap();
    app.hold(open, &squatter).await;
    let lapsed = chrono::Utc::now() + chrono::Duration::minutes(45);
    let offers = app.state.policy.offers.clone();
    let swept =
        api::jobs::sweeper::sweep_once(&app.state.db, app.state.gateway.as_ref(), &offers, lapsed);
    assert_eq!(swept.await.unwrap(), 1);
    let small = app.create_session(&admin, json!({"max_places": 1})).await;
    let small = small["id"].as_str().unwrap();
    // A buyer who never verified either, but paid: theirs is kept.
    let buyer = crate::support::seats::paid_seat(&app, small, "buyer@example.com").await;
    let waits = app
        .post(
            &format!("/api/sessions/{small}/waitlist"),
            Some(&squatter),
            json!({}),
        )
        .await;
    assert_eq!(waits.status, StatusCode::CREATED, "{}", waits.body);
    let (verified_id, verified) = app.quick_user("verified@example.com").await;
    app.mark_verified(verified_id).await;
    // One who opened a subscription page and never verified: Stripe may
    // still bill it, so it stays.
    let (_, subscriber) = app.quick_user("subscriber@example.com").await;
    let page = app
        .post(
            "/api/subscriptions/checkout",
            Some(&subscriber),
            json!({"plan": "monthly"}),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);

    // Not a week old: nothing goes.
    assert_eq!(expire(chrono::Utc::now()).await.unwrap(), 0);
    // Old enough, but its hold lapsed within reconcile's window (a payment
    // whose event was lost may still come): it stays for now.
    let soon = api::domain::accounts::unverified::expire(
        &app.state.db,
        chrono::Duration::days(1),
        chrono::Utc::now() + chrono::Duration::days(2),
    );
    assert_eq!(soon.await.unwrap(), 0);
    // A week on, the squatter's account goes, with its place in line and
    // its lapsed hold; the address is free for its owner.
    let later = chrono::Utc::now() + week + chrono::Duration::hours(1);
    assert_eq!(expire(later).await.unwrap(), 1);
    app.get("/api/me", Some(&squatter))
        .await
        .assert_problem(401, "unauthorized");
    let line = app
        .get(
            &format!("/api/admin/sessions/{small}/waitlist"),
            Some(&admin),
        )
        .await;
    assert_eq!(line.body, json!([]), "{}", line.body);
    let mine = app.register("victim@example.com").await;
    assert_eq!(app.me(&mine).await.email, "victim@example.com");
    // The paying buyer, the subscriber, the verified account and the
    // admin stay.
    for token in [&buyer.token, &subscriber, &verified, &admin] {
        let me = app.get("/api/me", Some(token)).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    }
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

impl TestApp {
    /// A new sign-in of an existing account (password `PASSWORD`).
    pub async fn login(&self, email: &str) -> String {
        let a = self
            .post(
                "/api/auth/login",
                None,
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        a.ok::<AuthResponse>().token
    }
}

#[actix_web::test]
async fn production_cookies_are_secure_even_behind_an_http_public_url() {
    let app = TestApp::builder()
        .env("APP_ENV", "production")
        .env("COMPANY_SIRET", "73282932000074")
        .env("COMPANY_NDA", "11751234575")
        .env("PUBLIC_URL", "http://127.0.0.1:8080")
        .env("ALLOW_HTTP_PUBLIC_URL", "true")
        .env("STRIPE_SECRET_KEY", "sk_test_unused")
        .env("SMTP_URL", "smtp://127.0.0.1:2525")
        .env("ALLOW_PLAIN_SMTP", "true")
        .env("STRIPE_PRICE_MONTHLY", "price_monthly")
        .env("STRIPE_PRICE_YEARLY", "price_yearly")
        .spawn()
        .await;
    let a = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": "marie@example.com", "password": PASSWORD}),
        )
        .await;
    let cookie = a.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[actix_web::test]
async fn pages_carry_the_security_headers() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let (_, token) = app.quick_user("marie@example.com").await;
    let held = app.hold(s["id"].as_str().unwrap(), &token).await;
    // The local pay page, a JSON answer and the docs alike.
    for path in [
        held["checkout_url"]
            .as_str()
            .unwrap()
            .trim_start_matches(&app.base)
            .to_owned(),
        "/api/sessions".to_owned(),
        "/api/docs/".to_owned(),
    ] {
        let res = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        let h = res.headers();
        let csp = h
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"))
            .to_str()
            .unwrap();
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        let scripts = csp
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap_or_else(|| panic!("{csp}"));
        assert!(!scripts.contains("unsafe-inline"), "{csp}");
        assert_eq!(h.get("x-frame-options").unwrap(), "DENY", "{path}");
        assert!(h.get("referrer-policy").is_some(), "{path}");
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
        // HSTS only for an https PUBLIC_URL.
        assert!(h.get("strict-transport-security").is_none());
    }
}

#[actix_web::test]
async fn a_cookie_post_from_a_foreign_origin_is_refused_and_bearer_is_exempt() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let checkout = format!("/api/sessions/{}/checkout", s["id"].as_str().unwrap());
    // The browser signs in (same origin).
    let a = app
        .call_with(
            &app.browser,
            Method::POST,
            "/api/auth/register",
            None,
            Some(json!({"email": "marie@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let token = a.ok::<AuthResponse>().token;
    app.name(&token).await;
    let cookie = a
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let foreign = |origin: Option<&str>| {
        let mut req = app
            .client
            .post(format!("{}{checkout}", app.base))
            .header("cookie", cookie.clone())
            .json(&json!({}));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    for origin in [Some("https://evil.example"), None] {
        let res = crate::support::into_answer(foreign(origin).await.unwrap()).await;
        res.assert_problem(403, "origin_mismatch");
    }
    assert_eq!(
        app.session_row(s["id"].as_str().unwrap())
            .await
            .reserved_places,
        0
    );
    // From the app's own origin it works; so does a Bearer token from anywhere.
    let ok = crate::support::into_answer(foreign(Some(&app.base)).await.unwrap()).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    let cancel = format!(
        "/api/bookings/{}/cancel",
        ok.ok::<CheckoutResponse>().booking_id
    );
    let res = app
        .client
        .post(format!("{}{cancel}", app.base))
        .bearer_auth(&token)
        .header("origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[actix_web::test]
async fn a_hold_and_cancel_loop_meets_429() {
    let app = TestApp::builder()
        .env("SEAT_CHANGES_PER_USER_PER_HOUR", "4")
        .env("SEAT_CHANGES_PER_IP_PER_HOUR", "7")
        // The loop itself is what is counted here, not the cooldown.
        .env("HOLD_COOLDOWN_MINUTES", "0")
        .spawn()
        .await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let sid = s["id"].as_str().unwrap();
    let (_, token) = app.quick_user("hoarder@example.com").await;
    // hold, cancel, hold, cancel: four changes; the fifth is refused.
    for _ in 0..2 {
        let held = app.hold(sid, &token).await;
        let c = app
            .cancel(held["booking_id"].as_str().unwrap(), &token)
            .await;
        assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    }
    let refused = app.checkout(sid, &token).await;
    refused.assert_problem(429, "rate_limited");
    assert!(refused.headers.get("retry-after").is_some());
    assert_eq!(app.session_row(sid).await.reserved_places, 0);
    // Throwaway accounts from the same address meet the per-address limit.
    let mut statuses = Vec::new();
    for n in 0..4 {
        let (_, t) = app.quick_user(&format!("throwaway{n}@example.com")).await;
        let a = app.checkout(sid, &t).await;
        statuses.push(a.status.as_u16());
    }
    assert_eq!(statuses, [201, 201, 201, 429]);
}

#[actix_web::test]
async fn a_hold_let_go_unpaid_cannot_be_taken_again_at_once() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({"max_places": 1})).await;
    let sid = s["id"].as_str().unwrap();
    let (_, hoarder) = app.quick_user("hoarder@example.com").await;
    let held = app.hold(sid, &hoarder).await;
    let booking = held["booking_id"].as_str().unwrap().to_owned();
    app.cancel(&booking, &hoarder).await;
    // Re-holding at once to keep the session full: 429 for two hours.
    let again = app.checkout(sid, &hoarder).await;
    again.assert_problem(429, "rate_limited");
    let retry: i64 = again.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((7000..=7200).contains(&retry), "{retry}");
    // Meanwhile a real buyer gets the seat.
    let (_, buyer) = app.quick_user("buyer@example.com").await;
    let bought = app.hold(sid, &buyer).await;
    app.cancel(bought["booking_id"].as_str().unwrap(), &buyer)
        .await;
    // Once the cooldown is over, the first user may hold it again.
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    entity::immersion_bookings::Entity::update_many()
        .col_expr(
            entity::immersion_bookings::Column::UpdatedAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::hours(3)),
        )
        .filter(entity::immersion_bookings::Column::Id.eq(booking.parse::<uuid::Uuid>().unwrap()))
        .exec(&app.state.db)
        .await
        .unwrap();
    app.hold(sid, &hoarder).await;
}

/// A wrong current password is a guess at the password: the 6th in the
/// window gets 429, refused without a hash; the owner's right one, after
/// the window, still works.
#[actix_web::test]
async fn the_sixth_wrong_current_password_gets_429() {
    let app = spawn_app().await;
    let token = app.register("marie@example.com").await;
    let change =
        |current: &'static str| app.change_password(&token, current, "a brand new passphrase");
    for _ in 0..5 {
        change("a wrong guess")
            .await
            .assert_problem(422, "validation_failed");
    }
    let sixth = change("a wrong guess").await;
    sixth.assert_problem(429, "rate_limited");
    assert!(sixth.headers.contains_key("retry-after"));
    // The counter stands where it stood: nothing refused was counted.
    let key = format!("password_change_failures:{}", app.me(&token).await.id);
    use sea_orm::EntityTrait;
    let row = entity::throttle_hits::Entity::find_by_id(key)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.hits, 5);
}

/// The hashing line is each app's own: one app whose line is full (a flood
/// of password changes in one test) leaves another app's logins and
/// password changes alone, as it would two instances.
#[actix_web::test]
async fn a_full_hashing_line_is_its_own_apps_alone() {
    let (busy, other) = (spawn_app().await, spawn_app().await);
    let token = other.register("owner@example.com").await;
    let line = busy.state.hashing.clone();
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let wait = std::sync::Arc::new(std::sync::Mutex::new(wait));
    let mut held = Vec::new();
    // Take every place in `busy`'s line, each until released.
    while line.places_left() > 0 {
        let before = line.places_left();
        let (wait, place) = (wait.clone(), line.clone());
        held.push(tokio::spawn(async move {
            place
                .run(move || {
                    let _ = wait.lock().unwrap().recv();
                })
                .await
        }));
        while line.places_left() == before {
            tokio::task::yield_now().await;
        }
    }
    let login = json!({"email": "owner@example.com", "password": PASSWORD});
    busy.post("/api/auth/login", None, login.clone())
        .await
        .assert_problem(503, "service_unavailable");
    let signed_in = other.post("/api/auth/login", None, login).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    let changed = other
        .change_password(&token, PASSWORD, "a new passphrase of mine")
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    for _ in &held {
        release.send(()).unwrap();
    }
    for task in held {
        task.await.unwrap().unwrap();
    }
}

/// One account flooding the password change cannot take the hashing line
/// from everyone: past its limit its attempts are refused before any
/// hash, and another user signs in meanwhile.
#[actix_web::test]
async fn a_password_change_flood_leaves_logins_to_everyone_else() {
    let app = std::sync::Arc::new(spawn_app().await);
    let flooder = app.register("flood@example.com").await;
    app.register("marie@example.com").await;
    let mut flood = Vec::new();
    for i in 0..40 {
        let (app, flooder) = (app.clone(), flooder.clone());
        flood.push(tokio::spawn(async move {
            // Right and wrong current passwords alike.
            let current = if i % 2 == 0 {
                PASSWORD
            } else {
                "a wrong guess"
            };
            app.change_password(&flooder, current, PASSWORD)
                .await
                .status
        }));
    }
    let login = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "marie@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let mut hashed = 0;
    for f in flood {
        match f.await.unwrap() {
            // Refused before any hash: by the account's limit, or past the
            // share of the hashing line left to work other than logins.
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {}
            // Both of these cost a hash (a right one, two).
            StatusCode::NO_CONTENT | StatusCode::UNPROCESSABLE_ENTITY => hashed += 1,
            // A change signs the other sessions out: this one stays.
            other => panic!("{other}"),
        }
    }
    assert!(
        hashed <= 10,
        "{hashed} password changes reached the hashing line in one hour"
    );
}
