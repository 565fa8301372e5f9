//! The admin dashboard. The API decides who is an admin (403 otherwise);
//! these pages only display and send.

pub mod resources;
pub mod sessions;
pub mod subscribers;

use leptos::prelude::*;
use leptos_router::components::A;

/// The dashboard's own menu, above each admin page.
#[component]
pub fn AdminMenu() -> impl IntoView {
    view! {
        <nav class="admin-menu" aria-label="Administration">
            <A href="/admin/immersion-sessions">"Sessions"</A>
            <A href="/admin/abonnements">"Abonnés"</A>
            <A href="/admin/ressources">"Ressources"</A>
        </nav>
    }
}
