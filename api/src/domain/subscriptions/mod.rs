//! Members' subscriptions: Stripe events folded into per-subscription
//! records (`sync`), the user's `subscription_status` recomputed from them
//! in the same transaction, the access check every guard uses, the expiry
//! sweep, and the admin's view.

mod checkouts;
pub mod resources;
pub mod second;
mod sync;
#[cfg(test)]
mod sync_tests;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::auth::Role;
use common::events::EventType;
use common::subscriptions::{
    Access, AccessDto, Plan, PlanPriceDto, StripeStatus, SubscriptionType, decide_access,
};
use sea_orm::ExprTrait;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use uuid::Uuid;

use crate::config::{Policy, Prices};
use crate::domain::billing::anomalies::{self, Anomaly};
use crate::domain::billing::applied::Applied;
use crate::domain::platform::events;
use crate::error::ApiResult;
use crate::payments::PaymentGateway;
use crate::payments::events::{
    InvoiceOutcome, PaymentEvent, SubscriptionChange, SubscriptionCheckout,
};
use crate::payments::price_book::PriceBook;
use common::payments::AnomalyKind;
use entity::{stripe_subscriptions as records, subscription_status as status, users};
use sync::{EventKey, SubEvent, SubRecord};

fn ts(secs: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(secs, 0).single()
}

/// Who an event is about, as far as it says.
#[derive(Debug, Default)]
struct Hints {
    user_id: Option<Uuid>,
    subscription_id: Option<String>,
    customer_id: Option<String>,
    email: Option<String>,
}

/// The subscription flow: `metadata.user_id`, else the stored subscription or
/// customer, else the customer's e-mail.
async fn find_user(db: &impl ConnectionTrait, h: &Hints) -> Result<Option<Uuid>, DbErr> {
    if let Some(id) = h.user_id
        && users::Entity::find_by_id(id).one(db).await?.is_some()
    {
        return Ok(Some(id));
    }
    if let Some(sub) = &h.subscription_id
        && let Some(r) = records::Entity::find_by_id(sub.clone()).one(db).await?
    {
        return Ok(Some(r.user_id));
    }
    if let Some(customer) = &h.customer_id {
        if let Some(s) = status::Entity::find()
            .filter(status::Column::StripeCustomerId.eq(customer.as_str()))
            .one(db)
            .await?
        {
            return Ok(Some(s.user_id));
        }
        if let Some(r) = records::Entity::find()
            .filter(records::Column::CustomerId.eq(customer.as_str()))
            .one(db)
            .await?
        {
            return Ok(Some(r.user_id));
        }
    }
    // Only a verified address: anyone can register an unverified one.
    if let Some(email) = h.email.as_deref().and_then(crate::email::Email::parse)
        && let Some(u) = users::Entity::find()
            .filter(users::Column::Email.eq(email.as_str()))
            .filter(users::Column::EmailVerifiedAt.is_not_null())
            .one(db)
            .await?
    {
        return Ok(Some(u.id));
    }
    Ok(None)
}

