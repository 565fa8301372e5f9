//! Invoices ("factures"). Stripe issues and numbers its own, which the
//! app records from the payment events. With the local gateway the app
//! issues them itself, in the transaction that confirms the payment, with
//! a number from one gap-free counter (French invoices follow a single
//! unbroken sequence): the counter row is incremented in that transaction,
//! so a payment that rolls back gives its number back, and concurrent
//! payments queue on the row (PostgreSQL's row lock, SQLite's one writer).
//!
//! An invoice keeps what it said when issued (seller, buyer, line, VAT).

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc};
use common::bookings::BookingStatus;
use common::format::format_session_dates;
use common::invoices::{InvoiceDto, Vat};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::config::Invoicing;
use crate::domain::billing::applied::Applied;
use crate::domain::platform::actor::Actor;
use crate::error::{ApiError, ApiResult};
use crate::payments::events::{InvoiceDocument, InvoiceOutcome, SeatInvoice};
use entity::invoices::{self, Column};
use entity::{immersion_bookings as bookings, immersion_sessions as sessions, invoice_numbers};

/// The counter's row in `invoice_numbers`.
const COUNTER: &str = "invoices";

/// Where the app shows an invoice it issued.
fn page_url(id: Uuid) -> String {
    format!("/api/invoices/{id}")
}

/// "2026-000042": the year it was issued at the venue (the year its
/// printed date shows), then the counter. The counter never restarts, so
/// the numbers stay one unbroken sequence.
fn number_of(sequence: i64, issued_at: DateTime<Utc>) -> String {
    format!(
        "{}-{sequence:06}",
        crate::domain::platform::clock::today_at_venue(issued_at).year()
    )
}

/// Takes the next number, in `txn`: it is given back if `txn` rolls back.
async fn next_sequence(txn: &impl ConnectionTrait) -> ApiResult<i64> {
    use sea_orm::sea_query::ExprTrait as _;
    let mut q = Query::update();
    q.table(invoice_numbers::Entity)
        .value(
            invoice_numbers::Column::Last,
            Expr::col(invoice_numbers::Column::Last).add(1_i64),
        )
        .and_where(Expr::col(invoice_numbers::Column::Name).eq(COUNTER))
        .returning_col(invoice_numbers::Column::Last);
    let row = txn
        .query_one(&q)
        .await?
        .ok_or_else(|| DbErr::Custom("the invoice counter row is missing".into()))?;
    Ok(row.try_get_by_index(0)?)
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
            let row = invoices::Entity::insert(invoices::ActiveModel {
                id: Set(Uuid::new_v4()),
                user_id: Set(owner.user_id),
                booking_id: Set(owner.booking_id),
                subscription_id: Set(owner.subscription_id),
                provider_invoice_id: Set(Some(doc.id.clone())),
                number: Set(number.clone()),
                sequence: Set(None),
                description: Set(description),
                amount_cents: Set(doc.amount_paid.max(0)),
                currency: Set(doc.currency.clone()),
                vat_rate_bp: Set(None),
                vat_mention: Set(None),
                // Stripe's page shows who sold and who bought.
                seller: Set(String::new()),
                bill_to: Set(owner.email.to_owned()),
                hosted_url: Set(doc.hosted_url.clone()),
                pdf_url: Set(doc.pdf_url.clone()),
                period_start: Set(period.map(|p| p.0)),
                period_end: Set(period.map(|p| p.1)),
                issued_at: Set(doc.created.unwrap_or(now)),
            })
            .exec_with_returning(txn)
            .await?;
            announce(txn, row, now).await?;
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
    let sequence = next_sequence(txn).await?;
    // Dated once the number is ours (the counter row is locked until the
    // commit): numbers and dates then run in the same order.
    let now = now.max(Utc::now());
    let (vat_rate_bp, vat_mention) = match &invoicing.vat {
        Vat::Rate(bp) => (Some(*bp), None),
        Vat::Exempt(mention) => (None, Some(mention.clone())),
    };
    let id = Uuid::new_v4();
    let row = invoices::Entity::insert(invoices::ActiveModel {
        id: Set(id),
        user_id: Set(what.user_id),
        booking_id: Set(what.booking_id),
        subscription_id: Set(what.subscription_id),
        provider_invoice_id: Set(what.provider_invoice_id),
        number: Set(number_of(sequence, now)),
        sequence: Set(Some(sequence)),
        description: Set(what.description),
        amount_cents: Set(what.amount_cents),
        currency: Set(what.currency),
        vat_rate_bp: Set(vat_rate_bp),
        vat_mention: Set(vat_mention),
        seller: Set(invoicing.seller.clone()),
        bill_to: Set(what.bill_to),
        hosted_url: Set(None),
        pdf_url: Set(None),
        period_start: Set(what.period.map(|p| p.0)),
        period_end: Set(what.period.map(|p| p.1)),
        issued_at: Set(now),
    })
    .exec_with_returning(txn)
    .await?;
    announce(txn, row, now).await?;
    tracing::info!(invoice = %id, sequence, "invoice issued");
    Ok(id)
}

/// `invoice.issued`, in the transaction that keeps the invoice.
async fn announce(
    txn: &impl ConnectionTrait,
    row: invoices::Model,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let id = row.id;
    crate::domain::platform::events::record(
        txn,
        common::events::EventType::InvoiceIssued,
        id,
        &to_dto(row),
        now,
    )
    .await?;
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

/// A user's invoices, newest first.
pub async fn list_mine(db: &impl ConnectionTrait, user: &Actor) -> ApiResult<Vec<InvoiceDto>> {
    Ok(invoices::Entity::find()
        .filter(Column::UserId.eq(user.id))
        .order_by_desc(Column::IssuedAt)
        .order_by_desc(Column::Number)
        .all(db)
        .await?
        .into_iter()
        .map(to_dto)
        .collect())
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

/// One invoice, for its owner or an admin (anyone else: not found, so
/// that ids reveal nothing).
pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> ApiResult<invoices::Model> {
    match invoices::Entity::find_by_id(id).one(db).await? {
        Some(i) if i.user_id == actor.id || actor.is_admin() => Ok(i),
        _ => Err(ApiError::not_found("invoice")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_number_carries_the_year_its_date_shows_at_the_venue() {
        let new_year_in_paris = "2025-12-31T23:30:00Z".parse().unwrap();
        assert_eq!(number_of(42, new_year_in_paris), "2026-000042");
        let still_2025 = "2025-12-31T22:30:00Z".parse().unwrap();
        assert_eq!(number_of(7, still_2025), "2025-000007");
    }
}
