//! Stores the Checkout Session id of each new hold, many holds per
//! statement. Stripe names the session only after the hold has committed,
//! so every hold needs a second write; in a rush, one write each would
//! double the commits. A hold queues its id and waits: either another request's
//! batch stores it, or it takes the write lock and writes everything
//! queued, its own id included. Nobody answers before its
//! id is stored, so nothing is lost by batching. The statement answers
//! which of the batch's bookings are still held, so that a hold ended
//! meanwhile (an admin cancelled it) is known without a read of its own.

use std::sync::Mutex;

use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use tokio::sync::oneshot;
use uuid::Uuid;

use common::bookings::BookingStatus;
use entity::immersion_bookings::{self as bookings, Column};

/// Ids per statement: far below every backend's bind-parameter limit.
const MAX_BATCH: usize = 128;

/// A booking id and the Checkout Session id to store on it.
type Entry = (Uuid, String);

/// Of a batch: the bookings still held once their ids were stored.
type Written = Result<Vec<Uuid>, String>;

struct Pending {
    entry: Entry,
    done: oneshot::Sender<Written>,
}

#[derive(Default)]
pub struct CheckoutIds {
    queue: Mutex<Vec<Pending>>,
    writing: tokio::sync::Mutex<()>,
}

impl CheckoutIds {
    /// Returns once `checkout_id` is stored on the booking: true when the
    /// booking was still held then.
    pub async fn record(
        &self,
        db: &impl ConnectionTrait,
        booking_id: Uuid,
        checkout_id: String,
    ) -> Result<bool, DbErr> {
        let (done, mut stored) = oneshot::channel();
        self.lock_queue().push(Pending {
            entry: (booking_id, checkout_id.clone()),
            done,
        });
        let answer = tokio::select! {
            // Written by another request's batch while we waited.
            answer = &mut stored => answer,
            writer = self.writing.lock() => {
                let batch = std::mem::take(&mut *self.lock_queue());
                for chunk in chunks(batch) {
                    let entries: Vec<&Entry> = chunk.iter().map(|p| &p.entry).collect();
                    let result = write(db, &entries).await.map_err(|e| e.to_string());
                    for p in chunk {
                        // A waiter that went away (client gone) needs no answer.
                        let _ = p.done.send(result.clone());
                    }
                }
                drop(writer);
                // Ours was in that batch or in an earlier one.
                stored.await
            }
        };
        let held = match answer {
            Ok(result) => result.map_err(DbErr::Custom)?,
            // The request that took our id was dropped mid-write (its client
            // went away): write ours alone.
            Err(_) => write(db, &[&(booking_id, checkout_id)]).await?,
        };
        Ok(held.contains(&booking_id))
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        // The queue is a plain Vec: a panic elsewhere cannot leave it torn.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn chunks(mut batch: Vec<Pending>) -> Vec<Vec<Pending>> {
    let mut out = Vec::new();
    while batch.len() > MAX_BATCH {
        let rest = batch.split_off(MAX_BATCH);
        out.push(std::mem::replace(&mut batch, rest));
    }
    if !batch.is_empty() {
        out.push(batch);
    }
    out
}

/// `UPDATE … SET stripe_checkout_session_id = CASE id WHEN … END
/// WHERE id IN (…)`: one statement for the whole batch, on every backend.
/// The batch is padded (repeating its last entry, which changes nothing)
/// to a power of two, so that a handful of statement shapes cover every
/// size and stay in the connections' prepared-statement caches.
async fn write(db: &impl ConnectionTrait, batch: &[&Entry]) -> Result<Vec<Uuid>, DbErr> {
    let Some(last) = batch.last() else {
        return Ok(Vec::new());
    };
    let padded = batch.len().next_power_of_two();
    let entries = || {
        batch
            .iter()
            .chain(std::iter::repeat(last))
            .take(padded)
            .map(|(id, checkout_id)| (*id, checkout_id))
    };
    let mut case = CaseStatement::new();
    for (id, checkout_id) in entries() {
        case = case.case(Expr::col(Column::Id).eq(id), Expr::val(checkout_id.clone()));
    }
    let case = case.finally(Expr::col(Column::StripeCheckoutSessionId));
    let written = bookings::Entity::update_many()
        .col_expr(Column::StripeCheckoutSessionId, case.into())
        .filter(Column::Id.is_in(entries().map(|(id, _)| id)))
        .exec_with_returning(db)
        .await?;
    Ok(written
        .into_iter()
        .filter(|b| b.status == BookingStatus::Held)
        .map(|b| b.id)
        .collect())
}
