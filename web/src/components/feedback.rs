//! How pages say "loading", "nothing yet" and "that failed", the same way
//! everywhere. A 401 comes with the way to sign in and come back.

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
