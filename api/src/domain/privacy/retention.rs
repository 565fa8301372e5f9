//! How long each kind of record is kept, and the pass that lets go of
//! what is past it (run by the `retention` job; the README's "Legal
//! records" table says the same):
//!
//! - invoices and credit notes: 10 years after the end of the year they
//!   were issued in (Code de commerce L123-22), an invoice with its
//!   credit notes, in the order of their numbers (the audit then checks
//!   each series from the first number kept);
//! - presence marks: 3 years after the end of the year of the half-day
//!   (the evidence behind a certificate of completion;
//!   `common::presence::kept_from`);
//! - mail bodies: 90 days after sending (the row stays, emptied: it keeps
//!   a mail from being sent twice);
//! - sign-in sessions: 30 days after they ended (expired or revoked).
//!
//! Accounts never verified, idempotency records and throttle counters
//! have jobs of their own (`accounts/unverified.rs`, the sweeper).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use common::mail::MailStatus;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};
use uuid::Uuid;

use crate::domain::billing::series::{CREDIT_NOTES, INVOICES};
use crate::domain::platform::clock::today_at_venue;
use entity::{auth_sessions, credit_notes, invoices, mail_outbox, presence_marks};

/// Years legal records are kept after the end of their year.
pub const ACCOUNTING_YEARS: i32 = 10;
/// Days a sent mail keeps its body.
pub const MAIL_BODY_DAYS: i64 = 90;
/// Days an ended sign-in session is kept.
pub const SIGN_IN_DAYS: i64 = 30;

/// What one pass let go of.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    pub invoices: u64,
    pub credit_notes: u64,
    pub presence_marks: u64,
    pub mail_bodies: u64,
    pub sign_in_sessions: u64,
}

/// The first day still kept when records are kept `years` after the end
/// of their year.
/// (Years begin at midnight in Paris: an invoice dated 1 January at the
/// venue belongs to that year, whatever the hour in UTC.)
fn kept_from(today: NaiveDate, years: i32) -> DateTime<Utc> {
    use chrono::TimeZone;
    NaiveDate::from_ymd_opt(today.year() - years, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|d| chrono_tz::Europe::Paris.from_local_datetime(&d).earliest())
        .map_or(DateTime::<Utc>::MIN_UTC, |d| d.with_timezone(&Utc))
}

