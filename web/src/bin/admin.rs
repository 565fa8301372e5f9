//! The administration's bundle, served under `/admin` (the api's
//! `http/spa.rs` sends `admin.html` there). The API decides who is an
//! admin (403 otherwise); these pages only display and send.

use leptos::prelude::*;
use web::pages::admin::{dashboard, integrations, resources, sessions, subscribers};

/// The page drawn at `path`, if this bundle has one there.
fn page(path: &str) -> Option<fn() -> AnyView> {
    let page: fn() -> AnyView = match path {
        "/admin" => || view! { <dashboard::DashboardPage/> }.into_any(),
        "/admin/immersion-sessions" => || view! { <sessions::AdminSessionsPage/> }.into_any(),
        "/admin/abonnements" => || view! { <subscribers::AdminSubscribersPage/> }.into_any(),
        "/admin/ressources" => || view! { <resources::AdminResourcesPage/> }.into_any(),
        "/admin/integrations" => || view! { <integrations::AdminIntegrationsPage/> }.into_any(),
        _ => return None,
    };
    Some(page)
}

fn main() {
    web::start(page);
}
