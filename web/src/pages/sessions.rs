//! `/immersion-elite`: the sessions from the API.

use leptos::prelude::*;

use crate::api;
use crate::components::feedback::resource;
use crate::components::session_card::SessionCard;

#[component]
pub fn SessionsPage() -> impl IntoView {
    let sessions = resource(api::sessions);
    view! {
        <h1>"Immersion Élite"</h1>
        <p class="lead">{common::pages::CATALOG_LEAD}</p>
        <Suspense fallback=|| view! { <p class="loading">"Chargement des sessions…"</p> }>
            {move || sessions.get().map(|result| match result {
                Ok(list) if list.is_empty() => {
                    view! { <p class="empty">"Aucune session n'est ouverte pour le moment."</p> }.into_any()
                }
                Ok(list) => view! {
                    <div class="sessions">
                        {list.into_iter().map(|s| view! { <SessionCard session=s/> }).collect_view()}
                    </div>
                }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
            })}
        </Suspense>
    }
}
