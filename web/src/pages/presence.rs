//! Presence per half-day: `/emargement/<session>` for an admin, and
//! `/formateur#token=…` for the trainer whose link an admin made. One
//! select per attendee and half-day; each change is recorded at once,
//! and the hours attended follow.

use chrono::NaiveDate;
use common::format::format_dates_in_sentence;
use common::presence::{Half, MarkInput, Presence, PresenceSheetDto, format_hours};
use leptos::prelude::*;
use uuid::Uuid;

use crate::api::{self, SheetOf};
use crate::components::feedback::{ErrorLine, Failure, Loading, send};
use crate::router::fragment;

/// Where an admin records a session's presence.
pub const ADMIN_PATH: &str = "/emargement/";
/// Where the trainer's link lands.
pub const TRAINER_PATH: &str = "/formateur";

/// The session an admin's presence path names.
pub fn session_of(path: &str) -> Option<Uuid> {
    path.strip_prefix(ADMIN_PATH)?
        .trim_end_matches('/')
        .parse()
        .ok()
}

#[component]
pub fn PresencePage() -> impl IntoView {
    let path = window().location().pathname().unwrap_or_default();
    let of = match session_of(&path) {
        Some(id) => SheetOf::Session(id),
        None => SheetOf::TrainerLink(fragment("token").unwrap_or_default()),
    };
    let sheet = RwSignal::new(None::<Result<PresenceSheetDto, api::ApiError>>);
    let load = of.clone();
    leptos::task::spawn_local(async move { sheet.set(Some(api::presence(load).await)) });
    let error = RwSignal::new(None::<String>);
    view! {
        <h1>"Émargement"</h1>
        {move || match sheet.get() {
            None => view! { <Loading/> }.into_any(),
            Some(Err(error)) => view! { <Failure error/> }.into_any(),
            Some(Ok(s)) => view! { <Sheet sheet=s of=of.clone() update=sheet error/> }.into_any(),
        }}
        <ErrorLine message=error/>
    }
}

const CHOICES: [(&str, Option<Presence>); 4] = [
    ("—", None),
    ("Présent", Some(Presence::Present)),
    ("Absent", Some(Presence::Absent)),
    ("Excusé", Some(Presence::Excused)),
];

fn wire(p: Presence) -> &'static str {
    match p {
        Presence::Present => "present",
        Presence::Absent => "absent",
        Presence::Excused => "excused",
    }
}

#[component]
fn Sheet(
    sheet: PresenceSheetDto,
    of: SheetOf,
    update: RwSignal<Option<Result<PresenceSheetDto, api::ApiError>>>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let days = sheet.days.clone();
    let today = sheet.today;
    let over = today > sheet.ends_on;
    let admin = match &of {
        SheetOf::Session(id) => Some(*id),
        SheetOf::TrainerLink(_) => None,
    };
    let planned = format_hours(sheet.planned_minutes);
    let rows = sheet.attendees.into_iter().map(|a| {
        let booking = a.booking_id;
        let cells = days.iter().flat_map(|day| Half::BOTH.map(|half| (*day, half))).map(|(day, half)| {
            let current = a.marks.iter().find(|m| m.day == day && m.half == half).map(|m| m.status);
            let of = of.clone();
            let change = move |ev: leptos::ev::Event| {
                let value = event_target_value(&ev);
                let Some(status) = CHOICES.iter().find_map(|(_, p)| p.filter(|p| wire(*p) == value)) else {
                    return;
                };
                let mark = MarkInput { booking_id: booking, day, half, status };
                send(api::record_presence(of.clone(), vec![mark]), error, None, move |s| {
                    update.set(Some(Ok(s)))
                });
            };
            view! {
                <td>
                    <select
                        aria-label=format!("{} {} {}", a.name, day_label(day), half.french())
                        disabled={day > today}
                        on:change=change
                    >
                        {CHOICES.iter().map(|(label, p)| view! {
                            <option value=p.map_or("", wire) selected=*p == current>{*label}</option>
                        }).collect_view()}
                    </select>
                </td>
            }
        }).collect_view();
        view! {
            <tr data-booking-id=booking.to_string()>
                <th scope="row">{a.name.clone()}</th>
                {cells}
                <td class="hours">{format_hours(a.attended_minutes)}" / "{planned.clone()}</td>
                {(admin.is_some() && over).then(|| view! {
                    <td><a href=format!("/api/bookings/{booking}/certificate") target="_blank" rel="noopener">"Attestation"</a></td>
                })}
            </tr>
        }
    }).collect_view();
    view! {
        <p>
            "Session "{format_dates_in_sentence(sheet.starts_on, sheet.ends_on)}" à "{sheet.location.clone()}
            {sheet.trainer.clone().map(|t| view! { ", formateur : "{t} })}
            ". Chaque choix est enregistré aussitôt ; une correction garde la précédente."
        </p>
        {admin.map(|id| view! { <AdminTools session=id over/> })}
        <div class="table-scroll">
            <table class="presence">
                <thead>
                    <tr>
                        <th rowspan="2">"Participant"</th>
                        {days.iter().map(|d| view! { <th colspan="2">{day_label(*d)}</th> }).collect_view()}
                        <th rowspan="2">"Heures"</th>
                    </tr>
                    <tr>
                        {days.iter().map(|_| Half::BOTH.map(|h| view! { <th>{h.french()}</th> })).collect_view()}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// "07/12": written by hand, as chrono's formatter would weigh on the
/// bundle.
fn day_label(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{:02}/{:02}", d.day(), d.month())
}

/// An admin's extras: the trainer's link, the sheet to print, and once
/// the session is over, every certificate at once.
#[component]
fn AdminTools(session: Uuid, over: bool) -> impl IntoView {
    let link = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let make = move |_| {
        send(
            api::create_trainer_link(session),
            error,
            Some(busy),
            move |l| {
                let origin = window().location().origin().unwrap_or_default();
                link.set(Some(format!("{origin}{}", l.url)));
                busy.set(false);
            },
        )
    };
    view! {
        <p class="admin-tools">
            <a href=format!("/api/admin/sessions/{session}/attendance") target="_blank" rel="noopener">"Feuille à imprimer"</a>
            {over.then(|| view! {
                " · "<a class="certificates" href=format!("/api/admin/sessions/{session}/certificates") target="_blank" rel="noopener">"Attestations de réalisation"</a>
            })}
            " · "<button class="secondary" disabled=move || busy.get() on:click=make>"Lien pour le formateur"</button>
        </p>
        {move || link.get().map(|url| view! {
            <p class="trainer-link">
                "Donnez ce lien au formateur (il remplace le précédent) : "<code>{url}</code>
            </p>
        })}
        <ErrorLine message=error/>
    }
}
