//! The Immersion single-page app (client-side rendered, in French), as two
//! bundles over this one library: the site (`main.rs`: the catalog,
//! sign-in, the account and the members' area) and the administration
//! (`bin/admin.rs`, served under `/admin`). Visitors never download the
//! admin pages, and each bundle keeps its own size budget
//! (bench/web_size.sh). Pages read and change everything through the API
//! (`api`); the server decides, the app displays.

pub mod api;
pub mod browser;
pub mod components;
pub mod json;
pub mod pages;
pub mod router;

use leptos::prelude::*;

/// The page a bundle draws at a path, if it has one there.
pub type Pages = fn(&str) -> Option<fn() -> AnyView>;

/// Starts a bundle that draws `pages`. Links to a path it has not are
/// left to the browser, which loads the other bundle.
pub fn start(pages: Pages) {
    // The server's first screen (`#boot`, api/src/http/share.rs) gives way
    // to the app, which draws the same in the same place.
    if let Some(boot) = document().get_element_by_id("boot") {
        boot.remove();
    }
    leptos::mount::mount_to_body(move || view! { <App pages/> });
}

#[component]
fn App(pages: Pages) -> impl IntoView {
    provide_context(components::nav::AuthChanged(RwSignal::new(0)));
    let path = router::current_path(pages);
    view! {
        <components::nav::Nav/>
        <main>
            {move || {
                let here = path.get();
                // Each page starts with the site's title; a page that has
                // its own (a session's) sets it once it knows it.
                document().set_title("Immersion Élite");
                match pages(&here) {
                    Some(draw) => draw(),
                    None => view! { <pages::not_found::NotFound/> }.into_any(),
                }
            }}
        </main>
    }
}
