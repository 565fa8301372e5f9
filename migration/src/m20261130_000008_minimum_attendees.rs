//! A minimum group size per session: `min_places` (none: any number),
//! `decide_on` (when it is looked at), and what was decided then
//! (`decision`: `confirmed` or `cancelled`, at `decided_at`). A session
//! is decided once: the decider claims it by setting `decided_at` where
//! it is still null.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "immersion_sessions";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        let columns = [
            integer_null("min_places")
                .check(Expr::cust("min_places IS NULL OR min_places >= 1"))
                .to_owned(),
            date_null("decide_on").to_owned(),
            string_len_null("decision", 16)
                .check(Expr::cust(
                    "decision IS NULL OR decision IN ('confirmed', 'cancelled')",
                ))
                .to_owned(),
            timestamp_with_time_zone_null("decided_at").to_owned(),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(TABLE)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["decided_at", "decision", "decide_on", "min_places"] {
            manager
                .alter_table(Table::alter().table(TABLE).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
