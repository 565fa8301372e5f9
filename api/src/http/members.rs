//! The members' area: everything here needs access (a subscription, or
//! the admin role); otherwise 403 `subscription_inactive` with the reason.

use actix_web::{HttpRequest, HttpResponse, get, web};
use common::resources::ResourceDto;

use crate::domain::subscriptions::resources;
use crate::error::ApiResult;
use crate::http::extract::MemberUser;
use crate::http::pagination::{self, PageQuery};
use crate::http::problems as p;
use crate::state::AppState;

/// The members' resources, in order.
#[utoipa::path(
    tag = "members",
    params(PageQuery),
    responses(
        (status = 200, body = Vec<ResourceDto>, headers(("Link" = String, description = "`<…>; rel=\"next\"` when more remain"))),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/app/resources")]
#[tracing::instrument(skip_all, fields(user = %member.0.id))]
pub async fn list_member_resources(
    state: web::Data<AppState>,
    req: HttpRequest,
    member: MemberUser,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.page()?;
    let list = resources::list(&state.db).await?;
    pagination::respond(&req, &page, list, |r| r.id.to_string())
}
