//! API keys for third parties (`api_keys`). Only a SHA-256 digest of each
//! secret is kept, unique, so a request's key is found by one index read;
//! a revoked key keeps its row (when, by whom), as its id stays in the
//! records of what it did. A key works only while the admin who issued
//! it (`issued_by`) is still an admin.

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
                    .table("api_keys")
                    .col(pk_uuid("id"))
                    .col(string_len("name", 100))
                    .col(string_len("prefix", 32))
                    .col(string_len_uniq("secret_hash", 64))
                    .col(string_len("scopes", 400))
                    .col(text_null("allowed_ips"))
                    .col(timestamp_with_time_zone_null("expires_at"))
                    .col(uuid("issued_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("last_used_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .col(uuid_null("revoked_by"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("api_keys").to_owned())
            .await
    }
}
