//! `GET /api/me/export`: everything the product holds about a person, as
//! JSON, one section per kind of record. Secrets (password hash, token
//! digests) are left out: they are not data about the person, and would
//! only help an attacker who got hold of the file.
//!
//! `TABLES` says, for every table, which section carries its rows about a
//! person or why it names no one; a test fails when a table is added
//! without being placed there.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use entity::*;

/// Where each table's rows about a person go in the export, or why the
/// table names no one (`None`).
pub const TABLES: &[(&str, Option<&str>)] = &[
    ("users", Some("account")),
    ("user_profiles", Some("profile")),
    ("auth_sessions", Some("sign_in_sessions")),
    ("account_tokens", Some("mailed_links")),
    ("role_changes", Some("role_changes")),
    ("immersion_bookings", Some("bookings")),
    ("waitlist_entries", Some("waiting_lists")),
    ("presence_marks", Some("presence")),
    ("stripe_subscriptions", Some("subscriptions")),
    ("subscription_status", Some("subscription_access")),
    ("subscription_checkouts", Some("subscription_checkouts")),
    ("invoices", Some("invoices")),
    ("credit_notes", Some("credit_notes")),
    ("mail_outbox", Some("mails")),
    ("idempotency_keys", Some("requests_kept_for_retries")),
    ("owed_gateway_calls", Some("refunds_owed")),
    ("payment_anomalies", Some("payment_anomalies")),
    ("events", Some("events")),
    ("api_keys", Some("api_keys_issued")),
    ("trainer_links", Some("trainer_links_made")),
    ("webhook_endpoints", Some("webhook_endpoints_made")),
    // Keyed by address, e-mail or account id and a time window; a minute
    // or an hour at most, then swept. Counts, no content.
    ("throttle_hits", None),
    // Sessions of the catalog: the trainer's name is the company's
    // staff, not a customer's record.
    ("immersion_sessions", None),
    ("member_resources", None),
    ("invoice_numbers", None),
    ("job_leases", None),
    // Stripe's events: ids, types and outcomes (their bodies are not kept).
    ("stripe_events", None),
    // Refund totals by payment intent: money, no person.
    ("gateway_refunds", None),
    // What was sent to third parties: the event ids and answers' status
    // (the event's content is in `events`).
    ("webhook_deliveries", None),
    ("webhook_attempts", None),
    ("seaql_migrations", None),
];

fn strip(mut row: Value, secrets: &[&str]) -> Value {
    if let Some(map) = row.as_object_mut() {
        for s in secrets {
            map.remove(*s);
        }
    }
    row
}

fn rows(list: Vec<Value>, secrets: &[&str]) -> Value {
    Value::Array(list.into_iter().map(|r| strip(r, secrets)).collect())
}

