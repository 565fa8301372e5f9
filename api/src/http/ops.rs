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

/// The database answers.
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
    state.db.execute_unprepared("SELECT 1").await.map_err(|e| {
        tracing::warn!(error = %e, "database not ready");
        ApiError::new(
            common::ErrorCode::ServiceUnavailable,
            "the database is not reachable",
        )
    })?;
    Ok(HttpResponse::Ok().json(HealthStatus {
        status: "ok".into(),
    }))
}
