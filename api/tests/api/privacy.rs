//! Personal data (GDPR articles 15, 17, 20): the export holds every record
//! naming the person; deleting the account ends what they have going by
//! the product's own rules, then leaves their address and names nowhere
//! but in the records the law keeps; those go once their period is over.

use chrono::{Duration, Utc};
use common::bookings::BookingStatus;
use common::privacy::ErasurePreview;
use common::subscriptions::RedirectDto;
use reqwest::StatusCode;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, Set,
    Statement,
};
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp, click, paid_seat, spawn_app};

/// Every table of the schema.
async fn tables(app: &TestApp) -> Vec<String> {
    let db = &app.state.db;
    let sql = match db.get_database_backend() {
        DbBackend::Sqlite => {
            "SELECT name AS t FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        _ => {
            "SELECT table_name AS t FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        }
    };
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "t").unwrap())
        .collect()
}

/// Every (table, column) whose text holds `needle` somewhere.
async fn holding(app: &TestApp, needle: &str) -> Vec<(String, String)> {
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let mut found = Vec::new();
    for table in tables(app).await {
        let sql = match backend {
            DbBackend::Sqlite => format!("SELECT name AS c FROM pragma_table_info('{table}')"),
            _ => format!(
                "SELECT column_name AS c FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = '{table}'"
            ),
        };
        let columns = db
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .unwrap();
        for c in columns {
            let column: String = c.try_get("", "c").unwrap();
            let count = db
                .query_one_raw(Statement::from_sql_and_values(
                    backend,
                    match backend {
                        DbBackend::Sqlite => format!(
                            "SELECT COUNT(*) AS n FROM \"{table}\" WHERE instr(CAST(\"{column}\" AS TEXT), ?) > 0"
                        ),
                        _ => format!(
                            "SELECT COUNT(*) AS n FROM \"{table}\" WHERE strpos(CAST(\"{column}\" AS TEXT), $1) > 0"
                        ),
                    },
                    [needle.into()],
                ))
                .await
                .unwrap()
                .unwrap();
            if count.try_get::<i64>("", "n").unwrap() > 0 {
                found.push((table.clone(), column));
            }
        }
    }
    found
}

/// Whether `text` holds a mailed link's secret (`#token=` and hex).
fn holds_a_secret(text: &str) -> bool {
    text.match_indices("#token=").any(|(at, m)| {
        text[at + m.len()..]
            .chars()
            .take(16)
            .all(|c| c.is_ascii_hexdigit())
    })
}

async fn subscribed(app: &TestApp, token: &str) {
    let r = app.subscribe(token, "monthly").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    click(&format!("{}/pay", r.ok::<RedirectDto>().url)).await;
}

