//! Subscriptions: each event alone (both API shapes), the gate, the expiry
//! sweep, the local gateway's whole story over HTTP, admin views.

use chrono::{Duration, Utc};
use common::resources::ResourceDto;
use common::subscriptions::{PlanPriceDto, RedirectDto};
use reqwest::StatusCode;
use serde_json::{Value, json};

use api::payments::PaymentGateway;

use crate::support::{CountingGateway, TestApp, click, event, fixture, spawn_app};

fn ts(d: chrono::DateTime<Utc>) -> i64 {
    d.timestamp()
}

/// A subscription object (current shape: the period on the items).
fn subscription(
    id: &str,
    user: &uuid::Uuid,
    status: &str,
    interval: &str,
    period_end: i64,
) -> Value {
    let mut s = fixture("subscription");
    s["id"] = json!(id);
    s["customer"] = json!("cus_test_1");
    s["status"] = json!(status);
    s["cancel_at_period_end"] = json!(false);
    s["metadata"] = json!({"user_id": user.to_string()});
    let mut item = fixture("subscription_item");
    item["current_period_end"] = json!(period_end);
    item["price"]["recurring"] = json!({"interval": interval, "interval_count": 1});
    item["price"]["id"] = json!(price_of(interval));
    s["items"] = json!({"object": "list", "data": [item]});
    s
}

/// The price of a plan: access is given only on the prices we sell (the
/// local gateway's, as these apps have no Stripe key).
fn price_of(interval: &str) -> &'static str {
    match interval {
        "month" => "price_local_monthly",
        "year" => "price_local_yearly",
        _ => "price_unrelated",
    }
}

/// The same in the older shape: the period on the subscription, the
/// interval on the plan.
fn old_subscription(
    id: &str,
    user: &uuid::Uuid,
    status: &str,
    interval: &str,
    period_end: i64,
) -> Value {
    let mut s = subscription(id, user, status, interval, period_end);
    let mut item = s["items"]["data"][0].clone();
    item.as_object_mut().unwrap().remove("current_period_end");
    item.as_object_mut().unwrap().remove("price");
    item["plan"]["interval"] = json!(interval);
    item["plan"]["id"] = json!(price_of(interval));
    s["items"]["data"] = json!([item]);
    s["current_period_end"] = json!(period_end);
    s
}

fn invoice(sub: &str, period_end: i64, current_shape: bool) -> Value {
    let mut i = fixture("invoice");
    i["customer"] = json!("cus_test_1");
    i["customer_email"] = json!("marie@example.com");
    let mut line = i["lines"]["data"][0].clone();
    line["period"] = json!({"start": period_end - 30 * 86400, "end": period_end});
    i["lines"]["data"] = json!([line]);
    if current_shape {
        i["subscription"] = Value::Null;
        i["parent"] = json!({"type": "subscription_details", "subscription_details": {"subscription": sub, "metadata": {}}});
    } else {
        i.as_object_mut().unwrap().remove("parent");
        i["subscription"] = json!(sub);
    }
    i
}

