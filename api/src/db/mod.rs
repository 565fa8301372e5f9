//! Connecting to the database (SQLite by default, or PostgreSQL) and
//! bringing its schema up to date.

pub mod backup;
pub mod checkout_ids;
pub mod rendered;
pub mod tally;

use std::path::Path;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, Statement, TransactionTrait,
};

/// Opens a pool. For a SQLite file, its directory is created first and the
/// file is switched to WAL so readers do not wait for writers.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, Pool::default()).await
}

/// How a pool is sized and how long its callers wait.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pool {
    /// At most this many connections (else 32 on PostgreSQL, 8 on
    /// SQLite). Replicas × this must stay below the server's
    /// `max_connections`.
    pub max_connections: Option<u32>,
    /// The longest a caller waits for a connection, a new one's connect
    /// included: past it, the database counts as unreachable (503).
    /// Unset, 1 s on PostgreSQL: an outage is told at once (while the
    /// server refuses connections, a connect is retried until then); 2 s
    /// on SQLite, a file that cannot be unreachable, whose writers queue
    /// for its one lock in a rush: past that, the rush is shed with 503
    /// and `Retry-After` rather than held.
    pub acquire_timeout: Option<Duration>,
}

/// As `connect`, with the pool as `pool` says.
pub async fn connect_with(url: &str, pool: Pool) -> Result<DatabaseConnection, DbErr> {
    if let Some(dir) = sqlite_dir(url) {
        std::fs::create_dir_all(&dir)
            .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut opts = ConnectOptions::new(url);
    let (size, wait) = if url.starts_with("sqlite:") {
        (8, Duration::from_secs(2))
    } else {
        (32, Duration::from_secs(1))
    };
    let wait = pool.acquire_timeout.unwrap_or(wait);
    opts.max_connections(pool.max_connections.unwrap_or(size))
        .min_connections(1)
        .acquire_timeout(wait)
        .connect_timeout(wait)
        // A connection that failed in use is pinged as it is released, and
        // dropped if the server is gone; one that sat idle through an
        // outage is not, so a connection idle for a second is pinged
        // before use. A ping before every checkout would add a round trip
        // to each statement of a busy request.
        .test_before_acquire_if_idle_for(Duration::from_secs(1))
        .sqlx_logging(false);
    let db = Database::connect(opts).await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA journal_mode = WAL").await?;
    }
    Ok(db)
}

