//! A database the first release made and filled is upgraded to the
//! latest schema: every record is still there and readable through the
//! API, and the audit is clean. The history is written through the first
//! release's schema (its three migrations), as that release would have.

use chrono::{Duration, Utc};
use migration::MigratorTrait;
use sea_orm::sea_query::{Alias, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, Value};
use serde_json::json;
use uuid::Uuid;

use crate::support::{ADMIN_EMAIL, TestApp, TestDb};

/// The first release's migrations (2026-11-22).
const FIRST_RELEASE: u32 = 3;

async fn insert(db: &DatabaseConnection, table: &str, row: Vec<(&str, Value)>) {
    let (columns, values): (Vec<_>, Vec<_>) = row.into_iter().unzip();
    let mut insert = Query::insert();
    insert
        .into_table(Alias::new(table))
        .columns(columns.into_iter().map(Alias::new))
        .values_panic(values.into_iter().map(Into::into));
    db.execute(&insert)
        .await
        .unwrap_or_else(|e| panic!("{table}: {e}"));
}

#[actix_web::test]
async fn a_database_from_the_first_release_upgrades_whole_and_clean() {
    let (_db, url) = TestDb::empty().await;
    let old = api::db::connect(&url).await.unwrap();
    migration::Migrator::up(&old, Some(FIRST_RELEASE))
        .await
        .unwrap();
    let now = Utc::now();
    let ago = |days| now - Duration::days(days);
    let user = |email: &str, id: Uuid| {
        vec![
            ("id", id.into()),
            ("email", email.into()),
            ("password_hash", "!".into()),
            ("role", "user".into()),
            ("license", "none".into()),
            ("created_at", ago(40).into()),
            ("updated_at", ago(40).into()),
        ]
    };
    let (marie, paul, lea) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    insert(&old, "users", user("marie@example.com", marie)).await;
    insert(&old, "users", user("paul@example.com", paul)).await;
    insert(&old, "users", user("lea@example.com", lea)).await;
    // A session to come, and one over.
    let session = |id: Uuid, starts: chrono::NaiveDate, reserved: i32| {
        vec![
            ("id", id.into()),
            ("starts_on", starts.into()),
            ("ends_on", (starts + Duration::days(4)).into()),
            ("max_places", 8.into()),
            ("reserved_places", reserved.into()),
            ("status", "open".into()),
            ("closed_by_admin", false.into()),
            ("location", "Paris".into()),
            ("price_cents", 199_700_i64.into()),
            ("currency", "EUR".into()),
            ("description", "Cinq jours pour changer de cap.".into()),
            ("is_active", true.into()),
            ("created_at", ago(40).into()),
            ("updated_at", ago(40).into()),
        ]
    };
    let (coming, over) = (Uuid::new_v4(), Uuid::new_v4());
    let today = now.date_naive();
    insert(
        &old,
        "immersion_sessions",
        session(coming, today + Duration::days(30), 2),
    )
    .await;
    insert(
        &old,
        "immersion_sessions",
        session(over, today - Duration::days(20), 1),
    )
    .await;
    // Every status a booking had then.
    let booking = |session: Uuid, user: (Uuid, &str), status: &str| {
        vec![
            ("id", Uuid::new_v4().into()),
            ("session_id", session.into()),
            ("user_id", user.0.into()),
            ("user_email", user.1.into()),
            ("status", status.into()),
            ("amount_cents", 199_700_i64.into()),
            ("currency", "EUR".into()),
            ("created_at", ago(30).into()),
            ("updated_at", ago(30).into()),
        ]
    };
    let with = |mut row: Vec<(&'static str, Value)>, more: Vec<(&'static str, Value)>| {
        row.extend(more);
        row
    };
    let m = (marie, "marie@example.com");
    let p = (paul, "paul@example.com");
    let l = (lea, "lea@example.com");
    let paid = |pi: &str, cs: &str| -> Vec<(&'static str, Value)> {
        vec![
            ("stripe_payment_intent_id", pi.into()),
            ("stripe_checkout_session_id", cs.into()),
            ("confirmed_at", ago(29).into()),
        ]
    };
    insert(
        &old,
        "immersion_bookings",
        with(
            booking(coming, m, "confirmed"),
            paid("pi_old_1", "cs_old_1"),
        ),
    )
    .await;
    insert(
        &old,
        "immersion_bookings",
        with(
            booking(coming, p, "held"),
            vec![("hold_expires_at", (now + Duration::minutes(20)).into())],
        )
        .into_iter()
        // Taken ten minutes ago.
        .map(|(c, v)| match c {
            "created_at" | "updated_at" => (c, (now - Duration::minutes(10)).into()),
            _ => (c, v),
        })
        .collect(),
    )
    .await;
    insert(
        &old,
        "immersion_bookings",
        with(
            booking(coming, l, "cancelled"),
            vec![("cancelled_at", ago(28).into())],
        ),
    )
    .await;
    insert(
        &old,
        "immersion_bookings",
        with(
            booking(over, l, "refunded"),
            with(
                paid("pi_old_2", "cs_old_2"),
                vec![
                    ("refund_id", "re_old_2".into()),
                    ("refunded_cents", 199_700_i64.into()),
                    ("cancelled_at", ago(25).into()),
                ],
            ),
        ),
    )
    .await;
    insert(
        &old,
        "immersion_bookings",
        with(
            booking(over, p, "expired"),
            vec![("hold_expires_at", ago(29).into())],
        ),
    )
    .await;
    insert(
        &old,
        "immersion_bookings",
        with(booking(over, m, "confirmed"), paid("pi_old_3", "cs_old_3")),
    )
    .await;
    // Stripe's events, a subscription and its projection, a mail.
    for (id, kind) in [
        ("evt_old_1", "checkout.session.completed"),
        ("evt_old_2", "charge.refunded"),
    ] {
        insert(
            &old,
            "stripe_events",
            vec![
                ("id", id.into()),
                ("type", kind.into()),
                ("created", ago(29).into()),
                ("received_at", ago(29).into()),
                ("processed_at", ago(29).into()),
                ("outcome", "applied".into()),
            ],
        )
        .await;
    }
    insert(
        &old,
        "stripe_subscriptions",
        vec![
            ("id", "sub_old_1".into()),
            ("user_id", marie.into()),
            ("customer_id", "cus_old_1".into()),
            ("status", "active".into()),
            ("plan", "premium_monthly".into()),
            ("cancel_at_period_end", false.into()),
            ("current_period_end", (now + Duration::days(10)).into()),
            ("payment_failed", false.into()),
            ("updated_at", ago(20).into()),
        ],
    )
    .await;
    insert(
        &old,
        "subscription_status",
        vec![
            ("user_id", marie.into()),
            ("is_active", true.into()),
            ("subscription_type", "premium_monthly".into()),
            ("stripe_customer_id", "cus_old_1".into()),
            ("stripe_subscription_id", "sub_old_1".into()),
            ("stripe_status", "active".into()),
            ("current_period_end", (now + Duration::days(10)).into()),
            ("cancel_at_period_end", false.into()),
            ("last_event_at", ago(20).into()),
            ("updated_at", ago(20).into()),
        ],
    )
    .await;
    insert(
        &old,
        "mail_outbox",
        vec![
            ("id", Uuid::new_v4().into()),
            ("recipient", "marie@example.com".into()),
            ("subject", "Votre place est confirmée".into()),
            ("body", "Bonjour".into()),
            ("status", "sent".into()),
            ("attempts", 1.into()),
            ("next_attempt_at", ago(29).into()),
            ("sent_at", ago(29).into()),
            ("created_at", ago(29).into()),
        ],
    )
    .await;
    old.close().await.ok();

    // The latest build starts on it: every migration since runs.
    let app = TestApp::builder().env("DATABASE_URL", &url).spawn().await;
    let drift = app.audit().await;
    assert!(drift.is_empty(), "{drift:?}");

    // Everything reads back through the API.
    let admin = app.admin_token().await;
    assert!(!ADMIN_EMAIL.is_empty());
    let attendees = app
        .get(
            &format!("/api/admin/sessions/{coming}/bookings"),
            Some(&admin),
        )
        .await;
    let statuses: Vec<&str> = attendees
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 3, "{}", attendees.body);
    for status in ["confirmed", "held", "cancelled"] {
        assert!(statuses.contains(&status), "{statuses:?}");
    }
    let past = app
        .get(
            &format!("/api/admin/sessions/{over}/bookings"),
            Some(&admin),
        )
        .await;
    assert_eq!(past.body.as_array().unwrap().len(), 3, "{}", past.body);
    let sessions = app.get("/api/sessions", None).await;
    let listed = sessions.body.as_array().unwrap();
    let mine = listed
        .iter()
        .find(|s| s["id"] == json!(coming.to_string()))
        .expect("the coming session is listed");
    assert_eq!(mine["reserved_places"], json!(2), "{mine}");
    let (token, _) = api::domain::accounts::sign_ins::sign_in(
        &app.state.db,
        &app.state.tokens,
        marie,
        Utc::now(),
    )
    .await
    .unwrap();
    let bookings = app.get("/api/me/bookings", Some(&token)).await;
    assert_eq!(
        bookings.body.as_array().unwrap().len(),
        2,
        "{}",
        bookings.body
    );
    let access = app.get("/api/me/access", Some(&token)).await;
    assert_eq!(access.status, reqwest::StatusCode::OK, "{}", access.body);
    let subscribers = app
        .get("/api/admin/subscriptions?active=true", Some(&admin))
        .await;
    assert!(
        subscribers.body.to_string().contains("marie@example.com"),
        "{}",
        subscribers.body
    );
}

