//! Builds the application: settings → database → state → HTTP server.
//! Tests build it the same way, on port 0 with a fresh database.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use chrono::Utc;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::password::HashLimit;
use crate::auth::token::Tokens;
use crate::config::{JwtSecretSource, Secret, Settings};
use crate::domain::platform::throttles::LoginLimits;
use crate::domain::{demo, platform::clock::today_at_venue};
use crate::http;
use crate::http::error::extractors;
use crate::payments::PaymentGateway;
use crate::payments::local::LocalGateway;
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("JWT secret file {path}: {source}")]
    SecretFile {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Setup(String),
}

pub struct Application {
    server: Server,
    port: u16,
    state: web::Data<AppState>,
}

impl Application {
    /// Connects, migrates, seeds (development), binds. Does not serve yet.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with_gateway(settings, None).await
    }

    /// As `build`, with a payment gateway of the caller's (tests use one
    /// that fails or counts calls) instead of the one the settings choose.
    pub async fn build_with_gateway(
        mut settings: Settings,
        gateway: Option<Arc<dyn PaymentGateway>>,
    ) -> Result<Self, StartupError> {
        let db = crate::db::connect_with(&settings.database_url, settings.pool()).await?;
        if crate::db::tls_over_loopback(&settings.database_url) {
            tracing::warn!(
                "DATABASE_URL reaches PostgreSQL on this machine with no sslmode: TLS whenever the server offers it, which over the loopback protects nothing and cost the booking rush about a fifth of its rate; use the server's socket (?host=/var/run/postgresql) or say ?sslmode=disable (or require, to keep it)"
            );
        }
        let hashing = HashLimit::for_this_machine();
        // Replicas started together set up one after the other.
        let lock = crate::db::setup_lock(&db).await?;
        crate::db::migrate_holding_lock(&db).await?;
        crate::domain::upgrades::after_migrations(&db).await?;
        let (granted, withdrawn) = crate::domain::accounts::roles::follow_admin_emails(
            &db,
            &settings.admin_emails,
            Utc::now(),
        )
        .await?;
        if granted + withdrawn > 0 {
            tracing::info!(granted, withdrawn, "admin roles follow ADMIN_EMAILS");
        }
        if settings.demo_data {
            let today = today_at_venue(Utc::now());
            let seeded = demo::seed_if_empty(&db, &hashing, today)
                .await
                .map_err(|e| StartupError::Setup(e.to_string()))?;
            if let Some(accounts) = seeded {
                print_demo_accounts(&accounts);
            }
        }
        crate::db::release(lock).await?;
        let secret = jwt_secret(&settings.jwt_secret)?;
        let tokens = Tokens::new(secret.as_bytes(), settings.jwt_ttl_minutes);
        let decoy_hash = hashing
            .decoy_hash()
            .await
            .map_err(|e| StartupError::Setup(e.to_string()))?;
        let listener =
            TcpListener::bind(settings.bind_addr).map_err(|source| StartupError::Bind {
                addr: settings.bind_addr,
                source,
            })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                addr: settings.bind_addr,
                source,
            })?
            .port();
        if !settings.public_url_configured {
            settings.public_url = format!("http://{}:{port}", settings.bind_addr.ip());
        }
        let gateways = payment_gateway(&settings, gateway)?;
        let policy = gateways.policy(&settings);
        let webhook_secrets = if settings.stripe_webhook_secrets.is_empty() {
            // Only the local gateway signs with this one.
            vec![Secret::new(format!(
                "whsec_local_{}",
                hex::encode(rand::random::<[u8; 24]>())
            ))]
        } else {
            settings.stripe_webhook_secrets.clone()
        };
        let ready_db = crate::db::connect_with(
            &settings.database_url,
            crate::db::Pool {
                max_connections: Some(1),
                acquire_timeout: Some(http::ops::READY_DEADLINE),
            },
        )
        .await?;
        let state = web::Data::new(AppState {
            db,
            ready_db,
            tasks: crate::tasks::Tasks::on_current_runtime(),
            gateway: gateways.active,
            local_gateway: gateways.local,
            webhook_secrets,
            policy,
            settings,
            tokens,
            decoy_hash,
            hashing,
            checkout_ids: Default::default(),
            seat_counts: Default::default(),
            metrics: crate::metrics::Metrics::new()
                .map_err(|e| StartupError::Setup(e.to_string()))?,
            catalog: Default::default(),
            price_book: Default::default(),
            instance_id: uuid::Uuid::new_v4().to_string(),
        });
        let app_state = state.clone();
        let shutdown_seconds = state.settings.shutdown_timeout.as_secs();
        let doc = http::docs::openapi();
        let routes = web::Data::new(http::fallback::RouteTable::from_openapi(&doc));
        let keys = web::Data::new(http::key_auth::Gate::from_openapi(&doc));
        let spa = web::Data::new(http::spa::Spa::load(&app_state.settings.web_dist));
        if spa.is_none() {
            tracing::warn!(
                dir = %app_state.settings.web_dist.display(),
                "no built web app there: only the API is served (cargo xtask run builds it)"
            );
        }
        let server = HttpServer::new(move || {
            app(
                app_state.clone(),
                (routes.clone(), keys.clone()),
                spa.clone(),
                doc.clone(),
            )
        })
        .shutdown_timeout(shutdown_seconds)
        // Signals are ours (`run_until_stopped`): they stop the jobs too.
        .disable_signals()
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            addr: std::net::SocketAddr::from(([0, 0, 0, 0], port)),
            source,
        })?
        .run();
        tracing::info!(port, "listening");
        Ok(Self {
            server,
            port,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Stops the server from elsewhere (benchmarks run several in turn).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves, with the background jobs when enabled, until stopped. On
    /// SIGTERM: stops accepting connections, lets the requests already
    /// accepted finish (within `SHUTDOWN_TIMEOUT_SECONDS`), lets each job
    /// finish its tick, then closes the pool.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let jobs = self
            .state
            .settings
            .jobs_enabled
            .then(|| crate::jobs::spawn(self.state.clone()));
        // SIGTERM (or Ctrl-C) stops the jobs and the server together, so
        // that the jobs' last ticks run while requests drain, not after.
        let handle = self.server.handle();
        let stopper = jobs.as_ref().map(crate::jobs::Jobs::stopper);
        let on_signal = actix_web::rt::spawn(async move {
            if stop_signal().await {
                tracing::info!("stopping: no new connections, finishing the ones taken");
                if let Some(stopper) = stopper {
                    let _ = stopper.send(true);
                }
                handle.stop(true).await;
            }
        });
        let flusher = actix_web::rt::spawn(flush_seat_counts(self.state.clone()));
        let result = self.server.await;
        on_signal.abort();
        flusher.abort();
        let grace = self.state.settings.shutdown_timeout;
        if let Some(jobs) = jobs {
            jobs.stop(grace).await;
        }
        // The last second's holds and cancels count on the other instances.
        if let Err(e) = self
            .state
            .seat_counts
            .flush(&self.state.db, chrono::Utc::now().timestamp())
            .await
        {
            tracing::warn!(error = %e, "seat throttle counts not stored at shutdown");
        }
        // Calls the last requests owed: finished, or left owed for the
        // next instance's job.
        if tokio::time::timeout(grace, self.state.tasks.idle())
            .await
            .is_err()
        {
            tracing::warn!("owed payment calls still running at shutdown: left to the job");
        }
        if let Err(e) = self.state.ready_db.clone().close().await {
            tracing::warn!(error = %e, "readiness connection not closed cleanly");
        }
        if let Err(e) = self.state.db.clone().close().await {
            tracing::warn!(error = %e, "database pool not closed cleanly");
        }
        tracing::info!("stopped");
        result
    }
}

