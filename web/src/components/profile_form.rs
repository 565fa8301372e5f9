//! Who the account is for: first and last name (required before a first
//! booking or subscription: invoices and attendance sheets name the
//! person), and, for invoices to a company, its name, billing address
//! and a phone number. In "Mon compte", and on `/coordonnees`, where a
//! first checkout sends an account that has no names yet.

use common::profile::ProfilePatch;
use leptos::prelude::*;
use leptos::wasm_bindgen::JsValue;

use crate::api;
use crate::components::feedback::{ErrorLine, Failure, Loading, resource, send};
use crate::router;

/// Where a checkout that needs names first sends the visitor.
pub const PATH: &str = "/coordonnees";

/// `/coordonnees`, going on to `next` once the names are given.
pub fn names_then(next: &str) -> String {
    format!("{PATH}?suite={}", js_sys::encode_uri_component(next))
}

/// Sends to `/coordonnees`, coming back here once the names are given.
pub fn ask_names() {
    let here = window().location().pathname().unwrap_or_default();
    router::navigate(&names_then(&here));
}

/// The form, filled with the profile as it is (`ProfileDto`, read as the
/// browser parsed it: `json.rs`).
#[component]
pub fn ProfileForm(#[prop(into)] saved: Callback<()>) -> impl IntoView {
    let profile = resource(|| crate::json::get("/api/me/profile"));
    view! {
        <Suspense fallback=|| view! { <Loading/> }>
            {move || profile.get().map(|r| match r {
                Ok(p) => view! { <Fields profile=p saved/> }.into_any(),
                Err(error) => view! { <Failure error/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Fields(profile: JsValue, saved: Callback<()>) -> impl IntoView {
    let field = |key: &str| RwSignal::new(crate::json::text(&profile, key));
    let first = field("first_name");
    let last = field("last_name");
    let company = field("company");
    let address = field("billing_address");
    let phone = field("phone");
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let done = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        done.set(false);
        let patch = ProfilePatch {
            first_name: Some(first.get_untracked()),
            last_name: Some(last.get_untracked()),
            company: Some(company.get_untracked()),
            billing_address: Some(address.get_untracked()),
            phone: Some(phone.get_untracked()),
        };
        send(api::update_profile(patch), error, Some(busy), move |_| {
            busy.set(false);
            done.set(true);
            saved.run(());
        });
    };
    let input = |id: &'static str,
                 label: &'static str,
                 value: RwSignal<String>,
                 required: bool,
                 auto: &'static str| {
        view! {
            <label for=id>{label}</label>
            <input id=id type="text" required=required maxlength="200" autocomplete=auto
                prop:value=value on:input=move |ev| value.set(event_target_value(&ev))/>
        }
    };
    view! {
        <form class="auth profile" on:submit=submit aria-label="Mes coordonnées">
            {input("first_name", "Prénom", first, true, "given-name")}
            {input("last_name", "Nom", last, true, "family-name")}
            {input("company", "Entreprise (facultatif)", company, false, "organization")}
            <label for="billing_address">"Adresse de facturation (facultatif)"</label>
            <textarea id="billing_address" rows="3" maxlength="500" autocomplete="street-address"
                prop:value=address on:input=move |ev| address.set(event_target_value(&ev))></textarea>
            {input("phone", "Téléphone (facultatif)", phone, false, "tel")}
            <ErrorLine message=error/>
            <button type="submit" disabled=move || busy.get()>"Enregistrer"</button>
            <Show when=move || done.get()>
                <p class="done" role="status">"Coordonnées enregistrées."</p>
            </Show>
        </form>
    }
}

/// `/coordonnees`: the names a first checkout needs, then back to it.
#[component]
pub fn ProfilePage() -> impl IntoView {
    let back = Callback::new(|()| router::navigate(&router::next_or("/mon-compte")));
    view! {
        <h1>"Vos coordonnées"</h1>
        <p class="lead">"Votre prénom et votre nom figureront sur votre facture et sur la feuille d'émargement."</p>
        <ProfileForm saved=back/>
    }
}
