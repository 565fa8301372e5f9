//! `immersion`: the api server and its maintenance commands.

use std::process::ExitCode;

/// glibc's malloc raises its mmap threshold after the first large block
/// is freed, so the 19 MiB each password hash borrows (Argon2's memory)
/// is then kept in that thread's arena for good: the server idled at
/// 84 MB RSS, two 19 MB arenas among it (read in /proc/PID/smaps). A fixed
/// threshold keeps such blocks mmapped, and so given back when freed
/// (45 MB at rest, 47 MB after concurrent logins). glibc reads the
/// setting only as a process starts: the process starts itself again,
/// once, with it (the same pid, arguments and environment).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn with_fixed_mmap_threshold() {
    use std::os::unix::process::CommandExt;
    const TUNABLE: &str = "glibc.malloc.mmap_threshold";
    const AGAIN: &str = "IMMERSION_MALLOC_TUNED";
    let current = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    if current.contains(TUNABLE) || std::env::var_os(AGAIN).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let tunables = match current.as_str() {
        "" => format!("{TUNABLE}=1048576"),
        other => format!("{other}:{TUNABLE}=1048576"),
    };
    let failed = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("GLIBC_TUNABLES", tunables)
        .env(AGAIN, "1")
        .exec();
    // Only reached when the exec failed: run as we are.
    eprintln!("note: running with glibc's default malloc settings ({failed})");
}

fn main() -> ExitCode {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    with_fixed_mmap_threshold();
    serve()
}

#[actix_web::main]
async fn serve() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match api::cli::parse(&args) {
        Ok(command) => api::cli::run(command).await,
        // Asked for the help or the version: not an error.
        Err((text, true)) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err((usage, false)) => {
            eprint!("{usage}");
            ExitCode::from(2)
        }
    }
}
