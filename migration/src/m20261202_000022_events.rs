//! The outbox of what happened (`events`): one row per event, written in
//! the transaction of the change it reports (`ins`: the order written),
//! and read in `seq` order by the events feed and the webhook deliveries.
//! `seq` is given after commit, to what has committed (see
//! `domain::platform::events`), so a reader that has seen one number has
//! seen every smaller one that will ever exist.

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
                    .table("events")
                    .col(big_pk_auto("ins"))
                    .col(big_integer_null("seq").unique_key())
                    .col(uuid_uniq("id"))
                    .col(string_len("event_type", 48))
                    .col(uuid("resource_id"))
                    .col(text("data"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_events_resource")
                    .table("events")
                    .col("resource_id")
                    .col("seq")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("events").to_owned())
            .await
    }
}