#[actix_web::test]
async fn every_table_is_exported_or_said_to_name_no_one() {
    let app = spawn_app().await;
    let listed: Vec<&str> = api::domain::privacy::export::TABLES
        .iter()
        .map(|(t, _)| *t)
        .collect();
    let missing: Vec<String> = tables(&app)
        .await
        .into_iter()
        .filter(|t| !listed.contains(&t.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "tables neither exported nor explained: {missing:?}"
    );

    let token = app.register("lea@example.com").await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let sid = s["id"].as_str().unwrap();
    // Someone else's records, which must stay out of Léa's export.
    paid_seat(&app, sid, "other@example.com").await;
    // Léa's own: a seat paid then cancelled, a subscription, mails.
    let lea_seat = {
        let held = app.hold(sid, &token).await;
        let user = app.me(&token).await.id;
        let seat = crate::support::Seat {
            sid: sid.to_owned(),
            user,
            token: token.clone(),
            held,
        };
        crate::support::pay_with(&app, &seat, |_| {}).await;
        seat
    };
    assert_eq!(
        app.cancel(lea_seat.booking(), &token).await.status,
        StatusCode::OK
    );
    subscribed(&app, &token).await;

    let res = app
        .client
        .get(format!("{}/api/me/export", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let export: Value = res.json().await.unwrap();
    assert_eq!(export["account"]["email"], "lea@example.com");
    assert_eq!(export["profile"]["first_name"], "Camille");
    for (section, at_least) in [
        ("bookings", 1),
        ("invoices", 2),
        ("credit_notes", 1),
        ("subscriptions", 1),
        ("mails", 1),
        ("sign_in_sessions", 1),
        ("events", 1),
    ] {
        let n = export[section].as_array().map_or(0, Vec::len);
        assert!(n >= at_least, "{section}: {n} in {export}");
    }
    let every_section: Vec<&str> = api::domain::privacy::export::TABLES
        .iter()
        .filter_map(|(_, s)| *s)
        .collect();
    for section in every_section {
        assert!(export.get(section).is_some(), "no {section} section");
    }
    let text = export.to_string();
    for secret in ["password_hash", "token_hash", "secret_hash", "$argon2"] {
        assert!(!text.contains(secret), "{secret} exported");
    }
    assert!(
        !text.contains("other@example.com"),
        "someone else's record exported"
    );
    // The verification mail is there, without its link's secret: the
    // export is no way to verify an address one does not control.
    assert!(text.contains("#token=[retiré]"), "{text}");
    assert!(!holds_a_secret(&text), "a mailed secret exported");
}

#[actix_web::test]
async fn deleting_my_account_settles_what_i_have_then_leaves_my_name_only_in_legal_records() {
    let app = TestApp::builder()
        .env("CANCELLATION_CUTOFF_DAYS", "14")
        .spawn()
        .await;
    let admin = app.admin_token().await;
    let email = "noe@example.com";
    let token = app.register(email).await;
    let user = app.me(&token).await.id;
    let named = app
        .patch(
            "/api/me/profile",
            Some(&token),
            json!({"first_name": "Noémie", "last_name": "Zéphyrin", "phone": "+33 6 12 34 56 78"}),
        )
        .await;
    assert!(named.status.is_success(), "{}", named.body);
    // A seat paid for a session in 30 days (refunded whole), a seat held,
    // a place in line for a full session, a live subscription.
    let later = app
        .create_session(&admin, json!({"location": "Nantes"}))
        .await;
    let later_id = later["id"].as_str().unwrap();
    let held = app.hold(later_id, &token).await;
    let paid = crate::support::Seat {
        sid: later_id.to_owned(),
        user,
        token: token.clone(),
        held,
    };
    crate::support::pay_with(&app, &paid, |_| {}).await;
    let other = app.create_session(&admin, json!({"max_places": 3})).await;
    let other_id = other["id"].as_str().unwrap();
    let held_seat = app.hold(other_id, &token).await;
    let full = app.create_session(&admin, json!({"max_places": 1})).await;
    let full_id = full["id"].as_str().unwrap();
    paid_seat(&app, full_id, "first@example.com").await;
    let joined = app
        .post(
            &format!("/api/sessions/{full_id}/waitlist"),
            Some(&token),
            json!({}),
        )
        .await;
    assert!(joined.status.is_success(), "{}", joined.body);
    subscribed(&app, &token).await;

    let preview: ErasurePreview = app.get("/api/me/erasure", Some(&token)).await.ok();
    let mut refunds: Vec<(i64, i64)> = preview
        .cancelled_seats
        .iter()
        .map(|s| (s.paid_cents, s.refund_cents))
        .collect();
    refunds.sort_unstable();
    assert_eq!(refunds, [(0, 0), (199_700, 199_700)]);
    assert_eq!(preview.waiting_lists, 1);
    assert!(preview.subscription_ends);

    // The wrong password changes nothing.
    let wrong = app
        .call(
            reqwest::Method::DELETE,
            "/api/me",
            Some(&token),
            Some(json!({"password": "not it at all"})),
        )
        .await;
    wrong.assert_problem(422, "validation_failed");
    assert_eq!(wrong.body["errors"][0]["field"], "password");
    assert_eq!(app.me(&token).await.email, email);

    let gone = app
        .call(
            reqwest::Method::DELETE,
            "/api/me",
            Some(&token),
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);
    app.get("/api/me", Some(&token))
        .await
        .assert_problem(401, "unauthorized");

    // Settled by the rules: refunded with its credit note, the hold and
    // the place in line let go, the subscription's end owed to the gateway.
    assert_eq!(
        app.booking_row(paid.booking()).await.status,
        BookingStatus::Refunded
    );
    let held_id = held_seat["booking_id"].as_str().unwrap();
    assert_eq!(
        app.booking_row(held_id).await.status,
        BookingStatus::Cancelled
    );
    assert_eq!(app.session_row(other_id).await.reserved_places, 0);
    let notes = entity::credit_notes::Entity::find()
        .filter(entity::credit_notes::Column::UserId.eq(user))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(notes, 1);
    let ends = entity::owed_gateway_calls::Entity::find()
        .filter(entity::owed_gateway_calls::Column::Reason.eq("erasure"))
        .filter(
            entity::owed_gateway_calls::Column::Kind
                .eq(common::payments::OwedCallKind::CancelSubscription),
        )
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(ends, 1);
    let line = entity::waitlist_entries::Entity::find()
        .filter(entity::waitlist_entries::Column::UserId.eq(user))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(line.status, common::waitlist::WaitlistStatus::Left);

    // The address and the names: only in the invoices and credit notes.
    for needle in [email, "Zéphyrin"] {
        let mut at: Vec<String> = holding(&app, needle)
            .await
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        at.sort();
        at.dedup();
        assert_eq!(at, ["credit_notes", "invoices"], "{needle} still in {at:?}");
    }
    assert!(
        holding(&app, "12 34 56 78").await.is_empty(),
        "the phone number is kept"
    );
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
    // The old password opens nothing; the address is free again.
    let login = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED, "{}", login.body);
    app.register(email).await;
    // Erasing twice changes nothing; only an admin erases another.
    let again = erase_as(&app, &admin, user).await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
    // An admin's account is not erased while they are one.
    let boss = app.me(&admin).await.id;
    erase_as(&app, &admin, boss)
        .await
        .assert_problem(409, "role_not_changeable");
    let someone = app.register("someone@example.com").await;
    let refused = erase_as(&app, &someone, user).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn an_admin_erases_a_person_who_asked_by_mail() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let seat = paid_seat(&app, s["id"].as_str().unwrap(), "mail@example.com").await;
    let done = erase_as(&app, &admin, seat.user).await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.body);
    app.get("/api/me", Some(&seat.token))
        .await
        .assert_problem(401, "unauthorized");
    assert_eq!(
        app.booking_row(seat.booking()).await.status,
        BookingStatus::Refunded
    );
    let mut at: Vec<String> = holding(&app, "mail@example.com")
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    at.sort();
    at.dedup();
    assert_eq!(at, ["credit_notes", "invoices"]);
    erase_as(&app, &admin, uuid::Uuid::new_v4())
        .await
        .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn records_past_their_period_go_and_the_series_stays_whole_from_the_first_kept() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let sid = s["id"].as_str().unwrap();
    let old = paid_seat(&app, sid, "old@example.com").await;
    assert_eq!(
        app.cancel(old.booking(), &old.token).await.status,
        StatusCode::OK
    );
    let kept = paid_seat(&app, sid, "kept@example.com").await;
    let db = &app.state.db;
    // The first invoice and its credit note, eleven years old.
    let eleven = Utc::now() - Duration::days(11 * 366);
    let old_id: uuid::Uuid = old.booking().parse().unwrap();
    entity::invoices::Entity::update_many()
        .col_expr(
            entity::invoices::Column::IssuedAt,
            sea_orm::sea_query::Expr::value(eleven),
        )
        .filter(entity::invoices::Column::BookingId.eq(old_id))
        .exec(db)
        .await
        .unwrap();
    entity::credit_notes::Entity::update_many()
        .col_expr(
            entity::credit_notes::Column::IssuedAt,
            sea_orm::sea_query::Expr::value(eleven),
        )
        .filter(entity::credit_notes::Column::BookingId.eq(old_id))
        .exec(db)
        .await
        .unwrap();
    // A mail sent four months ago, a sign-in session ended two months ago.
    let mail = entity::mail_outbox::Entity::find()
        .one(db)
        .await
        .unwrap()
        .unwrap();
    entity::mail_outbox::Entity::update(entity::mail_outbox::ActiveModel {
        id: Set(mail.id),
        status: Set(common::mail::MailStatus::Sent),
        created_at: Set(Utc::now() - Duration::days(120)),
        ..Default::default()
    })
    .exec(db)
    .await
    .unwrap();
    let session = entity::auth_sessions::Entity::find()
        .one(db)
        .await
        .unwrap()
        .unwrap();
    entity::auth_sessions::Entity::update(entity::auth_sessions::ActiveModel {
        id: Set(session.id),
        expires_at: Set(Utc::now() - Duration::days(60)),
        ..Default::default()
    })
    .exec(db)
    .await
    .unwrap();

    let pruned = api::domain::privacy::retention::run(db, Utc::now())
        .await
        .unwrap();
    assert_eq!((pruned.invoices, pruned.credit_notes), (1, 1), "{pruned:?}");
    assert_eq!(pruned.mail_bodies, 1);
    assert!(pruned.sign_in_sessions >= 1);
    let mail = entity::mail_outbox::Entity::find_by_id(mail.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mail.body, "");
    let left = entity::invoices::Entity::find().all(db).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].booking_id, Some(kept.booking().parse().unwrap()));
    assert_eq!(left[0].sequence, Some(2));
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
    // A second pass finds nothing more.
    let again = api::domain::privacy::retention::run(db, Utc::now())
        .await
        .unwrap();
    assert_eq!(again, Default::default());
    // But a kept invoice deleted by hand is a gap the audit sees.
    entity::invoices::Entity::delete_by_id(left[0].id)
        .exec(db)
        .await
        .unwrap();
    let found = app.audit().await;
    assert!(found.iter().any(|f| f.contains("series")), "{found:?}");
}

