//! Presence per half-day: `/emargement/<session>` for an admin, and
//! `/formateur#token=…` for the trainer whose link an admin made. One
//! select per attendee and half-day; each change is recorded at once,
//! and the hours attended follow.

use common::format::format_dates_in_sentence;
use common::wire::parse_date;
use leptos::prelude::*;
use leptos::wasm_bindgen::JsValue;
use uuid::Uuid;

use crate::api::{self, SheetOf};
use crate::components::feedback::{ErrorLine, Failure, Loading, send};
use crate::json::{int, list, opt_text, text};
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
    let sheet = RwSignal::new(None::<Result<Sheet, api::ApiError>>);
    let load = of.clone();
    leptos::task::spawn_local(async move { sheet.set(Some(api::presence(load).await.map(Sheet))) });
    let error = RwSignal::new(None::<String>);
    view! {
        <h1>"Émargement"</h1>
        {move || match sheet.get() {
            None => view! { <Loading/> }.into_any(),
            Some(Err(error)) => view! { <Failure error/> }.into_any(),
            Some(Ok(s)) => view! { <SheetView sheet=s of=of.clone() update=sheet error/> }.into_any(),
        }}
        <ErrorLine message=error/>
    }
}

/// A `PresenceSheetDto` as the browser parsed it (`json.rs`): a typed
/// decoder would cost the site's bundle KB of its budget. Dates stay
/// `YYYY-MM-DD` strings, which compare as the dates do.
#[derive(Clone)]
struct Sheet(JsValue);

const HALVES: [(&str, &str); 2] = [("am", "matin"), ("pm", "après-midi")];

const CHOICES: [(&str, &str); 4] = [
    ("—", ""),
    ("Présent", "present"),
    ("Absent", "absent"),
    ("Excusé", "excused"),
];

/// "07/12" from "2026-12-07".
fn day_label(day: &str) -> String {
    format!(
        "{}/{}",
        day.get(8..10).unwrap_or(""),
        day.get(5..7).unwrap_or("")
    )
}

fn hours(minutes: i64) -> String {
    common::presence::format_hours(minutes)
}

#[component]
fn SheetView(
    sheet: Sheet,
    of: SheetOf,
    update: RwSignal<Option<Result<Sheet, api::ApiError>>>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let s = &sheet.0;
    let days: Vec<String> = list(s, "days")
        .iter()
        .filter_map(JsValue::as_string)
        .collect();
    let today = text(s, "today");
    let (starts, ends) = (text(s, "starts_on"), text(s, "ends_on"));
    let over = today > ends;
    let admin = match &of {
        SheetOf::Session(id) => Some(*id),
        SheetOf::TrainerLink(_) => None,
    };
    let planned = hours(int(s, "planned_minutes"));
    let dates = match (parse_date(&starts), parse_date(&ends)) {
        (Some(a), Some(b)) => format_dates_in_sentence(a, b),
        _ => String::new(),
    };
    let rows = list(s, "attendees").into_iter().map(|a| {
        let booking = text(&a, "booking_id");
        let name = text(&a, "name");
        let marks = list(&a, "marks");
        let cells = days.iter().flat_map(|d| HALVES.map(|h| (d.clone(), h))).map(|(day, (half, half_fr))| {
            let current = marks
                .iter()
                .find(|m| text(m, "day") == day && text(m, "half") == half)
                .map(|m| text(m, "status"))
                .unwrap_or_default();
            let of = of.clone();
            let body = format!(r#"{{"marks":[{{"booking_id":"{booking}","day":"{day}","half":"{half}","status":""#);
            let change = move |ev: leptos::ev::Event| {
                let value = event_target_value(&ev);
                if value.is_empty() {
                    return;
                }
                let update_body = format!(r#"{body}{value}"}}]}}"#);
                send(api::record_presence(of.clone(), update_body), error, None, move |s| {
                    update.set(Some(Ok(Sheet(s))))
                });
            };
            view! {
                <td>
                    <select
                        aria-label=format!("{name} {} {half_fr}", day_label(&day))
                        disabled={day > today}
                        on:change=change
                    >
                        {CHOICES.iter().map(|(label, value)| view! {
                            <option value=*value selected={*value == current}>{*label}</option>
                        }).collect_view()}
                    </select>
                </td>
            }
        }).collect_view();
        view! {
            <tr data-booking-id=booking.clone()>
                <th scope="row">{name.clone()}</th>
                {cells}
                <td class="hours">{hours(int(&a, "attended_minutes"))}" / "{planned.clone()}</td>
                {(admin.is_some() && over).then(|| view! {
                    <td><a href=format!("/api/bookings/{booking}/certificate") target="_blank" rel="noopener">"Attestation"</a></td>
                })}
            </tr>
        }
    }).collect_view();
    view! {
        <p>
            "Session "{dates}" à "{text(s, "location")}
            {opt_text(s, "trainer").map(|t| view! { ", formateur : "{t} })}
            ". Chaque choix est enregistré aussitôt ; une correction garde la précédente."
        </p>
        {admin.map(|id| view! { <AdminTools session=id over/> })}
        <div class="table-scroll">
            <table class="presence">
                <thead>
                    <tr>
                        <th rowspan="2">"Participant"</th>
                        {days.iter().map(|d| view! { <th colspan="2">{day_label(d)}</th> }).collect_view()}
                        <th rowspan="2">"Heures"</th>
                    </tr>
                    <tr>
                        {days.iter().map(|_| HALVES.map(|(_, fr)| view! { <th>{fr}</th> })).collect_view()}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
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