/// Migration 24 adds the seal of invoices and credit notes: a database as
/// migration 23 left it (an invoice without its seal, a refund without a
/// credit note) is sealed and credited when the new release starts, and
/// its audit is clean.
#[actix_web::test]
async fn invoices_from_before_seals_are_sealed_and_their_refunds_credited() {
    let (_db, url) = TestDb::empty().await;
    let before = TestApp::builder().env("DATABASE_URL", &url).spawn().await;
    let admin = before.admin_token().await;
    let sid = before.create_session(&admin, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let kept = crate::support::paid_seat(&before, &sid, "marie@example.com").await;
    let refunded = crate::support::paid_seat(&before, &sid, "paul@example.com").await;
    before.cancel(refunded.booking(), &refunded.token).await;
    // Back to the schema of migration 23: no seals, no credit notes.
    migration::Migrator::down(&before.state.db, Some(1))
        .await
        .unwrap();
    let invoices_before = before
        .state
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            before.state.db.get_database_backend(),
            "SELECT number FROM invoices ORDER BY number",
        ))
        .await
        .unwrap()
        .len();
    assert_eq!(invoices_before, 2);
    drop(before);

    let app = TestApp::builder().env("DATABASE_URL", &url).spawn().await;
    let drift = app.audit().await;
    assert!(drift.is_empty(), "{drift:?}");
    use sea_orm::EntityTrait;
    let invoices = entity::invoices::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(invoices.len(), 2);
    for i in &invoices {
        assert_eq!(
            i.content_hash.as_deref(),
            Some(api::domain::billing::seals::of_invoice(i).as_str())
        );
    }
    let notes = entity::credit_notes::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(
        notes[0].booking_id.map(|b| b.to_string()).as_deref(),
        Some(refunded.booking())
    );
    assert_eq!(notes[0].reason, "cancellation");
    assert!(kept.booking() != refunded.booking());
}

