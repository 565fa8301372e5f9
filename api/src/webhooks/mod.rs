//! The Stripe webhook pipeline (DESIGN §7): raw bytes → signature → parse
//! → record the event id and apply its effects in one transaction. A
//! duplicate delivery finds the id already recorded and changes nothing.
//! The local gateway feeds its events through `receive` as well.

pub mod event;
pub mod signature;

use actix_web::http::StatusCode;
use chrono::{DateTime, TimeZone, Utc};
use common::ErrorCode;
use sea_orm::{ActiveValue::Set, EntityTrait, TransactionTrait};

use crate::domain::{bookings, is_unique_violation, subscriptions};
use crate::error::{ApiError, ApiResult};
use crate::payments::PaymentGateway;
use crate::state::AppState;
use event::{ChargeObject, CheckoutSessionObject, Event};
use signature::SignatureError;

/// What became of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// First delivery: recorded, with what it did.
    Applied(String),
    /// Seen before: nothing done.
    Duplicate,
}

fn signature_problem(e: SignatureError) -> ApiError {
    let code = match e {
        SignatureError::Missing => ErrorCode::SignatureMissing,
        SignatureError::Malformed => ErrorCode::SignatureMalformed,
        SignatureError::Stale => ErrorCode::SignatureExpired,
        SignatureError::Mismatch => ErrorCode::SignatureMismatch,
    };
    ApiError::new(StatusCode::BAD_REQUEST, code, e.to_string())
}

/// Verifies, parses and applies one delivery.
#[tracing::instrument(skip_all)]
pub async fn receive(
    state: &AppState,
    gateway: &dyn PaymentGateway,
    body: &[u8],
    signature_header: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<Delivery> {
    let secrets: Vec<&str> = state.webhook_secrets.iter().map(|s| s.expose()).collect();
    signature::verify(body, signature_header, &secrets, now.timestamp())
        .map_err(signature_problem)?;
    let event: Event = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidPayload,
            format!("not a Stripe event: {e}"),
        )
    })?;
    apply(state, gateway, &event, now).await
}

/// Records `event` and applies it, all or nothing.
#[tracing::instrument(skip(state, gateway, event), fields(event = %event.id, kind = %event.event_type))]
pub async fn apply(
    state: &AppState,
    gateway: &dyn PaymentGateway,
    event: &Event,
    now: DateTime<Utc>,
) -> ApiResult<Delivery> {
    let txn = state.db.begin().await?;
    // The id goes in first: a concurrent duplicate waits on it, then fails
    // the unique key and is answered as a duplicate.
    let recorded = entity::stripe_events::Entity::insert(entity::stripe_events::ActiveModel {
        id: Set(event.id.clone()),
        event_type: Set(event.event_type.clone()),
        created: Set(Utc.timestamp_opt(event.created, 0).single().unwrap_or(now)),
        received_at: Set(now),
        processed_at: Set(Some(now)),
        outcome: Set(None),
    })
    .exec(&txn)
    .await;
    match recorded {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Ok(Delivery::Duplicate),
        Err(e) => return Err(e.into()),
    }
    let grace = chrono::Duration::hours(state.settings.past_due_grace_hours);
    let outcome = dispatch(&txn, gateway, event, grace, now).await?;
    entity::stripe_events::Entity::update(entity::stripe_events::ActiveModel {
        id: Set(event.id.clone()),
        outcome: Set(Some(outcome.clone())),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    txn.commit().await?;
    tracing::info!(outcome = %outcome, "stripe event applied");
    Ok(Delivery::Applied(outcome))
}

pub(crate) fn object<T: serde::de::DeserializeOwned>(event: &Event) -> ApiResult<T> {
    serde_json::from_value(event.data.object.clone()).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidPayload,
            format!("unexpected {} object: {e}", event.event_type),
        )
    })
}

async fn dispatch(
    txn: &sea_orm::DatabaseTransaction,
    gateway: &dyn PaymentGateway,
    event: &Event,
    grace: chrono::Duration,
    now: DateTime<Utc>,
) -> ApiResult<String> {
    let effect = match event.event_type.as_str() {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            let cs: CheckoutSessionObject = object(event)?;
            if cs.mode.as_deref() == Some("subscription") {
                return subscriptions::link_checkout(txn, &cs, now).await;
            }
            if !cs.is_seat() {
                return Ok("ignored_not_a_seat".into());
            }
            bookings::apply_payment(txn, gateway, &cs, now).await?
        }
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted"
        | "invoice.payment_succeeded"
        | "invoice.paid"
        | "invoice.payment_failed" => {
            return subscriptions::apply_event(txn, event, grace, now).await;
        }
        "checkout.session.expired" | "checkout.session.async_payment_failed" => {
            let cs: CheckoutSessionObject = object(event)?;
            if !cs.is_seat() {
                return Ok("ignored_not_a_seat".into());
            }
            bookings::apply_checkout_expired(txn, &cs, now).await?
        }
        "charge.refunded" => {
            let charge: ChargeObject = object(event)?;
            bookings::apply_charge_refunded(txn, &charge, now).await?
        }
        _ => return Ok("ignored".into()),
    };
    Ok(effect.as_str().to_owned())
}
