//! Credit notes ("factures d'avoir"): an invoice is never edited; money
//! given back on it is documented by a credit note that refers to it
//! (invariant 18). One rule, `cover_seat`, runs in every transaction that
//! records money going back on a seat (a cancellation, a late or
//! mismatched payment, a cancelled session, a refund made in the
//! provider's dashboard) and in the one that keeps a seat's invoice, so
//! whichever comes first: the seat's credit notes always add up to what
//! went back on its invoice.
//!
//! The app's own are numbered "AV-2026-000001" in their own gap-free
//! series (`series.rs`), taken in that transaction like the invoices'
//! numbers. On an invoice Stripe issued, the credit note is Stripe's:
//! owed in that transaction (`POST /v1/credit_notes`, with an idempotency
//! key), made after the commit, and kept with Stripe's number. Each is
//! sealed (`seals.rs`) when kept.

use chrono::{DateTime, Utc};
use common::invoices::CreditReason;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;

use uuid::Uuid;

use crate::domain::billing::credit_note_rows as rows;
use crate::domain::billing::{owed, seals, series};

use crate::error::ApiResult;
use entity::{credit_notes, immersion_bookings as bookings, invoices};
pub use rows::{of_user, urls_of_seats};

/// Why the money went back on a seat: the latest refund owed for it says
/// (cancel, late, session cancelled); none owed by the api means a refund
/// made in the provider's dashboard.
async fn reason_for(txn: &impl ConnectionTrait, booking_id: Uuid) -> ApiResult<CreditReason> {
    use entity::owed_gateway_calls as owed;
    let latest = owed::Entity::find()
        .filter(owed::Column::BookingId.eq(booking_id))
        .filter(owed::Column::Kind.eq(common::payments::OwedCallKind::Refund))
        // An anomaly's refund gives back another payment (a duplicate),
        // not the seat's.
        .filter(owed::Column::Reason.ne("anomaly"))
        .order_by_desc(owed::Column::CreatedAt)
        .one(txn)
        .await?;
    Ok(match latest.as_ref().map(|c| c.reason.as_str()) {
        Some("cancel") => CreditReason::Cancellation,
        Some("late") => CreditReason::LatePayment,
        Some("session_cancelled") => CreditReason::SessionCancelled,
        _ => CreditReason::GatewayRefund,
    })
}

/// What went back on an invoice: a seat's refund total; for a
/// subscription's invoice, what the refunds owed on it give back (a
/// second subscription, or a replaced one's overdue period). At most the
/// invoice's amount.
async fn went_back(db: &impl ConnectionTrait, invoice: &invoices::Model) -> ApiResult<i64> {
    let back = match (invoice.booking_id, &invoice.provider_invoice_id) {
        (Some(booking), _) => bookings::Entity::find_by_id(booking)
            .one(db)
            .await?
            .and_then(|b| b.refunded_cents)
            .unwrap_or(0),
        (None, Some(provider)) => owed::invoice_refunds(db, provider).await?.0,
        (None, None) => 0,
    };
    Ok(back.min(invoice.amount_cents).max(0))
}

/// Why money went back on an invoice (read only when a credit note is
/// due).
async fn why(db: &impl ConnectionTrait, invoice: &invoices::Model) -> ApiResult<CreditReason> {
    Ok(match (invoice.booking_id, &invoice.provider_invoice_id) {
        (Some(booking), _) => reason_for(db, booking).await?,
        (None, Some(provider)) => match owed::invoice_refunds(db, provider).await?.1.as_deref() {
            Some("replaced") => CreditReason::ReplacedSubscription,
            _ => CreditReason::SecondSubscription,
        },
        (None, None) => CreditReason::GatewayRefund,
    })
}

/// What went back and what was credited on every invoice, read in a few
/// queries for the audit and the pass after the migrations (`cover` reads
/// one invoice's own).
struct Ledger {
    refunded: HashMap<Uuid, i64>,
    invoice_refunds: HashMap<String, i64>,
    credit_owed: HashMap<String, i64>,
    credited: HashMap<Uuid, i64>,
}

