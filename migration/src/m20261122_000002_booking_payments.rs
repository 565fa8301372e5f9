//! What a booking's money did: the refund (id and amount) and when it was
//! confirmed or cancelled, so the audit can match payments to bookings.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: &[&str] = &[
    "refund_id",
    "refunded_cents",
    "confirmed_at",
    "cancelled_at",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            string_len_null("refund_id", 255),
            big_integer_null("refunded_cents"),
            timestamp_with_time_zone_null("confirmed_at"),
            timestamp_with_time_zone_null("cancelled_at"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("immersion_bookings")
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_bookings_payment_intent ON immersion_bookings (stripe_payment_intent_id)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX ix_bookings_payment_intent")
            .await?;
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table("immersion_bookings")
                        .drop_column(*column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
