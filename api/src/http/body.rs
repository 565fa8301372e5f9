//! Raw bodies with a size limit, for handlers that read bytes themselves
//! (signed webhooks, optional JSON): the limit answers a problem body.

use actix_web::web;
use actix_web::web::Bytes;

use crate::error::{ApiError, ApiResult};

/// Largest accepted JSON body.
pub const JSON_LIMIT_BYTES: usize = 64 * 1024;

pub async fn read_limited(payload: web::Payload, limit: usize) -> ApiResult<Bytes> {
    // The outer error is the limit; the inner one, the connection's.
    match payload.to_bytes_limited(limit).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Err(_) => Err(ApiError::new(
            common::ErrorCode::PayloadTooLarge,
            format!("the body is larger than {limit} bytes"),
        )),
        Ok(Err(e)) => Err(ApiError::bad_request(format!(
            "could not read the body: {e}"
        ))),
    }
}

/// An optional JSON body: empty means `T::default()`, anything else must parse.
pub async fn optional_json<T: serde::de::DeserializeOwned + Default>(
    payload: web::Payload,
    limit: usize,
) -> ApiResult<T> {
    let body = read_limited(payload, limit).await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}
