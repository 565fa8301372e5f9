//! `ApiError` as an HTTP answer: an `application/problem+json` body with
//! the status its code decides, and the headers some errors carry
//! (`Retry-After`, `Allow`, `WWW-Authenticate`). Internal causes are
//! logged, never sent.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use common::{ErrorCode, Problem};

use crate::error::ApiError;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// When to try again after an outage answer (the database, or a service
/// it needs), in seconds: a restart or failover usually takes a few.
const DATABASE_RETRY_AFTER: &str = "2";

/// Marks an answer given because the database could not be reached.
#[derive(Debug, Clone, Copy)]
pub struct DatabaseUnreachable;

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
            Self::Database(e) if crate::db::is_unreachable(e) => {
                res.headers_mut().insert(
                    header::RETRY_AFTER,
                    header::HeaderValue::from_static(DATABASE_RETRY_AFTER),
                );
                // For the metrics layer, which counts these answers.
                res.extensions_mut().insert(DatabaseUnreachable);
            }
            Self::Client {
                code: ErrorCode::ServiceUnavailable,
                ..
            } => {
                res.headers_mut().insert(
                    header::RETRY_AFTER,
                    header::HeaderValue::from_static(DATABASE_RETRY_AFTER),
                );
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
