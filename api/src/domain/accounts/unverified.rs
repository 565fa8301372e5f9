//! Accounts whose address was never verified expire after
//! `UNVERIFIED_ACCOUNT_DAYS` (invariant 17: an account belongs to whoever
//! controls its mailbox). Whoever registers someone else's address and
//! never proves it cannot keep its owner from registering forever.
//!
//! Only an account that holds nothing of value goes: no payment, invoice
//! or subscription (accounting keeps those for ten years; the mailbox's
//! owner takes such an account back by the reset mail), no role change
//! kept, and no seat held right now (the sweeper gives it back first; the
//! next pass takes the account). Its places in waiting lines and its
//! lapsed, unpaid holds go with it. Each account goes in a transaction of
//! its own, by a DELETE that checks every condition again, so one that is
//! verified or pays meanwhile stays.

use chrono::{DateTime, Duration, Utc};
use common::auth::Role;
use common::bookings::BookingStatus;
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect,
    TransactionTrait,
};
use uuid::Uuid;

use entity::immersion_bookings as bookings;
use entity::users;

/// At most this many accounts per pass: the next hour takes the rest.
const PER_PASS: u64 = 500;

/// A booking that keeps its user: a seat held or paid, or any payment.
fn valued_booking() -> SimpleExpr {
    use bookings::{Column as B, Entity as E};
    Expr::col((E, B::Status))
        .is_in([
            BookingStatus::Held.as_str(),
            BookingStatus::Confirmed.as_str(),
            BookingStatus::Refunded.as_str(),
        ])
        .or(Expr::col((E, B::StripePaymentIntentId)).is_not_null())
}

/// `table`'s rows of the user being looked at, narrowed by `extra`.
fn of_user(
    table: impl sea_orm::sea_query::IntoTableRef + Copy,
    user_column: impl sea_orm::sea_query::IntoColumnRef,
    extra: Option<SimpleExpr>,
) -> SelectStatement {
    let mut select = Query::select();
    select
        .expr(Expr::val(1))
        .from(table)
        .and_where(Expr::col(user_column).equals((users::Entity, users::Column::Id)));
    if let Some(extra) = extra {
        select.and_where(extra);
    }
    select
}

/// An account that expires at `cutoff`: never verified, a plain user,
/// made before it, holding nothing of value.
fn expiring(cutoff: DateTime<Utc>) -> Condition {
    let none = |s: SelectStatement| Expr::exists(s).not();
    Condition::all()
        .add(users::Column::EmailVerifiedAt.is_null())
        .add(users::Column::Role.eq(Role::User.as_str()))
        .add(users::Column::CreatedAt.lt(cutoff))
        .add(none(of_user(
            bookings::Entity,
            (bookings::Entity, bookings::Column::UserId),
            Some(valued_booking()),
        )))
        .add(none(of_user(
            entity::invoices::Entity,
            (entity::invoices::Entity, entity::invoices::Column::UserId),
            None,
        )))
        .add(none(of_user(
            entity::stripe_subscriptions::Entity,
            (
                entity::stripe_subscriptions::Entity,
                entity::stripe_subscriptions::Column::UserId,
            ),
            None,
        )))
        .add(none(of_user(
            entity::role_changes::Entity,
            (
                entity::role_changes::Entity,
                entity::role_changes::Column::UserId,
            ),
            None,
        )))
}

/// Removes the accounts that expired by `now`; answers how many.
pub async fn expire(
    db: &DatabaseConnection,
    after: Duration,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let cutoff = now - after;
    let due: Vec<(Uuid, String)> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::Email)
        .filter(expiring(cutoff))
        .limit(PER_PASS)
        .into_tuple()
        .all(db)
        .await?;
    let mut gone = 0;
    for (id, email) in due {
        if remove(db, id, cutoff).await? {
            tracing::info!(user = %email, "never-verified account expired");
            gone += 1;
        }
    }
    Ok(gone)
}

/// Removes one account if it still expires: its waiting-list entries and
/// lapsed holds first (they refer to it), then the account, whose other
/// rows (sign-ins, tokens, names) go with it.
async fn remove(db: &DatabaseConnection, id: Uuid, cutoff: DateTime<Utc>) -> Result<bool, DbErr> {
    let txn = db.begin().await?;
    entity::waitlist_entries::Entity::delete_many()
        .filter(entity::waitlist_entries::Column::UserId.eq(id))
        .exec(&txn)
        .await?;
    bookings::Entity::delete_many()
        .filter(bookings::Column::UserId.eq(id))
        .filter(valued_booking().not())
        .exec(&txn)
        .await?;
    let removed = users::Entity::delete_many()
        .filter(users::Column::Id.eq(id))
        .filter(expiring(cutoff))
        .exec(&txn)
        .await?
        .rows_affected;
    if removed == 1 {
        txn.commit().await?;
        Ok(true)
    } else {
        // Verified, paid or holding meanwhile: it stays, and so does all.
        txn.rollback().await?;
        Ok(false)
    }
}
