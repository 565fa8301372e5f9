//! The admin dashboard. The API decides who is an admin (403 otherwise);
//! these pages only display and send.

pub mod dashboard;
pub mod integrations;
pub mod resources;
pub mod sessions;
pub mod subscribers;

use leptos::prelude::*;

use crate::router::Link;

/// The dashboard's own menu, above each admin page.
#[component]
pub fn AdminMenu() -> impl IntoView {
    view! {
        <nav class="admin-menu" aria-label="Administration">
            <Link href="/admin">"Tableau de bord"</Link>
            <Link href="/admin/immersion-sessions">"Sessions"</Link>
            <Link href="/admin/abonnements">"Abonnés"</Link>
            <Link href="/admin/ressources">"Ressources"</Link>
            <Link href="/admin/integrations">"Intégrations"</Link>
        </nav>
    }
}
