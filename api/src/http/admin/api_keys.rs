//! Admins issue, list and revoke third parties' API keys. Only a signed-in
//! admin can: a key never manages keys.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::Utc;
use common::api_keys::{ApiKeyDto, CreatedApiKey, NewApiKey};
use uuid::Uuid;

use crate::domain::accounts::api_keys;
use crate::error::ApiResult;
use crate::http::extract::AdminUser;
use crate::http::pagination::{self, PageQuery};
use crate::http::problems as p;
use crate::state::AppState;

/// The keys not revoked, newest first, with their last use (to the
/// minute). Never their secrets.
#[utoipa::path(
    tag = "admin",
    params(PageQuery),
    responses(
        (status = 200, body = Vec<ApiKeyDto>, headers(("Link" = String, description = "`<…>; rel=\"next\"` when more remain"))),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/admin/api-keys")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn list_api_keys(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminUser,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.page()?;
    let list = api_keys::list(&state.db).await?;
    pagination::respond(&req, &page, list, |k| k.id.to_string())
}

/// Issues a key. The answer carries its `secret` (`imm_live_…`), shown
/// this once: only a digest of it is kept (so no `Idempotency-Key`
/// here: a kept answer would keep the secret). The key works while the
/// admin who issued it is one.
#[utoipa::path(
    tag = "admin",
    request_body = NewApiKey,
    responses(
        (status = 201, body = CreatedApiKey),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 413, response = p::PayloadTooLarge),
        (status = 415, response = p::UnsupportedMediaType),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
// Not idempotent on purpose: a stored answer would keep the secret.
#[post("/api/admin/api-keys")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn create_api_key(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: web::Json<NewApiKey>,
) -> ApiResult<HttpResponse> {
    let created = api_keys::create(&state.db, admin.0.id, body.into_inner(), Utc::now()).await?;
    Ok(HttpResponse::Created().json(created))
}

/// Revokes a key: every instance refuses it (401) from now on.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/api/admin/api-keys/{id}")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn revoke_api_key(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    api_keys::revoke(&state.db, admin.0.id, id.into_inner(), Utc::now()).await?;
    Ok(HttpResponse::NoContent().finish())
}
