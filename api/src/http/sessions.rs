//! The public catalog.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::Utc;
use common::sessions::SessionDto;
use uuid::Uuid;

use crate::domain::{catalog::sessions, platform::clock::today_at_venue};
use crate::error::{ApiError, ApiResult};
use crate::http::pagination::{self, PageQuery};
use crate::http::problems as p;
use crate::state::AppState;

/// Active sessions that have not ended, by start date. Served with an
/// `ETag` (`If-None-Match` gets 304); a change made through another api
/// instance shows within a second.
#[utoipa::path(
    tag = "sessions",
    params(PageQuery),
    responses(
        (status = 200, body = Vec<SessionDto>, headers(("Link" = String, description = "`<…>; rel=\"next\"` when more remain"), ("ETag" = String, description = "The list's version"))),
        (status = 304, description = "Unchanged since the `If-None-Match` version"),
        (status = 400, response = p::BadRequest),
        (status = 422, response = p::ValidationFailed),
    )
)]
#[get("/api/sessions")]
#[tracing::instrument(skip_all)]
pub async fn list_sessions(
    state: web::Data<AppState>,
    req: HttpRequest,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.page()?;
    let today = today_at_venue(Utc::now());
    let cache = &state.catalog;
    let list = cache
        .list(today, || sessions::list_public(&state.db, today))
        .await?;
    let key = page.key();
    if let Some(hit) = cache.page(&list, &key) {
        return Ok(hit.respond(&req));
    }
    let (items, link) = pagination::page_of(&req, &page, &[], &list.items, |s| s.id.to_string())?;
    let body = serde_json::to_vec(items).map_err(ApiError::internal)?;
    Ok(cache.put(&list, key, body, link).respond(&req))
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
