//! Answers with personal data are never kept by a browser or a proxy:
//! every answer to a request that carries credentials (a Bearer token or
//! the session cookie), and every answer under `/api/me` and
//! `/api/admin`, goes out with `Cache-Control: private, no-store`, unless
//! its handler chose its own caching (the invoice, the attendance sheet).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;

use crate::auth::token::COOKIE_NAME;

/// Paths whose every answer is someone's own data.
const PERSONAL: [&str; 2] = ["/api/me", "/api/admin"];

pub async fn no_store(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let personal = req.headers().contains_key(header::AUTHORIZATION)
        || req.cookie(COOKIE_NAME).is_some()
        || PERSONAL
            .iter()
            .any(|p| req.path() == *p || req.path().starts_with(&format!("{p}/")));
    let mut res = next.call(req).await?;
    if personal && !res.headers().contains_key(header::CACHE_CONTROL) {
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    Ok(res)
}
