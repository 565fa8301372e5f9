//! `cargo xtask run` and `cargo xtask test`: the README's two commands;
//! `cargo xtask simulate --seeds N`: the long run of the simulation.
//! Plain `std::process` so the task runner itself compiles in seconds.

use std::process::{Command, ExitCode};

mod web;

const USAGE: &str = "usage: cargo xtask <run | test | build-web | simulate --seeds N [--first K]> [extra arguments for the api or cargo test]";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let task = args.next();
    let rest: Vec<String> = args.collect();
    let result = match task.as_deref() {
        Some("run") => run(&rest),
        Some("test") => test(&rest),
        Some("build-web") => web::build(),
        Some("simulate") => simulate(&rest),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

fn status(mut cmd: Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    let st = cmd.status().map_err(|e| format!("{shown}: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({st})"))
    }
}

/// Builds the web app and the api, then starts the api on the embedded
/// SQLite default, with demo data. The api builds while the web app's
/// tools and bundles do: each pipeline has stretches on one core (a
/// link, an LTO pass, a download) that the other fills. It is the debug
/// build the tests use (`cargo xtask test` then reuses it); `--release`
/// first gives the optimised server.
fn run(extra: &[String]) -> Result<(), String> {
    let release = extra.first().is_some_and(|a| a == "--release");
    let extra = if release { &extra[1..] } else { extra };
    let mut api = cargo();
    api.args(["build", "--locked", "-p", "api", "--bin", "immersion"]);
    if release {
        api.arg("--release");
    }
    let shown = format!("{api:?}");
    let mut building = api.spawn().map_err(|e| format!("{shown}: {e}"))?;
    let web = web::build();
    let built = building.wait().map_err(|e| format!("{shown}: {e}"))?;
    web?;
    if !built.success() {
        return Err(format!("{shown} failed ({built})"));
    }
    let mut cmd = cargo();
    cmd.args(["run", "--locked", "-q", "-p", "api", "--bin", "immersion"]);
    if release {
        cmd.arg("--release");
    }
    cmd.args(["--", "serve"]).args(extra);
    status(cmd)
}

/// Runs the simulation (`api/tests/api/simulation`) over seeds `first`
/// to `first + seeds`, on the database `TEST_DATABASE_URL` names (else
/// SQLite), and prints the seeds run and the steps per second.
fn simulate(args: &[String]) -> Result<(), String> {
    let mut seeds = "1000".to_owned();
    let mut first = "1".to_owned();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let value = it.next().ok_or_else(|| format!("{arg} needs a number"))?;
        if value.parse::<u64>().is_err() {
            return Err(format!("{arg} {value}: not a number"));
        }
        match arg.as_str() {
            "--seeds" => seeds.clone_from(value),
            "--first" => first.clone_from(value),
            _ => return Err(USAGE.to_owned()),
        }
    }
    let mut cmd = cargo();
    // Optimised: the long run is thousands of seeds.
    cmd.args([
        "test",
        "--release",
        "-p",
        "api",
        "--test",
        "api",
        "simulation::seeded_runs_keep_every_invariant",
        "--",
        "--exact",
        "--nocapture",
    ])
    .env("SIMULATION_SEEDS", seeds)
    .env("SIMULATION_FIRST", first);
    status(cmd)
}

/// The Python packages the tests call: the official Stripe SDK signs
/// webhook payloads exactly as Stripe does; localstripe simulates Stripe's
/// customers and subscriptions and sends its own signed webhooks;
/// openapi-spec-validator checks the OpenAPI document; prometheus_client
/// parses `/metrics` as Prometheus itself would; standardwebhooks (the
/// specification's own library) verifies our outgoing webhooks;
/// openapi-python-client generates a client from `openapi.yaml`.
const PYTHON_PACKAGES: &[(&str, &str)] = &[
    ("stripe", "stripe==16.1.0"),
    ("localstripe", "localstripe==1.15.10"),
    ("openapi_spec_validator", "openapi-spec-validator==0.9.0"),
    ("prometheus_client", "prometheus_client==0.26.0"),
    ("standardwebhooks", "standardwebhooks==1.1.0"),
    ("openapi_python_client", "openapi-python-client==0.29.1"),
];

fn ensure_python_packages() -> Result<(), String> {
    for (module, requirement) in PYTHON_PACKAGES {
        let present = Command::new("python3")
            .args(["-c", &format!("import {module}")])
            .output()
            .map_err(|e| format!("python3 is needed by the tests: {e}"))?
            .status
            .success();
        if !present {
            eprintln!("xtask: installing {requirement} (PyPI)");
            let mut pip = Command::new("python3");
            pip.args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                requirement,
            ]);
            status(pip)?;
        }
    }
    Ok(())
}