/// Adds the holds and cancels counted in this process to the shared
/// counters, every second (`db::tally`), on every instance.
async fn flush_seat_counts(state: web::Data<AppState>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = state
            .seat_counts
            .flush(&state.db, chrono::Utc::now().timestamp())
            .await
        {
            // Kept, and added at the next tick.
            tracing::warn!(error = %e, "seat throttle counts not stored");
        }
    }
}

/// Waits for SIGTERM or SIGINT; false if they cannot be listened to.
async fn stop_signal() -> bool {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return false;
        };
        tokio::select! {
            _ = term.recv() => true,
            _ = int.recv() => true,
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.is_ok()
    }
}

/// One worker's app: the documented routes, the docs, and problem+json for
/// everything else.
fn app(
    state: web::Data<AppState>,
    (routes, keys): (
        web::Data<http::fallback::RouteTable>,
        web::Data<http::key_auth::Gate>,
    ),
    spa: web::Data<Option<http::spa::Spa>>,
    doc: utoipa::openapi::OpenApi,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let state_for_headers = state.settings.clone();
    let (app, _) = App::new()
        .into_utoipa_app()
        .openapi(http::docs::base())
        .app_data(state)
        .app_data(routes)
        .app_data(keys)
        .app_data(spa)
        .app_data(
            web::JsonConfig::default()
                .limit(crate::http::body::JSON_LIMIT_BYTES)
                .error_handler(extractors::json),
        )
        .app_data(web::PathConfig::default().error_handler(extractors::path))
        .app_data(web::QueryConfig::default().error_handler(extractors::query))
        .configure(http::routes)
        .split_for_parts();
    let headers = security_headers(&state_for_headers);
    let timeout = state_for_headers.request_timeout;
    app.wrap(actix_web::middleware::from_fn(move |req, next| {
        within(timeout, req, next)
    }))
    .wrap(actix_web::middleware::from_fn(http::key_auth::gate))
    .wrap(actix_web::middleware::from_fn(measure))
    .wrap(actix_web::middleware::from_fn(head_as_get))
    .wrap(actix_web::middleware::from_fn(http::private::no_store))
    .wrap(headers)
    .wrap(tracing_actix_web::TracingLogger::default())
    .service(SwaggerUi::new("/api/docs/{_:.*}").url("/api/openapi.json", doc))
    .service(web::redirect("/api/docs", "/api/docs/"))
    .configure(http::local_checkout::routes)
    .service(http::metrics::metrics)
    .default_service(web::to(http::fallback::fallback))
}

