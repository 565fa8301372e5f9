//! One session of the catalog: French dates and price, remaining places
//! with a fill bar, and the booking button (disabled when full or closed).

use common::format::{format_remaining_places, format_session_dates};
use common::money::format_price;
use common::sessions::{SessionDecision, SessionDto, SessionStatus};
use leptos::prelude::*;

use crate::api;
use crate::browser::go;
use crate::components::feedback::ErrorLine;
use crate::components::fill_bar::FillBar;
use crate::router::navigate;

/// `linked`: the dates lead to the session's own page (the catalog's
/// cards; the session page shows its card unlinked).
#[component]
pub fn SessionCard(session: SessionDto, #[prop(default = true)] linked: bool) -> impl IntoView {
    let dates = format_session_dates(session.starts_on, session.ends_on);
    let price = format_price(session.price_cents, &session.currency);
    let remaining = format_remaining_places(session.available_places);
    let bookable = session.status == SessionStatus::Open;
    let cancelled = session.decision == Some(SessionDecision::Cancelled);
    let label = match session.status {
        _ if cancelled => "Session annulée",
        SessionStatus::Open => "Réserver maintenant",
        SessionStatus::Full => "Complet",
        SessionStatus::Closed => "Réservations closes",
    };
    // Told once the minimum group size is reached (or an admin decided).
    let confirmed = (session.decision == Some(SessionDecision::Confirmed)).then(|| {
        view! { <p class="badge-confirmed">"Session confirmée"</p> }
    });
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let id = session.id;
    // A full session takes names for its waiting list.
    let waitable = session.status == SessionStatus::Full && !cancelled;
    let joined = RwSignal::new(None::<u32>);
    let join = move |_| {
        signed_in(
            busy,
            error,
            move || api::join_waitlist(id),
            move |entry| joined.set(Some(entry.place.unwrap_or(1))),
        )
    };
    let waiting = (session.waiting > 0).then(|| {
        let n = session.waiting;
        let text = if n == 1 {
            "1 personne en liste d'attente".to_owned()
        } else {
            format!("{n} personnes en liste d'attente")
        };
        view! { <p class="waiting">{text}</p> }
    });
    let waitlist = waitable.then(|| {
        view! {
            <Show
                when=move || joined.get().is_some()
                fallback=move || view! {
                    <button class="join-waitlist secondary" disabled=move || busy.get() on:click=join>
                        "Rejoindre la liste d'attente"
                    </button>
                }
            >
                <p class="done" role="status">
                    {move || format!(
                        "Vous êtes n° {} sur la liste d'attente : nous vous écrirons dès qu'une place se libère.",
                        joined.get().unwrap_or(1)
                    )}
                </p>
            </Show>
        }
    });
    let book = move |_| {
        signed_in(
            busy,
            error,
            move || api::checkout(id),
            move |held| go(&held.checkout_url),
        )
    };
    view! {
        <article class="session" data-session-id=id.to_string()>
            <h2 class="dates">
                {if linked {
                    view! { <a href=format!("{}{id}", crate::router::SESSION_PATH)>{dates}</a> }.into_any()
                } else {
                    view! { <span>{dates}</span> }.into_any()
                }}
            </h2>
            <p class="location">{session.location.clone()}</p>
            {session.trainer.clone().map(|t| view! { <p class="trainer">"Avec "{t}</p> })}
            <p class="price">{price}</p>
            {confirmed}
            <FillBar reserved=session.reserved_places max=session.max_places/>
            <p class="remaining">
                {if session.available_places == 0 {
                    view! { <span class="badge-full">{remaining}</span> }.into_any()
                } else {
                    view! { <span>{remaining}</span> }.into_any()
                }}
            </p>
            {waiting}
            <button class="book" disabled=move || !bookable || busy.get() on:click=book>{label}</button>
            {waitlist}
            <ErrorLine message=error/>
        </article>
    }
}

/// Runs `action` for a signed-in visitor (anyone else signs in first),
/// with `busy` on while it runs; `done` takes its answer, a failure shows.
fn signed_in<T: 'static, F: Future<Output = Result<T, api::ApiError>> + 'static>(
    busy: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    action: impl FnOnce() -> F + 'static,
    done: impl FnOnce(T) + 'static,
) {
    // Back to this page (the catalog or a session's own) once signed in.
    let here = window().location().pathname().unwrap_or_default();
    let login = move || navigate(&format!("/connexion?suite={here}"));
    if !api::believed_signed_in() {
        login();
        return;
    }
    busy.set(true);
    error.set(None);
    leptos::task::spawn_local(async move {
        match action().await {
            Ok(answer) => done(answer),
            Err(e) if e.is(common::ErrorCode::Unauthorized) => login(),
            Err(e) if e.is(common::ErrorCode::ProfileIncomplete) => {
                crate::components::profile_form::ask_names()
            }
            Err(e) => {
                error.set(Some(e.message));
                busy.set(false);
            }
        }
    });
}
