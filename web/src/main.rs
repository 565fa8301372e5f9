//! The Immersion single-page app (client-side rendered). This first page
//! only proves the wasm build and the shared `common` crate; the real
//! screens come with the SPA work.

use common::format::format_remaining_places;
use common::money::format_price;
use leptos::prelude::*;

#[component]
fn App() -> impl IntoView {
    view! {
        <main>
            <h1>"Immersion Élite"</h1>
            <p>{format!("Cinq jours en petit groupe, {} la place.", format_price(199_700, "EUR"))}</p>
            <p>{format_remaining_places(8)}</p>
            <a href="/api/docs/">"Documentation de l'API"</a>
        </main>
    }
}

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
