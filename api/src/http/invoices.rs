//! Invoices and credit notes: mine as a list (`GET /api/me/invoices`), and
//! one the app issued as a page to read and print (`GET /api/invoices/{id}`).
//! An invoice Stripe issued is read on Stripe's page: its link is in the
//! list, and this page sends there.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use common::format::format_date;
use common::invoices::{CreditReason, InvoiceDto, format_rate, split_vat};
use common::money::format_price;
use maud::{DOCTYPE, PreEscaped, html};
use uuid::Uuid;

use crate::domain::billing::invoices::{self, Document};
use crate::domain::platform::clock::today_at_venue;
use crate::error::ApiResult;
use crate::http::extract::AuthUser;
use crate::http::pdf::{self, FormatQuery};
use crate::http::problems as p;
use crate::state::AppState;

/// My invoices and credit notes, newest first: each seat's invoice, each
/// paid period of a subscription, and each credit note (`kind`
/// `credit_note`) with the `invoice_id` it corrects.
#[utoipa::path(
    tag = "bookings",
    responses(
        (status = 200, body = Vec<InvoiceDto>),
        (status = 401, response = p::Unauthorized),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/me/invoices")]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn my_invoices(
    state: web::Data<AppState>,
    user: AuthUser,
) -> ApiResult<web::Json<Vec<InvoiceDto>>> {
    Ok(web::Json(
        invoices::list_mine(&state.db, &user.actor()).await?,
    ))
}

/// One invoice or credit note (its owner or an admin), as a page to
/// print with the seller's legal mentions, or `?format=pdf` as a PDF; one
/// Stripe issued answers 303 to Stripe's page or PDF for it.
#[utoipa::path(
    tag = "bookings",
    params(("id" = Uuid, Path, description = "Invoice id"), FormatQuery),
    responses(
        (status = 200, description = "The invoice", content(
            (String = "text/html"),
            (Vec<u8> = "application/pdf"),
        )),
        (status = 303, description = "Stripe's page (or PDF) for an invoice or credit note Stripe issued"),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 404, response = p::NotFound),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/invoices/{id}")]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn invoice_page(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<FormatQuery>,
) -> ApiResult<HttpResponse> {
    let document = invoices::get(&state.db, &user.actor(), id.into_inner()).await?;
    let printed = match &document {
        Document::Invoice(invoice) => {
            if let Some(hosted) = &invoice.hosted_url {
                return Ok(HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, hosted.as_str()))
                    .finish());
            }
            Printed::invoice(invoice)
        }
        Document::CreditNote(pair) => {
            let (note, invoice) = &**pair;
            // Stripe's credit note is read as Stripe issued it.
            if note.sequence.is_none()
                && let Some(pdf) = &note.pdf_url
            {
                return Ok(HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, pdf.as_str()))
                    .finish());
            }
            Printed::credit_note(note, invoice)
        }
    };
    let name = format!("{}-{}", printed.title.to_lowercase(), printed.number);
    Ok(pdf::answer(
        query.format,
        &name,
        || as_page(&printed),
        || as_pdf(&printed),
    ))
}

/// What a printed invoice or credit note shows.
struct Printed<'a> {
    /// "Facture" or "Avoir".
    title: &'static str,
    number: &'a str,
    issued_at: chrono::DateTime<chrono::Utc>,
    seller: &'a str,
    bill_to: &'a str,
    /// For a credit note: the invoice it corrects, and why.
    corrects: Option<(&'a str, &'a str)>,
    description: &'a str,
    period: Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>,
    amount_cents: i64,
    currency: &'a str,
    vat_rate_bp: Option<i32>,
    vat_mention: Option<&'a str>,
    /// The last line: how it was paid, or given back.
    settled: String,
}

impl<'a> Printed<'a> {
    fn invoice(i: &'a entity::invoices::Model) -> Self {
        Self {
            title: "Facture",
            number: &i.number,
            issued_at: i.issued_at,
            seller: &i.seller,
            bill_to: &i.bill_to,
            corrects: None,
            description: &i.description,
            period: i.period_start.zip(i.period_end),
            amount_cents: i.amount_cents,
            currency: &i.currency,
            vat_rate_bp: i.vat_rate_bp,
            vat_mention: i.vat_mention.as_deref(),
            settled: format!(
                "Payée le {} par carte bancaire.",
                format_date(today_at_venue(i.issued_at))
            ),
        }
    }

    fn credit_note(c: &'a entity::credit_notes::Model, i: &'a entity::invoices::Model) -> Self {
        let reason = CreditReason::parse(&c.reason).map_or("Remboursement", CreditReason::french);
        Self {
            title: "Avoir",
            number: &c.number,
            issued_at: c.issued_at,
            seller: &c.seller,
            bill_to: &c.bill_to,
            corrects: Some((&i.number, reason)),
            description: &c.description,
            period: None,
            amount_cents: c.amount_cents,
            currency: &c.currency,
            vat_rate_bp: c.vat_rate_bp,
            vat_mention: c.vat_mention.as_deref(),
            settled: "Remboursé sur le moyen de paiement d'origine.".to_owned(),
        }
    }
}

