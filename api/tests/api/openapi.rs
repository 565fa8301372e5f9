//! The committed `openapi.yaml` is what the code generates, and the served
//! document is the same one.

use std::collections::BTreeSet;

use reqwest::StatusCode;

use crate::support::spawn_app;

fn committed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml")
}

#[test]
fn committed_openapi_yaml_is_up_to_date() {
    let generated = api::http::docs::openapi_yaml().unwrap();
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.yaml is stale: run `cargo run -q -p api -- openapi > openapi.yaml`"
    );
}

#[actix_web::test]
async fn the_served_document_is_the_generated_one_and_docs_render() {
    let app = spawn_app().await;
    let served = app.get("/api/openapi.json", None).await;
    assert_eq!(served.status, StatusCode::OK);
    let generated = serde_json::to_value(api::http::docs::openapi()).unwrap();
    assert_eq!(served.body, generated);
    assert_eq!(served.body["openapi"], "3.1.0");

    let res = app
        .client
        .get(format!("{}/api/docs/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    // Vendored: the page loads its assets from us, not from a CDN.
    assert!(!html.contains("https://"), "{html}");
    let init = app
        .client
        .get(format!("{}/api/docs/swagger-initializer.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(init.status(), StatusCode::OK);
    assert!(init.text().await.unwrap().contains("/api/openapi.json"));
}

#[test]
fn operation_ids_are_handler_names_and_problems_are_documented() {
    let doc = serde_json::to_value(api::http::docs::openapi()).unwrap();
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
            let responses = op["responses"].as_object().unwrap();
            for code in ["500", "503"] {
                assert!(responses.contains_key(code), "{method} {path} lacks {code}");
            }
            let has_body = op.get("requestBody").is_some();
            if has_body {
                for code in ["400", "413"] {
                    assert!(responses.contains_key(code), "{method} {path} lacks {code}");
                }
            }
            if path.contains("{id}") {
                assert!(responses.contains_key("400"), "{method} {path} lacks 400");
                assert!(responses.contains_key("404"), "{method} {path} lacks 404");
            }
        }
    }
    for expected in [
        "register",
        "login",
        "logout",
        "me",
        "list_sessions",
        "get_session",
        "create_session",
    ] {
        assert!(ids.contains(expected), "{expected} missing from {ids:?}");
    }
    let problem = &doc["components"]["responses"]["NotFound"]["content"];
    assert!(
        problem.get("application/problem+json").is_some(),
        "{problem}"
    );
}

/// Third parties generate clients from the document: it must pass a
/// generator-grade validator (`openapi-spec-validator`, from PyPI, which
/// the README's test command installs), and describe optional query
/// parameters without nullable unions that generators skip.
#[test]
fn the_document_passes_a_validator_and_suits_client_generators() {
    let doc = api::http::docs::openapi().to_pretty_json().unwrap();
    let path =
        std::env::temp_dir().join(format!("immersion-openapi-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&path, &doc).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1]))); print('valid')",
        ])
        .arg(&path)
        .output()
        .expect("python3 runs");
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "openapi-spec-validator: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value: serde_json::Value = serde_json::from_str(&doc).unwrap();
    for (path, item) in value["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for param in op["parameters"].as_array().into_iter().flatten() {
                assert!(
                    param["schema"].get("oneOf").is_none(),
                    "{method} {path}: parameter {} is a union",
                    param["name"]
                );
            }
        }
    }
}
