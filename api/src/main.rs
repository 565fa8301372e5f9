//! `immersion`: the api server and its maintenance commands.

use std::process::ExitCode;

#[actix_web::main]
async fn main() -> ExitCode {
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
