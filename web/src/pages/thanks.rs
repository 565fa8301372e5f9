//! After Checkout: the thank-you page polls the booking until the payment
//! is confirmed (or the hold lapsed); the cancel page says the seat is free.

use common::bookings::BookingStatus;
use leptos::prelude::*;
use uuid::Uuid;

use crate::api;

/// How often the thank-you page asks again, and for how long.
const POLL_MS: u32 = 1000;
const POLL_TRIES: u32 = 60;

#[component]
pub fn ThanksPage() -> impl IntoView {
    let id = crate::router::query("booking_id").and_then(|s| s.parse::<Uuid>().ok());
    let status = RwSignal::new(None::<BookingStatus>);
    let failed = RwSignal::new(false);
    if let Some(id) = id {
        leptos::task::spawn_local(async move {
            for _ in 0..POLL_TRIES {
                match api::booking(id).await {
                    Ok(b) => {
                        status.set(Some(b.status));
                        if b.status != BookingStatus::Held {
                            return;
                        }
                    }
                    Err(_) => failed.set(true),
                }
                gloo_timers_sleep(POLL_MS).await;
            }
        });
    }
    view! {
        <h1>"Merci !"</h1>
        <p class="booking-status" role="status">
            {move || match (id, status.get(), failed.get()) {
                (None, _, _) => "Réservation introuvable.",
                (_, Some(BookingStatus::Confirmed), _) => "Votre place est confirmée. Un e-mail de confirmation vous a été envoyé.",
                (_, Some(BookingStatus::Expired | BookingStatus::Cancelled), _) => "Le délai de paiement est dépassé : la place a été libérée.",
                (_, Some(BookingStatus::Refunded), _) => "Ce paiement a été remboursé.",
                (_, _, true) => "Impossible de vérifier votre réservation pour le moment.",
                _ => "Paiement en cours de confirmation…",
            }}
        </p>
        <p><a href="/immersion-elite">"Retour aux sessions"</a></p>
    }
}

/// Waits `ms` milliseconds on the browser's timer.
async fn gloo_timers_sleep(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

#[component]
pub fn CancelledPage() -> impl IntoView {
    view! {
        <h1>"Paiement annulé"</h1>
        <p role="status">"Aucun montant n'a été débité et la place a été libérée."</p>
        <p><a href="/immersion-elite">"Retour aux sessions"</a></p>
    }
}

/// Where a waiting-list offer's mail leads: `/immersion-elite/offre/{booking}`.
pub const OFFER_PATH: &str = "/immersion-elite/offre/";

/// A waiting-list offer: opens its payment at once (signing in first if
/// needed), or says why it cannot be paid any more.
#[component]
pub fn OfferPage() -> impl IntoView {
    let path = window().location().pathname().unwrap_or_default();
    let id = path
        .strip_prefix(OFFER_PATH)
        .and_then(|s| s.trim_end_matches('/').parse::<Uuid>().ok());
    let error = RwSignal::new(None::<String>);
    match id {
        Some(id) if !api::believed_signed_in() => {
            crate::router::navigate(&format!("/connexion?suite={OFFER_PATH}{id}"));
        }
        Some(id) => leptos::task::spawn_local(async move {
            match api::pay_booking(id).await {
                Ok(opened) => crate::browser::go(&opened.checkout_url),
                Err(e) if e.is(common::ErrorCode::ProfileIncomplete) => {
                    crate::components::profile_form::ask_names();
                }
                Err(e) if e.is(common::ErrorCode::Unauthorized) => {
                    crate::router::navigate(&format!("/connexion?suite={OFFER_PATH}{id}"));
                }
                Err(e) => error.set(Some(e.message)),
            }
        }),
        None => error.set(Some("Cette offre est introuvable.".to_owned())),
    }
    view! {
        <h1>"Votre place sur liste d'attente"</h1>
        <p class="booking-status" role="status">
            {move || error.get().unwrap_or_else(|| "Ouverture du paiement…".to_owned())}
        </p>
        <p><a href="/mon-compte">"Mon compte"</a>" · "<a href="/immersion-elite">"Retour aux sessions"</a></p>
    }
}
