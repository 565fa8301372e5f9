//! Stripe's webhook endpoint: signed events, applied at most once.

use actix_web::{HttpRequest, post, web};
use chrono::{DateTime, Utc};
use common::ErrorCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{billing::owed, payment_events};
use crate::error::{ApiError, ApiResult};
use crate::http::body::read_limited;
use crate::http::problems as p;
use crate::payments::events::{EventType, Payment};
use crate::payments::stripe::parse::{self, DeliveryError};
use crate::payments::stripe::signature::SignatureError;
use crate::state::AppState;

/// Why a delivery was refused, as a 400 with a stable code.
fn refused(e: DeliveryError) -> ApiError {
    let code = match &e {
        DeliveryError::Signature(SignatureError::Missing) => ErrorCode::SignatureMissing,
        DeliveryError::Signature(SignatureError::Malformed) => ErrorCode::SignatureMalformed,
        DeliveryError::Signature(SignatureError::Stale) => ErrorCode::SignatureExpired,
        DeliveryError::Signature(SignatureError::Mismatch) => ErrorCode::SignatureMismatch,
        DeliveryError::Payload(_) => ErrorCode::InvalidPayload,
    };
    ApiError::new(code, e.to_string())
}

/// The one way in for a delivery (Stripe's, or the local gateway's):
/// verify and parse at the payment boundary, apply in the domain, then
/// make the calls it owes (after the commit; the job retries failures).
pub(crate) async fn receive(
    state: &AppState,
    body: &[u8],
    signature_header: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<payment_events::Delivery> {
    let secrets: Vec<&str> = state.webhook_secrets.iter().map(|s| s.expose()).collect();
    let event = match parse::verify_and_parse(body, signature_header, &secrets, now.timestamp()) {
        Ok(event) => event,
        Err(e) => {
            count(state, "unverified", "refused");
            return Err(refused(e));
        }
    };
    // Types we do not act on share one label: the series stay few.
    let kind = match (&event.payment, &event.event_type) {
        (Payment::Ignored, _) | (_, EventType::Other(_)) => "other",
        (_, known) => known.as_str(),
    };
    let delivery = payment_events::apply(&state.db, &state.policy, &event, now)
        .await
        .inspect_err(|_| count(state, kind, "failed"))?;
    let lag = (now.timestamp_millis() - event.created.saturating_mul(1000)).max(0);
    state.metrics.webhook_lag.observe(lag as f64 / 1000.0);
    match &delivery {
        payment_events::Delivery::Applied {
            owed: calls,
            outcome,
        } => {
            count(state, kind, outcome);
            owed::settle_now(&state.db, state.gateway.as_ref(), calls, now).await?;
        }
        payment_events::Delivery::Duplicate => count(state, kind, "duplicate"),
    }
    Ok(delivery)
}

fn count(state: &AppState, kind: &str, outcome: &str) {
    state
        .metrics
        .webhooks
        .with_label_values(&[kind, outcome])
        .inc();
}

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
    let delivery = receive(&state, &body, header, Utc::now()).await?;
    Ok(web::Json(match delivery {
        payment_events::Delivery::Applied { outcome, .. } => WebhookAck {
            received: true,
            duplicate: false,
            outcome: Some(outcome),
        },
        payment_events::Delivery::Duplicate => WebhookAck {
            received: true,
            duplicate: true,
            outcome: None,
        },
    }))
}
