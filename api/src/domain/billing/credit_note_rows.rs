//! The rows of credit notes: kept sealed, once, and shown as the API
//! shows them. `credit_notes.rs` decides when one is owed; the owed-calls
//! job keeps Stripe's through here once Stripe made it.

use chrono::{DateTime, Utc};
use common::invoices::{CreditReason, InvoiceDto, InvoiceKind};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::domain::billing::seals;
use crate::error::ApiResult;
use entity::{credit_notes, invoices};

/// Writes a credit note, sealed, once (Stripe's id is unique: a second
/// keep of the same one writes nothing), and says so
/// (`credit_note.issued`). True when it was written.
pub async fn keep(
    db: &impl ConnectionTrait,
    mut row: credit_notes::Model,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    row.content_hash = seals::of_credit_note(&row);
    let kept = credit_notes::Entity::insert(credit_notes::ActiveModel::from(row.clone()))
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(credit_notes::Column::ProviderCreditNoteId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    if kept == 1 {
        crate::domain::platform::events::record(
            db,
            common::events::EventType::CreditNoteIssued,
            row.id,
            &to_dto(row),
            now,
        )
        .await
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    }
    Ok(kept == 1)
}

/// What a credit note on `invoice` says it corrects.
pub fn description(invoice: &invoices::Model, reason: CreditReason) -> String {
    format!(
        "Avoir sur la facture n° {} : {}",
        invoice.number,
        reason.french()
    )
}

/// Keeps the credit note Stripe issued for an owed call, once (its id is
/// unique), and says so (`credit_note.issued`).
pub async fn keep_providers(
    db: &impl ConnectionTrait,
    call: &entity::owed_gateway_calls::Model,
    note: &crate::payments::CreditNote,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let Some(invoice) = invoices::Entity::find()
        .filter(invoices::Column::ProviderInvoiceId.eq(call.target.clone()))
        .one(db)
        .await?
    else {
        return Err(DbErr::Custom(format!(
            "a credit note on {}, an invoice not recorded",
            call.target
        )));
    };
    let reason = CreditReason::parse(&call.reason).unwrap_or(CreditReason::GatewayRefund);
    let row = credit_notes::Model {
        id: Uuid::new_v4(),
        invoice_id: invoice.id,
        user_id: invoice.user_id,
        booking_id: invoice.booking_id,
        provider_credit_note_id: Some(note.id.clone()),
        number: note.number.clone(),
        sequence: None,
        reason: reason.as_str().to_owned(),
        description: description(&invoice, reason),
        amount_cents: note.amount_cents,
        currency: invoice.currency.clone(),
        vat_rate_bp: invoice.vat_rate_bp,
        vat_mention: invoice.vat_mention.clone(),
        seller: invoice.seller.clone(),
        bill_to: invoice.bill_to.clone(),
        pdf_url: note.pdf_url.clone(),
        issued_at: seals::stored_instant(note.created),
        content_hash: String::new(), // sealed by `keep`
    };
    keep(db, row, now).await?;
    Ok(())
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