/// Makes sure the user's status row exists and locks it for this
/// transaction (a write takes the row lock on PostgreSQL and the database
/// lock on SQLite), so concurrent events for one user apply one by one.
async fn lock_status(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    status::Entity::insert(status::ActiveModel {
        user_id: Set(user_id),
        is_active: Set(false),
        subscription_type: Set(SubscriptionType::Free),
        stripe_customer_id: Set(None),
        stripe_subscription_id: Set(None),
        stripe_status: Set(None),
        current_period_end: Set(None),
        cancel_at_period_end: Set(false),
        last_event_at: Set(None),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(status::Column::UserId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    status::Entity::update_many()
        .col_expr(status::Column::UpdatedAt, Expr::value(now))
        .filter(status::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

fn to_record(m: records::Model) -> SubRecord {
    SubRecord {
        subscription_id: m.id,
        customer_id: m.customer_id,
        status: m.status,
        plan: m.plan,
        cancel_at_period_end: m.cancel_at_period_end,
        subscription_key: m.subscription_key.as_deref().map(EventKey::parse),
        current_period_end: m.current_period_end,
        period_key: m.period_key.as_deref().map(EventKey::parse),
        payment_failed: m.payment_failed,
        payment_key: m.payment_key.as_deref().map(EventKey::parse),
    }
}

async fn save_record(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    r: &SubRecord,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use records::Column as C;
    records::Entity::insert(records::ActiveModel {
        id: Set(r.subscription_id.clone()),
        user_id: Set(user_id),
        customer_id: Set(r.customer_id.clone()),
        status: Set(r.status.clone()),
        plan: Set(r.plan),
        cancel_at_period_end: Set(r.cancel_at_period_end),
        subscription_key: Set(r.subscription_key.as_ref().map(|k| k.as_str().to_owned())),
        current_period_end: Set(r.current_period_end),
        period_key: Set(r.period_key.as_ref().map(|k| k.as_str().to_owned())),
        payment_failed: Set(r.payment_failed),
        payment_key: Set(r.payment_key.as_ref().map(|k| k.as_str().to_owned())),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(C::Id)
            .update_columns([
                C::CustomerId,
                C::Status,
                C::Plan,
                C::CancelAtPeriodEnd,
                C::SubscriptionKey,
                C::CurrentPeriodEnd,
                C::PeriodKey,
                C::PaymentFailed,
                C::PaymentKey,
                C::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Recomputes the user's `subscription_status` from their records.
async fn project(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    event_at: Option<DateTime<Utc>>,
    grace: Duration,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    // One we asked the provider to cancel is gone already (invariant 16).
    let rows: Vec<SubRecord> = second::counted(db, records::Column::UserId.eq(user_id))
        .await?
        .into_iter()
        .map(to_record)
        .collect();
    let current = sync::current(&rows);
    // `current` never picks a live subscription without a plan (a price we
    // do not sell): such a one gives no access.
    let status = current.and_then(SubRecord::effective_status);
    let period_end = current.and_then(|c| c.current_period_end);
    // `is_active` is the subscription's own verdict; admins are let in by
    // the access check, not by this column.
    let access = decide_access(Role::User, status.as_ref(), period_end, grace, now);
    let ended = status.as_ref().is_some_and(StripeStatus::is_ended);
    let mut update = status::Entity::update_many()
        .col_expr(status::Column::IsActive, Expr::value(access.active))
        .col_expr(
            status::Column::SubscriptionType,
            Expr::value(
                current
                    .map_or(SubscriptionType::Free, SubRecord::subscription_type)
                    .as_str(),
            ),
        )
        .col_expr(
            status::Column::StripeSubscriptionId,
            Expr::value(
                current
                    .filter(|_| !ended)
                    .map(|c| c.subscription_id.clone()),
            ),
        )
        .col_expr(status::Column::StripeStatus, Expr::value(status))
        .col_expr(status::Column::CurrentPeriodEnd, Expr::value(period_end))
        .col_expr(
            status::Column::CancelAtPeriodEnd,
            Expr::value(current.is_some_and(|c| c.cancel_at_period_end)),
        )
        .col_expr(status::Column::UpdatedAt, Expr::value(now));
    if let Some(customer) = current.and_then(|c| c.customer_id.clone()) {
        update = update.col_expr(status::Column::StripeCustomerId, Expr::value(customer));
    }
    let before = status::Entity::find_by_id(user_id).one(db).await?;
    let previous = before.as_ref().and_then(|r| r.last_event_at);
    if let Some(latest) = event_at.into_iter().chain(previous).max() {
        update = update.col_expr(status::Column::LastEventAt, Expr::value(latest));
    }
    update
        .filter(status::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    announce(db, before.as_ref(), user_id, now).await
}

fn key_of(event: &PaymentEvent) -> EventKey {
    EventKey::new(event.created, event.rank(), &event.id)
}

/// Folds one event into its subscription's record, refuses a second
/// subscription (`second`; `paid`: the event's own paid invoice) and
/// recomputes the user's status, in the event's transaction.
async fn fold(
    txn: &DatabaseTransaction,
    policy: &Policy,
    event: &PaymentEvent,
    (hints, paid): (Hints, Option<second::PaidInvoice<'_>>),
    sub_event: SubEvent,
    now: DateTime<Utc>,
) -> ApiResult<Applied> {
    let Some(user_id) = find_user(txn, &hints).await? else {
        tracing::warn!(event = %event.id, "subscription event for no known user");
        return Ok(Applied::outcome("unknown_user"));
    };
    lock_status(txn, user_id, now).await?;
    let sub_id = hints.subscription_id.clone().unwrap_or_default();
    let record = records::Entity::find_by_id(sub_id.clone())
        .one(txn)
        .await?
        .map_or_else(|| SubRecord::new(&sub_id), to_record);
    let next = sync::apply(record.clone(), &sub_event);
    let changed = next != record;
    save_record(txn, user_id, &next, now).await?;
    let owed = second::refuse_second(txn, &sub_id, paid, &event.id, now).await?;
    project(txn, user_id, ts(event.created), policy.past_due_grace, now).await?;
    Ok(Applied {
        outcome: (if changed { "applied" } else { "stale" }).to_owned(),
        owed,
    })
}

/// `customer.subscription.*`: access only on a price we sell
/// (invariant 9); another price is folded without a plan, which gives no
/// access, and recorded as an anomaly.
pub async fn apply_change(
    txn: &DatabaseTransaction,
    policy: &Policy,
    event: &PaymentEvent,
    change: &SubscriptionChange,
    now: DateTime<Utc>,
) -> ApiResult<Applied> {
    let plan = policy.prices.plan_of(change.price_id.as_deref());
    let hints = Hints {
        user_id: change.user_id,
        subscription_id: Some(change.subscription_id.clone()),
        customer_id: change.customer.clone(),
        email: None,
    };
    let sub_event = SubEvent::Subscription {
        key: key_of(event),
        customer_id: change.customer.clone(),
        status: change.status.clone(),
        plan,
        current_period_end: change.current_period_end,
        cancel_at_period_end: change.cancel_at_period_end,
    };
    let applied = fold(txn, policy, event, (hints, None), sub_event, now).await?;
    // Not one of our users: another product's subscription, not ours to judge.
    if plan.is_none() && !change.status.is_ended() && applied.outcome != "unknown_user" {
        let recorded = anomalies::record(
            txn,
            Anomaly {
                kind: AnomalyKind::UnknownPrice,
                event_id: event.id.clone(),
                booking_id: None,
                checkout_session_id: None,
                payment_intent_id: None,
                subscription_id: Some(change.subscription_id.clone()),
                amount_cents: None,
                currency: None,
                detail: format!(
                    "subscription {} is on price {:?}, which is neither plan: no access",
                    change.subscription_id, change.price_id
                ),
                refund_call_id: None,
            },
            now,
        )
        .await?;
        let outcome = if recorded {
            "anomaly_unknown_price"
        } else {
            "stale"
        };
        return Ok(Applied {
            outcome: outcome.to_owned(),
            owed: applied.owed,
        });
    }
    Ok(applied)
}

/// When what Stripe says of a subscription now differs from our record of
/// it, the version of our record it differs from (its last event key, or
/// `new`); None when they agree (reconciliation folds only what differs).
pub async fn differs(
    db: &impl ConnectionTrait,
    policy: &Policy,
    change: &SubscriptionChange,
) -> Result<Option<String>, DbErr> {
    let Some(r) = records::Entity::find_by_id(change.subscription_id.clone())
        .one(db)
        .await?
        .map(to_record)
    else {
        return Ok(Some("new".to_owned()));
    };
    let differs = r.status.as_ref() != Some(&change.status)
        || r.plan != policy.prices.plan_of(change.price_id.as_deref())
        || r.cancel_at_period_end != change.cancel_at_period_end
        || (change.current_period_end.is_some()
            && r.current_period_end != change.current_period_end);
    Ok(differs.then(|| {
        r.subscription_key
            .as_ref()
            .map_or("none", EventKey::as_str)
            .replace('.', "-")
    }))
}

/// The Stripe customers we know, for reconciliation.
pub async fn known_customers(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    let records = records::Entity::find()
        .filter(records::Column::CustomerId.is_not_null())
        .all(db)
        .await?;
    // A customer deleted at the provider has nothing left to ask about,
    // once none of its subscriptions is live here (their end, cancelled
    // just before the deletion, may still be on its way).
    let live: std::collections::HashSet<&str> = records
        .iter()
        .filter(|r| r.status.as_ref().is_none_or(|s| !s.is_ended()))
        .filter_map(|r| r.customer_id.as_deref())
        .collect();
    let deleted = crate::domain::billing::owed::deleted_customers(db).await?;
    let mut customers: Vec<String> = status::Entity::find()
        .filter(status::Column::StripeCustomerId.is_not_null())
        .all(db)
        .await?
        .into_iter()
        .filter_map(|s| s.stripe_customer_id)
        .chain(records.iter().filter_map(|r| r.customer_id.clone()))
        .filter(|c| !deleted.contains(c) || live.contains(c.as_str()))
        .collect();
    customers.sort();
    customers.dedup();
    Ok(customers)
}

/// `invoice.payment_succeeded|paid|payment_failed` of a subscription.
pub async fn apply_invoice(
    txn: &DatabaseTransaction,
    policy: &Policy,
    event: &PaymentEvent,
    invoice: &InvoiceOutcome,
    now: DateTime<Utc>,
) -> ApiResult<Applied> {
    let hints = Hints {
        user_id: invoice.user_id,
        subscription_id: Some(invoice.subscription_id.clone()),
        customer_id: invoice.customer.clone(),
        email: invoice.customer_email.clone(),
    };
    let sub_event = SubEvent::Invoice {
        key: key_of(event),
        customer_id: invoice.customer.clone(),
        paid: invoice.paid,
        period_end: invoice.period_end,
    };
    let paid = invoice.paid.then(|| second::PaidInvoice {
        id: &invoice.document.id,
        amount_cents: invoice.document.amount_paid,
        currency: &invoice.document.currency,
    });
    fold(txn, policy, event, (hints, paid), sub_event, now).await
}

/// `checkout.session.completed` in subscription mode: ties the customer
/// (and the subscription, when named) to the user before other events
/// arrive without metadata.
pub async fn link_checkout(
    txn: &DatabaseTransaction,
    link: &SubscriptionCheckout,
    now: DateTime<Utc>,
) -> ApiResult<Applied> {
    let hints = Hints {
        user_id: link.user_id,
        subscription_id: None,
        customer_id: link.customer.clone(),
        email: None,
    };
    let Some(user_id) = find_user(txn, &hints).await? else {
        return Ok(Applied::outcome("unknown_user"));
    };
    lock_status(txn, user_id, now).await?;
    if let Some(customer) = &link.customer {
        status::Entity::update_many()
            .col_expr(
                status::Column::StripeCustomerId,
                Expr::value(customer.clone()),
            )
            .filter(status::Column::UserId.eq(user_id))
            .filter(status::Column::StripeCustomerId.is_null())
            .exec(txn)
            .await?;
    }
    if let Some(sub) = &link.subscription
        && records::Entity::find_by_id(sub.clone())
            .one(txn)
            .await?
            .is_none()
    {
        let mut r = SubRecord::new(sub);
        r.customer_id.clone_from(&link.customer);
        save_record(txn, user_id, &r, now).await?;
    }
    Ok(Applied::outcome("linked"))
}

/// The access check (invariant 6), for `GET /api/me/access` and the
/// members' gate. A period found ended also turns `is_active` off, as the
/// seed's client check did.
pub async fn access_of(
    db: &DatabaseConnection,
    user_id: Uuid,
    role: Role,
    grace: Duration,
    now: DateTime<Utc>,
) -> ApiResult<(Access, AccessDto)> {
    let row = status::Entity::find_by_id(user_id).one(db).await?;
    let access = decide_access(
        role,
        row.as_ref().and_then(|r| r.stripe_status.as_ref()),
        row.as_ref().and_then(|r| r.current_period_end),
        grace,
        now,
    );
    if let Some(r) = &row {
        let own = decide_access(
            Role::User,
            r.stripe_status.as_ref(),
            r.current_period_end,
            grace,
            now,
        );
        if r.is_active && !own.active {
            // Ended now: said to third parties in the same transaction.
            let txn = db.begin().await?;
            let done = status::Entity::update_many()
                .col_expr(status::Column::IsActive, Expr::value(false))
                .col_expr(status::Column::UpdatedAt, Expr::value(now))
                .filter(status::Column::UserId.eq(user_id))
                .filter(status::Column::IsActive.eq(true))
                .exec(&txn)
                .await?;
            if done.rows_affected == 1 {
                announce(&txn, Some(r), user_id, now).await?;
            }
            txn.commit().await?;
        }
    }
    let dto = AccessDto {
        active: access.active,
        reason: access.reason,
        subscription_type: row
            .as_ref()
            .map_or(SubscriptionType::Free, |r| r.subscription_type),
        current_period_end: row.as_ref().and_then(|r| r.current_period_end),
        cancel_at_period_end: row.as_ref().is_some_and(|r| r.cancel_at_period_end),
    };
    Ok((access, dto))
}

/// The seed's `check_and_deactivate_expired_subscriptions`: turns off
/// `is_active` where the paid period is over (past-due ones after the
/// grace). One conditional statement each: idempotent, and safe when
/// several instances run it at once.
pub async fn deactivate_expired(
    db: &DatabaseConnection,
    grace: Duration,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let over = || {
        sea_orm::Condition::any()
            .add(
                status::Column::CurrentPeriodEnd
                    .lte(now)
                    .and(status::Column::StripeStatus.ne(StripeStatus::PastDue)),
            )
            .add(
                status::Column::CurrentPeriodEnd
                    .lte(now - grace)
                    .and(status::Column::StripeStatus.eq(StripeStatus::PastDue)),
            )
    };
    let due = status::Entity::find()
        .filter(status::Column::IsActive.eq(true))
        .filter(over())
        .all(db)
        .await?;
    let mut ended = 0;
    for row in due {
        // Each in its own transaction, with its event; conditional, so an
        // instance running it at the same time ends it once.
        let txn = db.begin().await?;
        let done = status::Entity::update_many()
            .col_expr(status::Column::IsActive, Expr::value(false))
            .col_expr(status::Column::UpdatedAt, Expr::value(now))
            .filter(status::Column::UserId.eq(row.user_id))
            .filter(status::Column::IsActive.eq(true))
            .filter(over())
            .exec(&txn)
            .await?;
        if done.rows_affected == 1 {
            announce(&txn, Some(&row), row.user_id, now).await?;
            ended += 1;
        }
        txn.commit().await?;
    }
    Ok(ended)
}

/// The subscription flow: a subscription Checkout Session for `plan`, on the user's
/// Stripe customer (created once, with metadata `user_id`).
/// The Checkout return URLs are under the policy's public URL.
#[tracing::instrument(skip(db, gateway, policy, user), fields(user = %user.id))]
pub async fn subscribe(
    db: &sea_orm::DatabaseConnection,
    gateway: &dyn crate::payments::PaymentGateway,
    policy: &Policy,
    user: &crate::domain::platform::actor::Actor,
    plan: common::subscriptions::Plan,
    now: DateTime<Utc>,
) -> ApiResult<common::subscriptions::RedirectDto> {
    use crate::error::ApiError;
    use common::ErrorCode;
    crate::domain::accounts::profiles::require_names(db, user.id).await?;
    let (own, _) = access_of(db, user.id, Role::User, policy.past_due_grace, now).await?;
    if own.active {
        return Err(ApiError::conflict(
            ErrorCode::SubscriptionActive,
            "a subscription is already active: manage it from the customer portal",
        ));
    }
    let customer_id = match status::Entity::find_by_id(user.id)
        .one(db)
        .await?
        .and_then(|s| s.stripe_customer_id)
    {
        Some(c) => c,
        None => {
            let created = gateway
                .create_customer(user.id, &user.email)
                .await
                .map_err(crate::domain::platform::gateway::gateway_failed)?;
            keep_customer(db, gateway, user.id, created, now).await?
        }
    };
    // Invariant 16: a second checkout answers the open one.
    let (attempt, plan) = match checkouts::claim(db, gateway, user.id, plan, now).await? {
        checkouts::Claimed::Open(page) => {
            return Ok(common::subscriptions::RedirectDto { url: page.url });
        }
        checkouts::Claimed::Ask { attempt, plan } => (attempt, plan),
    };
    let price_id = policy.prices.of(plan).unwrap_or_default().to_owned();
    let public = &policy.public_url;
    let checkout = gateway
        .create_subscription_checkout(&crate::payments::SubscriptionCheckoutRequest {
            attempt,
            user_id: user.id,
            customer_id: customer_id.clone(),
            plan,
            price_id,
            success_url: format!("{public}/abonnement/merci"),
            cancel_url: format!("{public}/abonnement"),
        })
        .await
        .map_err(crate::domain::platform::gateway::gateway_failed)?;
    checkouts::opened(db, gateway, user.id, attempt, &checkout, &customer_id, now).await?;
    Ok(common::subscriptions::RedirectDto { url: checkout.url })
}

/// Stores the customer just made for `user_id`, or answers the one a
/// concurrent request stored first. An account erased while the customer
/// was being made keeps none: the erasure could not see it, so its
/// deletion is owed here.
async fn keep_customer(
    db: &DatabaseConnection,
    gateway: &dyn PaymentGateway,
    user_id: Uuid,
    created: String,
    now: DateTime<Utc>,
) -> ApiResult<String> {
    use crate::domain::billing::owed::{self, AfterCommit, OwedReason};
    let txn = db.begin().await?;
    lock_status(&txn, user_id, now).await?;
    if crate::domain::accounts::standing::erased_locked(&txn, user_id).await? {
        let owed_calls =
            owed::owe_customer_deletion(&txn, &created, OwedReason::Erasure, now).await?;
        txn.commit().await?;
        gateway
            .owed(db, owed_calls.into_iter().collect(), now)
            .await;
        return Err(crate::domain::accounts::standing::account_erased());
    }
    status::Entity::update_many()
        .col_expr(status::Column::StripeCustomerId, Expr::value(created))
        .filter(status::Column::UserId.eq(user_id))
        .filter(status::Column::StripeCustomerId.is_null())
        .exec(&txn)
        .await?;
    let kept = status::Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .and_then(|s| s.stripe_customer_id)
        .ok_or_else(|| crate::error::ApiError::internal("stored customer vanished"))?;
    txn.commit().await?;
    Ok(kept)
}

/// The Customer Portal for the user's Stripe customer.
#[tracing::instrument(skip(db, gateway, user), fields(user = %user.id))]
pub async fn portal(
    db: &impl ConnectionTrait,
    gateway: &dyn crate::payments::PaymentGateway,
    public_url: &str,
    user: &crate::domain::platform::actor::Actor,
) -> ApiResult<common::subscriptions::RedirectDto> {
    let customer = status::Entity::find_by_id(user.id)
        .one(db)
        .await?
        .and_then(|s| s.stripe_customer_id)
        .ok_or_else(|| {
            crate::error::ApiError::conflict(
                common::ErrorCode::NoSubscription,
                "there is no subscription to manage yet",
            )
        })?;
    let return_url = format!("{public_url}/mon-compte");
    let url = gateway
        .create_portal_session(&customer, &return_url)
        .await
        .map_err(crate::domain::platform::gateway::gateway_failed)?;
    Ok(common::subscriptions::RedirectDto { url })
}

/// A customer's current subscription record (the one the others lost to),
/// with its user's e-mail; for the local gateway's portal.
pub async fn current_of_customer(
    db: &impl ConnectionTrait,
    customer_id: &str,
) -> Result<Option<(records::Model, String)>, DbErr> {
    let rows = second::counted(db, records::Column::CustomerId.eq(customer_id)).await?;
    let current = {
        let listed: Vec<SubRecord> = rows
            .iter()
            .map(|m| SubRecord {
                subscription_id: m.id.clone(),
                status: m.status.clone(),
                plan: m.plan,
                subscription_key: m.subscription_key.as_deref().map(EventKey::parse),
                ..SubRecord::default()
            })
            .collect();
        sync::current(&listed).map(|r| r.subscription_id.clone())
    };
    let Some(m) = rows.into_iter().find(|m| Some(&m.id) == current.as_ref()) else {
        return Ok(None);
    };
    let email = crate::domain::accounts::users::email_of(db, m.user_id)
        .await?
        .unwrap_or_default();
    Ok(Some((m, email)))
}

/// Every user with their subscription state, for admins; `active` filters.
/// A subscriber as the API shows them.
fn subscriber_dto(
    u: users::Model,
    s: Option<&status::Model>,
) -> common::subscriptions::SubscriberDto {
    common::subscriptions::SubscriberDto {
        user_id: u.id,
        email: u.email,
        role: u.role,
        email_verified: u.email_verified_at.is_some(),
        is_active: s.is_some_and(|s| s.is_active),
        subscription_type: s.map_or(SubscriptionType::Free, |s| s.subscription_type),
        stripe_status: s
            .and_then(|s| s.stripe_status.as_ref())
            .map(|s| s.as_str().to_owned()),
        current_period_end: s.and_then(|s| s.current_period_end),
        cancel_at_period_end: s.is_some_and(|s| s.cancel_at_period_end),
        stripe_customer_id: s.and_then(|s| s.stripe_customer_id.clone()),
        stripe_subscription_id: s.and_then(|s| s.stripe_subscription_id.clone()),
        last_event_at: s.and_then(|s| s.last_event_at),
    }
}

/// Records what a change of a user's subscription state means to a third
/// party: access given (`subscription.activated`), withdrawn
/// (`subscription.ended`), or another change of the subscription
/// (`subscription.updated`), with the subscriber as the API shows them.
/// Nothing when nothing a reader sees changed.
async fn announce(
    db: &impl ConnectionTrait,
    before: Option<&status::Model>,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let after = status::Entity::find_by_id(user_id).one(db).await?;
    let seen = |s: Option<&status::Model>| {
        s.map(|s| {
            (
                s.is_active,
                s.subscription_type,
                s.stripe_status.clone(),
                s.current_period_end,
                s.cancel_at_period_end,
                s.stripe_subscription_id.clone(),
            )
        })
    };
    if seen(before) == seen(after.as_ref()) {
        return Ok(());
    }
    let was = before.is_some_and(|s| s.is_active);
    let is = after.as_ref().is_some_and(|s| s.is_active);
    let event_type = match (was, is) {
        (false, true) => EventType::SubscriptionActivated,
        (true, false) => EventType::SubscriptionEnded,
        _ => EventType::SubscriptionUpdated,
    };
    let Some(user) = users::Entity::find_by_id(user_id).one(db).await? else {
        return Ok(());
    };
    let dto = subscriber_dto(user, after.as_ref());
    events::record(db, event_type, user_id, &dto, now).await
}

pub async fn subscribers(
    db: &impl ConnectionTrait,
    active: Option<bool>,
) -> ApiResult<Vec<common::subscriptions::SubscriberDto>> {
    let rows = users::Entity::find()
        .find_also_related(status::Entity)
        .order_by_asc(users::Column::Email)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(u, s)| subscriber_dto(u, s.as_ref()))
        .filter(|d| active.is_none_or(|a| d.is_active == a))
        .collect())
}

/// The plans on sale and their prices, as the gateway states them (read
/// through the price book: at most one provider call per price an hour).
pub async fn plans(
    gateway: &dyn PaymentGateway,
    book: &PriceBook,
    prices: &Prices,
    now: DateTime<Utc>,
) -> ApiResult<Vec<PlanPriceDto>> {
    let mut plans = Vec::new();
    for plan in Plan::ALL {
        let Some(price_id) = prices.of(plan) else {
            continue;
        };
        let price = book
            .price(gateway, price_id, now)
            .await
            .map_err(crate::domain::platform::gateway::gateway_failed)?;
        plans.push(PlanPriceDto {
            plan,
            amount_cents: price.amount_cents,
            currency: price.currency,
            interval: price.interval,
        });
    }
    Ok(plans)
}
