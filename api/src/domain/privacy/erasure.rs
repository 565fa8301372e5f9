//! Erasing a person (GDPR article 17), asked by them (`DELETE /api/me`,
//! password typed again) or by an admin for someone who asked by mail.
//!
//! First what they still have going is ended by the product's own rules:
//! held seats and seats of sessions still to come are cancelled (refunded
//! as the cancellation rules say), waiting-list places are left, a live
//! subscription is cancelled at the gateway, and a subscription page
//! still open is expired there. Then, in one transaction,
//! every personal field is erased or anonymised: the account can never
//! sign in again and its address is free. Their customer at the payment
//! provider (e-mail, name, cards) is deleted there, after those calls.
//! What the law requires is kept (invariant 18): invoices and credit
//! notes as issued, presence marks; `retention.rs` deletes them once
//! their period is over.

use chrono::{DateTime, Utc};
use common::auth::Role;
use common::bookings::{BookingStatus, refund_on_cancel};
use common::privacy::{CancelledSeat, ErasurePreview};
use common::waitlist::WaitlistStatus;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::Value;
use uuid::Uuid;

use crate::domain::billing::owed::{self, AfterCommit, OwedReason};
use crate::domain::bookings::{self as desk, Desk};
use crate::domain::platform::actor::Actor;
use crate::domain::platform::clock::today_at_venue;
use crate::error::{ApiError, ApiResult};
use entity::{
    account_tokens, auth_sessions, events, idempotency_keys, immersion_bookings as bookings,
    immersion_sessions as sessions, mail_outbox, stripe_subscriptions, subscription_checkouts,
    subscription_status, throttle_hits, user_profiles, users, waitlist_entries,
};

/// The address an erased account is left with: unique, and undeliverable
/// (`.invalid` is reserved, RFC 2606).
pub fn erased_address(user_id: Uuid) -> String {
    format!("erased-{user_id}@erased.invalid")
}

/// What the law keeps after an erasure, in the person's words.
const KEPT: [&str; 2] = [
    "Factures et avoirs : conservés 10 ans (Code de commerce, article L123-22), puis supprimés.",
    "Relevés de présence : conservés 3 ans après l'année de la formation (preuve des certificats de réalisation), puis supprimés.",
];

/// The seats an erasure cancels: held ones, and paid ones of sessions
/// that have not begun.
async fn seats_to_cancel(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<Vec<(bookings::Model, sessions::Model)>> {
    let today = today_at_venue(now);
    Ok(bookings::Entity::find()
        .filter(bookings::Column::UserId.eq(user_id))
        .filter(bookings::Column::Status.is_in([BookingStatus::Held, BookingStatus::Confirmed]))
        .find_also_related(sessions::Entity)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(b, s)| s.map(|s| (b, s)))
        .filter(|(b, s)| b.status == BookingStatus::Held || s.starts_on > today)
        .collect())
}

async fn live_subscriptions(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> ApiResult<Vec<stripe_subscriptions::Model>> {
    Ok(stripe_subscriptions::Entity::find()
        .filter(stripe_subscriptions::Column::UserId.eq(user_id))
        .all(db)
        .await?
        .into_iter()
        .filter(|s| s.status.as_ref().is_none_or(|st| !st.is_ended()))
        .collect())
}

/// The person's customers at the payment provider: the one their
/// subscriptions are billed to, and any other a subscription named.
async fn customers(db: &impl ConnectionTrait, user_id: Uuid) -> ApiResult<Vec<String>> {
    let mut ids: Vec<String> = stripe_subscriptions::Entity::find()
        .filter(stripe_subscriptions::Column::UserId.eq(user_id))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|s| s.customer_id)
        .collect();
    ids.extend(
        subscription_status::Entity::find_by_id(user_id)
            .one(db)
            .await?
            .and_then(|s| s.stripe_customer_id),
    );
    ids.sort();
    ids.dedup();
    Ok(ids)
}

