//! One open subscription checkout per user (invariant 16). A claim is
//! made in the database before the page is asked for; every request that
//! finds the claim sends the gateway the same idempotency key (its
//! `attempt`), so concurrent checkouts get one page, and a later one
//! answers that page while it can still be paid. A page that was paid
//! for a subscription we do not know to have ended (Stripe's events are
//! late, or lost until reconcile, or only the checkout's has come)
//! answers 409 `subscription_pending`: a second page would be a second
//! bill. A page that can no longer be paid (expired, cancelled, or paid
//! for a subscription since ended) gives way to a new claim.

use chrono::{DateTime, Utc};
use common::subscriptions::Plan;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    TransactionTrait,
};
use uuid::Uuid;

use crate::domain::billing::owed::{self, AfterCommit, OwedReason};
use crate::domain::platform::gateway::gateway_failed;
use crate::error::{ApiError, ApiResult};
use crate::payments::events::Payment;
use crate::payments::{CheckoutSession, GatewayError, PaymentGateway};
use common::ErrorCode;
use entity::subscription_checkouts::{self as claims, Column};

/// What a checkout request found.
pub(super) enum Claimed {
    /// A page that can still be paid: answer it.
    Open(CheckoutSession),
    /// Ask the gateway for the page of this claim, for its plan.
    Ask { attempt: Uuid, plan: Plan },
}

/// The user's claim: the open page, or the claim to ask a page for (made
/// now for `plan` when there is none, or when its page can no longer be
/// paid).
pub(super) async fn claim(
    db: &impl ConnectionTrait,
    gateway: &dyn PaymentGateway,
    user_id: Uuid,
    plan: Plan,
    now: DateTime<Utc>,
) -> ApiResult<Claimed> {
    claims::Entity::insert(claims::ActiveModel {
        user_id: Set(user_id),
        attempt: Set(Uuid::new_v4()),
        plan: Set(plan.as_str().to_owned()),
        checkout_id: Set(None),
        claimed_at: Set(now),
    })
    .on_conflict(OnConflict::column(Column::UserId).do_nothing().to_owned())
    .exec_without_returning(db)
    .await?;
    for _ in 0..3 {
        let found = claims::Entity::find_by_id(user_id)
            .one(db)
            .await?
            .ok_or_else(|| ApiError::internal("subscription checkout claim vanished"))?;
        let Some(page) = &found.checkout_id else {
            return Ok(Claimed::Ask {
                attempt: found.attempt,
                plan: Plan::parse(&found.plan)
                    .ok_or_else(|| ApiError::internal(format!("stored plan {:?}", found.plan)))?,
            });
        };
        match gateway.reopen_checkout(page).await {
            Ok(Some(open)) => return Ok(Claimed::Open(open)),
            Ok(None) if paid_not_ended(db, gateway, page).await? => {
                return Err(ApiError::conflict(
                    ErrorCode::SubscriptionPending,
                    "your subscription is paid and on its way: access opens when it arrives",
                ));
            }
            // Gone (expired, cancelled, paid and known, or forgotten): a
            // new claim, unless another request made one first (then read it).
            Ok(None) | Err(GatewayError::Refused(_)) => {
                claims::Entity::update_many()
                    .col_expr(Column::Attempt, Expr::value(Uuid::new_v4()))
                    .col_expr(Column::Plan, Expr::value(plan.as_str()))
                    .col_expr(Column::CheckoutId, Expr::value(Option::<String>::None))
                    .col_expr(Column::ClaimedAt, Expr::value(now))
                    .filter(Column::UserId.eq(user_id))
                    .filter(Column::Attempt.eq(found.attempt))
                    .exec(db)
                    .await?;
            }
            Err(e) => return Err(gateway_failed(e)),
        }
    }
    Err(ApiError::internal(
        "subscription checkout claim kept changing",
    ))
}

/// True when `page` was paid for a subscription we do not know to have
/// ended: not heard of yet, heard of by its checkout only (no status
/// yet), or still live (then a second page would be a second bill too).
async fn paid_not_ended(
    db: &impl ConnectionTrait,
    gateway: &dyn PaymentGateway,
    page: &str,
) -> ApiResult<bool> {
    let subscription = match gateway.checkout_session(page).await {
        Ok(Some(Payment::SubscriptionCheckout(paid))) => paid.subscription,
        Ok(_) | Err(GatewayError::Refused(_)) => None,
        Err(e) => return Err(gateway_failed(e)),
    };
    let Some(subscription) = subscription else {
        return Ok(false);
    };
    let known = entity::stripe_subscriptions::Entity::find_by_id(subscription)
        .one(db)
        .await?;
    Ok(!known.and_then(|s| s.status).is_some_and(|s| s.is_ended()))
}

/// Records the page the gateway made for `attempt`. An account erased
/// while the page was being made keeps no page and no customer: the
/// erasure could not see this page, so its expiry is owed here, then the
/// customer's deletion (again: a second owing of one deletion is one call).
pub(super) async fn opened(
    db: &DatabaseConnection,
    gateway: &dyn PaymentGateway,
    user_id: Uuid,
    attempt: Uuid,
    page: &CheckoutSession,
    customer_id: &str,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let txn = db.begin().await?;
    claims::Entity::update_many()
        .col_expr(Column::CheckoutId, Expr::value(page.id.as_str()))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::Attempt.eq(attempt))
        .exec(&txn)
        .await?;
    if !crate::domain::accounts::standing::erased_locked(&txn, user_id).await? {
        txn.commit().await?;
        return Ok(());
    }
    claims::Entity::delete_by_id(user_id).exec(&txn).await?;
    let mut owed_calls = Vec::new();
    owed_calls.extend(owed::owe_page_expiry(&txn, &page.id, OwedReason::Erasure, now).await?);
    owed_calls
        .extend(owed::owe_customer_deletion(&txn, customer_id, OwedReason::Erasure, now).await?);
    txn.commit().await?;
    gateway.owed(db, owed_calls, now).await;
    Err(crate::domain::accounts::standing::account_erased())
}
