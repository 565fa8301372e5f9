use common::auth::Role;
use leptos::prelude::*;

use crate::api;
use crate::browser::go;
use crate::components::feedback::resource;
use crate::router::Link;

/// Bumped on sign-in and sign-out so that the header asks again who is
/// signed in (it is mounted once, above every page).
#[derive(Clone, Copy)]
pub struct AuthChanged(pub RwSignal<u32>);

impl AuthChanged {
    /// Read where the component is built (async tasks have no context).
    pub fn here() -> Self {
        use_context::<Self>().unwrap_or(Self(RwSignal::new(0)))
    }

    pub fn notify(self) {
        self.0.update(|n| *n += 1);
    }
}

/// The header: the catalog, and who is signed in (their account, the
/// dashboard for admins, sign out) or the ways to sign in.
#[component]
pub fn Nav() -> impl IntoView {
    let changed = AuthChanged::here();
    let me = resource(move || {
        changed.0.track();
        api::me()
    });
    let sign_out = move |_| {
        leptos::task::spawn_local(async move {
            // Signed out or not, start afresh from the catalog.
            let _ = api::logout().await;
            go("/immersion-elite");
        });
    };
    view! {
        <header class="nav">
            <Link href="/immersion-elite">"Immersion Élite"</Link>
            <nav aria-label="Compte">
                <Transition fallback=|| ()>
                    {move || me.get().map(|who| match who {
                        Ok(Some(user)) => view! {
                            <Link href="/app">"Espace membres"</Link>
                            {(user.role == Role::Admin).then(|| view! {
                                <Link href="/admin">"Administration"</Link>
                            })}
                            <Link href="/mon-compte">"Mon compte"</Link>
                            <span class="who">{user.email}</span>
                            <button class="link" on:click=sign_out>"Déconnexion"</button>
                        }.into_any(),
                        Ok(None) | Err(_) => view! {
                            <Link href="/connexion">"Connexion"</Link>
                            <Link href="/inscription">"Inscription"</Link>
                        }.into_any(),
                    })}
                </Transition>
            </nav>
        </header>
    }
}
