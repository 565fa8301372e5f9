//! Who is admin, and every change of it kept (`role_changes`: who, whom,
//! when, old and new role). `ADMIN_EMAILS` grants and withdraws: an admin
//! it made goes back to user once the list no longer names it; an admin
//! made otherwise (the command line, another admin, the demo data) stays.

use chrono::{DateTime, Utc};
use common::auth::Role;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use entity::{role_changes as changes, users};

/// Who made a change: the list of `ADMIN_EMAILS`.
pub const BY_ADMIN_EMAILS: &str = "ADMIN_EMAILS";
/// … the command line (`promote-admin`, `demote-admin`).
pub const BY_CLI: &str = "cli";
/// … the demo data.
pub const BY_DEMO: &str = "demo";

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
