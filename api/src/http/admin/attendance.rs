//! The attendance sheet (feuille d'émargement) of a session, for admins:
//! a page to print, one row per confirmed attendee and a signature box
//! per half-day, or the same as CSV for the company's records. Served
//! from here rather than drawn by the SPA: it is a document, printed from
//! its own tab, and costs the SPA's bundle nothing.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use common::format::{format_dates_in_sentence, format_session_dates};
use maud::{DOCTYPE, PreEscaped, html};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::domain::reports::attendance::{self, Sheet};
use crate::error::ApiResult;
use crate::http::csv::line;
use crate::http::extract::AdminUser;
use crate::http::problems as p;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SheetFormat {
    Html,
    Csv,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SheetQuery {
    /// `html` (the default) is the page to print; `csv` the file.
    #[param(value_type = SheetFormat, inline, required = false)]
    pub format: Option<SheetFormat>,
}

/// The attendance sheet of a session: its confirmed attendees (by last
/// name), with a signature box per half-day (morning and afternoon) of
/// each working day; a printable page, or `?format=csv`.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Session id"), SheetQuery),
    responses(
        (status = 200, description = "The sheet", content(
            (String = "text/html"),
            (String = "text/csv"),
        )),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/admin/sessions/{id}/attendance")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn attendance_sheet(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
    query: web::Query<SheetQuery>,
) -> ApiResult<HttpResponse> {
    let sheet = attendance::sheet(&state.db, id.into_inner()).await?;
    let name = format!("emargement-{}", sheet.session.starts_on.format("%Y-%m-%d"));
    Ok(match query.format.unwrap_or(SheetFormat::Html) {
        SheetFormat::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ))
            .body(as_csv(&sheet)),
        SheetFormat::Html => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(as_page(&sheet)),
    })
}

const HALVES: [&str; 2] = ["matin", "après-midi"];

fn as_csv(sheet: &Sheet) -> String {
    let mut head = vec![
        "nom".to_owned(),
        "prénom".to_owned(),
        "e-mail".to_owned(),
        "entreprise".to_owned(),
    ];
    for day in &sheet.days {
        for half in HALVES {
            head.push(format!("{day} {half}"));
        }
    }
    let mut out = line(&head);
    for a in &sheet.attendees {
        let mut row = vec![
            a.last_name.clone().unwrap_or_default(),
            a.first_name.clone().unwrap_or_default(),
            a.email.clone(),
            a.company.clone().unwrap_or_default(),
        ];
        // The signatures are collected on paper: empty cells.
        row.resize(head.len(), String::new());
        out.push_str(&line(&row));
    }
    out
}

fn as_page(sheet: &Sheet) -> String {
    const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem}\
        table{border-collapse:collapse;width:100%}th,td{border:1px solid #333;padding:.3rem;\
        font-size:.85rem;text-align:left;vertical-align:top}td.sign{height:2.6rem;min-width:4rem}\
        thead{display:table-header-group}tr{break-inside:avoid}\
        .no-print{margin-bottom:1rem}@media print{.no-print{display:none}body{margin:0}}\
        @page{size:A4 landscape;margin:1cm}";
    let s = &sheet.session;
    let dates = format_session_dates(s.starts_on, s.ends_on);
    let page = html! {
        (DOCTYPE)
        html lang="fr" {
            head {
                meta charset="utf-8";
                title { "Feuille d'émargement · " (dates) " · " (s.location) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                p class="no-print" { "Imprimez cette page (Ctrl+P) pour la faire signer." }
                h1 { "Feuille d'émargement — Immersion Élite" }
                p {
                    "Session " strong { (format_dates_in_sentence(s.starts_on, s.ends_on)) } " à " strong { (s.location) } br;
                    "Formateur : "
                    @match &s.trainer {
                        Some(name) => strong class="trainer" { (name) },
                        None => "________________________",
                    }
                }
                table {
                    thead {
                        tr {
                            th rowspan="2" { "Participant" }
                            th rowspan="2" { "Entreprise" }
                            @for day in &sheet.days {
                                th colspan="2" { (day.format("%d/%m")) }
                            }
                        }
                        tr {
                            @for _ in &sheet.days {
                                @for half in HALVES { th { (half) } }
                            }
                        }
                    }
                    tbody {
                        @for a in &sheet.attendees {
                            tr {
                                td class="attendee" { (a.display_name()) }
                                td { (a.company.as_deref().unwrap_or("")) }
                                @for _ in 0..sheet.days.len() * HALVES.len() {
                                    td class="sign" {}
                                }
                            }
                        }
                    }
                }
                p { "Signature du formateur :" }
            }
        }
    };
    page.into_string()
}
