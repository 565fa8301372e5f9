//! The layers of `api/src` (DESIGN §1), checked on the source text: the
//! domain knows nothing of HTTP (no actix, no extractor, no app state), the
//! HTTP edge reaches the database only through the domain, and the payment
//! gateways know nothing of the domain.

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Every line of the files under `dir` (or of the file `dir`) that names
/// one of `forbidden`.
fn offending(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
    let files = if root.is_file() {
        vec![root]
    } else {
        sources(&root)
    };
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if let Some(name) = forbidden.iter().find(|f| line.contains(*f)) {
                found.push(format!("{}:{}: {name}", file.display(), n + 1));
            }
        }
    }
    found
}

#[test]
fn the_domain_imports_nothing_of_http() {
    let found = offending(
        "domain",
        &[
            "actix_web",
            "crate::http",
            "crate::state",
            "crate::webhooks",
            "auth::extract",
            "AppState",
            "AuthUser",
            "StatusCode",
        ],
    );
    assert!(
        found.is_empty(),
        "the domain reaches into HTTP:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_app_state_names_nothing_of_the_domain() {
    // `startup` opens the domain's services on the state; the state itself
    // holds settings, pool, gateway and keys.
    let found = offending("state.rs", &["crate::domain", "domain::"]);
    assert!(
        found.is_empty(),
        "the state reaches into the domain:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_ground_floor_imports_nothing_above_it() {
    // Settings, e-mail addresses, errors and the pool are read by every
    // layer, so they read none: no cycle through them.
    let mut found = Vec::new();
    for file in ["config.rs", "email.rs", "error.rs", "db"] {
        found.extend(offending(
            file,
            &[
                "crate::domain",
                "crate::http",
                "crate::state",
                "crate::jobs",
            ],
        ));
    }
    assert!(
        found.is_empty(),
        "a cycle through the ground floor:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_payment_gateways_import_nothing_of_the_domain() {
    let found = offending(
        "payments",
        &["crate::domain", "crate::http", "crate::state"],
    );
    assert!(found.is_empty(), "payments reach up:\n{}", found.join("\n"));
}

#[test]
fn the_http_edge_reaches_the_database_only_through_the_domain() {
    let found = offending(
        "http",
        &[
            "Entity::find",
            "Entity::update",
            "Entity::insert",
            "Entity::delete",
        ],
    );
    assert!(
        found.is_empty(),
        "HTTP handlers query tables:\n{}",
        found.join("\n")
    );
}

#[test]
fn statuses_are_named_by_their_enums_not_by_string_literals() {
    // The stored values of bookings, waiting lists, mails, owed calls and
    // Stripe subscriptions are spelled once, in `common`'s enums (and in
    // the migrations).
    let literals: Vec<String> = [
        "held",
        "confirmed",
        "cancelled",
        "expired",
        "refunded",
        "waiting",
        "offered",
        "booked",
        "lapsed",
        "pending",
        "owed",
        // Stripe's subscription statuses ("active" also names a query
        // parameter, so it is left out).
        "trialing",
        "past_due",
        "unpaid",
        "canceled",
        "incomplete",
        "incomplete_expired",
        "paused",
    ]
    .iter()
    .map(|s| format!("\"{s}\""))
    .collect();
    let literals: Vec<&str> = literals.iter().map(String::as_str).collect();
    let mut found = Vec::new();
    for dir in ["domain", "http", "jobs"] {
        found.extend(offending(dir, &literals));
    }
    assert!(found.is_empty(), "status literals:\n{}", found.join("\n"));
}