/// Installs the Debian packages (`(program, package)`) whose program is
/// missing, when run as root (as on CI or a fresh machine); otherwise says
/// which to install.
fn ensure_debian_packages(wanted: &[(&str, &str)]) -> Result<(), String> {
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|(program, _)| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {program} || test -x {program}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if !root {
        return Err(format!(
            "the tests need Debian's {}: apt-get install {}",
            missing.join(", "),
            missing.join(" ")
        ));
    }
    eprintln!("xtask: installing {} (Debian)", missing.join(", "));
    let mut update = Command::new("apt-get");
    update.args(["update", "-qq"]);
    status(update)?;
    let mut install = Command::new("apt-get");
    install.args(["install", "-y", "-qq"]).args(&missing);
    status(install)
}

/// The benchmarks' smoke run on PostgreSQL (`url`): a few clients for a
/// second each, on the debug build. It fails when the benchmark would
/// report a failed request (a new rule that refuses its load, say); the
/// speed goals are the full runs' (README, "Benchmarks").
fn bench_smoke(url: &str) -> Result<(), String> {
    ensure_debian_packages(&[
        ("wrk", "wrk"),
        ("nginx", "nginx-light"),
        ("pgbench", "postgresql-contrib"),
    ])?;
    for (bin, args) in [
        ("booking_rush", &["4", "1", "1"][..]),
        ("catalog", &["1", "1"][..]),
        ("webhooks", &[][..]),
    ] {
        let mut cmd = cargo();
        cmd.args(["run", "--locked", "-q", "-p", "bench", "--bin", bin, "--"])
            .args(args)
            .env("BENCH_SMOKE", "1")
            .env("BENCH_DATABASE_URL", url);
        status(cmd)?;
    }
    Ok(())
}

/// The rush benchmark's smoke run on the embedded SQLite default (a file
/// of its own, beside Debian's `sqlite3` running the same statements):
/// a few clients for a second, on the debug build; it fails when a hold
/// fails, as `bench_smoke` does on PostgreSQL.
fn sqlite_rush_smoke() -> Result<(), String> {
    ensure_debian_packages(&[("wrk", "wrk"), ("sqlite3", "sqlite3")])?;
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--locked",
        "-q",
        "-p",
        "bench",
        "--bin",
        "booking_rush",
        "--",
    ])
    .args(["--sqlite", "4", "1", "1"])
    .env("BENCH_SMOKE", "1");
    status(cmd)
}

/// Browser tests: the built SPA served by the real api, in Debian's
/// Chromium driven by npm's playwright-core (no browser download).
fn e2e() -> Result<(), String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    if chromium == "/usr/bin/chromium" {
        ensure_debian_packages(&[("/usr/bin/chromium", "chromium")])?;
    }
    if !std::path::Path::new(&chromium).exists() {
        return Err(format!(
            "{chromium} is missing: install Debian's chromium (apt-get install chromium) for the browser tests"
        ));
    }
    web::build()?;
    let mut cmd = cargo();
    cmd.args(["build", "--locked", "-p", "api", "--bin", "immersion"]);
    status(cmd)?;
    let e2e = web::root().join("e2e");
    let mut npm = Command::new("npm");
    npm.args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&e2e);
    status(npm)?;
    let mut node = Command::new("node");
    node.args(["--test", "tests/"]).current_dir(&e2e);
    status(node)
}

/// The memory benchmark's smoke run (`bench/memory.sh`), on the debug
/// build the browser tests used: it fails when the server does not start
/// or a request fails; the budget is the release build's (README).
fn memory_smoke() -> Result<(), String> {
    let root = web::root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), std::path::PathBuf::from);
    let mut cmd = Command::new("bash");
    cmd.arg(root.join("bench").join("memory.sh"))
        .arg(target.join("debug").join("immersion"))
        .env("BENCH_SMOKE", "1");
    status(cmd)
}

/// The whole test suite: unit and integration tests on SQLite and the
/// rush benchmark's smoke run there; on PostgreSQL as well when
/// `TEST_DATABASE_URL` names a server (with the benchmarks' smoke run
/// there); then the browser tests, and the memory benchmark's smoke run.
fn test(extra: &[String]) -> Result<(), String> {
    ensure_python_packages()?;
    let mut cmd = cargo();
    cmd.args(["test", "--workspace", "--exclude", "web"])
        .args(extra);
    cmd.env_remove("TEST_DATABASE_URL");
    status(cmd)?;
    eprintln!("xtask: the rush benchmark's smoke run on SQLite");
    sqlite_rush_smoke()?;
    if let Ok(url) = std::env::var("TEST_DATABASE_URL")
        && !url.is_empty()
    {
        eprintln!("xtask: integration tests again on PostgreSQL");
        let mut cmd = cargo();
        cmd.args(["test", "-p", "api", "--test", "api"]).args(extra);
        status(cmd)?;
        eprintln!("xtask: the benchmarks' smoke run on PostgreSQL");
        bench_smoke(&url)?;
    }
    e2e()?;
    memory_smoke()
}
