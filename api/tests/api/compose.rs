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
    let mut doc: Value = serde_norway::from_str(&text).unwrap();
    // `<<: *anchor` merge keys, as compose applies them.
    doc.apply_merge().unwrap();
    doc
}

fn profiles(service: &Value) -> Vec<&str> {
    service["profiles"]
        .as_sequence()
        .map(|p| p.iter().map(|v| v.as_str().unwrap()).collect())
        .unwrap_or_default()
}

/// A service's environment with the required variables given, as settings.
fn settings_of(service: &Value) -> Settings {
    let env = str_map(&service["environment"]);
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
                    "SMTP_URL" => "smtp://mail.example:587?tls=required".to_owned(),
                    "COMPANY_SIRET" => "732 829 320 00074".to_owned(),
                    "COMPANY_NDA" => "11 75 12345 75".to_owned(),
                    _ => "a-secret-of-at-least-32-characters!!".to_owned(),
                }),
            )
        })
        .collect();
    Settings::from_vars(&vars).unwrap()
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
    let settings = settings_of(&c["services"]["api"]);
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

#[test]
fn the_scaled_profile_puts_nginx_before_three_replicas_migrated_once() {
    let c = compose();
    let services = &c["services"];
    for name in ["migrate", "replica", "lb"] {
        assert_eq!(profiles(&services[name]), ["scaled"], "{name}");
    }
    // One instance or the scaled set, never both on port 8080.
    assert_eq!(profiles(&services["api"]), ["single"]);
    assert!(profiles(&services["db"]).is_empty(), "db runs in both");

    // The migrations run once, before any replica, in a one-shot service.
    let migrate = &services["migrate"];
    assert_eq!(migrate["command"][0], "migrate");
    assert_eq!(
        api::cli::parse(&["migrate".to_owned()]),
        Ok(api::cli::Command::Migrate)
    );
    assert_eq!(migrate["restart"], "no");
    let replica = &services["replica"];
    assert_eq!(replica["deploy"]["replicas"], 3);
    assert_eq!(
        replica["depends_on"]["migrate"]["condition"],
        "service_completed_successfully"
    );
    assert_eq!(replica["depends_on"]["db"]["condition"], "service_healthy");
    assert!(
        replica["ports"].is_null(),
        "replicas are reached through the load balancer only"
    );
    let grace = replica["stop_grace_period"].as_str().unwrap();
    let grace: u64 = grace.trim_end_matches('s').parse().unwrap();

    // Every replica reads valid production settings; together their pools
    // stay below PostgreSQL's default 100 connections; they drain within
    // compose's grace.
    let settings = settings_of(replica);
    assert_eq!(settings.app_env, AppEnv::Production);
    assert_eq!(settings.database_url, settings_of(migrate).database_url);
    // Each replica's pool, plus its readiness check's own connection.
    let pool = settings.database_max_connections.unwrap() + 1;
    assert!(3 * pool < 100, "3 × {pool} connections");
    assert!(settings.shutdown_timeout.as_secs() < grace);

    // The load balancer: nginx, on the published port, with a fixed
    // address that the replicas (and only they) trust for X-Forwarded-For.
    let lb = &services["lb"];
    assert!(lb["image"].as_str().unwrap().starts_with("nginx:"));
    assert_eq!(lb["ports"][0], "8080:80");
    assert_eq!(lb["depends_on"]["replica"]["condition"], "service_healthy");
    let lb_ip: std::net::IpAddr = lb["networks"]["backend"]["ipv4_address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(settings.trusted_proxies.iter().any(|n| n.contains(&lb_ip)));
    assert!(settings_of(&services["api"]).trusted_proxies.is_empty());
    let subnet: ipnet::IpNet = c["networks"]["backend"]["ipam"]["config"][0]["subnet"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(subnet.contains(&lb_ip));

    // Its configuration: mounted from the repository, round robin over
    // the replica service, never retrying a POST on another replica.
    let mount = lb["volumes"][0].as_str().unwrap();
    let (source, target) = mount.split_once(':').unwrap();
    assert!(target.starts_with("/etc/nginx/conf.d/"));
    let conf = std::fs::read_to_string(root().join(source)).unwrap();
    assert!(conf.contains("listen 80;"));
    let upstream = conf
        .split("upstream ")
        .nth(1)
        .and_then(|u| u.split_once('{'))
        .map(|(name, body)| {
            (
                name.trim().to_owned(),
                body.split('}').next().unwrap().to_owned(),
            )
        })
        .unwrap();
    assert!(
        upstream.1.contains("server replica:8080 resolve"),
        "{}",
        upstream.1
    );
    assert!(
        conf.contains("resolver 127.0.0.11"),
        "replicas are looked up again"
    );
    assert!(conf.contains(&format!("proxy_pass http://{};", upstream.0)));
    // The TLS proxy's X-Forwarded-For is kept and extended, not replaced.
    assert!(conf.contains("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;"));
    assert!(
        !conf.contains("non_idempotent"),
        "a POST must never be replayed"
    );
    assert!(
        conf.contains("proxy_next_upstream error timeout;"),
        "a 5xx answer is not replayed on every replica"
    );
    let range: ipnet::IpNet = c["networks"]["backend"]["ipam"]["config"][0]["ip_range"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        !range.contains(&lb_ip),
        "Docker could give the lb's address away"
    );

    // PostgreSQL's data lives on a named volume.
    let data = services["db"]["volumes"][0].as_str().unwrap();
    let (volume, path) = data.split_once(':').unwrap();
    assert_eq!(path, "/var/lib/postgresql/data");
    assert!(
        c["volumes"].get(volume).is_some(),
        "volume {volume} not declared"
    );
}
