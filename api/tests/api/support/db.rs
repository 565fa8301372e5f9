//! A database of the test's own: a SQLite file, or a PostgreSQL database
//! made on the server `TEST_DATABASE_URL` names; removed with the test.

use sea_orm::{ConnectionTrait, Database};

/// A fresh database, dropped with the test.
pub enum TestDb {
    Sqlite(std::path::PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// A fresh database, connected and migrated.
    pub async fn connected() -> (Self, sea_orm::DatabaseConnection) {
        let (db, url) = Self::create().await;
        let conn = api::db::connect(&url)
            .await
            .expect("test database reachable");
        api::db::migrate(&conn).await.expect("migrated");
        (db, conn)
    }

    /// A fresh, empty database (no migration run) and its URL.
    pub async fn empty() -> (Self, String) {
        Self::create().await
    }

    pub(super) async fn create() -> (Self, String) {
        let id = uuid::Uuid::new_v4().simple().to_string();
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(admin_url) if admin_url.starts_with("postgres") => {
                let name = format!("immersion_test_{id}");
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("TEST_DATABASE_URL reachable");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let url = replace_db_name(&admin_url, &name);
                (Self::Postgres { admin_url, name }, url)
            }
            _ => {
                let path = std::env::temp_dir().join(format!("immersion-test-{id}.db"));
                let url = format!("sqlite://{}?mode=rwc", path.display());
                (Self::Sqlite(path), url)
            }
        }
    }
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let prefix = base.rsplit_once('/').map_or(base, |(p, _)| p);
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self {
            Self::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Self::Postgres { admin_url, name } => {
                let (url, sql) = (
                    admin_url.clone(),
                    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                );
                // Drop runs outside async; a short-lived runtime on its own thread does the work.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    rt.block_on(async {
                        if let Ok(db) = Database::connect(&url).await {
                            let _ = db.execute_unprepared(&sql).await;
                            let _ = db.close().await;
                        }
                    });
                    Ok::<_, std::io::Error>(())
                })
                .join();
            }
        }
    }
}
