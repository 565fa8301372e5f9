//! The local gateway's pay page (only with no Stripe key): shows the seat
//! and its price, and on "pay" or "cancel" emits the signed event Stripe
//! would send, through the same webhook pipeline, then returns the buyer
//! to the SPA like Checkout does. Not part of the API document.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use common::bookings::BookingStatus;
use common::format::format_session_dates;
use common::money::format_price;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::error::{ApiError, ApiResult};
use crate::payments::local::{PAY_PATH, events};
use crate::state::AppState;
use crate::webhooks::{self, signature};
use entity::{immersion_bookings as bookings, immersion_sessions as sessions};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(PAY_PATH)
            .route("/{id}", web::get().to(page))
            .route("/{id}/pay", web::post().to(pay))
            .route("/{id}/cancel", web::post().to(cancel)),
    );
}

struct Seat {
    booking: bookings::Model,
    session: sessions::Model,
}

async fn seat(state: &AppState, checkout_id: &str) -> ApiResult<Seat> {
    if state.local_gateway.is_none() {
        return Err(ApiError::not_found("checkout session"));
    }
    let found = bookings::Entity::find()
        .filter(bookings::Column::StripeCheckoutSessionId.eq(checkout_id))
        .find_also_related(sessions::Entity)
        .one(&state.db)
        .await?;
    match found {
        Some((booking, Some(session))) => Ok(Seat { booking, session }),
        _ => Err(ApiError::not_found("checkout session")),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn is_payable(state: &AppState, seat: &Seat, checkout_id: &str) -> bool {
    let expired = state
        .local_gateway
        .as_ref()
        .is_some_and(|g| g.is_expired(checkout_id));
    seat.booking.status == BookingStatus::Held.as_str() && !expired
}

async fn page(state: web::Data<AppState>, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let seat = seat(&state, &id).await?;
    let dates = format_session_dates(seat.session.starts_on, seat.session.ends_on);
    let price = format_price(seat.booking.amount_cents, &seat.booking.currency);
    let actions = if is_payable(&state, &seat, &id) {
        format!(
            r#"<form method="post" action="{PAY_PATH}/{id}/pay"><button type="submit" id="pay">Payer {price}</button></form>
<form method="post" action="{PAY_PATH}/{id}/cancel"><button type="submit" id="cancel">Annuler</button></form>"#,
            id = escape(&id),
            price = escape(&price),
        )
    } else {
        "<p id=\"closed\">Cette session de paiement n'est plus ouverte.</p>".to_owned()
    };
    let html = format!(
        r#"<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Paiement (local) · Immersion Élite</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}button{{font-size:1.1rem;padding:.6rem 1.2rem;margin:.3rem 0}}</style></head>
<body><h1>Paiement</h1>
<p>Passerelle de paiement locale (aucune carte n'est débitée).</p>
<p><strong>Immersion Élite</strong>, {dates} à {location}</p>
<p>Montant : <strong id="amount">{price}</strong></p>
<p>Client : {email}</p>
{actions}
</body></html>"#,
        dates = escape(&dates),
        location = escape(&seat.session.location),
        price = escape(&price),
        email = escape(&seat.booking.user_email),
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html))
}

async fn pay(state: web::Data<AppState>, id: web::Path<String>) -> ApiResult<HttpResponse> {
    finish(&state, &id, true).await
}

async fn cancel(state: web::Data<AppState>, id: web::Path<String>) -> ApiResult<HttpResponse> {
    finish(&state, &id, false).await
}

/// Emits `checkout.session.completed` (paid) or `checkout.session.expired`
/// through the webhook pipeline, then sends the buyer back to the SPA.
async fn finish(state: &AppState, checkout_id: &str, paid: bool) -> ApiResult<HttpResponse> {
    let seat = seat(state, checkout_id).await?;
    let booking_id = seat.booking.id;
    if is_payable(state, &seat, checkout_id) {
        let now = Utc::now();
        let checkout = events::SeatCheckout {
            checkout_session_id: checkout_id.to_owned(),
            booking_id,
            session_id: seat.session.id,
            user_id: seat.booking.user_id,
            customer_email: seat.booking.user_email.clone(),
            amount_cents: seat.booking.amount_cents,
            currency: seat.booking.currency.clone(),
            expires_at: seat.booking.hold_expires_at.unwrap_or(now),
        };
        let kind = if paid {
            "checkout.session.completed"
        } else {
            "checkout.session.expired"
        };
        let event = events::event(kind, events::checkout_session(&checkout, paid, now), now);
        let body = serde_json::to_vec(&event).map_err(ApiError::internal)?;
        let secret = state
            .webhook_secrets
            .first()
            .ok_or_else(|| ApiError::internal("no webhook secret"))?;
        let header = signature::sign(&body, secret.expose(), now.timestamp());
        webhooks::receive(state, state.gateway.as_ref(), &body, Some(&header), now).await?;
        if !paid {
            state.gateway.expire_checkout(checkout_id).await.ok();
        }
    }
    let public = &state.settings.public_url;
    let back = if paid {
        format!("{public}/immersion-elite/merci?booking_id={booking_id}")
    } else {
        format!("{public}/immersion-elite/annulation?booking_id={booking_id}")
    };
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, back))
        .finish())
}
