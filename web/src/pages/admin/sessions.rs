//! `/admin/immersion-sessions`: every session (inactive ones too) with its
//! fill bar and status; create, edit, deactivate, delete; the attendees of
//! a session with their CSV.

use chrono::NaiveDate;
use common::format::{format_date, format_session_dates};
use common::money::format_price;
use common::sessions::{NewSession, SessionDecision, SessionDto, SessionPatch, SessionStatus};
use leptos::prelude::*;
use uuid::Uuid;

use super::AdminMenu;
use crate::api;
use crate::components::feedback::{ErrorLine, FormFooter, Loading, loaded, resource, send};
use crate::components::fill_bar::FillBar;
use crate::pages::account::status_fr as booking_status_fr;

fn status_fr(s: &SessionDto) -> &'static str {
    match (s.is_active, s.status) {
        _ if s.decision == Some(SessionDecision::Cancelled) => "Annulée",
        (false, _) => "Désactivée",
        (true, SessionStatus::Open) => "Ouverte",
        (true, SessionStatus::Full) => "Complète",
        (true, SessionStatus::Closed) => "Close",
    }
}

/// The minimum group size and what was decided, for the status column.
fn minimum_fr(s: &SessionDto) -> Option<impl IntoView + use<>> {
    let text = match (s.min_places, s.decision, s.decide_on) {
        (_, Some(SessionDecision::Confirmed), _) => "Session confirmée".to_owned(),
        (_, Some(SessionDecision::Cancelled), _) => "Session annulée".to_owned(),
        (Some(min), None, Some(day)) => {
            format!("Minimum {min}, décision le {}", format_date(day))
        }
        (Some(min), None, None) => format!("Minimum {min}"),
        (None, None, _) => return None,
    };
    Some(view! { <span class="minimum">{text}</span> })
}

/// "1997", "1 997", "1997,50" → cents.
fn parse_euros(text: &str) -> Option<i64> {
    let clean: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '€')
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    let (units, cents) = clean.split_once('.').unwrap_or((&clean, ""));
    if units.is_empty() || cents.len() > 2 {
        return None;
    }
    let units: i64 = units.parse().ok()?;
    let cents: i64 = if cents.is_empty() {
        0
    } else {
        format!("{cents:0<2}").parse().ok()?
    };
    units.checked_mul(100)?.checked_add(cents)
}

/// Cents as typed back into the price field: "1997", "1997,50".
fn euros(cents: i64) -> String {
    match cents % 100 {
        0 => (cents / 100).to_string(),
        c => format!("{},{c:02}", cents / 100),
    }
}

#[derive(Clone, PartialEq)]
enum Editing {
    New,
    Existing(SessionDto),
}

