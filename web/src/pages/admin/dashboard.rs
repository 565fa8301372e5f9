//! `/admin`: the overview. Key figures, then two charts drawn as plain SVG
//! (no chart library): revenue per month over a year, and how full each
//! coming session is. Every figure comes from `GET /api/admin/stats`; the
//! page only draws.
//!
//! The answer (`common::stats::StatsDto`) is read as the browser parsed
//! it (`json.rs` says why): four typed decoders for a page only admins
//! open. The browser test compares every figure drawn with the JSON.

use common::format::format_date;
use common::money::format_price;
use leptos::prelude::*;
use leptos::wasm_bindgen::JsValue;

use super::AdminMenu;
use crate::components::feedback::{Failure, Loading, resource};
use crate::json::{int, list, num, text};

#[component]
pub fn DashboardPage() -> impl IntoView {
    let stats = resource(|| crate::json::get("/api/admin/stats"));
    view! {
        <AdminMenu/>
        <h1>"Tableau de bord"</h1>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || stats.get().map(|r| match r {
                Ok(s) => dashboard(&s).into_any(),
                Err(error) => view! { <Failure error/> }.into_any(),
            })}
        </Suspense>
    }
}

fn dashboard(s: &JsValue) -> impl IntoView + use<> {
    let currency = text(s, "currency");
    let money = |cents: i64| format_price(cents, &currency);
    let members = |plan: &str| {
        list(s, "subscribers")
            .iter()
            .filter(|p| text(p, "plan") == plan)
            .map(|p| int(p, "active"))
            .sum::<i64>()
    };
    let figures = [
        (
            "Chiffre d'affaires du mois",
            money(int(s, "revenue_this_month_cents")),
        ),
        (
            "Places vendues (sessions à venir)",
            int(s, "seats_sold_upcoming").to_string(),
        ),
        (
            "Abonnés actifs",
            format!(
                "{} mensuels · {} annuels",
                members("premium_monthly"),
                members("premium_yearly")
            ),
        ),
        (
            "Revenu mensuel récurrent",
            num(s, "mrr_cents").map_or_else(|| "indisponible".to_owned(), money),
        ),
        (
            "Annulations (30 jours)",
            int(s, "cancellations_30d").to_string(),
        ),
        (
            "Remboursements (30 jours)",
            format!(
                "{} · {}",
                int(s, "refunds_30d"),
                money(int(s, "refunded_30d_cents"))
            ),
        ),
        (
            "Remboursements dus",
            format!(
                "{} · {}",
                int(s, "owed_refunds"),
                money(int(s, "owed_refunds_cents"))
            ),
        ),
        (
            "Anomalies de paiement à traiter",
            int(s, "open_anomalies").to_string(),
        ),
    ];
    let revenue = revenue_chart(&list(s, "revenue_by_month"), &currency);
    let fill = fill_chart(&list(s, "upcoming"));
    view! {
        <dl class="figures">
            {figures.into_iter().map(|(what, value)| view! {
                <div><dt>{what}</dt><dd>{value}</dd></div>
            }).collect_view()}
        </dl>
        <h2>"Chiffre d'affaires sur 12 mois"</h2>
        <div class="chart-box" inner_html=revenue></div>
        <h2>"Remplissage des sessions à venir"</h2>
        <div class="chart-box" inner_html=fill></div>
    }
}

/// Chart area, in SVG user units (the SVG scales to the width it gets).
const WIDTH: i64 = 600;
const HEIGHT: i64 = 200;
/// Room under the bars for the month labels.
const AXIS: i64 = 20;

/// Text for SVG markup. The charts are written as markup and set as one
/// element's content (far smaller in the app than a view per shape), so
/// text that comes from outside, a session's place, is escaped here.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One bar per month, its height proportional to the month's revenue
/// (a month with more refunds than sales draws no bar); each bar's title
/// gives the exact figure, and the chart's label says what it shows.
fn revenue_chart(months: &[JsValue], currency: &str) -> String {
    let revenue = |m: &JsValue| int(m, "revenue_cents");
    let top = months.iter().map(revenue).max().unwrap_or(0).max(1);
    let slot = WIDTH / (months.len() as i64).max(1);
    let total: i64 = months.iter().map(revenue).sum();
    let mut svg = format!(
        "<svg class=\"chart revenue\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-label=\"Chiffre d'affaires par mois sur 12 mois, {} au total\">\
         <line x1=\"0\" y1=\"{base}\" x2=\"{WIDTH}\" y2=\"{base}\"></line>",
        escaped(&format_price(total, currency)),
        base = HEIGHT - AXIS,
    );
    for (i, m) in months.iter().enumerate() {
        let cents = revenue(m);
        let h = cents.max(0) * (HEIGHT - AXIS) / top;
        let x = i as i64 * slot;
        let month = escaped(&text(m, "month"));
        svg += &format!(
            "<g class=\"bar\"><title>{month} : {}</title>\
             <rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{h}\"></rect>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></g>",
            escaped(&format_price(cents, currency)),
            x + 4,
            HEIGHT - AXIS - h,
            slot - 8,
            x + slot / 2,
            HEIGHT - 4,
            month.get(5..).unwrap_or(&month),
        );
    }
    svg + "</svg>"
}

/// One horizontal bar per coming session: paid seats, then held ones, out
/// of its places.
fn fill_chart(sessions: &[JsValue]) -> String {
    if sessions.is_empty() {
        return "<p class=\"empty\">Aucune session à venir.</p>".to_owned();
    }
    const ROW: i64 = 28;
    const LABEL: i64 = 200;
    let bar = WIDTH - LABEL - 60;
    let mut svg = format!(
        "<svg class=\"chart fill-chart\" viewBox=\"0 0 {WIDTH} {}\" role=\"img\" \
         aria-label=\"Remplissage de {} sessions à venir\">",
        ROW * sessions.len() as i64,
        sessions.len(),
    );
    for (i, s) in sessions.iter().enumerate() {
        let (places, confirmed, held) = (int(s, "max_places"), int(s, "confirmed"), int(s, "held"));
        let max = places.max(1);
        let y = i as i64 * ROW;
        let paid = confirmed.min(max) * bar / max;
        let waiting = held.min(max - confirmed.min(max)) * bar / max;
        let day = common::wire::parse_date(&text(s, "starts_on")).map(format_date);
        let label = escaped(&format!(
            "{} · {}",
            day.unwrap_or_default(),
            text(s, "location")
        ));
        svg += &format!(
            "<g class=\"fill-row\"><title>{label} : {confirmed} payées, {held} en attente de paiement, sur {places}</title>\
             <text x=\"0\" y=\"{text_y}\">{label}</text>\
             <rect class=\"places\" x=\"{LABEL}\" y=\"{bar_y}\" width=\"{bar}\" height=\"16\"></rect>\
             <rect class=\"paid\" x=\"{LABEL}\" y=\"{bar_y}\" width=\"{paid}\" height=\"16\"></rect>\
             <rect class=\"held\" x=\"{}\" y=\"{bar_y}\" width=\"{waiting}\" height=\"16\"></rect>\
             <text x=\"{}\" y=\"{text_y}\">{confirmed} / {places}</text></g>",
            LABEL + paid,
            LABEL + bar + 8,
            text_y = y + 18,
            bar_y = y + 6,
        );
    }
    svg + "</svg>"
}
