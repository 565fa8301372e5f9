//! The owner's proofs: e-mail verification, "mot de passe oublié", and the
//! password change from "Mon compte".

use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::Utc;
use common::auth::{NewPassword, PasswordChange, PasswordReset, TokenBody, UserDto};

use crate::domain::{accounts::credentials, platform::throttles};
use crate::email::Email;
use crate::error::{ApiError, ApiResult};
use crate::http::client_ip::client_ip;
use crate::http::extract::AuthUser;
use crate::http::problems as p;
use crate::state::AppState;

/// Confirms the address with the token of the verification mail, signed
/// in to the account it was sent for (the link alone proves the mailbox,
/// not the account). An address listed in `ADMIN_EMAILS` gets the admin
/// role only now.
#[utoipa::path(
    tag = "auth",
    request_body = TokenBody,
    responses(
        (status = 200, body = UserDto, description = "Verified"),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 413, response = p::PayloadTooLarge),
        (status = 415, response = p::UnsupportedMediaType),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/api/auth/verify-email")]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn verify_email(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<TokenBody>,
) -> ApiResult<web::Json<UserDto>> {
    let user = credentials::verify_email(
        &state.db,
        &state.settings.admin_emails,
        user.id,
        &body.token,
        Utc::now(),
    )
    .await?;
    Ok(web::Json(AuthUser::from_model(user)?.dto()))
}

/// Sends the verification mail again (a few times an hour at most).
#[utoipa::path(
    tag = "auth",
    responses(
        (status = 202, description = "Sent"),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 409, response = p::Conflict),
        (status = 429, response = p::RateLimited),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/api/auth/verify-email/resend")]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn resend_verification(
    state: web::Data<AppState>,
    user: AuthUser,
) -> ApiResult<HttpResponse> {
    let user_key = user.id.to_string();
    throttles::admit(&state.db, &[(state.limits().mail, &user_key)], Utc::now()).await?;
    credentials::resend_verification(&state.db, &state.settings.public_url, user.id, Utc::now())
        .await?;
    Ok(HttpResponse::Accepted().finish())
}

/// "Mot de passe oublié": mails a reset link when the address has an
/// account. The answer is the same either way.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordReset,
    responses(
        (status = 202, description = "A mail is on its way if the address has an account"),
        (status = 400, response = p::BadRequest),
        (status = 413, response = p::PayloadTooLarge),
        (status = 415, response = p::UnsupportedMediaType),
        (status = 422, response = p::ValidationFailed),
        (status = 429, response = p::RateLimited),
    )
)]
#[post("/api/auth/password-reset")]
#[tracing::instrument(skip_all)]
pub async fn request_password_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<PasswordReset>,
) -> ApiResult<HttpResponse> {
    let email = Email::parse(&body.email)
        .ok_or_else(|| ApiError::invalid("email", "format", "not a valid e-mail address"))?;
    let ip = client_ip(&req, &state.settings.trusted_proxies);
    // Per requesting address, and per (target, requesting address): a
    // third party's requests never use up the owner's (invariant 17).
    let limits = state.limits();
    let pair = format!("{}|{ip}", email.as_str());
    throttles::admit(
        &state.db,
        &[
            (limits.mail, ip.as_str()),
            (limits.reset_per_requester, &pair),
        ],
        Utc::now(),
    )
    .await?;
    credentials::request_reset(
        &state.db,
        &state.settings.public_url,
        email.as_str(),
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::Accepted().finish())
}

/// The reset link with a new password. Every session of the account ends.
/// The answer sets the device cookie: this client's logins count as the
/// owner's.
#[utoipa::path(
    tag = "auth",
    request_body = NewPassword,
    responses(
        (status = 204, description = "Changed; sign in with the new password"),
        (status = 400, response = p::BadRequest),
        (status = 413, response = p::PayloadTooLarge),
        (status = 415, response = p::UnsupportedMediaType),
        (status = 422, response = p::ValidationFailed),
        (status = 429, response = p::RateLimited),
        (status = 503, response = p::Unavailable),
    )
)]
#[post("/api/auth/password-reset/confirm")]
#[tracing::instrument(skip_all)]
pub async fn confirm_password_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<NewPassword>,
) -> ApiResult<HttpResponse> {
    let ip = client_ip(&req, &state.settings.trusted_proxies);
    let limit = state.limits().reset_confirms_per_ip;
    throttles::admit(&state.db, &[(limit, ip.as_str())], Utc::now()).await?;
    let NewPassword { token, password } = body.into_inner();
    let user = credentials::reset_password(&state.gate(), &token, password, Utc::now()).await?;
    // This client proved the mailbox: its logins are the owner's, which
    // others' failures never lock out (invariant 17).
    let device = crate::http::auth::device_cookie_of(&state, &user)?;
    Ok(HttpResponse::NoContent().cookie(device).finish())
}

/// Changes the password (the current one is asked). Every other session
/// of the account ends; this one stays signed in.
/// Limited per account (a few wrong current passwords per window, then
/// 429: each is a guess; and some changes an hour, right or wrong: each
/// costs the shared hashing line) and per client address.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 413, response = p::PayloadTooLarge),
        (status = 415, response = p::UnsupportedMediaType),
        (status = 422, response = p::ValidationFailed),
        (status = 429, response = p::RateLimited),
        (status = 503, response = p::Unavailable),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/api/me/password")]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    body: web::Json<PasswordChange>,
) -> ApiResult<HttpResponse> {
    let PasswordChange {
        current_password,
        new_password,
    } = body.into_inner();
    let ip = client_ip(&req, &state.settings.trusted_proxies);
    let user = credentials::change_password(
        &state.gate(),
        (user.id, user.session_id),
        &ip,
        (current_password, new_password),
        Utc::now(),
    )
    .await?;
    // Device cookies issued under the old password count for nothing now;
    // this client gets one under the new.
    let device = crate::http::auth::device_cookie_of(&state, &user)?;
    Ok(HttpResponse::NoContent().cookie(device).finish())
}