#[component]
pub fn AdminSessionsPage() -> impl IntoView {
    let sessions = resource(api::admin_sessions);
    let editing = RwSignal::new(None::<Editing>);
    let attendees_of = RwSignal::new(None::<SessionDto>);
    let error = RwSignal::new(None::<String>);
    let saved = Callback::new(move |()| {
        editing.set(None);
        sessions.refetch();
    });
    view! {
        <AdminMenu/>
        <h1>"Sessions Immersion Élite"</h1>
        <button id="new-session" on:click=move |_| editing.set(Some(Editing::New))>"Nouvelle session"</button>
        {move || editing.get().map(|e| view! { <SessionForm editing=e saved close=Callback::new(move |()| editing.set(None))/> })}
        <ErrorLine message=error/>
        <Transition fallback=|| view! { <Loading/> }>
            {move || sessions.get().map(|r| loaded(
                r,
                view! { <p class="empty">"Aucune session."</p> }.into_any(),
                |list| view! {
                    <div class="table-wrap">
                        <table class="admin-sessions">
                            <thead><tr>
                                <th scope="col">"Dates"</th><th scope="col">"Lieu"</th><th scope="col">"Prix"</th>
                                <th scope="col">"Places"</th><th scope="col">"Statut"</th><th scope="col">"Actions"</th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|s| view! {
                                    <SessionRow session=s editing attendees_of error changed=Callback::new(move |()| sessions.refetch())/>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any(),
            ))}
        </Transition>
        {move || attendees_of.get().map(|s| view! { <Attendees session=s/> })}
    }
}

#[component]
fn SessionRow(
    session: SessionDto,
    editing: RwSignal<Option<Editing>>,
    attendees_of: RwSignal<Option<SessionDto>>,
    error: RwSignal<Option<String>>,
    changed: Callback<()>,
) -> impl IntoView {
    let id = session.id;
    let active = session.is_active;
    let toggle = move |_| {
        let patch = SessionPatch {
            is_active: Some(!active),
            ..Default::default()
        };
        send(api::update_session(id, patch), error, None, move |_| {
            changed.run(())
        });
    };
    let delete = move |_| {
        let sure = window()
            .confirm_with_message("Supprimer définitivement cette session ?")
            .unwrap_or(false);
        if !sure {
            return;
        }
        send(api::delete_session(id), error, None, move |()| {
            changed.run(())
        });
    };
    let edit_target = session.clone();
    let attendees_target = session.clone();
    view! {
        <tr data-session-id=id.to_string()>
            <td class="dates" data-label="Dates">{format_session_dates(session.starts_on, session.ends_on)}</td>
            <td data-label="Lieu">{session.location.clone()}</td>
            <td class="price" data-label="Prix">{format_price(session.price_cents, &session.currency)}</td>
            <td data-label="Places">
                <FillBar reserved=session.reserved_places max=session.max_places/>
                <span class="places">{format!("{} / {}", session.reserved_places, session.max_places)}</span>
            </td>
            <td class="status" data-label="Statut">{status_fr(&session)}{minimum_fr(&session)}</td>
            <td class="actions" data-label="Actions">
                <button class="edit" on:click=move |_| editing.set(Some(Editing::Existing(edit_target.clone())))>"Modifier"</button>
                <button class="toggle" on:click=toggle>{if active { "Désactiver" } else { "Réactiver" }}</button>
                <button class="delete" on:click=delete>"Supprimer"</button>
                <button class="attendees" on:click=move |_| attendees_of.set(Some(attendees_target.clone()))>"Participants"</button>
            </td>
        </tr>
    }
}

/// The fields as typed; checked by the API, except what must be parsed here.
struct Typed {
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    location: String,
    description: String,
    trainer: String,
    price_cents: i64,
    max_places: i32,
    /// Empty: no minimum.
    min_places: Option<i32>,
    is_active: bool,
}

/// A warning when the dates take in a public holiday: the session may be
/// saved (a holiday may be worked), but its attendance sheet and planned
/// hours leave the day out.
fn holiday_warning(starts_on: &str, ends_on: &str) -> Option<impl IntoView + use<>> {
    let (start, end) = (
        common::wire::parse_date(starts_on)?,
        common::wire::parse_date(ends_on)?,
    );
    let days =
        common::calendar::holidays_between(start, end.min(start + chrono::Duration::days(366)));
    (!days.is_empty()).then(|| {
        let list = days
            .iter()
            .map(|(d, name)| format!("{} ({name})", format_date(*d)))
            .collect::<Vec<_>>()
            .join(", ");
        view! {
            <p class="warning" role="status">
                "Jour férié pendant la session : "{list}". Il ne compte pas dans la feuille d'émargement ni dans les heures prévues."
            </p>
        }
    })
}

#[component]
fn SessionForm(editing: Editing, saved: Callback<()>, close: Callback<()>) -> impl IntoView {
    let existing = match &editing {
        Editing::New => None,
        Editing::Existing(s) => Some(s.clone()),
    };
    let field = |f: fn(&SessionDto) -> String, default: &str| {
        RwSignal::new(existing.as_ref().map_or(default.to_owned(), f))
    };
    let starts_on = field(|s| s.starts_on.to_string(), "");
    let ends_on = field(|s| s.ends_on.to_string(), "");
    let location = field(|s| s.location.clone(), "");
    let description = field(|s| s.description.clone().unwrap_or_default(), "");
    let trainer = field(|s| s.trainer.clone().unwrap_or_default(), "");
    let price = field(|s| euros(s.price_cents), "1997");
    let max_places = field(|s| s.max_places.to_string(), "8");
    let min_places = field(
        |s| s.min_places.map(|m| m.to_string()).unwrap_or_default(),
        "",
    );
    let is_active = RwSignal::new(existing.as_ref().is_none_or(|s| s.is_active));
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let id = existing.as_ref().map(|s| s.id);

    let typed = move || -> Result<Typed, String> {
        let date = |v: RwSignal<String>, what: &str| {
            common::wire::parse_date(&v.get_untracked())
                .ok_or_else(|| format!("Indiquez la date de {what}."))
        };
        Ok(Typed {
            starts_on: date(starts_on, "début")?,
            ends_on: date(ends_on, "fin")?,
            location: location.get_untracked(),
            description: description.get_untracked(),
            trainer: trainer.get_untracked(),
            price_cents: parse_euros(&price.get_untracked())
                .ok_or("Prix invalide : par exemple 1997 ou 1997,50.")?,
            max_places: max_places
                .get_untracked()
                .trim()
                .parse()
                .map_err(|_| "Nombre de places invalide.".to_owned())?,
            min_places: match min_places.get_untracked().trim() {
                "" => None,
                n => Some(
                    n.parse()
                        .map_err(|_| "Minimum de participants invalide.".to_owned())?,
                ),
            },
            is_active: is_active.get_untracked(),
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let t = match typed() {
            Ok(t) => t,
            Err(e) => return error.set(Some(e)),
        };
        let save = async move {
            match id {
                None => {
                    api::create_session(NewSession {
                        starts_on: t.starts_on,
                        ends_on: t.ends_on,
                        location: t.location,
                        description: Some(t.description).filter(|d| !d.trim().is_empty()),
                        trainer: Some(t.trainer).filter(|d| !d.trim().is_empty()),
                        half_day_minutes: common::sessions::DEFAULT_HALF_DAY_MINUTES,
                        price_cents: t.price_cents,
                        currency: "EUR".into(),
                        max_places: t.max_places,
                        is_active: t.is_active,
                        min_places: t.min_places,
                        decide_on: None,
                    })
                    .await
                }
                Some(id) => {
                    api::update_session(
                        id,
                        SessionPatch {
                            starts_on: Some(t.starts_on),
                            ends_on: Some(t.ends_on),
                            location: Some(t.location),
                            description: Some(t.description),
                            trainer: Some(t.trainer),
                            price_cents: Some(t.price_cents),
                            max_places: Some(t.max_places),
                            min_places: Some(t.min_places.unwrap_or(0)),
                            is_active: Some(t.is_active),
                            ..Default::default()
                        },
                    )
                    .await
                }
            }
        };
        send(save, error, Some(busy), move |_| saved.run(()));
    };
    let title = if id.is_some() {
        "Modifier la session"
    } else {
        "Nouvelle session"
    };
    view! {
        <form class="panel session-form" on:submit=submit aria-label=title>
            <h2>{title}</h2>
            <label for="starts_on">"Premier jour"</label>
            <input id="starts_on" type="date" required prop:value=starts_on
                on:input=move |ev| starts_on.set(event_target_value(&ev))/>
            <label for="ends_on">"Dernier jour"</label>
            <input id="ends_on" type="date" required prop:value=ends_on
                on:input=move |ev| ends_on.set(event_target_value(&ev))/>
            {move || holiday_warning(&starts_on.get(), &ends_on.get())}
            <label for="location">"Lieu"</label>
            <input id="location" type="text" required prop:value=location
                on:input=move |ev| location.set(event_target_value(&ev))/>
            <label for="description">"Description"</label>
            <textarea id="description" prop:value=description
                on:input=move |ev| description.set(event_target_value(&ev))></textarea>
            <label for="trainer">"Formateur (facultatif)"</label>
            <input id="trainer" type="text" maxlength="200" prop:value=trainer
                on:input=move |ev| trainer.set(event_target_value(&ev))/>
            <label for="price">"Prix (€)"</label>
            <input id="price" type="text" inputmode="decimal" required prop:value=price
                on:input=move |ev| price.set(event_target_value(&ev))/>
            <label for="max_places">"Places"</label>
            <input id="max_places" type="number" min="1" required prop:value=max_places
                on:input=move |ev| max_places.set(event_target_value(&ev))/>
            <label for="min_places">"Minimum de participants (facultatif)"</label>
            <input id="min_places" type="number" min="1" prop:value=min_places
                on:input=move |ev| min_places.set(event_target_value(&ev))/>
            <label class="check"><input id="is_active" type="checkbox" prop:checked=is_active
                on:change=move |ev| is_active.set(event_target_checked(&ev))/>" Visible au public"</label>
            <FormFooter error busy close/>
        </form>
    }
}

#[component]
fn Attendees(session: SessionDto) -> impl IntoView {
    let id: Uuid = session.id;
    let list = resource(move || api::attendees(id));
    view! {
        <section class="panel attendees" aria-labelledby="attendees-title">
            <h2 id="attendees-title">"Participants · "{format_session_dates(session.starts_on, session.ends_on)}</h2>
            <a class="csv" href=api::attendees_csv_url(id) download>"Télécharger le CSV"</a>
            " · "
            <a class="attendance" href=format!("/api/admin/sessions/{id}/attendance") target="_blank" rel="noopener">
                "Feuille d'émargement"
            </a>
            " · "
            <a class="presence" href=format!("/emargement/{id}")>"Présence et attestations"</a>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || list.get().map(|r| loaded(
                    r,
                    view! { <p class="empty">"Aucune réservation."</p> }.into_any(),
                    |rows| view! {
                        <ul>
                            {rows.into_iter().map(|b| { let status = booking_status_fr(&b); view! {
                                <li>
                                    {b.attendee_name.map(|n| view! { <strong class="name">{n}</strong>" · " })}
                                    {b.user_email}" · "{status}
                                    {b.invoice_url.map(|url| view! {
                                        " · "<a class="invoice" href=url target="_blank" rel="noopener">"Facture"</a>
                                    })}
                                    {b.credit_note_urls.into_iter().map(|url| view! {
                                        " · "<a class="credit-note" href=url target="_blank" rel="noopener">"Avoir"</a>
                                    }).collect_view()}
                                </li>
                            }}).collect_view()}
                        </ul>
                    }.into_any(),
                ))}
            </Suspense>
        </section>
    }
}
