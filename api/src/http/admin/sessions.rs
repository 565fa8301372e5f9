//! Admins manage the catalog.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::Utc;
use common::bookings::BookingDto;
use common::sessions::{DecisionRequest, NewSession, SessionDto, SessionPatch};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::domain::{
    bookings, bookings::decisions, catalog::sessions, platform::clock::today_at_venue,
};
use crate::error::ApiResult;
use crate::http::extract::AdminUser;
use crate::http::idempotency::IdempotencyKey;
use crate::http::pagination::{self, PageQuery};
use crate::http::problems as p;
use crate::state::AppState;

/// Every session, inactive and past ones too.
#[utoipa::path(
    tag = "admin",
    params(PageQuery),
    responses(
        (status = 200, body = Vec<SessionDto>, headers(("Link" = String, description = "`<…>; rel=\"next\"` when more remain"))),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/admin/sessions")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn list_admin_sessions(
    state: web::Data<AppState>,
    admin: AdminUser,
    req: actix_web::HttpRequest,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.page()?;
    let today = today_at_venue(Utc::now());
    let list = sessions::list_all(&state.db, today).await?;
    pagination::respond(&req, &page, list, |s| s.id.to_string())
}

/// Creates a session.
#[utoipa::path(
    params(IdempotencyKey),
    tag = "admin",
    request_body = NewSession,
    responses(
        (status = 201, body = SessionDto),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 409, response = p::Conflict),
        (status = 413, response = p::PayloadTooLarge),
        (status = 415, response = p::UnsupportedMediaType),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post(
    "/api/admin/sessions",
    wrap = "actix_web::middleware::from_fn(crate::http::idempotency::once)"
)]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn create_session(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: web::Json<NewSession>,
) -> ApiResult<HttpResponse> {
    let today = today_at_venue(Utc::now());
    let created = sessions::create(
        &state.db,
        body.into_inner(),
        today,
        state.settings.min_places_decision_days,
    )
    .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Edits a session: only the fields present change. `max_places` never
/// goes below the places already reserved. Places the edit frees (more
/// places, reopened, reactivated) are offered to the waiting list in the
/// same transaction, before anyone from the catalog can take them.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Session id")),
    request_body = SessionPatch,
    responses(
        (status = 200, body = SessionDto),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
        (status = 413, response = p::PayloadTooLarge),
        (status = 415, response = p::UnsupportedMediaType),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[patch("/api/admin/sessions/{id}")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn update_session(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
    body: web::Json<SessionPatch>,
) -> ApiResult<web::Json<SessionDto>> {
    Ok(web::Json(
        sessions::update(
            &state.db,
            id.into_inner(),
            body.into_inner(),
            Utc::now(),
            state.settings.min_places_decision_days,
            &state.policy.offers,
        )
        .await?,
    ))
}

/// Deletes a session without held or confirmed bookings; otherwise 409
/// `session_has_bookings` (deactivate it instead).
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
        (status = 409, response = p::Conflict),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/api/admin/sessions/{id}")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn delete_session(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    sessions::delete(&state.db, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Decides a session now, before its decision date: `confirmed` runs it
/// (attendees are told), `cancelled` closes it, releases every hold and
/// refunds every paid seat in full. 409 `session_already_decided` once
/// decided either way.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Session id")),
    request_body = DecisionRequest,
    responses(
        (status = 200, body = SessionDto),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
        (status = 409, response = p::Conflict),
        (status = 413, response = p::PayloadTooLarge),
        (status = 415, response = p::UnsupportedMediaType),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/api/admin/sessions/{id}/decision")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn decide_session(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
    body: web::Json<DecisionRequest>,
) -> ApiResult<web::Json<SessionDto>> {
    let id = id.into_inner();
    let now = Utc::now();
    decisions::decide_early(&state.db, &state.settler(), id, body.decision, now).await?;
    Ok(web::Json(
        sessions::get_any(&state.db, id, today_at_venue(now)).await?,
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Json,
    Csv,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AttendeesQuery {
    /// `csv` answers a CSV file (every booking, whatever `limit` says)
    /// whatever the `Accept` header says; a plain download link cannot set
    /// that header. Without it, `Accept: text/csv` decides.
    // Described as a plain optional enum (not a nullable reference):
    // client generators read that.
    #[param(value_type = ExportFormat, inline, required = false)]
    pub format: Option<ExportFormat>,
}

/// A session's bookings (every status), as JSON or, with
/// `Accept: text/csv` or `?format=csv`, as a CSV file for a spreadsheet.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Session id"), AttendeesQuery, PageQuery),
    responses(
        (status = 200, description = "The bookings", content(
            (Vec<BookingDto> = "application/json"),
            (String = "text/csv"),
        ), headers(("Link" = String, description = "`<…>; rel=\"next\"` when more remain"))),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/admin/sessions/{id}/bookings")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn list_session_bookings(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
    query: web::Query<AttendeesQuery>,
    page: web::Query<PageQuery>,
    req: actix_web::HttpRequest,
) -> ApiResult<HttpResponse> {
    let page = page.page()?;
    let id = id.into_inner();
    let rows = bookings::attendees(&state.desk(), id).await?;
    let wants_csv = match query.format {
        Some(format) => format == ExportFormat::Csv,
        None => req
            .headers()
            .get(actix_web::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/csv")),
    };
    if !wants_csv {
        let filters: Vec<(&str, String)> = query
            .format
            .map(|_| ("format", "json".to_owned()))
            .into_iter()
            .collect();
        return pagination::respond_with(&req, &page, &filters, rows, |b| b.id.to_string());
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"participants-{id}.csv\""),
        ))
        .body(csv::attendees(&rows)))
}

mod csv {
    use common::bookings::BookingDto;

    use crate::http::csv::line;

    pub fn attendees(rows: &[BookingDto]) -> String {
        let mut out = line([
            "booking_id",
            "name",
            "email",
            "status",
            "amount_cents",
            "currency",
            "refunded_cents",
            "created_at",
        ]);
        for b in rows {
            out.push_str(&line([
                b.id.to_string(),
                b.attendee_name.clone().unwrap_or_default(),
                b.user_email.clone(),
                b.status.as_str().to_owned(),
                b.amount_cents.to_string(),
                b.currency.clone(),
                b.refunded_cents.map(|c| c.to_string()).unwrap_or_default(),
                b.created_at.to_rfc3339(),
            ]));
        }
        out
    }
}
