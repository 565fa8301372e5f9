//! The one error type. Handlers and domain functions return `ApiError`; it
//! becomes an `application/problem+json` answer here and nowhere else.
//! Internal causes are logged, never sent.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use common::{ErrorCode, FieldError, Problem};

pub const PROBLEM_JSON: &str = "application/problem+json";

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

    /// The stable code this error answers with.
    pub fn code(&self) -> ErrorCode {
        self.problem().code
    }

    fn problem(&self) -> Problem {
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
            Self::Database(e) if is_unavailable(e) => Problem::of(ErrorCode::ServiceUnavailable),
            Self::Database(_) | Self::Internal(_) => Problem::of(ErrorCode::Internal),
        }
    }
}

fn is_unavailable(e: &sea_orm::DbErr) -> bool {
    matches!(
        e,
        sea_orm::DbErr::ConnectionAcquire(_) | sea_orm::DbErr::Conn(_)
    )
}

/// Answers a problem body with the right content type.
pub fn problem_response(problem: &Problem) -> HttpResponse {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .content_type(PROBLEM_JSON)
        .json(problem)
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.problem().status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let problem = self.problem();
        if problem.status >= 500 {
            // The cause goes to the log, with the request's span; never to the client.
            tracing::error!(error = %self, "request failed");
        }
        let mut res = problem_response(&problem);
        match self {
            Self::RateLimited { retry_after_secs } | Self::Busy { retry_after_secs } => {
                if let Ok(v) = header::HeaderValue::from_str(&retry_after_secs.to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            Self::MethodNotAllowed { allow } => {
                if let Ok(v) = header::HeaderValue::from_str(allow) {
                    res.headers_mut().insert(header::ALLOW, v);
                }
            }
            Self::Client {
                code: ErrorCode::Unauthorized,
                ..
            } => {
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer"),
                );
            }
            _ => {}
        }
        res
    }
}

/// Actix's extractor errors are plain text by default; these handlers turn
/// them into problem bodies. Installed once, in `startup`.
pub mod extractors {
    use super::*;
    use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};

    pub fn json(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
        let api = match &err {
            JsonPayloadError::ContentType => ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "expected Content-Type: application/json",
            ),
            JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
                ApiError::new(ErrorCode::PayloadTooLarge, "the JSON body is too large")
            }
            JsonPayloadError::Deserialize(e) => {
                ApiError::bad_request(format!("invalid JSON body: {e}"))
            }
            _ => ApiError::bad_request("the JSON body could not be read"),
        };
        api.into()
    }

    pub fn path(err: PathError, _req: &HttpRequest) -> actix_web::Error {
        let PathError::Deserialize(e) = &err else {
            return ApiError::bad_request("invalid path").into();
        };
        ApiError::bad_request(format!("invalid path parameter: {e}")).into()
    }

    pub fn query(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
        let QueryPayloadError::Deserialize(e) = &err else {
            return ApiError::bad_request("invalid query string").into();
        };
        ApiError::bad_request(format!("invalid query parameter: {e}")).into()
    }
}
