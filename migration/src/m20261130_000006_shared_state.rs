//! State that must hold across several api instances on one database:
//! - `throttle_hits`: the fixed-window counters of the login, registration,
//!   account-mail and seat-change throttles. On PostgreSQL the table is
//!   UNLOGGED: its writes skip the WAL, so a hot counter (one address
//!   behind a NAT taking many seats) costs no disk flush; after a crash
//!   of the database the counters start again from zero, which only
//!   forgives some attempts.
//! - `job_leases`: which instance runs a background job's next tick, so
//!   that each job runs once per tick across all instances.

use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn throttle_hits() -> TableCreateStatement {
    let mut t = Table::create();
    t.table("throttle_hits")
        .col(string_len("key", 400).primary_key())
        .col(big_integer("window_end"))
        .col(integer("hits"));
    t
}

fn job_leases() -> TableCreateStatement {
    let mut t = Table::create();
    t.table("job_leases")
        .col(string_len("job", 40).primary_key())
        .col(string_len_null("holder", 64))
        .col(timestamp_with_time_zone("lease_until"))
        .col(timestamp_with_time_zone("next_run_at"));
    t
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match db.get_database_backend() {
            DbBackend::Postgres => {
                let sql = throttle_hits().to_string(PostgresQueryBuilder);
                let unlogged = sql.replacen("CREATE TABLE", "CREATE UNLOGGED TABLE", 1);
                db.execute_unprepared(&unlogged).await?;
            }
            _ => manager.create_table(throttle_hits()).await?,
        }
        manager.create_table(job_leases()).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["job_leases", "throttle_hits"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
