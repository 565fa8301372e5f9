//! The api serves the built single-page app: its files with the right
//! caching, and the page for client routes; the API keeps its own 404s.

use reqwest::StatusCode;

use crate::support::spawn_with;

#[actix_web::test]
async fn client_routes_get_the_page_and_assets_are_cached_for_long() {
    let dist =
        std::env::temp_dir().join(format!("immersion-dist-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dist.join("assets")).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>Immersion</title>",
    )
    .unwrap();
    std::fs::write(
        dist.join("assets/web-0123456789abcdef.js"),
        "export default 1;",
    )
    .unwrap();
    std::fs::write(dist.join("assets/web-0123456789abcdef.wasm"), b"\0asm").unwrap();
    let app = spawn_with(&[("WEB_DIST", dist.to_str().unwrap())]).await;
    let get = |path: &str| app.client.get(format!("{}{path}", app.base)).send();

    for route in [
        "/",
        "/mon-compte",
        "/immersion-elite/merci",
        "/admin/immersion-sessions",
    ] {
        let res = get(route).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{route}");
        assert_eq!(res.headers()["cache-control"], "no-cache", "{route}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("<title>Immersion</title>")
        );
    }
    let js = get("/assets/web-0123456789abcdef.js").await.unwrap();
    assert_eq!(js.status(), StatusCode::OK);
    assert_eq!(
        js.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let wasm = get("/assets/web-0123456789abcdef.wasm").await.unwrap();
    assert_eq!(wasm.headers()["content-type"], "application/wasm");

    // A missing asset, and anything under /api, stay problems.
    app.get("/assets/web-ffffffffffffffff.js", None)
        .await
        .assert_problem(404, "not_found");
    app.get("/api/nothing", None)
        .await
        .assert_problem(404, "not_found");
    app.get("/../Cargo.toml", None)
        .await
        .assert_problem(404, "not_found");
    std::fs::remove_dir_all(dist).ok();
}
