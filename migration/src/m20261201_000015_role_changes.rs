//! Every change of a user's role, kept (`role_changes`): who (an admin's
//! id, `ADMIN_EMAILS`, the command line, the demo data), whom, when, the
//! old role and the new. The last one also says who made an admin: an
//! admin that `ADMIN_EMAILS` made goes back to user when the list no
//! longer names it.

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
                    .table("role_changes")
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(string_len("old_role", 16))
                    .col(string_len("new_role", 16))
                    .col(string_len("changed_by", 64))
                    .col(timestamp_with_time_zone("changed_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("role_changes", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_role_changes_user")
                    .table("role_changes")
                    .col("user_id")
                    .col("changed_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("role_changes").to_owned())
            .await
    }
}
