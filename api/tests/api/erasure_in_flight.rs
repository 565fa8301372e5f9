//! Erasure against the person's own requests already under way: each
//! passed its sign-in check before the erasure signed them out, and each
//! writes after the erasure looked. Whatever they make for the person is
//! refused in its own transaction (401), or left to the erasure, never
//! kept with the person's address, names or money. The races that only
//! PostgreSQL lets happen (SQLite runs one writer at a time) hold the
//! erasure's first write open in a transaction of the test's own, and
//! let it commit once the request waits on it.

use common::payments::{OwedCallKind, OwedCallStatus};
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait,
};
use serde_json::json;

use crate::privacy::erase_as;
use crate::support::stripe::CountingGateway;
use crate::support::{PASSWORD, TestApp, paid_seat, spawn_app};

fn on_postgres() -> bool {
    std::env::var("TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres"))
}

/// The erasure's first writes, as `anonymise` makes them (the user's
/// row, then the profile), in a transaction left open for the test.
async fn erasure_under_way(app: &TestApp, user: uuid::Uuid) -> DatabaseTransaction {
    use entity::users::{Column as U, Entity as Users};
    let txn = app.state.db.begin().await.unwrap();
    let erased = Users::update_many()
        .col_expr(
            U::Email,
            Expr::value(api::domain::privacy::erasure::erased_address(user)),
        )
        .col_expr(U::PasswordHash, Expr::value("erased"))
        .col_expr(U::EmailSkeleton, Expr::value(None::<String>))
        .col_expr(
            U::EmailVerifiedAt,
            Expr::value(None::<chrono::DateTime<chrono::Utc>>),
        )
        .col_expr(U::ErasedAt, Expr::value(chrono::Utc::now()))
        .filter(U::Id.eq(user))
        .exec(&txn)
        .await
        .unwrap();
    assert_eq!(erased.rows_affected, 1);
    entity::user_profiles::Entity::delete_by_id(user)
        .exec(&txn)
        .await
        .unwrap();
    txn
}

