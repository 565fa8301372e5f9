//! Admins see the payments that needed attention.

use actix_web::{get, post, web};
use chrono::Utc;
use common::payments::AnomalyDto;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::auth::AdminUser;
use crate::domain::anomalies;
use crate::error::{ApiError, ApiResult};
use crate::http::problems as p;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AnomaliesQuery {
    /// At most this many, newest first (default 100, at most 500).
    pub limit: Option<u64>,
}

/// Payments that claimed to be ours and did not match what was sold
/// (amount, currency, Checkout Session, booking, not paid, second
/// payment), and subscriptions on a price we do not sell. Each says
/// whether its money went back.
#[utoipa::path(
    tag = "admin",
    params(AnomaliesQuery),
    responses(
        (status = 200, body = Vec<AnomalyDto>),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/admin/payment-anomalies")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn list_payment_anomalies(
    state: web::Data<AppState>,
    admin: AdminUser,
    query: web::Query<AnomaliesQuery>,
) -> ApiResult<web::Json<Vec<AnomalyDto>>> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "range", "between 1 and 500"));
    }
    Ok(web::Json(anomalies::list(&state.db, limit).await?))
}

/// Marks an anomaly as looked at: `immersion audit` stops reporting it.
/// Acknowledging twice keeps the first time.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "The anomaly")),
    responses(
        (status = 200, body = AnomalyDto),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/api/admin/payment-anomalies/{id}/acknowledge")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn acknowledge_payment_anomaly(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<AnomalyDto>> {
    anomalies::acknowledge(&state.db, id.into_inner(), admin.0.id, Utc::now())
        .await?
        .map(web::Json)
        .ok_or_else(|| ApiError::not_found("payment anomaly"))
}
