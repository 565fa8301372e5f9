//! Owed calls are looked up by what they act on: one refund per invoice,
//! and the subscriptions being cancelled, which every access projection
//! and the audit leave out (a correlated NOT EXISTS per subscription).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_owed_calls_kind_target")
                    .table("owed_gateway_calls")
                    .col("kind")
                    .col("target")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_owed_calls_kind_target")
                    .table("owed_gateway_calls")
                    .to_owned(),
            )
            .await
    }
}
