//! Money integrity (invariants 9–11):
//! - `payment_anomalies`: payments that claimed to be ours and did not
//!   match what was sold, or subscriptions on a price we do not sell;
//! - `owed_gateway_calls`: refunds and Checkout Session expiries committed
//!   as owed before the provider is called, finished by a job;
//! - bookings keep their session: `ON DELETE RESTRICT` instead of CASCADE,
//!   so deleting a session can never delete payment records.

use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn anomalies() -> TableCreateStatement {
    let mut t = Table::create();
    t.table("payment_anomalies")
        .col(pk_uuid("id"))
        .col(string_len("kind", 32))
        .col(string_len("event_id", 255))
        .col(uuid_null("booking_id"))
        .col(string_len_null("checkout_session_id", 255))
        .col(string_len_null("payment_intent_id", 255))
        .col(string_len_null("subscription_id", 255))
        .col(big_integer_null("amount_cents"))
        .col(string_len_null("currency", 3))
        .col(text("detail"))
        .col(uuid_null("refund_call_id"))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone_null("acknowledged_at"))
        .col(uuid_null("acknowledged_by"));
    t
}

fn owed_calls() -> TableCreateStatement {
    let mut t = Table::create();
    t.table("owed_gateway_calls")
        .col(pk_uuid("id"))
        .col(string_len("kind", 16))
        .col(string_len("reason", 32))
        .col(uuid_null("booking_id"))
        .col(string_len("target", 255))
        .col(big_integer_null("amount_cents"))
        .col(string_len_uniq("idempotency_key", 255))
        .col(string_len("status", 16).default("owed"))
        .col(string_len_null("result_id", 255))
        .col(integer("attempts").default(0))
        .col(text_null("last_error"))
        .col(timestamp_with_time_zone("next_attempt_at"))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone_null("done_at"))
        .check((
            "ck_owed_kind",
            Expr::cust("kind IN ('refund', 'expire_checkout')"),
        ))
        .check((
            "ck_owed_status",
            Expr::cust("status IN ('owed', 'done', 'failed')"),
        ))
        .check((
            "ck_owed_amount",
            Expr::cust("amount_cents IS NULL OR amount_cents > 0"),
        ));
    t
}

/// The table's SQL with the session foreign key's delete action changed.
fn change_session_fk(sql: &str, from: &str, to: &str) -> Result<String, DbErr> {
    let start = sql
        .find("FOREIGN KEY (\"session_id\")")
        .ok_or_else(|| DbErr::Migration("the session_id foreign key was not found".into()))?;
    let rest = &sql[start..];
    // Only this clause: up to the next constraint of the table.
    let clause_end = ["CONSTRAINT", "FOREIGN KEY"]
        .iter()
        .filter_map(|k| rest[1..].find(k).map(|i| i + 1))
        .min()
        .unwrap_or(rest.len());
    let action = format!("ON DELETE {from}");
    let at = rest[..clause_end]
        .find(&action)
        .ok_or_else(|| DbErr::Migration(format!("the session_id foreign key is not {action}")))?;
    Ok(format!(
        "{}{}ON DELETE {to}{}",
        &sql[..start],
        &rest[..at],
        &rest[at + action.len()..]
    ))
}

async fn set_session_fk(manager: &SchemaManager<'_>, from: &str, to: &str) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        // SQLite cannot alter a foreign key: the table is rebuilt.
        DbBackend::Sqlite => {
            crate::sqlite::rebuild(db, "immersion_bookings", |sql| {
                change_session_fk(sql, from, to)
            })
            .await
        }
        _ => {
            db.execute_unprepared(&format!(
                "ALTER TABLE immersion_bookings DROP CONSTRAINT fk_bookings_session, \
                 ADD CONSTRAINT fk_bookings_session FOREIGN KEY (session_id) \
                 REFERENCES immersion_sessions (id) ON DELETE {to}"
            ))
            .await?;
            Ok(())
        }
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing on SQLite too (its DDL is transactional): a crash
    /// mid-rebuild must not leave the bookings in a side table.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(anomalies()).await?;
        manager.create_table(owed_calls()).await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE INDEX ix_owed_gateway_calls_due ON owed_gateway_calls (status, next_attempt_at)",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_payment_anomalies_created ON payment_anomalies (created_at)",
        )
        .await?;
        set_session_fk(manager, "CASCADE", "RESTRICT").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_session_fk(manager, "RESTRICT", "CASCADE").await?;
        manager
            .drop_table(Table::drop().table("owed_gateway_calls").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("payment_anomalies").to_owned())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::change_session_fk;

    #[test]
    fn only_the_session_foreign_key_changes() {
        // As SQLite keeps it: the constraints have no names.
        let sql = r#"CREATE TABLE "immersion_bookings" ( "id" uuid_text, "user_id" uuid_text, FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE RESTRICT, FOREIGN KEY ("session_id") REFERENCES "immersion_sessions" ("id") ON DELETE CASCADE, FOREIGN KEY ("x") REFERENCES "y" ("id") ON DELETE CASCADE )"#;
        let changed = change_session_fk(sql, "CASCADE", "RESTRICT").unwrap();
        assert_eq!(changed.matches("ON DELETE RESTRICT").count(), 2);
        assert!(changed.ends_with(r#"REFERENCES "y" ("id") ON DELETE CASCADE )"#));
        assert!(change_session_fk(&changed, "CASCADE", "RESTRICT").is_err());
    }
}
