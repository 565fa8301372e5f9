//! Payments that claimed to be ours and did not match what was sold, and
//! subscriptions on prices we do not sell: recorded in the transaction
//! that declines them, listed for admins, reported by the audit.

use chrono::{DateTime, Utc};
use common::payments::OwedCallStatus;
use common::payments::{AnomalyDto, AnomalyKind, AnomalyRefund};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use entity::owed_gateway_calls as owed;
use entity::payment_anomalies::{self as anomalies, Column};

/// One anomaly, as the domain found it.
#[derive(Debug, Clone)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    pub event_id: String,
    pub booking_id: Option<Uuid>,
    pub checkout_session_id: Option<String>,
    pub payment_intent_id: Option<String>,
    pub subscription_id: Option<String>,
    pub amount_cents: Option<i64>,
    pub currency: Option<String>,
    pub detail: String,
    pub refund_call_id: Option<Uuid>,
}

/// Records `a`, unless the same payment (or subscription) was already
/// recorded for the same reason: a redelivery or a reconciliation of it
/// is one anomaly. True when this call recorded it.
pub async fn record(
    db: &impl ConnectionTrait,
    a: Anomaly,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut same = anomalies::Entity::find().filter(Column::Kind.eq(a.kind.as_str()));
    same = match (
        &a.payment_intent_id,
        &a.subscription_id,
        &a.checkout_session_id,
    ) {
        (Some(pi), _, _) => same.filter(Column::PaymentIntentId.eq(pi.as_str())),
        (None, Some(sub), _) => same.filter(Column::SubscriptionId.eq(sub.as_str())),
        (None, None, Some(cs)) => same.filter(Column::CheckoutSessionId.eq(cs.as_str())),
        (None, None, None) => same.filter(Column::EventId.eq(a.event_id.as_str())),
    };
    if same.one(db).await?.is_some() {
        return Ok(false);
    }
    tracing::warn!(kind = a.kind.as_str(), event = %a.event_id, detail = %a.detail, "payment anomaly");
    anomalies::Entity::insert(anomalies::ActiveModel {
        id: Set(Uuid::new_v4()),
        kind: Set(a.kind),
        event_id: Set(a.event_id),
        booking_id: Set(a.booking_id),
        checkout_session_id: Set(a.checkout_session_id),
        payment_intent_id: Set(a.payment_intent_id),
        subscription_id: Set(a.subscription_id),
        amount_cents: Set(a.amount_cents),
        currency: Set(a.currency),
        detail: Set(a.detail),
        refund_call_id: Set(a.refund_call_id),
        created_at: Set(now),
        acknowledged_at: Set(None),
        acknowledged_by: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(true)
}

/// An admin has looked at it: the audit stops reporting it. False when
/// there is no such anomaly.
pub async fn acknowledge(
    db: &impl ConnectionTrait,
    id: Uuid,
    admin: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<AnomalyDto>, DbErr> {
    use sea_orm::sea_query::Expr;
    anomalies::Entity::update_many()
        .col_expr(Column::AcknowledgedAt, Expr::value(now))
        .col_expr(Column::AcknowledgedBy, Expr::value(admin))
        .filter(Column::Id.eq(id))
        .filter(Column::AcknowledgedAt.is_null())
        .exec(db)
        .await?;
    let Some(row) = anomalies::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    Ok(to_dtos(db, vec![row]).await?.pop())
}

/// The anomalies no admin has acknowledged yet (the audit reports them).
pub async fn unacknowledged(db: &impl ConnectionTrait) -> Result<Vec<AnomalyDto>, DbErr> {
    let rows = anomalies::Entity::find()
        .filter(Column::AcknowledgedAt.is_null())
        .order_by_asc(Column::CreatedAt)
        .all(db)
        .await?;
    to_dtos(db, rows).await
}

/// How many anomalies the admin list reads (newest first): an account
/// with more has a problem no list will solve.
pub const LIST_CAP: u64 = 10_000;

/// The newest first, at most `limit`.
pub async fn list(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<AnomalyDto>, DbErr> {
    let rows = anomalies::Entity::find()
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    to_dtos(db, rows).await
}

async fn to_dtos(
    db: &impl ConnectionTrait,
    rows: Vec<anomalies::Model>,
) -> Result<Vec<AnomalyDto>, DbErr> {
    let call_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.refund_call_id).collect();
    let calls = owed::Entity::find()
        .filter(owed::Column::Id.is_in(call_ids))
        .all(db)
        .await?;
    rows.into_iter()
        .map(|r| {
            let refund = match r.refund_call_id {
                None => AnomalyRefund::None,
                Some(id) => match calls.iter().find(|c| c.id == id) {
                    Some(c) if c.status == OwedCallStatus::Done => AnomalyRefund::Refunded,
                    Some(c) if c.status == OwedCallStatus::Failed => AnomalyRefund::Failed,
                    _ => AnomalyRefund::Owed,
                },
            };
            let kind = r.kind;
            Ok(AnomalyDto {
                id: r.id,
                kind,
                event_id: r.event_id,
                booking_id: r.booking_id,
                checkout_session_id: r.checkout_session_id,
                payment_intent_id: r.payment_intent_id,
                subscription_id: r.subscription_id,
                amount_cents: r.amount_cents,
                currency: r.currency,
                detail: r.detail,
                refund,
                created_at: r.created_at,
                acknowledged_at: r.acknowledged_at,
            })
        })
        .collect()
}