/// One pass over every kind of record.
#[tracing::instrument(skip(db))]
pub async fn run(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Pruned, DbErr> {
    let today = today_at_venue(now);
    let mut pruned = legal_records(db, kept_from(today, ACCOUNTING_YEARS)).await?;
    pruned.presence_marks = presence_marks::Entity::delete_many()
        .filter(presence_marks::Column::Day.lt(common::presence::kept_from(today)))
        .exec(db)
        .await?
        .rows_affected;
    pruned.mail_bodies = mail_outbox::Entity::update_many()
        .col_expr(mail_outbox::Column::Body, Expr::value(""))
        .col_expr(mail_outbox::Column::Attachment, Expr::value(None::<String>))
        .filter(mail_outbox::Column::Status.ne(MailStatus::Pending))
        .filter(mail_outbox::Column::CreatedAt.lt(now - Duration::days(MAIL_BODY_DAYS)))
        .filter(mail_outbox::Column::Body.ne(""))
        .exec(db)
        .await?
        .rows_affected;
    let ended = now - Duration::days(SIGN_IN_DAYS);
    pruned.sign_in_sessions = auth_sessions::Entity::delete_many()
        .filter(
            Condition::any()
                .add(auth_sessions::Column::ExpiresAt.lt(ended))
                .add(auth_sessions::Column::RevokedAt.lt(ended)),
        )
        .exec(db)
        .await?
        .rows_affected;
    if pruned != Pruned::default() {
        tracing::info!(?pruned, "records past their retention period let go");
    }
    Ok(pruned)
}

/// Invoices issued before `kept_from`, each with its credit notes when
/// they are all from before it too. The app's own go in the order of
/// their numbers, and only as far as both series stay whole from their
/// first number kept; Stripe's (numbered by Stripe) go by age alone.
async fn legal_records(db: &DatabaseConnection, kept_from: DateTime<Utc>) -> Result<Pruned, DbErr> {
    let txn = db.begin().await?;
    // A write first: the pass holds the series' rows, and the write lock,
    // before it reads what it may delete.
    INVOICES.hold(&txn).await?;
    CREDIT_NOTES.hold(&txn).await?;
    let old = invoices::Entity::find()
        .filter(invoices::Column::IssuedAt.lt(kept_from))
        .order_by_asc(invoices::Column::Sequence)
        .all(&txn)
        .await?;
    if old.is_empty() {
        return Ok(Pruned::default());
    }
    let notes = credit_notes::Entity::find().all(&txn).await?;
    let mut notes_of: HashMap<Uuid, Vec<&credit_notes::Model>> = HashMap::new();
    for n in &notes {
        notes_of.entry(n.invoice_id).or_default().push(n);
    }
    let all_old = |i: &invoices::Model| {
        notes_of
            .get(&i.id)
            .is_none_or(|ns| ns.iter().all(|n| n.issued_at < kept_from))
    };
    let stripes: Vec<&invoices::Model> = old
        .iter()
        .filter(|i| i.sequence.is_none() && all_old(i))
        .collect();
    // The app's: the longest run of numbers that may go, shortened while
    // a credit note kept would sit below one that goes.
    let numbered: Vec<&invoices::Model> = old.iter().filter(|i| i.sequence.is_some()).collect();
    let first = *INVOICES.kept(&txn).await?.start();
    let mut run = numbered
        .iter()
        .zip(first..)
        .take_while(|(i, n)| i.sequence == Some(*n) && all_old(i))
        .count();
    let going = loop {
        let going: HashSet<Uuid> = numbered[..run].iter().map(|i| i.id).collect();
        let lowest_kept = notes
            .iter()
            .filter(|n| !going.contains(&n.invoice_id))
            .filter_map(|n| n.sequence)
            .min()
            .unwrap_or(i64::MAX);
        let first_bad = numbered[..run].iter().position(|i| {
            notes_of.get(&i.id).is_some_and(|ns| {
                ns.iter()
                    .any(|n| n.sequence.is_some_and(|s| s > lowest_kept))
            })
        });
        match first_bad {
            Some(k) => run = k,
            None => break going,
        }
    };
    let ids: Vec<Uuid> = going
        .iter()
        .copied()
        .chain(stripes.iter().map(|i| i.id))
        .collect();
    let note_ids: Vec<Uuid> = notes
        .iter()
        .filter(|n| ids.contains(&n.invoice_id))
        .map(|n| n.id)
        .collect();
    if let Some(last) = notes
        .iter()
        .filter(|n| note_ids.contains(&n.id))
        .filter_map(|n| n.sequence)
        .max()
    {
        CREDIT_NOTES.pruned(&txn, last).await?;
    }
    if let Some(last) = numbered[..run].iter().filter_map(|i| i.sequence).max() {
        INVOICES.pruned(&txn, last).await?;
    }
    let credit_notes = credit_notes::Entity::delete_many()
        .filter(credit_notes::Column::Id.is_in(note_ids))
        .exec(&txn)
        .await?
        .rows_affected;
    let invoices = invoices::Entity::delete_many()
        .filter(invoices::Column::Id.is_in(ids))
        .exec(&txn)
        .await?
        .rows_affected;
    txn.commit().await?;
    Ok(Pruned {
        invoices,
        credit_notes,
        ..Pruned::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_begins_at_midnight_in_paris() {
        let today = NaiveDate::from_ymd_opt(2037, 6, 1).unwrap();
        // 1 January 2027, 00:00 in Paris is 31 December 2026, 23:00 UTC.
        assert_eq!(
            kept_from(today, ACCOUNTING_YEARS).to_rfc3339(),
            "2026-12-31T23:00:00+00:00"
        );
    }
}
