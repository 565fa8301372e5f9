use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <h1>"Page introuvable"</h1>
        <p><A href="/immersion-elite">"Voir les sessions Immersion Élite"</A></p>
    }
}
