//! `/admin/integrations`: what third parties use. API keys (issue, list
//! with their last use, revoke) and outgoing webhook endpoints (register,
//! turn off and on, a new secret, delete), with each endpoint's delivery
//! log and "Renvoyer". A secret is shown once, as the API gives it once.

use chrono::Utc;
use common::api_keys::{ApiKeyDto, NewApiKey, Scope};
use common::events::EventType;
use common::webhooks::{
    DeliveryStatus, NewWebhookEndpoint, WebhookDeliveryDto, WebhookEndpointDto,
    WebhookEndpointPatch,
};
use leptos::prelude::*;
use uuid::Uuid;

use super::AdminMenu;
use crate::api;
use crate::browser::local_date_time;
use crate::components::feedback::{ErrorLine, FormFooter, Loading, loaded, resource, send};

/// A secret just issued: what it belongs to, and the secret.
type Shown = RwSignal<Option<(String, String)>>;

#[component]
pub fn AdminIntegrationsPage() -> impl IntoView {
    let shown: Shown = RwSignal::new(None);
    view! {
        <AdminMenu/>
        <h1>"Intégrations"</h1>
        <p class="lead">"Les clés d'API et les webhooks des outils tiers (comptabilité, CRM, automatisations)."</p>
        {move || shown.get().map(|(what, secret)| view! {
            <div class="panel secret" role="status">
                <strong>{what}</strong>
                <p>"Copiez ce secret maintenant : il ne sera plus affiché."</p>
                <code id="new-secret">{secret}</code>
                <button type="button" class="secondary" on:click=move |_| shown.set(None)>"J'ai copié le secret"</button>
            </div>
        })}
        <ApiKeys shown/>
        <WebhookEndpoints shown/>
    }
}

/// A set of choices as checkboxes, kept in `chosen`.
#[component]
fn Choices<T: Copy + PartialEq + Send + Sync + 'static>(
    legend: &'static str,
    all: Vec<T>,
    name: fn(T) -> &'static str,
    chosen: RwSignal<Vec<T>>,
) -> impl IntoView {
    view! {
        <fieldset class="choices">
            <legend>{legend}</legend>
            {all.into_iter().map(|item| view! {
                <label>
                    <input type="checkbox" value=name(item)
                        prop:checked=move || chosen.with(|c| c.contains(&item))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            chosen.update(|c| {
                                c.retain(|x| *x != item);
                                if on { c.push(item) }
                            });
                        }/>
                    " "{name(item)}
                </label>
            }).collect_view()}
        </fieldset>
    }
}

fn or_never(at: Option<chrono::DateTime<Utc>>, never: &'static str) -> String {
    at.map_or_else(|| never.to_owned(), local_date_time)
}

