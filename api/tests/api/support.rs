//! Starts the real application for a test, on port 0 and its own database.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use actix_web::web;
use api::config::Settings;
use api::payments::events::{Payment, PaymentEvent, SubscriptionChange};
use api::payments::local::LocalGateway;
use api::payments::{
    CheckoutRequest, CheckoutSession, GatewayError, PaymentGateway, Refund, RefundRequest,
    SubscriptionCheckoutRequest,
};
use api::startup::Application;
use api::state::AppState;
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

pub const ADMIN_EMAIL: &str = "boss@example.com";
pub const WEBHOOK_SECRET: &str = "whsec_test_integration_secret";
pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub base: String,
    /// An API client: no cookies, tokens only when given.
    pub client: reqwest::Client,
    /// A browser-like client that keeps cookies.
    pub browser: reqwest::Client,
    pub state: web::Data<AppState>,
    pub database_url: String,
    _db: TestDb,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// Asserts an `application/problem+json` answer with this status and code.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert_eq!(self.body["status"], status);
        let ct = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(ct, "application/problem+json");
    }
}

/// A fresh database, dropped with the test.
enum TestDb {
    Sqlite(std::path::PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    async fn create() -> (Self, String) {
        let id = uuid::Uuid::new_v4().simple().to_string();
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(admin_url) if admin_url.starts_with("postgres") => {
                let name = format!("immersion_test_{id}");
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("TEST_DATABASE_URL reachable");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let url = replace_db_name(&admin_url, &name);
                (Self::Postgres { admin_url, name }, url)
            }
            _ => {
                let path = std::env::temp_dir().join(format!("immersion-test-{id}.db"));
                let url = format!("sqlite://{}?mode=rwc", path.display());
                (Self::Sqlite(path), url)
            }
        }
    }
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let prefix = base.rsplit_once('/').map_or(base, |(p, _)| p);
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self {
            Self::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Self::Postgres { admin_url, name } => {
                let (url, sql) = (
                    admin_url.clone(),
                    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                );
                // Drop runs outside async; a short-lived runtime on its own thread does the work.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    rt.block_on(async {
                        if let Ok(db) = Database::connect(&url).await {
                            let _ = db.execute_unprepared(&sql).await;
                            let _ = db.close().await;
                        }
                    });
                    Ok::<_, std::io::Error>(())
                })
                .join();
            }
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_with(&[]).await
}

/// Starts the app with extra settings (`("LOGIN_MAX_PER_IP", "3")`, …).
pub async fn spawn_with(extra: &[(&str, &str)]) -> TestApp {
    spawn_full(extra, None).await
}

/// Starts the app with a payment gateway of the test's.
pub async fn spawn_with_gateway(gateway: Arc<dyn PaymentGateway>) -> TestApp {
    spawn_full(&[], Some(gateway)).await
}