async fn access(app: &TestApp, token: &str) -> Value {
    let a = app.get("/api/me/access", Some(token)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body
}

/// Delivers `kind` with `object`, `created` at `at`.
async fn send(app: &TestApp, kind: &str, object: Value, at: chrono::DateTime<Utc>) -> Value {
    let mut e = event(kind, object);
    e["created"] = json!(at.timestamp());
    let a = app.deliver(&e).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body
}

#[actix_web::test]
async fn each_event_alone_in_both_shapes() {
    let app = spawn_app().await;
    let now = Utc::now();
    let end = ts(now + Duration::days(30));

    // created, current shape.
    let (marie, token) = app.quick_user("marie@example.com").await;
    assert_eq!(access(&app, &token).await["reason"], "no_subscription");
    send(
        &app,
        "customer.subscription.created",
        subscription("sub_a", &marie, "active", "month", end),
        now,
    )
    .await;
    let a = access(&app, &token).await;
    assert_eq!(
        (a["active"].as_bool(), a["reason"].as_str()),
        (Some(true), Some("subscribed"))
    );
    assert_eq!(a["subscription_type"], "premium_monthly");
    assert_eq!(
        a["current_period_end"],
        json!(chrono::DateTime::from_timestamp(end, 0).unwrap())
    );

    // created, older shape (yearly).
    let (paul, paul_token) = app.quick_user("paul@example.com").await;
    send(
        &app,
        "customer.subscription.created",
        old_subscription("sub_b", &paul, "active", "year", end),
        now,
    )
    .await;
    let a = access(&app, &paul_token).await;
    assert_eq!(
        (a["active"].as_bool(), a["subscription_type"].as_str()),
        (Some(true), Some("premium_yearly"))
    );

    // updated: cancel at period end.
    let mut s = subscription("sub_a", &marie, "active", "month", end);
    s["cancel_at_period_end"] = json!(true);
    send(
        &app,
        "customer.subscription.updated",
        s,
        now + Duration::seconds(1),
    )
    .await;
    assert_eq!(access(&app, &token).await["cancel_at_period_end"], true);

    // invoice.payment_succeeded extends the period, in both shapes.
    let later = ts(now + Duration::days(60));
    send(
        &app,
        "invoice.payment_succeeded",
        invoice("sub_a", later, true),
        now + Duration::seconds(2),
    )
    .await;
    assert_eq!(
        access(&app, &token).await["current_period_end"],
        json!(chrono::DateTime::from_timestamp(later, 0).unwrap())
    );
    send(
        &app,
        "invoice.payment_succeeded",
        invoice("sub_b", later, false),
        now + Duration::seconds(2),
    )
    .await;
    assert_eq!(
        access(&app, &paul_token).await["current_period_end"],
        json!(chrono::DateTime::from_timestamp(later, 0).unwrap())
    );

    // invoice.payment_failed blocks at once (no grace by default).
    send(
        &app,
        "invoice.payment_failed",
        invoice("sub_b", later + 86400 * 30, false),
        now + Duration::seconds(3),
    )
    .await;
    let a = access(&app, &paul_token).await;
    assert_eq!(
        (a["active"].as_bool(), a["reason"].as_str()),
        (Some(false), Some("payment_failed"))
    );

    // deleted: canceled, free, and the subscription id is cleared.
    send(
        &app,
        "customer.subscription.deleted",
        subscription("sub_a", &marie, "canceled", "month", end),
        now + Duration::seconds(4),
    )
    .await;
    let a = access(&app, &token).await;
    assert_eq!(
        (
            a["active"].as_bool(),
            a["reason"].as_str(),
            a["subscription_type"].as_str()
        ),
        (Some(false), Some("canceled"), Some("free"))
    );
    let admin = app.admin_token().await;
    let list = app.get("/api/admin/subscriptions", Some(&admin)).await;
    let row = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["email"] == "marie@example.com")
        .unwrap()
        .clone();
    assert_eq!(row["stripe_subscription_id"], Value::Null);
    assert_eq!(row["is_active"], false);
    assert_eq!(row["stripe_customer_id"], "cus_test_1");
}

#[actix_web::test]
async fn the_user_is_found_by_customer_or_email_without_metadata() {
    let app = spawn_app().await;
    let now = Utc::now();
    let (marie, token) = app.quick_user("marie@example.com").await;
    // checkout.session.completed (subscription mode) ties the customer to the user.
    let mut cs = fixture("checkout.session");
    cs["mode"] = json!("subscription");
    cs["customer"] = json!("cus_linked");
    cs["subscription"] = json!("sub_linked");
    cs["metadata"] = json!({"type": "subscription", "user_id": marie.to_string()});
    assert_eq!(
        send(&app, "checkout.session.completed", cs, now).await["outcome"],
        "linked"
    );
    let mut s = subscription(
        "sub_linked",
        &marie,
        "active",
        "month",
        ts(now + Duration::days(30)),
    );
    s["metadata"] = json!({});
    s["customer"] = json!("cus_linked");
    assert_eq!(
        send(&app, "customer.subscription.created", s, now).await["outcome"],
        "applied"
    );
    assert_eq!(access(&app, &token).await["active"], true);

    // An invoice with nothing but the customer's e-mail: it names only a
    // verified address (anyone can register an unverified one).
    let (paul, paul_token) = app.quick_user("paul@example.com").await;
    app.mark_verified(paul).await;
    let mut i = invoice("sub_unknown", ts(now + Duration::days(30)), true);
    i["customer"] = json!("cus_unknown");
    i["customer_email"] = json!("Paul@Example.com");
    assert_eq!(
        send(&app, "invoice.payment_succeeded", i, now).await["outcome"],
        "applied"
    );
    // Paid invoice alone: no subscription status yet, so still no access.
    assert_eq!(access(&app, &paul_token).await["reason"], "no_subscription");

    // Nobody: acknowledged and recorded as such.
    let mut i = invoice("sub_x", ts(now), true);
    i["customer"] = json!("cus_nobody");
    i["customer_email"] = json!("nobody@example.com");
    assert_eq!(
        send(&app, "invoice.payment_succeeded", i, now).await["outcome"],
        "unknown_user"
    );
}