/// HEAD is answered wherever GET is (uptime monitors send HEAD): routed as
/// the GET, whose body the HTTP layer then leaves out for a HEAD request,
/// headers and length kept.
async fn head_as_get(
    mut req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    if req.method() == actix_web::http::Method::HEAD {
        req.head_mut().method = actix_web::http::Method::GET;
    }
    next.call(req).await
}

/// Counts every answer by route template (never the raw path: ids would
/// make a series per booking), method and status, with its latency; and
/// after any request that may write, lets the catalog be read again.
async fn measure(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    // Any token is a method to HTTP: unknown ones share a label, so a
    // client cannot grow the series without bound.
    let method = match req.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m,
        _ => "other",
    }
    .to_owned();
    let writes = !req.method().is_safe();
    let answer = next.call(req).await;
    if let Some(state) = state {
        // Seats, prices or sessions may have changed. A refused write (401,
        // 404, 422…) changed nothing: it does not make the catalog be read
        // again, so junk requests cannot keep it from being cached.
        let wrote = matches!(&answer, Ok(res) if res.status().as_u16() < 400);
        if writes && wrote {
            state.catalog.invalidate();
        }
        let (route, status) = match &answer {
            Ok(res) => (res.request().match_pattern(), res.status().as_u16()),
            Err(e) => (None, e.as_response_error().status_code().as_u16()),
        };
        let route = route.unwrap_or_else(|| "unmatched".to_owned());
        let m = &state.metrics;
        let database_down = match &answer {
            Ok(res) => res
                .response()
                .extensions()
                .get::<crate::http::error::DatabaseUnreachable>()
                .is_some(),
            Err(e) => e
                .as_error::<crate::error::ApiError>()
                .is_some_and(crate::error::ApiError::is_database_unreachable),
        };
        if database_down {
            m.database_unreachable.inc();
        }
        m.http_requests
            .with_label_values(&[route.as_str(), method.as_str(), &status.to_string()])
            .inc();
        m.http_duration
            .with_label_values(&[route.as_str(), method.as_str()])
            .observe(started.elapsed().as_secs_f64());
    }
    answer
}

/// Answers 408 when a request (reading its body included) takes longer
/// than `limit`: a slow client cannot hold a worker.
async fn within(
    limit: std::time::Duration,
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    match tokio::time::timeout(limit, next.call(req)).await {
        Ok(answer) => answer,
        Err(_) => Err(crate::error::ApiError::new(
            common::ErrorCode::RequestTimeout,
            "the request took too long; send it again",
        )
        .into()),
    }
}

/// The policy every answer carries: the SPA, the local pages and the docs
/// load only our own files (wasm allowed, no inline script), cannot be
/// framed, and leak no path to other sites; HSTS when served over https.
fn security_headers(settings: &Settings) -> actix_web::middleware::DefaultHeaders {
    let mut headers = actix_web::middleware::DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
             style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ))
        .add(("X-Frame-Options", "DENY"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "same-origin"));
    if settings.public_url.starts_with("https://") {
        headers = headers.add((
            "Strict-Transport-Security",
            "max-age=31536000; includeSubDomains",
        ));
    }
    headers
}

