//! Admins (and keys with `webhooks:manage`) register webhook endpoints,
//! read their delivery log and send a delivery again.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::Utc;
use common::webhooks::{
    NewWebhookEndpoint, WebhookDeliveryDto, WebhookEndpointDto, WebhookEndpointPatch,
    WebhookEndpointWithSecret,
};
use uuid::Uuid;

use crate::domain::integrations::webhooks;
use crate::error::ApiResult;
use crate::http::extract::AdminUser;
use crate::http::pagination::{self, PageQuery};
use crate::http::problems as p;
use crate::state::AppState;

/// Every endpoint, newest first; never their secrets.
#[utoipa::path(
    tag = "admin",
    params(PageQuery),
    responses(
        (status = 200, body = Vec<WebhookEndpointDto>, headers(("Link" = String, description = "`<…>; rel=\"next\"` when more remain"))),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/admin/webhook-endpoints")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn list_webhook_endpoints(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminUser,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.page()?;
    let list = webhooks::list(&state.db).await?;
    pagination::respond(&req, &page, list, |e| e.id.to_string())
}

/// Registers an endpoint: it hears of the events of its types from now
/// on. The answer carries its signing `secret` (`whsec_…`), shown this
/// once. In production the URL must be https, and no endpoint may be a
/// loopback, private, link-local or metadata address (unless
/// `ALLOW_PRIVATE_WEBHOOK_TARGETS`).
#[utoipa::path(
    tag = "admin",
    request_body = NewWebhookEndpoint,
    responses(
        (status = 201, body = WebhookEndpointWithSecret),
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
#[post("/api/admin/webhook-endpoints")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn create_webhook_endpoint(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: web::Json<NewWebhookEndpoint>,
) -> ApiResult<HttpResponse> {
    let created = webhooks::create(
        &state.db,
        state.settings.webhook_targets,
        admin.0.id,
        body.into_inner(),
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Edits an endpoint; only the fields present change. `rotate_secret`
/// answers the new `secret` (the old one signs beside it for 24 hours);
/// `enabled: true` turns it back on, and it catches up on what it missed.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Endpoint id")),
    request_body = WebhookEndpointPatch,
    responses(
        (status = 200, body = WebhookEndpointWithSecret, description = "The endpoint; `secret` is empty unless rotated"),
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
#[patch("/api/admin/webhook-endpoints/{id}")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn update_webhook_endpoint(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
    body: web::Json<WebhookEndpointPatch>,
) -> ApiResult<web::Json<WebhookEndpointWithSecret>> {
    let (endpoint, secret) = webhooks::update(
        &state.db,
        state.settings.webhook_targets,
        id.into_inner(),
        body.into_inner(),
        Utc::now(),
    )
    .await?;
    Ok(web::Json(WebhookEndpointWithSecret {
        endpoint,
        secret: secret.unwrap_or_default(),
    }))
}

/// Deletes an endpoint and its delivery log.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Endpoint id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/api/admin/webhook-endpoints/{id}")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn delete_webhook_endpoint(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    webhooks::delete(&state.db, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An endpoint's deliveries, newest event first, each with every attempt
/// (when, the status answered, how long, the start of the answer).
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Endpoint id"), PageQuery),
    responses(
        (status = 200, body = Vec<WebhookDeliveryDto>, headers(("Link" = String, description = "`<…>; rel=\"next\"` when more remain"))),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/admin/webhook-endpoints/{id}/deliveries")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn list_webhook_deliveries(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminUser,
    id: web::Path<Uuid>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.page()?;
    let list = webhooks::deliveries_of(&state.db, id.into_inner()).await?;
    pagination::respond(&req, &page, list, |d| d.id.to_string())
}

/// Sends a delivery again at the next tick ("Renvoyer"): the same event,
/// the same `webhook-id`.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Delivery id")),
    responses(
        (status = 202, description = "Queued"),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/api/admin/webhook-deliveries/{id}/resend")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn resend_webhook_delivery(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    webhooks::resend(&state.db, id.into_inner(), Utc::now()).await?;
    Ok(HttpResponse::Accepted().finish())
}
