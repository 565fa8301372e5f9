//! Accounts: register, login, logout, me.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::Utc;
use common::auth::{AuthResponse, Credentials, UserDto};

use crate::auth::token::{COOKIE_NAME, DEVICE_COOKIE, DEVICE_TTL};
use crate::domain::{accounts::sign_ins, accounts::users};
use crate::error::{ApiError, ApiResult};
use crate::http::client_ip::client_ip;
use crate::http::extract::AuthUser;
use crate::http::problems as p;
use crate::state::AppState;

pub(crate) fn session_cookie(
    state: &AppState,
    value: String,
    max_age: CookieDuration,
) -> Cookie<'static> {
    Cookie::build(COOKIE_NAME, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.cookie_secure())
        .max_age(max_age)
        .finish()
}

/// The device cookie of `user` for this client: set by a login, and by
/// a password reset (the client proved the mailbox).
pub(crate) fn device_cookie_of(
    state: &AppState,
    user: &entity::users::Model,
) -> ApiResult<Cookie<'static>> {
    let token = state
        .tokens
        .issue_device(user.id, &user.password_hash, Utc::now())?;
    Ok(device_cookie(state, token))
}

/// The device cookie: only the login endpoint reads it.
fn device_cookie(state: &AppState, value: String) -> Cookie<'static> {
    Cookie::build(DEVICE_COOKIE, value)
        .path("/api/auth")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.cookie_secure())
        .max_age(CookieDuration::seconds(DEVICE_TTL.num_seconds()))
        .finish()
}

async fn signed_in(
    state: &AppState,
    user: &AuthUser,
    status: actix_web::http::StatusCode,
) -> ApiResult<HttpResponse> {
    let (token, expires_at) =
        sign_ins::sign_in(&state.db, &state.tokens, user.id, Utc::now()).await?;
    let max_age = CookieDuration::seconds(state.tokens.ttl().num_seconds());
    Ok(HttpResponse::build(status)
        .cookie(session_cookie(state, token.clone(), max_age))
        .json(AuthResponse {
            user: user.dto(),
            token,
            expires_at,
        }))
}

/// Creates an account and signs it in.
#[utoipa::path(
    tag = "auth",
    request_body = Credentials,
    responses(
        (status = 201, body = AuthResponse, description = "Registered; the token is also set as a cookie"),
        (status = 400, response = p::BadRequest),
        (status = 409, response = p::Conflict),
        (status = 413, response = p::PayloadTooLarge),
        (status = 415, response = p::UnsupportedMediaType),
        (status = 422, response = p::ValidationFailed),
        (status = 429, response = p::RateLimited),
        (status = 503, response = p::Unavailable),
    )
)]
#[post("/api/auth/register")]
#[tracing::instrument(skip_all)]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Credentials>,
) -> ApiResult<HttpResponse> {
    let Credentials { email, password } = body.into_inner();
    let user = users::register(
        &state.gate(),
        &client_ip(&req, &state.settings.trusted_proxies),
        &email,
        password,
    )
    .await?;
    let user = AuthUser::from_model(user)?;
    signed_in(&state, &user, actix_web::http::StatusCode::CREATED).await
}

/// Signs in with e-mail and password. An unknown e-mail and a wrong
/// password get the same answer. A success also sets the device cookie
/// `immersion_device`: a later login from this client is counted on its
/// own, so others' failed guesses never lock it out (429 is for them).
#[utoipa::path(
    tag = "auth",
    request_body = Credentials,
    responses(
        (status = 200, body = AuthResponse, description = "Signed in; the token is also set as a cookie, and the device cookie"),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 413, response = p::PayloadTooLarge),
        (status = 415, response = p::UnsupportedMediaType),
        (status = 429, response = p::RateLimited),
        (status = 503, response = p::Unavailable),
    )
)]
#[post("/api/auth/login")]
#[tracing::instrument(skip_all)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Credentials>,
) -> ApiResult<HttpResponse> {
    let Credentials { email, password } = body.into_inner();
    // A client that signed in before says so with its device cookie.
    let device = req
        .cookie(DEVICE_COOKIE)
        .and_then(|c| state.tokens.verify_device(c.value()))
        .map(|d| users::Device {
            key: format!("{}:{}", d.user_id, d.id),
            user_id: d.user_id,
            credential: d.credential,
        });
    let user = users::login(
        &state.gate(),
        &client_ip(&req, &state.settings.trusted_proxies),
        &email,
        password,
        device,
    )
    .await?;
    let device = device_cookie_of(&state, &user)?;
    let user = AuthUser::from_model(user)?;
    let mut res = signed_in(&state, &user, actix_web::http::StatusCode::OK).await?;
    res.add_cookie(&device).map_err(ApiError::internal)?;
    Ok(res)
}

/// Signs out: the token's session is revoked (the token, Bearer or
/// cookie, gets 401 from now on) and the cookie is cleared.
#[utoipa::path(
    tag = "auth",
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, response = p::Unauthorized),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/api/auth/logout")]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn logout(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    sign_ins::revoke(&state.db, user.session_id, Utc::now()).await?;
    Ok(signed_out(&state))
}

/// An empty answer that clears the session cookie.
pub(crate) fn signed_out(state: &AppState) -> HttpResponse {
    HttpResponse::NoContent()
        .cookie(session_cookie(state, String::new(), CookieDuration::ZERO))
        .finish()
}

/// Who am I.
#[utoipa::path(
    tag = "auth",
    responses(
        (status = 200, body = UserDto),
        (status = 401, response = p::Unauthorized),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/me")]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn me(user: AuthUser) -> web::Json<UserDto> {
    web::Json(user.dto())
}
