//! `/connexion` and `/inscription`: labelled fields, inline errors.

use leptos::prelude::*;

use crate::api;
use crate::components::feedback::{ErrorLine, send};
use crate::components::nav::AuthChanged;
use crate::router;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Login,
    Register,
}

#[component]
fn AuthForm(mode: Mode) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let auth = AuthChanged::here();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (e, p) = (email.get_untracked(), password.get_untracked());
        let next = router::query("suite")
            .filter(|s| s.starts_with('/'))
            .unwrap_or_else(|| "/immersion-elite".to_owned());
        let sign_in = async move {
            match mode {
                Mode::Login => api::login(e, p).await,
                Mode::Register => api::register(e, p).await,
            }
        };
        send(sign_in, error, Some(busy), move |_| {
            auth.notify();
            router::navigate(&next);
        });
    };
    let (title, button) = match mode {
        Mode::Login => ("Connexion", "Se connecter"),
        Mode::Register => ("Inscription", "Créer mon compte"),
    };
    view! {
        <h1>{title}</h1>
        <form class="auth" on:submit=submit>
            <label for="email">"E-mail"</label>
            <input id="email" name="email" type="email" autocomplete="email" required
                prop:value=email on:input=move |ev| email.set(event_target_value(&ev))/>
            <label for="password">"Mot de passe"</label>
            <input id="password" name="password" type="password" required
                autocomplete=if mode == Mode::Login { "current-password" } else { "new-password" }
                minlength=if mode == Mode::Register { "10" } else { "1" }
                prop:value=password on:input=move |ev| password.set(event_target_value(&ev))/>
            <ErrorLine message=error/>
            <button type="submit" disabled=move || busy.get()>{button}</button>
        </form>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    view! { <AuthForm mode=Mode::Login/> }
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    view! { <AuthForm mode=Mode::Register/> }
}
