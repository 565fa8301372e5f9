//! `idempotency_keys`: the first answer to a POST sent with an
//! `Idempotency-Key` header, kept 24 hours per user and key, so that a
//! client retrying over an unreliable network gets the same answer and
//! never a second hold or payment (Stripe's own semantics).

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
                    .table("idempotency_keys")
                    .col(uuid("user_id"))
                    .col(string_len("key", 255))
                    .col(string_len("fingerprint", 64))
                    .col(string_len("state", 16))
                    .col(uuid("owner"))
                    .col(integer_null("response_status"))
                    .col(string_len_null("content_type", 100))
                    .col(text_null("response_body"))
                    .col(timestamp_with_time_zone("started_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .primary_key(Index::create().col("user_id").col("key"))
                    .check((
                        "ck_idempotency_state",
                        Expr::cust("state IN ('in_progress', 'done')"),
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_idempotency_user")
                            .from("idempotency_keys", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_idempotency_keys_expires_at")
                    .table("idempotency_keys")
                    .col("expires_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("idempotency_keys").to_owned())
            .await
    }
}
