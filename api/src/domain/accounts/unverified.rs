//! Accounts whose address was never verified expire after
//! `UNVERIFIED_ACCOUNT_DAYS` (invariant 17: an account belongs to whoever
//! controls its mailbox). Whoever registers someone else's address and
//! never proves it cannot keep its owner from registering forever.
//!
//! Only an account that holds nothing of value goes: no payment, invoice
//! or subscription (accounting keeps those for ten years; the mailbox's
//! owner takes such an account back by the reset mail), no subscription
//! page ever opened (Stripe may still bill it), no role change kept, and
//! no seat held right now (the sweeper gives it back first). Its lapsed,
//! unpaid holds go with it once reconcile no longer looks at them (its
//! 48 h window for a payment whose event was lost) and nothing refers to
//! them (an anomaly, a call still owed); until then the account waits
//! for a later pass. Its places in waiting lines go with it. Each account
//! goes in a transaction of its own, by a DELETE that checks every
//! condition again, so one that is verified or pays meanwhile stays.

use chrono::{DateTime, Duration, Utc};
use common::auth::Role;
use common::bookings::BookingStatus;
use common::payments::OwedCallStatus;
use sea_orm::sea_query::{
    ColumnRef, Expr, ExprTrait, IntoColumnRef, IntoTableRef, Query, SelectStatement, SimpleExpr,
    TableRef,
};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect,
    TransactionTrait,
};
use uuid::Uuid;

use entity::immersion_bookings as bookings;
use entity::users;

/// At most this many accounts per pass: the next hour takes the rest.
const PER_PASS: u64 = 500;

/// Lapsed holds younger than this are reconcile's (a payment whose event
/// was lost is found within 48 h): they keep their account.
const SETTLING: Duration = Duration::days(3);

/// A booking that keeps its user at `now`: a seat held or paid, any
/// payment, a hold that lapsed too recently, or one an anomaly or a call
/// still owed refers to.
fn valued_booking(now: DateTime<Utc>) -> SimpleExpr {
    use bookings::{Column as B, Entity as E};
    use entity::owed_gateway_calls as calls;
    use entity::payment_anomalies as marks;
    let of_booking = |table: TableRef, column: ColumnRef| {
        let mut select = Query::select();
        select
            .expr(Expr::val(1))
            .from(table)
            .and_where(Expr::col(column).equals((E, B::Id)));
        select
    };
    let marked = of_booking(
        marks::Entity.into_table_ref(),
        (marks::Entity, marks::Column::BookingId).into_column_ref(),
    );
    let mut owed = of_booking(
        calls::Entity.into_table_ref(),
        (calls::Entity, calls::Column::BookingId).into_column_ref(),
    );
    owed.and_where(
        Expr::col((calls::Entity, calls::Column::Status)).ne(OwedCallStatus::Done.as_str()),
    );
    Expr::col((E, B::Status))
        .is_in([
            BookingStatus::Held.as_str(),
            BookingStatus::Confirmed.as_str(),
            BookingStatus::Refunded.as_str(),
        ])
        .or(Expr::col((E, B::StripePaymentIntentId)).is_not_null())
        .or(Expr::col((E, B::UpdatedAt)).gt(now - SETTLING))
        .or(Expr::exists(marked))
        .or(Expr::exists(owed))
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

/// An account that expires at `now`, made before `cutoff`: never
/// verified, a plain user, holding nothing of value.
fn expiring(cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Condition {
    use entity::subscription_status as status;
    use entity::{invoices, role_changes, stripe_subscriptions, subscription_checkouts};
    let none = |s: SelectStatement| Expr::exists(s).not();
    let mut customer = of_user(
        status::Entity,
        (status::Entity, status::Column::UserId),
        None,
    );
    customer.and_where(Expr::col((status::Entity, status::Column::StripeCustomerId)).is_not_null());
    Condition::all()
        .add(users::Column::EmailVerifiedAt.is_null())
        .add(users::Column::Role.eq(Role::User.as_str()))
        .add(users::Column::CreatedAt.lt(cutoff))
        .add(none(of_user(
            bookings::Entity,
            (bookings::Entity, bookings::Column::UserId),
            Some(valued_booking(now)),
        )))
        .add(none(of_user(
            invoices::Entity,
            (invoices::Entity, invoices::Column::UserId),
            None,
        )))
        .add(none(of_user(
            stripe_subscriptions::Entity,
            (
                stripe_subscriptions::Entity,
                stripe_subscriptions::Column::UserId,
            ),
            None,
        )))
        .add(none(of_user(
            subscription_checkouts::Entity,
            (
                subscription_checkouts::Entity,
                subscription_checkouts::Column::UserId,
            ),
            None,
        )))
        .add(none(customer))
        .add(none(of_user(
            role_changes::Entity,
            (role_changes::Entity, role_changes::Column::UserId),
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
        .filter(expiring(cutoff, now))
        .limit(PER_PASS)
        .into_tuple()
        .all(db)
        .await?;
    let mut gone = 0;
    for (id, email) in due {
        match remove(db, id, cutoff, now).await {
            Ok(true) => {
                tracing::info!(user = %email, "never-verified account expired");
                gone += 1;
            }
            Ok(false) => {}
            // One that took a seat while this ran (a foreign key refused
            // the DELETE on PostgreSQL) stays; the others still go.
            Err(e) if crate::db::is_unreachable(&e) => return Err(e),
            Err(e) => {
                tracing::warn!(user = %email, error = %e, "account kept: it changed meanwhile")
            }
        }
    }
    Ok(gone)
}

/// Removes one account if it still expires: its waiting-list entries and
/// lapsed holds first (they refer to it), then the account, whose other
/// rows (sign-ins, tokens, names) go with it.
async fn remove(
    db: &DatabaseConnection,
    id: Uuid,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let txn = db.begin().await?;
    entity::waitlist_entries::Entity::delete_many()
        .filter(entity::waitlist_entries::Column::UserId.eq(id))
        .exec(&txn)
        .await?;
    bookings::Entity::delete_many()
        .filter(bookings::Column::UserId.eq(id))
        .filter(valued_booking(now).not())
        .exec(&txn)
        .await?;
    let removed = users::Entity::delete_many()
        .filter(users::Column::Id.eq(id))
        .filter(expiring(cutoff, now))
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
