//! Against a real Stripe simulator: localstripe (PyPI) keeps customers and
//! subscriptions and delivers its own signed webhooks to the api.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{TestApp, WEBHOOK_SECRET};

struct LocalStripe {
    child: Child,
    base: String,
}

impl Drop for LocalStripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts localstripe on a free port and waits until it says it listens.
fn start_localstripe() -> LocalStripe {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new("python3")
        .args([
            "-u",
            "-m",
            "localstripe",
            "--port",
            &port.to_string(),
            "--from-scratch",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 -m localstripe (pip install localstripe)");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    // aiohttp announces "======== Running on http://0.0.0.0:PORT ========".
    let ready = lines.any(|l| l.is_ok_and(|l| l.contains("Running on")));
    assert!(ready, "localstripe did not start");
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    LocalStripe {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

async fn stripe_post(client: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> Value {
    let res = client
        .post(url)
        .bearer_auth("sk_test_localstripe")
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status} {body}");
    body
}

/// Waits (bounded) for the asynchronous webhook deliveries to show.
async fn eventually_access(app: &TestApp, token: &str, active: bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let a = app.get("/api/me/access", Some(token)).await;
        assert_eq!(a.status, StatusCode::OK);
        if a.body["active"] == active || std::time::Instant::now() > deadline {
            return a.body;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A member of the api whose subscription localstripe made: a customer
/// with a card, subscribed to a monthly plan, whose webhooks reached the
/// api and opened its access.
struct Member {
    app: TestApp,
    token: String,
    customer: String,
    subscription: String,
}

async fn active_member(ls: &LocalStripe, client: &reqwest::Client) -> Member {
    let product = stripe_post(
        client,
        &format!("{}/v1/products", ls.base),
        &[("name", "Membres Immersion")],
    )
    .await;
    let plan = stripe_post(
        client,
        &format!("{}/v1/plans", ls.base),
        &[
            ("amount", "2900"),
            ("currency", "eur"),
            ("interval", "month"),
            ("product", product["id"].as_str().unwrap()),
        ],
    )
    .await;
    // The api talks to localstripe as to Stripe, and sells this plan.
    let plan_id = plan["id"].as_str().unwrap();
    let app = TestApp::builder()
        .env("STRIPE_SECRET_KEY", "sk_test_localstripe")
        .env("STRIPE_API_BASE", &ls.base)
        .env("STRIPE_PRICE_MONTHLY", plan_id)
        .env("STRIPE_PRICE_YEARLY", "price_yearly_unused")
        .spawn()
        .await;
    let webhook_url = format!("{}/api/webhooks/stripe", app.base);
    let res = client
        .post(format!("{}/_config/webhooks/immersion", ls.base))
        .form(&[("url", webhook_url.as_str()), ("secret", WEBHOOK_SECRET)])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());

    let (user_id, token) = app.quick_user("marie@example.com").await;
    let user = user_id.to_string();
    let card = stripe_post(
        client,
        &format!("{}/v1/tokens", ls.base),
        &[
            ("card[number]", "4242424242424242"),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2040"),
            ("card[cvc]", "123"),
        ],
    )
    .await;
    let customer = stripe_post(
        client,
        &format!("{}/v1/customers", ls.base),
        &[
            ("email", "marie@example.com"),
            ("metadata[user_id]", &user),
            ("source", card["id"].as_str().unwrap()),
        ],
    )
    .await;
    let sub = stripe_post(
        client,
        &format!("{}/v1/subscriptions", ls.base),
        &[
            ("customer", customer["id"].as_str().unwrap()),
            ("items[0][plan]", plan_id),
            ("metadata[user_id]", &user),
        ],
    )
    .await;
    assert_eq!(sub["status"], "active", "{sub}");

    let a = eventually_access(&app, &token, true).await;
    assert_eq!(a["active"], true, "{a}");
    assert_eq!(a["subscription_type"], "premium_monthly");
    assert_eq!(
        app.get("/api/app/resources", Some(&token)).await.status,
        StatusCode::OK
    );

    Member {
        app,
        token,
        customer: customer["id"].as_str().unwrap().to_owned(),
        subscription: sub["id"].as_str().unwrap().to_owned(),
    }
}

#[actix_web::test]
async fn localstripe_webhooks_grant_then_withdraw_access() {
    let ls = start_localstripe();
    let client = reqwest::Client::new();
    let Member {
        app,
        token,
        subscription,
        ..
    } = active_member(&ls, &client).await;
    let res = client
        .delete(format!("{}/v1/subscriptions/{subscription}", ls.base))
        .bearer_auth("sk_test_localstripe")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let a = eventually_access(&app, &token, false).await;
    assert_eq!(
        (a["active"].as_bool(), a["reason"].as_str()),
        (Some(false), Some("canceled")),
        "{a}"
    );
    app.get("/api/app/resources", Some(&token))
        .await
        .assert_problem(403, "subscription_inactive");
}

/// Erasing a member deletes their customer at Stripe (its e-mail, name and
/// card), after their subscription's end: the real client's calls, made
/// to a simulator that keeps customers.
#[actix_web::test]
async fn localstripe_loses_an_erased_members_customer() {
    use common::payments::{OwedCallKind, OwedCallStatus};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let ls = start_localstripe();
    let client = reqwest::Client::new();
    let member = active_member(&ls, &client).await;
    let app = &member.app;
    let user = app.me(&member.token).await.id;
    let admin = app.admin_token().await;
    let erased = app
        .post(
            &format!("/api/admin/users/{user}/erasure"),
            Some(&admin),
            serde_json::json!({}),
        )
        .await;
    assert!(erased.status.is_success(), "{}", erased.body);
    app.state.tasks.idle().await;
    let calls = entity::owed_gateway_calls::Entity::find()
        .filter(entity::owed_gateway_calls::Column::Reason.eq("erasure"))
        .all(&app.state.db)
        .await
        .unwrap();
    let made: Vec<_> = calls
        .iter()
        .map(|c| (c.kind, c.target.as_str(), c.status))
        .collect();
    assert_eq!(
        made.len(),
        2,
        "{made:?} (last errors: {:?})",
        calls.iter().map(|c| &c.last_error).collect::<Vec<_>>()
    );
    assert!(made.contains(&(
        OwedCallKind::CancelSubscription,
        member.subscription.as_str(),
        OwedCallStatus::Done
    )));
    assert!(made.contains(&(
        OwedCallKind::DeleteCustomer,
        member.customer.as_str(),
        OwedCallStatus::Done
    )));
    // Stripe answers a deleted customer with `deleted: true`; localstripe
    // forgets it.
    let res = client
        .get(format!("{}/v1/customers/{}", ls.base, member.customer))
        .bearer_auth("sk_test_localstripe")
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert!(
        status == StatusCode::NOT_FOUND || body["deleted"] == true,
        "{status} {body}"
    );
    // Deleting it again (a retry whose first answer was lost) is done too.
    let gateway = api::payments::stripe::StripeGateway::new(
        &api::config::Secret::new("sk_test_localstripe"),
        Some(&ls.base),
    )
    .unwrap();
    use api::payments::PaymentGateway;
    gateway.delete_customer(&member.customer).await.unwrap();
}
