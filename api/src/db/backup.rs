//! Backups: a consistent copy of the database taken while the server runs,
//! checked before it counts, and put back with `restore`.
//!
//! - SQLite: `VACUUM INTO` writes a transaction-consistent copy (a reader
//!   of the WAL database: writers go on meanwhile); `PRAGMA
//!   integrity_check` on the copy must answer `ok`.
//! - PostgreSQL: `pg_dump` in its custom format (one snapshot);
//!   `pg_restore --list` must read it.
//!
//! A copy is written as `<name>.partial` with mode 0600 (it holds every
//! account and payment) and renamed to `immersion-<UTC time>.sqlite3` or
//! `.dump` only once checked: a listing never shows a half-written copy.

use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};

/// Why a backup or a restore failed, in words that name the tool or file.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BackupError(pub String);

fn err(what: impl std::fmt::Display) -> BackupError {
    BackupError(what.to_string())
}

/// The file name a copy taken at `at` gets.
fn name_at(at: DateTime<Utc>, backend: DbBackend) -> String {
    let extension = match backend {
        DbBackend::Sqlite => "sqlite3",
        _ => "dump",
    };
    format!("immersion-{}.{extension}", at.format("%Y%m%dT%H%M%S%3fZ"))
}

/// Whether `name` is one of our copies (what `prune` may remove).
fn is_copy(name: &str) -> bool {
    name.starts_with("immersion-") && (name.ends_with(".sqlite3") || name.ends_with(".dump"))
}

/// Takes a copy of `db` (opened from `url`) into `dir`, checks it, and
/// answers its path.
pub async fn take(
    db: &DatabaseConnection,
    url: &str,
    dir: &Path,
    now: DateTime<Utc>,
) -> Result<PathBuf, BackupError> {
    std::fs::create_dir_all(dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
    let backend = db.get_database_backend();
    let path = dir.join(name_at(now, backend));
    let partial = dir.join(format!(
        "{}.partial",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("copy")
    ));
    // Created empty and private first: the copy is written into it.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)
        .map_err(|e| err(format!("{}: {e}", partial.display())))?;
    let copied = match backend {
        DbBackend::Sqlite => vacuum_into(db, &partial).await,
        _ => pg_dump(url, &partial).await,
    };
    let checked = match copied {
        Ok(()) => check(&partial).await,
        Err(e) => Err(e),
    };
    if let Err(e) = checked {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, &path).map_err(|e| err(format!("{}: {e}", path.display())))?;
    Ok(path)
}

async fn vacuum_into(db: &DatabaseConnection, into: &Path) -> Result<(), BackupError> {
    let target = into
        .to_str()
        .ok_or_else(|| err(format!("{}: not a UTF-8 path", into.display())))?;
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "VACUUM INTO ?",
        [target.into()],
    ))
    .await
    .map_err(|e| err(format!("VACUUM INTO {target}: {e}")))?;
    Ok(())
}