#[actix_web::test]
async fn a_subscription_page_left_open_cannot_bill_an_erased_account() {
    let app = spawn_app().await;
    let token = app.register("page@example.com").await;
    let r = app.subscribe(&token, "yearly").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let page = r.ok::<RedirectDto>().url;
    let gone = app
        .call(
            reqwest::Method::DELETE,
            "/api/me",
            Some(&token),
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);
    // The page was expired at the gateway: paying it now makes nothing.
    let expiries = entity::owed_gateway_calls::Entity::find()
        .filter(entity::owed_gateway_calls::Column::Reason.eq("erasure"))
        .filter(
            entity::owed_gateway_calls::Column::Kind
                .eq(common::payments::OwedCallKind::ExpireCheckout),
        )
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(expiries, 1);
    let paid = crate::support::no_redirects()
        .post(format!("{page}/pay"))
        .send()
        .await
        .unwrap();
    assert!(paid.status().is_client_error(), "{}", paid.status());
    let subscriptions = entity::stripe_subscriptions::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(subscriptions, 0, "an erased account was billed");
}

/// The customer at the payment provider holds the person's e-mail, name
/// and cards: the erasure deletes it there too, once every call owed
/// before it is made (the provider acts no more for a deleted customer),
/// and once only.
#[actix_web::test]
async fn the_providers_customer_is_deleted_after_the_erasures_other_calls() {
    use crate::support::stripe::{CountingGateway, settle};
    use common::payments::{OwedCallKind, OwedCallStatus};
    use std::sync::atomic::Ordering;
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let seat = paid_seat(&app, s["id"].as_str().unwrap(), "marie@example.com").await;
    // A subscription page opened: the provider has a customer for them.
    let customer = customer_once_subscribing(&app, &seat.token, seat.user).await;
    // The seat's refund is refused once.
    gateway.refund_failures.store(1, Ordering::SeqCst);
    let erased = erase_as(&app, &admin, seat.user).await;
    assert!(erased.status.is_success(), "{}", erased.body);
    app.state.tasks.idle().await;
    let call = |kind: OwedCallKind| {
        let db = app.state.db.clone();
        async move {
            entity::owed_gateway_calls::Entity::find()
                .filter(entity::owed_gateway_calls::Column::Kind.eq(kind))
                .one(&db)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("no {kind} owed"))
        }
    };
    let deletion = call(OwedCallKind::DeleteCustomer).await;
    assert_eq!(deletion.target, customer);
    assert_eq!(deletion.reason, "erasure");
    // The refund is still owed: the customer is not deleted yet, nor
    // even tried.
    assert_eq!(
        call(OwedCallKind::Refund).await.status,
        OwedCallStatus::Owed
    );
    assert_eq!(
        call(OwedCallKind::ExpireCheckout).await.status,
        OwedCallStatus::Done
    );
    assert_eq!(
        (deletion.status, deletion.attempts),
        (OwedCallStatus::Owed, 0)
    );
    assert!(gateway.deleted_customers.lock().unwrap().is_empty());
    // Once the refund is made, the customer goes, and only once.
    let later = Utc::now() + Duration::minutes(2);
    assert_eq!(settle(&app, &gateway, later).await.done, 2);
    assert_eq!(
        call(OwedCallKind::Refund).await.status,
        OwedCallStatus::Done
    );
    assert_eq!(
        call(OwedCallKind::DeleteCustomer).await.status,
        OwedCallStatus::Done
    );
    assert_eq!(
        settle(&app, &gateway, later + Duration::hours(1)).await,
        Default::default()
    );
    assert_eq!(*gateway.deleted_customers.lock().unwrap(), [customer]);
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

