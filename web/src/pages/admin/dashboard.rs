//! `/admin`: the overview. Key figures, then two charts drawn as plain SVG
//! (no chart library: the app's size budget): revenue per month over a
//! year, and how full each coming session is. Every figure comes from
//! `GET /api/admin/stats`; the page only draws.

use common::format::format_date;
use common::money::format_price;
use common::stats::{MonthRevenue, SessionFill, StatsDto};
use common::subscriptions::SubscriptionType;
use leptos::prelude::*;

use super::AdminMenu;
use crate::api;
use crate::components::feedback::{Failure, Loading, resource};

#[component]
pub fn DashboardPage() -> impl IntoView {
    let stats = resource(api::stats);
    view! {
        <AdminMenu/>
        <h1>"Tableau de bord"</h1>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || stats.get().map(|r| match r {
                Ok(s) => view! { <Dashboard stats=s/> }.into_any(),
                Err(error) => view! { <Failure error/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Dashboard(stats: StatsDto) -> impl IntoView {
    let money = |cents: i64| format_price(cents, &stats.currency);
    let members = |plan| {
        stats
            .subscribers
            .iter()
            .filter(|p| p.plan == plan)
            .map(|p| p.active)
            .sum::<i64>()
    };
    let figures = [
        (
            "Chiffre d'affaires du mois",
            money(stats.revenue_this_month_cents),
        ),
        (
            "Places vendues (sessions à venir)",
            stats.seats_sold_upcoming.to_string(),
        ),
        (
            "Abonnés actifs",
            format!(
                "{} mensuels · {} annuels",
                members(SubscriptionType::PremiumMonthly),
                members(SubscriptionType::PremiumYearly)
            ),
        ),
        (
            "Revenu mensuel récurrent",
            stats
                .mrr_cents
                .map_or_else(|| "indisponible".to_owned(), money),
        ),
        (
            "Annulations (30 jours)",
            stats.cancellations_30d.to_string(),
        ),
        (
            "Remboursements (30 jours)",
            format!(
                "{} · {}",
                stats.refunds_30d,
                money(stats.refunded_30d_cents)
            ),
        ),
        (
            "Remboursements dus",
            format!(
                "{} · {}",
                stats.owed_refunds,
                money(stats.owed_refunds_cents)
            ),
        ),
        (
            "Anomalies de paiement à traiter",
            stats.open_anomalies.to_string(),
        ),
    ];
    view! {
        <dl class="figures">
            {figures.into_iter().map(|(what, value)| view! {
                <div><dt>{what}</dt><dd>{value}</dd></div>
            }).collect_view()}
        </dl>
        <h2>"Chiffre d'affaires sur 12 mois"</h2>
        {revenue_chart(&stats.revenue_by_month, &stats.currency)}
        <h2>"Remplissage des sessions à venir"</h2>
        {fill_chart(&stats.upcoming)}
    }
}

/// Chart area, in SVG user units (the SVG scales to the width it gets).
const WIDTH: i64 = 600;
const HEIGHT: i64 = 200;
/// Room under the bars for the month labels.
const AXIS: i64 = 20;

/// One bar per month, its height proportional to the month's revenue
/// (a month with more refunds than sales draws no bar); each bar's title
/// gives the exact figure, and the chart's label says what it shows.
fn revenue_chart(months: &[MonthRevenue], currency: &str) -> impl IntoView + use<> {
    let top = months
        .iter()
        .map(|m| m.revenue_cents)
        .max()
        .unwrap_or(0)
        .max(1);
    let n = (months.len() as i64).max(1);
    let slot = WIDTH / n;
    let bars = months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let h = m.revenue_cents.max(0) * (HEIGHT - AXIS) / top;
            let x = i as i64 * slot;
            let label = m.month.get(5..).unwrap_or(&m.month).to_owned();
            let title = format!("{} : {}", m.month, format_price(m.revenue_cents, currency));
            view! {
                <g class="bar">
                    <title>{title}</title>
                    <rect x=x + 4 y=HEIGHT - AXIS - h width=slot - 8 height=h></rect>
                    <text x=x + slot / 2 y=HEIGHT - 4 text-anchor="middle">{label}</text>
                </g>
            }
        })
        .collect_view();
    let total: i64 = months.iter().map(|m| m.revenue_cents).sum();
    let summary = format!(
        "Chiffre d'affaires par mois sur 12 mois, {} au total",
        format_price(total, currency)
    );
    view! {
        <svg class="chart revenue" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=summary>
            <line x1="0" y1=HEIGHT - AXIS x2=WIDTH y2=HEIGHT - AXIS></line>
            {bars}
        </svg>
    }
}

/// One horizontal bar per coming session: paid seats, then held ones, out
/// of its places.
fn fill_chart(sessions: &[SessionFill]) -> AnyView {
    if sessions.is_empty() {
        return view! { <p class="empty">"Aucune session à venir."</p> }.into_any();
    }
    const ROW: i64 = 28;
    const LABEL: i64 = 200;
    let bar = WIDTH - LABEL - 60;
    let height = ROW * sessions.len() as i64;
    let rows = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let max = i64::from(s.max_places.max(1));
            let y = i as i64 * ROW;
            let paid = s.confirmed.min(max) * bar / max;
            let held = s.held.min(max - s.confirmed.min(max)) * bar / max;
            let label = format!("{} · {}", format_date(s.starts_on), s.location);
            let title = format!(
                "{label} : {} payées, {} en attente de paiement, sur {}",
                s.confirmed, s.held, s.max_places
            );
            view! {
                <g class="fill-row">
                    <title>{title}</title>
                    <text x="0" y=y + 18>{label}</text>
                    <rect class="places" x=LABEL y=y + 6 width=bar height="16"></rect>
                    <rect class="paid" x=LABEL y=y + 6 width=paid height="16"></rect>
                    <rect class="held" x=LABEL + paid y=y + 6 width=held height="16"></rect>
                    <text x=LABEL + bar + 8 y=y + 18>{format!("{} / {}", s.confirmed, s.max_places)}</text>
                </g>
            }
        })
        .collect_view();
    let summary = format!("Remplissage de {} sessions à venir", sessions.len());
    view! {
        <svg class="chart fill-chart" viewBox=format!("0 0 {WIDTH} {height}") role="img" aria-label=summary>
            {rows}
        </svg>
    }
    .into_any()
}
