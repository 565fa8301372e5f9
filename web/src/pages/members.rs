//! `/abonnement` (choose a plan), `/abonnement/merci`, and `/app`: the
//! members' area, or the blocked screen with the reason. The guard follows
//! `GET /api/me/access`: the server decides, the app displays.

use common::money::format_price;
use common::subscriptions::{AccessReason, Plan, SubscriptionType, yearly_saving};
use leptos::prelude::*;

use crate::api;
use crate::browser::go;
use crate::components::feedback::{ErrorLine, resource, send};

#[component]
pub fn SubscribePage() -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let choose = move |plan: Plan| {
        move |_| {
            if !api::believed_signed_in() {
                crate::router::navigate("/connexion?suite=/abonnement");
                return;
            }
            let opened = async move {
                match api::subscribe(plan).await {
                    // An account from before names were asked gives them first.
                    Err(e) if e.is(common::ErrorCode::ProfileIncomplete) => {
                        crate::components::profile_form::ask_names();
                        Ok(())
                    }
                    other => other.map(|r| go(&r.url)),
                }
            };
            send(opened, error, None, |()| ());
        }
    };
    // The prices as the payment provider states them; the buttons work
    // before (or without) them.
    let plans = resource(api::plans);
    let price = move |plan: Plan| {
        plans
            .get()
            .and_then(Result::ok)
            .and_then(|all| all.iter().find(|p| p.plan == plan).map(|p| p.label()))
    };
    let saving = move || {
        let all = plans.get()?.ok()?;
        let cents = yearly_saving(&all)?;
        Some(format!(
            "soit {} d'économie par an",
            format_price(cents, &all[0].currency)
        ))
    };
    view! {
        <h1>"Abonnement"</h1>
        <p class="lead">{common::pages::SUBSCRIBE_LEAD}</p>
        <div class="plans">
            <div class="plan-choice">
                <p class="price" id="price-monthly">{move || price(Plan::Monthly)}</p>
                <button id="plan-monthly" on:click=choose(Plan::Monthly)>"S'abonner (mensuel)"</button>
            </div>
            <div class="plan-choice">
                <p class="price" id="price-yearly">{move || price(Plan::Yearly)}</p>
                <p class="saving" id="yearly-saving">{saving}</p>
                <button id="plan-yearly" on:click=choose(Plan::Yearly)>"S'abonner (annuel)"</button>
            </div>
        </div>
        <ErrorLine message=error/>
    }
}

#[component]
pub fn SubscribedPage() -> impl IntoView {
    view! {
        <h1>"Merci !"</h1>
        <p role="status">"Votre abonnement est pris en compte."</p>
        <p><a href="/app">"Entrer dans l'espace membres"</a></p>
    }
}

fn reason_fr(reason: AccessReason) -> &'static str {
    match reason {
        AccessReason::NoSubscription => "Vous n'avez pas d'abonnement.",
        AccessReason::PeriodEnded => "Votre période d'abonnement est terminée.",
        AccessReason::PaymentFailed => "Le dernier paiement de votre abonnement a échoué.",
        AccessReason::Canceled => "Votre abonnement a été résilié.",
        AccessReason::Incomplete => "Le premier paiement de votre abonnement n'a pas abouti.",
        AccessReason::Paused => "Votre abonnement est en pause.",
        AccessReason::Admin | AccessReason::Subscribed | AccessReason::GracePeriod => "",
    }
}

#[component]
fn SubscriptionBlocked(reason: AccessReason) -> impl IntoView {
    view! {
        <section class="blocked" aria-labelledby="blocked-title">
            <h1 id="blocked-title">"Accès réservé aux abonnés"</h1>
            <p class="reason">{reason_fr(reason)}</p>
            <p><a href="/abonnement">"S'abonner"</a></p>
        </section>
    }
}

/// "Gérer mon abonnement": off to the Customer Portal.
#[component]
pub fn ManageSubscription() -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let manage = move |_| send(api::portal(), error, None, |r| go(&r.url));
    view! {
        <button id="manage" on:click=manage>"Gérer mon abonnement"</button>
        <ErrorLine message=error/>
    }
}

/// `subscribed`: a subscription to manage (an admin may have none: the
/// portal button could only fail for them).
#[component]
fn MembersArea(subscribed: bool) -> impl IntoView {
    let resources = resource(api::member_resources);
    view! {
        <h1>"Espace membres"</h1>
        {subscribed.then(|| view! { <ManageSubscription/> })}
        <Suspense fallback=|| view! { <p class="loading">"Chargement…"</p> }>
            {move || resources.get().map(|r| match r {
                Ok(list) if list.is_empty() => view! { <p class="empty">"Aucune ressource pour le moment."</p> }.into_any(),
                Ok(list) => view! {
                    <ul class="resources">
                        {list.into_iter().map(|res| view! {
                            <li>
                                {match res.url {
                                    Some(url) => view! { <a href=url>{res.title}</a> }.into_any(),
                                    None => view! { <strong>{res.title}</strong> }.into_any(),
                                }}
                                {res.body.map(|b| view! { <p>{b}</p> })}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
            })}
        </Suspense>
    }
}

/// Asks the server whether the signed-in user may enter.
#[component]
fn AccessGate() -> impl IntoView {
    let access = resource(api::access);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Vérification de votre accès…"</p> }>
            {move || access.get().map(|a| match a {
                Ok(a) if a.active => view! {
                    <MembersArea subscribed=a.subscription_type != SubscriptionType::Free/>
                }.into_any(),
                Ok(a) => view! { <SubscriptionBlocked reason=a.reason/> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
pub fn AppPage() -> impl IntoView {
    if api::believed_signed_in() {
        view! { <AccessGate/> }.into_any()
    } else {
        view! { <SubscriptionBlocked reason=AccessReason::NoSubscription/> }.into_any()
    }
}
