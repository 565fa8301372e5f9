//! The trainer's side of presence: the one session their link opens
//! (`Authorization: Bearer imm_trn_…`, from the `/formateur` page), its
//! sheet and the marks they record. No account, no cookie: the link is
//! the credential, and it opens nothing else.

use actix_web::http::header;
use actix_web::{HttpRequest, get, put, web};
use chrono::{DateTime, Utc};
use common::presence::{PresenceSheetDto, PresenceUpdate};

use crate::domain::training::presence::{self, Recorder};
use crate::domain::training::trainer_links::{self, Link};
use crate::error::{ApiError, ApiResult};
use crate::http::problems as p;
use crate::state::AppState;

async fn link_of(req: &HttpRequest, state: &AppState, now: DateTime<Utc>) -> ApiResult<Link> {
    let secret = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(ApiError::unauthorized)?;
    trainer_links::authenticate(&state.db, secret, now).await
}

/// The sheet of the session the trainer's link opens.
#[utoipa::path(
    tag = "trainer",
    responses(
        (status = 200, body = PresenceSheetDto),
        (status = 401, response = p::Unauthorized),
    ),
    security(("trainer_link" = []))
)]
#[get("/api/trainer/presence")]
#[tracing::instrument(skip_all)]
pub async fn trainer_presence(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<web::Json<PresenceSheetDto>> {
    let now = Utc::now();
    let link = link_of(&req, &state, now).await?;
    Ok(web::Json(
        presence::sheet(&state.db, link.session_id, now).await?,
    ))
}

/// Records presence on the link's session, as an admin would (the same
/// rules; each mark keeps that the link made it).
#[utoipa::path(
    tag = "trainer",
    request_body = PresenceUpdate,
    responses(
        (status = 200, body = PresenceSheetDto),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 413, response = p::PayloadTooLarge),
        (status = 415, response = p::UnsupportedMediaType),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("trainer_link" = []))
)]
#[put("/api/trainer/presence")]
#[tracing::instrument(skip_all)]
pub async fn trainer_record_presence(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<PresenceUpdate>,
) -> ApiResult<web::Json<PresenceSheetDto>> {
    let now = Utc::now();
    let link = link_of(&req, &state, now).await?;
    let by = Recorder::TrainerLink(link.id);
    let sheet = presence::record(&state.db, link.session_id, body.into_inner(), by, now);
    Ok(web::Json(sheet.await?))
}
