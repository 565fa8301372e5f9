//! The subscription checkout each user has open (`subscription_checkouts`,
//! invariant 16): a claim made before the page is asked for, so that every
//! request that finds it answers the same page (the gateway's idempotency
//! key is the claim's `attempt`), and a second checkout answers the open
//! one instead of opening a second subscription.

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
                    .table("subscription_checkouts")
                    .col(pk_uuid("user_id"))
                    .col(uuid("attempt"))
                    .col(string_len("plan", 16))
                    .col(string_len_null("checkout_id", 255))
                    .col(timestamp_with_time_zone("claimed_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("subscription_checkouts", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("subscription_checkouts").to_owned())
            .await
    }
}
