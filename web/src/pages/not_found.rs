use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <h1>"Page introuvable"</h1>
        <p><a href="/immersion-elite">"Voir les sessions Immersion Élite"</a></p>
    }
}