/// Runs a PostgreSQL client tool, naming it when it is not installed.
async fn pg_tool(tool: &str, args: &[&str], url: &str) -> Result<Vec<u8>, BackupError> {
    let (url, password) = without_password(url);
    let mut cmd = tokio::process::Command::new(tool);
    cmd.args(args);
    if !url.is_empty() {
        cmd.arg(format!("--dbname={url}"));
    }
    // The password goes in the environment, never on a command line that
    // `ps` shows.
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let out = cmd.output().await.map_err(|e| match e.kind() {
        ErrorKind::NotFound => err(format!(
            "{tool} is not installed: install PostgreSQL's client tools \
             (Debian: apt-get install postgresql-client), of the server's \
             major version or newer"
        )),
        _ => err(format!("{tool}: {e}")),
    })?;
    if !out.status.success() {
        return Err(err(format!(
            "{tool} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out.stdout)
}

async fn pg_dump(url: &str, into: &Path) -> Result<(), BackupError> {
    let file = format!("--file={}", into.display());
    pg_tool("pg_dump", &["--format=custom", "--no-owner", &file], url).await?;
    Ok(())
}

/// Checks a copy: SQLite's integrity check, or `pg_restore --list`.
pub async fn check(path: &Path) -> Result<(), BackupError> {
    let shown = path.display();
    if is_sqlite_file(path)? {
        let url = format!("sqlite://{}?mode=ro", path.display());
        let copy = Database::connect(&url)
            .await
            .map_err(|e| err(format!("{shown}: {e}")))?;
        let answer = copy
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA integrity_check",
            ))
            .await
            .map_err(|e| err(format!("{shown}: {e}")));
        copy.close().await.ok();
        let verdict: String = answer?
            .and_then(|row| row.try_get_by_index(0).ok())
            .unwrap_or_default();
        return if verdict == "ok" {
            Ok(())
        } else {
            Err(err(format!("{shown} is damaged: {verdict}")))
        };
    }
    let list = format!("{}", path.display());
    pg_tool("pg_restore", &["--list", &list], "")
        .await
        .map_err(|e| err(format!("{shown} cannot be read as a PostgreSQL dump: {e}")))?;
    Ok(())
}

/// Whether the file starts as a SQLite database does.
fn is_sqlite_file(path: &Path) -> Result<bool, BackupError> {
    use std::io::Read;
    let mut head = [0u8; 16];
    let mut file =
        std::fs::File::open(path).map_err(|e| err(format!("{}: {e}", path.display())))?;
    let read = file.read(&mut head).unwrap_or(0);
    Ok(read == 16 && &head == b"SQLite format 3\0")
}

/// Removes the oldest copies in `dir` beyond the newest `keep`; answers
/// those removed. Only our own copies are touched.
pub fn prune(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, BackupError> {
    let mut copies: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| err(format!("{}: {e}", dir.display())))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(is_copy))
        .collect();
    // The names sort as their times do.
    copies.sort();
    let extra = copies.len().saturating_sub(keep);
    let old: Vec<PathBuf> = copies.into_iter().take(extra).collect();
    for path in &old {
        std::fs::remove_file(path).map_err(|e| err(format!("{}: {e}", path.display())))?;
    }
    Ok(old)
}

/// Writes a checked copy into the empty database at `url` (a new place:
/// a fresh SQLite file, or an empty PostgreSQL database).
pub async fn restore_into(copy: &Path, url: &str) -> Result<(), BackupError> {
    check(copy).await?;
    if let Some(target) = sqlite_path(url) {
        if target.exists() && std::fs::metadata(&target).is_ok_and(|m| m.len() > 0) {
            return Err(err(format!("{}: already exists", target.display())));
        }
        let partial = target.with_extension("restoring");
        std::fs::copy(copy, &partial).map_err(|e| err(format!("{}: {e}", partial.display())))?;
        std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(|e| err(format!("{}: {e}", partial.display())))?;
        std::fs::rename(&partial, &target)
            .map_err(|e| err(format!("{}: {e}", target.display())))?;
        return Ok(());
    }
    let file = format!("{}", copy.display());
    pg_tool(
        "pg_restore",
        &[
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            &file,
        ],
        url,
    )
    .await?;
    Ok(())
}

/// When the newest copy in `dir` was written (seconds since the epoch):
/// what the metric starts from after a restart.
pub fn newest_taken_at(dir: &Path) -> Option<f64> {
    let newest = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_str().is_some_and(is_copy))
        .max_by_key(std::fs::DirEntry::file_name)?;
    let modified = newest.metadata().ok()?.modified().ok()?;
    Some(
        modified
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs_f64(),
    )
}

