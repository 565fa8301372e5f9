use leptos::prelude::*;
use leptos_router::components::A;

use crate::api;

/// The header: the catalog, and who is signed in (or the ways to sign in).
#[component]
pub fn Nav() -> impl IntoView {
    let me = LocalResource::new(api::me);
    view! {
        <header class="nav">
            <A href="/immersion-elite">"Immersion Élite"</A>
            <nav>
                <Transition fallback=|| ()>
                    {move || me.get().map(|who| match who {
                        Ok(Some(user)) => view! { <span class="who">{user.email}</span> }.into_any(),
                        Ok(None) | Err(_) => view! {
                            <A href="/connexion">"Connexion"</A>
                            <A href="/inscription">"Inscription"</A>
                        }.into_any(),
                    })}
                </Transition>
            </nav>
        </header>
    }
}
