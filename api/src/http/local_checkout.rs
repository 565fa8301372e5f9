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
use common::subscriptions::StripeStatus;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::error::{ApiError, ApiResult};
use crate::payments::local::subscriptions::{self as local_subs, Action, LocalSubscription};
use crate::payments::local::{LocalGateway, PAY_PATH, PORTAL_PATH, PendingSubscription};
use crate::payments::stripe::signature;
use crate::state::AppState;
use entity::{immersion_bookings as bookings, immersion_sessions as sessions};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(PAY_PATH)
            .route("/{id}", web::get().to(page))
            .route("/{id}/pay", web::post().to(pay))
            .route("/{id}/cancel", web::post().to(cancel)),
    )
    .service(
        web::scope(PORTAL_PATH)
            .route("/{token}", web::get().to(portal_page))
            .route("/{token}/{action}", web::post().to(portal_action)),
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
    match crate::domain::bookings::by_checkout(&state.db, checkout_id).await? {
        Some((booking, session)) => Ok(Seat { booking, session }),
        None => Err(ApiError::not_found("checkout session")),
    }
}

fn is_payable(state: &AppState, seat: &Seat, checkout_id: &str) -> bool {
    let expired = state
        .local_gateway
        .as_ref()
        .is_some_and(|g| g.is_expired(checkout_id));
    seat.booking.status == BookingStatus::Held && !expired
}

fn local(state: &AppState) -> ApiResult<&LocalGateway> {
    state
        .local_gateway
        .as_deref()
        .ok_or_else(|| ApiError::not_found("page"))
}

/// A local page: maud escapes every value put in it.
fn html_page(title: &str, body: Markup) -> HttpResponse {
    const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;\
        padding:0 1rem}button{font-size:1.1rem;padding:.6rem 1.2rem;margin:.3rem 0}";
    let page = html! {
        (DOCTYPE)
        html lang="fr" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " (local) · Immersion" }
                link rel="icon" href="data:,";
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (title) }
                p { "Passerelle de paiement locale (aucune carte n'est débitée)." }
                (body)
            }
        }
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(page.into_string())
}

/// A form that posts to `action`, with one button.
fn button(action: &str, id: &str, label: &str) -> Markup {
    html! {
        form method="post" action=(action) { button type="submit" id=(id) { (label) } }
    }
}

fn plan_label(plan: common::subscriptions::Plan) -> &'static str {
    match plan {
        common::subscriptions::Plan::Monthly => "Abonnement mensuel",
        common::subscriptions::Plan::Yearly => "Abonnement annuel",
    }
}

async fn page(state: web::Data<AppState>, id: web::Path<String>) -> ApiResult<HttpResponse> {
    if let Some(pending) = local(&state)?.subscription_checkout(&id) {
        let body = html! {
            p { strong id="plan" { (plan_label(pending.plan)) } }
            (button(&format!("{PAY_PATH}/{id}/pay"), "pay", "S'abonner"))
            (button(&format!("{PAY_PATH}/{id}/cancel"), "cancel", "Annuler"))
        };
        return Ok(html_page("Abonnement", body));
    }
    let seat = seat(&state, &id).await?;
    let dates = format_session_dates(seat.session.starts_on, seat.session.ends_on);
    let price = format_price(seat.booking.amount_cents, &seat.booking.currency);
    let payable = is_payable(&state, &seat, &id);
    let body = html! {
        p { strong { "Immersion Élite" } ", " (dates) " à " (seat.session.location) }
        p { "Montant : " strong id="amount" { (price) } }
        p { "Client : " (seat.booking.user_email) }
        @if payable {
            (button(&format!("{PAY_PATH}/{id}/pay"), "pay", &format!("Payer {price}")))
            (button(&format!("{PAY_PATH}/{id}/cancel"), "cancel", "Annuler"))
        } @else {
            p id="closed" { "Cette session de paiement n'est plus ouverte." }
        }
    };
    Ok(html_page("Paiement", body))
}

async fn pay(state: web::Data<AppState>, id: web::Path<String>) -> ApiResult<HttpResponse> {
    if let Some(pending) = local(&state)?.subscription_checkout(&id) {
        return finish_subscription(&state, &id, pending, true).await;
    }
    finish(&state, &id, true).await
}

async fn cancel(state: web::Data<AppState>, id: web::Path<String>) -> ApiResult<HttpResponse> {
    if let Some(pending) = local(&state)?.subscription_checkout(&id) {
        return finish_subscription(&state, &id, pending, false).await;
    }
    finish(&state, &id, false).await
}

fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish()
}

/// Signs each event as Stripe would and feeds it to the webhook pipeline.
async fn deliver(state: &AppState, events: Vec<serde_json::Value>) -> ApiResult<()> {
    let secret = state
        .webhook_secrets
        .first()
        .ok_or_else(|| ApiError::internal("no webhook secret"))?;
    for event in events {
        let body = serde_json::to_vec(&event).map_err(ApiError::internal)?;
        let now = Utc::now();
        let header = signature::sign(&body, secret.expose(), now.timestamp());
        if let Err(e) = super::webhooks::receive(state, &body, Some(&header), now).await {
            // As Stripe would: the event stays listed as undelivered.
            if let Some(local) = &state.local_gateway {
                local.remember_undelivered(event);
            }
            return Err(e);
        }
    }
    Ok(())
}

