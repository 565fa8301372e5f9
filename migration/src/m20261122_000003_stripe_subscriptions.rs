//! One record per Stripe subscription, each part with the key of the event
//! that last set it (see `api::domain::subscriptions::sync`). The user's
//! `subscription_status` row is recomputed from these records.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut t = Table::create();
        t.table("stripe_subscriptions")
            .col(string_len("id", 255).primary_key())
            .col(uuid("user_id"))
            .col(string_len_null("customer_id", 255))
            .col(string_len_null("status", 32))
            .col(string_len_null("plan", 32))
            .col(boolean("cancel_at_period_end").default(false))
            .col(string_len_null("subscription_key", 320))
            .col(timestamp_with_time_zone_null("current_period_end"))
            .col(string_len_null("period_key", 320))
            .col(boolean("payment_failed").default(false))
            .col(string_len_null("payment_key", 320))
            .col(timestamp_with_time_zone("updated_at"))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_stripe_subscriptions_user")
                    .from("stripe_subscriptions", "user_id")
                    .to("users", "id")
                    .on_delete(ForeignKeyAction::Cascade),
            );
        manager.create_table(t).await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE INDEX ix_stripe_subscriptions_user ON stripe_subscriptions (user_id)",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_stripe_subscriptions_customer ON stripe_subscriptions (customer_id)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("stripe_subscriptions").to_owned())
            .await
    }
}
