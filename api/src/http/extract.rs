//! `AuthUser` and `AdminUser` extractors: a handler that takes one is
//! authenticated (401 otherwise) and, for admins, authorized (403).
//! The token comes from `Authorization: Bearer` or the SPA's cookie; its
//! sign-in session is checked in the query that reads the user. A change
//! authenticated by the cookie must come from our own origin (a browser
//! sends the cookie with cross-site requests too); Bearer requests are
//! exempt, as no browser attaches a Bearer token on its own. An API key
//! (`Bearer imm_live_…`) is authenticated by `key_auth::gate`, which
//! leaves the user it acts as in the request's extensions.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use common::auth::{License, Role, UserDto};
use uuid::Uuid;

use crate::auth::token::COOKIE_NAME;
use crate::domain::accounts::api_keys;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub license: License,
    pub email_verified: bool,
    /// The sign-in session of the token (`Uuid::nil()` when built without one).
    pub session_id: Uuid,
    /// The API key the request was made with, if any.
    pub api_key: Option<Uuid>,
}

impl AuthUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The user as the domain sees them.
    pub fn actor(&self) -> crate::domain::platform::actor::Actor {
        crate::domain::platform::actor::Actor {
            id: self.id,
            email: self.email.clone(),
            role: self.role,
        }
    }

    /// The user as stored (a role or licence the enum does not know fails
    /// the read itself: never a silent default).
    pub fn from_model(m: entity::users::Model) -> Result<Self, ApiError> {
        let (role, license) = (m.role, m.license);
        Ok(Self {
            id: m.id,
            email: m.email,
            role,
            license,
            email_verified: m.email_verified_at.is_some(),
            session_id: Uuid::nil(),
            api_key: None,
        })
    }

    pub fn dto(&self) -> UserDto {
        UserDto {
            id: self.id,
            email: self.email.clone(),
            role: self.role,
            license: self.license,
            email_verified: self.email_verified,
        }
    }
}

/// Where a token came from.
enum Credential {
    Bearer(String),
    Cookie(String),
}

/// The token of `Authorization: Bearer …`, when the request has one (a
/// sign-in token, an API key or a trainer link: each caller says which
/// it takes).
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn bearer_or_cookie(req: &HttpRequest) -> Option<Credential> {
    if req.headers().contains_key(header::AUTHORIZATION) {
        return bearer(req).map(|token| Credential::Bearer(token.to_owned()));
    }
    req.cookie(COOKIE_NAME)
        .map(|c| Credential::Cookie(c.value().to_owned()))
}

/// The origin a request says it comes from: `Origin`, else `Referer`'s.
fn request_origin(req: &HttpRequest) -> Option<String> {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        return origin.to_str().ok().map(str::to_owned);
    }
    let referer = req.headers().get(header::REFERER)?.to_str().ok()?;
    let after_scheme = referer.find("://")? + 3;
    let end = referer[after_scheme..]
        .find('/')
        .map_or(referer.len(), |i| i + after_scheme);
    Some(referer[..end].to_owned())
}

/// A cookie-authenticated change must come from our own pages.
fn check_origin(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    if req.method().is_safe() {
        return Ok(());
    }
    match request_origin(req) {
        Some(origin) if origin.eq_ignore_ascii_case(state.settings.public_origin()) => Ok(()),
        _ => Err(ApiError::new(
            common::ErrorCode::OriginMismatch,
            "this change must come from the application's own pages",
        )),
    }
}

impl FromRequest for AuthUser {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Already authenticated for this request (by the idempotency
        // middleware): the same answer, without reading the session again.
        if let Some(user) = req.extensions().get::<AuthUser>().cloned() {
            return Box::pin(async move { Ok(user) });
        }
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let credential = bearer_or_cookie(req);
        let origin_checked = match (&state, &credential) {
            (Some(state), Some(Credential::Cookie(_))) => check_origin(req, state),
            _ => Ok(()),
        };
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("app state missing"))?;
            let token = match credential {
                // A key the gate let through would have been found above.
                Some(Credential::Bearer(t)) if api_keys::is_key(&t) => {
                    return Err(ApiError::new(
                        common::ErrorCode::Forbidden,
                        "API keys cannot call this endpoint",
                    )
                    .into());
                }
                Some(Credential::Bearer(t) | Credential::Cookie(t)) => t,
                None => return Err(ApiError::unauthorized().into()),
            };
            let claims = state
                .tokens
                .verify(&token)
                .ok_or_else(ApiError::unauthorized)?;
            origin_checked?;
            let user = crate::domain::accounts::sign_ins::user_of(
                &state.db,
                claims.session_id,
                claims.user_id,
                chrono::Utc::now(),
            )
            .await
            .map_err(ApiError::from)?
            .ok_or_else(ApiError::unauthorized)?;
            let mut user = Self::from_model(user)?;
            user.session_id = claims.session_id;
            Ok(user)
        })
    }
}

/// An authenticated user with the `admin` role.
#[derive(Debug, Clone)]
pub struct AdminUser(pub AuthUser);

impl FromRequest for AdminUser {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AuthUser::from_request(req, payload);
        Box::pin(async move {
            let user = user.await?;
            if user.is_admin() {
                Ok(Self(user))
            } else {
                Err(ApiError::forbidden().into())
            }
        })
    }
}

/// An authenticated user whose access to the members' area is granted
/// (admins always are). Everything under `/api/app/` takes one.
#[derive(Debug, Clone)]
pub struct MemberUser(pub AuthUser);

impl FromRequest for MemberUser {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AuthUser::from_request(req, payload);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let user = user.await?;
            let state = state.ok_or_else(|| ApiError::internal("app state missing"))?;
            let grace = state.policy.past_due_grace;
            let (access, _) = crate::domain::subscriptions::access_of(
                &state.db,
                user.id,
                user.role,
                grace,
                chrono::Utc::now(),
            )
            .await?;
            if access.active {
                Ok(Self(user))
            } else {
                Err(ApiError::SubscriptionInactive(access.reason).into())
            }
        })
    }
}