/// Whether `url` reaches PostgreSQL on this machine over TCP in sqlx's
/// default `sslmode=prefer` (no `sslmode` in the URL nor in
/// `PGSSLMODE`): the client then speaks TLS whenever the server offers it,
/// as Debian's does. Over the loopback TLS protects nothing the kernel
/// does not, and it cost the rush about a fifth of its rate (README,
/// "Benchmarks"), so start-up says so. The URL is read by sqlx's own
/// parser, the environment included, so the answer is about the
/// connection sqlx will make: the server's socket (`?host=/var/run/…`), a
/// `hostaddr` elsewhere, or an `sslmode` said says nothing.
pub fn tls_over_loopback(url: &str) -> bool {
    use sea_orm::sqlx::postgres::{PgConnectOptions, PgSslMode};
    use std::str::FromStr;
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return false;
    }
    let Ok(options) = PgConnectOptions::from_str(url) else {
        return false;
    };
    if options.get_socket().is_some() || !matches!(options.get_ssl_mode(), PgSslMode::Prefer) {
        return false;
    }
    let host = options
        .get_host()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            // An IPv4-mapped IPv6 address is the IPv4 one.
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Whether an error means the database could not be reached (stopped,
/// restarting, a connection dropped or timed out), as opposed to a
/// statement it refused: the first is answered 503 with `Retry-After`.
pub fn is_unreachable(e: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    let runtime = match e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(r) | DbErr::Query(r) => r,
        _ => return false,
    };
    let RuntimeErr::SqlxError(e) = runtime else {
        return false;
    };
    match e.as_ref() {
        // EOF or a reset on a pooled connection, a refused connect.
        Sqlx::Io(_) | Sqlx::Tls(_) | Sqlx::Protocol(_) | Sqlx::WorkerCrashed => true,
        Sqlx::PoolTimedOut | Sqlx::PoolClosed => true,
        // PostgreSQL's connection exceptions (class 08) and a server
        // shutting down or starting (57P01-57P03).
        Sqlx::Database(db) => db.code().is_some_and(|c| {
            c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// The directory of a `sqlite://path/to/file.db?…` URL, when it has one.
fn sqlite_dir(url: &str) -> Option<std::path::PathBuf> {
    backup::sqlite_path(url)?
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
}

/// Applies pending migrations under the setup lock.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    let lock = setup_lock(db).await?;
    migrate_holding_lock(db).await?;
    release(lock).await
}

/// Applies pending migrations; the caller holds the setup lock (taking it
/// again here, from another connection, would wait for ourselves).
pub async fn migrate_holding_lock(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// The key of the advisory lock that start-up work (migrations, seeding)
/// runs under: `immersion` in ASCII.
const SETUP_LOCK: i64 = 0x696d_6d65_7273_696f;

/// On PostgreSQL, waits for the setup lock, so that replicas started
/// together migrate one after the other (the later ones find nothing to
/// do) instead of racing on the same DDL. The lock lives as long as the
/// returned transaction, on a connection of its own: the work itself runs
/// on other connections. SQLite has one process writing its file; no lock.
pub async fn setup_lock(db: &DatabaseConnection) -> Result<Option<DatabaseTransaction>, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(None);
    }
    let txn = db.begin().await?;
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1)",
        [SETUP_LOCK.into()],
    ))
    .await?;
    Ok(Some(txn))
}

/// Releases what `setup_lock` took.
pub async fn release(lock: Option<DatabaseTransaction>) -> Result<(), DbErr> {
    match lock {
        Some(txn) => txn.commit().await,
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_directory_of_a_sqlite_file() {
        assert_eq!(
            sqlite_dir("sqlite://data/immersion.db?mode=rwc").as_deref(),
            Some(Path::new("data"))
        );
        assert_eq!(sqlite_dir("sqlite://app.db"), None);
        assert_eq!(sqlite_dir("sqlite::memory:"), None);
        assert_eq!(sqlite_dir("postgres://localhost/x"), None);
    }

    #[test]
    fn tells_tls_over_the_loopback_only_when_nothing_chose_it() {
        // sqlx reads PGSSLMODE too; these cases assume it is unset.
        if std::env::var_os("PGSSLMODE").is_some() {
            return;
        }
        for url in [
            "postgres://u@127.0.0.1:5432/db",
            "postgresql://u:p@localhost/db",
            "postgres://u@LOCALHOST/db",
            "postgres://u@localhost./db",
            "postgres://u@[::1]:5432/db",
            "postgres://u@[::ffff:127.0.0.1]/db",
            "postgres://u@127.0.0.2/db?application_name=x",
            "postgres://u@localhost/db?sslmode=prefer",
            "postgres://u@db.internal/db?host=127.0.0.1",
        ] {
            assert!(tls_over_loopback(url), "{url}");
        }
        for url in [
            "postgres://u@127.0.0.1:5432/db?sslmode=disable",
            "postgres://u@127.0.0.1:5432/db?ssl-mode=require",
            "postgres://u@127.0.0.1:5432/db?sslmode=verify-full",
            "postgres://u@localhost/db?host=/var/run/postgresql",
            "postgres://u@%2Fvar%2Frun%2Fpostgresql/db",
            "postgres://u@localhost/db?hostaddr=10.0.0.5",
            "postgres://u@db.internal:5432/db",
            "postgres://u@10.0.0.5/db",
            "sqlite://data/immersion.db?mode=rwc",
            "not a url",
        ] {
            assert!(!tls_over_loopback(url), "{url}");
        }
    }
}
