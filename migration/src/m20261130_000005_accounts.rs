//! Accounts a real service can run: e-mail verification, single-use
//! tokens (verification, password reset) stored as hashes, and sign-in
//! sessions that sign-out and password changes revoke.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn auth_sessions() -> TableCreateStatement {
    let mut t = Table::create();
    t.table("auth_sessions")
        .col(pk_uuid("id"))
        .col(uuid("user_id"))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("expires_at"))
        .col(timestamp_with_time_zone_null("revoked_at"))
        .foreign_key(
            ForeignKey::create()
                .name("fk_auth_sessions_user")
                .from("auth_sessions", "user_id")
                .to("users", "id")
                .on_delete(ForeignKeyAction::Cascade),
        );
    t
}

fn account_tokens() -> TableCreateStatement {
    let mut t = Table::create();
    t.table("account_tokens")
        .col(pk_uuid("id"))
        .col(uuid("user_id"))
        .col(string_len("purpose", 16))
        .col(string_len_uniq("token_hash", 64))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("expires_at"))
        .col(timestamp_with_time_zone_null("used_at"))
        .check((
            "ck_account_tokens_purpose",
            Expr::cust("purpose IN ('verify_email', 'reset_password')"),
        ))
        .foreign_key(
            ForeignKey::create()
                .name("fk_account_tokens_user")
                .from("account_tokens", "user_id")
                .to("users", "id")
                .on_delete(ForeignKeyAction::Cascade),
        );
    t
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("users")
                    .add_column(timestamp_with_time_zone_null("email_verified_at"))
                    .to_owned(),
            )
            .await?;
        manager.create_table(auth_sessions()).await?;
        manager.create_table(account_tokens()).await?;
        let db = manager.get_connection();
        db.execute_unprepared("CREATE INDEX ix_auth_sessions_user ON auth_sessions (user_id)")
            .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_account_tokens_user ON account_tokens (user_id, purpose)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["account_tokens", "auth_sessions"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("users")
                    .drop_column("email_verified_at")
                    .to_owned(),
            )
            .await
    }
}
