//! Liveness and readiness for orchestrators.

use actix_web::{HttpResponse, get, web};
use sea_orm::ConnectionTrait;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct HealthStatus {
    /// `ok`.
    pub status: String,
}

/// The process is up.
#[utoipa::path(tag = "ops", responses((status = 200, body = HealthStatus)))]
#[get("/health")]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus {
        status: "ok".into(),
    })
}

/// The longest `/ready` waits for the database: a load balancer's check
/// fails fast instead of timing out.
pub const READY_DEADLINE: std::time::Duration = std::time::Duration::from_millis(750);

/// The database answers, within `READY_DEADLINE`, on a connection of its
/// own (never behind the requests' pool).
#[utoipa::path(
    tag = "ops",
    responses(
        (status = 200, body = HealthStatus),
        (status = 503, response = crate::http::problems::Unavailable),
    )
)]
#[get("/ready")]
#[tracing::instrument(skip_all)]
pub async fn ready(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let probe = state.ready_db.execute_unprepared("SELECT 1");
    let why = match tokio::time::timeout(READY_DEADLINE, probe).await {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!("no answer within {READY_DEADLINE:?}")),
    };
    if let Some(why) = why {
        tracing::warn!(error = %why, "database not ready");
        return Err(ApiError::new(
            common::ErrorCode::ServiceUnavailable,
            "the database is not reachable",
        ));
    }
    Ok(HttpResponse::Ok().json(HealthStatus {
        status: "ok".into(),
    }))
}
