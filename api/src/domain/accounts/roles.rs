//! Who is admin, and every change of it kept (`role_changes`: who, whom,
//! when, old and new role). `ADMIN_EMAILS` grants and withdraws: an admin
//! it made goes back to user once the list no longer names it; an admin
//! made otherwise (the command line, another admin, the demo data) stays.

use chrono::{DateTime, Utc};
use common::ErrorCode;
use common::auth::{Role, RoleChangeDto};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, TransactionTrait,
};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

use entity::{role_changes as changes, users};

/// Who made a change: the list of `ADMIN_EMAILS`.
pub const BY_ADMIN_EMAILS: &str = "ADMIN_EMAILS";
/// … the command line (`promote-admin`, `demote-admin`).
pub const BY_CLI: &str = "cli";
/// … the demo data.
pub const BY_DEMO: &str = "demo";

/// Who made a change through the API: the admin, by id.
pub fn by_admin(admin: Uuid) -> String {
    format!("admin:{admin}")
}

fn not_changeable(detail: &'static str) -> ApiError {
    ApiError::conflict(ErrorCode::RoleNotChangeable, detail)
}

/// An admin gives another account `to` (`PUT /api/admin/users/{id}/role`)
/// and answers it as it is now. Never their own role (another admin
/// decides that, so there is always one left who can); never against
/// `ADMIN_EMAILS`, which would undo it at the next start; never admin to
/// an address not verified, which may be a squatter's.
pub async fn change_by_admin(
    db: &DatabaseConnection,
    admin: Uuid,
    admin_emails: &[String],
    (user_id, to): (Uuid, Role),
    now: DateTime<Utc>,
) -> ApiResult<users::Model> {
    if user_id == admin {
        return Err(not_changeable(
            "an admin's own role is changed by another admin",
        ));
    }
    let txn = db.begin().await?;
    // Both rows locked (a write is a lock on both databases), in id order:
    // two admins taking each other's role at once cannot both pass the
    // check below, nor wait for each other.
    let mut rows = [admin, user_id];
    rows.sort();
    for id in rows {
        users::Entity::update_many()
            .col_expr(users::Column::Role, Expr::col(users::Column::Role))
            .filter(users::Column::Id.eq(id))
            .exec(&txn)
            .await?;
    }
    let still_admin = users::Entity::find_by_id(admin)
        .one(&txn)
        .await?
        .is_some_and(|a| a.role == Role::Admin);
    if !still_admin {
        return Err(ApiError::forbidden());
    }
    let user = users::Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if to == Role::User && admin_emails.contains(&user.email) {
        return Err(not_changeable(
            "ADMIN_EMAILS lists this address: remove it there and restart",
        ));
    }
    if to == Role::Admin && user.email_verified_at.is_none() {
        return Err(not_changeable(
            "this address is not verified: it cannot be made admin yet",
        ));
    }
    change(&txn, &user, to, &by_admin(admin), now).await?;
    let user = users::Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    txn.commit().await?;
    Ok(user)
}

/// Every role change kept, newest first, with the address of whom.
pub async fn history(db: &impl ConnectionTrait) -> Result<Vec<RoleChangeDto>, DbErr> {
    Ok(changes::Entity::find()
        .find_also_related(users::Entity)
        .order_by_desc(changes::Column::ChangedAt)
        .order_by_desc(changes::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|(c, u)| RoleChangeDto {
            id: c.id,
            user_id: c.user_id,
            email: u.map(|u| u.email).unwrap_or_default(),
            old_role: c.old_role,
            new_role: c.new_role,
            changed_by: c.changed_by,
            changed_at: c.changed_at,
        })
        .collect())
}

/// Moves `user` to `to`, if it still has the role read, and records it;
/// true when this call changed it.
pub async fn change(
    db: &impl ConnectionTrait,
    user: &users::Model,
    to: Role,
    by: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    if user.role == to {
        return Ok(false);
    }
    let moved = users::Entity::update_many()
        .col_expr(users::Column::Role, Expr::value(to.as_str()))
        .col_expr(users::Column::UpdatedAt, Expr::value(now))
        .filter(users::Column::Id.eq(user.id))
        .filter(users::Column::Role.eq(user.role.as_str()))
        // An account erased meanwhile keeps no role but a user's.
        .filter(users::Column::ErasedAt.is_null())
        .exec(db)
        .await?;
    if moved.rows_affected != 1 {
        return Ok(false);
    }
    record(db, user.id, (user.role, to), by, now).await?;
    tracing::warn!(user = %user.email, from = %user.role.as_str(), to = %to.as_str(), by, "role changed");
    Ok(true)
}

/// Keeps one change of `user_id`'s role.
pub async fn record(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    (old, new): (Role, Role),
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    changes::Entity::insert(changes::ActiveModel {
        id: Set(Uuid::new_v4()),
        user_id: Set(user_id),
        old_role: Set(old),
        new_role: Set(new),
        changed_by: Set(by.to_owned()),
        changed_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Who made `user_id` what it is: the last change kept, if any.
async fn last_change(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Option<changes::Model>, DbErr> {
    changes::Entity::find()
        .filter(changes::Column::UserId.eq(user_id))
        .order_by_desc(changes::Column::ChangedAt)
        .one(db)
        .await
}

/// Brings the admins in line with `ADMIN_EMAILS` at startup: listed users
/// with a verified address become admin; listed admins whose address is
/// not verified (a squatter's, maybe) and admins the list made but no
/// longer names go back to user. Answers (granted, withdrawn).
pub async fn follow_admin_emails(
    db: &impl ConnectionTrait,
    emails: &[String],
    now: DateTime<Utc>,
) -> Result<(u64, u64), DbErr> {
    let (mut granted, mut withdrawn) = (0, 0);
    for user in users::Entity::find()
        .filter(users::Column::Email.is_in(emails.iter().map(String::as_str)))
        .all(db)
        .await?
    {
        let to = if user.email_verified_at.is_some() {
            Role::Admin
        } else {
            Role::User
        };
        if change(db, &user, to, BY_ADMIN_EMAILS, now).await? {
            match to {
                Role::Admin => granted += 1,
                Role::User => withdrawn += 1,
            }
        }
    }
    for admin in users::Entity::find()
        .filter(users::Column::Role.eq(Role::Admin.as_str()))
        .filter(users::Column::Email.is_not_in(emails.iter().map(String::as_str)))
        .all(db)
        .await?
    {
        match last_change(db, admin.id).await? {
            Some(last) if last.changed_by == BY_ADMIN_EMAILS => {
                if change(db, &admin, Role::User, BY_ADMIN_EMAILS, now).await? {
                    withdrawn += 1;
                }
            }
            Some(_) => {}
            // Made admin before changes were kept: by the list or the
            // command line, nobody can tell; an operator decides.
            None => tracing::warn!(
                admin = %admin.email,
                "an admin from before role changes were kept is not in ADMIN_EMAILS: \
                 run `immersion demote-admin` if it should no longer be one"
            ),
        }
    }
    Ok((granted, withdrawn))
}