impl Ledger {
    async fn read(db: &impl ConnectionTrait) -> Result<Self, DbErr> {
        use common::payments::{OwedCallKind, OwedCallStatus};
        use entity::owed_gateway_calls as calls;
        let refunded = bookings::Entity::find()
            .filter(bookings::Column::RefundedCents.gt(0))
            .all(db)
            .await?
            .into_iter()
            .map(|b| (b.id, b.refunded_cents.unwrap_or(0)))
            .collect();
        let (mut invoice_refunds, mut credit_owed) = (HashMap::new(), HashMap::new());
        for c in calls::Entity::find()
            .filter(calls::Column::Kind.is_in([
                OwedCallKind::RefundInvoice.as_str(),
                OwedCallKind::CreditNote.as_str(),
            ]))
            .filter(calls::Column::Status.ne(OwedCallStatus::Failed.as_str()))
            .all(db)
            .await?
        {
            // The same rules as `owed::invoice_refunds` and
            // `owed::credit_owed`, for every invoice at once.
            let into = match (c.kind, c.status) {
                (OwedCallKind::RefundInvoice, _) => &mut invoice_refunds,
                (OwedCallKind::CreditNote, OwedCallStatus::Owed) => &mut credit_owed,
                _ => continue,
            };
            *into.entry(c.target).or_default() += c.amount_cents.unwrap_or(0);
        }
        let mut credited = HashMap::new();
        for c in credit_notes::Entity::find().all(db).await? {
            *credited.entry(c.invoice_id).or_default() += c.amount_cents;
        }
        Ok(Self {
            refunded,
            invoice_refunds,
            credit_owed,
            credited,
        })
    }

    /// `went_back`, from what was read.
    fn went_back(&self, i: &invoices::Model) -> i64 {
        let back = match (i.booking_id, &i.provider_invoice_id) {
            (Some(booking), _) => self.refunded.get(&booking),
            (None, Some(provider)) => self.invoice_refunds.get(provider),
            (None, None) => None,
        };
        back.copied().unwrap_or(0).min(i.amount_cents).max(0)
    }

    /// What its credit notes give back, a credit note Stripe still owes
    /// counted as given (the audit names the owed call on its own line).
    fn credited(&self, i: &invoices::Model) -> i64 {
        let pending = match (&i.provider_invoice_id, i.sequence) {
            (Some(provider), None) => self.credit_owed.get(provider).copied().unwrap_or(0),
            _ => 0,
        };
        self.credited.get(&i.id).copied().unwrap_or(0) + pending
    }
}

