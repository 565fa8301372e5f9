//! Applies pending migrations to `DATABASE_URL` (from the environment or `.env`).

use migration::{Migrator, MigratorTrait};
use sea_orm_migration::sea_orm::Database;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    dotenvy::dotenv().ok();
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("DATABASE_URL is not set");
        return std::process::ExitCode::FAILURE;
    };
    let result = async {
        let db = Database::connect(&url).await?;
        Migrator::up(&db, None).await
    }
    .await;
    match result {
        Ok(()) => {
            println!("migrations applied");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("migration failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
