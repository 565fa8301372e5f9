//! The admin dashboard's figures (`GET /api/admin/stats`).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::subscriptions::SubscriptionType;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatsDto {
    /// Every amount below is in this currency's cents.
    pub currency: String,
    /// Paid seats minus refunds, this calendar month (at the venue).
    pub revenue_this_month_cents: i64,
    /// The last 12 calendar months, oldest first, this month last.
    pub revenue_by_month: Vec<MonthRevenue>,
    /// Confirmed seats in sessions still to come.
    pub seats_sold_upcoming: i64,
    /// Sessions still to come (not cancelled), soonest first.
    pub upcoming: Vec<SessionFill>,
    /// Members with access, per plan.
    pub subscribers: Vec<PlanSubscribers>,
    /// Monthly recurring revenue: monthly members at the monthly price, and
    /// a twelfth of the yearly price per yearly member. None when the
    /// prices cannot be read from the payment provider right now.
    pub mrr_cents: Option<i64>,
    /// Bookings cancelled in the last 30 days.
    pub cancellations_30d: i64,
    /// Refunds made in the last 30 days, and their total.
    pub refunds_30d: i64,
    pub refunded_30d_cents: i64,
    /// Refunds owed to clients and not yet made (or refused for good).
    pub owed_refunds: i64,
    pub owed_refunds_cents: i64,
    /// Payment anomalies no admin has acknowledged.
    pub open_anomalies: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonthRevenue {
    /// `YYYY-MM`.
    pub month: String,
    pub paid_cents: i64,
    pub refunded_cents: i64,
    /// `paid_cents - refunded_cents`.
    pub revenue_cents: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionFill {
    pub session_id: uuid::Uuid,
    #[cfg_attr(target_arch = "wasm32", serde(deserialize_with = "crate::wire::date"))]
    pub starts_on: NaiveDate,
    pub location: String,
    pub max_places: i32,
    /// Paid seats.
    pub confirmed: i64,
    /// Seats held for payment (or offered from the waiting list).
    pub held: i64,
    /// `confirmed / max_places`, from 0 to 1.
    pub fill_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanSubscribers {
    pub plan: SubscriptionType,
    pub active: i64,
}
