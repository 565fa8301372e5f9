//! Presence per half-day (`presence_marks`), the trainer's link to record
//! it (`trainer_links`), and the hours a session's half-day lasts
//! (`immersion_sessions.half_day_minutes`, 3 h 30 by default: a 7-hour
//! day), from which a certificate of completion counts the hours.
//!
//! `invoice_numbers.pruned_through`: the last number of a series deleted
//! once past its retention period (10 years); the audit checks the
//! series from the next one.
//!
//! `users.erased_at`: when a person's account was erased (anonymised,
//! its legal records kept for their retention period).
//!
//! A mark is never changed: a correction is a new mark, and the latest
//! one (`id` order) is what the certificate counts. Each keeps who made
//! it (an admin's user id, or the trainer link's id) and when.

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
                    .add_column(integer("half_day_minutes").default(210))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("invoice_numbers")
                    .add_column(big_integer("pruned_through").default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("users")
                    .add_column(timestamp_with_time_zone_null("erased_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("trainer_links")
                    .col(pk_uuid("id"))
                    .col(uuid("session_id"))
                    .col(string_len_uniq("token_hash", 64))
                    .col(uuid("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_trainer_links_session")
                            .from("trainer_links", "session_id")
                            .to("immersion_sessions", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("presence_marks")
                    .col(big_pk_auto("id"))
                    .col(uuid("session_id"))
                    .col(uuid("booking_id"))
                    .col(date("day"))
                    .col(string_len("half", 2))
                    .col(string_len("status", 8))
                    .col(uuid_null("recorded_by_user"))
                    .col(uuid_null("recorded_by_link"))
                    .col(timestamp_with_time_zone("recorded_at"))
                    .check(Expr::cust("half IN ('am', 'pm')"))
                    .check(Expr::cust("status IN ('present', 'absent', 'excused')"))
                    .check(Expr::cust(
                        "(recorded_by_user IS NULL) <> (recorded_by_link IS NULL)",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_presence_marks_booking")
                            .from("presence_marks", "booking_id")
                            .to("immersion_bookings", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_presence_marks_session")
                    .table("presence_marks")
                    .col("session_id")
                    .col("id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("presence_marks").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("trainer_links").to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("invoice_numbers")
                    .drop_column("pruned_through")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("users")
                    .drop_column("erased_at")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("immersion_sessions")
                    .drop_column("half_day_minutes")
                    .to_owned(),
            )
            .await
    }
}
