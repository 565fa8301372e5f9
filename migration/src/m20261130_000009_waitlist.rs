//! The waiting list of full sessions (`waitlist_entries`). People wait in
//! the order they joined (`joined_at`, then `id`); a freed seat becomes an
//! offer to the first in line: a held booking (`booking_id`) that lasts
//! `WAITLIST_OFFER_HOURS`.
//!
//! `status`: `waiting` → `offered` → `booked` (paid) or `lapsed` (declined
//! or let lapse); or `left` (by the person), `removed` (by an admin),
//! `closed` (the session was cancelled). One person is at most once in
//! line (waiting or offered) per session: a partial unique index.

use sea_orm_migration::sea_orm::ConnectionTrait;
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
                    .table("waitlist_entries")
                    .col(pk_uuid("id"))
                    .col(uuid("session_id"))
                    .col(uuid("user_id"))
                    .col(string_len("user_email", 254))
                    .col(string_len("status", 16))
                    .col(uuid_null("booking_id"))
                    .col(timestamp_with_time_zone("joined_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .check((
                        "ck_waitlist_status",
                        Expr::cust(
                            "status IN ('waiting', 'offered', 'booked', 'lapsed', 'left', 'removed', 'closed')",
                        ),
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_waitlist_session")
                            .from("waitlist_entries", "session_id")
                            .to("immersion_sessions", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_waitlist_user")
                            .from("waitlist_entries", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_waitlist_booking")
                            .from("waitlist_entries", "booking_id")
                            .to("immersion_bookings", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_waitlist_line")
                    .table("waitlist_entries")
                    .col("session_id")
                    .col("status")
                    .col("joined_at")
                    .to_owned(),
            )
            .await?;
        // Same SQL on SQLite and PostgreSQL: partial indexes are in both.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_waitlist_once_in_line ON waitlist_entries \
                 (session_id, user_id) WHERE status IN ('waiting', 'offered')",
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_waitlist_booking ON waitlist_entries (booking_id) \
                 WHERE booking_id IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("waitlist_entries").to_owned())
            .await
    }
}
