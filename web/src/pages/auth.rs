//! `/connexion` and `/inscription`: labelled fields, inline errors; and
//! the pages the account mails link to: `/verifier-email`,
//! `/mot-de-passe-oublie`, `/mot-de-passe/nouveau`.

use leptos::prelude::*;

use crate::api;
use crate::components::feedback::{ErrorLine, resource, send};
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
    let first = RwSignal::new(String::new());
    let last = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let auth = AuthChanged::here();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (e, p) = (email.get_untracked(), password.get_untracked());
        let next = router::next_or("/immersion-elite");
        let names = common::profile::ProfilePatch {
            first_name: Some(first.get_untracked()),
            last_name: Some(last.get_untracked()),
            ..Default::default()
        };
        // Where to go once signed in.
        let sign_in = async move {
            match mode {
                Mode::Login => api::login(e, p).await.map(|_| next),
                // The names go with the account (a first booking needs
                // them); the account exists once registered, so names it
                // refuses are asked again on their own page.
                Mode::Register => {
                    api::register(e, p).await?;
                    Ok(match api::update_profile(names).await {
                        Ok(_) => next,
                        Err(_) => crate::components::profile_form::names_then(&next),
                    })
                }
            }
        };
        send(sign_in, error, Some(busy), move |to| {
            auth.notify();
            router::navigate(&to);
        });
    };
    let (title, button) = match mode {
        Mode::Login => ("Connexion", "Se connecter"),
        Mode::Register => ("Inscription", "Créer mon compte"),
    };
    view! {
        <h1>{title}</h1>
        <form class="auth" on:submit=submit>
            {(mode == Mode::Register).then(|| view! {
                <label for="first_name">"Prénom"</label>
                <input id="first_name" type="text" autocomplete="given-name" required maxlength="100"
                    prop:value=first on:input=move |ev| first.set(event_target_value(&ev))/>
                <label for="last_name">"Nom"</label>
                <input id="last_name" type="text" autocomplete="family-name" required maxlength="100"
                    prop:value=last on:input=move |ev| last.set(event_target_value(&ev))/>
            })}
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
        {(mode == Mode::Login).then(|| view! {
            <p><a href="/mot-de-passe-oublie">"Mot de passe oublié ?"</a></p>
        })}
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

/// Where a verification token waits while its owner signs in.
const PENDING_TOKEN: &str = "immersion.verify_token";

fn session_storage() -> Option<web_sys::Storage> {
    window().session_storage().ok().flatten()
}

/// The link of the verification mail. It confirms the address when the
/// account it was sent for is signed in here (the link alone proves the
/// mailbox, not the account); otherwise it asks to sign in first and
/// keeps the token for the way back.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let stored = session_storage().and_then(|s| s.get_item(PENDING_TOKEN).ok().flatten());
    let token = router::fragment("token").or(stored).unwrap_or_default();
    if !api::believed_signed_in() {
        if let Some(s) = session_storage() {
            let _ = s.set_item(PENDING_TOKEN, &token);
        }
        return view! {
            <h1>"Confirmation de l'adresse e-mail"</h1>
            <p>"Connectez-vous au compte de cette adresse pour la confirmer. "
                <a href="/connexion?suite=/verifier-email">"Se connecter"</a></p>
        }
        .into_any();
    }
    let auth = AuthChanged::here();
    let result = resource(move || api::verify_email(token.clone()));
    view! {
        <h1>"Confirmation de l'adresse e-mail"</h1>
        <Suspense fallback=|| view! { <crate::components::feedback::Loading/> }>
            {move || result.get().map(|r| match r {
                Ok(user) => {
                    if let Some(s) = session_storage() {
                        let _ = s.remove_item(PENDING_TOKEN);
                    }
                    auth.notify();
                    view! {
                        <p class="done" role="status">"Votre adresse "<strong>{user.email}</strong>" est confirmée."</p>
                        <p><a href="/mon-compte">"Aller à mon compte"</a></p>
                    }.into_any()
                }
                Err(e) => view! {
                    <p class="error" role="alert">{e.message}</p>
                    <p>"Ce lien doit être ouvert connecté au compte auquel il a été envoyé. "
                        <a href="/mon-compte">"Mon compte"</a>" permet d'en recevoir un nouveau."</p>
                }.into_any(),
            })}
        </Suspense>
    }
    .into_any()
}

/// "Mot de passe oublié": the same answer whether the address has an
/// account or not.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let sent = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        send(
            api::request_password_reset(email.get_untracked()),
            error,
            Some(busy),
            move |()| sent.set(true),
        );
    };
    view! {
        <h1>"Mot de passe oublié"</h1>
        <Show
            when=move || sent.get()
            fallback=move || view! {
                <form class="auth" on:submit=submit>
                    <label for="email">"E-mail"</label>
                    <input id="email" name="email" type="email" autocomplete="email" required
                        prop:value=email on:input=move |ev| email.set(event_target_value(&ev))/>
                    <ErrorLine message=error/>
                    <button type="submit" disabled=move || busy.get()>"Recevoir un lien"</button>
                </form>
            }
        >
            <p class="done" role="status">
                "Si un compte existe avec cette adresse, un e-mail vient de lui être envoyé : \
                 ouvrez le lien qu'il contient dans l'heure."
            </p>
        </Show>
    }
}

/// The link of the reset mail: a new password, then sign in again.
#[component]
pub fn NewPasswordPage() -> impl IntoView {
    let token = router::fragment("token").unwrap_or_default();
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let done = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        send(
            api::reset_password(token.clone(), password.get_untracked()),
            error,
            Some(busy),
            move |()| done.set(true),
        );
    };
    view! {
        <h1>"Nouveau mot de passe"</h1>
        <Show
            when=move || done.get()
            fallback=move || view! {
                <form class="auth" on:submit=submit.clone()>
                    <label for="password">"Nouveau mot de passe"</label>
                    <input id="password" name="password" type="password" required minlength="10"
                        autocomplete="new-password"
                        prop:value=password on:input=move |ev| password.set(event_target_value(&ev))/>
                    <ErrorLine message=error/>
                    <button type="submit" disabled=move || busy.get()>"Changer le mot de passe"</button>
                </form>
            }
        >
            <p class="done" role="status">
                "Votre mot de passe est changé, et toutes vos sessions sont fermées. "
                <a href="/connexion">"Se connecter"</a>
            </p>
        </Show>
    }
}
