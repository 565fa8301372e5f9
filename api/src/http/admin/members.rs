//! Admins manage the members' resources and see the subscribers.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use common::resources::{NewResource, ResourceDto, ResourceOrder, ResourcePatch};
use common::subscriptions::SubscriberDto;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::domain::{subscriptions, subscriptions::resources};
use crate::error::ApiResult;
use crate::http::extract::AdminUser;
use crate::http::idempotency::IdempotencyKey;
use crate::http::pagination::{self, PageQuery};
use crate::http::problems as p;
use crate::state::AppState;

/// Every resource, in order.
#[utoipa::path(
    tag = "admin",
    params(PageQuery),
    responses(
        (status = 200, body = Vec<ResourceDto>, headers(("Link" = String, description = "`<…>; rel=\"next\"` when more remain"))),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/admin/resources")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn list_resources(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminUser,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.page()?;
    let list = resources::list(&state.db).await?;
    pagination::respond(&req, &page, list, |r| r.id.to_string())
}

/// Adds a resource at the end.
#[utoipa::path(
    params(IdempotencyKey),
    tag = "admin",
    request_body = NewResource,
    responses(
        (status = 201, body = ResourceDto),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 409, response = p::Conflict),
        (status = 413, response = p::PayloadTooLarge),
        (status = 415, response = p::UnsupportedMediaType),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post(
    "/api/admin/resources",
    wrap = "actix_web::middleware::from_fn(crate::http::idempotency::once)"
)]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn create_resource(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: web::Json<NewResource>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(resources::create(&state.db, body.into_inner()).await?))
}

/// Edits a resource: only the fields present change.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Resource id")),
    request_body = ResourcePatch,
    responses(
        (status = 200, body = ResourceDto),
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
#[patch("/api/admin/resources/{id}")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn update_resource(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
    body: web::Json<ResourcePatch>,
) -> ApiResult<web::Json<ResourceDto>> {
    Ok(web::Json(
        resources::update(&state.db, id.into_inner(), body.into_inner()).await?,
    ))
}

/// Deletes a resource.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Resource id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/api/admin/resources/{id}")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn delete_resource(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    resources::delete(&state.db, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sets the order of the resources (the collection): `ids` lists every
/// resource once.
#[utoipa::path(
    tag = "admin",
    request_body = ResourceOrder,
    responses(
        (status = 200, body = Vec<ResourceDto>),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 413, response = p::PayloadTooLarge),
        (status = 415, response = p::UnsupportedMediaType),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[put("/api/admin/resources")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn reorder_resources(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: web::Json<ResourceOrder>,
) -> ApiResult<web::Json<Vec<ResourceDto>>> {
    Ok(web::Json(
        resources::reorder(&state.db, body.into_inner()).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SubscribersQuery {
    /// `true`: only active subscriptions; `false`: only the others.
    pub active: Option<bool>,
}

/// Every user with their subscription state.
#[utoipa::path(
    tag = "admin",
    params(SubscribersQuery, PageQuery),
    responses(
        (status = 200, body = Vec<SubscriberDto>, headers(("Link" = String, description = "`<…>; rel=\"next\"` when more remain"))),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/admin/subscriptions")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn list_subscribers(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminUser,
    query: web::Query<SubscribersQuery>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.page()?;
    let list = subscriptions::subscribers(&state.db, query.active).await?;
    let filters: Vec<(&str, String)> = query
        .active
        .map(|a| ("active", a.to_string()))
        .into_iter()
        .collect();
    pagination::respond_with(&req, &page, &filters, list, |s| s.user_id.to_string())
}
