//! No Docker engine runs here, so the compose file is checked against what
//! the api reads: services, health checks, ports and environment.

use std::collections::HashMap;
use std::path::Path;

use api::config::{AppEnv, SETTING_NAMES, Settings};
use serde_norway::Value;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn compose() -> Value {
    let text = std::fs::read_to_string(root().join("docker-compose.yml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

fn str_map(v: &Value) -> HashMap<String, String> {
    v.as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => panic!("unexpected env value {other:?}"),
            };
            (k.as_str().unwrap().to_owned(), value)
        })
        .collect()
}

/// Compose's `${VAR:-default}` and `${VAR:?message}`, with nothing set
/// but what a `:?` variable requires (`required(name)`).
fn interpolate(value: &str, required: &dyn Fn(&str) -> String) -> String {
    let Some(start) = value.find("${") else {
        return value.to_owned();
    };
    let end = value[start..].find('}').unwrap() + start;
    let inner = &value[start + 2..end];
    let replacement = if let Some((_, default)) = inner.split_once(":-") {
        default.to_owned()
    } else if let Some((name, _)) = inner.split_once(":?") {
        required(name)
    } else {
        String::new()
    };
    format!(
        "{}{}{}",
        &value[..start],
        replacement,
        interpolate(&value[end + 1..], required)
    )
}

#[test]
fn services_health_checks_and_dependencies() {
    let c = compose();
    let db = &c["services"]["db"];
    let api = &c["services"]["api"];
    assert!(db["image"].as_str().unwrap().starts_with("postgres:"));
    assert!(
        db["healthcheck"]["test"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|t| t.as_str().unwrap().contains("pg_isready"))
    );
    assert_eq!(api["depends_on"]["db"]["condition"], "service_healthy");
    let check: Vec<&str> = api["healthcheck"]["test"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(check, ["CMD", "/app/immersion", "healthcheck"]);
    assert_eq!(
        api::cli::parse(&["healthcheck".to_owned()]),
        Ok(api::cli::Command::HealthCheck)
    );
}

#[test]
fn the_dockerfile_is_multi_stage_and_exposes_the_published_port() {
    let c = compose();
    let api = &c["services"]["api"];
    let dockerfile = root().join(api["build"]["dockerfile"].as_str().unwrap());
    let text = std::fs::read_to_string(dockerfile).unwrap();
    let stages = text.lines().filter(|l| l.starts_with("FROM ")).count();
    assert!(stages >= 2, "not multi-stage");
    assert!(
        text.contains("--locked"),
        "the image builds from Cargo.lock"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("ENV ") && l.contains("APP_ENV=production")),
        "the image runs in production mode"
    );

    let ports: Vec<&str> = api["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(ports.len(), 1);
    let container_port = ports[0].rsplit(':').next().unwrap();
    assert!(
        text.contains(&format!("EXPOSE {container_port}")),
        "EXPOSE {container_port} missing"
    );

    let env = str_map(&api["environment"]);
    let bind = env["BIND_ADDR"].rsplit(':').next().unwrap().to_owned();
    assert_eq!(
        bind, container_port,
        "BIND_ADDR does not match the published port"
    );
}

#[test]
fn the_api_environment_is_what_the_settings_read_and_it_parses() {
    let c = compose();
    let env = str_map(&c["services"]["api"]["environment"]);
    for key in env.keys() {
        assert!(
            SETTING_NAMES.contains(&key.as_str()),
            "{key} is not a setting the api reads"
        );
    }
    let vars: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                interpolate(v, &|name| match name {
                    "PUBLIC_URL" => "https://immersion.example".to_owned(),
                    "SMTP_URL" => "smtp://mail.example:587".to_owned(),
                    _ => "a-secret-of-at-least-32-characters!!".to_owned(),
                }),
            )
        })
        .collect();
    let settings = Settings::from_vars(&vars).unwrap();
    assert_eq!(settings.app_env, AppEnv::Production);
    assert!(!settings.demo_data);

    // The database URL names the db service with its credentials.
    let db_env = str_map(&c["services"]["db"]["environment"]);
    let expected = format!(
        "postgres://{}:{}@db:5432/{}",
        db_env["POSTGRES_USER"], db_env["POSTGRES_PASSWORD"], db_env["POSTGRES_DB"]
    );
    assert_eq!(settings.database_url, expected);

    // Without JWT_SECRET or the Stripe settings the stack refuses to start
    // (compose's `:?`): production never runs the local gateway.
    for required in [
        "PUBLIC_URL",
        "SMTP_URL",
        "JWT_SECRET",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_PRICE_MONTHLY",
        "STRIPE_PRICE_YEARLY",
    ] {
        assert!(env[required].contains(":?"), "{required} is not required");
    }
    assert!(settings.stripe_secret_key.is_some());
}

#[test]
fn the_readme_documents_every_setting() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for name in SETTING_NAMES {
        assert!(
            readme.contains(&format!("`{name}`")),
            "README lacks `{name}`"
        );
    }
}
