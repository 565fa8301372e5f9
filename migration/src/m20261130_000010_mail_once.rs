//! Mails sent at most once, and mails with an attachment (`mail_outbox`).
//!
//! `dedup_key` names a mail that must never go out twice, whatever the
//! number of instances and restarts (the reminders: `reminder:{booking}:7`):
//! a unique index makes a second queueing a no-op. Rows without a key are
//! unconstrained (NULLs are distinct on both databases). The attachment is
//! one text file (a calendar `.ics`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for column in [
            string_len_null("dedup_key", 128),
            string_len_null("attachment_name", 128),
            string_len_null("attachment_type", 128),
            text_null("attachment"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("mail_outbox")
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_mail_outbox_dedup_key")
                    .table("mail_outbox")
                    .col("dedup_key")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_mail_outbox_dedup_key")
                    .table("mail_outbox")
                    .to_owned(),
            )
            .await?;
        for column in [
            "attachment",
            "attachment_type",
            "attachment_name",
            "dedup_key",
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("mail_outbox")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
