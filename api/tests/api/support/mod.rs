//! Starts the real application for a test, on port 0 and its own database,
//! and calls it over HTTP.

mod db;
pub mod seats;
pub mod stripe;

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::web;
use api::config::Settings;
use api::payments::PaymentGateway;
use api::startup::Application;
use api::state::AppState;
use common::auth::{AuthResponse, Role, UserDto};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use self::db::TestDb;
pub use self::seats::{Seat, buyers, held_seat, paid_seat, pay_with, seat_in};
pub use self::stripe::{CountingGateway, click, event, fixture, seat_checkout, settle};

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
    /// The body of a 2xx answer decoded as `T` (a DTO of `common`); panics
    /// with the body on another status or on a body `T` does not read.
    #[track_caller]
    pub fn ok<T: DeserializeOwned>(&self) -> T {
        assert!(
            self.status.is_success(),
            "expected a 2xx answer, got {}: {}",
            self.status,
            self.body
        );
        serde_json::from_value(self.body.clone()).unwrap_or_else(|e| {
            panic!(
                "the {} answer is no {}: {e}\nbody: {}",
                self.status,
                std::any::type_name::<T>(),
                self.body
            )
        })
    }

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

/// The app with the test settings alone: `TestApp::builder().spawn()`.
pub async fn spawn_app() -> TestApp {
    TestApp::builder().spawn().await
}

/// What a test starts the app with: extra settings, its own gateway.
#[must_use]
#[derive(Default)]
pub struct TestAppBuilder {
    extra: Vec<(String, String)>,
    gateway: Option<Arc<dyn PaymentGateway>>,
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }
}

impl TestAppBuilder {
    /// An extra setting (`.env("LOGIN_MAX_PER_IP", "3")`); a later one
    /// wins over an earlier one and over the test defaults.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.extra.push((key.to_owned(), value.to_owned()));
        self
    }

    /// A payment gateway of the test's instead of the local one.
    pub fn gateway(mut self, gateway: Arc<dyn PaymentGateway>) -> Self {
        self.gateway = Some(gateway);
        self
    }

    pub async fn spawn(self) -> TestApp {
        let (db, database_url) = TestDb::create().await;
        let mut vars: HashMap<String, String> = [
            ("DATABASE_URL", database_url.as_str()),
            ("BIND_ADDR", "127.0.0.1:0"),
            ("JWT_SECRET", "test-secret-test-secret-test-secret-42"),
            ("ADMIN_EMAILS", ADMIN_EMAIL),
            ("DEMO_DATA", "false"),
            ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
            ("JOBS_ENABLED", "false"),
            // Every test's clients share 127.0.0.1: the per-address limit
            // on held seats is the hoarding tests' own (rate_limit.rs).
            ("HOLDS_PER_ADDRESS", "1000000"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        vars.extend(self.extra);
        if vars["DATABASE_URL"].starts_with("sqlite:") {
            // The tests check what each request does on a loaded 2-core
            // machine, not SQLite's load shedding: its writers may queue
            // longer than in production. (PostgreSQL keeps its default,
            // which outage.rs checks on a cluster of its own.)
            vars.entry("DATABASE_ACQUIRE_TIMEOUT_MS".into())
                .or_insert_with(|| "10000".into());
        }
        let settings = Settings::from_vars(&vars).expect("test settings");
        let app = Application::build_with_gateway(settings, self.gateway)
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
        let answer = into_answer(res).await;
        // What the request owed the payment provider is made after it
        // answered: awaited here, so a test reads its outcome.
        self.state.tasks.idle().await;
        answer
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// The signed-in person's password change (`token`), from `current`
    /// to `new`.
    pub async fn change_password(&self, token: &str, current: &str, new: &str) -> Answer {
        let body = serde_json::json!({"current_password": current, "new_password": new});
        self.post("/api/me/password", Some(token), body).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::PUT, path, token, Some(body)).await
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
        let token = a.ok::<AuthResponse>().token;
        self.name(&token).await;
        token
    }

    /// `GET /api/me`: who `token` signs in, with the role read now.
    pub async fn me(&self, token: &str) -> UserDto {
        self.get("/api/me", Some(token)).await.ok()
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
        let a: AuthResponse = self.post("/api/auth/login", None, creds.clone()).await.ok();
        let a = if a.user.email_verified {
            a
        } else {
            let token = self.mailed_token(ADMIN_EMAIL, "verifier-email").await;
            let v = self
                .post(
                    "/api/auth/verify-email",
                    Some(&a.token),
                    json!({"token": token}),
                )
                .await;
            assert_eq!(v.status, StatusCode::OK, "{}", v.body);
            self.post("/api/auth/login", None, creds).await.ok()
        };
        assert_eq!(a.user.role, Role::Admin, "{a:?}");
        a.token
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

/// The day `offset` days from today (UTC), as the API writes dates.
pub fn day(offset: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(offset)).to_string()
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

/// An account made directly in the database: no password hashing, no
/// mail, no throttle.
pub async fn account(
    db: &sea_orm::DatabaseConnection,
    email: &str,
    role: Role,
) -> entity::users::Model {
    api::domain::accounts::users::insert_user(
        db,
        email,
        "!".into(),
        role,
        common::auth::License::None,
    )
    .await
    .expect("user inserted")
}

/// The names the app asks for before a first booking or subscription.
pub async fn give_names(db: &sea_orm::DatabaseConnection, user_id: uuid::Uuid) {
    let names = common::profile::ProfilePatch {
        first_name: Some("Camille".into()),
        last_name: Some("Test".into()),
        ..Default::default()
    };
    api::domain::accounts::profiles::update(db, user_id, names)
        .await
        .expect("named");
}

impl TestApp {
    /// A user made directly in the database, with a token: fast enough for
    /// hundreds (no password hashing). Named, as the app asks before a
    /// first booking or subscription.
    pub async fn quick_user(&self, email: &str) -> (uuid::Uuid, String) {
        let (id, token) = self.nameless_user(email).await;
        give_names(&self.state.db, id).await;
        (id, token)
    }

    /// `quick_user` without names (an account from before they were asked).
    pub async fn nameless_user(&self, email: &str) -> (uuid::Uuid, String) {
        let user = account(&self.state.db, email, Role::User).await;
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
        api::domain::reports::audit::run(&self.state.db, &self.state.policy)
            .await
            .expect("audit runs")
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
