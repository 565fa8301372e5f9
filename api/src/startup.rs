//! Builds the application: settings → database → state → HTTP server.
//! Tests build it the same way, on port 0 with a fresh database.

use std::net::TcpListener;
use std::path::Path;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use chrono::Utc;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::password;
use crate::auth::token::Tokens;
use crate::config::{JwtSecretSource, Settings};
use crate::domain::{clock::today_at_venue, demo, users};
use crate::error::extractors;
use crate::http;
use crate::state::{AppState, LoginLimits};

/// Largest accepted JSON body.
const JSON_LIMIT_BYTES: usize = 64 * 1024;

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
        let db = crate::db::connect(&settings.database_url).await?;
        crate::db::migrate(&db).await?;
        let promoted = users::promote_configured_admins(&db, &settings.admin_emails).await?;
        if promoted > 0 {
            tracing::info!(promoted, "users promoted to admin from ADMIN_EMAILS");
        }
        if settings.demo_data {
            let today = today_at_venue(Utc::now());
            let seeded = demo::seed_if_empty(&db, today)
                .await
                .map_err(|e| StartupError::Setup(e.to_string()))?;
            if let Some(accounts) = seeded {
                print_demo_accounts(&accounts);
            }
        }
        let secret = jwt_secret(&settings.jwt_secret)?;
        let tokens = Tokens::new(secret.as_bytes(), settings.jwt_ttl_minutes);
        let decoy_hash = password::decoy_hash()
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
        let state = web::Data::new(AppState {
            db,
            limits: LoginLimits::from_settings(&settings),
            settings,
            tokens,
            decoy_hash,
        });
        let app_state = state.clone();
        let doc = http::docs::openapi();
        let routes = web::Data::new(http::fallback::RouteTable::from_openapi(&doc));
        let server = HttpServer::new(move || app(app_state.clone(), routes.clone(), doc.clone()))
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

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// One worker's app: the documented routes, the docs, and problem+json for
/// everything else.
fn app(
    state: web::Data<AppState>,
    routes: web::Data<http::fallback::RouteTable>,
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
    let (app, _) = App::new()
        .into_utoipa_app()
        .openapi(http::docs::base())
        .app_data(state)
        .app_data(routes)
        .app_data(
            web::JsonConfig::default()
                .limit(JSON_LIMIT_BYTES)
                .error_handler(extractors::json),
        )
        .app_data(web::PathConfig::default().error_handler(extractors::path))
        .app_data(web::QueryConfig::default().error_handler(extractors::query))
        .configure(http::routes)
        .split_for_parts();
    app.wrap(tracing_actix_web::TracingLogger::default())
        .service(SwaggerUi::new("/api/docs/{_:.*}").url("/api/openapi.json", doc))
        .service(web::redirect("/api/docs", "/api/docs/"))
        .default_service(web::to(http::fallback::fallback))
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
            return Ok(existing);
        }
    }
    let secret = hex::encode(rand::random::<[u8; 32]>());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    std::fs::write(path, &secret).map_err(err)?;
    tracing::warn!(
        path = %path.display(),
        "JWT_SECRET is not set: generated a development secret (set JWT_SECRET in production)"
    );
    Ok(secret)
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