/// Lines kept with their breaks.
fn lines(text: &str) -> maud::Markup {
    html! {
        @for (i, line) in text.lines().enumerate() {
            @if i > 0 { br; }
            (line)
        }
    }
}

fn as_page(d: &Printed<'_>) -> String {
    const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:46rem;\
        color:#1d1d1f}header{display:flex;justify-content:space-between;gap:2rem}\
        table{border-collapse:collapse;width:100%;margin:1.5rem 0}th,td{border-bottom:1px solid #ccc;\
        padding:.5rem;text-align:left}td.amount,th.amount{text-align:right;white-space:nowrap}\
        tfoot td{font-weight:600}.no-print{margin-bottom:1rem}.seller{font-size:.9rem}\
        @media print{.no-print{display:none}body{margin:0}}@page{size:A4;margin:1.5cm}";
    let money = |cents| format_price(cents, d.currency);
    let issued = format_date(today_at_venue(d.issued_at));
    let period = d.period.map(|(from, to)| {
        format!(
            "Période du {} au {}",
            format_date(today_at_venue(from)),
            format_date(today_at_venue(to))
        )
    });
    let page = html! {
        (DOCTYPE)
        html lang="fr" {
            head {
                meta charset="utf-8";
                meta name="robots" content="noindex";
                title { (d.title) " " (d.number) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                p class="no-print" { "Imprimez cette page (Ctrl+P) ou enregistrez-la en PDF." }
                header {
                    div class="seller" { (lines(d.seller)) }
                    div {
                        h1 { (d.title) " n° " span id="number" { (d.number) } }
                        p { "Date : " (issued) }
                        @if let Some((invoice, reason)) = d.corrects {
                            p class="corrects" { "Facture corrigée : n° " (invoice) br; "Motif : " (reason) }
                        }
                    }
                }
                section class="bill-to" {
                    h2 { "Facturé à" }
                    p { (lines(d.bill_to)) }
                }
                table {
                    thead { tr { th { "Désignation" } th class="amount" { "Montant" } } }
                    tbody {
                        tr {
                            td {
                                (d.description)
                                @if let Some(period) = &period { br; (period) }
                            }
                            td class="amount" { (money(d.amount_cents)) }
                        }
                    }
                    tfoot {
                        @match (d.vat_rate_bp, d.vat_mention) {
                            (Some(rate), _) => {
                                @let (net, vat) = split_vat(d.amount_cents, rate);
                                tr { td { "Total HT" } td class="amount" { (money(net)) } }
                                tr class="vat" { td { "TVA " (format_rate(rate)) } td class="amount" { (money(vat)) } }
                                tr { td { "Total TTC" } td class="amount" id="total" { (money(d.amount_cents)) } }
                            }
                            (None, mention) => {
                                tr { td { "Total" } td class="amount" id="total" { (money(d.amount_cents)) } }
                                tr class="vat" { td colspan="2" { (mention.unwrap_or("")) } }
                            }
                        }
                    }
                }
                p { (d.settled) }
            }
        }
    };
    page.into_string()
}

/// The same document as a PDF: the seller and its mentions, the title and
/// number, the buyer, the line and the totals.
fn as_pdf(d: &Printed<'_>) -> Vec<u8> {
    use pdf::{BODY, Document, HEADING, SMALL, STRONG, TITLE};
    let money = |cents| format_price(cents, d.currency);
    let mut doc = Document::new(&format!("{} {}", d.title, d.number));
    doc.text(SMALL, d.seller);
    doc.gap(20.0);
    doc.text(TITLE, &format!("{} n° {}", d.title, d.number));
    doc.text(
        BODY,
        &format!("Date : {}", format_date(today_at_venue(d.issued_at))),
    );
    if let Some((invoice, reason)) = d.corrects {
        doc.text(BODY, &format!("Facture corrigée : n° {invoice}"));
        doc.text(BODY, &format!("Motif : {reason}"));
    }
    doc.gap(14.0);
    doc.text(HEADING, "Facturé à");
    doc.text(BODY, d.bill_to);
    doc.gap(14.0);
    doc.row(STRONG, "Désignation", "Montant");
    doc.rule();
    let mut line = d.description.to_owned();
    if let Some((from, to)) = d.period {
        line.push_str(&format!(
            " (période du {} au {})",
            format_date(today_at_venue(from)),
            format_date(today_at_venue(to))
        ));
    }
    doc.row(BODY, &line, &money(d.amount_cents));
    doc.rule();
    match (d.vat_rate_bp, d.vat_mention) {
        (Some(rate), _) => {
            let (net, vat) = split_vat(d.amount_cents, rate);
            doc.row(BODY, "Total HT", &money(net));
            doc.row(BODY, &format!("TVA {}", format_rate(rate)), &money(vat));
            doc.row(STRONG, "Total TTC", &money(d.amount_cents));
        }
        (None, mention) => {
            doc.row(STRONG, "Total", &money(d.amount_cents));
            if let Some(m) = mention {
                doc.text(SMALL, m);
            }
        }
    }
    doc.gap(14.0);
    doc.text(BODY, &d.settled);
    doc.finish()
}
