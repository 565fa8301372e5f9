//! `Idempotency-Key` on the POST endpoints that create something or move
//! money (checkout, subscription checkout, portal, cancel, admin creates).
//! A client that lost an answer retries with the same key and gets the
//! first answer again, marked `Idempotent-Replayed: true`, instead of a
//! second hold. The rules are Stripe's; `domain::idempotency` keeps them.
//!
//! A route opts in with `wrap = "from_fn(idempotency::once)"`. Without the
//! header nothing changes. Answers that did not run to the end (401, 408,
//! 429, 5xx) are not kept: a retry runs again.

use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{Error, HttpMessage, HttpResponse, ResponseError};
use chrono::Utc;
use common::ErrorCode;
use sha2::{Digest, Sha256};

use crate::domain::platform::idempotency::{self, Begun, Key, Stored};
use crate::error::ApiError;
use crate::http::body::JSON_LIMIT_BYTES;
use crate::http::body::read_limited;
use crate::http::extract::AuthUser;
use crate::state::AppState;

const HEADER: &str = "idempotency-key";
const REPLAYED: &str = "idempotent-replayed";
const MAX_KEY_LEN: usize = 255;

/// The header, as documented on each operation that honours it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[expect(dead_code, reason = "only describes a header in the OpenAPI document")]
pub struct IdempotencyKey {
    /// A unique key for this request (up to 255 visible ASCII characters;
    /// a UUID v4 is a good choice). Retrying with the same key and the same
    /// body answers the first result again (`Idempotent-Replayed: true`)
    /// for 24 hours; the same key with another body or path answers 422
    /// `idempotency_key_reused`; a retry while the first still runs answers
    /// 409 `idempotency_key_in_progress`. Keys are per user.
    #[param(
        rename = "Idempotency-Key",
        nullable = false,
        min_length = 1,
        max_length = 255,
        pattern = "^[ -~]*[!-~][ -~]*$"
    )]
    idempotency_key: Option<String>,
}

/// The middleware: runs the request once per user and key.
pub async fn once(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(raw) = req.headers().get(HEADER).cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let Some(key) = valid_key(&raw) else {
        return Ok(req.error_response(ApiError::bad_request(format!(
            "the Idempotency-Key header must be 1 to {MAX_KEY_LEN} visible ASCII characters"
        ))));
    };
    let (Some(state), Ok(user)) = (
        req.app_data::<web::Data<AppState>>().cloned(),
        req.extract::<AuthUser>().await,
    ) else {
        // Not signed in: the handler answers 401, and keys are per user.
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    // The handler's extractor takes it from here: one session read.
    req.extensions_mut().insert(user.clone());
    let body = match req.extract::<web::Payload>().await {
        Ok(payload) => read_limited(payload, JSON_LIMIT_BYTES).await,
        Err(e) => return Ok(req.error_response(e)),
    };
    let body = match body {
        Ok(body) => body,
        Err(e) => return Ok(req.error_response(e)),
    };
    let fingerprint = fingerprint(&req, &body);
    req.set_payload(Payload::from(body));

    let db = state.db.clone();
    let user_id = user.id;
    // A key's requests have keys of their own: neither the person it acts
    // for nor another key can meet (or take) its answers.
    let key = match user.api_key {
        Some(api_key) => format!(
            "api-key:{}",
            hex::encode(Sha256::digest(format!("{api_key}\n{key}").as_bytes()))
        ),
        None => key,
    };
    let of = |key| Key { user_id, key };
    // A run that outlives this long died with its instance: see `begin`.
    let abandoned_after = chrono::Duration::from_std(state.settings.request_timeout)
        .unwrap_or(chrono::Duration::hours(1))
        + chrono::Duration::minutes(5);
    let begun = idempotency::begin(&db, of(&key), &fingerprint, Utc::now(), abandoned_after);
    match begun.await {
        Err(e) => Ok(req.error_response(ApiError::from(e))),
        Ok(Begun::Reused) => Ok(req.error_response(ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was used for a different request; use a new key",
        ))),
        Ok(Begun::InProgress) => Ok(req.error_response(ApiError::new(
            ErrorCode::IdempotencyKeyInProgress,
            "a request with this Idempotency-Key is still running; retry shortly",
        ))),
        Ok(Begun::Replay(stored)) => {
            let (http, _) = req.into_parts();
            Ok(ServiceResponse::new(http, replay(&stored)))
        }
        Ok(Begun::Run { owner }) => {
            // The run goes on, and its answer is stored, even when this
            // request is given up meanwhile (the request timeout, a client
            // gone): a retry then gets the first answer, never a second run.
            let run = actix_web::rt::spawn(async move {
                let answer = next.call(req).await;
                record(&db, Key { user_id, key: &key }, owner, answer).await
            });
            run.await.unwrap_or_else(|e| {
                Err(ApiError::internal(format!("idempotent run lost: {e}")).into())
            })
        }
    }
}

