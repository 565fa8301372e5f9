//! What the benchmarks share: a database of their own on the PostgreSQL
//! server of `BENCH_DATABASE_URL`, created for the run and dropped after
//! it, whatever the run came to.

use std::future::Future;

use sea_orm::{ConnectionTrait, Database};
use uuid::Uuid;

/// The server's URL: `BENCH_DATABASE_URL`, else the local PostgreSQL
/// without TLS, as a server on the same machine is best reached (README,
/// "Benchmarks": TLS over the loopback cost the api's rush about a fifth
/// of its rate, pgbench's about an eighth).
pub fn admin_url() -> String {
    std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| {
        "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".to_owned()
    })
}

/// Runs `bench` on the URL of a new database of the server at `admin_url`.
pub async fn in_own_database<F, Fut>(admin_url: &str, bench: F) -> Result<(), String>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let name = format!("immersion_bench_{}", Uuid::new_v4().simple());
    let admin = Database::connect(admin_url)
        .await
        .map_err(|e| e.to_string())?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .map_err(|e| e.to_string())?;
    // The same server and options (`?sslmode=…`), another database.
    let (base, query) = admin_url
        .split_once('?')
        .map_or((admin_url, String::new()), |(b, q)| (b, format!("?{q}")));
    let prefix = base.rsplit_once('/').map_or(base, |(p, _)| p);
    let result = bench(format!("{prefix}/{name}{query}")).await;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .map_err(|e| e.to_string())?;
    result
}
