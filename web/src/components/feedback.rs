//! How pages say "loading", "nothing yet" and "that failed", and send
//! their changes, the same way everywhere. A 401 comes with the way to
//! sign in and come back.

use common::ErrorCode;
use leptos::prelude::*;

use crate::api::ApiError;

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" role="status">"Chargement…"</p> }
}

#[component]
pub fn Failure(error: ApiError) -> impl IntoView {
    let sign_in = error.is(ErrorCode::Unauthorized).then(|| {
        let back = window().location().pathname().unwrap_or_default();
        view! { <a href=format!("/connexion?suite={back}")>"Se connecter"</a> }
    });
    view! { <p class="error" role="alert">{error.message}" "{sign_in}</p> }
}

/// An error line that appears when the signal holds a message.
#[component]
pub fn ErrorLine(message: RwSignal<Option<String>>) -> impl IntoView {
    move || {
        message
            .get()
            .map(|e| view! { <p class="error" role="alert">{e}</p> })
    }
}

/// The end of an admin form: its error, "Enregistrer" (off while saving)
/// and "Annuler".
#[component]
pub fn FormFooter(
    error: RwSignal<Option<String>>,
    busy: RwSignal<bool>,
    close: Callback<()>,
) -> impl IntoView {
    view! {
        <ErrorLine message=error/>
        <div class="buttons">
            <button type="submit" disabled=move || busy.get()>"Enregistrer"</button>
            <button type="button" class="secondary" on:click=move |_| close.run(())>"Annuler"</button>
        </div>
    }
}

/// A list from the API, once it came: `rows` draws it, `empty` stands in
/// when it has none, and a failure says what went wrong.
pub fn loaded<T>(
    result: Result<Vec<T>, ApiError>,
    empty: AnyView,
    rows: impl FnOnce(Vec<T>) -> AnyView,
) -> AnyView {
    match result {
        Ok(list) if list.is_empty() => empty,
        Ok(list) => rows(list),
        Err(error) => view! { <Failure error/> }.into_any(),
    }
}

/// Sends a change to the API in the background and clears the last error.
/// `busy`, when given, is on while it runs and stays on after success,
/// when `done` moves the page on; a failure turns it off and shows its
/// message in `error`.
pub fn send<T: 'static>(
    action: impl Future<Output = Result<T, ApiError>> + 'static,
    error: RwSignal<Option<String>>,
    busy: Option<RwSignal<bool>>,
    done: impl FnOnce(T) + 'static,
) {
    error.set(None);
    let set_busy = move |on: bool| {
        if let Some(busy) = busy {
            busy.set(on);
        }
    };
    set_busy(true);
    leptos::task::spawn_local(async move {
        match action.await {
            Ok(value) => done(value),
            Err(e) => {
                error.set(Some(e.message));
                set_busy(false);
            }
        }
    });
}
