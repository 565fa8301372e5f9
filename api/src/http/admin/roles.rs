//! Admins see and change other accounts' roles; every change is kept.

use actix_web::{HttpRequest, HttpResponse, get, put, web};
use chrono::Utc;
use common::auth::{RoleChange, RoleChangeDto, UserDto};
use uuid::Uuid;

use crate::domain::accounts::roles;
use crate::error::ApiResult;
use crate::http::extract::{AdminUser, AuthUser};
use crate::http::pagination::{self, PageQuery};
use crate::http::problems as p;
use crate::state::AppState;

/// Gives another account a role: `admin` or `user`. Refused (409
/// `role_not_changeable`) for one's own account, for an address that
/// `ADMIN_EMAILS` lists (it decides at each start), and to make admin an
/// address that is not verified. The change is kept, naming the admin.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "The account's id")),
    request_body = RoleChange,
    responses(
        (status = 200, body = UserDto, description = "The account, with its role now"),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 404, response = p::NotFound),
        (status = 409, response = p::Conflict),
        (status = 413, response = p::PayloadTooLarge),
        (status = 415, response = p::UnsupportedMediaType),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[put("/api/admin/users/{id}/role")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn change_role(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
    body: web::Json<RoleChange>,
) -> ApiResult<web::Json<UserDto>> {
    let user = roles::change_by_admin(
        &state.db,
        admin.0.id,
        &state.settings.admin_emails,
        (id.into_inner(), body.role),
        Utc::now(),
    )
    .await?;
    Ok(web::Json(AuthUser::from_model(user)?.dto()))
}

/// Every role change kept, newest first: who (`admin:<id>`,
/// `ADMIN_EMAILS`, `cli`, `demo`), whom, when, the old and the new role.
#[utoipa::path(
    tag = "admin",
    params(PageQuery),
    responses(
        (status = 200, body = Vec<RoleChangeDto>, headers(("Link" = String, description = "`<…>; rel=\"next\"` when more remain"))),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 403, response = p::Forbidden),
        (status = 422, response = p::ValidationFailed),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/api/admin/role-changes")]
#[tracing::instrument(skip_all, fields(admin = %admin.0.id))]
pub async fn list_role_changes(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminUser,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.page()?;
    let list = roles::history(&state.db).await?;
    pagination::respond(&req, &page, list, |c| c.id.to_string())
}
