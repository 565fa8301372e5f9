//! The command line (clap): `serve` (default), `migrate`, `openapi`,
//! `promote-admin EMAIL`, `healthcheck`, `backup`, `restore`, and the jobs
//! run once: `sweep`, `expire-subscriptions`, `audit`, `reconcile`.
//! `--help` lists them.

use std::process::ExitCode;

use common::auth::Role;

use crate::config::Settings;
use crate::domain::accounts::users;
use crate::startup::Application;

/// The api server and its maintenance commands.
#[derive(Debug, clap::Parser)]
#[command(name = "immersion", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, PartialEq, Eq, clap::Subcommand)]
pub enum Command {
    /// Serves the api (the default), with the background jobs.
    Serve {
        /// Never seed demo data, even in development.
        #[arg(long)]
        no_demo: bool,
    },
    /// Applies pending migrations to DATABASE_URL.
    Migrate,
    /// Prints the OpenAPI document (openapi.yaml is this output).
    #[command(name = "openapi")]
    OpenApi {
        /// JSON instead of YAML.
        #[arg(long)]
        json: bool,
    },
    /// Gives an existing user the admin role.
    PromoteAdmin {
        /// The user's e-mail address.
        email: String,
    },
    /// Takes the admin role from a user (kept in the role changes).
    DemoteAdmin {
        /// The user's e-mail address.
        email: String,
    },
    /// Asks the local server's /health (for container health checks).
    #[command(name = "healthcheck")]
    HealthCheck,
    /// Expires lapsed holds once (what the every-minute job does).
    Sweep,
    /// Deactivates subscriptions whose period is over (the hourly job).
    ExpireSubscriptions,
    /// Checks seat counters, payments, owed refunds and anomalies; exits
    /// non-zero on drift.
    Audit,
    /// Brings in what Stripe says and webhooks missed; exits non-zero on
    /// drift it could not repair.
    Reconcile,
    /// Takes a checked copy of the database while the server runs
    /// (SQLite: VACUUM INTO; PostgreSQL: pg_dump) and prints its path.
    Backup {
        /// Where to write it (else BACKUP_DIR).
        #[arg(long)]
        to: Option<std::path::PathBuf>,
    },
    /// Puts a copy back in place of the database, keeping the current one
    /// aside, then migrates and audits. Refused while a server runs on it.
    Restore {
        /// The copy (from `backup`).
        file: std::path::PathBuf,
    },
}

/// What the command line asks for. `Err` carries clap's own text: the
/// usage for a mistake, or the help and version when asked (then `true`:
/// not an error).
pub fn parse(args: &[String]) -> Result<Command, (String, bool)> {
    use clap::Parser;
    let argv = std::iter::once("immersion".to_owned()).chain(args.iter().cloned());
    match Cli::try_parse_from(argv) {
        Ok(cli) => Ok(cli.command.unwrap_or(Command::Serve { no_demo: false })),
        Err(e) => {
            let asked = matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            );
            Err((e.render().to_string(), asked))
        }
    }
}

pub async fn run(command: Command) -> ExitCode {
    match command {
        Command::OpenApi { json } => print_openapi(json),
        Command::HealthCheck => health_check(),
        other => with_settings(other).await,
    }
}