#[actix_web::test]
async fn the_gate_blocks_inactive_users_lets_admins_in_and_notices_ended_periods() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (marie, token) = app.quick_user("marie@example.com").await;
    let a = app.get("/api/app/resources", Some(&token)).await;
    a.assert_problem(403, "subscription_inactive");
    assert_eq!(a.body["reason"], "no_subscription");
    app.get("/api/app/resources", None)
        .await
        .assert_problem(401, "unauthorized");
    assert_eq!(
        app.get("/api/app/resources", Some(&admin)).await.status,
        StatusCode::OK
    );
    assert_eq!(access(&app, &admin).await["reason"], "admin");

    // A period that ends in two seconds: no event arrives, yet access ends.
    let now = Utc::now();
    let end = now + Duration::seconds(2);
    send(
        &app,
        "customer.subscription.created",
        subscription("sub_short", &marie, "active", "month", ts(end)),
        now,
    )
    .await;
    assert_eq!(
        app.get("/api/app/resources", Some(&token)).await.status,
        StatusCode::OK
    );
    let (paul, paul_token) = app.quick_user("paul@example.com").await;
    send(
        &app,
        "customer.subscription.created",
        subscription("sub_p", &paul, "active", "month", ts(end)),
        now,
    )
    .await;

    // Checks at a time past the end, as the clock will be.
    let after = end + Duration::seconds(1);
    let grace = Duration::zero();
    let (acc, dto) = api::domain::subscriptions::access_of(
        &app.state.db,
        marie,
        common::auth::Role::User,
        grace,
        after,
    )
    .await
    .unwrap();
    assert!(!acc.active);
    assert_eq!(dto.reason, common::subscriptions::AccessReason::PeriodEnded);
    // The check itself turned Marie's is_active off; the sweep does Paul's, once.
    let n = api::domain::subscriptions::deactivate_expired(&app.state.db, grace, after)
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        api::domain::subscriptions::deactivate_expired(&app.state.db, grace, after)
            .await
            .unwrap(),
        0
    );
    let inactive = app
        .get("/api/admin/subscriptions?active=false", Some(&admin))
        .await;
    let emails: Vec<&str> = inactive
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["email"].as_str().unwrap())
        .collect();
    assert!(
        emails.contains(&"marie@example.com") && emails.contains(&"paul@example.com"),
        "{emails:?}"
    );
    let _ = paul_token;
}

#[actix_web::test]
async fn a_grace_period_keeps_past_due_members_in_for_a_while() {
    let app = TestApp::builder()
        .env("PAST_DUE_GRACE_HOURS", "48")
        .spawn()
        .await;
    let (marie, token) = app.quick_user("marie@example.com").await;
    let now = Utc::now();
    send(
        &app,
        "customer.subscription.created",
        subscription(
            "sub_g",
            &marie,
            "past_due",
            "month",
            ts(now - Duration::hours(1)),
        ),
        now,
    )
    .await;
    let a = access(&app, &token).await;
    assert_eq!(
        (a["active"].as_bool(), a["reason"].as_str()),
        (Some(true), Some("grace_period"))
    );
}