#[component]
fn ApiKeys(shown: Shown) -> impl IntoView {
    let list = resource(api::api_keys);
    let creating = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let created = Callback::new(move |(name, secret): (String, String)| {
        creating.set(false);
        shown.set(Some((format!("Clé « {name} »"), secret)));
        list.refetch();
    });
    view! {
        <section aria-labelledby="keys-title">
            <h2 id="keys-title">"Clés d'API"</h2>
            <button id="new-key" on:click=move |_| creating.set(true)>"Nouvelle clé"</button>
            {move || creating.get().then(|| view! {
                <KeyForm created close=Callback::new(move |()| creating.set(false))/>
            })}
            <ErrorLine message=error/>
            <Transition fallback=|| view! { <Loading/> }>
                {move || list.get().map(|r| loaded(
                    r,
                    view! { <p class="empty">"Aucune clé."</p> }.into_any(),
                    |keys| view! {
                        <div class="table-wrap">
                            <table class="api-keys">
                                <thead><tr>
                                    <th>"Nom"</th><th>"Préfixe"</th><th>"Permissions"</th>
                                    <th>"Expire"</th><th>"Dernier usage"</th><th></th>
                                </tr></thead>
                                <tbody>
                                    {keys.into_iter().map(|key| view! {
                                        <KeyRow key error revoked=Callback::new(move |()| list.refetch())/>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                ))}
            </Transition>
        </section>
    }
}

#[component]
fn KeyRow(key: ApiKeyDto, error: RwSignal<Option<String>>, revoked: Callback<()>) -> impl IntoView {
    let id = key.id;
    let revoke = move |_| {
        let sure = window()
            .confirm_with_message("Révoquer cette clé ? Les outils qui l'utilisent seront refusés.")
            .unwrap_or(false);
        if sure {
            send(api::revoke_api_key(id), error, None, move |()| {
                revoked.run(())
            });
        }
    };
    let scopes = key
        .scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    view! {
        <tr data-key-id=id.to_string()>
            <td data-label="Nom">{key.name}</td>
            <td data-label="Préfixe"><code>{key.prefix}</code></td>
            <td data-label="Permissions" class="scopes">{scopes}</td>
            <td data-label="Expire">{or_never(key.expires_at, "jamais")}</td>
            <td data-label="Dernier usage" class="last-used">{or_never(key.last_used_at, "jamais")}</td>
            <td class="actions"><button class="revoke" on:click=revoke>"Révoquer"</button></td>
        </tr>
    }
}

#[component]
fn KeyForm(created: Callback<(String, String)>, close: Callback<()>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let scopes = RwSignal::new(Vec::<Scope>::new());
    let expires = RwSignal::new(String::new());
    let ips = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // A key valid "until" a day is refused from the end of that day.
        let expires_at = common::wire::parse_date(&expires.get_untracked())
            .and_then(|d| d.and_hms_opt(23, 59, 59))
            .map(|t| t.and_utc());
        let ips = ips.get_untracked();
        let allowed_ips = Some(
            ips.split([',', ' ', '\n'])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        )
        .filter(|l| !l.is_empty());
        let new = NewApiKey {
            name: name.get_untracked(),
            scopes: scopes.get_untracked(),
            expires_at,
            allowed_ips,
        };
        send(api::create_api_key(new), error, Some(busy), move |key| {
            created.run((key.key.name, key.secret))
        });
    };
    view! {
        <form class="panel key-form" on:submit=submit aria-label="Nouvelle clé">
            <h3>"Nouvelle clé"</h3>
            <label for="key-name">"Nom (à quoi sert-elle ?)"</label>
            <input id="key-name" type="text" required maxlength="100" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
            <Choices legend="Permissions" all=Scope::ALL.to_vec() name=Scope::as_str chosen=scopes/>
            <label for="key-expires">"Valable jusqu'au (facultatif)"</label>
            <input id="key-expires" type="date" prop:value=expires on:input=move |ev| expires.set(event_target_value(&ev))/>
            <label for="key-ips">"Adresses autorisées (facultatif, séparées par des virgules)"</label>
            <input id="key-ips" type="text" placeholder="203.0.113.7, 2001:db8::/32" prop:value=ips on:input=move |ev| ips.set(event_target_value(&ev))/>
            <FormFooter error busy close/>
        </form>
    }
}

#[component]
fn WebhookEndpoints(shown: Shown) -> impl IntoView {
    let list = resource(api::webhook_endpoints);
    let creating = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let changed = Callback::new(move |()| list.refetch());
    let created = Callback::new(move |(url, secret): (String, String)| {
        creating.set(false);
        shown.set(Some((format!("Webhook {url}"), secret)));
        list.refetch();
    });
    view! {
        <section aria-labelledby="webhooks-title">
            <h2 id="webhooks-title">"Webhooks"</h2>
            <p>"Chaque événement est envoyé signé (Standard Webhooks), dans l'ordre, avec de nouvelles tentatives pendant 3 jours."</p>
            <button id="new-endpoint" on:click=move |_| creating.set(true)>"Nouveau webhook"</button>
            {move || creating.get().then(|| view! {
                <EndpointForm created close=Callback::new(move |()| creating.set(false))/>
            })}
            <ErrorLine message=error/>
            <Transition fallback=|| view! { <Loading/> }>
                {move || list.get().map(|r| loaded(
                    r,
                    view! { <p class="empty">"Aucun webhook."</p> }.into_any(),
                    |endpoints| view! {
                        <ul class="endpoints">
                            {endpoints.into_iter().map(|endpoint| view! {
                                <Endpoint endpoint shown error changed/>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                ))}
            </Transition>
        </section>
    }
}

#[component]
fn Endpoint(
    endpoint: WebhookEndpointDto,
    shown: Shown,
    error: RwSignal<Option<String>>,
    changed: Callback<()>,
) -> impl IntoView {
    let id = endpoint.id;
    let url = endpoint.url.clone();
    let log = RwSignal::new(false);
    let patch = move |patch: WebhookEndpointPatch| {
        let url = url.clone();
        send(
            api::update_webhook_endpoint(id, patch),
            error,
            None,
            move |answer| {
                if !answer.secret.is_empty() {
                    shown.set(Some((format!("Nouveau secret de {url}"), answer.secret)));
                }
                changed.run(());
            },
        );
    };
    let rotate = patch.clone();
    let toggle = {
        let enabled = endpoint.enabled;
        move |_| {
            patch(WebhookEndpointPatch {
                enabled: Some(!enabled),
                ..Default::default()
            })
        }
    };
    let remove = move |_| {
        let sure = window()
            .confirm_with_message("Supprimer ce webhook et son journal ?")
            .unwrap_or(false);
        if sure {
            send(api::delete_webhook_endpoint(id), error, None, move |()| {
                changed.run(())
            });
        }
    };
    let state = if endpoint.enabled {
        "Actif".to_owned()
    } else {
        format!(
            "Désactivé{}",
            endpoint
                .disabled_reason
                .map(|r| format!(" : {r}"))
                .unwrap_or_default()
        )
    };
    let types = endpoint
        .event_types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    view! {
        <li class="panel endpoint" data-endpoint-id=id.to_string()>
            <strong class="url">{endpoint.url}</strong>
            {endpoint.description.map(|d| view! { <span>{d}</span> })}
            <span class="types">{types}</span>
            <span class="state">{state}</span>
            {endpoint.previous_secret_until.map(|until| view! {
                <span>"L'ancien secret signe aussi jusqu'au "{local_date_time(until)}</span>
            })}
            <span class="actions">
                <button class="log" aria-expanded=move || log.get().to_string() on:click=move |_| log.update(|l| *l = !*l)>"Journal"</button>
                <button class="rotate" on:click=move |_| rotate(WebhookEndpointPatch {
                    rotate_secret: Some(true),
                    ..Default::default()
                })>"Nouveau secret"</button>
                <button class="toggle" on:click=toggle>{if endpoint.enabled { "Désactiver" } else { "Réactiver" }}</button>
                <button class="delete" on:click=remove>"Supprimer"</button>
            </span>
            {move || log.get().then(|| view! { <Deliveries endpoint=id/> })}
        </li>
    }
}

#[component]
fn EndpointForm(created: Callback<(String, String)>, close: Callback<()>) -> impl IntoView {
    let url = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let types = RwSignal::new(Vec::<EventType>::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let new = NewWebhookEndpoint {
            url: url.get_untracked(),
            event_types: types.get_untracked(),
            description: Some(description.get_untracked()).filter(|d| !d.trim().is_empty()),
        };
        send(
            api::create_webhook_endpoint(new),
            error,
            Some(busy),
            move |e| created.run((e.endpoint.url, e.secret)),
        );
    };
    view! {
        <form class="panel endpoint-form" on:submit=submit aria-label="Nouveau webhook">
            <h3>"Nouveau webhook"</h3>
            <label for="endpoint-url">"Adresse (https)"</label>
            <input id="endpoint-url" type="url" required prop:value=url on:input=move |ev| url.set(event_target_value(&ev))/>
            <label for="endpoint-description">"Description (facultatif)"</label>
            <input id="endpoint-description" type="text" maxlength="200" prop:value=description on:input=move |ev| description.set(event_target_value(&ev))/>
            <Choices legend="Événements" all=EventType::ALL.to_vec() name=EventType::as_str chosen=types/>
            <FormFooter error busy close/>
        </form>
    }
}

fn status_fr(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Pending => "En attente",
        DeliveryStatus::Delivered => "Livré",
        DeliveryStatus::Failed => "Abandonné",
    }
}

/// An endpoint's delivery log: each event, where it stands, its last
/// attempt, and "Renvoyer".
#[component]
fn Deliveries(endpoint: Uuid) -> impl IntoView {
    let list = resource(move || api::webhook_deliveries(endpoint));
    let error = RwSignal::new(None::<String>);
    view! {
        <ErrorLine message=error/>
        <Transition fallback=|| view! { <Loading/> }>
            {move || list.get().map(|r| loaded(
                r,
                view! { <p class="empty">"Aucun envoi pour l'instant."</p> }.into_any(),
                |deliveries| view! {
                    <div class="table-wrap">
                        <table class="deliveries">
                            <thead><tr>
                                <th>"Événement"</th><th>"État"</th><th>"Tentatives"</th>
                                <th>"Dernière réponse"</th><th></th>
                            </tr></thead>
                            <tbody>
                                {deliveries.into_iter().map(|d| view! {
                                    <DeliveryRow d error resent=Callback::new(move |()| list.refetch())/>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any(),
            ))}
        </Transition>
    }
}

#[component]
fn DeliveryRow(
    d: WebhookDeliveryDto,
    error: RwSignal<Option<String>>,
    resent: Callback<()>,
) -> impl IntoView {
    let id = d.id;
    let last = d.attempts.last().map(|a| {
        let code = a
            .status_code
            .map_or_else(|| "sans réponse".to_owned(), |c| c.to_string());
        format!(
            "{} · {code} · {} ms · {}",
            local_date_time(a.at),
            a.duration_ms,
            a.excerpt
        )
    });
    let resend = move |_| {
        send(api::resend_webhook_delivery(id), error, None, move |()| {
            resent.run(())
        })
    };
    view! {
        <tr data-delivery-id=id.to_string() data-event-id=d.event_id.to_string()>
            <td data-label="Événement">{d.event_type.as_str()}</td>
            <td data-label="État" class="status">{status_fr(d.status)}</td>
            <td data-label="Tentatives" class="attempts">{d.attempts.len()}</td>
            <td data-label="Dernière réponse" class="last">{last.unwrap_or_default()}</td>
            <td class="actions"><button class="resend" on:click=resend>"Renvoyer"</button></td>
        </tr>
    }
}
