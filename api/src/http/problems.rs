//! Reusable OpenAPI responses for the problem bodies a handler can answer.
//! Each names its status in the spec once; handlers list which they use.
#![expect(
    dead_code,
    reason = "these types only describe responses in the OpenAPI document"
)]

use common::Problem;
use utoipa::ToResponse;

/// The request could not be read: malformed JSON body, path or query
/// (`bad_request`); a mailed link's token unknown, used or expired
/// (`invalid_token`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct BadRequest(Problem);

/// No valid token or cookie (`unauthorized`); at login, unknown e-mail or
/// wrong password (`invalid_credentials`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Unauthorized(Problem);

/// Authenticated, but not allowed (`forbidden`); a cookie-authenticated
/// change sent from another site (`origin_mismatch`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Forbidden(Problem);

/// Nothing here (`not_found`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct NotFound(Problem);

/// A conflict with the current state; `code` says which (`email_taken`,
/// `session_has_bookings`, `session_full`, `session_closed`, `already_booked`,
/// `email_already_verified`, `idempotency_key_in_progress`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Conflict(Problem);

/// The body is not JSON (`unsupported_media_type`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct UnsupportedMediaType(Problem);

/// The body is too large (`payload_too_large`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct PayloadTooLarge(Problem);

/// Some fields break a rule; `errors` lists them (`validation_failed`); an
/// `Idempotency-Key` sent before with another request (`idempotency_key_reused`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct ValidationFailed(Problem);

/// Too many attempts (`rate_limited`); see `Retry-After`.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))
)]
pub struct RateLimited(Problem);

/// Something failed on our side (`internal`); details are only in the server log.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Internal(Problem);

/// A dependency is unreachable (`service_unavailable`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Unavailable(Problem);

/// The payment provider failed (`payment_gateway_error`); nothing was charged.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct BadGateway(Problem);
