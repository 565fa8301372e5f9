//! Outgoing webhooks: the endpoints admins register
//! (`webhook_endpoints`: the URL, the event types, the signing secret and
//! the one it replaces for 24 h, whether it is on, and how far into the
//! events it has been fanned out), one delivery per event and endpoint
//! (`webhook_deliveries`, unique), and each attempt at it
//! (`webhook_attempts`: status, duration, the start of the answer).

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
                    .table("webhook_endpoints")
                    .col(pk_uuid("id"))
                    .col(string_len("url", 2000))
                    .col(string_len_null("description", 200))
                    .col(string_len("event_types", 1000))
                    .col(string_len("secret", 100))
                    .col(string_len_null("previous_secret", 100))
                    .col(timestamp_with_time_zone_null("previous_secret_until"))
                    .col(boolean("enabled"))
                    .col(string_len_null("disabled_reason", 200))
                    .col(big_integer("fanned_out_to"))
                    .col(uuid("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_deliveries")
                    .col(pk_uuid("id"))
                    .col(uuid("endpoint_id"))
                    .col(uuid("event_id"))
                    .col(big_integer("event_seq"))
                    .col(string_len("event_type", 48))
                    .col(uuid("resource_id"))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone_null("next_attempt_at"))
                    .col(timestamp_with_time_zone_null("failing_since"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("delivered_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("webhook_deliveries", "endpoint_id")
                            .to("webhook_endpoints", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_once")
                    .table("webhook_deliveries")
                    .col("endpoint_id")
                    .col("event_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_due")
                    .table("webhook_deliveries")
                    .col("status")
                    .col("next_attempt_at")
                    .to_owned(),
            )
            .await?;
        // "An earlier one about the same resource still pending?"
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_resource")
                    .table("webhook_deliveries")
                    .col("endpoint_id")
                    .col("resource_id")
                    .col("status")
                    .col("event_seq")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_attempts")
                    .col(pk_uuid("id"))
                    .col(uuid("delivery_id"))
                    .col(timestamp_with_time_zone("at"))
                    .col(integer_null("status_code"))
                    .col(big_integer("duration_ms"))
                    .col(string_len("excerpt", 500))
                    .foreign_key(
                        ForeignKey::create()
                            .from("webhook_attempts", "delivery_id")
                            .to("webhook_deliveries", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_attempts_delivery")
                    .table("webhook_attempts")
                    .col("delivery_id")
                    .col("at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "webhook_attempts",
            "webhook_deliveries",
            "webhook_endpoints",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
