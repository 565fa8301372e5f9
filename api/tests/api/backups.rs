//! Backups taken while the server works, checked, put back: on SQLite
//! (`VACUUM INTO`) and PostgreSQL (`pg_dump`), by the job and by the
//! command line.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::support::seats::{paid_seat, seat_in};
use crate::support::{TestApp, spawn_app};

fn scratch(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("immersion-{what}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An empty database beside the test's own, of the same kind: its URL.
async fn new_place(app: &TestApp) -> String {
    match api::db::backup::sqlite_path(&app.database_url) {
        Some(_) => format!(
            "sqlite://{}",
            scratch("restored").join("immersion.db").display()
        ),
        None => {
            use sea_orm::ConnectionTrait;
            let name = format!("immersion_restored_{}", uuid::Uuid::new_v4().simple());
            let db = sea_orm::Database::connect(&app.database_url).await.unwrap();
            db.execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            db.close().await.ok();
            let (base, query) = app
                .database_url
                .split_once('?')
                .map_or((app.database_url.as_str(), String::new()), |(b, q)| {
                    (b, format!("?{q}"))
                });
            format!("{}/{name}{query}", base.rsplit_once('/').unwrap().0)
        }
    }
}

async fn counts(db: &sea_orm::DatabaseConnection) -> (u64, u64) {
    use sea_orm::{EntityTrait, PaginatorTrait};
    (
        entity::immersion_bookings::Entity::find()
            .count(db)
            .await
            .unwrap(),
        entity::users::Entity::find().count(db).await.unwrap(),
    )
}

#[actix_web::test]
async fn a_backup_taken_during_a_rush_restores_whole_and_clean() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({"max_places": 60})).await;
    let sid = s["id"].as_str().unwrap().to_owned();
    let dir = scratch("backups");
    // Holds and payments keep coming while the copy is taken.
    let rush = async {
        let mut seats = Vec::new();
        for i in 0..12 {
            let (payer, holder) = (
                format!("paid{i}@example.com"),
                format!("held{i}@example.com"),
            );
            let (paid, held) =
                tokio::join!(paid_seat(&app, &sid, &payer), seat_in(&app, &sid, &holder));
            seats.push((paid, held));
        }
        seats
    };
    let copy = async {
        // Some of the rush first.
        while counts(&app.state.db).await.0 < 6 {
            tokio::task::yield_now().await;
        }
        api::db::backup::take(&app.state.db, &app.database_url, &dir, chrono::Utc::now()).await
    };
    let (_, copy) = tokio::join!(rush, copy);
    let copy = copy.expect("backup taken");

    // Named by its time, private, checked.
    let name = copy.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(name.starts_with("immersion-"), "{name}");
    let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    api::db::backup::check(&copy)
        .await
        .expect("the copy checks");

    // Put back in a new place: whole (no half-written booking: every seat
    // counter matches its bookings) and the audit clean.
    let place = new_place(&app).await;
    api::db::backup::restore_into(&copy, &place)
        .await
        .expect("restored");
    let restored = api::db::connect(&place).await.unwrap();
    let (bookings, users) = counts(&restored).await;
    assert!(bookings >= 6, "{bookings} bookings in the copy");
    assert!(users > 1, "{users} users in the copy");
    let drift = api::domain::reports::audit::run(&restored, &app.state.policy)
        .await
        .unwrap();
    assert!(drift.is_empty(), "{drift:?}");
    // The schema is the latest: nothing to migrate.
    api::db::migrate(&restored).await.unwrap();
    restored.close().await.ok();
    assert!(app.audit().await.is_empty());
    if api::db::backup::sqlite_path(&place).is_none() {
        use sea_orm::ConnectionTrait;
        let name = place.split('?').next().unwrap().rsplit('/').next().unwrap();
        app.state
            .db
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .unwrap();
    }
}

#[actix_web::test]
async fn the_job_takes_a_copy_each_tick_and_keeps_backup_keep() {
    let dir = scratch("job");
    let app = TestApp::builder()
        .env("BACKUP_DIR", dir.to_str().unwrap())
        .env("BACKUP_KEEP", "2")
        .spawn()
        .await;
    app.register("marie@example.com").await;
    let start = chrono::Utc::now();
    let mut taken = Vec::new();
    for hour in 0..3 {
        let at = start + chrono::Duration::hours(hour);
        let copy = api::jobs::backup_once(&app.state, at).await.unwrap();
        taken.push(copy.expect("BACKUP_DIR is set"));
    }
    let mut left: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    left.sort();
    assert_eq!(left, taken[1..].to_vec());
    let metrics = app.state.metrics.backup_last_success.get();
    assert_eq!(
        metrics,
        (start + chrono::Duration::hours(2)).timestamp() as f64
    );
}

