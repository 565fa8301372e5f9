//! Who leads a session (`immersion_sessions.trainer`): the attendance
//! sheet is headed with it. Optional; at most 200 characters.

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
            .alter_table(
                Table::alter()
                    .table("immersion_sessions")
                    .add_column(string_len_null("trainer", 200))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("immersion_sessions")
                    .drop_column("trainer")
                    .to_owned(),
            )
            .await
    }
}
