//! The trainer's side of presence: the one session their link opens
//! (`Authorization: Bearer imm_trn_…`, from the `/formateur` page), its
//! sheet and the marks they record. No account, no cookie: the link is
//! the credential, and it opens nothing else.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, get, put, web};
use chrono::Utc;
use common::presence::{PresenceSheetDto, PresenceUpdate};

use crate::domain::training::presence::{self, Recorder};
use crate::domain::training::trainer_links::{self, Link};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::bearer;
use crate::http::problems as p;
use crate::state::AppState;

/// The trainer link a request carries, checked before anything of its
/// body is read: an extractor, listed first.
pub struct TrainerLink(Link);

impl FromRequest for TrainerLink {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let secret = bearer(req).map(str::to_owned);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let (Some(secret), Some(state)) = (secret, state) else {
                return Err(ApiError::unauthorized().into());
            };
            let link = trainer_links::authenticate(&state.db, &secret, Utc::now()).await?;
            Ok(Self(link))
        })
    }
}

/// The sheet of the session the trainer's link opens (an attendee who gave
/// no name is "Participant n": the trainer never sees an address).
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
    TrainerLink(link): TrainerLink,
) -> ApiResult<web::Json<PresenceSheetDto>> {
    let sheet = presence::sheet(&state.db, link.session_id, Utc::now()).await?;
    Ok(web::Json(presence::without_addresses(sheet)))
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
    TrainerLink(link): TrainerLink,
    req: HttpRequest,
    body: web::Payload,
) -> actix_web::Result<web::Json<PresenceSheetDto>> {
    // Read only once the link is known good (actix polls a handler's
    // extractors together: a `web::Json` argument could answer first).
    let body = web::Json::<PresenceUpdate>::from_request(&req, &mut body.into_inner()).await?;
    let by = Recorder::TrainerLink(link.id);
    let sheet = presence::record(
        &state.db,
        link.session_id,
        body.into_inner(),
        by,
        Utc::now(),
    );
    Ok(web::Json(presence::without_addresses(sheet.await?)))
}
