//! Presence per half-day, for admins: the session's sheet with its marks
//! (`GET`), marks recorded (`PUT`), the trainer's link to record them
//! without an account, and the session's certificates of completion.

use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::Utc;
use common::presence::{PresenceSheetDto, PresenceUpdate, TrainerLinkDto};
use uuid::Uuid;

use crate::domain::platform::clock::today_at_venue;
use crate::domain::training::presence::{self, Recorder};
use crate::domain::training::{certificates, trainer_links};
use crate::error::ApiResult;
use crate::http::certificates::{as_page, as_pdf};
use crate::http::extract::AdminUser;
use crate::http::pdf::{self, FormatQuery};
use crate::http::problems as p;
use crate::state::AppState;

/// A session's presence sheet: its confirmed attendees (by last name),
/// the mark that counts for each half-day recorded, and the hours each
/// attended out of those planned.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 200, body = PresenceSheetDto),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/admin/sessions/{id}/presence")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn session_presence(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<PresenceSheetDto>> {
    Ok(web::Json(
        presence::sheet(&state.db, id.into_inner(), Utc::now()).await?,
    ))
}

/// Records presence: each mark is a confirmed booking of the session, a
/// working day of it (today or before), morning (`am`) or afternoon
/// (`pm`), and `present`, `absent` or `excused`. All are checked before
/// any is written (422 names each bad one). A mark is never overwritten:
/// a correction is kept beside the mark it corrects, with who made it and
/// when, and the latest counts.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Session id")),
    request_body = PresenceUpdate,
    responses(
        (status = 200, body = PresenceSheetDto),
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
#[put("/api/admin/sessions/{id}/presence")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn record_presence(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
    body: web::Json<PresenceUpdate>,
) -> ApiResult<web::Json<PresenceSheetDto>> {
    let by = Recorder::Admin(admin.0.id);
    let sheet = presence::record(
        &state.db,
        id.into_inner(),
        body.into_inner(),
        by,
        Utc::now(),
    );
    Ok(web::Json(sheet.await?))
}

/// A new link for the session's trainer, to record presence without an
/// account: `url` carries its secret (in the fragment, which browsers
/// never send), shown this once. It opens this session's sheet only,
/// until 30 days after its last day; a new link revokes the previous one.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 201, body = TrainerLinkDto),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
// Not idempotent on purpose: a stored answer would keep the secret.
#[post("/api/admin/sessions/{id}/trainer-link")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn create_trainer_link(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let link = trainer_links::issue(&state.db, id.into_inner(), admin.0.id, Utc::now()).await?;
    Ok(HttpResponse::Created().json(link))
}

/// Revokes the session's trainer link: it opens nothing from now on.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/api/admin/sessions/{id}/trainer-link")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn revoke_trainer_link(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    trainer_links::revoke(&state.db, id.into_inner(), Utc::now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Every confirmed trainee's certificate of completion, one per page, as
/// a page to print or one PDF; once the session is over (409
/// `session_not_over` before) and while its presence is kept (409
/// `presence_not_kept` after).
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Session id"), FormatQuery),
    responses(
        (status = 200, description = "The certificates", content(
            (String = "text/html"),
            (Vec<u8> = "application/pdf"),
        )),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
        (status = 409, response = p::Conflict),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/admin/sessions/{id}/certificates")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn session_certificates(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
    query: web::Query<FormatQuery>,
) -> ApiResult<HttpResponse> {
    let today = today_at_venue(Utc::now());
    let list = certificates::of_session(&state.db, id.into_inner(), today).await?;
    let org = &state.settings.invoicing;
    Ok(pdf::answer(
        query.format,
        "certificats-de-realisation",
        || as_page(&list, org),
        || as_pdf(&list, org),
    ))
}
