//! The admin dashboard. The API decides who is an admin (403 otherwise);
//! these pages only display and send.

pub mod resources;
pub mod sessions;
pub mod subscribers;

use leptos::prelude::*;

/// The dashboard's own menu, above each admin page.
#[component]
pub fn AdminMenu() -> impl IntoView {
    view! {
        <nav class="admin-menu" aria-label="Administration">
            <a href="/admin/immersion-sessions">"Sessions"</a>
            <a href="/admin/abonnements">"Abonnés"</a>
            <a href="/admin/ressources">"Ressources"</a>
        </nav>
    }
}
