//! Subscribing, the Customer Portal, and what my access is.

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use chrono::Utc;
use common::subscriptions::{AccessDto, PlanPriceDto, RedirectDto, SubscribeRequest};

use crate::domain::subscriptions;
use crate::error::ApiResult;
use crate::http::extract::AuthUser;
use crate::http::idempotency::IdempotencyKey;
use crate::http::problems as p;
use crate::state::AppState;

/// The plans on sale, with their prices as the payment provider states
/// them (read at most hourly). Public.
#[utoipa::path(
    tag = "subscriptions",
    responses(
        (status = 200, body = [PlanPriceDto]),
        (status = 502, response = p::BadGateway),
    )
)]
#[get("/api/plans")]
pub async fn plans(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let plans = subscriptions::plans(
        state.gateway.as_ref(),
        &state.price_book,
        &state.policy.prices,
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(plans))
}

/// Opens a subscription Checkout Session for the monthly or yearly plan;
/// send the browser to `url`. 409 `subscription_active` when a
/// subscription already gives access. One page at a time: while one can
/// still be paid, a second checkout (for either plan) answers that one;
/// once it is paid and its subscription has not reached us yet, 409
/// `subscription_pending`.
#[utoipa::path(
    params(IdempotencyKey),
    tag = "subscriptions",
    request_body = SubscribeRequest,
    responses(
        (status = 200, body = RedirectDto),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 409, response = p::Conflict),
        (status = 413, response = p::PayloadTooLarge),
        (status = 415, response = p::UnsupportedMediaType),
        (status = 502, response = p::BadGateway),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post(
    "/api/subscriptions/checkout",
    wrap = "actix_web::middleware::from_fn(crate::http::idempotency::once)"
)]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn subscribe(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<SubscribeRequest>,
) -> ApiResult<web::Json<RedirectDto>> {
    Ok(web::Json(
        subscriptions::subscribe(
            &state.db,
            state.gateway.as_ref(),
            &state.policy,
            &user.actor(),
            body.plan,
            Utc::now(),
        )
        .await?,
    ))
}

/// Opens the Customer Portal (change plan, payment method, cancel); send
/// the browser to `url`. 409 `no_subscription` before any subscription.
#[utoipa::path(
    params(IdempotencyKey),
    tag = "subscriptions",
    responses(
        (status = 200, body = RedirectDto),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 409, response = p::Conflict),
        (status = 502, response = p::BadGateway),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post(
    "/api/subscriptions/portal",
    wrap = "actix_web::middleware::from_fn(crate::http::idempotency::once)"
)]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn open_portal(
    state: web::Data<AppState>,
    user: AuthUser,
) -> ApiResult<web::Json<RedirectDto>> {
    let actor = user.actor();
    let portal = subscriptions::portal(
        &state.db,
        state.gateway.as_ref(),
        &state.policy.public_url,
        &actor,
    );
    Ok(web::Json(portal.await?))
}

/// Whether I may enter the members' area, and why. `reason` is one of
/// `admin`, `subscribed`, `grace_period`, `no_subscription`,
/// `period_ended`, `payment_failed`, `canceled`, `incomplete`, `paused`.
#[utoipa::path(
    tag = "subscriptions",
    responses(
        (status = 200, body = AccessDto),
        (status = 401, response = p::Unauthorized),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/me/access")]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn my_access(
    state: web::Data<AppState>,
    user: AuthUser,
) -> ApiResult<web::Json<AccessDto>> {
    let grace = state.policy.past_due_grace;
    let (_, dto) =
        subscriptions::access_of(&state.db, user.id, user.role, grace, Utc::now()).await?;
    Ok(web::Json(dto))
}
