//! Holding a seat, and the bookings their owners (and admins) read and cancel.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::Utc;
use common::bookings::{BookingDto, CancelRequest, CheckoutResponse};
use uuid::Uuid;

use crate::domain::{bookings, platform::throttles};
use crate::error::ApiResult;
use crate::http::body::optional_json;
use crate::http::client_ip::client_ip;
use crate::http::extract::AuthUser;
use crate::http::idempotency::IdempotencyKey;
use crate::http::pagination::{self, PageQuery};
use crate::http::problems as p;
use crate::state::AppState;

/// Holds a seat (`HOLD_MINUTES`, at least 33 minutes: Stripe's window) and
/// opens a Checkout Session for it; pay at `checkout_url`. The seat is
/// confirmed when the payment arrives. Holds and cancels are limited per
/// user and per client address (429). While anyone waits in line, free
/// places are theirs: 409 `session_full`.
#[utoipa::path(
    tag = "bookings",
    params(IdempotencyKey, ("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 201, body = CheckoutResponse),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 404, response = p::NotFound),
        (status = 403, response = p::Forbidden),
        (status = 409, response = p::Conflict),
        (status = 429, response = p::RateLimited),
        (status = 502, response = p::BadGateway),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post(
    "/api/sessions/{id}/checkout",
    wrap = "actix_web::middleware::from_fn(crate::http::idempotency::once)"
)]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn checkout(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let held = async {
        let ip = client_ip(&req, &state.settings.trusted_proxies);
        throttles::seat_change(
            &state.db,
            &state.seat_counts,
            &state.limits(),
            &user.actor(),
            &ip,
        )
        .await?;
        // A keyed hash: booking rows are kept for years, addresses not.
        let address = state.tokens.fingerprint("hold-address", &ip);
        let gateway = state.gateway.clone();
        bookings::hold(
            &state.desk(),
            gateway.as_ref(),
            &user.actor(),
            (id.into_inner(), Some(&address)),
            Utc::now(),
        )
        .await
    }
    .await;
    let (outcome, reason) = match &held {
        Ok(_) => ("taken", ""),
        Err(e) => ("refused", e.code().as_str()),
    };
    state
        .metrics
        .holds
        .with_label_values(&[outcome, reason])
        .inc();
    Ok(HttpResponse::Created().json(held?))
}

/// My bookings, newest first.
#[utoipa::path(
    tag = "bookings",
    params(PageQuery),
    responses(
        (status = 200, body = Vec<BookingDto>, headers(("Link" = String, description = "`<…>; rel=\"next\"` when more remain"))),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/me/bookings")]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn list_my_bookings(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.page()?;
    let list = bookings::list_mine(&state.desk(), &user.actor()).await?;
    pagination::respond(&req, &page, list, |b| b.id.to_string())
}

/// One booking (its owner or an admin). The SPA polls it after Checkout.
#[utoipa::path(
    tag = "bookings",
    params(("id" = Uuid, Path, description = "Booking id")),
    responses(
        (status = 200, body = BookingDto),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 404, response = p::NotFound),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/bookings/{id}")]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn get_booking(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<BookingDto>> {
    Ok(web::Json(
        bookings::get(&state.desk(), &user.actor(), id.into_inner()).await?,
    ))
}

/// The session of a confirmed booking as a calendar file (RFC 5545), for
/// "Ajouter à mon agenda" (its owner or an admin). 409
/// `booking_not_confirmed` before the seat is paid.
#[utoipa::path(
    tag = "bookings",
    params(("id" = Uuid, Path, description = "Booking id")),
    responses(
        (status = 200, content_type = "text/calendar", body = String),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 404, response = p::NotFound),
        (status = 409, response = p::Conflict),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/bookings/{id}/calendar.ics")]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn booking_calendar(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (name, ics) = bookings::calendar(&state.desk(), &user.actor(), id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type(crate::domain::bookings::calendar::CONTENT_TYPE)
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(ics))
}

/// Cancels a booking (its owner or an admin) and gives the seat back. A
/// paid seat is refunded in full when cancelled at least
/// `CANCELLATION_CUTOFF_DAYS` before the start, not after; an admin may
/// force a full refund. The body is optional.
#[utoipa::path(
    tag = "bookings",
    params(IdempotencyKey, ("id" = Uuid, Path, description = "Booking id")),
    request_body(content = Option<CancelRequest>, description = "Optional; `force_refund` is for admins"),
    responses(
        (status = 200, body = BookingDto),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
        (status = 409, response = p::Conflict),
        (status = 413, response = p::PayloadTooLarge),
        (status = 429, response = p::RateLimited),
        (status = 502, response = p::BadGateway),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post(
    "/api/bookings/{id}/cancel",
    wrap = "actix_web::middleware::from_fn(crate::http::idempotency::once)"
)]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn cancel_booking(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Payload,
) -> ApiResult<web::Json<BookingDto>> {
    let ip = client_ip(&req, &state.settings.trusted_proxies);
    throttles::seat_change(
        &state.db,
        &state.seat_counts,
        &state.limits(),
        &user.actor(),
        &ip,
    )
    .await?;
    let request: CancelRequest = optional_json(body, 4096).await?;
    let booking = bookings::cancel(
        &state.desk(),
        &state.settler(),
        &user.actor(),
        id.into_inner(),
        request.force_refund,
        Utc::now(),
    )
    .await?;
    Ok(web::Json(booking))
}

/// Pays a booking held for me: a waiting-list offer, or a hold whose
/// Checkout page was closed. The hold's end never moves: the answer is
/// its Checkout Session while that can still be paid, else (that page
/// expired unpaid) a new one that expires by the hold's end, for the
/// amount booked; 409 `booking_not_payable` once it is no longer held,
/// its hold has run out, its session has begun, a payment of it is on
/// its way (its page was completed), or less than Stripe's 30 minutes
/// (plus a 2-minute margin) remain for a new page.
#[utoipa::path(
    tag = "bookings",
    params(("id" = Uuid, Path, description = "Booking id"), IdempotencyKey),
    responses(
        (status = 200, body = CheckoutResponse),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
        (status = 409, response = p::Conflict),
        (status = 422, response = p::ValidationFailed),
        (status = 502, response = p::BadGateway),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post(
    "/api/bookings/{id}/pay",
    wrap = "actix_web::middleware::from_fn(crate::http::idempotency::once)"
)]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn pay_booking(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<CheckoutResponse>> {
    let gateway = state.gateway.clone();
    let opened = bookings::pay(
        &state.desk(),
        gateway.as_ref(),
        &user.actor(),
        id.into_inner(),
        Utc::now(),
    )
    .await?;
    Ok(web::Json(opened))
}
