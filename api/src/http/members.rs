//! The members' area: everything here needs access (a subscription, or
//! the admin role); otherwise 403 `subscription_inactive` with the reason.

use actix_web::{get, web};
use common::resources::ResourceDto;

use crate::auth::MemberUser;
use crate::domain::resources;
use crate::error::ApiResult;
use crate::http::problems as p;
use crate::state::AppState;

/// The members' resources, in order.
#[utoipa::path(
    tag = "members",
    responses(
        (status = 200, body = Vec<ResourceDto>),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/app/resources")]
#[tracing::instrument(skip_all, fields(user = %member.0.id))]
pub async fn list_member_resources(
    state: web::Data<AppState>,
    member: MemberUser,
) -> ApiResult<web::Json<Vec<ResourceDto>>> {
    Ok(web::Json(resources::list(&state.db).await?))
}