/// Whether a server still runs its jobs on `db`: a job's next tick is
/// still to come (a stopped server's lapse within one interval).
pub async fn server_running(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, BackupError> {
    use sea_orm::sea_query::ExprTrait;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let live = entity::job_leases::Entity::find()
        .filter(
            entity::job_leases::Column::NextRunAt
                .gt(now)
                .or(entity::job_leases::Column::LeaseUntil.gt(now)),
        )
        .order_by_desc(entity::job_leases::Column::NextRunAt)
        .one(db)
        .await
        .map_err(err)?;
    Ok(live.map(|l| l.next_run_at))
}

/// Puts `copy` in place of the database at `url`, keeping the current
/// one aside (`<file>.before-restore-<time>`, or the database renamed
/// `<name>_before_restore_<time>`): the copy is checked, written to a new
/// place, and swapped in by a rename. Answers where the old one is kept.
/// The caller has made sure no server runs on it.
pub async fn restore(copy: &Path, url: &str, now: DateTime<Utc>) -> Result<String, BackupError> {
    check(copy).await?;
    let stamp = now.format("%Y%m%dT%H%M%SZ");
    if let Some(target) = sqlite_path(url) {
        let aside = PathBuf::from(format!("{}.before-restore-{stamp}", target.display()));
        let staged = target.with_extension("restoring.sqlite3");
        let staged_url = format!("sqlite://{}", staged.display());
        restore_into(copy, &staged_url).await?;
        // The old file and its write-ahead log go aside together.
        for suffix in ["", "-wal", "-shm"] {
            let from = PathBuf::from(format!("{}{suffix}", target.display()));
            if from.exists() {
                let to = PathBuf::from(format!("{}{suffix}", aside.display()));
                std::fs::rename(&from, &to).map_err(|e| err(format!("{}: {e}", from.display())))?;
            }
        }
        std::fs::rename(&staged, &target).map_err(|e| err(format!("{}: {e}", target.display())))?;
        return Ok(aside.display().to_string());
    }
    let (server, name) = url
        .split('?')
        .next()
        .and_then(|u| u.rsplit_once('/'))
        .ok_or_else(|| err("DATABASE_URL names no database"))?;
    let query = url
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    let (staged, aside) = (
        format!("{name}_restoring_{stamp}"),
        format!("{name}_before_restore_{stamp}"),
    );
    let maintenance = Database::connect(format!("{server}/postgres{query}"))
        .await
        .map_err(|e| err(format!("the server's postgres database: {e}")))?;
    let run = |sql: String| {
        let maintenance = &maintenance;
        async move {
            maintenance
                .execute_unprepared(&sql)
                .await
                .map_err(|e| err(format!("{sql}: {e}")))
        }
    };
    run(format!("CREATE DATABASE \"{staged}\"")).await?;
    if let Err(e) = restore_into(copy, &format!("{server}/{staged}{query}")).await {
        run(format!("DROP DATABASE IF EXISTS \"{staged}\""))
            .await
            .ok();
        return Err(e);
    }
    run(format!("ALTER DATABASE \"{name}\" RENAME TO \"{aside}\"")).await?;
    run(format!("ALTER DATABASE \"{staged}\" RENAME TO \"{name}\"")).await?;
    maintenance.close().await.ok();
    Ok(aside)
}

/// The file of a SQLite URL.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// A PostgreSQL URL without its password, and the password (decoded).
fn without_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return (url.to_owned(), None);
    };
    let Some((user, password)) = userinfo.split_once(':') else {
        return (url.to_owned(), None);
    };
    (
        format!("{scheme}://{user}@{host}{path}"),
        Some(percent_decode(password)),
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_reaches_the_command_line() {
        assert_eq!(
            without_password("postgres://app:s%40cret@db:5432/immersion?sslmode=require"),
            (
                "postgres://app@db:5432/immersion?sslmode=require".to_owned(),
                Some("s@cret".to_owned())
            )
        );
        assert_eq!(
            without_password("postgres://postgres@127.0.0.1/x"),
            ("postgres://postgres@127.0.0.1/x".to_owned(), None)
        );
    }

    #[test]
    fn copies_are_named_by_their_time_and_only_they_are_pruned() {
        let at = DateTime::parse_from_rfc3339("2026-12-02T01:02:03.456Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            name_at(at, DbBackend::Sqlite),
            "immersion-20261202T010203456Z.sqlite3"
        );
        let dir = std::env::temp_dir().join(format!("backups-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in [
            "immersion-20261201T000000000Z.dump",
            "immersion-20261202T000000000Z.dump",
            "immersion-20261203T000000000Z.dump",
            "notes.txt",
            "immersion-20261204T000000000Z.dump.partial",
        ] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        let removed = prune(&dir, 2).unwrap();
        assert_eq!(
            removed,
            vec![dir.join("immersion-20261201T000000000Z.dump")]
        );
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "immersion-20261202T000000000Z.dump",
                "immersion-20261203T000000000Z.dump",
                "immersion-20261204T000000000Z.dump.partial",
                "notes.txt"
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
