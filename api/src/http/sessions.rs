//! The public catalog.

use actix_web::{get, web};
use chrono::Utc;
use common::sessions::SessionDto;
use uuid::Uuid;

use crate::domain::{clock::today_at_venue, sessions};
use crate::error::ApiResult;
use crate::http::problems as p;
use crate::state::AppState;

/// Active sessions that have not ended, by start date.
#[utoipa::path(
    tag = "sessions",
    responses((status = 200, body = Vec<SessionDto>))
)]
#[get("/api/sessions")]
#[tracing::instrument(skip_all)]
pub async fn list_sessions(state: web::Data<AppState>) -> ApiResult<web::Json<Vec<SessionDto>>> {
    let today = today_at_venue(Utc::now());
    Ok(web::Json(sessions::list_public(&state.db, today).await?))
}

/// One active session that has not ended.
#[utoipa::path(
    tag = "sessions",
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 200, body = SessionDto),
        (status = 400, response = p::BadRequest),
        (status = 404, response = p::NotFound),
    )
)]
#[get("/api/sessions/{id}")]
#[tracing::instrument(skip(state))]
pub async fn get_session(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<SessionDto>> {
    let today = today_at_venue(Utc::now());
    Ok(web::Json(
        sessions::get_public(&state.db, id.into_inner(), today).await?,
    ))
}