#[actix_web::test]
async fn local_gateway_subscribe_renew_fail_block_resubscribe() {
    let app = spawn_app().await;
    let token = app.register("marie@example.com").await;

    // Subscribe (monthly) on the local Checkout page.
    let r = app.subscribe(&token, "monthly").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let url = r.ok::<RedirectDto>().url;
    let page = app
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Abonnement mensuel"), "{page}");
    let back = click(&format!("{url}/pay")).await;
    assert_eq!(back, format!("{}/abonnement/merci", app.base));
    let a = access(&app, &token).await;
    assert_eq!(
        (a["active"].as_bool(), a["subscription_type"].as_str()),
        (Some(true), Some("premium_monthly"))
    );
    let first_end = a["current_period_end"].clone();
    assert_eq!(
        app.get("/api/app/resources", Some(&token)).await.status,
        StatusCode::OK
    );

    // Already subscribed: 409.
    app.subscribe(&token, "yearly")
        .await
        .assert_problem(409, "subscription_active");

    // Renew in the portal: the period moves on.
    let portal = app.portal(&token).await;
    click(&format!("{portal}/renew")).await;
    let a = access(&app, &token).await;
    assert!(
        a["current_period_end"].as_str().unwrap() > first_end.as_str().unwrap(),
        "{a}"
    );

    // The next payment fails: blocked at once.
    click(&format!("{portal}/fail")).await;
    let a = access(&app, &token).await;
    assert_eq!(
        (a["active"].as_bool(), a["reason"].as_str()),
        (Some(false), Some("payment_failed"))
    );
    app.get("/api/app/resources", Some(&token))
        .await
        .assert_problem(403, "subscription_inactive");
    let html = app
        .client
        .get(&portal)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("past_due"), "{html}");

    // Subscribe again (yearly): in again.
    let r = app.subscribe(&token, "yearly").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    click(&format!("{}/pay", r.ok::<RedirectDto>().url)).await;
    let a = access(&app, &token).await;
    assert_eq!(
        (a["active"].as_bool(), a["subscription_type"].as_str()),
        (Some(true), Some("premium_yearly"))
    );
    // The failing monthly one it replaces is cancelled at the provider,
    // nothing refunded (its last invoice was not paid): one bill, and the
    // audit sees one live subscription.
    use sea_orm::EntityTrait;
    let monthly = entity::stripe_subscriptions::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.plan == Some(common::subscriptions::SubscriptionType::PremiumMonthly))
        .unwrap();
    let local = app.local_gateway();
    assert!(local.subscription_ended(&monthly.id).await.unwrap());
    assert!(local.refunds().is_empty());
    assert_eq!(app.audit().await, Vec::<String>::new());
    assert_eq!(
        app.get("/api/app/resources", Some(&token)).await.status,
        StatusCode::OK
    );

    // Cancel at period end: still in, flagged; cancel now: out.
    let portal = app.portal(&token).await;
    click(&format!("{portal}/cancel-at-period-end")).await;
    let a = access(&app, &token).await;
    assert_eq!(
        (a["active"].as_bool(), a["cancel_at_period_end"].as_bool()),
        (Some(true), Some(true))
    );
    click(&format!("{portal}/cancel-now")).await;
    let a = access(&app, &token).await;
    assert_eq!(
        (a["active"].as_bool(), a["reason"].as_str()),
        (Some(false), Some("canceled"))
    );
}

#[actix_web::test]
async fn portal_needs_a_customer_and_checkout_a_known_plan() {
    let app = spawn_app().await;
    let (_, token) = app.quick_user("marie@example.com").await;
    app.post("/api/subscriptions/portal", Some(&token), json!({}))
        .await
        .assert_problem(409, "no_subscription");
    app.post(
        "/api/subscriptions/checkout",
        Some(&token),
        json!({"plan": "weekly"}),
    )
    .await
    .assert_problem(400, "bad_request");
    app.post(
        "/api/subscriptions/checkout",
        None,
        json!({"plan": "monthly"}),
    )
    .await
    .assert_problem(401, "unauthorized");
}

