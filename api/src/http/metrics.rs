//! `GET /metrics`: Prometheus text for the operator. Off (404) unless
//! `METRICS_TOKEN` is set; then it asks for `Authorization: Bearer <token>`.
//! Not in the OpenAPI document: it is not part of the API third parties use.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::domain::{platform::clock::today_at_venue, reports::gauges};
use crate::error::{ApiError, ApiResult};
use crate::metrics::PoolFigures;
use crate::state::AppState;

#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let Some(token) = &state.settings.metrics_token else {
        return Err(ApiError::not_found("route"));
    };
    let given = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Digests compared, not the tokens: the comparison's timing says
    // nothing about the token.
    if Sha256::digest(given.as_bytes()) != Sha256::digest(token.expose().as_bytes()) {
        return Err(ApiError::unauthorized());
    }
    let now = Utc::now();
    let figures = gauges::read(&state.db, today_at_venue(now)).await?;
    let text = state.metrics.render(&figures, pool_figures(&state.db), now);
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(text))
}

fn pool_figures(db: &sea_orm::DatabaseConnection) -> PoolFigures {
    let (size, idle) = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
    };
    let idle = i64::try_from(idle).unwrap_or(i64::MAX);
    PoolFigures {
        in_use: (i64::from(size) - idle).max(0),
        idle,
    }
}