async fn waiting(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> ApiResult<Vec<waitlist_entries::Model>> {
    Ok(waitlist_entries::Entity::find()
        .filter(waitlist_entries::Column::UserId.eq(user_id))
        .filter(
            waitlist_entries::Column::Status
                .is_in([WaitlistStatus::Waiting, WaitlistStatus::Offered]),
        )
        .all(db)
        .await?)
}

/// What erasing `user_id` would do now, in money first.
pub async fn preview(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    cutoff_days: i64,
    now: DateTime<Utc>,
) -> ApiResult<ErasurePreview> {
    let today = today_at_venue(now);
    let cancelled_seats = seats_to_cancel(db, user_id, now)
        .await?
        .into_iter()
        .map(|(b, s)| {
            let paid = b.status == BookingStatus::Confirmed;
            let refund = if paid {
                let due = refund_on_cancel(today, s.starts_on, cutoff_days, b.amount_cents);
                due.min(b.amount_cents - b.refunded_cents.unwrap_or(0))
                    .max(0)
            } else {
                0
            };
            CancelledSeat {
                booking_id: b.id,
                starts_on: s.starts_on,
                ends_on: s.ends_on,
                location: s.location,
                paid_cents: if paid { b.amount_cents } else { 0 },
                refund_cents: refund,
                currency: b.currency,
            }
        })
        .collect();
    Ok(ErasurePreview {
        cancelled_seats,
        waiting_lists: waiting(db, user_id).await?.len(),
        subscription_ends: !live_subscriptions(db, user_id).await?.is_empty(),
        kept: KEPT.map(str::to_owned).to_vec(),
    })
}

/// Erases `user_id`: ends what they have going, then anonymises them.
/// Erasing an account already erased does nothing more.
#[tracing::instrument(skip(desk, after))]
pub async fn erase(
    desk: &Desk<'_>,
    after: &(impl AfterCommit + ?Sized),
    user_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let db = desk.db;
    let user = users::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if user.erased_at.is_some() {
        return Ok(());
    }
    // An admin leaves the role first (through the rules of role changes:
    // never one's own, never against `ADMIN_EMAILS`).
    if user.role == Role::Admin {
        return Err(ApiError::conflict(
            common::ErrorCode::RoleNotChangeable,
            "an admin's account is erased once it is no longer admin",
        ));
    }
    // Signed out everywhere first: no request of theirs starts meanwhile.
    auth_sessions::Entity::delete_many()
        .filter(auth_sessions::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    // The person's own rules, as if they did each step themselves. The
    // calls those steps owe are made with the erasure's own, in one pass
    // after it: the customer's deletion comes after them.
    // What a failure leaves owed is made all the same.
    let gathered = owed::Gathered::default();
    let erased = async {
        for _ in 0..3 {
            end_what_they_have(desk, &gathered, &user, now).await?;
            if let Some(owed_calls) = anonymise_and_owe(db, &user, now).await? {
                return Ok(owed_calls);
            }
        }
        Err(ApiError::internal(
            "seats kept being taken during the erasure",
        ))
    }
    .await;
    let mut owed_calls = gathered.take();
    if let Ok(theirs) = &erased {
        owed_calls.extend(theirs.iter().copied());
    }
    after.owed(db, owed_calls, now).await;
    erased.map(drop)
}

/// Ends what `user` has going by their own rules: held seats and seats to
/// come cancelled, places in line left.
async fn end_what_they_have(
    desk: &Desk<'_>,
    after: &owed::Gathered,
    user: &users::Model,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let user_id = user.id;
    let owner = Actor {
        id: user_id,
        email: user.email.clone(),
        role: Role::User,
    };
    // A request that was already under way may still have taken a seat or
    // a place: each pass ends what it finds, until one finds nothing.
    for _ in 0..3 {
        let seats = seats_to_cancel(desk.db, user_id, now).await?;
        let places = waiting(desk.db, user_id).await?;
        if seats.is_empty() && places.is_empty() {
            break;
        }
        for (b, _) in seats {
            match desk::cancel(desk, after, &owner, b.id, false, now).await {
                // One that ended meanwhile (paid, lapsed) is no longer ours.
                Ok(_) | Err(ApiError::Client { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        for entry in places {
            desk::leave_waitlist(desk, after, &entry, WaitlistStatus::Left, now).await?;
        }
    }
    Ok(())
}

/// In one transaction: anonymises `user`, and owes what the gateway must
/// still do (the subscription's end, an open page's expiry, the
/// customer's deletion). Answers the calls owed, or nothing (and nothing
/// done) when a seat, a place or a page claim of theirs was taken since
/// it was looked for.
async fn anonymise_and_owe(
    db: &sea_orm::DatabaseConnection,
    user: &users::Model,
    now: DateTime<Utc>,
) -> ApiResult<Option<Vec<Uuid>>> {
    let user_id = user.id;
    let txn = db.begin().await?;
    // Writes first: the transaction holds the write lock before it reads
    // (SQLite cannot upgrade a reading transaction while another writes).
    // The page claim and the profile before the user's row: a request
    // that records a page or saves a profile takes them in that order too
    // (`opened`, `profiles::update`), so neither waits on the other in a
    // circle.
    let claims = subscription_checkouts::Entity::delete_many()
        .filter(subscription_checkouts::Column::UserId.eq(user_id))
        .exec_with_returning(&txn)
        .await?;
    user_profiles::Entity::delete_by_id(user_id)
        .exec(&txn)
        .await?;
    anonymise(&txn, user, now).await?;
    // A claim made since the first statement (its page may follow) is
    // read, not deleted: deleting it would wait on `opened`, which waits
    // on the user's row.
    let claimed_since = subscription_checkouts::Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .is_some();
    if claimed_since
        || !seats_to_cancel(&txn, user_id, now).await?.is_empty()
        || !waiting(&txn, user_id).await?.is_empty()
    {
        // Taken by a request already under way: ended, then again.
        txn.rollback().await?;
        return Ok(None);
    }
    let mut owed_calls = Vec::new();
    for sub in live_subscriptions(&txn, user_id).await? {
        owed_calls
            .extend(owed::owe_cancel_subscription(&txn, &sub.id, OwedReason::Erasure, now).await?);
    }
    // A subscription page still open would bill an account that is gone.
    for page in claims.into_iter().filter_map(|c| c.checkout_id) {
        owed_calls.extend(owed::owe_page_expiry(&txn, &page, OwedReason::Erasure, now).await?);
    }
    // Owed last, and made last: the provider acts no more for a customer
    // once deleted.
    for customer in customers(&txn, user_id).await? {
        owed_calls
            .extend(owed::owe_customer_deletion(&txn, &customer, OwedReason::Erasure, now).await?);
    }
    txn.commit().await?;
    Ok(Some(owed_calls))
}

/// Every personal field of `user` but the profile (deleted before it),
/// erased or anonymised, but what the law keeps (invoices, credit notes,
/// presence).
async fn anonymise(
    txn: &impl ConnectionTrait,
    user: &users::Model,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let id = user.id;
    let anon = erased_address(id);
    users::Entity::update_many()
        .col_expr(users::Column::Email, Expr::value(anon.clone()))
        // Not a hash: no password ever matches it.
        .col_expr(users::Column::PasswordHash, Expr::value("erased"))
        .col_expr(users::Column::EmailSkeleton, Expr::value(None::<String>))
        .col_expr(
            users::Column::EmailVerifiedAt,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(users::Column::Role, Expr::value(Role::User))
        .col_expr(users::Column::ErasedAt, Expr::value(now))
        .col_expr(users::Column::UpdatedAt, Expr::value(now))
        .filter(users::Column::Id.eq(id))
        .exec(txn)
        .await?;
    bookings::Entity::update_many()
        .col_expr(bookings::Column::UserEmail, Expr::value(anon.clone()))
        .col_expr(bookings::Column::ClientAddress, Expr::value(None::<String>))
        .filter(bookings::Column::UserId.eq(id))
        .exec(txn)
        .await?;
    waitlist_entries::Entity::update_many()
        .col_expr(
            waitlist_entries::Column::UserEmail,
            Expr::value(anon.clone()),
        )
        .filter(waitlist_entries::Column::UserId.eq(id))
        .exec(txn)
        .await?;
    auth_sessions::Entity::delete_many()
        .filter(auth_sessions::Column::UserId.eq(id))
        .exec(txn)
        .await?;
    account_tokens::Entity::delete_many()
        .filter(account_tokens::Column::UserId.eq(id))
        .exec(txn)
        .await?;
    idempotency_keys::Entity::delete_many()
        .filter(idempotency_keys::Column::UserId.eq(id))
        .exec(txn)
        .await?;
    // Mails to them, sent or not: what was said is theirs, not the law's.
    mail_outbox::Entity::delete_many()
        .filter(mail_outbox::Column::Recipient.eq(user.email.as_str()))
        .exec(txn)
        .await?;
    // Counters keyed by their address or account: the keys are read and
    // matched exactly here, never as a pattern (an address may hold `%`).
    let subjects = [
        user.email.clone(),
        user.email.to_lowercase(),
        id.to_string(),
    ];
    let counters: Vec<String> = throttle_hits::Entity::find()
        .all(txn)
        .await?
        .into_iter()
        .map(|h| h.key)
        .filter(|k| {
            k.split_once(':')
                .is_some_and(|(_, s)| subjects.iter().any(|x| x == s))
        })
        .collect();
    throttle_hits::Entity::delete_many()
        .filter(throttle_hits::Column::Key.is_in(counters))
        .exec(txn)
        .await?;
    // The events feed carries their bookings, places and subscription as
    // the API showed them, address included: rewritten with the anonymous
    // one.
    // Their subscription's events are about their account.
    let mut resources: Vec<Uuid> = vec![id];
    resources.extend(
        bookings::Entity::find()
            .filter(bookings::Column::UserId.eq(id))
            .all(txn)
            .await?
            .into_iter()
            .map(|b| b.id),
    );
    resources.extend(
        waitlist_entries::Entity::find()
            .filter(waitlist_entries::Column::UserId.eq(id))
            .all(txn)
            .await?
            .into_iter()
            .map(|e| e.id),
    );
    let ours = events::Entity::find()
        .filter(events::Column::ResourceId.is_in(resources))
        .all(txn)
        .await?;
    for e in ours {
        let Ok(mut data) = serde_json::from_str::<Value>(&e.data) else {
            continue;
        };
        replace_text(&mut data, &user.email, &anon);
        events::Entity::update_many()
            .col_expr(events::Column::Data, Expr::value(data.to_string()))
            .filter(events::Column::Ins.eq(e.ins))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// Every string of `v` equal to `from` becomes `to`.
fn replace_text(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) if s == from => *s = to.to_owned(),
        Value::Array(items) => items.iter_mut().for_each(|i| replace_text(i, from, to)),
        Value::Object(map) => map.values_mut().for_each(|i| replace_text(i, from, to)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_address_itself_is_replaced() {
        let mut v =
            serde_json::json!({"user_email": "a@b.fr", "list": ["a@b.fr", "xa@b.fr"], "n": 1});
        replace_text(&mut v, "a@b.fr", "erased@x.invalid");
        assert_eq!(
            v,
            serde_json::json!({"user_email": "erased@x.invalid", "list": ["erased@x.invalid", "xa@b.fr"], "n": 1})
        );
    }
}
