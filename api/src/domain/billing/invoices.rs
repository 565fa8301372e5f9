//! Invoices ("factures"). Stripe issues and numbers its own, which the
//! app records from the payment events. With the local gateway the app
//! issues them itself, in the transaction that confirms the payment, with
//! a number of one gap-free series (`series.rs`: French invoices follow a
//! single unbroken sequence).
//!
//! An invoice keeps what it said when issued (seller, buyer, line, VAT).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use common::bookings::BookingStatus;
use common::format::format_session_dates;
use common::invoices::{InvoiceDto, InvoiceKind, Vat};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::config::Invoicing;
use crate::domain::billing::applied::Applied;
use crate::domain::billing::{credit_notes, seals, series};
use crate::domain::platform::actor::Actor;
use crate::error::{ApiError, ApiResult};
use crate::payments::events::{InvoiceDocument, InvoiceOutcome, SeatInvoice};
use entity::invoices::{self, Column};
use entity::{immersion_bookings as bookings, immersion_sessions as sessions};

/// Where the app shows an invoice it issued.
fn page_url(id: Uuid) -> String {
    format!("/api/invoices/{id}")
}

/// Who is billed, as the invoice will say it: names and company from the
/// profile, the billing address, the e-mail.
async fn bill_to(txn: &impl ConnectionTrait, user_id: Uuid, email: &str) -> ApiResult<String> {
    let p = crate::domain::accounts::profiles::get(txn, user_id).await?;
    let name = common::profile::full_name(p.first_name.as_deref(), p.last_name.as_deref());
    let lines = [name, p.company, p.billing_address, Some(email.to_owned())];
    Ok(lines.into_iter().flatten().collect::<Vec<_>>().join("\n"))
}

/// Issues the invoice of a confirmed seat, once (with the local gateway;
/// call it in the transaction that confirmed the seat). A seat that is not
/// confirmed, or already invoiced, gets nothing.
pub async fn issue_for_seat(
    txn: &impl ConnectionTrait,
    invoicing: &Invoicing,
    booking_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<Option<Uuid>> {
    let Some((b, Some(s))) = bookings::Entity::find_by_id(booking_id)
        .find_also_related(sessions::Entity)
        .one(txn)
        .await?
    else {
        return Ok(None);
    };
    let invoiced = invoices::Entity::find()
        .filter(Column::BookingId.eq(booking_id))
        .one(txn)
        .await?
        .is_some();
    if b.status != BookingStatus::Confirmed || invoiced {
        return Ok(None);
    }
    let description = format!(
        "Immersion Élite, {}, {} : une place",
        format_session_dates(s.starts_on, s.ends_on),
        s.location
    );
    let bill_to = bill_to(txn, b.user_id, &b.user_email).await?;
    let id = issue(
        txn,
        invoicing,
        Issue {
            user_id: b.user_id,
            booking_id: Some(b.id),
            subscription_id: None,
            provider_invoice_id: None,
            description,
            amount_cents: b.amount_cents,
            currency: b.currency,
            bill_to,
            period: None,
        },
        now,
    )
    .await?;
    Ok(Some(id))
}

/// A seat's invoice as Stripe issued it (`invoice.paid` with our
/// metadata). With the local gateway the app has issued its own already.
pub async fn record_seat(
    txn: &impl ConnectionTrait,
    invoicing: Option<&Invoicing>,
    seat: &SeatInvoice,
    now: DateTime<Utc>,
) -> ApiResult<Applied> {
    let Some(b) = bookings::Entity::find_by_id(seat.booking_id)
        .one(txn)
        .await?
    else {
        return Ok(Applied::outcome("invoice_of_unknown_booking"));
    };
    // Our metadata names the seat and its buyer: both must agree.
    if seat.user_id.is_some_and(|u| u != b.user_id) {
        tracing::warn!(booking = %b.id, "an invoice names another user than its seat's");
        return Ok(Applied::outcome("invoice_user_mismatch"));
    }
    let invoiced = invoices::Entity::find()
        .filter(Column::BookingId.eq(b.id))
        .one(txn)
        .await?
        .is_some();
    if invoiced {
        return Ok(Applied::outcome("invoice_already_recorded"));
    }
    let owner = Owner {
        user_id: b.user_id,
        email: &b.user_email,
        booking_id: Some(b.id),
        subscription_id: None,
    };
    record(txn, invoicing, owner, &seat.document, now).await
}

/// A subscription's paid invoice, for its member's list.
pub async fn record_subscription(
    txn: &impl ConnectionTrait,
    invoicing: Option<&Invoicing>,
    invoice: &InvoiceOutcome,
    now: DateTime<Utc>,
) -> ApiResult<Applied> {
    let Some(sub) =
        entity::stripe_subscriptions::Entity::find_by_id(invoice.subscription_id.clone())
            .one(txn)
            .await?
    else {
        return Ok(Applied::outcome("invoice_of_unknown_subscription"));
    };
    let Some(email) = crate::domain::accounts::users::email_of(txn, sub.user_id).await? else {
        return Ok(Applied::outcome("invoice_of_unknown_user"));
    };
    let owner = Owner {
        user_id: sub.user_id,
        email: &email,
        booking_id: None,
        subscription_id: Some(sub.id),
    };
    record(txn, invoicing, owner, &invoice.document, now).await
}

/// Whose an invoice is, and what it bills.
struct Owner<'a> {
    user_id: Uuid,
    email: &'a str,
    booking_id: Option<Uuid>,
    subscription_id: Option<String>,
}

