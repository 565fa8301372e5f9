//! What the gateway says went back, per payment intent
//! (`gateway_refunds`), from every `charge.refunded`: a high-water mark
//! (`amount_refunded` only grows, whatever order the events come in).
//! Stripe does not order its events, and a refund made in the Dashboard
//! may reach us before the payment it refunds: kept here, it wins when the
//! payment arrives (the seat is not kept, nothing is owed back twice). The
//! audit compares each booking's refund total with it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("gateway_refunds")
                    .col(string_len("payment_intent", 255).primary_key())
                    .col(big_integer("amount_refunded"))
                    .col(boolean("whole"))
                    .col(timestamp_with_time_zone("seen_at"))
                    .check(Expr::cust("amount_refunded >= 0"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("gateway_refunds").to_owned())
            .await
    }
}
