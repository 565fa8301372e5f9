//! Expires holds past `hold_expires_at` (and a grace) and gives their
//! seats back (booking flow 3). Each booking moves in its own transaction with a
//! conditional update, so two sweepers (or a sweeper and a webhook) never
//! release the same seat twice.

use chrono::{DateTime, Utc};
use common::bookings::BookingStatus;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};

use crate::config::Offers;
use crate::domain::{billing::owed, bookings::end_hold};
use crate::error::ApiResult;
use crate::payments::PaymentGateway;
use entity::immersion_bookings::{self as bookings, Column};

/// How many holds one pass looks at; the next pass takes the rest.
const BATCH: u64 = 500;

/// A hold is swept this long after its end, not at once: a payment made
/// in the Checkout Session's last seconds has time to arrive (and
/// Stripe's own `checkout.session.expired` usually ends the hold first).
pub const GRACE: chrono::Duration = chrono::Duration::minutes(5);

/// Expires the lapsed holds; returns how many this call expired.
#[tracing::instrument(skip(db, gateway, offers))]
pub async fn sweep_once(
    db: &sea_orm::DatabaseConnection,
    gateway: &dyn PaymentGateway,
    offers: &Offers,
    now: DateTime<Utc>,
) -> ApiResult<u64> {
    let lapsed = bookings::Entity::find()
        .filter(Column::Status.eq(BookingStatus::Held.as_str()))
        .filter(Column::HoldExpiresAt.lt(now - GRACE))
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
    owed::settle_now(db, gateway, &calls, now).await?;
    if expired > 0 {
        tracing::info!(expired, "lapsed holds expired");
    }
    Ok(expired)
}
