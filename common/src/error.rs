//! The one list of error codes, and the `application/problem+json` body
//! (RFC 9457) every 4xx and 5xx answer carries.

use serde::{Deserialize, Serialize};

/// A stable, machine-readable error code. Clients switch on it; the SPA
/// turns it into a French message. Never rename one: add a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request could not be read: malformed JSON, path or query.
    BadRequest,
    /// The request was read but a field breaks a rule (see `errors`).
    ValidationFailed,
    /// No valid session or token.
    Unauthorized,
    /// Logged in, but not allowed.
    Forbidden,
    NotFound,
    MethodNotAllowed,
    UnsupportedMediaType,
    PayloadTooLarge,
    /// Too many attempts; retry after the `Retry-After` header.
    RateLimited,
    /// Login failed: unknown e-mail or wrong password (deliberately the same).
    InvalidCredentials,
    EmailTaken,
    SessionFull,
    SessionClosed,
    AlreadyBooked,
    /// Too many seats of the session held at once from one client address,
    /// or a second seat held by an account whose address is not verified.
    HoldLimit,
    /// The session has bookings (in any status), whose payment records are
    /// kept: deactivate it instead.
    SessionHasBookings,
    /// The booking is not in a state that can be cancelled.
    BookingNotCancellable,
    /// The payment provider failed or is unreachable; nothing was charged.
    PaymentGatewayError,
    /// Webhook: no `Stripe-Signature` header.
    SignatureMissing,
    /// Webhook: the `Stripe-Signature` header cannot be read.
    SignatureMalformed,
    /// Webhook: the signed timestamp is more than 300 s away from now.
    SignatureExpired,
    /// Webhook: no signature matches the body with our secrets.
    SignatureMismatch,
    /// Webhook: the signed body is not a Stripe event.
    InvalidPayload,
    SubscriptionInactive,
    /// A subscription already gives access: manage it in the portal.
    SubscriptionActive,
    /// A subscription page was paid and its subscription is on its way
    /// from Stripe: a second one would be a second bill.
    SubscriptionPending,
    /// No subscription (nor Stripe customer) to manage.
    NoSubscription,
    /// A mailed link's token is unknown, already used or expired.
    InvalidToken,
    /// The address is already verified: no new verification mail.
    EmailAlreadyVerified,
    /// A cookie-authenticated change did not come from the app's own
    /// origin (`Origin`/`Referer`): refused, as a forged cross-site request.
    OriginMismatch,
    /// The request (its body, typically) took longer than the server waits.
    RequestTimeout,
    /// A dependency (database) is not reachable, or the server is busy.
    ServiceUnavailable,
    /// An `Idempotency-Key` already used for a different request (another
    /// path or body): use a new key for a new request.
    IdempotencyKeyReused,
    /// A request with this `Idempotency-Key` is still running: retry shortly
    /// with the same key to get its answer.
    IdempotencyKeyInProgress,
    /// The session's minimum was already decided (confirmed or cancelled).
    SessionAlreadyDecided,
    /// Already in the waiting list of this session.
    AlreadyWaiting,
    /// The session has free places: book one instead of waiting.
    SessionNotFull,
    /// Only a held booking (an offer, or a hold whose page was closed) can
    /// be paid.
    BookingNotPayable,
    /// Only a confirmed (paid) seat has a calendar file.
    BookingNotConfirmed,
    /// The certificate of completion is made once the session is over.
    SessionNotOver,
    /// The presence marks a certificate of completion is counted from are
    /// kept 3 years after the end of their year; a session that began
    /// before that has no certificate any more.
    PresenceNotKept,
    /// First and last name are needed before a first booking or
    /// subscription (`PATCH /api/me/profile`): invoices and attendance
    /// sheets name the person.
    ProfileIncomplete,
    /// An admin's own role, an address `ADMIN_EMAILS` lists (it would be
    /// admin again at the next start), or an unverified address made
    /// admin: change it elsewhere, or verify first.
    RoleNotChangeable,
    /// Something failed on our side; details are in the server log only.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::ValidationFailed => "validation_failed",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RateLimited => "rate_limited",
            Self::InvalidCredentials => "invalid_credentials",
            Self::EmailTaken => "email_taken",
            Self::SessionFull => "session_full",
            Self::HoldLimit => "hold_limit",
            Self::SessionClosed => "session_closed",
            Self::AlreadyBooked => "already_booked",
            Self::SessionHasBookings => "session_has_bookings",
            Self::BookingNotCancellable => "booking_not_cancellable",
            Self::PaymentGatewayError => "payment_gateway_error",
            Self::SignatureMissing => "signature_missing",
            Self::SignatureMalformed => "signature_malformed",
            Self::SignatureExpired => "signature_expired",
            Self::SignatureMismatch => "signature_mismatch",
            Self::InvalidPayload => "invalid_payload",
            Self::SubscriptionInactive => "subscription_inactive",
            Self::SubscriptionActive => "subscription_active",
            Self::SubscriptionPending => "subscription_pending",
            Self::NoSubscription => "no_subscription",
            Self::InvalidToken => "invalid_token",
            Self::EmailAlreadyVerified => "email_already_verified",
            Self::OriginMismatch => "origin_mismatch",
            Self::RequestTimeout => "request_timeout",
            Self::ServiceUnavailable => "service_unavailable",
            Self::Internal => "internal",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::IdempotencyKeyInProgress => "idempotency_key_in_progress",
            Self::SessionAlreadyDecided => "session_already_decided",
            Self::AlreadyWaiting => "already_waiting",
            Self::SessionNotFull => "session_not_full",
            Self::BookingNotPayable => "booking_not_payable",
            Self::BookingNotConfirmed => "booking_not_confirmed",
            Self::SessionNotOver => "session_not_over",
            Self::PresenceNotKept => "presence_not_kept",
            Self::ProfileIncomplete => "profile_incomplete",
            Self::RoleNotChangeable => "role_not_changeable",
        }
    }

    /// The one HTTP status each code is answered with.
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest
            | Self::SignatureMissing
            | Self::SignatureMalformed
            | Self::SignatureExpired
            | Self::SignatureMismatch
            | Self::InvalidPayload
            | Self::InvalidToken => 400,
            Self::Unauthorized | Self::InvalidCredentials => 401,
            Self::Forbidden | Self::SubscriptionInactive | Self::OriginMismatch => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::RequestTimeout => 408,
            Self::EmailTaken
            | Self::SessionFull
            | Self::HoldLimit
            | Self::SessionClosed
            | Self::AlreadyBooked
            | Self::SessionHasBookings
            | Self::BookingNotCancellable
            | Self::SubscriptionActive
            | Self::SubscriptionPending
            | Self::NoSubscription
            | Self::EmailAlreadyVerified
            | Self::IdempotencyKeyInProgress
            | Self::SessionAlreadyDecided
            | Self::AlreadyWaiting
            | Self::SessionNotFull
            | Self::BookingNotPayable
            | Self::BookingNotConfirmed
            | Self::SessionNotOver
            | Self::PresenceNotKept
            | Self::ProfileIncomplete
            | Self::RoleNotChangeable => 409,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::ValidationFailed | Self::IdempotencyKeyReused => 422,
            Self::RateLimited => 429,
            Self::Internal => 500,
            Self::PaymentGatewayError => 502,
            Self::ServiceUnavailable => 503,
        }
    }

    /// A short English title for the problem body.
    pub fn title(self) -> &'static str {
        match self {
            Self::BadRequest => "The request could not be read",
            Self::ValidationFailed => "Some fields are invalid",
            Self::Unauthorized => "Authentication required",
            Self::Forbidden => "Not allowed",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::PayloadTooLarge => "Payload too large",
            Self::RateLimited => "Too many attempts",
            Self::InvalidCredentials => "Invalid e-mail or password",
            Self::EmailTaken => "This e-mail is already registered",
            Self::SessionFull => "The session is full",
            Self::HoldLimit => "Too many seats held",
            Self::SessionClosed => "The session is closed",
            Self::AlreadyBooked => "Already booked",
            Self::SessionHasBookings => "The session has bookings",
            Self::BookingNotCancellable => "The booking cannot be cancelled",
            Self::PaymentGatewayError => "The payment provider failed",
            Self::SignatureMissing => "Missing Stripe-Signature header",
            Self::SignatureMalformed => "Malformed Stripe-Signature header",
            Self::SignatureExpired => "Signature timestamp outside tolerance",
            Self::SignatureMismatch => "Signature does not match",
            Self::InvalidPayload => "Not a Stripe event",
            Self::SubscriptionInactive => "Subscription inactive",
            Self::SubscriptionActive => "Already subscribed",
            Self::SubscriptionPending => "Subscription on its way",
            Self::NoSubscription => "No subscription",
            Self::InvalidToken => "Invalid or expired link",
            Self::EmailAlreadyVerified => "E-mail already verified",
            Self::OriginMismatch => "Request from another site",
            Self::RequestTimeout => "Request too slow",
            Self::ServiceUnavailable => "Service unavailable",
            Self::Internal => "Internal error",
            Self::IdempotencyKeyReused => "Idempotency key used for another request",
            Self::IdempotencyKeyInProgress => "A request with this idempotency key is running",
            Self::SessionAlreadyDecided => "The session was already decided",
            Self::AlreadyWaiting => "Already in the waiting list",
            Self::SessionNotFull => "The session has free places",
            Self::BookingNotPayable => "The booking cannot be paid",
            Self::BookingNotConfirmed => "The booking is not confirmed",
            Self::SessionNotOver => "The session is not over",
            Self::PresenceNotKept => "Presence is no longer kept",
            Self::ProfileIncomplete => "First and last name are needed first",
            Self::RoleNotChangeable => "This role cannot be changed here",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One field that broke a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The JSON field name, e.g. `ends_on`.
    pub field: String,
    /// A stable rule name, e.g. `before_start`.
    pub rule: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, rule: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            rule: rule.to_owned(),
            message: message.into(),
        }
    }
}

