//! What the gateway says went back, per payment intent (invariant 15).
//! Stripe does not order its events: a refund made in the Dashboard may
//! reach us before the payment it gives back, and partial refunds in any
//! order. Each `charge.refunded` leaves its figure here as a high-water
//! mark; one seen before its payment wins when the payment arrives, and
//! the audit checks every booking's total against it.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, SimpleExpr};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use entity::gateway_refunds::{self as marks, Column};

/// `column` raised to `amount` when below it (or unset): a refund total
/// never goes down, whatever order its events come in.
pub fn high_water(column: impl Into<SimpleExpr>, amount: i64) -> SimpleExpr {
    let column = column.into();
    Expr::case(
        column.clone().is_null().or(column.clone().lt(amount)),
        amount,
    )
    .finally(column)
    .into()
}

/// Records what the gateway says went back of `payment_intent`, and
/// answers the row as it stands after (it stays locked until the commit:
/// recording nothing, `0`, is how a payment reads it under lock).
pub async fn remember(
    db: &impl ConnectionTrait,
    payment_intent: &str,
    amount_refunded: i64,
    whole: bool,
    now: DateTime<Utc>,
) -> Result<marks::Model, DbErr> {
    marks::Entity::insert(marks::ActiveModel {
        payment_intent: Set(payment_intent.to_owned()),
        amount_refunded: Set(amount_refunded),
        whole: Set(whole),
        seen_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(Column::PaymentIntent)
            .value(
                Column::AmountRefunded,
                high_water(
                    Expr::col((marks::Entity, Column::AmountRefunded)),
                    amount_refunded,
                ),
            )
            .value(
                Column::Whole,
                Expr::col((marks::Entity, Column::Whole)).or(Expr::value(whole)),
            )
            .to_owned(),
    )
    .exec_with_returning(db)
    .await
}

/// What the gateway said went back of `payment_intent`, if anything.
pub async fn of(
    db: &impl ConnectionTrait,
    payment_intent: &str,
) -> Result<Option<marks::Model>, DbErr> {
    marks::Entity::find_by_id(payment_intent.to_owned())
        .one(db)
        .await
}

/// Every payment intent with money gone back (for the audit).
pub async fn gone_back(db: &impl ConnectionTrait) -> Result<Vec<marks::Model>, DbErr> {
    marks::Entity::find()
        .filter(Column::AmountRefunded.gt(0))
        .all(db)
        .await
}
