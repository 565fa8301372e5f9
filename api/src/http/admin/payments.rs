//! Admins see the payments that needed attention.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::Utc;
use common::payments::AnomalyDto;
use uuid::Uuid;

use crate::domain::billing::anomalies;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::AdminUser;
use crate::http::pagination::{self, PageQuery};
use crate::http::problems as p;
use crate::state::AppState;

/// Payments that claimed to be ours and did not match what was sold
/// (amount, currency, Checkout Session, booking, not paid, second
/// payment), and subscriptions on a price we do not sell, newest first.
/// Each says whether its money went back.
#[utoipa::path(
    tag = "admin",
    params(PageQuery),
    responses(
        (status = 200, body = Vec<AnomalyDto>, headers(("Link" = String, description = "`<…>; rel=\"next\"` when more remain"))),
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
    req: HttpRequest,
    admin: AdminUser,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.page()?;
    let list = anomalies::list(&state.db, anomalies::LIST_CAP).await?;
    pagination::respond(&req, &page, list, |a| a.id.to_string())
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
