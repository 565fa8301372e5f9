//! Stripe's webhook endpoint: signed events, applied at most once.

use actix_web::{HttpRequest, post, web};
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::http::body::read_limited;
use crate::http::problems as p;
use crate::state::AppState;
use crate::webhooks::{self, Delivery};

/// Stripe events are a few kilobytes; anything far larger is not one.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Serialize, ToSchema)]
pub struct WebhookAck {
    pub received: bool,
    /// True when this event id was already applied: nothing was done.
    pub duplicate: bool,
    /// What the event did (`confirmed`, `expired`, `ignored`, …).
    pub outcome: Option<String>,
}

/// Receives a Stripe event. The body is verified against `Stripe-Signature`
/// (every `v1`, each configured secret, 300 s tolerance) before anything
/// is read. Unknown event types are acknowledged and ignored; a failure
/// answers 5xx so that Stripe retries.
#[utoipa::path(
    tag = "webhooks",
    request_body(content = serde_json::Value, description = "A Stripe event, exactly as Stripe signed it"),
    params(("Stripe-Signature" = String, Header, description = "t=<unix time>,v1=<hex HMAC-SHA256>[,v1=…]")),
    responses(
        (status = 200, body = WebhookAck),
        (status = 400, response = p::BadRequest),
        (status = 413, response = p::PayloadTooLarge),
    )
)]
#[post("/api/webhooks/stripe")]
#[tracing::instrument(skip_all)]
pub async fn receive_stripe_event(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<web::Json<WebhookAck>> {
    let body = read_limited(payload, MAX_BODY_BYTES).await?;
    let header = req
        .headers()
        .get("Stripe-Signature")
        .and_then(|v| v.to_str().ok());
    let gateway = state.gateway.clone();
    let delivery = webhooks::receive(&state, gateway.as_ref(), &body, header, Utc::now()).await?;
    Ok(web::Json(match delivery {
        Delivery::Applied(outcome) => WebhookAck {
            received: true,
            duplicate: false,
            outcome: Some(outcome),
        },
        Delivery::Duplicate => WebhookAck {
            received: true,
            duplicate: true,
            outcome: None,
        },
    }))
}