/// Keeps an invoice once: Stripe's as Stripe numbered it; one the issuer
/// left unnumbered (the local gateway's), numbered by the app.
async fn record(
    txn: &impl ConnectionTrait,
    invoicing: Option<&Invoicing>,
    owner: Owner<'_>,
    doc: &InvoiceDocument,
    now: DateTime<Utc>,
) -> ApiResult<Applied> {
    let known = invoices::Entity::find()
        .filter(Column::ProviderInvoiceId.eq(doc.id.clone()))
        .one(txn)
        .await?
        .is_some();
    if known {
        return Ok(Applied::outcome("invoice_already_recorded"));
    }
    let description = doc
        .description
        .clone()
        .unwrap_or_else(|| "Immersion".to_owned());
    let period = doc.period_start.zip(doc.period_end);
    match (&doc.number, invoicing) {
        (Some(number), _) => {
            let row = invoices::Model {
                id: Uuid::new_v4(),
                user_id: owner.user_id,
                booking_id: owner.booking_id,
                subscription_id: owner.subscription_id,
                provider_invoice_id: Some(doc.id.clone()),
                number: number.clone(),
                sequence: None,
                description,
                amount_cents: doc.amount_paid.max(0),
                currency: doc.currency.clone(),
                vat_rate_bp: None,
                vat_mention: None,
                // Stripe's page shows who sold and who bought.
                seller: String::new(),
                bill_to: owner.email.to_owned(),
                hosted_url: doc.hosted_url.clone(),
                pdf_url: doc.pdf_url.clone(),
                period_start: period.map(|p| seals::stored_instant(p.0)),
                period_end: period.map(|p| seals::stored_instant(p.1)),
                issued_at: seals::stored_instant(doc.created.unwrap_or(now)),
                content_hash: None,
            };
            keep(txn, row, now).await?;
            Ok(Applied::outcome("invoice_recorded"))
        }
        (None, Some(invoicing)) => {
            let bill_to = bill_to(txn, owner.user_id, owner.email).await?;
            issue(
                txn,
                invoicing,
                Issue {
                    user_id: owner.user_id,
                    booking_id: owner.booking_id,
                    subscription_id: owner.subscription_id,
                    provider_invoice_id: Some(doc.id.clone()),
                    description,
                    amount_cents: doc.amount_paid.max(0),
                    currency: doc.currency.clone(),
                    bill_to,
                    period,
                },
                now,
            )
            .await?;
            Ok(Applied::outcome("invoice_issued"))
        }
        // Stripe numbers an invoice when it finalizes it; a paid one
        // without a number is not one to list.
        (None, None) => Ok(Applied::outcome("invoice_without_number")),
    }
}

