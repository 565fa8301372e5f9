//! The Immersion single-page app (client-side rendered, in French). Pages
//! read and change everything through the API (`api`); the server decides,
//! the app displays.

mod api;
mod browser;
mod components;
mod json;
mod pages;
mod router;

use leptos::prelude::*;

use pages::{account, admin, auth, members, not_found, session, sessions, thanks};

/// The page drawn at `path`, if the app has one there.
fn page(path: &str) -> Option<fn() -> AnyView> {
    let page: fn() -> AnyView = match path {
        "/" | "/immersion-elite" => || view! { <sessions::SessionsPage/> }.into_any(),
        "/immersion-elite/merci" => || view! { <thanks::ThanksPage/> }.into_any(),
        "/immersion-elite/annulation" => || view! { <thanks::CancelledPage/> }.into_any(),
        "/connexion" => || view! { <auth::LoginPage/> }.into_any(),
        "/inscription" => || view! { <auth::RegisterPage/> }.into_any(),
        "/verifier-email" => || view! { <auth::VerifyEmailPage/> }.into_any(),
        "/mot-de-passe-oublie" => || view! { <auth::ForgotPasswordPage/> }.into_any(),
        "/mot-de-passe/nouveau" => || view! { <auth::NewPasswordPage/> }.into_any(),
        "/abonnement" => || view! { <members::SubscribePage/> }.into_any(),
        "/abonnement/merci" => || view! { <members::SubscribedPage/> }.into_any(),
        "/app" => || view! { <members::AppPage/> }.into_any(),
        "/mon-compte" => || view! { <account::AccountPage/> }.into_any(),
        components::profile_form::PATH => {
            || view! { <components::profile_form::ProfilePage/> }.into_any()
        }
        "/admin" => || view! { <admin::dashboard::DashboardPage/> }.into_any(),
        "/admin/immersion-sessions" => {
            || view! { <admin::sessions::AdminSessionsPage/> }.into_any()
        }
        "/admin/abonnements" => || view! { <admin::subscribers::AdminSubscribersPage/> }.into_any(),
        "/admin/ressources" => || view! { <admin::resources::AdminResourcesPage/> }.into_any(),
        p if router::session_id_of(p).is_some() => || view! { <session::SessionPage/> }.into_any(),
        p if p.starts_with(thanks::OFFER_PATH) => || view! { <thanks::OfferPage/> }.into_any(),
        _ => return None,
    };
    Some(page)
}

#[component]
fn App() -> impl IntoView {
    provide_context(components::nav::AuthChanged(RwSignal::new(0)));
    let path = router::current_path(|p| page(p).is_some());
    view! {
        <components::nav::Nav/>
        <main>
            {move || {
                let here = path.get();
                // Each page starts with the site's title; a page that has
                // its own (a session's) sets it once it knows it.
                document().set_title("Immersion Élite");
                match page(&here) {
                    Some(draw) => draw(),
                    None => view! { <not_found::NotFound/> }.into_any(),
                }
            }}
        </main>
    }
}

fn main() {
    // The server's first screen (`#boot`, api/src/http/share.rs) gives way
    // to the app, which draws the same in the same place.
    if let Some(boot) = document().get_element_by_id("boot") {
        boot.remove();
    }
    leptos::mount::mount_to_body(App);
}
