//! The admin dashboard's figures, each computed by the database (the same
//! statements on SQLite and PostgreSQL: month windows are bound values,
//! not date functions, which the two spell differently).

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use common::bookings::BookingStatus;
use common::payments::{OwedCallKind, OwedCallStatus};
use common::sessions::SessionDecision;
use common::stats::{MonthRevenue, PlanSubscribers, SessionFill, StatsDto};
use common::subscriptions::{Plan, PlanInterval, PlanPriceDto, SubscriptionType};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::domain::platform::clock::today_at_venue;
use entity::{
    immersion_bookings as bookings, immersion_sessions as sessions, owed_gateway_calls as owed,
    payment_anomalies as anomalies, subscription_status as members,
};

/// Upcoming sessions shown at most.
const UPCOMING: u64 = 50;

/// The first instant of each of the 12 calendar months up to `now`'s (at
/// the venue), oldest first, and the start of the next month: 13 bounds.
pub fn month_bounds(now: DateTime<Utc>) -> Vec<(NaiveDate, DateTime<Utc>)> {
    let today = today_at_venue(now);
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    (0..=12)
        .map(|i| {
            let first = this_month + chrono::Months::new(i) - chrono::Months::new(11);
            let midnight = first.and_hms_opt(0, 0, 0).unwrap_or_default();
            // A month never starts inside a daylight-saving gap in Paris.
            let at = Paris.from_local_datetime(&midnight).earliest().map_or_else(
                || Utc.from_utc_datetime(&midnight),
                |t| t.with_timezone(&Utc),
            );
            (first, at)
        })
        .collect()
}

/// `COALESCE(CAST(SUM(expr) AS BIGINT), 0)`: PostgreSQL sums a BIGINT
/// into a NUMERIC.
fn total(expr: SimpleExpr) -> SimpleExpr {
    Func::coalesce([
        Func::cast_as(Func::sum(expr), Alias::new("BIGINT")).into(),
        Expr::value(0_i64),
    ])
    .into()
}

fn within(col: SimpleExpr, from: DateTime<Utc>, to: DateTime<Utc>) -> SimpleExpr {
    col.clone().gte(from).and(col.lt(to))
}

/// When a refund happened: the cancel that made it, else the last change
/// (a refund made from Stripe's dashboard).
fn refunded_at() -> SimpleExpr {
    Func::coalesce([
        Expr::col(bookings::Column::CancelledAt),
        Expr::col(bookings::Column::UpdatedAt),
    ])
    .into()
}

fn refunded_cents() -> SimpleExpr {
    Func::coalesce([
        Expr::col(bookings::Column::RefundedCents),
        Expr::value(0_i64),
    ])
    .into()
}

