//! The one error type. Handlers and domain functions return `ApiError`;
//! `problem` says what it answers (code, status, detail), and
//! `http::error` turns that into an `application/problem+json` response
//! there and nowhere else. Internal causes are logged, never sent.
//! Nothing here knows the web framework.

use common::{ErrorCode, FieldError, Problem};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A known, client-facing failure with its code (which decides the
    /// status: `ErrorCode::status`) and an optional detail.
    #[error("{code}: {detail:?}")]
    Client {
        code: ErrorCode,
        detail: Option<String>,
    },
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    #[error("method not allowed; allowed: {allow}")]
    MethodNotAllowed { allow: String },
    #[error("subscription inactive: {0:?}")]
    SubscriptionInactive(common::subscriptions::AccessReason),
    #[error("rate limited for {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    /// Too much work already waiting (password hashing): retry shortly.
    #[error("busy; retry in {retry_after_secs}s")]
    Busy { retry_after_secs: u64 },
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("internal: {0}")]
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A field that breaks a rule of `common` (a new password's length, …).
impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        Self::Validation(vec![e])
    }
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Client {
            code,
            detail: Some(detail.into()),
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, detail)
    }
    pub fn unauthorized() -> Self {
        Self::Client {
            code: ErrorCode::Unauthorized,
            detail: None,
        }
    }
    pub fn forbidden() -> Self {
        Self::Client {
            code: ErrorCode::Forbidden,
            detail: None,
        }
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }
    /// A conflict with the current state (`code` is one of the 409 codes).
    pub fn conflict(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(code, detail)
    }
    pub fn invalid(field: &str, rule: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, rule, message)])
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// The database could not be reached (answered 503).
    pub fn is_database_unreachable(&self) -> bool {
        matches!(self, Self::Database(e) if crate::db::is_unreachable(e))
    }

    /// The stable code this error answers with.
    pub fn code(&self) -> ErrorCode {
        self.problem().code
    }

    /// The problem body this error answers with.
    pub fn problem(&self) -> Problem {
        match self {
            Self::Client { code, detail } => Problem {
                detail: detail.clone(),
                ..Problem::of(*code)
            },
            Self::Validation(errors) => Problem {
                detail: Some("some fields are invalid; see errors".to_owned()),
                errors: errors.clone(),
                ..Problem::of(ErrorCode::ValidationFailed)
            },
            Self::SubscriptionInactive(reason) => Problem {
                detail: Some(format!(
                    "the members' area needs an active subscription ({})",
                    reason.as_str()
                )),
                reason: Some(*reason),
                ..Problem::of(ErrorCode::SubscriptionInactive)
            },
            Self::MethodNotAllowed { allow } => Problem {
                detail: Some(format!("allowed methods: {allow}")),
                ..Problem::of(ErrorCode::MethodNotAllowed)
            },
            Self::RateLimited { retry_after_secs } => Problem {
                detail: Some(format!("retry in {retry_after_secs} seconds")),
                ..Problem::of(ErrorCode::RateLimited)
            },
            Self::Busy { retry_after_secs } => Problem {
                detail: Some(format!(
                    "the server is busy: retry in {retry_after_secs} seconds"
                )),
                ..Problem::of(ErrorCode::ServiceUnavailable)
            },
            Self::Database(e) if crate::db::is_unreachable(e) => Problem {
                detail: Some("the database is not reachable: retry in a moment".to_owned()),
                ..Problem::of(ErrorCode::ServiceUnavailable)
            },
            Self::Database(_) | Self::Internal(_) => Problem::of(ErrorCode::Internal),
        }
    }
}
