//! `/admin/ressources`: the members' area content: add, edit, remove and
//! order the resources subscribers see in `/app`.

use common::resources::{NewResource, ResourceDto, ResourceKind, ResourcePatch};
use leptos::prelude::*;
use uuid::Uuid;

use super::AdminMenu;
use crate::api;
use crate::components::feedback::{ErrorLine, FormFooter, Loading, loaded, resource, send};

const KINDS: [(ResourceKind, &str); 4] = [
    (ResourceKind::Link, "Lien"),
    (ResourceKind::Video, "Vidéo"),
    (ResourceKind::Document, "Document"),
    (ResourceKind::Text, "Texte"),
];

fn kind_fr(kind: ResourceKind) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("", |(_, label)| label)
}

#[component]
pub fn AdminResourcesPage() -> impl IntoView {
    let list = resource(api::admin_resources);
    let editing = RwSignal::new(None::<Option<ResourceDto>>);
    let error = RwSignal::new(None::<String>);
    let changed = Callback::new(move |()| {
        editing.set(None);
        list.refetch();
    });
    view! {
        <AdminMenu/>
        <h1>"Ressources des membres"</h1>
        <button id="new-resource" on:click=move |_| editing.set(Some(None))>"Nouvelle ressource"</button>
        {move || editing.get().map(|r| view! {
            <ResourceForm existing=r saved=changed close=Callback::new(move |()| editing.set(None))/>
        })}
        <ErrorLine message=error/>
        <Transition fallback=|| view! { <Loading/> }>
            {move || list.get().map(|r| loaded(
                r,
                view! { <p class="empty">"Aucune ressource."</p> }.into_any(),
                |rows| {
                    let order: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
                    let last = rows.len() - 1;
                    view! {
                        <ol class="admin-resources">
                            {rows.into_iter().enumerate().map(|(i, res)| view! {
                                <ResourceItem res i last order=order.clone() editing error changed/>
                            }).collect_view()}
                        </ol>
                    }.into_any()
                },
            ))}
        </Transition>
    }
}

#[component]
fn ResourceItem(
    res: ResourceDto,
    i: usize,
    last: usize,
    order: Vec<Uuid>,
    editing: RwSignal<Option<Option<ResourceDto>>>,
    error: RwSignal<Option<String>>,
    changed: Callback<()>,
) -> impl IntoView {
    let id = res.id;
    let swap = move |with: usize| {
        let mut ids = order.clone();
        ids.swap(i, with);
        send(api::reorder_resources(ids), error, None, move |_| {
            changed.run(())
        });
    };
    let swap_up = swap.clone();
    let delete = move |_| {
        let sure = window()
            .confirm_with_message("Supprimer cette ressource ?")
            .unwrap_or(false);
        if sure {
            send(api::delete_resource(id), error, None, move |()| {
                changed.run(())
            });
        }
    };
    let target = res.clone();
    view! {
        <li data-resource-id=id.to_string()>
            <strong>{res.title.clone()}</strong>" · "{kind_fr(res.kind)}
            <span class="actions">
                <button class="up" disabled=i == 0 aria-label="Monter" on:click=move |_| swap_up(i.saturating_sub(1))>"↑"</button>
                <button class="down" disabled=i == last aria-label="Descendre" on:click=move |_| swap(i + 1)>"↓"</button>
                <button class="edit" on:click=move |_| editing.set(Some(Some(target.clone())))>"Modifier"</button>
                <button class="delete" on:click=delete>"Supprimer"</button>
            </span>
        </li>
    }
}

#[component]
fn ResourceForm(
    existing: Option<ResourceDto>,
    saved: Callback<()>,
    close: Callback<()>,
) -> impl IntoView {
    let id = existing.as_ref().map(|r| r.id);
    let title = RwSignal::new(
        existing
            .as_ref()
            .map(|r| r.title.clone())
            .unwrap_or_default(),
    );
    let kind = RwSignal::new(existing.as_ref().map_or(ResourceKind::Link, |r| r.kind));
    let url = RwSignal::new(
        existing
            .as_ref()
            .and_then(|r| r.url.clone())
            .unwrap_or_default(),
    );
    let body = RwSignal::new(
        existing
            .as_ref()
            .and_then(|r| r.body.clone())
            .unwrap_or_default(),
    );
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let present =
            |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.trim().is_empty());
        let (t, k, u, b) = (
            title.get_untracked(),
            kind.get_untracked(),
            present(url),
            present(body),
        );
        let save = async move {
            match id {
                None => {
                    api::create_resource(NewResource {
                        title: t,
                        kind: k,
                        url: u,
                        body: b,
                    })
                    .await
                }
                Some(id) => {
                    api::update_resource(
                        id,
                        ResourcePatch {
                            title: Some(t),
                            kind: Some(k),
                            url: Some(u.unwrap_or_default()),
                            body: Some(b.unwrap_or_default()),
                        },
                    )
                    .await
                }
            }
        };
        send(save, error, Some(busy), move |_| saved.run(()));
    };
    let heading = if id.is_some() {
        "Modifier la ressource"
    } else {
        "Nouvelle ressource"
    };
    view! {
        <form class="panel resource-form" on:submit=submit aria-label=heading>
            <h2>{heading}</h2>
            <label for="title">"Titre"</label>
            <input id="title" type="text" required prop:value=title on:input=move |ev| title.set(event_target_value(&ev))/>
            <label for="kind">"Type"</label>
            <select id="kind" on:change=move |ev| {
                if let Some(k) = ResourceKind::parse(&event_target_value(&ev)) { kind.set(k) }
            }>
                {KINDS.iter().map(|(k, label)| view! {
                    <option value=k.as_str() selected=move || kind.get() == *k>{*label}</option>
                }).collect_view()}
            </select>
            <label for="url">"Adresse (lien, vidéo, document)"</label>
            <input id="url" type="url" prop:value=url on:input=move |ev| url.set(event_target_value(&ev))/>
            <label for="body">"Texte"</label>
            <textarea id="body" prop:value=body on:input=move |ev| body.set(event_target_value(&ev))></textarea>
            <FormFooter error busy close/>
        </form>
    }
}
