//! Two more calls owed to the payment provider (invariant 16): cancelling
//! a subscription (`cancel_sub`) and refunding what paid an invoice
//! (`refund_invoice`). The kind's CHECK is widened.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const BEFORE: &str = "kind IN ('refund', 'expire_checkout')";
pub(crate) const AFTER: &str =
    "kind IN ('refund', 'expire_checkout', 'cancel_sub', 'refund_invoice')";

/// Replaces the kinds the owed calls' CHECK allows (`from`, as written)
/// by `to`; later migrations widen it again.
pub(crate) async fn set_kinds(
    manager: &SchemaManager<'_>,
    from: &str,
    to: &str,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DbBackend::Sqlite => {
            crate::sqlite::rebuild(db, "owed_gateway_calls", |sql| {
                if !sql.contains(from) {
                    return Err(DbErr::Migration(format!("ck_owed_kind is not {from}")));
                }
                Ok(sql.replacen(from, to, 1))
            })
            .await
        }
        _ => {
            db.execute_unprepared(&format!(
                "ALTER TABLE owed_gateway_calls DROP CONSTRAINT ck_owed_kind, \
                 ADD CONSTRAINT ck_owed_kind CHECK ({to})"
            ))
            .await?;
            Ok(())
        }
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing: a crash mid-rebuild must not leave the calls in a
    /// side table.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_kinds(manager, BEFORE, AFTER).await
    }

    /// Refused while calls of the new kinds are recorded: they are
    /// payment records, never deleted.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_kinds(manager, AFTER, BEFORE).await
    }
}
