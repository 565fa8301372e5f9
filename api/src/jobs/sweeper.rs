//! Expires holds past `hold_expires_at` (and a grace), and holds of
//! sessions that have begun, and gives their seats back (booking flow 3). Each booking moves in its own transaction with a
//! conditional update, so two sweepers (or a sweeper and a webhook) never
//! release the same seat twice.

use chrono::{DateTime, Utc};
use common::bookings::BookingStatus;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};

use crate::config::Offers;
use crate::domain::billing::owed::AfterCommit;
use crate::domain::platform::clock::today_at_venue;
use crate::domain::{billing::owed, bookings::end_hold};
use crate::error::ApiResult;
use entity::immersion_bookings::{self as bookings, Column};
use entity::immersion_sessions as sessions;

/// How many holds one pass looks at; the next pass takes the rest.
const BATCH: u64 = 500;

/// A hold is swept this long after its end, not at once: a payment made
/// in the Checkout Session's last seconds has time to arrive (and
/// Stripe's own `checkout.session.expired` usually ends the hold first).
pub const GRACE: chrono::Duration = chrono::Duration::minutes(5);

/// Expires the lapsed holds; returns how many this call expired.
#[tracing::instrument(skip(db, after, offers))]
pub async fn sweep_once(
    db: &sea_orm::DatabaseConnection,
    after: &(impl AfterCommit + ?Sized),
    offers: &Offers,
    now: DateTime<Utc>,
) -> ApiResult<u64> {
    // A session that has begun can no longer be paid (a payment would be
    // refunded, invariant 15): its holds end too, and their pages close.
    let started = Query::select()
        .column(sessions::Column::Id)
        .from(sessions::Entity)
        .and_where(Expr::col(sessions::Column::StartsOn).lte(today_at_venue(now)))
        .to_owned();
    let lapsed = bookings::Entity::find()
        .filter(Column::Status.eq(BookingStatus::Held.as_str()))
        .filter(
            Condition::any()
                .add(Column::HoldExpiresAt.lt(now - GRACE))
                .add(Column::SessionId.in_subquery(started)),
        )
        .limit(BATCH)
        .all(db)
        .await?;
    let mut expired = 0;
    let mut calls = Vec::new();
    for booking in lapsed {
        let txn = db.begin().await?;
        if end_hold(&txn, &booking, BookingStatus::Expired, now, Some(offers)).await? {
            expired += 1;
            // Close the Checkout page too, after the commit.
            calls.extend(
                owed::owe_expiry(
                    &txn,
                    booking.id,
                    booking.stripe_checkout_session_id.as_deref(),
                    now,
                )
                .await?,
            );
        }
        txn.commit().await?;
    }
    // Closing the pages waits for no one: a slow provider never stalls
    // the sweep.
    after.owed(db, calls, now).await;
    if expired > 0 {
        tracing::info!(expired, "lapsed holds expired");
    }
    Ok(expired)
}
