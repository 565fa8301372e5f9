//! `/admin/abonnements`: every user with their subscription, filterable,
//! and their role: an admin makes another account admin or takes it back
//! (never their own; the API says why when it refuses).

use common::auth::Role;
use common::format::format_date;
use common::subscriptions::{SubscriberDto, SubscriptionType};
use leptos::prelude::*;

use super::AdminMenu;
use crate::api;
use crate::components::feedback::{ErrorLine, Loading, loaded, resource, send};

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
        async move {
            // Whose page this is: their own row offers no role change.
            let me = api::me().await?.map(|u| u.id);
            let rows = api::subscribers(active).await?;
            Ok(rows
                .into_iter()
                .map(|s| {
                    let mine = Some(s.user_id) == me;
                    (s, mine)
                })
                .collect::<Vec<_>>())
        }
    });
    let error = RwSignal::new(None::<String>);
    let changed = Callback::new(move |()| list.refetch());
    view! {
        <AdminMenu/>
        <h1>"Abonnés"</h1>
        <label for="filter">"Afficher "</label>
        <select id="filter" on:change=move |ev| filter.set(event_target_value(&ev))>
            <option value="">"tous les comptes"</option>
            <option value="actifs">"les abonnements actifs"</option>
            <option value="inactifs">"les comptes sans accès"</option>
        </select>
        <ErrorLine message=error/>
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
                                <th scope="col">"Rôle"</th>
                            </tr></thead>
                            <tbody>{rows.into_iter().map(|(s, mine)| row(s, mine, error, changed)).collect_view()}</tbody>
                        </table>
                    </div>
                }.into_any(),
            ))}
        </Transition>
    }
}

fn row(
    s: SubscriberDto,
    mine: bool,
    error: RwSignal<Option<String>>,
    changed: Callback<()>,
) -> impl IntoView {
    let (id, admin) = (s.user_id, s.role == Role::Admin);
    let (label, to) = if admin {
        ("Retirer le rôle admin", Role::User)
    } else {
        ("Rendre admin", Role::Admin)
    };
    // Only a verified address can be made admin.
    let change = (!mine && (admin || s.email_verified)).then(|| {
        view! {
            <button class="role" on:click=move |_| send(api::set_role(id, to), error, None, move |_| changed.run(()))>{label}</button>
        }
    });
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
            <td class="role" data-label="Rôle">{if admin { "Admin " } else { "Membre " }}{change}</td>
        </tr>
    }
}
