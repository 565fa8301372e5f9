//! The admin dashboard's figures.

use actix_web::{get, web};
use chrono::Utc;
use common::stats::StatsDto;

use crate::domain::{reports::stats, subscriptions};
use crate::error::ApiResult;
use crate::http::extract::AdminUser;
use crate::http::problems as p;
use crate::state::AppState;

/// Revenue (paid seats minus refunds) this month and over 12 months, seats
/// sold and fill rate per upcoming session, members per plan and monthly
/// recurring revenue, cancellations and refunds over 30 days, owed refunds
/// and open payment anomalies.
#[utoipa::path(
    tag = "admin",
    responses(
        (status = 200, body = StatsDto),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/admin/stats")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn admin_stats(
    state: web::Data<AppState>,
    admin: AdminUser,
) -> ApiResult<web::Json<StatsDto>> {
    let now = Utc::now();
    // The dashboard shows without the recurring revenue rather than not at
    // all when the provider cannot state the prices.
    let plans = subscriptions::plans(
        state.gateway.as_ref(),
        &state.price_book,
        &state.policy.prices,
        now,
    )
    .await
    .inspect_err(|e| tracing::warn!(error = %e, "plan prices unavailable for the dashboard"))
    .ok();
    Ok(web::Json(
        stats::compute(&state.db, plans.as_deref(), now).await?,
    ))
}