fn print_openapi(json: bool) -> ExitCode {
    let text = if json {
        crate::http::docs::openapi()
            .to_pretty_json()
            .map_err(|e| e.to_string())
    } else {
        crate::http::docs::openapi_yaml().map_err(|e| e.to_string())
    };
    match text {
        Ok(t) => {
            print!("{t}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// A dependency-free HTTP/1.0 GET of `/health` on the configured port, so
/// the runtime image needs no curl.
fn health_check() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    match local_health(&settings) {
        Ok(text) if text.starts_with("HTTP/1.1 200") || text.starts_with("HTTP/1.0 200") => {
            ExitCode::SUCCESS
        }
        Ok(text) => fail(text.lines().next().unwrap_or("no answer")),
        Err(e) => fail(&e.to_string()),
    }
}

/// The local server's answer to `GET /health`, read raw.
fn local_health(settings: &Settings) -> std::io::Result<String> {
    use std::io::{Read, Write};
    use std::time::Duration;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], settings.bind_addr.port()));
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut buf = String::new();
    stream.read_to_string(&mut buf)?;
    Ok(buf)
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

async fn with_settings(command: Command) -> ExitCode {
    let mut settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    crate::telemetry::init(settings.log_format);
    match command {
        Command::Serve { no_demo } => {
            settings.demo_data &= !no_demo;
            match Application::build(settings).await {
                Ok(app) => match app.run_until_stopped().await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => fail(&e.to_string()),
                },
                Err(e) => fail(&e.to_string()),
            }
        }
        Command::Migrate => {
            let result = async {
                let db = crate::db::connect(&settings.database_url).await?;
                crate::db::migrate(&db).await?;
                crate::domain::upgrades::after_migrations(&db).await
            }
            .await;
            match result {
                Ok(()) => {
                    println!("migrations applied");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_string()),
            }
        }
        Command::PromoteAdmin { email } => set_role(&settings, &email, Role::Admin).await,
        Command::DemoteAdmin { email } => set_role(&settings, &email, Role::User).await,
        Command::Sweep => {
            let result = async {
                let db = crate::db::connect(&settings.database_url)
                    .await
                    .map_err(|e| e.to_string())?;
                let gateways =
                    crate::startup::payment_gateway(&settings, None).map_err(|e| e.to_string())?;
                crate::jobs::sweeper::sweep_once(
                    &db,
                    gateways.active.as_ref(),
                    &gateways.policy(&settings).offers,
                    chrono::Utc::now(),
                )
                .await
                .map_err(|e| e.to_string())
            }
            .await;
            match result {
                Ok(n) => {
                    println!("{n} lapsed holds expired");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::ExpireSubscriptions => {
            let result = async {
                let db = crate::db::connect(&settings.database_url)
                    .await
                    .map_err(|e| e.to_string())?;
                let gateways =
                    crate::startup::payment_gateway(&settings, None).map_err(|e| e.to_string())?;
                let grace = gateways.policy(&settings).past_due_grace;
                crate::domain::subscriptions::deactivate_expired(&db, grace, chrono::Utc::now())
                    .await
                    .map_err(|e| e.to_string())
            }
            .await;
            match result {
                Ok(n) => {
                    println!("{n} expired subscriptions deactivated");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_string()),
            }
        }
        Command::Audit => {
            let result = async {
                let db = crate::db::connect(&settings.database_url)
                    .await
                    .map_err(|e| e.to_string())?;
                audit(&settings, &db).await
            }
            .await;
            report_audit(result)
        }
        Command::Reconcile => {
            let result = async {
                let db = crate::db::connect(&settings.database_url)
                    .await
                    .map_err(|e| e.to_string())?;
                let gateways =
                    crate::startup::payment_gateway(&settings, None).map_err(|e| e.to_string())?;
                let policy = gateways.policy(&settings);
                crate::domain::payment_events::reconcile::run(
                    &db,
                    gateways.active.as_ref(),
                    &policy,
                    chrono::Utc::now(),
                )
                .await
                .map_err(|e| e.to_string())
            }
            .await;
            match result {
                Ok(report) => {
                    for line in &report.changed {
                        println!("repaired: {line}");
                    }
                    for line in &report.unrepaired {
                        eprintln!("drift: {line}");
                    }
                    if report.unrepaired.is_empty() {
                        println!("reconcile: {} changes", report.changed.len());
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    }
                }
                Err(e) => fail(&e),
            }
        }
        Command::Backup { to } => match back_up(&settings, to).await {
            Ok(path) => {
                println!("{}", path.display());
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        Command::Restore { file } => restore(&settings, &file).await,
        Command::OpenApi { .. } | Command::HealthCheck => ExitCode::SUCCESS,
    }
}

/// `backup [--to DIR]`.
async fn back_up(
    settings: &Settings,
    to: Option<std::path::PathBuf>,
) -> Result<std::path::PathBuf, String> {
    let dir = to
        .or_else(|| settings.backup.as_ref().map(|b| b.dir.clone()))
        .ok_or("say where: --to DIR, or set BACKUP_DIR")?;
    let db = crate::db::connect(&settings.database_url)
        .await
        .map_err(|e| e.to_string())?;
    let taken =
        crate::db::backup::take(&db, &settings.database_url, &dir, chrono::Utc::now()).await;
    db.close().await.ok();
    taken.map_err(|e| e.to_string())
}

/// `restore FILE`: refused while a server answers on this machine or runs
/// its jobs on the database; then the swap, the migrations, the audit.
async fn restore(settings: &Settings, file: &std::path::Path) -> ExitCode {
    if local_health(settings).is_ok_and(|text| text.starts_with("HTTP/1.")) {
        return fail(&format!(
            "a server answers on port {}: stop every instance before restoring",
            settings.bind_addr.port()
        ));
    }
    let now = chrono::Utc::now();
    let result = async {
        let db = crate::db::connect(&settings.database_url)
            .await
            .map_err(|e| e.to_string())?;
        let running = crate::db::backup::server_running(&db, now).await;
        db.close().await.ok();
        if let Some(until) = running.map_err(|e| e.to_string())? {
            return Err(format!(
                "a server runs its jobs on this database (next tick at {until}): stop every \
                 instance, wait for that time to pass, then restore"
            ));
        }
        let aside = crate::db::backup::restore(file, &settings.database_url, now)
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "restored {}; the previous database is kept as {aside}",
            file.display()
        );
        let db = crate::db::connect(&settings.database_url)
            .await
            .map_err(|e| e.to_string())?;
        crate::db::migrate(&db).await.map_err(|e| e.to_string())?;
        crate::domain::upgrades::after_migrations(&db)
            .await
            .map_err(|e| e.to_string())?;
        audit(settings, &db).await
    }
    .await;
    report_audit(result)
}

/// The audit of `db` under the settings' rules.
async fn audit(
    settings: &Settings,
    db: &sea_orm::DatabaseConnection,
) -> Result<Vec<String>, String> {
    let gateways = crate::startup::payment_gateway(settings, None).map_err(|e| e.to_string())?;
    crate::domain::reports::audit::run(db, &gateways.policy(settings))
        .await
        .map_err(|e| e.to_string())
}

/// Prints the audit's drift (non-zero exit) or that there is none.
fn report_audit(result: Result<Vec<String>, String>) -> ExitCode {
    match result {
        Ok(drift) if drift.is_empty() => {
            println!("audit: no drift");
            ExitCode::SUCCESS
        }
        Ok(drift) => {
            for line in &drift {
                eprintln!("drift: {line}");
            }
            ExitCode::FAILURE
        }
        Err(e) => fail(&e),
    }
}

/// `promote-admin` and `demote-admin`: the role change is kept.
async fn set_role(settings: &Settings, email: &str, role: Role) -> ExitCode {
    let result = async {
        let db = crate::db::connect(&settings.database_url)
            .await
            .map_err(users::PromoteError::from)?;
        users::set_role_by_cli(&db, email, role).await
    }
    .await;
    match result {
        Ok(user) => {
            println!("{} is now {}", user.email, user.role.as_str());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn parses_each_command() {
        assert_eq!(parse(&args(&[])), Ok(Command::Serve { no_demo: false }));
        assert_eq!(
            parse(&args(&["serve", "--no-demo"])),
            Ok(Command::Serve { no_demo: true })
        );
        assert_eq!(parse(&args(&["migrate"])), Ok(Command::Migrate));
        assert_eq!(
            parse(&args(&["openapi", "--json"])),
            Ok(Command::OpenApi { json: true })
        );
        assert_eq!(
            parse(&args(&["promote-admin", "a@b.fr"])),
            Ok(Command::PromoteAdmin {
                email: "a@b.fr".into()
            })
        );
        assert_eq!(
            parse(&args(&["demote-admin", "a@b.fr"])),
            Ok(Command::DemoteAdmin {
                email: "a@b.fr".into()
            })
        );
        assert_eq!(parse(&args(&["reconcile"])), Ok(Command::Reconcile));
        assert!(parse(&args(&["promote-admin"])).is_err_and(|(_, asked)| !asked));
        assert!(parse(&args(&["bogus"])).is_err_and(|(_, asked)| !asked));
    }

    #[test]
    fn the_help_lists_every_command() {
        let (help, asked) = parse(&args(&["--help"])).unwrap_err();
        assert!(asked);
        for command in [
            "serve",
            "migrate",
            "openapi",
            "promote-admin",
            "healthcheck",
            "sweep",
            "expire-subscriptions",
            "audit",
            "reconcile",
            "backup",
            "restore",
        ] {
            assert!(help.contains(command), "{command} missing from:\n{help}");
        }
    }
}
