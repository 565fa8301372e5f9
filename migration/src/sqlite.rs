//! SQLite cannot alter a table's constraints (a foreign key's action, a
//! CHECK): the table is rebuilt from its own definition, changed, with
//! its rows and indexes, on the migration's transaction.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Statement};

/// Rebuilds `table` from its `CREATE TABLE` as `change` rewrites it.
/// Refused when another table references it: dropping it would run their
/// `ON DELETE` actions, which no check afterwards could see.
pub async fn rebuild(
    db: &impl ConnectionTrait,
    table: &str,
    change: impl FnOnce(&str) -> Result<String, DbErr>,
) -> Result<(), DbErr> {
    let referencing = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT m.name AS name FROM sqlite_master m, pragma_foreign_key_list(m.name) f \
             WHERE m.type = 'table' AND f.\"table\" = ?",
            [table.into()],
        ))
        .await?;
    if let Some(row) = referencing.first() {
        let name: String = row.try_get("", "name")?;
        return Err(DbErr::Migration(format!(
            "{table} cannot be rebuilt: {name} references it"
        )));
    }
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL",
            [table.into()],
        ))
        .await?;
    let mut table_sql = None;
    let mut indexes = Vec::new();
    for row in rows {
        let kind: String = row.try_get("", "type")?;
        let sql: String = row.try_get("", "sql")?;
        if kind == "table" {
            table_sql = Some(sql);
        } else {
            indexes.push(sql);
        }
    }
    let table_sql = table_sql.ok_or_else(|| DbErr::Migration(format!("{table} is missing")))?;
    let rebuilt = format!("{table}_rebuilt");
    let changed =
        change(&table_sql)?.replacen(&format!("\"{table}\""), &format!("\"{rebuilt}\""), 1);
    // One script on the migration's transaction.
    let mut script = vec![
        changed,
        format!("INSERT INTO {rebuilt} SELECT * FROM {table}"),
        format!("DROP TABLE {table}"),
        format!("ALTER TABLE {rebuilt} RENAME TO {table}"),
    ];
    script.extend(indexes);
    db.execute_unprepared(&script.join(";\n")).await?;
    let broken = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA foreign_key_check",
        ))
        .await?;
    if !broken.is_empty() {
        return Err(DbErr::Migration(format!(
            "{} rows break a foreign key after the rebuild of {table}",
            broken.len()
        )));
    }
    Ok(())
}
