//! The events feed: what happened, in commit order, for third parties
//! that poll (and to catch up after webhooks were down).

use actix_web::{HttpResponse, get, http::header, web};
use common::events::{EventDto, EventType};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::domain::platform::events;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::AdminUser;
use crate::http::pagination;
use crate::http::problems as p;
use crate::state::AppState;

/// `?after=&types=&limit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The id of the last event read: the feed answers those after it.
    /// Absent: from the first.
    pub after: Option<Uuid>,
    /// Comma-separated event types (`booking.confirmed,session.full`);
    /// absent: all.
    #[param(max_length = 1000)]
    pub types: Option<String>,
    /// How many at most (1 to 500, default 100).
    #[param(minimum = 1, maximum = 500, default = 100)]
    pub limit: Option<usize>,
}

/// Events in commit order: each once, never one committed later before
/// one committed earlier, so reading on `after=<the last id read>` misses
/// nothing. A full page has a `Link: rel="next"`; otherwise ask again
/// later with the last id.
#[utoipa::path(
    tag = "admin",
    params(FeedQuery),
    responses(
        (status = 200, body = Vec<EventDto>, headers(("Link" = String, description = "`<…>; rel=\"next\"` when the page is full"))),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/events")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn list_events(
    state: web::Data<AppState>,
    admin: AdminUser,
    query: web::Query<FeedQuery>,
) -> ApiResult<HttpResponse> {
    let limit = pagination::checked_limit(query.limit)?;
    let types = parse_types(query.types.as_deref())?;
    // What has committed gets its number first: then the cursor's own.
    events::sequence(&state.db).await?;
    let after = match query.after {
        None => 0,
        Some(id) => events::number_of(&state.db, id)
            .await?
            .ok_or_else(|| ApiError::invalid("after", "unknown", "no event has this id"))?,
    };
    let page = events::after(&state.db, after, &types, limit as u64).await?;
    let events: Vec<EventDto> = page
        .into_iter()
        .map(|(_, e)| events::present(e, state.policy.cancellation_cutoff_days))
        .collect();
    let mut res = HttpResponse::Ok();
    if events.len() == limit
        && let Some(last) = events.last()
    {
        let mut link = format!("</api/events?after={}&limit={limit}", last.id);
        if let Some(t) = &query.types {
            link.push_str("&types=");
            link.push_str(&types_param(t));
        }
        link.push_str(">; rel=\"next\"");
        res.insert_header((header::LINK, link));
    }
    Ok(res.json(events))
}

/// The types asked for; 422 for one this API does not send.
fn parse_types(raw: Option<&str>) -> ApiResult<Vec<EventType>> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            EventType::parse(t).ok_or_else(|| {
                ApiError::invalid("types", "unknown", format!("no event type is called {t:?}"))
            })
        })
        .collect()
}

/// The types as they go back into a link (names are `[a-z_.]`, commas kept).
fn types_param(raw: &str) -> String {
    raw.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}