/// Stores the answer a retry should see (or frees the key), and answers it.
async fn record(
    db: &sea_orm::DatabaseConnection,
    key: Key<'_>,
    owner: uuid::Uuid,
    answer: Result<ServiceResponse<impl MessageBody>, Error>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => {
            idempotency::abandon(db, key, owner).await.ok();
            return Err(e);
        }
    };
    let (http, res) = answer.into_parts();
    let (head, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body).await else {
        idempotency::abandon(db, key, owner).await.ok();
        let failed = ApiError::internal("the answer could not be read").error_response();
        return Ok(ServiceResponse::new(http, failed));
    };
    let recorded = match keep(head.status(), &head, &bytes) {
        Some(stored) => idempotency::finish(db, key, owner, &stored).await,
        None => idempotency::abandon(db, key, owner).await,
    };
    if let Err(e) = recorded {
        // The request ran; its answer stands. A retry finds the key in
        // progress until it is taken over, never runs twice at once.
        tracing::error!(error = %e, "idempotent answer not recorded");
    }
    Ok(ServiceResponse::new(http, head.set_body(bytes)).map_into_boxed_body())
}

fn valid_key(raw: &header::HeaderValue) -> Option<String> {
    let key = raw.to_str().ok()?;
    let visible = key.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    (!key.trim().is_empty() && key.len() <= MAX_KEY_LEN && visible).then(|| key.to_owned())
}

/// What makes two requests the same: method, path with query, and body.
fn fingerprint(req: &ServiceRequest, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(req.method().as_str());
    h.update(b"\n");
    h.update(req.uri().path_and_query().map_or("", |p| p.as_str()));
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

/// The answer to keep, when the request ran to a result a retry should see.
fn keep(status: StatusCode, head: &HttpResponse<()>, body: &Bytes) -> Option<Stored> {
    // (An in-progress refusal is answered here, never by the handler.)
    let ran = !(status.is_server_error() || matches!(status.as_u16(), 401 | 408 | 429));
    if !ran {
        return None;
    }
    Some(Stored {
        status: status.as_u16(),
        content_type: head
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_owned(),
        body: String::from_utf8(body.to_vec()).ok()?,
    })
}

fn replay(stored: &Stored) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    HttpResponse::build(status)
        .content_type(stored.content_type.as_str())
        .insert_header((REPLAYED, "true"))
        .body(stored.body.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_visible_ascii() {
        let ok = |s: &str| valid_key(&header::HeaderValue::from_str(s).unwrap());
        assert_eq!(ok("a1b2-c3").as_deref(), Some("a1b2-c3"));
        assert!(ok("").is_none());
        assert!(ok("   ").is_none());
        assert!(ok(&"k".repeat(256)).is_none());
        assert!(ok(&"k".repeat(255)).is_some());
        let tab = header::HeaderValue::from_bytes(b"a\tb").unwrap();
        assert!(valid_key(&tab).is_none());
        let latin = header::HeaderValue::from_bytes("clé".as_bytes()).unwrap();
        assert!(valid_key(&latin).is_none());
    }
}
