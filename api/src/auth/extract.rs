//! `AuthUser` and `AdminUser` extractors: a handler that takes one is
//! authenticated (401 otherwise) and, for admins, authorized (403).
//! The token comes from `Authorization: Bearer` or the SPA's cookie.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use common::auth::{License, Role, UserDto};
use sea_orm::EntityTrait;
use uuid::Uuid;

use super::token::COOKIE_NAME;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub license: License,
}

impl AuthUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn from_model(m: entity::users::Model) -> Self {
        Self {
            id: m.id,
            email: m.email,
            role: Role::parse(&m.role).unwrap_or(Role::User),
            license: License::parse(&m.license).unwrap_or(License::None),
        }
    }

    pub fn dto(&self) -> UserDto {
        UserDto {
            id: self.id,
            email: self.email.clone(),
            role: self.role,
            license: self.license,
        }
    }
}

fn bearer_or_cookie(req: &HttpRequest) -> Option<String> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    req.cookie(COOKIE_NAME).map(|c| c.value().to_owned())
}

impl FromRequest for AuthUser {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_or_cookie(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("app state missing"))?;
            let user_id = token
                .and_then(|t| state.tokens.verify(&t))
                .ok_or_else(ApiError::unauthorized)?;
            let user = entity::users::Entity::find_by_id(user_id)
                .one(&state.db)
                .await
                .map_err(ApiError::from)?
                .ok_or_else(ApiError::unauthorized)?;
            Ok(Self::from_model(user))
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
            let grace = chrono::Duration::hours(state.settings.past_due_grace_hours);
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