/// Migrations 18 and 24 widen the kinds of call owed to the payment
/// provider, which on SQLite rebuilds their table (on PostgreSQL, the
/// CHECK is replaced while the rows are checked): calls made before them
/// come through both, every field as it was, and the audit is clean.
#[actix_web::test]
async fn calls_owed_before_their_table_was_rebuilt_come_through_whole() {
    let (_db, url) = TestDb::empty().await;
    let old = api::db::connect(&url).await.unwrap();
    // The schema before migration 18.
    migration::Migrator::up(&old, Some(17)).await.unwrap();
    let made = Utc::now() - Duration::days(3);
    let call = |kind: &str, target: &str, amount: Option<i64>, result: Option<&str>| {
        let id = Uuid::new_v4();
        vec![
            ("id", id.into()),
            ("kind", kind.into()),
            ("reason", "cancel".into()),
            ("booking_id", Some(Uuid::new_v4()).into()),
            ("target", target.into()),
            ("amount_cents", amount.into()),
            ("idempotency_key", format!("owed-{id}").into()),
            ("status", "done".into()),
            ("result_id", result.map(str::to_owned).into()),
            ("attempts", 2.into()),
            ("last_error", Some("timed out".to_owned()).into()),
            ("next_attempt_at", made.into()),
            ("created_at", made.into()),
            ("done_at", Some(made + Duration::minutes(1)).into()),
        ]
    };
    insert(
        &old,
        "owed_gateway_calls",
        call("refund", "pi_old_1", Some(99_850), Some("re_old_1")),
    )
    .await;
    insert(
        &old,
        "owed_gateway_calls",
        call("expire_checkout", "cs_old_1", None, None),
    )
    .await;
    use sea_orm::{EntityTrait, QueryOrder};
    let read = |db: DatabaseConnection| async move {
        entity::owed_gateway_calls::Entity::find()
            .order_by_asc(entity::owed_gateway_calls::Column::Target)
            .all(&db)
            .await
            .unwrap()
    };
    let before = read(old.clone()).await;
    assert_eq!(before.len(), 2);
    old.close().await.ok();

    let app = TestApp::builder().env("DATABASE_URL", &url).spawn().await;
    let drift = app.audit().await;
    assert!(drift.is_empty(), "{drift:?}");
    assert_eq!(read(app.state.db.clone()).await, before);
    // The widened kinds are allowed now.
    insert(
        &app.state.db,
        "owed_gateway_calls",
        call("cancel_sub", "sub_new_1", None, None),
    )
    .await;
}
