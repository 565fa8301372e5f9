//! Waiting lists of full sessions: joining, leaving, my place in line,
//! and what admins see and remove.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::Utc;
use common::waitlist::{WaitlistEntryDto, WaitlistStatus};
use uuid::Uuid;

use crate::domain::{bookings, catalog::waitlist};
use crate::error::ApiResult;
use crate::http::extract::{AdminUser, AuthUser};
use crate::http::idempotency::IdempotencyKey;
use crate::http::problems as p;
use crate::state::AppState;

/// Joins the waiting list of a full session (once per session). When a
/// seat frees, the first in line gets an offer: a seat held for them for
/// `WAITLIST_OFFER_HOURS`, mailed, to pay with `POST
/// /api/bookings/{id}/pay`. 409 `session_not_full` when places are free,
/// `already_waiting`, `already_booked`, `session_closed`.
#[utoipa::path(
    tag = "waitlist",
    params(("id" = Uuid, Path, description = "Session id"), IdempotencyKey),
    responses(
        (status = 201, body = WaitlistEntryDto),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
        (status = 409, response = p::Conflict),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post(
    "/api/sessions/{id}/waitlist",
    wrap = "actix_web::middleware::from_fn(crate::http::idempotency::once)"
)]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn join_waitlist(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let entry = waitlist::join(&state.db, user.id, id.into_inner(), Utc::now()).await?;
    Ok(HttpResponse::Created().json(entry))
}

/// Leaves the waiting list of a session; an offer not yet paid is
/// declined, and its seat goes to the next in line.
#[utoipa::path(
    tag = "waitlist",
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 204, description = "Left"),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/api/sessions/{id}/waitlist")]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn leave_waitlist(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let entry = waitlist::entry_of(&state.db, user.id, id.into_inner()).await?;
    bookings::leave_waitlist(
        &state.desk(),
        &state.settler(),
        &entry,
        WaitlistStatus::Left,
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// My places in waiting lists, and my offers, soonest session first.
#[utoipa::path(
    tag = "waitlist",
    responses(
        (status = 200, body = Vec<WaitlistEntryDto>),
        (status = 401, response = p::Unauthorized),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/me/waitlist")]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn my_waitlist(
    state: web::Data<AppState>,
    user: AuthUser,
) -> ApiResult<web::Json<Vec<WaitlistEntryDto>>> {
    Ok(web::Json(waitlist::mine(&state.db, user.id).await?))
}

/// A session's waiting list in line order, every entry that ever joined.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 200, body = Vec<WaitlistEntryDto>),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/admin/sessions/{id}/waitlist")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn session_waitlist(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<Vec<WaitlistEntryDto>>> {
    Ok(web::Json(
        waitlist::of_session(&state.db, id.into_inner()).await?,
    ))
}

/// Removes an entry still in line; an offer not yet paid is withdrawn,
/// and its seat goes to the next in line.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Waiting-list entry id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/api/admin/waitlist/{id}")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn remove_waitlist_entry(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let entry = waitlist::entry(&state.db, id.into_inner()).await?;
    bookings::leave_waitlist(
        &state.desk(),
        &state.settler(),
        &entry,
        WaitlistStatus::Removed,
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
