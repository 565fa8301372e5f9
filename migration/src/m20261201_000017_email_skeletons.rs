//! E-mail addresses are unique by what they look like too (issue 22): each
//! account keeps its address's confusable skeleton (Unicode UTS #39), under
//! a unique index. The api fills the column for older accounts at startup
//! (`accounts::users::fill_skeletons`): the skeleton is its rule, not SQL's.

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
                    .table("users")
                    .add_column(string_len_null("email_skeleton", 1024))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("users_email_skeleton_key")
                    .table("users")
                    .col("email_skeleton")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("users_email_skeleton_key")
                    .table("users")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("users")
                    .drop_column("email_skeleton")
                    .to_owned(),
            )
            .await
    }
}