/// `text` with the secret of every mailed link (`#token=…`) taken out.
fn without_secrets(text: &str) -> String {
    const MARK: &str = "#token=";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        let (head, tail) = rest.split_at(at + MARK.len());
        out.push_str(head);
        out.push_str("[retiré]");
        let end = tail
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-')
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn ids(rows: &[Value]) -> Vec<Uuid> {
    rows.iter()
        .filter_map(|r| r["id"].as_str()?.parse().ok())
        .collect()
}

/// The person's records, as of `now`.
#[tracing::instrument(skip(db))]
pub async fn export(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<Value> {
    let user = users::Entity::find_by_id(user_id)
        .into_json()
        .one(db)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let email = user["email"].as_str().unwrap_or_default().to_owned();
    let mut out = Map::new();
    out.insert("exported_at".into(), json!(now));
    out.insert(
        "account".into(),
        strip(user, &["password_hash", "email_skeleton"]),
    );
    out.insert(
        "profile".into(),
        user_profiles::Entity::find_by_id(user_id)
            .into_json()
            .one(db)
            .await?
            .unwrap_or(Value::Null),
    );
    out.insert(
        "sign_in_sessions".into(),
        rows(
            auth_sessions::Entity::find()
                .filter(auth_sessions::Column::UserId.eq(user_id))
                .order_by_asc(auth_sessions::Column::CreatedAt)
                .into_json()
                .all(db)
                .await?,
            &[],
        ),
    );
    out.insert(
        "mailed_links".into(),
        rows(
            account_tokens::Entity::find()
                .filter(account_tokens::Column::UserId.eq(user_id))
                .into_json()
                .all(db)
                .await?,
            &["token_hash"],
        ),
    );
    out.insert(
        "role_changes".into(),
        rows(
            role_changes::Entity::find()
                .filter(role_changes::Column::UserId.eq(user_id))
                .into_json()
                .all(db)
                .await?,
            &[],
        ),
    );
    let bookings = immersion_bookings::Entity::find()
        .filter(immersion_bookings::Column::UserId.eq(user_id))
        .order_by_asc(immersion_bookings::Column::CreatedAt)
        .into_json()
        .all(db)
        .await?;
    let booking_ids = ids(&bookings);
    out.insert("bookings".into(), rows(bookings, &[]));
    let entries = waitlist_entries::Entity::find()
        .filter(waitlist_entries::Column::UserId.eq(user_id))
        .into_json()
        .all(db)
        .await?;
    let entry_ids = ids(&entries);
    out.insert("waiting_lists".into(), rows(entries, &[]));
    out.insert(
        "presence".into(),
        rows(
            presence_marks::Entity::find()
                .filter(presence_marks::Column::BookingId.is_in(booking_ids.clone()))
                .order_by_asc(presence_marks::Column::Id)
                .into_json()
                .all(db)
                .await?,
            &[],
        ),
    );
    out.insert(
        "subscriptions".into(),
        rows(
            stripe_subscriptions::Entity::find()
                .filter(stripe_subscriptions::Column::UserId.eq(user_id))
                .into_json()
                .all(db)
                .await?,
            &[],
        ),
    );
    out.insert(
        "subscription_access".into(),
        subscription_status::Entity::find_by_id(user_id)
            .into_json()
            .one(db)
            .await?
            .unwrap_or(Value::Null),
    );
    out.insert(
        "subscription_checkouts".into(),
        rows(
            subscription_checkouts::Entity::find()
                .filter(subscription_checkouts::Column::UserId.eq(user_id))
                .into_json()
                .all(db)
                .await?,
            &[],
        ),
    );
    out.insert(
        "invoices".into(),
        rows(
            invoices::Entity::find()
                .filter(invoices::Column::UserId.eq(user_id))
                .order_by_asc(invoices::Column::IssuedAt)
                .into_json()
                .all(db)
                .await?,
            &[],
        ),
    );
    out.insert(
        "credit_notes".into(),
        rows(
            credit_notes::Entity::find()
                .filter(credit_notes::Column::UserId.eq(user_id))
                .order_by_asc(credit_notes::Column::IssuedAt)
                .into_json()
                .all(db)
                .await?,
            &[],
        ),
    );
    let mut mails = mail_outbox::Entity::find()
        .filter(mail_outbox::Column::Recipient.eq(email.as_str()))
        .order_by_asc(mail_outbox::Column::CreatedAt)
        .into_json()
        .all(db)
        .await?;
    // A mailed link's secret is a credential, not data about the person:
    // whoever reads the export (a squatter of someone else's address, a
    // stolen session) must not find the verification or reset link in it.
    for mail in &mut mails {
        if let Some(body) = mail.get_mut("body")
            && let Some(text) = body.as_str()
        {
            *body = Value::String(without_secrets(text));
        }
    }
    out.insert("mails".into(), rows(mails, &["attachment", "dedup_key"]));
    out.insert(
        "requests_kept_for_retries".into(),
        rows(
            idempotency_keys::Entity::find()
                .filter(idempotency_keys::Column::UserId.eq(user_id))
                .into_json()
                .all(db)
                .await?,
            &[],
        ),
    );
    out.insert(
        "refunds_owed".into(),
        rows(
            owed_gateway_calls::Entity::find()
                .filter(owed_gateway_calls::Column::BookingId.is_in(booking_ids.clone()))
                .into_json()
                .all(db)
                .await?,
            &[],
        ),
    );
    out.insert(
        "payment_anomalies".into(),
        rows(
            payment_anomalies::Entity::find()
                .filter(payment_anomalies::Column::BookingId.is_in(booking_ids.clone()))
                .into_json()
                .all(db)
                .await?,
            &[],
        ),
    );
    // Their bookings', places' and subscription's (about the account).
    let resources: Vec<Uuid> = booking_ids
        .iter()
        .chain(&entry_ids)
        .chain([&user_id])
        .copied()
        .collect();
    out.insert(
        "events".into(),
        rows(
            events::Entity::find()
                .filter(events::Column::ResourceId.is_in(resources))
                .order_by_asc(events::Column::Ins)
                .into_json()
                .all(db)
                .await?,
            &[],
        ),
    );
    out.insert(
        "api_keys_issued".into(),
        rows(
            api_keys::Entity::find()
                .filter(api_keys::Column::IssuedBy.eq(user_id))
                .into_json()
                .all(db)
                .await?,
            &["secret_hash"],
        ),
    );
    out.insert(
        "trainer_links_made".into(),
        rows(
            trainer_links::Entity::find()
                .filter(trainer_links::Column::CreatedBy.eq(user_id))
                .into_json()
                .all(db)
                .await?,
            &["token_hash"],
        ),
    );
    out.insert(
        "webhook_endpoints_made".into(),
        rows(
            webhook_endpoints::Entity::find()
                .filter(webhook_endpoints::Column::CreatedBy.eq(user_id))
                .into_json()
                .all(db)
                .await?,
            &["secret", "previous_secret"],
        ),
    );
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailed_secrets_are_taken_out() {
        let body = "Ouvrez https://x.fr/verifier-email#token=ab12cd.\nPuis /mot-de-passe/nouveau#token=ff00 ici";
        assert_eq!(
            without_secrets(body),
            "Ouvrez https://x.fr/verifier-email#token=[retiré].\nPuis /mot-de-passe/nouveau#token=[retiré] ici"
        );
        assert_eq!(without_secrets("rien"), "rien");
    }
}
