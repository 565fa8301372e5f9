//! A person's data: all of it as JSON (`GET /api/me/export`), what
//! deleting the account would mean (`GET /api/me/erasure`), deleting it
//! (`DELETE /api/me`, the password typed again), and the same erasure run
//! by an admin for someone who asked by mail.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::Utc;
use common::privacy::{AccountDeletion, ErasurePreview};
use uuid::Uuid;

use crate::domain::accounts::credentials;
use crate::domain::privacy::{erasure, export};
use crate::error::ApiResult;
use crate::http::auth::signed_out;
use crate::http::client_ip::client_ip;
use crate::http::extract::{AdminUser, AuthUser};
use crate::http::problems as p;
use crate::state::AppState;

/// Everything the product holds about me, one section per kind of
/// record: account, profile, bookings, waiting lists, subscription,
/// invoices and credit notes, presence, mails sent, sign-in sessions,
/// and the rest (`domain/privacy/export.rs` lists every table). No
/// secret is in it (password hash, token digests).
#[utoipa::path(
    tag = "auth",
    responses(
        (status = 200, description = "The export (a JSON file)", body = Object),
        (status = 401, response = p::Unauthorized),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/me/export")]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn export_my_data(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    let data = export::export(&state.db, user.id, Utc::now()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"mes-donnees-immersion.json\"",
        ))
        .json(data))
}

/// What deleting my account would do now: the seats it cancels and what
/// each gives back under the cancellation rules, the waiting lists it
/// leaves, the subscription it ends, and what the law keeps.
#[utoipa::path(
    tag = "auth",
    responses(
        (status = 200, body = ErasurePreview),
        (status = 401, response = p::Unauthorized),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/me/erasure")]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn my_erasure(
    state: web::Data<AppState>,
    user: AuthUser,
) -> ApiResult<web::Json<ErasurePreview>> {
    let cutoff = state.policy.cancellation_cutoff_days;
    Ok(web::Json(
        erasure::preview(&state.db, user.id, cutoff, Utc::now()).await?,
    ))
}

/// Deletes my account, once the password is typed again (422 on
/// `password` when it is wrong; the password change's limits apply). An
/// admin leaves the role first (409 `role_not_changeable`).
/// What `GET /api/me/erasure` listed is done: seats cancelled and refunded
/// by the cancellation rules, waiting lists left, the subscription ended.
/// Then every personal field is erased or anonymised, every session ends
/// and the cookie is cleared. Invoices, credit notes and presence records
/// are kept for the period the law requires, then deleted.
#[utoipa::path(
    tag = "auth",
    request_body = AccountDeletion,
    responses(
        (status = 204, description = "Deleted; signed out"),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 413, response = p::PayloadTooLarge),
        (status = 415, response = p::UnsupportedMediaType),
        (status = 409, response = p::Conflict),
        (status = 422, response = p::ValidationFailed),
        (status = 429, response = p::RateLimited),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/api/me")]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn delete_my_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    body: web::Json<AccountDeletion>,
) -> ApiResult<HttpResponse> {
    let now = Utc::now();
    let ip = client_ip(&req, &state.settings.trusted_proxies);
    let typed = ("password", body.into_inner().password);
    credentials::confirm_password(&state.gate(), user.id, &ip, typed, now).await?;
    erasure::erase(&state.desk(), &state.settler(), user.id, now).await?;
    Ok(signed_out(&state))
}

/// Erases a person who asked by mail, as `DELETE /api/me` would (no
/// password: the admin has checked who asked). Erasing an account already
/// erased changes nothing; an admin's is refused (409
/// `role_not_changeable`) until they are no longer admin.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 204, description = "Erased"),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
        (status = 409, response = p::Conflict),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/api/admin/users/{id}/erasure")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn erase_user(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    erasure::erase(&state.desk(), &state.settler(), id, Utc::now()).await?;
    tracing::info!(erased = %id, "account erased at a person's request");
    Ok(HttpResponse::NoContent().finish())
}