#[actix_web::test]
async fn admins_manage_resources_that_members_read_in_order() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (_, user) = app.quick_user("marie@example.com").await;
    let mk = |title: &str, kind: &str| json!({"title": title, "kind": kind, "url": "https://example.com/x", "body": "Texte"});
    let a = app
        .post(
            "/api/admin/resources",
            Some(&admin),
            mk("Replay jour 1", "video"),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a: ResourceDto = a.ok();
    assert_eq!(a.position, 0);
    // Other kinds keep a body as their description.
    assert_eq!(a.body.as_deref(), Some("Texte"));
    let b: ResourceDto = app
        .post("/api/admin/resources", Some(&admin), mk("Fiche", "text"))
        .await
        .ok();
    assert_eq!(b.position, 1);
    assert_eq!(b.url, None);
    let bad = app
        .post(
            "/api/admin/resources",
            Some(&admin),
            json!({"title": "x", "kind": "link"}),
        )
        .await;
    bad.assert_problem(422, "validation_failed");
    app.post("/api/admin/resources", Some(&user), mk("x", "link"))
        .await
        .assert_problem(403, "forbidden");

    let (a_id, b_id) = (a.id, b.id);
    let order = app
        .call(
            reqwest::Method::PUT,
            "/api/admin/resources",
            Some(&admin),
            Some(json!({"ids": [b_id, a_id]})),
        )
        .await;
    assert_eq!(order.status, StatusCode::OK, "{}", order.body);
    assert_eq!(order.ok::<Vec<ResourceDto>>()[0].id, b_id);
    app.call(
        reqwest::Method::PUT,
        "/api/admin/resources",
        Some(&admin),
        Some(json!({"ids": [a_id]})),
    )
    .await
    .assert_problem(422, "validation_failed");

    let e = app
        .patch(
            &format!("/api/admin/resources/{a_id}"),
            Some(&admin),
            json!({"title": "Replay J1"}),
        )
        .await
        .ok::<ResourceDto>();
    assert_eq!(e.title, "Replay J1");
    let members = app.get("/api/app/resources", Some(&admin)).await;
    let titles: Vec<&str> = members
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Fiche", "Replay J1"]);
    assert_eq!(
        app.delete(&format!("/api/admin/resources/{b_id}"), Some(&admin))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    app.delete(&format!("/api/admin/resources/{b_id}"), Some(&admin))
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.get("/api/admin/resources", Some(&admin))
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[actix_web::test]
async fn admin_subscriptions_filter_by_activity() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (marie, _) = app.quick_user("marie@example.com").await;
    app.quick_user("paul@example.com").await;
    let now = Utc::now();
    send(
        &app,
        "customer.subscription.created",
        subscription(
            "sub_m",
            &marie,
            "active",
            "month",
            ts(now + Duration::days(30)),
        ),
        now,
    )
    .await;
    let emails = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["email"].as_str().unwrap().to_owned())
            .collect()
    };
    let active = app
        .get("/api/admin/subscriptions?active=true", Some(&admin))
        .await;
    assert_eq!(emails(&active.body), ["marie@example.com"]);
    let inactive = app
        .get("/api/admin/subscriptions?active=false", Some(&admin))
        .await;
    assert!(emails(&inactive.body).contains(&"paul@example.com".to_owned()));
    assert!(!emails(&inactive.body).contains(&"marie@example.com".to_owned()));
    assert_eq!(
        app.get("/api/admin/subscriptions", Some(&admin))
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        3
    );
    app.get("/api/admin/subscriptions?active=maybe", Some(&admin))
        .await
        .assert_problem(400, "bad_request");
}

#[actix_web::test]
async fn the_local_gateway_prices_the_plans_from_its_settings() {
    let app = spawn_app().await;
    let res = app.get("/api/plans", None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.body,
        json!([
            {"plan": "monthly", "amount_cents": 2900, "currency": "EUR", "interval": "month"},
            {"plan": "yearly", "amount_cents": 29000, "currency": "EUR", "interval": "year"},
        ])
    );
    let app = TestApp::builder()
        .env("LOCAL_PLAN_MONTHLY_CENTS", "3500")
        .env("LOCAL_PLAN_YEARLY_CENTS", "35000")
        .spawn()
        .await;
    let plans: Vec<PlanPriceDto> = app.get("/api/plans", None).await.ok();
    assert_eq!(plans[0].amount_cents, 3500);
    assert_eq!(plans[1].amount_cents, 35000);
}

/// Two live subscriptions for one customer are two bills: the audit names
/// them (a state built directly in the database).
#[actix_web::test]
async fn the_audit_sees_two_live_subscriptions_for_one_customer() {
    use common::subscriptions::StripeStatus;
    use sea_orm::EntityTrait;
    let app = spawn_app().await;
    let (user, _) = app.quick_user("marie@example.com").await;
    let row = |id: &str, status: StripeStatus| subscription_row(user, id, status);
    let insert = |m| entity::stripe_subscriptions::Entity::insert(m).exec(&app.state.db);
    insert(row("sub_first", StripeStatus::Active))
        .await
        .unwrap();
    insert(row("sub_old", StripeStatus::Canceled))
        .await
        .unwrap();
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
    insert(row("sub_second", StripeStatus::Active))
        .await
        .unwrap();
    let drift = app.audit().await;
    assert!(
        drift.iter().any(|d| d.contains("sub_first")
            && d.contains("sub_second")
            && d.contains("invariant 16")),
        "{drift:?}"
    );
}