/// An `application/problem+json` body (RFC 9457) with our stable `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI naming the problem type: `/problems/{code}`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub code: ErrorCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The fields that broke a rule, for `validation_failed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Why access is refused, for `subscription_inactive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<crate::subscriptions::AccessReason>,
}

impl Problem {
    /// The problem of `code`, with the one status that code answers.
    pub fn of(code: ErrorCode) -> Self {
        Self {
            type_: format!("/problems/{code}"),
            title: code.title().to_owned(),
            status: code.status(),
            code,
            detail: None,
            errors: Vec::new(),
            reason: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_stable_names() {
        for code in [
            ErrorCode::SessionFull,
            ErrorCode::ValidationFailed,
            ErrorCode::SessionHasBookings,
            ErrorCode::BadRequest,
        ] {
            let json = serde_json::to_value(code).unwrap_or_default();
            assert_eq!(json, serde_json::Value::String(code.as_str().to_owned()));
        }
    }

    #[test]
    fn problem_body_has_rfc9457_members() {
        let p = Problem::of(ErrorCode::SessionFull);
        let json = serde_json::to_value(&p).unwrap_or_default();
        assert_eq!(json["type"], "/problems/session_full");
        assert_eq!(json["status"], 409);
        assert_eq!(json["code"], "session_full");
        assert!(json.get("errors").is_none());
    }
}
