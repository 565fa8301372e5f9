//! Accounts: who is calling and with what rights.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "sea-orm",
    derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum)
)]
#[cfg_attr(
    feature = "sea-orm",
    sea_orm(
        rs_type = "String",
        db_type = "String(sea_orm::sea_query::StringLen::N(16))"
    )
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "user"))]
    User,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "admin"))]
    Admin,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Self::User),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// What the user has bought: `immersion` once a seat was paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "sea-orm",
    derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum)
)]
#[cfg_attr(
    feature = "sea-orm",
    sea_orm(
        rs_type = "String",
        db_type = "String(sea_orm::sea_query::StringLen::N(16))"
    )
)]
#[serde(rename_all = "snake_case")]
pub enum License {
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "none"))]
    None,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "immersion"))]
    Immersion,
}

impl License {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Immersion => "immersion",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "immersion" => Some(Self::Immersion),
            _ => None,
        }
    }
}

/// `POST /api/auth/register` and `/api/auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "marie@example.com", format = Email, max_length = 254)
    )]
    pub email: String,
    /// At least 10 characters when registering.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "correct horse battery", min_length = 10, max_length = 1024)
    )]
    pub password: String,
}

/// `GET /api/me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserDto {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub license: License,
    /// False until the link of the verification mail is followed.
    #[serde(default)]
    pub email_verified: bool,
}

/// The role an admin gives another account
/// (`PUT /api/admin/users/{id}/role`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    pub role: Role,
}

/// One change of a role, as kept (`GET /api/admin/role-changes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleChangeDto {
    pub id: Uuid,
    pub user_id: Uuid,
    pub email: String,
    pub old_role: Role,
    pub new_role: Role,
    /// `admin:<id>` (an admin, through the API), `ADMIN_EMAILS`, `cli` or
    /// `demo`.
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
}

/// The token of a mailed link (`POST /api/auth/verify-email`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub token: String,
}

/// "Mot de passe oublié" (`POST /api/auth/password-reset`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "marie@example.com", format = Email, max_length = 254)
    )]
    pub email: String,
}

/// The reset link's token and the new password
/// (`POST /api/auth/password-reset/confirm`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub token: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 10, max_length = 1024))]
    pub password: String,
}

/// A password change from "Mon compte" (`POST /api/me/password`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub current_password: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 10, max_length = 1024))]
    pub new_password: String,
}

/// The answer to a successful register or login. The same token is also
/// set as an httpOnly cookie for the SPA.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthResponse {
    pub user: UserDto,
    /// A short-lived JWT (HS256), for `Authorization: Bearer`.
    pub token: String,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(deserialize_with = "crate::wire::instant")
    )]
    pub expires_at: DateTime<Utc>,
}

/// Smallest accepted password length, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Largest accepted password length, in bytes (hashing cost stays bounded).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The rule for a new password (registration, reset, change): long enough
/// to resist guessing, short enough to hash cheaply.
pub fn check_new_password(password: &str) -> Result<(), crate::FieldError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(crate::FieldError::new(
            "password",
            "too_short",
            format!("password must have at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(crate::FieldError::new(
            "password",
            "too_long",
            format!("password must have at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    Ok(())
}
