//! The Immersion single-page app (client-side rendered, in French). Pages
//! read and change everything through the API (`api`); the server decides,
//! the app displays.

mod api;
mod browser;
mod components;
mod pages;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

#[component]
fn App() -> impl IntoView {
    provide_context(components::nav::AuthChanged(RwSignal::new(0)));
    view! {
        <Router>
            <components::nav::Nav/>
            <main>
                <Routes fallback=|| view! { <pages::not_found::NotFound/> }>
                    <Route path=path!("/") view=pages::sessions::SessionsPage/>
                    <Route path=path!("/immersion-elite") view=pages::sessions::SessionsPage/>
                    <Route path=path!("/immersion-elite/merci") view=pages::thanks::ThanksPage/>
                    <Route path=path!("/immersion-elite/annulation") view=pages::thanks::CancelledPage/>
                    <Route path=path!("/connexion") view=pages::auth::LoginPage/>
                    <Route path=path!("/inscription") view=pages::auth::RegisterPage/>
                    <Route path=path!("/abonnement") view=pages::members::SubscribePage/>
                    <Route path=path!("/abonnement/merci") view=pages::members::SubscribedPage/>
                    <Route path=path!("/app") view=pages::members::AppPage/>
                    <Route path=path!("/mon-compte") view=pages::account::AccountPage/>
                    <Route path=path!("/admin/immersion-sessions") view=pages::admin::sessions::AdminSessionsPage/>
                    <Route path=path!("/admin/abonnements") view=pages::admin::subscribers::AdminSubscribersPage/>
                    <Route path=path!("/admin/ressources") view=pages::admin::resources::AdminResourcesPage/>
                </Routes>
            </main>
        </Router>
    }
}

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