/// Until a statement of another connection waits for a row lock (the
/// one `erasure_under_way` holds). PostgreSQL tells of no such moment
/// but through its activity view, so this looks at it until it does.
async fn until_one_waits_for_a_lock(app: &TestApp) {
    let asked = sea_orm::Statement::from_string(
        sea_orm::DbBackend::Postgres,
        "SELECT count(*) AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    );
    for _ in 0..2000 {
        let row = app.state.db.query_one_raw(asked.clone()).await.unwrap();
        let n: i64 = row.unwrap().try_get("", "n").unwrap();
        if n > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("no statement came to wait for the erasure's lock");
}

/// The password hash `user`'s row holds.
async fn password_hash_of(app: &TestApp, user: uuid::Uuid) -> String {
    entity::users::Entity::find_by_id(user)
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("the user's row")
        .password_hash
}

/// A named user of `email`, erased by an admin.
async fn erased_user(app: &TestApp, email: &str) -> uuid::Uuid {
    let admin = app.admin_token().await;
    let (user, _token) = app.quick_user(email).await;
    let erased = erase_as(app, &admin, user).await;
    assert!(erased.status.is_success(), "{}", erased.body);
    user
}

/// The user of a registered address.
async fn user_of(app: &TestApp, email: &str) -> uuid::Uuid {
    entity::users::Entity::find()
        .filter(entity::users::Column::Email.eq(email))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("registered")
        .id
}
/// A subscription request already under way when its person is erased
/// (it was past its sign-in check when the erasure signed them out) makes
/// the provider's customer, or its page, after the erasure looked for
/// them. It keeps neither: the customer is deleted, the page expired, no
/// claim is left, and the request answers 401.
#[actix_web::test]
async fn a_subscription_asked_for_during_the_erasure_leaves_nothing_at_the_provider() {
    for call in ["create_customer", "create_subscription_checkout"] {
        let gateway = CountingGateway::new();
        let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
        let admin = app.admin_token().await;
        let (user, token) = app.quick_user("midway@example.com").await;
        *gateway.hold_next.lock().unwrap() = Some(call);
        let (asked, ()) = tokio::join!(app.subscribe(&token, "monthly"), async {
            gateway.held.notified().await;
            let erased = erase_as(&app, &admin, user).await;
            assert!(erased.status.is_success(), "{call}: {}", erased.body);
            gateway.release.notify_one();
        });
        assert_eq!(
            asked.status,
            StatusCode::UNAUTHORIZED,
            "{call}: {}",
            asked.body
        );
        app.state.tasks.idle().await;
        let owed = entity::owed_gateway_calls::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap();
        let deletions: Vec<_> = owed
            .iter()
            .filter(|c| c.kind == OwedCallKind::DeleteCustomer)
            .collect();
        assert_eq!(deletions.len(), 1, "{call}: {owed:?}");
        assert_eq!(deletions[0].status, OwedCallStatus::Done, "{call}");
        assert_eq!(
            *gateway.deleted_customers.lock().unwrap(),
            [deletions[0].target.clone()],
            "{call}"
        );
        let expiries: Vec<_> = owed
            .iter()
            .filter(|c| c.kind == OwedCallKind::ExpireCheckout)
            .collect();
        if call == "create_subscription_checkout" {
            assert_eq!(expiries.len(), 1, "{call}: {owed:?}");
            assert_eq!(expiries[0].status, OwedCallStatus::Done);
            // Closed at the provider: nobody can pay it.
            let open = api::payments::PaymentGateway::reopen_checkout(
                gateway.as_ref(),
                &expiries[0].target,
            )
            .await
            .unwrap();
            assert!(open.is_none(), "{call}: the page is still open");
        } else {
            assert_eq!(expiries.len(), 0, "{call}: {owed:?}");
        }
        let claims = entity::subscription_checkouts::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(claims, 0, "{call}");
        assert!(
            app.audit().await.is_empty(),
            "{call}: {:?}",
            app.audit().await
        );
    }
}

/// A hold whose seat was taken while the erasure wrote (its names check
/// read the profile still there) inserts its booking after the erasure
/// commits: it is refused in its own transaction, and nothing of it
/// stays, neither the seat nor the address on a booking.
/// Verified or not: the lock statement matches an unverified account's
/// row only, and the erasure's write leaves every account unverified.
#[actix_web::test]
async fn a_hold_that_waited_for_the_erasure_keeps_no_seat() {
    if !on_postgres() {
        return;
    }
    for verified in [false, true] {
        a_hold_waits_for_the_erasure(verified).await;
    }
}

async fn a_hold_waits_for_the_erasure(verified: bool) {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let sid = s["id"].as_str().unwrap();
    let (user, token) = app.quick_user("holder@example.com").await;
    if verified {
        entity::users::Entity::update_many()
            .col_expr(
                entity::users::Column::EmailVerifiedAt,
                Expr::value(chrono::Utc::now()),
            )
            .filter(entity::users::Column::Id.eq(user))
            .exec(&app.state.db)
            .await
            .unwrap();
    }
    let erasure = erasure_under_way(&app, user).await;
    let (held, ()) = tokio::join!(app.checkout(sid, &token), async {
        until_one_waits_for_a_lock(&app).await;
        erasure.commit().await.unwrap();
    });
    assert_eq!(
        held.status,
        StatusCode::UNAUTHORIZED,
        "verified {verified}: {}",
        held.body
    );
    assert_eq!(held.body["code"], "unauthorized");
    let bookings = entity::immersion_bookings::Entity::find()
        .filter(entity::immersion_bookings::Column::UserId.eq(user))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(bookings, 0);
    assert_eq!(app.session_row(sid).await.reserved_places, 0);
}

/// A password change that hashed while the erasure ran sets nothing once
/// it commits: the erased account keeps a password nothing matches, and
/// its address signs in to nothing.
#[actix_web::test]
async fn a_password_change_that_waited_for_the_erasure_sets_nothing() {
    if !on_postgres() {
        return;
    }
    let app = spawn_app().await;
    let token = app.register("changer@example.com").await;
    let user = user_of(&app, "changer@example.com").await;
    let erasure = erasure_under_way(&app, user).await;
    let new_password = "a passphrase set too late";
    let (changed, ()) = tokio::join!(app.change_password(&token, PASSWORD, new_password), async {
        until_one_waits_for_a_lock(&app).await;
        erasure.commit().await.unwrap();
    });
    changed.assert_problem(401, "unauthorized");
    assert_eq!(password_hash_of(&app, user).await, "erased");
    let address = api::domain::privacy::erasure::erased_address(user);
    app.post(
        "/api/auth/login",
        None,
        json!({"email": address, "password": new_password}),
    )
    .await
    .assert_problem(401, "invalid_credentials");
}

/// A profile saved by a request that was under way when the erasure
/// committed brings no name or address back.
#[actix_web::test]
async fn a_profile_saved_after_the_erasure_is_not_kept() {
    let app = spawn_app().await;
    let user = erased_user(&app, "named@example.com").await;
    let patch = common::profile::ProfilePatch {
        first_name: Some("Camille".into()),
        last_name: Some("Revenue".into()),
        phone: Some("+33 6 12 34 56 78".into()),
        ..Default::default()
    };
    let saved = api::domain::accounts::profiles::update(&app.state.db, user, patch).await;
    assert_eq!(
        saved.map(drop).map_err(|e| e.code()),
        Err(common::ErrorCode::Unauthorized)
    );
    let profile = entity::user_profiles::Entity::find_by_id(user)
        .one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(profile, None);
}

/// A hold under way when the erasure committed, whose seat's statement
/// then found no names (the erasure took them), is told the account was
/// erased (401), not asked for the names (409 `profile_incomplete`).
#[actix_web::test]
async fn a_hold_after_the_erasure_is_told_the_account_is_gone() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let session = s["id"].as_str().unwrap().parse().unwrap();
    let user = erased_user(&app, "holder@example.com").await;
    let taker = api::domain::catalog::seats::Taker {
        user,
        cooldown_since: None,
        from_catalog: true,
        address: None,
        one_hold_unless_verified: true,
        named: true,
    };
    let today = chrono::Utc::now().date_naive();
    let taken = api::domain::catalog::seats::take(&app.state.db, session, today, true, Some(taker))
        .await
        .unwrap();
    assert_eq!(
        taken.map(drop),
        Err(api::domain::catalog::seats::NoSeat::Erased)
    );
    let row = app.session_row(&session.to_string()).await;
    assert_eq!(row.reserved_places, 0);
}

/// A place in line asked for by a request under way when the erasure
/// committed is not given: it would carry the address past the erasure,
/// and be offered a seat.
#[actix_web::test]
async fn nobody_erased_joins_a_line() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({"max_places": 1})).await;
    let sid = s["id"].as_str().unwrap();
    paid_seat(&app, sid, "first@example.com").await;
    let user = erased_user(&app, "waiter@example.com").await;
    let session = sid.parse().unwrap();
    let joined =
        api::domain::catalog::waitlist::join(&app.state.db, user, session, chrono::Utc::now())
            .await;
    assert_eq!(
        joined.map(drop).map_err(|e| e.code()),
        Err(common::ErrorCode::Unauthorized)
    );
    let places = entity::waitlist_entries::Entity::find()
        .filter(entity::waitlist_entries::Column::UserId.eq(user))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(places, 0);
}

