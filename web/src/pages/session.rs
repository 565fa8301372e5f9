//! `/immersion-elite/{id}`: one session with what it contains, to read
//! before paying and to share. The server puts the same title and a meta
//! description in the page it sends (`http/spa.rs`), for link previews.

use common::format::{format_session_dates, paragraphs};
use leptos::prelude::*;

use crate::components::feedback::resource;
use crate::components::session_card::SessionCard;
use crate::{api, router};

#[component]
pub fn SessionPage() -> impl IntoView {
    let path = window().location().pathname().unwrap_or_default();
    let id = router::session_id_of(&path).unwrap_or_default();
    let session = resource(move || api::session(id));
    view! {
        <p class="back"><a href="/immersion-elite">"← Toutes les sessions"</a></p>
        <Suspense fallback=|| view! { <p class="loading">"Chargement de la session…"</p> }>
            {move || session.get().map(|result| match result {
                Ok(s) => {
                    let dates = format_session_dates(s.starts_on, s.ends_on);
                    let title = format!("Immersion Élite · {dates} · {}", s.location);
                    document().set_title(&title);
                    let text = s.description.clone().unwrap_or_default();
                    let about = paragraphs(&text)
                        .into_iter()
                        .map(|p| view! { <p>{p.to_owned()}</p> })
                        .collect_view();
                    view! {
                        <h1>"Immersion Élite à "{s.location.clone()}</h1>
                        <div class="session-page">
                            <section class="description" aria-label="Programme">{about}</section>
                            <SessionCard session=s linked=false/>
                        </div>
                    }
                    .into_any()
                }
                Err(e) if e.is(common::ErrorCode::NotFound) => view! {
                    <h1>"Session introuvable"</h1>
                    <p class="empty">"Cette session n'existe pas ou n'est plus proposée."</p>
                }
                .into_any(),
                Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
            })}
        </Suspense>
    }
}
