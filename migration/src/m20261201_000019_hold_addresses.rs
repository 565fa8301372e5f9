//! No hoarding (issue 22): a hold keeps a keyed hash of the client address
//! that took it, so that the seats one address holds at once in a session
//! are counted across accounts, in the statement that takes the seat. A
//! hash, not the address: booking rows are kept for years.

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
                    .table("immersion_bookings")
                    .add_column(string_len_null("client_address", 64))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("immersion_bookings")
                    .drop_column("client_address")
                    .to_owned(),
            )
            .await
    }
}
