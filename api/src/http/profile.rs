//! My profile: names, and what an invoice to a company needs.

use actix_web::{get, patch, web};
use common::profile::{ProfileDto, ProfilePatch};

use crate::domain::accounts::profiles;
use crate::error::ApiResult;
use crate::http::extract::AuthUser;
use crate::http::problems as p;
use crate::state::AppState;

/// My profile. `complete` says whether both names are given.
#[utoipa::path(
    tag = "auth",
    responses(
        (status = 200, body = ProfileDto),
        (status = 401, response = p::Unauthorized),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/me/profile")]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn my_profile(
    state: web::Data<AppState>,
    user: AuthUser,
) -> ApiResult<web::Json<ProfileDto>> {
    Ok(web::Json(profiles::get(&state.db, user.id).await?))
}

/// Changes my profile: an absent field stays, an empty one is cleared
/// (not the names). Names at most 100 characters, company 200, billing
/// address 500 (several lines), phone 32 (digits, spaces, `+-.()/`).
#[utoipa::path(
    tag = "auth",
    request_body = ProfilePatch,
    responses(
        (status = 200, body = ProfileDto),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 413, response = p::PayloadTooLarge),
        (status = 415, response = p::UnsupportedMediaType),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[patch("/api/me/profile")]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn update_my_profile(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<ProfilePatch>,
) -> ApiResult<web::Json<ProfileDto>> {
    Ok(web::Json(
        profiles::update(&state.db, user.id, body.into_inner()).await?,
    ))
}