/// A page paid just before the erasure, whose payment Stripe tells of
/// after it: the erased person buys nothing (their account and every seat
/// of theirs still to come are gone, and the seat is someone else's to
/// take); the money goes back, and no mail is queued to the address that
/// no longer reaches anyone. (Found by the simulation, seed 94.)
#[actix_web::test]
async fn a_payment_told_of_after_the_erasure_buys_nothing_and_goes_back() {
    use crate::support::stripe::{event, seat_checkout};
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let seat =
        crate::support::seats::seat_in(&app, s["id"].as_str().unwrap(), "late@example.com").await;
    let erased = erase_as(&app, &admin, seat.user).await;
    assert!(erased.status.is_success(), "{}", erased.body);
    let paid = seat_checkout(&seat.held, &seat.sid, &seat.user, true);
    let told = app
        .deliver(&event("checkout.session.completed", paid))
        .await;
    assert_eq!(told.status, StatusCode::OK, "{}", told.body);
    let b = app.booking_row(seat.booking()).await;
    assert_eq!(b.status, BookingStatus::Refunded);
    assert_eq!(b.refunded_cents, Some(b.amount_cents));
    assert_eq!(app.session_row(&seat.sid).await.reserved_places, 0);
    let late = entity::owed_gateway_calls::Entity::find()
        .filter(entity::owed_gateway_calls::Column::Reason.eq("late"))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(late, 1);
    let gone = api::domain::privacy::erasure::erased_address(seat.user);
    assert_eq!(app.mails_to(&gone).await, []);
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

/// Another person's call that keeps failing never holds a deletion back
/// (waiting deletions would otherwise pile up at the head of the line,
/// ahead of everyone's refunds), and reconciliation asks no more about a
/// customer deleted.
#[actix_web::test]
async fn nobody_elses_calls_hold_a_deletion_back() {
    use crate::support::stripe::CountingGateway;
    use common::payments::{OwedCallKind, OwedCallStatus};
    use std::sync::atomic::Ordering;
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let other = paid_seat(&app, s["id"].as_str().unwrap(), "other@example.com").await;
    gateway.refund_failures.store(100, Ordering::SeqCst);
    let cancelled = app.cancel(other.booking(), &other.token).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    let (user, token) = app.quick_user("gone@example.com").await;
    let customer = customer_once_subscribing(&app, &token, user).await;
    let erased = erase_as(&app, &admin, user).await;
    assert!(erased.status.is_success(), "{}", erased.body);
    app.state.tasks.idle().await;
    assert_eq!(
        *gateway.deleted_customers.lock().unwrap(),
        std::slice::from_ref(&customer)
    );
    let refund = entity::owed_gateway_calls::Entity::find()
        .filter(entity::owed_gateway_calls::Column::Kind.eq(OwedCallKind::Refund))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(refund.status, OwedCallStatus::Owed);
    let known = api::domain::subscriptions::known_customers(&app.state.db)
        .await
        .unwrap();
    assert!(!known.contains(&customer), "{known:?}");
}

/// An admin's request to erase `user`, made with `token`.
pub async fn erase_as(app: &TestApp, token: &str, user: uuid::Uuid) -> crate::support::Answer {
    app.post(
        &format!("/api/admin/users/{user}/erasure"),
        Some(token),
        json!({}),
    )
    .await
}

/// The provider's customer for `user` (of `token`), made when they open
/// a subscription page.
async fn customer_once_subscribing(app: &TestApp, token: &str, user: uuid::Uuid) -> String {
    let r = app.subscribe(token, "monthly").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    entity::subscription_status::Entity::find_by_id(user)
        .one(&app.state.db)
        .await
        .unwrap()
        .and_then(|s| s.stripe_customer_id)
        .expect("a customer")
}