/// What an invoice the app issues bills.
struct Issue {
    user_id: Uuid,
    booking_id: Option<Uuid>,
    subscription_id: Option<String>,
    provider_invoice_id: Option<String>,
    description: String,
    amount_cents: i64,
    currency: String,
    bill_to: String,
    period: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

async fn issue(
    txn: &impl ConnectionTrait,
    invoicing: &Invoicing,
    what: Issue,
    now: DateTime<Utc>,
) -> ApiResult<Uuid> {
    let sequence = series::INVOICES.take(txn).await?;
    // Dated once the number is ours (the counter row is locked until the
    // commit): numbers and dates then run in the same order.
    let now = now.max(Utc::now());
    let (vat_rate_bp, vat_mention) = match &invoicing.vat {
        Vat::Rate(bp) => (Some(*bp), None),
        Vat::Exempt(mention) => (None, Some(mention.clone())),
    };
    let now = seals::stored_instant(now);
    let id = Uuid::new_v4();
    let row = invoices::Model {
        id,
        user_id: what.user_id,
        booking_id: what.booking_id,
        subscription_id: what.subscription_id,
        provider_invoice_id: what.provider_invoice_id,
        number: series::INVOICES.number(sequence, now),
        sequence: Some(sequence),
        description: what.description,
        amount_cents: what.amount_cents,
        currency: what.currency,
        vat_rate_bp,
        vat_mention,
        seller: invoicing.seller.clone(),
        bill_to: what.bill_to,
        hosted_url: None,
        pdf_url: None,
        period_start: what.period.map(|p| seals::stored_instant(p.0)),
        period_end: what.period.map(|p| seals::stored_instant(p.1)),
        issued_at: now,
        content_hash: None,
    };
    keep(txn, row, now).await?;
    tracing::info!(invoice = %id, sequence, "invoice issued");
    Ok(id)
}

/// Writes an invoice, sealed, and says so (`invoice.issued`); then the
/// credit note of a refund recorded before it (a refund seen before its
/// payment, invariant 15; a second subscription's refund owed before its
/// invoice is recorded).
async fn keep(
    txn: &impl ConnectionTrait,
    mut row: invoices::Model,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    row.content_hash = Some(seals::of_invoice(&row));
    invoices::Entity::insert(invoices::ActiveModel::from(row.clone()))
        .exec(txn)
        .await?;
    crate::domain::platform::events::record(
        txn,
        common::events::EventType::InvoiceIssued,
        row.id,
        &to_dto(row.clone()),
        now,
    )
    .await?;
    credit_notes::cover(txn, &row, now).await?;
    Ok(())
}

/// Where an invoice is read: Stripe's page, or ours.
fn url_of(i: &invoices::Model) -> String {
    i.hosted_url.clone().unwrap_or_else(|| page_url(i.id))
}

pub fn to_dto(i: invoices::Model) -> InvoiceDto {
    InvoiceDto {
        url: url_of(&i),
        id: i.id,
        kind: InvoiceKind::Invoice,
        invoice_id: None,
        reason: None,
        number: i.number,
        description: i.description,
        amount_cents: i.amount_cents,
        currency: i.currency,
        issued_at: i.issued_at,
        booking_id: i.booking_id,
        period_start: i.period_start,
        period_end: i.period_end,
        pdf_url: i.pdf_url,
    }
}

/// A user's invoices and credit notes, newest first.
pub async fn list_mine(db: &impl ConnectionTrait, user: &Actor) -> ApiResult<Vec<InvoiceDto>> {
    let mut all: Vec<InvoiceDto> = invoices::Entity::find()
        .filter(Column::UserId.eq(user.id))
        .all(db)
        .await?
        .into_iter()
        .map(to_dto)
        .collect();
    all.extend(credit_notes::of_user(db, user.id).await?);
    all.sort_by(|a, b| (b.issued_at, &b.number).cmp(&(a.issued_at, &a.number)));
    Ok(all)
}

/// The invoice links of some seats, by booking.
pub async fn urls_of_seats(
    db: &impl ConnectionTrait,
    booking_ids: impl IntoIterator<Item = Uuid>,
) -> ApiResult<HashMap<Uuid, String>> {
    let ids: Vec<Uuid> = booking_ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut urls = HashMap::new();
    for chunk in ids.chunks(500) {
        for i in invoices::Entity::find()
            .filter(Column::BookingId.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            if let Some(b) = i.booking_id {
                urls.insert(b, url_of(&i));
            }
        }
    }
    Ok(urls)
}

/// An invoice, or a credit note with the invoice it corrects.
pub enum Document {
    Invoice(Box<invoices::Model>),
    CreditNote(Box<(entity::credit_notes::Model, invoices::Model)>),
}

/// One invoice or credit note, for its owner or an admin (anyone else:
/// not found, so that ids reveal nothing).
pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> ApiResult<Document> {
    let mine = |user_id: Uuid| user_id == actor.id || actor.is_admin();
    if let Some(i) = invoices::Entity::find_by_id(id).one(db).await? {
        if mine(i.user_id) {
            return Ok(Document::Invoice(Box::new(i)));
        }
        return Err(ApiError::not_found("invoice"));
    }
    if let Some(c) = entity::credit_notes::Entity::find_by_id(id).one(db).await?
        && mine(c.user_id)
        && let Some(i) = invoices::Entity::find_by_id(c.invoice_id).one(db).await?
    {
        return Ok(Document::CreditNote(Box::new((c, i))));
    }
    Err(ApiError::not_found("invoice"))
}
