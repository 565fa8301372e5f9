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
//! numbers. Each is sealed (`seals.rs`) when issued.

use chrono::{DateTime, Utc};
use common::invoices::{CreditReason, InvoiceDto, InvoiceKind};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::domain::billing::{seals, series};
use crate::error::ApiResult;
use entity::{credit_notes, immersion_bookings as bookings, invoices};

/// Why the money went back on a seat: the latest refund owed for it says
/// (cancel, late, anomaly, session cancelled); none owed by the api means
/// a refund made in the provider's dashboard.
async fn reason_for(txn: &impl ConnectionTrait, booking_id: Uuid) -> ApiResult<CreditReason> {
    use entity::owed_gateway_calls as owed;
    let latest = owed::Entity::find()
        .filter(owed::Column::BookingId.eq(booking_id))
        .filter(owed::Column::Kind.eq(common::payments::OwedCallKind::Refund))
        .order_by_desc(owed::Column::CreatedAt)
        .one(txn)
        .await?;
    Ok(match latest.as_ref().map(|c| c.reason.as_str()) {
        Some("cancel") => CreditReason::Cancellation,
        Some("late") => CreditReason::LatePayment,
        Some("anomaly") => CreditReason::Mismatch,
        Some("session_cancelled") => CreditReason::SessionCancelled,
        Some("second_subscription") => CreditReason::SecondSubscription,
        _ => CreditReason::GatewayRefund,
    })
}

/// The credit notes a seat's invoice is owed, issued now: what went back
/// on the seat (its refund total, at most the invoice's amount) less what
/// its credit notes already give back. Nothing when the seat has no
/// invoice of the app's own, or nothing more went back. Call it in the
/// transaction that records the refund, after the refund is owed.
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
    let Some(booking) = bookings::Entity::find_by_id(booking_id).one(txn).await? else {
        return Ok(None);
    };
    let refunded = booking.refunded_cents.unwrap_or(0);
    if refunded <= 0 {
        return Ok(None);
    }
    let Some(invoice) = invoices::Entity::find()
        .filter(invoices::Column::BookingId.eq(booking_id))
        .one(txn)
        .await?
    else {
        // Nothing was invoiced: nothing to correct.
        return Ok(None);
    };
    // Stripe's invoices are corrected by Stripe's credit notes.
    if invoice.sequence.is_none() {
        return Ok(None);
    }
    let due = refunded.min(invoice.amount_cents) - credited(txn, invoice.id).await?;
    if due <= 0 {
        return Ok(None);
    }
    let reason = reason_for(txn, booking_id).await?;
    Ok(Some(issue(txn, &invoice, due, reason, now).await?))
}