async fn finish_subscription(
    state: &AppState,
    checkout_id: &str,
    pending: PendingSubscription,
    paid: bool,
) -> ApiResult<HttpResponse> {
    let local = local(state)?;
    if !local.close_subscription_checkout(checkout_id) {
        return Ok(see_other(&pending.cancel_url));
    }
    if !paid {
        return Ok(see_other(&pending.cancel_url));
    }
    let email = crate::domain::accounts::users::email_of(&state.db, pending.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    // As Stripe: paying a page makes a subscription, whatever else the
    // customer has. A second one is the app's to cancel and refund
    // (invariant 16), not the gateway's.
    let now = Utc::now();
    let mut sub = LocalSubscription {
        id: format!("sub_local_{}", uuid::Uuid::new_v4().simple()),
        customer_id: pending.customer_id.clone(),
        user_id: pending.user_id,
        customer_email: email,
        plan: pending.plan,
        amount_cents: local.plan_cents(pending.plan),
        status: StripeStatus::Active,
        current_period_end: now + local_subs::period(pending.plan),
        cancel_at_period_end: false,
    };
    let events = local.act(
        &Action::Subscribe {
            checkout_id: checkout_id.to_owned(),
        },
        &mut sub,
    );
    deliver(state, events).await?;
    Ok(see_other(&pending.success_url))
}

/// The customer's current subscription, as the local "Stripe" knows it.
async fn current_subscription(
    state: &AppState,
    customer_id: &str,
) -> ApiResult<Option<LocalSubscription>> {
    let current = crate::domain::subscriptions::current_of_customer(&state.db, customer_id);
    let Some((m, email)) = current.await? else {
        return Ok(None);
    };
    use common::subscriptions::{Plan, SubscriptionType};
    // The local gateway made every subscription it knows with a plan and a
    // status; a record without them is none of its own.
    let plan = match m.plan {
        Some(SubscriptionType::PremiumMonthly) => Plan::Monthly,
        Some(SubscriptionType::PremiumYearly) => Plan::Yearly,
        _ => return Ok(None),
    };
    let Some(status) = m.status else {
        return Ok(None);
    };
    Ok(Some(LocalSubscription {
        id: m.id,
        customer_id: customer_id.to_owned(),
        user_id: m.user_id,
        customer_email: email,
        plan,
        amount_cents: local(state)?.plan_cents(plan),
        status,
        current_period_end: m.current_period_end.unwrap_or_else(Utc::now),
        cancel_at_period_end: m.cancel_at_period_end,
    }))
}

const PORTAL_ACTIONS: &[(&str, &str)] = &[
    ("renew", "Renouveler maintenant"),
    ("fail", "Faire échouer le prochain paiement"),
    ("cancel-at-period-end", "Résilier à la fin de la période"),
    ("cancel-now", "Résilier immédiatement"),
];

async fn portal_page(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let session = local(&state)?
        .portal(&token)
        .ok_or_else(|| ApiError::not_found("portal session"))?;
    let sub = current_subscription(&state, &session.customer_id).await?;
    let body = html! {
        @match &sub {
            None => p id="status" { "Aucun abonnement." },
            Some(s) => {
                p { (plan_label(s.plan)) }
                p { "Statut : " strong id="status" { (s.status) } }
                p { "Fin de période : " span id="period-end" { (s.current_period_end.format("%Y-%m-%d %H:%M UTC")) } }
                p { "Résiliation en fin de période : " span id="cancel-scheduled" { (if s.cancel_at_period_end { "oui" } else { "non" }) } }
                @if !s.status.is_ended() {
                    @for (action, label) in PORTAL_ACTIONS {
                        (button(&format!("{PORTAL_PATH}/{token}/{action}"), action, label))
                    }
                }
            }
        }
        p { a id="return" href=(session.return_url) { "Retour au site" } }
    };
    Ok(html_page("Gérer mon abonnement", body))
}

async fn portal_action(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (token, action) = path.into_inner();
    let local = local(&state)?;
    let session = local
        .portal(&token)
        .ok_or_else(|| ApiError::not_found("portal session"))?;
    let action = match action.as_str() {
        "renew" => Action::Renew,
        "fail" => Action::FailPayment,
        "cancel-at-period-end" => Action::CancelAtPeriodEnd,
        "cancel-now" => Action::CancelNow,
        _ => return Err(ApiError::not_found("portal action")),
    };
    let Some(mut sub) = current_subscription(&state, &session.customer_id).await? else {
        return Err(ApiError::not_found("subscription"));
    };
    if !sub.status.is_ended() {
        let events = local.act(&action, &mut sub);
        deliver(&state, events).await?;
    }
    Ok(see_other(&format!(
        "{}{PORTAL_PATH}/{token}",
        state.settings.public_url
    )))
}

/// Emits `checkout.session.completed` (paid) or `checkout.session.expired`
/// through the webhook pipeline, then sends the buyer back to the SPA.
async fn finish(state: &AppState, checkout_id: &str, paid: bool) -> ApiResult<HttpResponse> {
    let seat = seat(state, checkout_id).await?;
    let booking_id = seat.booking.id;
    if is_payable(state, &seat, checkout_id)
        && let Some(event) = local(state)?.close_seat(checkout_id, paid, Utc::now())
    {
        deliver(state, vec![event]).await?;
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
