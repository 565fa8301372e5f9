//! Expires holds past `hold_expires_at` and gives their seats back
//! (DESIGN §4.3). Each booking moves in its own transaction with a
//! conditional update, so two sweepers (or a sweeper and a webhook) never
//! release the same seat twice.

use chrono::{DateTime, Utc};
use common::bookings::BookingStatus;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};

use crate::domain::clock::today_at_venue;
use crate::domain::seats;
use crate::error::ApiResult;
use crate::payments::PaymentGateway;
use entity::immersion_bookings::{self as bookings, Column};

/// How many holds one pass looks at; the next pass takes the rest.
const BATCH: u64 = 500;

/// Expires the lapsed holds; returns how many this call expired.
#[tracing::instrument(skip(db, gateway))]
pub async fn sweep_once(
    db: &sea_orm::DatabaseConnection,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
) -> ApiResult<u64> {
    let lapsed = bookings::Entity::find()
        .filter(Column::Status.eq(BookingStatus::Held.as_str()))
        .filter(Column::HoldExpiresAt.lt(now))
        .limit(BATCH)
        .all(db)
        .await?;
    let today = today_at_venue(now);
    let mut expired = 0;
    for booking in lapsed {
        let txn = db.begin().await?;
        let res = bookings::Entity::update_many()
            .col_expr(
                Column::Status,
                sea_orm::sea_query::Expr::value(BookingStatus::Expired.as_str()),
            )
            .col_expr(Column::UpdatedAt, sea_orm::sea_query::Expr::value(now))
            .filter(Column::Id.eq(booking.id))
            .filter(Column::Status.eq(BookingStatus::Held.as_str()))
            .exec(&txn)
            .await?;
        if res.rows_affected == 1 {
            seats::release(&txn, booking.session_id, today).await?;
            expired += 1;
        }
        txn.commit().await?;
        if res.rows_affected == 1 {
            // Close the Checkout page too.
            crate::payments::expire_quietly(gateway, booking.stripe_checkout_session_id.as_deref())
                .await;
        }
    }
    if expired > 0 {
        tracing::info!(expired, "lapsed holds expired");
    }
    Ok(expired)
}