/// Paid and refunded per month, in one statement.
async fn revenue_by_month(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<Vec<MonthRevenue>, DbErr> {
    let bounds = month_bounds(now);
    let mut q = Query::select();
    q.from(bookings::Entity)
        .and_where(Expr::col(bookings::Column::ConfirmedAt).is_not_null());
    for w in bounds.windows(2) {
        let (from, to) = (w[0].1, w[1].1);
        let paid = Expr::case(
            within(Expr::col(bookings::Column::ConfirmedAt), from, to),
            Expr::col(bookings::Column::AmountCents),
        )
        .finally(0_i64);
        let refunded = Expr::case(within(refunded_at(), from, to), refunded_cents()).finally(0_i64);
        q.expr(total(paid.into())).expr(total(refunded.into()));
    }
    let row = db
        .query_one(&q)
        .await?
        .ok_or_else(|| DbErr::Custom("no revenue row".into()))?;
    let mut months = Vec::with_capacity(12);
    for (i, w) in bounds.windows(2).enumerate() {
        let paid_cents: i64 = row.try_get_by_index(2 * i)?;
        let refunded_cents: i64 = row.try_get_by_index(2 * i + 1)?;
        months.push(MonthRevenue {
            month: w[0].0.format("%Y-%m").to_string(),
            paid_cents,
            refunded_cents,
            revenue_cents: paid_cents - refunded_cents,
        });
    }
    Ok(months)
}

async fn upcoming(db: &impl ConnectionTrait, today: NaiveDate) -> Result<Vec<SessionFill>, DbErr> {
    let rows = sessions::Entity::find()
        .filter(sessions::Column::StartsOn.gt(today))
        .filter(
            sessions::Column::Decision
                .is_null()
                .or(sessions::Column::Decision.ne(SessionDecision::Cancelled)),
        )
        .order_by_asc(sessions::Column::StartsOn)
        .order_by_asc(sessions::Column::Id)
        .limit(UPCOMING)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|s| s.id).collect();
    let counts: Vec<(Uuid, BookingStatus, i64)> = bookings::Entity::find()
        .filter(bookings::Column::SessionId.is_in(ids))
        .filter(bookings::Column::Status.is_in([BookingStatus::Confirmed, BookingStatus::Held]))
        .select_only()
        .column(bookings::Column::SessionId)
        .column(bookings::Column::Status)
        .column_as(bookings::Column::Id.count(), "n")
        .group_by(bookings::Column::SessionId)
        .group_by(bookings::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let count = |id: Uuid, status: BookingStatus| {
        counts
            .iter()
            .find(|(s, st, _)| *s == id && *st == status)
            .map_or(0, |c| c.2)
    };
    Ok(rows
        .into_iter()
        .map(|s| {
            let confirmed = count(s.id, BookingStatus::Confirmed);
            SessionFill {
                session_id: s.id,
                starts_on: s.starts_on,
                location: s.location,
                max_places: s.max_places,
                confirmed,
                held: count(s.id, BookingStatus::Held),
                fill_rate: if s.max_places > 0 {
                    confirmed as f64 / f64::from(s.max_places)
                } else {
                    0.0
                },
            }
        })
        .collect())
}

/// Monthly members at the monthly price, a twelfth of the yearly price per
/// yearly member (rounded to the cent).
fn monthly_recurring(subscribers: &[PlanSubscribers], plans: &[PlanPriceDto]) -> Option<i64> {
    let mut cents = 0_i64;
    for s in subscribers {
        let plan = match s.plan {
            SubscriptionType::PremiumMonthly => Plan::Monthly,
            SubscriptionType::PremiumYearly => Plan::Yearly,
            SubscriptionType::Free => continue,
        };
        let price = plans.iter().find(|p| p.plan == plan)?;
        let per_month = match price.interval {
            PlanInterval::Month => price.amount_cents,
            PlanInterval::Year => (price.amount_cents + 6) / 12,
            PlanInterval::Week => price.amount_cents * 52 / 12,
            PlanInterval::Day => price.amount_cents * 365 / 12,
        };
        cents += per_month * s.active;
    }
    Some(cents)
}

/// Every figure of the dashboard. `plans` are the prices on sale, when
/// they could be read.
pub async fn compute(
    db: &DatabaseConnection,
    plans: Option<&[PlanPriceDto]>,
    now: DateTime<Utc>,
) -> Result<StatsDto, DbErr> {
    let revenue_by_month = revenue_by_month(db, now).await?;
    let upcoming = upcoming(db, today_at_venue(now)).await?;
    let subscribers: Vec<PlanSubscribers> = members::Entity::find()
        .filter(members::Column::IsActive.eq(true))
        .filter(members::Column::SubscriptionType.ne(SubscriptionType::Free))
        .select_only()
        .column(members::Column::SubscriptionType)
        .column_as(members::Column::UserId.count(), "n")
        .group_by(members::Column::SubscriptionType)
        .order_by_asc(members::Column::SubscriptionType)
        .into_tuple::<(SubscriptionType, i64)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(plan, active)| PlanSubscribers { plan, active })
        .collect();
    let since = now - Duration::days(30);
    let cancellations_30d = bookings::Entity::find()
        .filter(bookings::Column::CancelledAt.gte(since))
        .count(db)
        .await? as i64;
    let (refunds_30d, refunded_30d_cents): (i64, i64) = {
        let mut q = Query::select();
        q.from(bookings::Entity)
            .expr(total(
                Expr::case(refunded_cents().gt(0_i64), 1_i64)
                    .finally(0_i64)
                    .into(),
            ))
            .expr(total(refunded_cents()))
            .and_where(refunded_cents().gt(0_i64))
            .and_where(refunded_at().gte(since));
        let row = db.query_one(&q).await?;
        match row {
            Some(r) => (r.try_get_by_index(0)?, r.try_get_by_index(1)?),
            None => (0, 0),
        }
    };
    let (owed_refunds, owed_refunds_cents): (i64, i64) = {
        let mut q = Query::select();
        q.from(owed::Entity)
            .expr(total(Expr::value(1_i64)))
            .expr(total(
                Func::coalesce([Expr::col(owed::Column::AmountCents), Expr::value(0_i64)]).into(),
            ))
            .and_where(Expr::col(owed::Column::Kind).is_in([
                OwedCallKind::Refund.as_str(),
                OwedCallKind::RefundInvoice.as_str(),
            ]))
            .and_where(Expr::col(owed::Column::Status).ne(OwedCallStatus::Done.as_str()));
        let row = db.query_one(&q).await?;
        match row {
            Some(r) => (r.try_get_by_index(0)?, r.try_get_by_index(1)?),
            None => (0, 0),
        }
    };
    let open_anomalies = anomalies::Entity::find()
        .filter(anomalies::Column::AcknowledgedAt.is_null())
        .count(db)
        .await? as i64;
    Ok(StatsDto {
        currency: "EUR".to_owned(),
        revenue_this_month_cents: revenue_by_month.last().map_or(0, |m| m.revenue_cents),
        revenue_by_month,
        seats_sold_upcoming: upcoming.iter().map(|s| s.confirmed).sum(),
        upcoming,
        mrr_cents: plans.and_then(|p| monthly_recurring(&subscribers, p)),
        subscribers,
        cancellations_30d,
        refunds_30d,
        refunded_30d_cents,
        owed_refunds,
        owed_refunds_cents,
        open_anomalies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_months_at_the_venue_end_with_this_one() {
        // 23:30 UTC on 31 January is already February in Paris.
        let now = Utc.with_ymd_and_hms(2027, 1, 31, 23, 30, 0).unwrap();
        let b = month_bounds(now);
        assert_eq!(b.len(), 13);
        assert_eq!(b[0].0.to_string(), "2026-03-01");
        assert_eq!(b[11].0.to_string(), "2027-02-01");
        assert_eq!(b[12].0.to_string(), "2027-03-01");
        // Paris midnight: 23:00 UTC the day before in winter, 22:00 in summer.
        assert_eq!(b[11].1.to_rfc3339(), "2027-01-31T23:00:00+00:00");
        assert_eq!(b[3].1.to_rfc3339(), "2026-05-31T22:00:00+00:00");
    }

    #[test]
    fn mrr_counts_a_twelfth_of_the_yearly_price() {
        let plans = [
            PlanPriceDto {
                plan: Plan::Monthly,
                amount_cents: 2_900,
                currency: "EUR".into(),
                interval: PlanInterval::Month,
            },
            PlanPriceDto {
                plan: Plan::Yearly,
                amount_cents: 29_000,
                currency: "EUR".into(),
                interval: PlanInterval::Year,
            },
        ];
        let subs = [
            PlanSubscribers {
                plan: SubscriptionType::PremiumMonthly,
                active: 3,
            },
            PlanSubscribers {
                plan: SubscriptionType::PremiumYearly,
                active: 2,
            },
        ];
        // 3 × 29 € + 2 × 290 € / 12 = 87 € + 48.33 €.
        assert_eq!(monthly_recurring(&subs, &plans), Some(8_700 + 4_834));
        assert_eq!(monthly_recurring(&subs, &plans[..1]), None);
    }
}