/// A second checkout answers the open one (invariant 16): twelve
/// checkouts at once, for either plan, get one page, and one more later
/// gets it again; once that page is gone (paid, cancelled), a new one.
#[actix_web::test]
async fn twelve_checkouts_at_once_open_one_subscription_page() {
    let app = std::sync::Arc::new(spawn_app().await);
    let (_, token) = app.quick_user("marie@example.com").await;
    let mut racing = Vec::new();
    for i in 0..12 {
        let (app, token) = (app.clone(), token.clone());
        racing.push(tokio::spawn(async move {
            let plan = if i % 2 == 0 { "monthly" } else { "yearly" };
            let a = app.subscribe(&token, plan).await;
            assert_eq!(a.status, reqwest::StatusCode::OK, "{}", a.body);
            a.ok::<common::subscriptions::RedirectDto>().url
        }));
    }
    let mut urls = std::collections::BTreeSet::new();
    for r in racing {
        urls.insert(r.await.unwrap());
    }
    assert_eq!(urls.len(), 1, "{urls:?}");
    let url = urls.into_iter().next().unwrap();
    let again: common::subscriptions::RedirectDto = app.subscribe(&token, "yearly").await.ok();
    assert_eq!(again.url, url);
    // The page is cancelled on its own: the next checkout gets a new one.
    let id = url.rsplit('/').next().unwrap();
    assert!(app.local_gateway().close_subscription_checkout(id));
    let next: common::subscriptions::RedirectDto = app.subscribe(&token, "yearly").await.ok();
    assert_ne!(next.url, url);
}

/// Invariant 16, the other window: the customer pays their subscription
/// page, and before Stripe's events reach us asks for a checkout again.
/// The paid page can no longer be reopened; it used to give way to a new
/// claim and a second page, a second subscription paid. It answers 409
/// `subscription_pending` until the subscription is known; once it is,
/// and has ended, a new page opens.
#[actix_web::test]
async fn a_paid_page_whose_subscription_has_not_arrived_opens_no_second_page() {
    let gateway = CountingGateway::new();
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    let (user, token) = app.quick_user("marie@example.com").await;
    let first: common::subscriptions::RedirectDto = app.subscribe(&token, "monthly").await.ok();
    let page = first.url.rsplit('/').next().unwrap();
    gateway.pay_subscription_page(page, "sub_paid_first");
    let again = app.subscribe(&token, "yearly").await;
    assert_eq!(
        again.status,
        reqwest::StatusCode::CONFLICT,
        "{}",
        again.body
    );
    assert_eq!(again.body["code"], "subscription_pending");
    // Its creation arrives before the checkout that ties it to the user
    // (found by the simulation, seed 309): still no second page.
    use common::subscriptions::StripeStatus;
    use sea_orm::EntityTrait;
    let live = subscription_row(user, "sub_paid_first", StripeStatus::Active);
    entity::stripe_subscriptions::Entity::insert(live)
        .exec(&app.state.db)
        .await
        .unwrap();
    let again = app.subscribe(&token, "monthly").await;
    assert_eq!(
        again.status,
        reqwest::StatusCode::CONFLICT,
        "{}",
        again.body
    );
    // It ends: a new page may open.
    entity::stripe_subscriptions::Entity::update(subscription_row(
        user,
        "sub_paid_first",
        StripeStatus::Canceled,
    ))
    .exec(&app.state.db)
    .await
    .unwrap();
    let next: common::subscriptions::RedirectDto = app.subscribe(&token, "yearly").await.ok();
    assert_ne!(next.url, first.url);
}

/// A subscription record as the fold stores it, for states built directly.
fn subscription_row(
    user: uuid::Uuid,
    id: &str,
    status: common::subscriptions::StripeStatus,
) -> entity::stripe_subscriptions::ActiveModel {
    use sea_orm::ActiveValue::Set;
    entity::stripe_subscriptions::ActiveModel {
        id: Set(id.to_owned()),
        user_id: Set(user),
        customer_id: Set(Some("cus_marie".into())),
        status: Set(Some(status)),
        plan: Set(Some(
            common::subscriptions::SubscriptionType::PremiumMonthly,
        )),
        cancel_at_period_end: Set(false),
        subscription_key: Set(None),
        current_period_end: Set(Some(chrono::Utc::now() + chrono::Duration::days(30))),
        period_key: Set(None),
        payment_failed: Set(false),
        payment_key: Set(None),
        updated_at: Set(chrono::Utc::now()),
    }
}