/// A login whose password was checked while the erasure ran makes its
/// session after the erasure deleted every other: that session signs in
/// to nothing.
#[actix_web::test]
async fn a_session_made_after_the_erasure_opens_nothing() {
    let app = spawn_app().await;
    let user = erased_user(&app, "late-login@example.com").await;
    let (token, _) = api::domain::accounts::sign_ins::sign_in(
        &app.state.db,
        &app.state.tokens,
        user,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    app.call(reqwest::Method::GET, "/api/me", Some(&token), None)
        .await
        .assert_problem(401, "unauthorized");
}

/// A reset link followed while the erasure runs: the reset takes the
/// account's row before its token, as the erasure does (the row, then
/// the tokens), so the erasure deletes the person's links without
/// waiting in a circle, and the link then finds nothing to reset.
#[actix_web::test]
async fn a_reset_link_followed_during_the_erasure_waits_for_it_and_resets_nothing() {
    if !on_postgres() {
        return;
    }
    let app = spawn_app().await;
    app.register("resetter@example.com").await;
    let user = user_of(&app, "resetter@example.com").await;
    app.post(
        "/api/auth/password-reset",
        None,
        json!({"email": "resetter@example.com"}),
    )
    .await;
    let link = app
        .mailed_token("resetter@example.com", "mot-de-passe/nouveau")
        .await;
    let erasure = erasure_under_way(&app, user).await;
    let body = json!({"token": link, "password": "a passphrase set too late"});
    let (reset, ()) = tokio::join!(
        app.post("/api/auth/password-reset/confirm", None, body),
        async {
            until_one_waits_for_a_lock(&app).await;
            // The erasure goes on: the person's links go.
            entity::account_tokens::Entity::delete_many()
                .filter(entity::account_tokens::Column::UserId.eq(user))
                .exec(&erasure)
                .await
                .unwrap();
            erasure.commit().await.unwrap();
        }
    );
    reset.assert_problem(400, "invalid_token");
    assert_eq!(password_hash_of(&app, user).await, "erased");
}