/// The gateway in use, and the local one when that is it (its pay page is served).
pub struct Gateways {
    pub active: Arc<dyn PaymentGateway>,
    pub local: Option<Arc<LocalGateway>>,
}

impl Gateways {
    /// The rules' numbers for payments through these gateways (the local
    /// gateway sells at its own price ids, and the app issues invoices).
    pub fn policy(&self, settings: &Settings) -> crate::config::Policy {
        use crate::payments::local::subscriptions::price_id;
        use common::subscriptions::Plan;
        settings.policy(self.local.as_ref().map(|_| crate::config::Prices {
            monthly: Some(price_id(Plan::Monthly).to_owned()),
            yearly: Some(price_id(Plan::Yearly).to_owned()),
        }))
    }
}

/// The gateway the settings choose: Stripe with a secret key, else local.
pub fn payment_gateway(
    settings: &Settings,
    given: Option<Arc<dyn PaymentGateway>>,
) -> Result<Gateways, StartupError> {
    if let Some(active) = given {
        return Ok(Gateways {
            active,
            local: None,
        });
    }
    if let Some(key) = &settings.stripe_secret_key {
        let stripe = crate::payments::stripe::StripeGateway::with_timeout(
            key,
            settings.stripe_api_base.as_deref(),
            settings.stripe_timeout,
        )
        .map_err(|e| StartupError::Setup(e.to_string()))?;
        return Ok(Gateways {
            active: Arc::new(stripe),
            local: None,
        });
    }
    let (monthly, yearly) = settings.local_plan_cents;
    let local = Arc::new(LocalGateway::new(&settings.public_url).with_plan_prices(monthly, yearly));
    Ok(Gateways {
        active: local.clone(),
        local: Some(local),
    })
}

fn jwt_secret(source: &JwtSecretSource) -> Result<String, StartupError> {
    match source {
        JwtSecretSource::Configured(secret) => Ok(secret.expose().to_owned()),
        JwtSecretSource::DevFile(path) => dev_secret(path),
    }
}

/// Development only: a random secret kept in a file so tokens survive
/// restarts.
fn dev_secret(path: &Path) -> Result<String, StartupError> {
    let err = |source| StartupError::SecretFile {
        path: path.display().to_string(),
        source,
    };
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            // A file from an older version may be readable by others.
            restrict(path).map_err(err)?;
            return Ok(existing);
        }
    }
    let secret = hex::encode(rand::random::<[u8; 32]>());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    write_private(path, &secret).map_err(err)?;
    tracing::warn!(
        path = %path.display(),
        "JWT_SECRET is not set: generated a development secret (set JWT_SECRET in production)"
    );
    Ok(secret)
}

/// Writes a file only its owner can read (0600 on Unix).
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())?;
    restrict(path)
}

fn restrict(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn print_demo_accounts(accounts: &demo::DemoAccounts) {
    println!(
        "\nDemo data created. These credentials are shown only once:\n  admin: {} / {}\n  user:  {} / {}\n",
        demo::ADMIN_EMAIL,
        accounts.admin_password,
        demo::USER_EMAIL,
        accounts.user_password
    );
}

/// The domain's services, opened on the app's state. They live here, with
/// the wiring, so that `state` names nothing of the domain.
impl AppState {
    /// The throttles of accounts and seats.
    pub fn limits(&self) -> LoginLimits {
        LoginLimits::from_settings(&self.settings)
    }

    /// What signing up and in work with.
    pub fn gate(&self) -> crate::domain::accounts::gate::Gate<'_> {
        crate::domain::accounts::gate::Gate {
            db: &self.db,
            limits: self.limits(),
            decoy_hash: &self.decoy_hash,
            hashing: &self.hashing,
            admin_emails: &self.settings.admin_emails,
            public_url: &self.settings.public_url,
        }
    }

    /// Makes the calls a request owed after it answers.
    pub fn settler(&self) -> crate::domain::billing::owed::Settler<'_> {
        crate::domain::billing::owed::Settler {
            gateway: &self.gateway,
            tasks: &self.tasks,
        }
    }

    /// What booking changes work with.
    pub fn desk(&self) -> crate::domain::bookings::Desk<'_> {
        crate::domain::bookings::Desk {
            db: &self.db,
            checkout_ids: &self.checkout_ids,
            policy: &self.policy,
            clock: &crate::domain::platform::clock::SystemClock,
        }
    }
}
