//! The seal of a legal record: the SHA-256 of everything an invoice or a
//! credit note says, written when it is issued (invariant 18: never
//! edited). `immersion audit` recomputes every seal, so a row changed by
//! hand (an amount, a name, a number) is found.
//!
//! The sealed text is a JSON array of the fields in a fixed order, each
//! instant as whole microseconds since the epoch (what both databases
//! keep), so the seal reads back the same from SQLite and PostgreSQL.

use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use entity::{credit_notes, invoices};

fn digest(fields: &Value) -> String {
    hex::encode(Sha256::digest(fields.to_string().as_bytes()))
}

fn micros(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_micros()
}

pub fn of_invoice(i: &invoices::Model) -> String {
    digest(&json!([
        "invoice",
        i.id,
        i.user_id,
        i.booking_id,
        i.subscription_id,
        i.provider_invoice_id,
        i.number,
        i.sequence,
        i.description,
        i.amount_cents,
        i.currency,
        i.vat_rate_bp,
        i.vat_mention,
        i.seller,
        i.bill_to,
        i.hosted_url,
        i.pdf_url,
        i.period_start.map(micros),
        i.period_end.map(micros),
        micros(i.issued_at),
    ]))
}

pub fn of_credit_note(c: &credit_notes::Model) -> String {
    digest(&json!([
        "credit_note",
        c.id,
        c.invoice_id,
        c.user_id,
        c.booking_id,
        c.provider_credit_note_id,
        c.number,
        c.sequence,
        c.reason,
        c.description,
        c.amount_cents,
        c.currency,
        c.vat_rate_bp,
        c.vat_mention,
        c.seller,
        c.bill_to,
        c.pdf_url,
        micros(c.issued_at),
    ]))
}

/// Instants as both databases keep them (whole microseconds), so that a
/// record sealed before it is written reads back with the same seal.
pub fn stored_instant(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// Seals the invoices issued before seals existed (once, after the
/// migration that added them; the api runs it under the setup lock).
pub async fn seal_unsealed(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    let unsealed = invoices::Entity::find()
        .filter(invoices::Column::ContentHash.is_null())
        .all(db)
        .await?;
    let count = unsealed.len() as u64;
    for i in unsealed {
        let seal = of_invoice(&i);
        invoices::Entity::update_many()
            .set(invoices::ActiveModel {
                content_hash: Set(Some(seal)),
                ..Default::default()
            })
            .filter(invoices::Column::Id.eq(i.id))
            .filter(invoices::Column::ContentHash.is_null())
            .exec(db)
            .await?;
    }
    Ok(count)
}

/// Every record whose seal does not match what it says, one line each.
pub async fn broken(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    let mut found = Vec::new();
    for i in invoices::Entity::find().all(db).await? {
        match &i.content_hash {
            Some(seal) if *seal == of_invoice(&i) => {}
            Some(_) => found.push(format!(
                "invoice {} ({}): its content no longer matches its seal: changed after it was issued",
                i.number, i.id
            )),
            None => found.push(format!("invoice {} ({}): not sealed", i.number, i.id)),
        }
    }
    for c in credit_notes::Entity::find().all(db).await? {
        if c.content_hash != of_credit_note(&c) {
            found.push(format!(
                "credit note {} ({}): its content no longer matches its seal: changed after it was issued",
                c.number, c.id
            ));
        }
    }
    Ok(found)
}
