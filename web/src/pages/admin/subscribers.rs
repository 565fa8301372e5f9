//! `/admin/abonnements`: every user with their subscription, filterable.

use common::format::format_date;
use common::subscriptions::{SubscriberDto, SubscriptionType};
use leptos::prelude::*;

use super::AdminMenu;
use crate::api;
use crate::components::feedback::{Loading, loaded, resource};

fn plan_fr(t: SubscriptionType) -> &'static str {
    match t {
        SubscriptionType::Free => "—",
        SubscriptionType::PremiumMonthly => "Mensuel",
        SubscriptionType::PremiumYearly => "Annuel",
    }
}

#[component]
pub fn AdminSubscribersPage() -> impl IntoView {
    let filter = RwSignal::new(String::new());
    let list = resource(move || {
        let active = match filter.get().as_str() {
            "actifs" => Some(true),
            "inactifs" => Some(false),
            _ => None,
        };
        api::subscribers(active)
    });
    view! {
        <AdminMenu/>
        <h1>"Abonnés"</h1>
        <label for="filter">"Afficher "</label>
        <select id="filter" on:change=move |ev| filter.set(event_target_value(&ev))>
            <option value="">"tous les comptes"</option>
            <option value="actifs">"les abonnements actifs"</option>
            <option value="inactifs">"les comptes sans accès"</option>
        </select>
        <Transition fallback=|| view! { <Loading/> }>
            {move || list.get().map(|r| loaded(
                r,
                view! { <p class="empty">"Aucun compte."</p> }.into_any(),
                |rows| view! {
                    <div class="table-wrap">
                        <table class="subscribers">
                            <thead><tr>
                                <th scope="col">"E-mail"</th><th scope="col">"Formule"</th><th scope="col">"Accès"</th>
                                <th scope="col">"Statut Stripe"</th><th scope="col">"Fin de période"</th>
                            </tr></thead>
                            <tbody>{rows.into_iter().map(row).collect_view()}</tbody>
                        </table>
                    </div>
                }.into_any(),
            ))}
        </Transition>
    }
}

fn row(s: SubscriberDto) -> impl IntoView {
    let end = s.current_period_end.map(|d| {
        let day = format_date(d.date_naive());
        if s.cancel_at_period_end {
            format!("{day} (résilié)")
        } else {
            day
        }
    });
    view! {
        <tr>
            <td data-label="E-mail">{s.email}</td>
            <td data-label="Formule">{plan_fr(s.subscription_type)}</td>
            <td class="access" data-label="Accès">{if s.is_active { "Actif" } else { "Inactif" }}</td>
            <td data-label="Statut Stripe">{s.stripe_status.unwrap_or_else(|| "—".into())}</td>
            <td data-label="Fin de période">{end.unwrap_or_else(|| "—".into())}</td>
        </tr>
    }
}