/// The credit notes a seat's invoice is owed (`cover`). Call it in the
/// transaction that records a refund of the seat, after the refund is
/// owed.
pub async fn cover_seat(
    txn: &impl ConnectionTrait,
    booking_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<Option<Uuid>> {
    // The seat's row, locked (a write of nothing): two transactions
    // covering the same seat take their turns, and the second sees the
    // first's credit note.
    bookings::Entity::update_many()
        .col_expr(
            bookings::Column::UpdatedAt,
            Expr::col(bookings::Column::UpdatedAt),
        )
        .filter(bookings::Column::Id.eq(booking_id))
        .exec(txn)
        .await?;
    match invoices::Entity::find()
        .filter(invoices::Column::BookingId.eq(booking_id))
        .one(txn)
        .await?
    {
        Some(invoice) => cover(txn, &invoice, now).await,
        // Nothing was invoiced: nothing to correct.
        None => Ok(None),
    }
}

/// The credit notes the invoice the provider calls `provider_invoice_id`
/// is owed, once it is recorded (`cover`). Call it in the transaction that
/// owes a refund of a subscription's invoice.
pub async fn cover_provider_invoice(
    txn: &impl ConnectionTrait,
    provider_invoice_id: &str,
    now: DateTime<Utc>,
) -> ApiResult<Option<Uuid>> {
    match invoices::Entity::find()
        .filter(invoices::Column::ProviderInvoiceId.eq(provider_invoice_id))
        .one(txn)
        .await?
    {
        Some(invoice) => cover(txn, &invoice, now).await,
        // Recorded later: its recording covers it (`invoices::keep`).
        None => Ok(None),
    }
}

/// The credit notes an invoice is owed: what went back on it (`went_back`)
/// less what its credit notes already give back. On an invoice of the
/// app's own it is issued now (its id returned); on Stripe's it is owed
/// to Stripe. Nothing when nothing more went back.
pub async fn cover(
    txn: &impl ConnectionTrait,
    invoice: &invoices::Model,
    now: DateTime<Utc>,
) -> ApiResult<Option<Uuid>> {
    let back = went_back(txn, invoice).await?;
    if back <= 0 {
        return Ok(None);
    }
    let credited = credited(txn, invoice.id).await?;
    match (invoice.sequence, &invoice.provider_invoice_id) {
        // Ours: issued here, now.
        (Some(_), _) => {
            let due = back - credited;
            if due <= 0 {
                return Ok(None);
            }
            let reason = why(txn, invoice).await?;
            Ok(Some(issue(txn, invoice, due, reason, now).await?))
        }
        // Stripe's: Stripe issues it, owed like a refund (made after the
        // commit, with its idempotency key) and kept once made.
        (None, Some(provider)) => {
            let pending = owed::credit_owed(txn, provider).await?;
            let due = back - credited - pending;
            if due > 0 {
                let reason = why(txn, invoice).await?;
                let total = credited + pending + due;
                owed::owe_credit_note(txn, invoice.booking_id, provider, due, reason, total, now)
                    .await?;
            }
            Ok(None)
        }
        (None, None) => Ok(None),
    }
}

/// Covers every seat whose refund its invoice's credit notes do not yet
/// add up to, each in its own transaction: the refunds recorded before
/// credit notes existed get theirs (run after the migrations; Stripe's
/// are owed to Stripe). Returns how many credit notes it issued.
pub async fn cover_all(db: &sea_orm::DatabaseConnection, now: DateTime<Utc>) -> ApiResult<u64> {
    use sea_orm::TransactionTrait;
    let ledger = Ledger::read(db).await?;
    let mut issued = 0;
    for invoice in invoices::Entity::find().all(db).await? {
        if ledger.went_back(&invoice) <= ledger.credited(&invoice) {
            continue;
        }
        let txn = db.begin().await?;
        if cover(&txn, &invoice, now).await?.is_some() {
            issued += 1;
        }
        txn.commit().await?;
    }
    Ok(issued)
}

/// What the credit notes of `invoice` give back, in all.
pub async fn credited(txn: &impl ConnectionTrait, invoice: Uuid) -> ApiResult<i64> {
    Ok(credit_notes::Entity::find()
        .filter(credit_notes::Column::InvoiceId.eq(invoice))
        .all(txn)
        .await?
        .iter()
        .map(|c| c.amount_cents)
        .sum())
}

/// Issues the app's own credit note of `amount_cents` on `invoice`.
async fn issue(
    txn: &impl ConnectionTrait,
    invoice: &invoices::Model,
    amount_cents: i64,
    reason: CreditReason,
    now: DateTime<Utc>,
) -> ApiResult<Uuid> {
    let sequence = series::CREDIT_NOTES.take(txn).await?;
    // Dated once the number is ours, as invoices are.
    let issued_at = seals::stored_instant(now.max(Utc::now()));
    let row = credit_notes::Model {
        id: Uuid::new_v4(),
        invoice_id: invoice.id,
        user_id: invoice.user_id,
        booking_id: invoice.booking_id,
        provider_credit_note_id: None,
        number: series::CREDIT_NOTES.number(sequence, issued_at),
        sequence: Some(sequence),
        reason: reason.as_str().to_owned(),
        description: rows::description(invoice, reason),
        amount_cents,
        currency: invoice.currency.clone(),
        vat_rate_bp: invoice.vat_rate_bp,
        vat_mention: invoice.vat_mention.clone(),
        // The seller and the buyer as the invoice it corrects names them.
        seller: invoice.seller.clone(),
        bill_to: invoice.bill_to.clone(),
        pdf_url: None,
        issued_at,
        content_hash: String::new(), // sealed by `keep`
    };
    rows::keep(txn, row.clone(), now).await?;
    tracing::info!(credit_note = %row.id, invoice = %invoice.id, sequence, amount_cents, "credit note issued");
    Ok(row.id)
}

/// What the audit finds wrong with the money records: an invoice whose
/// credit notes (made, or owed by Stripe) do not add up to what went back
/// on its seat, and a series (invoices, credit notes) whose numbers are not
/// exactly those after the ones deleted past retention, to its counter.
/// One line each.
pub async fn audit(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    let mut found = Vec::new();
    let all = invoices::Entity::find().all(db).await?;
    let notes = credit_notes::Entity::find().all(db).await?;
    let ledger = Ledger::read(db).await?;
    for i in &all {
        let (due, credited) = (ledger.went_back(i), ledger.credited(i));
        if credited != due {
            found.push(format!(
                "invoice {} ({}): {due} cents went back on it, its credit notes give back {credited}",
                i.number, i.id
            ));
        }
    }
    let issued = [
        (
            series::INVOICES,
            all.iter().filter_map(|i| i.sequence).collect::<Vec<_>>(),
        ),
        (
            series::CREDIT_NOTES,
            notes.iter().filter_map(|c| c.sequence).collect(),
        ),
    ];
    for (series, mut numbers) in issued {
        let kept = series.kept(db).await?;
        numbers.sort_unstable();
        if numbers != kept.clone().collect::<Vec<_>>() {
            found.push(format!(
                "the {} series is not {} to {} without a gap: {} numbers kept",
                series.counter,
                kept.start(),
                kept.end(),
                numbers.len()
            ));
        }
    }
    Ok(found)
}
