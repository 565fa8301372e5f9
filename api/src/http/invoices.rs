//! Invoices: mine as a list (`GET /api/me/invoices`), and one invoice the
//! app issued as a page to read and print (`GET /api/invoices/{id}`). An
//! invoice Stripe issued is read on Stripe's page: its link is in the
//! list, and this page sends there.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use common::format::format_date;
use common::invoices::{InvoiceDto, format_rate, split_vat};
use common::money::format_price;
use maud::{DOCTYPE, PreEscaped, html};
use uuid::Uuid;

use crate::domain::{billing::invoices, platform::clock::today_at_venue};
use crate::error::ApiResult;
use crate::http::extract::AuthUser;
use crate::http::problems as p;
use crate::state::AppState;

/// My invoices, newest first: each seat's, and each paid period of a
/// subscription.
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

/// One invoice (its owner or an admin), as a page to print; an invoice
/// Stripe issued answers 303 to Stripe's page for it.
#[utoipa::path(
    tag = "bookings",
    params(("id" = Uuid, Path, description = "Invoice id")),
    responses(
        (status = 200, description = "The invoice", content((String = "text/html"))),
        (status = 303, description = "Stripe's page for an invoice Stripe issued"),
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
) -> ApiResult<HttpResponse> {
    let invoice = invoices::get(&state.db, &user.actor(), id.into_inner()).await?;
    if let Some(hosted) = &invoice.hosted_url {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, hosted.as_str()))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(as_page(&invoice)))
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

fn as_page(i: &entity::invoices::Model) -> String {
    const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:46rem;\
        color:#1d1d1f}header{display:flex;justify-content:space-between;gap:2rem}\
        table{border-collapse:collapse;width:100%;margin:1.5rem 0}th,td{border-bottom:1px solid #ccc;\
        padding:.5rem;text-align:left}td.amount,th.amount{text-align:right;white-space:nowrap}\
        tfoot td{font-weight:600}.no-print{margin-bottom:1rem}\
        @media print{.no-print{display:none}body{margin:0}}@page{size:A4;margin:1.5cm}";
    let money = |cents| format_price(cents, &i.currency);
    let issued = format_date(today_at_venue(i.issued_at));
    let period = i.period_start.zip(i.period_end).map(|(from, to)| {
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
                title { "Facture " (i.number) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                p class="no-print" { "Imprimez cette page (Ctrl+P) ou enregistrez-la en PDF." }
                header {
                    div class="seller" { strong { (lines(&i.seller)) } }
                    div {
                        h1 { "Facture n° " span id="number" { (i.number) } }
                        p { "Date : " (issued) }
                    }
                }
                section class="bill-to" {
                    h2 { "Facturé à" }
                    p { (lines(&i.bill_to)) }
                }
                table {
                    thead { tr { th { "Désignation" } th class="amount" { "Montant" } } }
                    tbody {
                        tr {
                            td {
                                (i.description)
                                @if let Some(period) = &period { br; (period) }
                            }
                            td class="amount" { (money(i.amount_cents)) }
                        }
                    }
                    tfoot {
                        @match (i.vat_rate_bp, &i.vat_mention) {
                            (Some(rate), _) => {
                                @let (net, vat) = split_vat(i.amount_cents, rate);
                                tr { td { "Total HT" } td class="amount" { (money(net)) } }
                                tr class="vat" { td { "TVA " (format_rate(rate)) } td class="amount" { (money(vat)) } }
                                tr { td { "Total TTC" } td class="amount" id="total" { (money(i.amount_cents)) } }
                            }
                            (None, mention) => {
                                tr { td { "Total" } td class="amount" id="total" { (money(i.amount_cents)) } }
                                tr class="vat" { td colspan="2" { (mention.as_deref().unwrap_or("")) } }
                            }
                        }
                    }
                }
                p { "Payée le " (issued) " par carte bancaire." }
            }
        }
    };
    page.into_string()
}
