//! Certificates of completion (certificats de réalisation): a trainee's
//! own (`GET /api/bookings/{id}/certificate`), as a page or a PDF, once
//! the session is over. Admins print a whole session's at once
//! (`http/admin/presence.rs`), from the same rendering.

use actix_web::{HttpResponse, get, web};
use chrono::Utc;
use common::format::{format_date, format_dates_in_sentence};
use common::presence::format_hours;
use maud::{DOCTYPE, PreEscaped, html};
use uuid::Uuid;

use crate::config::Invoicing;
use crate::domain::platform::clock::today_at_venue;
use crate::domain::training::certificates::{self, Certificate};
use crate::error::ApiResult;
use crate::http::extract::AuthUser;
use crate::http::pdf::{self, FormatQuery};
use crate::http::problems as p;
use crate::state::AppState;

/// The certificate of completion of my seat (or any, for an admin): the
/// action, its dates, the hours attended out of the hours planned, the
/// organisation and its declaration number. Made once the session is
/// over (409 `session_not_over` before), for a confirmed seat only, while
/// its presence is kept (3 years after the end of its year: 409
/// `presence_not_kept` after).
#[utoipa::path(
    tag = "bookings",
    params(("id" = Uuid, Path, description = "Booking id"), FormatQuery),
    responses(
        (status = 200, description = "The certificate", content(
            (String = "text/html"),
            (Vec<u8> = "application/pdf"),
        )),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 404, response = p::NotFound),
        (status = 409, response = p::Conflict),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/bookings/{id}/certificate")]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn booking_certificate(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<FormatQuery>,
) -> ApiResult<HttpResponse> {
    let today = today_at_venue(Utc::now());
    let c = certificates::of_booking(&state.db, &user.actor(), id.into_inner(), today).await?;
    let org = &state.settings.invoicing;
    let list = [c];
    Ok(pdf::answer(
        query.format,
        "certificat-de-realisation",
        || as_page(&list, org),
        || as_pdf(&list, org),
    ))
}

/// What a certificate says, line by line: the same words on the page and
/// in the PDF.
struct Wording {
    signatory: String,
    trainee: String,
    employer: Option<String>,
    action: &'static str,
    held: String,
    hours: String,
    absences: Option<String>,
    keeping: &'static str,
    made: String,
}

fn wording(c: &Certificate, org: &Invoicing) -> Wording {
    let s = &c.session;
    let nda = org
        .nda
        .as_deref()
        .map_or_else(String::new, |n| format!(", déclaration d'activité n° {n}"));
    let absences = (c.excused_half_days + c.missed_half_days > 0).then(|| {
        format!(
            "Demi-journées d'absence : {} justifiée(s), {} non justifiée(s).",
            c.excused_half_days, c.missed_half_days
        )
    });
    Wording {
        signatory: format!(
            "Je soussigné(e), représentant(e) légal(e) du dispensateur de l'action concourant au \
             développement des compétences {}{nda}, atteste que :",
            org.name
        ),
        trainee: c.trainee.clone(),
        employer: c
            .company
            .as_ref()
            .map(|co| format!("salarié(e) de l'entreprise {co}")),
        action: "a suivi l'action « Immersion Élite », de nature action de formation (article \
                 L6313-1 du code du travail),",
        held: format!(
            "qui s'est déroulée {} à {},",
            format_dates_in_sentence(s.starts_on, s.ends_on),
            s.location
        ),
        hours: format!(
            "pour une durée de {} réalisées sur {} prévues.",
            format_hours(c.attended_minutes),
            format_hours(c.planned_minutes)
        ),
        absences,
        keeping: "Sans préjudice des délais imposés par les règles fiscales, comptables ou \
                  commerciales, je m'engage à conserver l'ensemble des pièces justificatives qui \
                  ont permis d'établir le présent certificat pendant une durée de 3 ans à compter \
                  de la fin de l'année du dernier paiement.",
        made: format!(
            "Fait à {}, le {}.",
            org.city.as_deref().unwrap_or(&s.location),
            format_date(c.issued_on)
        ),
    }
}

const TITLE: &str = "Certificat de réalisation";

/// One certificate per page, to read and print.
pub fn as_page(list: &[Certificate], org: &Invoicing) -> String {
    const STYLE: &str = "body{font-family:system-ui,sans-serif;color:#1d1d1f;margin:0}\
        article{max-width:46rem;margin:2rem auto;padding:0 1rem;break-after:page}\
        .seller{font-size:.9rem}.trainee{font-size:1.2rem;font-weight:600}\
        .no-print{max-width:46rem;margin:1rem auto 0;padding:0 1rem}\
        @media print{.no-print{display:none}article{margin:0}}@page{size:A4;margin:1.5cm}";
    let page = html! {
        (DOCTYPE)
        html lang="fr" {
            head {
                meta charset="utf-8";
                meta name="robots" content="noindex";
                title { (TITLE) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                p class="no-print" { "Imprimez cette page (Ctrl+P) ou téléchargez le PDF (?format=pdf)." }
                @if list.is_empty() {
                    p { "Aucun participant confirmé." }
                }
                @for c in list {
                    @let w = wording(c, org);
                    article class="certificate" data-booking=(c.booking_id) {
                        div class="seller" {
                            @for (i, line) in org.seller.lines().enumerate() {
                                @if i > 0 { br; }
                                (line)
                            }
                        }
                        h1 { (TITLE) }
                        p { (w.signatory) }
                        p class="trainee" { (w.trainee) }
                        @if let Some(e) = &w.employer { p { (e) } }
                        p { (w.action) }
                        p { (w.held) }
                        p class="hours" { (w.hours) }
                        @if let Some(a) = &w.absences { p class="absences" { (a) } }
                        p { small { (w.keeping) } }
                        p class="made" { (w.made) }
                        p { "Signature et cachet de l'organisme :" }
                    }
                }
            }
        }
    };
    page.into_string()
}

/// One certificate per page, as a PDF.
pub fn as_pdf(list: &[Certificate], org: &Invoicing) -> Vec<u8> {
    use pdf::{BODY, Document, HEADING, SMALL, STRONG, TITLE as BIG};
    let mut doc = Document::new(TITLE);
    for (i, c) in list.iter().enumerate() {
        if i > 0 {
            doc.new_page();
        }
        let w = wording(c, org);
        doc.text(SMALL, &org.seller);
        doc.gap(24.0);
        doc.text(BIG, TITLE);
        doc.gap(16.0);
        doc.text(BODY, &w.signatory);
        doc.gap(8.0);
        doc.text(HEADING, &w.trainee);
        if let Some(e) = &w.employer {
            doc.text(BODY, e);
        }
        doc.gap(8.0);
        doc.text(BODY, w.action);
        doc.text(BODY, &w.held);
        doc.text(STRONG, &w.hours);
        if let Some(a) = &w.absences {
            doc.text(BODY, a);
        }
        doc.gap(12.0);
        doc.text(SMALL, w.keeping);
        doc.gap(16.0);
        doc.text(BODY, &w.made);
        doc.gap(8.0);
        doc.text(BODY, "Signature et cachet de l'organisme :");
    }
    doc.finish()
}