/// Covers every seat whose refund its invoice's credit notes do not yet
/// add up to, each in its own transaction: the refunds recorded before
/// credit notes existed get theirs (run after the migrations). Returns
/// how many credit notes it issued.
pub async fn cover_all(db: &sea_orm::DatabaseConnection, now: DateTime<Utc>) -> ApiResult<u64> {
    use sea_orm::TransactionTrait;
    let refunded: std::collections::HashSet<Uuid> = bookings::Entity::find()
        .filter(bookings::Column::RefundedCents.gt(0))
        .all(db)
        .await?
        .into_iter()
        .map(|b| b.id)
        .collect();
    let mut issued = 0;
    for invoice in invoices::Entity::find()
        .filter(invoices::Column::Sequence.is_not_null())
        .filter(invoices::Column::BookingId.is_not_null())
        .all(db)
        .await?
    {
        let Some(booking) = invoice.booking_id.filter(|b| refunded.contains(b)) else {
            continue;
        };
        let txn = db.begin().await?;
        if cover_seat(&txn, booking, now).await?.is_some() {
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
    let mut row = credit_notes::Model {
        id: Uuid::new_v4(),
        invoice_id: invoice.id,
        user_id: invoice.user_id,
        booking_id: invoice.booking_id,
        provider_credit_note_id: None,
        number: series::CREDIT_NOTES.number(sequence, issued_at),
        sequence: Some(sequence),
        reason: reason.as_str().to_owned(),
        description: format!(
            "Avoir sur la facture n° {} : {}",
            invoice.number,
            reason.french()
        ),
        amount_cents,
        currency: invoice.currency.clone(),
        vat_rate_bp: invoice.vat_rate_bp,
        vat_mention: invoice.vat_mention.clone(),
        // The seller and the buyer as the invoice it corrects names them.
        seller: invoice.seller.clone(),
        bill_to: invoice.bill_to.clone(),
        pdf_url: None,
        issued_at,
        content_hash: String::new(),
    };
    row.content_hash = seals::of_credit_note(&row);
    credit_notes::Entity::insert(credit_notes::ActiveModel::from(row.clone()))
        .exec(txn)
        .await?;
    crate::domain::platform::events::record(
        txn,
        common::events::EventType::CreditNoteIssued,
        row.id,
        &to_dto(row.clone()),
        now,
    )
    .await?;
    tracing::info!(credit_note = %row.id, invoice = %invoice.id, sequence, amount_cents, "credit note issued");
    Ok(row.id)
}

pub fn to_dto(c: credit_notes::Model) -> InvoiceDto {
    InvoiceDto {
        url: format!("/api/invoices/{}", c.id),
        id: c.id,
        kind: InvoiceKind::CreditNote,
        invoice_id: Some(c.invoice_id),
        reason: CreditReason::parse(&c.reason),
        number: c.number,
        description: c.description,
        amount_cents: c.amount_cents,
        currency: c.currency,
        issued_at: c.issued_at,
        booking_id: c.booking_id,
        period_start: None,
        period_end: None,
        pdf_url: c.pdf_url,
    }
}

/// The credit notes of some seats, by booking, oldest first.
pub async fn urls_of_seats(
    db: &impl ConnectionTrait,
    booking_ids: &[Uuid],
) -> ApiResult<std::collections::HashMap<Uuid, Vec<String>>> {
    let mut urls: std::collections::HashMap<Uuid, Vec<String>> = Default::default();
    for chunk in booking_ids.chunks(500) {
        for c in credit_notes::Entity::find()
            .filter(credit_notes::Column::BookingId.is_in(chunk.iter().copied()))
            .order_by_asc(credit_notes::Column::IssuedAt)
            .order_by_asc(credit_notes::Column::Number)
            .all(db)
            .await?
        {
            if let Some(b) = c.booking_id {
                urls.entry(b).or_default().push(to_dto(c).url);
            }
        }
    }
    Ok(urls)
}

/// A user's credit notes.
pub async fn of_user(db: &impl ConnectionTrait, user_id: Uuid) -> ApiResult<Vec<InvoiceDto>> {
    Ok(credit_notes::Entity::find()
        .filter(credit_notes::Column::UserId.eq(user_id))
        .all(db)
        .await?
        .into_iter()
        .map(to_dto)
        .collect())
}

/// What the audit finds wrong with the money records: an invoice of the
/// app's own whose credit notes do not add up to what went back on its
/// seat, and a series (invoices, credit notes) whose numbers are not
/// exactly 1 to its counter. One line each.
pub async fn audit(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    let mut found = Vec::new();
    let own = invoices::Entity::find()
        .filter(invoices::Column::Sequence.is_not_null())
        .all(db)
        .await?;
    let notes = credit_notes::Entity::find().all(db).await?;
    let mut credited_on: std::collections::HashMap<Uuid, i64> = Default::default();
    for c in &notes {
        *credited_on.entry(c.invoice_id).or_default() += c.amount_cents;
    }
    let seats: std::collections::HashMap<Uuid, i64> = bookings::Entity::find()
        .filter(bookings::Column::RefundedCents.gt(0))
        .all(db)
        .await?
        .into_iter()
        .map(|b| (b.id, b.refunded_cents.unwrap_or(0)))
        .collect();
    for i in &own {
        let refunded = i
            .booking_id
            .and_then(|b| seats.get(&b))
            .copied()
            .unwrap_or(0);
        let due = refunded.min(i.amount_cents);
        let credited = credited_on.get(&i.id).copied().unwrap_or(0);
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
            own.iter().filter_map(|i| i.sequence).collect::<Vec<_>>(),
        ),
        (
            series::CREDIT_NOTES,
            notes.iter().filter_map(|c| c.sequence).collect(),
        ),
    ];
    for (series, mut numbers) in issued {
        let last = series.last(db).await?;
        numbers.sort_unstable();
        if numbers != (1..=last).collect::<Vec<_>>() {
            found.push(format!(
                "the {} series is not 1 to {last} without a gap: {} numbers issued",
                series.counter,
                numbers.len()
            ));
        }
    }
    Ok(found)
}
