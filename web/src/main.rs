//! The site's bundle: every page but the administration's.

use leptos::prelude::*;
use web::components::profile_form;
use web::pages::{account, auth, members, presence, session, sessions, thanks};
use web::router;

/// The page drawn at `path`, if this bundle has one there.
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
        presence::TRAINER_PATH => || view! { <presence::PresencePage/> }.into_any(),
        p if presence::session_of(p).is_some() => || view! { <presence::PresencePage/> }.into_any(),
        profile_form::PATH => || view! { <profile_form::ProfilePage/> }.into_any(),
        p if router::session_id_of(p).is_some() => || view! { <session::SessionPage/> }.into_any(),
        p if p.starts_with(thanks::OFFER_PATH) => || view! { <thanks::OfferPage/> }.into_any(),
        _ => return None,
    };
    Some(page)
}

fn main() {
    web::start(page);
}