/// The local "Stripe" bills `user` a second subscription made where the
/// checkout rule does not see it (a payment link, another tab): its
/// events (the checkout's completion, the creation, the paid invoice).
async fn subscribed_elsewhere(app: &TestApp, user: uuid::Uuid, id: &str) -> Vec<Value> {
    use api::payments::local::subscriptions::{Action, LocalSubscription};
    use common::subscriptions::{Plan, StripeStatus};
    use sea_orm::EntityTrait;
    let customer = entity::subscription_status::Entity::find_by_id(user)
        .one(&app.state.db)
        .await
        .unwrap()
        .and_then(|s| s.stripe_customer_id)
        .expect("a customer");
    let local = app.local_gateway();
    let mut sub = LocalSubscription {
        id: id.to_owned(),
        customer_id: customer,
        user_id: user,
        customer_email: "marie@example.com".into(),
        plan: Plan::Yearly,
        amount_cents: local.plan_cents(Plan::Yearly),
        status: StripeStatus::Active,
        current_period_end: Utc::now() + Duration::days(365),
        cancel_at_period_end: false,
    };
    let checkout_id = format!("cs_elsewhere_{id}");
    local.act(&Action::Subscribe { checkout_id }, &mut sub)
}

/// Invariant 16, its last line: a second subscription billed anyway is
/// cancelled at the provider, the invoice that paid it refunded, and an
/// anomaly recorded; the first stays. Its events arrive paid invoice
/// first (Stripe promises no order) and twice: one cancel, one refund.
/// It used to be kept, both billed.
#[actix_web::test]
async fn a_second_subscription_paid_anyway_is_cancelled_and_refunded() {
    let app = spawn_app().await;
    let (user, token) = app.quick_user("marie@example.com").await;
    let r = app.subscribe(&token, "monthly").await;
    click(&format!("{}/pay", r.ok::<RedirectDto>().url)).await;
    let mut events = subscribed_elsewhere(&app, user, "sub_local_second").await;
    events.reverse();
    for e in &events {
        let a = app.deliver(e).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    }
    let local = app.local_gateway();
    let yearly = local.plan_cents(common::subscriptions::Plan::Yearly);
    let invoice = events[0]["data"]["object"]["id"].as_str().unwrap();
    let payment = local.invoice_payment(invoice).await.unwrap().unwrap();
    let refunds: Vec<_> = local
        .refunds()
        .into_iter()
        .map(|r| (r.payment_intent_id, r.amount_cents))
        .collect();
    assert_eq!(refunds, vec![(payment, yearly)]);
    assert!(local.subscription_ended("sub_local_second").await.unwrap());
    let admin = app.admin_token().await;
    let listed: Vec<Value> = app
        .get("/api/admin/payment-anomalies", Some(&admin))
        .await
        .ok();
    let found: Vec<_> = listed
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap(),
                a["subscription_id"].as_str().unwrap_or_default(),
                a["amount_cents"].as_i64(),
                a["refund"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![(
            "second_subscription",
            "sub_local_second",
            Some(yearly),
            "refunded"
        )]
    );
    // The first is the member's, untouched.
    let a = access(&app, &token).await;
    assert_eq!(
        (a["active"].as_bool(), a["subscription_type"].as_str()),
        (Some(true), Some("premium_monthly"))
    );
    // The cancel's own event, delivered by reconciliation, ends it here:
    // the books agree, nothing owed.
    api::domain::payment_events::reconcile::run(
        &app.state.db,
        app.state.gateway.as_ref(),
        &app.state.policy,
        Utc::now(),
    )
    .await
    .unwrap();
    let second = entity::stripe_subscriptions::Entity::find_by_id("sub_local_second".to_owned());
    use sea_orm::EntityTrait;
    let second = second.one(&app.state.db).await.unwrap().unwrap();
    assert_eq!(
        second.status,
        Some(common::subscriptions::StripeStatus::Canceled)
    );
    let drift = app.audit().await;
    assert!(drift.iter().all(|d| d.contains("anomaly")), "{drift:?}");
    // The refunded invoice is corrected by one credit note (invariant 18).
    let credit_notes = || async {
        let mine: Vec<common::invoices::InvoiceDto> =
            app.get("/api/me/invoices", Some(&token)).await.ok();
        mine.into_iter()
            .filter(|d| d.kind == common::invoices::InvoiceKind::CreditNote)
            .map(|d| (d.amount_cents, d.reason))
            .collect::<Vec<_>>()
    };
    let second = Some(common::invoices::CreditReason::SecondSubscription);
    assert_eq!(credit_notes().await, [(yearly, second)]);
    // Delivered again: nothing owed again.
    for e in &events {
        let a = app.deliver(e).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    }
    assert_eq!(local.refunds().len(), 1);
    let listed: Vec<Value> = app
        .get("/api/admin/payment-anomalies", Some(&admin))
        .await
        .ok();
    assert_eq!(listed.len(), 1);
    assert_eq!(credit_notes().await, [(yearly, second)]);
}