fn immersion(database_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_immersion"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("JWT_SECRET", "test-secret-test-secret-test-secret-42")
        .env("DEMO_DATA", "false")
        .env("DATABASE_URL", database_url)
        .current_dir(std::env::temp_dir());
    cmd
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

#[actix_web::test]
async fn restore_refuses_a_damaged_copy_and_a_running_server_then_puts_one_back() {
    let app = spawn_app().await;
    let Some(db_file) = api::db::backup::sqlite_path(&app.database_url) else {
        // The swap renames databases: on PostgreSQL the running test app's
        // connections would stop it. Restoring into a new place is tested
        // on both (above).
        return;
    };
    app.register("before@example.com").await;
    let dir = scratch("cli");
    let (ok, out, err) = run(immersion(&app.database_url)
        .args(["backup", "--to"])
        .arg(&dir));
    assert!(ok, "{err}");
    let copy = PathBuf::from(out.trim());
    assert!(copy.starts_with(&dir), "{out}");
    app.register("after@example.com").await;

    // A damaged copy: refused, and the database untouched.
    let bad = dir.join("immersion-damaged.sqlite3");
    let mut bytes = std::fs::read(&copy).unwrap();
    bytes.truncate(bytes.len() / 2);
    write(&bad, &bytes);
    let (ok, _, err) = run(immersion(&app.database_url).arg("restore").arg(&bad));
    assert!(!ok);
    assert!(
        err.contains("damaged") || err.contains("malformed"),
        "{err}"
    );
    let garbage = dir.join("notes.dump");
    write(&garbage, b"not a backup");
    let (ok, _, err) = run(immersion(&app.database_url).arg("restore").arg(&garbage));
    assert!(!ok);
    assert!(err.contains("cannot be read"), "{err}");

    // A server answers on the configured port: refused.
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let (ok, _, err) = run(immersion(&app.database_url)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .arg("restore")
        .arg(&copy));
    assert!(!ok);
    assert!(err.contains("stop every instance"), "{err}");
    // A server (elsewhere) runs its jobs on the database: refused.
    {
        use sea_orm::{ActiveValue::Set, EntityTrait};
        entity::job_leases::Entity::insert(entity::job_leases::ActiveModel {
            job: Set("sweeper".into()),
            holder: Set(None),
            lease_until: Set(chrono::Utc::now()),
            next_run_at: Set(chrono::Utc::now() + chrono::Duration::seconds(50)),
        })
        .exec(&app.state.db)
        .await
        .unwrap();
    }
    let (ok, _, err) = run(immersion(&app.database_url).arg("restore").arg(&copy));
    assert!(!ok);
    assert!(err.contains("runs its jobs"), "{err}");
    {
        use sea_orm::EntityTrait;
        entity::job_leases::Entity::delete_many()
            .exec(&app.state.db)
            .await
            .unwrap();
    }

    // Stopped: the copy goes back, the current file is kept aside, and the
    // migrations and the audit run.
    let (ok, out, err) = run(immersion(&app.database_url).arg("restore").arg(&copy));
    assert!(ok, "{out}{err}");
    assert!(out.contains("audit: no drift"), "{out}");
    let aside = std::fs::read_dir(db_file.parent().unwrap())
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| {
            e.file_name().to_string_lossy().starts_with(&format!(
                "{}.before-restore-",
                db_file.file_name().unwrap().to_string_lossy()
            ))
        });
    assert!(aside, "the previous database is kept");
    let restored = api::db::connect(&app.database_url).await.unwrap();
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let emails: Vec<String> = entity::users::Entity::find()
        .filter(entity::users::Column::Email.ne("x"))
        .all(&restored)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email)
        .collect();
    assert!(
        emails.contains(&"before@example.com".to_owned()),
        "{emails:?}"
    );
    assert!(
        !emails.contains(&"after@example.com".to_owned()),
        "{emails:?}"
    );
}

/// On PostgreSQL, with no server running on it: `immersion restore` puts a
/// copy back by building it in a new database and swapping the names, and
/// keeps the current one aside under a name of its own.
#[actix_web::test]
async fn on_postgresql_restore_swaps_the_database_and_keeps_the_current_one_aside() {
    use sea_orm::{ConnectionTrait, EntityTrait};
    let (place, url) = crate::support::TestDb::empty().await;
    if !url.starts_with("postgres") {
        // SQLite: the test above.
        return;
    }
    let users = |url: String| async move {
        let db = api::db::connect(&url).await.unwrap();
        let all: Vec<String> = entity::users::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.email)
            .collect();
        db.close().await.ok();
        all
    };
    {
        let db = api::db::connect(&url).await.unwrap();
        api::db::migrate(&db).await.unwrap();
        crate::support::account(&db, "kept@example.com", common::auth::Role::User).await;
        db.close().await.ok();
    }
    let dir = scratch("pg-cli");
    let (ok, out, err) = run(immersion(&url).args(["backup", "--to"]).arg(&dir));
    assert!(ok, "{err}");
    let copy = PathBuf::from(out.trim());
    {
        let db = api::db::connect(&url).await.unwrap();
        crate::support::account(&db, "later@example.com", common::auth::Role::User).await;
        db.close().await.ok();
    }

    let (ok, out, err) = run(immersion(&url).arg("restore").arg(&copy));
    assert!(ok, "{out}{err}");
    assert!(out.contains("audit: no drift"), "{out}");
    assert_eq!(users(url.clone()).await, ["kept@example.com"]);
    // The database as it was before, under the name the command printed.
    let aside = out
        .split_whitespace()
        .find(|w| w.contains("_before_restore_"))
        .expect("the name of the database kept aside")
        .trim_end_matches(['.', ',', ')'])
        .to_owned();
    let (base, _) = url.rsplit_once('/').unwrap();
    let kept = users(format!("{base}/{aside}")).await;
    assert_eq!(kept.len(), 2, "{kept:?}");
    let admin = sea_orm::Database::connect(&std::env::var("TEST_DATABASE_URL").unwrap())
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{aside}\" WITH (FORCE)"))
        .await
        .unwrap();
    admin.close().await.ok();
    drop(place);
}