pub async fn spawn_full(
    extra: &[(&str, &str)],
    gateway: Option<Arc<dyn PaymentGateway>>,
) -> TestApp {
    let (db, database_url) = TestDb::create().await;
    let mut vars: HashMap<String, String> = [
        ("DATABASE_URL", database_url.as_str()),
        ("BIND_ADDR", "127.0.0.1:0"),
        ("JWT_SECRET", "test-secret-test-secret-test-secret-42"),
        ("ADMIN_EMAILS", ADMIN_EMAIL),
        ("DEMO_DATA", "false"),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("JOBS_ENABLED", "false"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for (k, v) in extra {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    let settings = Settings::from_vars(&vars).expect("test settings");
    let app = Application::build_with_gateway(settings, gateway)
        .await
        .expect("app builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    actix_web::rt::spawn(app.run_until_stopped());
    // A browser sends its page's origin with every POST.
    let mut origin = reqwest::header::HeaderMap::new();
    origin.insert(
        reqwest::header::ORIGIN,
        base.parse().expect("origin header"),
    );
    TestApp {
        client: client().build().expect("client"),
        browser: client()
            .cookie_store(true)
            .default_headers(origin)
            .build()
            .expect("client"),
        base,
        state,
        database_url,
        _db: db,
    }
}

impl TestApp {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        self.call_with(&self.client, method, path, token, body)
            .await
    }

    pub async fn call_with(
        &self,
        client: &reqwest::Client,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request sent");
        into_answer(res).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::DELETE, path, token, None).await
    }

    /// Registers `email` and returns its bearer token.
    pub async fn register(&self, email: &str) -> String {
        let a = self
            .post(
                "/api/auth/register",
                None,
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        let token = a.body["token"].as_str().expect("token").to_owned();
        self.name(&token).await;
        token
    }

    /// Gives the user of `token` a first and last name, as the app asks
    /// before a first booking or subscription.
    pub async fn name(&self, token: &str) {
        let a = self
            .patch(
                "/api/me/profile",
                Some(token),
                json!({"first_name": "Camille", "last_name": "Test"}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    }

    /// A token for the configured admin (registered and verified through
    /// the mailed link on first use: only then is the address an admin).
    pub async fn admin_token(&self) -> String {
        let creds = json!({"email": ADMIN_EMAIL, "password": PASSWORD});
        self.post("/api/auth/register", None, creds.clone()).await;
        let a = self.post("/api/auth/login", None, creds.clone()).await;
        assert!(a.status.is_success(), "{}", a.body);
        let a = if a.body["user"]["email_verified"] == true {
            a
        } else {
            let token = self.mailed_token(ADMIN_EMAIL, "verifier-email").await;
            let signed_in = a.body["token"].as_str().expect("token");
            let v = self
                .post(
                    "/api/auth/verify-email",
                    Some(signed_in),
                    json!({"token": token}),
                )
                .await;
            assert_eq!(v.status, StatusCode::OK, "{}", v.body);
            self.post("/api/auth/login", None, creds).await
        };
        assert!(a.status.is_success(), "{}", a.body);
        assert_eq!(a.body["user"]["role"], "admin", "{}", a.body);
        a.body["token"].as_str().expect("token").to_owned()
    }

    /// The mails queued for `recipient`, oldest first.
    pub async fn mails_to(&self, recipient: &str) -> Vec<entity::mail_outbox::Model> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        entity::mail_outbox::Entity::find()
            .filter(entity::mail_outbox::Column::Recipient.eq(recipient))
            .order_by_asc(entity::mail_outbox::Column::CreatedAt)
            .all(&self.state.db)
            .await
            .expect("outbox")
    }

    /// The token of the newest link to `page` mailed to `recipient`.
    pub async fn mailed_token(&self, recipient: &str, page: &str) -> String {
        let mails = self.mails_to(recipient).await;
        let marker = format!("/{page}#token=");
        mails
            .iter()
            .rev()
            .find_map(|m| {
                let at = m.body.find(&marker)? + marker.len();
                Some(
                    m.body[at..]
                        .chars()
                        .take_while(char::is_ascii_hexdigit)
                        .collect::<String>(),
                )
            })
            .unwrap_or_else(|| panic!("no /{page} link mailed to {recipient}: {mails:?}"))
    }

    /// Creates a session as admin from `overrides` on top of a valid body.
    pub async fn create_session(&self, admin: &str, overrides: Value) -> Value {
        let mut body = session_body();
        merge(&mut body, overrides);
        let a = self.post("/api/admin/sessions", Some(admin), body).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        a.body
    }
}

pub async fn into_answer(res: reqwest::Response) -> Answer {
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Answer {
        status,
        headers,
        body,
    }
}

/// A valid new session, starting in 30 days.
pub fn session_body() -> Value {
    let start = chrono::Utc::now().date_naive() + chrono::Duration::days(30);
    json!({
        "starts_on": start,
        "ends_on": start + chrono::Duration::days(4),
        "location": "Lyon",
        "price_cents": 199_700,
        "currency": "EUR",
        "max_places": 8,
    })
}

pub fn merge(base: &mut Value, overrides: Value) {
    if let (Some(b), Value::Object(o)) = (base.as_object_mut(), overrides) {
        for (k, v) in o {
            b.insert(k, v);
        }
    }
}

impl TestApp {
    /// A user made directly in the database, with a token: fast enough for
    /// hundreds (no password hashing). Named, as the app asks before a
    /// first booking or subscription.
    pub async fn quick_user(&self, email: &str) -> (uuid::Uuid, String) {
        let (id, token) = self.nameless_user(email).await;
        let names = common::profile::ProfilePatch {
            first_name: Some("Camille".into()),
            last_name: Some("Test".into()),
            ..Default::default()
        };
        api::domain::accounts::profiles::update(&self.state.db, id, names)
            .await
            .expect("named");
        (id, token)
    }

    /// `quick_user` without names (an account from before they were asked).
    pub async fn nameless_user(&self, email: &str) -> (uuid::Uuid, String) {
        let user = api::domain::accounts::users::insert_user(
            &self.state.db,
            email,
            "!".into(),
            common::auth::Role::User,
            common::auth::License::None,
        )
        .await
        .expect("user inserted");
        let (token, _) = api::domain::accounts::sign_ins::sign_in(
            &self.state.db,
            &self.state.tokens,
            user.id,
            chrono::Utc::now(),
        )
        .await
        .expect("token");
        (user.id, token)
    }

    /// Removes a user's names, as for an account whose seat was taken
    /// before names were asked.
    pub async fn forget_names(&self, user_id: uuid::Uuid) {
        use sea_orm::EntityTrait;
        entity::user_profiles::Entity::delete_by_id(user_id)
            .exec(&self.state.db)
            .await
            .expect("names forgotten");
    }

    /// Marks a user's address verified, as following the mailed link would.
    pub async fn mark_verified(&self, user_id: uuid::Uuid) {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        entity::users::Entity::update_many()
            .col_expr(
                entity::users::Column::EmailVerifiedAt,
                Expr::value(Some(chrono::Utc::now())),
            )
            .filter(entity::users::Column::Id.eq(user_id))
            .exec(&self.state.db)
            .await
            .expect("verified");
    }

    /// Holds a seat of `session_id` for `token`; panics unless it worked.
    pub async fn hold(&self, session_id: &str, token: &str) -> Value {
        let a = self
            .post(
                &format!("/api/sessions/{session_id}/checkout"),
                Some(token),
                json!({}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        a.body
    }

    /// Posts `event` to the webhook, signed with the test secret now.
    pub async fn deliver(&self, event: &Value) -> Answer {
        let body = serde_json::to_vec(event).expect("json");
        let header = api::payments::stripe::signature::sign(
            &body,
            WEBHOOK_SECRET,
            chrono::Utc::now().timestamp(),
        );
        self.deliver_raw(body, Some(&header)).await
    }

    pub async fn deliver_raw(&self, body: Vec<u8>, header: Option<&str>) -> Answer {
        let mut req = self
            .client
            .post(format!("{}/api/webhooks/stripe", self.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(h) = header {
            req = req.header("Stripe-Signature", h);
        }
        into_answer(req.send().await.expect("sent")).await
    }

    pub fn local_gateway(&self) -> Arc<LocalGateway> {
        self.state.local_gateway.clone().expect("local gateway")
    }

    pub async fn session_row(&self, id: &str) -> entity::immersion_sessions::Model {
        use sea_orm::EntityTrait;
        entity::immersion_sessions::Entity::find_by_id(id.parse::<uuid::Uuid>().expect("uuid"))
            .one(&self.state.db)
            .await
            .expect("query")
            .expect("session exists")
    }

    pub async fn booking_row(&self, id: &str) -> entity::immersion_bookings::Model {
        use sea_orm::EntityTrait;
        entity::immersion_bookings::Entity::find_by_id(id.parse::<uuid::Uuid>().expect("uuid"))
            .one(&self.state.db)
            .await
            .expect("query")
            .expect("booking exists")
    }

    /// The audit's findings; empty when every invariant holds.
    pub async fn audit(&self) -> Vec<String> {
        api::domain::reports::audit::run(&self.state.db)
            .await
            .expect("audit runs")
    }
}

/// Stripe's example objects (`api/tests/fixtures/stripe/`, copied
/// unchanged from the shared fixtures so a bare clone runs its tests).
pub fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/stripe")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// An event envelope (from the fixture) around `object`.
pub fn event(kind: &str, object: Value) -> Value {
    let mut e = fixture("event");
    e["id"] = json!(format!("evt_test_{}", uuid::Uuid::new_v4().simple()));
    e["type"] = json!(kind);
    e["created"] = json!(chrono::Utc::now().timestamp());
    e["api_version"] = json!("2025-08-27.basil");
    e["data"] = json!({ "object": object });
    e
}

/// A seat's Checkout Session (from the fixture), as Stripe sends it for
/// the hold answered by `POST /api/sessions/{id}/checkout`.
pub fn seat_checkout(held: &Value, session_id: &str, user_id: &uuid::Uuid, paid: bool) -> Value {
    let booking_id = held["booking_id"].as_str().expect("booking_id");
    let mut o = fixture("checkout.session");
    o["id"] = held["checkout_session_id"].clone();
    o["mode"] = json!("payment");
    o["client_reference_id"] = json!(booking_id);
    o["metadata"] = json!({
        "type": "immersion",
        "booking_id": booking_id,
        "session_id": session_id,
        "user_id": user_id.to_string(),
    });
    o["amount_total"] = json!(199_700);
    o["currency"] = json!("eur");
    if paid {
        o["status"] = json!("complete");
        o["payment_status"] = json!("paid");
        o["payment_intent"] = json!(format!("pi_test_{}", uuid::Uuid::new_v4().simple()));
    } else {
        o["status"] = json!("expired");
        o["payment_status"] = json!("unpaid");
        o["payment_intent"] = Value::Null;
    }
    o
}

/// A gateway that counts calls and can be told to fail, around the local one.
pub struct CountingGateway {
    pub inner: LocalGateway,
    pub creates: AtomicUsize,
    pub expires: AtomicUsize,
    pub refunds: AtomicUsize,
    pub fail_checkout: AtomicBool,
    /// How long each refund call takes, in milliseconds.
    pub refund_delay_ms: AtomicU64,
    /// Refund calls that fail before reaching the provider.
    pub refund_failures: AtomicUsize,
    /// Refund calls that are made, but whose answer is lost on the way back.
    pub lost_refund_answers: AtomicUsize,
    /// Told when a refund call begins.
    pub refund_started: tokio::sync::Notify,
}

fn take_one(n: &AtomicUsize) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
        .is_ok()
}

impl CountingGateway {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: LocalGateway::new("http://127.0.0.1:9"),
            creates: AtomicUsize::new(0),
            expires: AtomicUsize::new(0),
            refunds: AtomicUsize::new(0),
            fail_checkout: AtomicBool::new(false),
            refund_delay_ms: AtomicU64::new(0),
            refund_failures: AtomicUsize::new(0),
            lost_refund_answers: AtomicUsize::new(0),
            refund_started: tokio::sync::Notify::new(),
        })
    }

    pub fn refund_calls(&self) -> usize {
        self.refunds.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl PaymentGateway for CountingGateway {
    async fn create_checkout(
        &self,
        req: &CheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        self.creates.fetch_add(1, Ordering::SeqCst);
        if self.fail_checkout.load(Ordering::SeqCst) {
            return Err(GatewayError::Unavailable("simulated outage".into()));
        }
        self.inner.create_checkout(req).await
    }
    async fn expire_checkout(&self, id: &str, key: &str) -> Result<(), GatewayError> {
        self.expires.fetch_add(1, Ordering::SeqCst);
        self.inner.expire_checkout(id, key).await
    }
    async fn refund(&self, req: &RefundRequest) -> Result<Refund, GatewayError> {
        self.refunds.fetch_add(1, Ordering::SeqCst);
        self.refund_started.notify_one();
        let delay = self.refund_delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
        }
        if take_one(&self.refund_failures) {
            return Err(GatewayError::Unavailable("simulated refund outage".into()));
        }
        let refund = self.inner.refund(req).await?;
        if take_one(&self.lost_refund_answers) {
            return Err(GatewayError::Unavailable("connection reset".into()));
        }
        Ok(refund)
    }
    async fn create_customer(
        &self,
        user_id: uuid::Uuid,
        email: &str,
    ) -> Result<String, GatewayError> {
        self.inner.create_customer(user_id, email).await
    }
    async fn create_subscription_checkout(
        &self,
        req: &SubscriptionCheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        self.inner.create_subscription_checkout(req).await
    }
    async fn create_portal_session(
        &self,
        customer_id: &str,
        return_url: &str,
    ) -> Result<String, GatewayError> {
        self.inner
            .create_portal_session(customer_id, return_url)
            .await
    }
    async fn checkout_session(&self, id: &str) -> Result<Option<Payment>, GatewayError> {
        self.inner.checkout_session(id).await
    }
    async fn undelivered_events(
        &self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<PaymentEvent>, GatewayError> {
        self.inner.undelivered_events(since).await
    }
    async fn price(&self, price_id: &str) -> Result<api::payments::RecurringPrice, GatewayError> {
        self.inner.price(price_id).await
    }
    async fn customer_subscriptions(
        &self,
        customer_id: &str,
    ) -> Result<Vec<SubscriptionChange>, GatewayError> {
        self.inner.customer_subscriptions(customer_id).await
    }
}

/// Idle connections are dropped before the server's 5 s keep-alive ends:
/// reusing one the server is closing at that instant fails the request.
fn client() -> reqwest::ClientBuilder {
    reqwest::Client::builder().pool_idle_timeout(std::time::Duration::from_secs(2))
}

/// A client that shows redirects instead of following them.
pub fn no_redirects() -> reqwest::Client {
    client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Presses a button of the local Checkout or portal page (a form posted
/// to `url`); returns where it sends the browser.
pub async fn click(url: &str) -> String {
    let res = no_redirects().post(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{url}");
    res.headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

/// A user's hold of a session, as the checkout answered it.
pub struct Seat {
    pub sid: String,
    pub user: uuid::Uuid,
    pub token: String,
    pub held: Value,
}

impl Seat {
    pub fn booking(&self) -> &str {
        self.held["booking_id"].as_str().unwrap()
    }
    pub fn paid(&self) -> Value {
        seat_checkout(&self.held, &self.sid, &self.user, true)
    }
}

pub async fn seat_in(app: &TestApp, sid: &str, email: &str) -> Seat {
    let (user, token) = app.quick_user(email).await;
    let held = app.hold(sid, &token).await;
    Seat {
        sid: sid.to_owned(),
        user,
        token,
        held,
    }
}

/// Delivers a paid session changed by `tamper`; returns the outcome.
pub async fn pay_with(
    app: &TestApp,
    seat: &Seat,
    tamper: impl FnOnce(&mut Value),
) -> (String, Value) {
    let mut cs = seat.paid();
    tamper(&mut cs);
    let a = app
        .deliver(&event("checkout.session.completed", cs.clone()))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    (a.body["outcome"].as_str().unwrap().to_owned(), cs)
}

/// A confirmed, paid booking of a session starting in 30 days (refundable).
pub async fn paid_seat(app: &TestApp, sid: &str, email: &str) -> Seat {
    let seat = seat_in(app, sid, email).await;
    let (outcome, _) = pay_with(app, &seat, |_| {}).await;
    assert_eq!(outcome, "confirmed");
    seat
}
