//! Admins manage the catalog.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::Utc;
use common::sessions::{NewSession, SessionDto, SessionPatch};
use uuid::Uuid;

use crate::auth::AdminUser;
use crate::domain::{clock::today_at_venue, sessions};
use crate::error::ApiResult;
use crate::http::problems as p;
use crate::state::AppState;

/// Every session, inactive and past ones too.
#[utoipa::path(
    tag = "admin",
    responses(
        (status = 200, body = Vec<SessionDto>),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/admin/sessions")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn list_admin_sessions(
    state: web::Data<AppState>,
    admin: AdminUser,
) -> ApiResult<web::Json<Vec<SessionDto>>> {
    let today = today_at_venue(Utc::now());
    Ok(web::Json(sessions::list_all(&state.db, today).await?))
}

/// Creates a session.
#[utoipa::path(
    tag = "admin",
    request_body = NewSession,
    responses(
        (status = 201, body = SessionDto),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 413, response = p::PayloadTooLarge),
        (status = 415, response = p::UnsupportedMediaType),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/api/admin/sessions")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn create_session(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: web::Json<NewSession>,
) -> ApiResult<HttpResponse> {
    let today = today_at_venue(Utc::now());
    let created = sessions::create(&state.db, body.into_inner(), today).await?;
    Ok(HttpResponse::Created().json(created))
}

/// Edits a session: only the fields present change. `max_places` never
/// goes below the places already reserved.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Session id")),
    request_body = SessionPatch,
    responses(
        (status = 200, body = SessionDto),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
        (status = 413, response = p::PayloadTooLarge),
        (status = 415, response = p::UnsupportedMediaType),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[patch("/api/admin/sessions/{id}")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn update_session(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
    body: web::Json<SessionPatch>,
) -> ApiResult<web::Json<SessionDto>> {
    let today = today_at_venue(Utc::now());
    let updated = sessions::update(&state.db, id.into_inner(), body.into_inner(), today).await?;
    Ok(web::Json(updated))
}

/// Deletes a session without held or confirmed bookings; otherwise 409
/// `session_has_bookings` (deactivate it instead).
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
        (status = 409, response = p::Conflict),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/api/admin/sessions/{id}")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn delete_session(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    sessions::delete(&state.db, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
