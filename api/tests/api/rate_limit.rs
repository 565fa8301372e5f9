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

/// A client calling from `ip` (all of 127/8 is this machine), keeping
/// cookies as a browser does when `cookies`.
fn client_from(ip: &str, cookies: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .cookie_store(cookies)
        .build()
        .unwrap()
}

async fn login_from(app: &TestApp, client: &reqwest::Client, password: &str) -> StatusCode {
    client
        .post(format!("{}/api/auth/login", app.base))
        .json(&json!({"email": "marie@example.com", "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

/// Issue 22, the trickle lockout (invariant 17). Guesses from many
/// addresses push the account past its ceiling, where attempts trickle
/// one every few seconds from everywhere together. The owner's browser,
/// which signed in before, still gets in with the right password during
/// the attack and after it: its device cookie has it counted on its own.
/// And an attempt refused unheard is no failure of anyone's: it used to
/// count against the owner's own (account, address) pair, which then
/// locked the owner's address for the whole window.
#[actix_web::test]
async fn others_failures_never_lock_the_owner_s_own_client_out() {
    let app = TestApp::builder()
        .env("LOGIN_MAX_FAILURES_PER_ACCOUNT", "3")
        .env("LOGIN_ACCOUNT_SLOWDOWN_AFTER", "6")
        .env("LOGIN_MAX_PER_IP", "1000")
        .spawn()
        .await;
    app.register("marie@example.com").await;
    let owner = client_from("127.0.0.1", true);
    assert_eq!(login_from(&app, &owner, PASSWORD).await, StatusCode::OK);
    attack(&app, 2..=9).await;
    // Past the ceiling: the account trickles for everyone but the owner's
    // browser.
    assert_eq!(login_from(&app, &owner, PASSWORD).await, StatusCode::OK);
    attack(&app, 10..=13).await;
    assert_eq!(login_from(&app, &owner, PASSWORD).await, StatusCode::OK);
    // From the owner's address without the cookie, attempts the trickle
    // refuses count nowhere: the pair never locks.
    let plain = client_from("127.0.0.1", false);
    for _ in 0..6 {
        let s = login_from(&app, &plain, PASSWORD).await;
        assert!(
            s == StatusCode::OK || s == StatusCode::TOO_MANY_REQUESTS,
            "{s}"
        );
    }
    use sea_orm::EntityTrait;
    let pair = entity::throttle_hits::Entity::find_by_id(
        "login_account_ip:marie@example.com|127.0.0.1".to_owned(),
    )
    .one(&app.state.db)
    .await
    .unwrap();
    assert_eq!(
        pair.map_or(0, |c| c.hits),
        0,
        "the owner's pair counted refusals"
    );
    // After the attack, the owner's browser still signs in.
    assert_eq!(login_from(&app, &owner, PASSWORD).await, StatusCode::OK);
}

/// Four wrong guesses at marie's password from each of 127.0.0.`from`.
async fn attack(app: &TestApp, from: std::ops::RangeInclusive<u8>) {
    for n in from {
        let guesser = client_from(&format!("127.0.0.{n}"), false);
        for _ in 0..4 {
            let s = login_from(app, &guesser, "wrong password!").await;
            assert!(
                s == StatusCode::UNAUTHORIZED || s == StatusCode::TOO_MANY_REQUESTS,
                "{s}"
            );
        }
    }
}

/// The mailbox's owner who takes an account back through the reset mail
/// proved more than a password: that client gets the device cookie, and
/// signs in while others guess (it never signed in before).
#[actix_web::test]
async fn the_owner_back_through_the_reset_mail_signs_in_during_an_attack() {
    let app = TestApp::builder()
        .env("LOGIN_MAX_FAILURES_PER_ACCOUNT", "3")
        .env("LOGIN_ACCOUNT_SLOWDOWN_AFTER", "6")
        .env("LOGIN_MAX_PER_IP", "1000")
        .spawn()
        .await;
    // A squatter's account on the owner's address, under attack; the
    // squatter signed in from its own browser.
    app.register("marie@example.com").await;
    let squatter = client_from("127.0.0.30", true);
    assert_eq!(login_from(&app, &squatter, PASSWORD).await, StatusCode::OK);
    attack(&app, 2..=9).await;
    let owner = client_from("127.0.0.20", true);
    let asked = owner
        .post(format!("{}/api/auth/password-reset", app.base))
        .json(&json!({"email": "marie@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let token = app
        .mailed_token("marie@example.com", "mot-de-passe/nouveau")
        .await;
    let new = "the owner's own passphrase";
    let reset = owner
        .post(format!("{}/api/auth/password-reset/confirm", app.base))
        .json(&json!({"token": token, "password": new}))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    for _ in 0..3 {
        attack(&app, 10..=11).await;
        assert_eq!(login_from(&app, &owner, new).await, StatusCode::OK);
    }
    // The squatter's cookie was issued under the old password: its guesses
    // at the new one are anyone's (the account's trickle), never counted
    // on a cookie of their own.
    let s = login_from(&app, &squatter, "wrong password!").await;
    assert!(
        s == StatusCode::UNAUTHORIZED || s == StatusCode::TOO_MANY_REQUESTS,
        "{s}"
    );
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let on_cookies: i32 = entity::throttle_hits::Entity::find()
        .filter(entity::throttle_hits::Column::Key.starts_with("login_device:"))
        .all(&app.state.db)
        .await
        .unwrap()
        .iter()
        .map(|c| c.hits)
        .sum();
    assert_eq!(on_cookies, 0, "a cookie from before the reset still counts");
}

/// A successful login is no attempt against its address: an office
/// behind one address signs in all day without locking itself out.
#[actix_web::test]
async fn successes_do_not_count_toward_the_address_limit() {
    let app = TestApp::builder()
        .env("LOGIN_MAX_PER_IP", "3")
        .spawn()
        .await;
    app.register("marie@example.com").await;
    let office = client_from("127.0.0.1", false);
    for _ in 0..6 {
        assert_eq!(login_from(&app, &office, PASSWORD).await, StatusCode::OK);
    }
}

/// Holds a seat of `sid` for `token` from `client`; the answer's status
/// and code.
async fn hold_from(
    app: &TestApp,
    client: &reqwest::Client,
    sid: &str,
    token: &str,
) -> (StatusCode, String) {
    let res = client
        .post(format!("{}/api/sessions/{sid}/checkout", app.base))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap();
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

/// No hoarding (issue 22): ten throwaway accounts asking at once from one
/// address hold at most the per-address limit of a session's seats
/// (counted across accounts, under the session's lock), and a buyer from
/// another address still gets one. Throwaway accounts used to hold all
/// eight.
#[actix_web::test]
async fn ten_accounts_from_one_address_hold_at_most_the_limit() {
    let app = std::sync::Arc::new(
        TestApp::builder()
            .env("HOLDS_PER_ADDRESS", "2")
            .spawn()
            .await,
    );
    let admin = app.admin_token().await;
    let session = app.create_session(&admin, json!({})).await;
    let sid = session["id"].as_str().unwrap().to_owned();
    let mut asking = tokio::task::JoinSet::new();
    for i in 0..10 {
        let (_, token) = app.quick_user(&format!("throwaway{i}@example.com")).await;
        let (app, sid) = (app.clone(), sid.clone());
        asking.spawn(async move {
            let hoarder = client_from("127.0.0.1", false);
            hold_from(&app, &hoarder, &sid, &token).await
        });
    }
    let answers = asking.join_all().await;
    let held = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(held, 2, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|(s, code)| *s == StatusCode::CREATED || code == "hold_limit"),
        "{answers:?}"
    );
    let (_, buyer) = app.quick_user("buyer@example.com").await;
    let elsewhere = client_from("127.0.0.2", false);
    let (status, code) = hold_from(&app, &elsewhere, &sid, &buyer).await;
    assert_eq!(status, StatusCode::CREATED, "{code}");
    assert_eq!(app.session_row(&sid).await.reserved_places, 3);
}

/// An account whose e-mail address is not verified holds one seat at a
/// time, in any session; verified, it may hold another.
#[actix_web::test]
async fn an_unverified_account_holds_one_seat_at_a_time() {
    let app = TestApp::builder().spawn().await;
    let admin = app.admin_token().await;
    let first = app.create_session(&admin, json!({})).await;
    let second = app
        .create_session(&admin, json!({"location": "Paris"}))
        .await;
    let token = app.register("marie@example.com").await;
    let client = client_from("127.0.0.3", false);
    let id = |s: &serde_json::Value| s["id"].as_str().unwrap().to_owned();
    let (status, _) = hold_from(&app, &client, &id(&first), &token).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, code) = hold_from(&app, &client, &id(&second), &token).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "hold_limit")
    );
    let me = app.me(&token).await;
    app.mark_verified(me.id).await;
    let (status, code) = hold_from(&app, &client, &id(&second), &token).await;
    assert_eq!(status, StatusCode::CREATED, "{code}");
}

/// Seat throttles count in the process and add to the database every
/// second (`db::tally`): two processes' tallies on one database, flushed
/// by hand, show what each knows and when.
#[actix_web::test]
async fn seat_counts_add_up_across_processes_at_each_flush() {
    use api::db::tally::{Limit, Tally};
    let app = crate::support::spawn_app().await;
    let db = &app.state.db;
    let limit = [Limit {
        key: "test_seats:someone".into(),
        max: 3,
        window_seconds: 3600,
    }];
    let now = chrono::Utc::now().timestamp();
    let (here, there) = (Tally::default(), Tally::default());
    for _ in 0..2 {
        assert_eq!(here.try_count(db, &limit, now).await.unwrap(), Ok(()));
    }
    // Not flushed yet: the other process admits one more (the bound).
    assert_eq!(there.try_count(db, &limit, now).await.unwrap(), Ok(()));
    here.flush(db, now).await.unwrap();
    there.flush(db, now).await.unwrap();
    async fn stored(db: &sea_orm::DatabaseConnection) -> Option<i32> {
        use sea_orm::EntityTrait as _;
        entity::throttle_hits::Entity::find_by_id("test_seats:someone")
            .one(db)
            .await
            .unwrap()
            .map(|r| r.hits)
    }
    assert_eq!(stored(db).await, Some(3), "nothing lost, nothing twice");
    // The second flush told `there` the total: it refuses, counting nothing.
    assert_eq!(there.try_count(db, &limit, now).await.unwrap(), Err(3600));
    // `here` last saw 2: it admits one more, and knows at its next flush.
    assert_eq!(here.try_count(db, &limit, now + 10).await.unwrap(), Ok(()));
    here.flush(db, now + 10).await.unwrap();
    assert_eq!(stored(db).await, Some(4));
    assert_eq!(
        here.try_count(db, &limit, now + 10).await.unwrap(),
        Err(3590)
    );
    // A process that never met the key reads it first.
    let third = Tally::default();
    assert_eq!(
        third.try_count(db, &limit, now + 20).await.unwrap(),
        Err(3580)
    );
    // Once the window has ended, a new one starts, in the database too.
    let later = now + 3600;
    assert_eq!(here.try_count(db, &limit, later).await.unwrap(), Ok(()));
    here.flush(db, later).await.unwrap();
    assert_eq!(stored(db).await, Some(1));
}