/// A paid invoice of `sub`, Stripe-numbered.
fn paid_invoice(id: &str, sub: &str, period_end: i64) -> Value {
    let mut i = invoice(sub, period_end, true);
    i["id"] = json!(id);
    i["status"] = json!("paid");
    i["number"] = json!(format!("NR-{id}"));
    i["currency"] = json!("eur");
    i["amount_paid"] = json!(2900);
    i
}

/// The calls owed to the provider: (kind, target, reason), in the order
/// they were owed.
async fn owed_calls(app: &TestApp) -> Vec<(String, String, String)> {
    use sea_orm::{EntityTrait, QueryOrder};
    entity::owed_gateway_calls::Entity::find()
        .order_by_asc(entity::owed_gateway_calls::Column::CreatedAt)
        // Calls owed in one transaction share their time: by kind then.
        .order_by_asc(entity::owed_gateway_calls::Column::Kind)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.kind.as_str().to_owned(), c.target, c.reason))
        .collect()
}

/// A member whose payments fail subscribes again: the failing one is
/// cancelled, nothing refunded. While its cancel is under way, its own
/// later events never make it a "second" one (the review found that
/// every invoice it ever paid would then have gone back); its overdue
/// invoice, paid after all, bought a period without access and is
/// refunded, that one alone.
#[actix_web::test]
async fn a_replaced_subscription_keeps_what_it_paid_for() {
    let app = spawn_app().await;
    let (marie, _) = app.quick_user("marie@example.com").await;
    let now = Utc::now();
    let end = ts(now + Duration::days(30));
    let at = |s: i64| now + Duration::seconds(s);
    let a = |status| subscription("sub_old", &marie, status, "month", end);
    send(&app, "customer.subscription.created", a("active"), at(0)).await;
    send(
        &app,
        "invoice.payment_succeeded",
        paid_invoice("in_first", "sub_old", end),
        at(1),
    )
    .await;
    send(&app, "customer.subscription.updated", a("past_due"), at(2)).await;
    let b = subscription("sub_new", &marie, "active", "year", end);
    send(&app, "customer.subscription.created", b, at(3)).await;
    let cancel = (
        "cancel_sub".to_owned(),
        "sub_old".to_owned(),
        "replaced".to_owned(),
    );
    assert_eq!(owed_calls(&app).await, vec![cancel.clone()]);
    // Before its end arrives: more news of the old one.
    send(&app, "customer.subscription.updated", a("past_due"), at(4)).await;
    assert_eq!(owed_calls(&app).await, vec![cancel.clone()]);
    let overdue = paid_invoice("in_overdue", "sub_old", end);
    send(&app, "invoice.payment_succeeded", overdue, at(5)).await;
    let refund = (
        "refund_invoice".to_owned(),
        "in_overdue".to_owned(),
        "replaced".to_owned(),
    );
    // Stripe's invoice is corrected by Stripe's credit note (invariant 18).
    let credit = (
        "credit_note".to_owned(),
        "in_overdue".to_owned(),
        "replaced_subscription".to_owned(),
    );
    assert_eq!(owed_calls(&app).await, vec![cancel, credit, refund]);
    let admin = app.admin_token().await;
    let listed = app.get("/api/admin/payment-anomalies", Some(&admin)).await;
    assert_eq!(listed.body, json!([]));
}
