//! The api serves the built single-page app: its files with the right
//! caching, and the page for client routes; the API keeps its own 404s.

use reqwest::StatusCode;

use crate::support::TestApp;

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
    let app = TestApp::builder()
        .env("WEB_DIST", dist.to_str().unwrap())
        .spawn()
        .await;
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

#[actix_web::test]
async fn files_answer_304_to_their_etag_and_precompressed_copies_are_served() {
    let dist =
        std::env::temp_dir().join(format!("immersion-dist-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dist.join("assets")).unwrap();
    std::fs::write(dist.join("index.html"), "<!doctype html><title>I</title>").unwrap();
    let js = "assets/web-0123456789abcdef.js";
    std::fs::write(dist.join(js), "export default 1;").unwrap();
    // What a build step would leave beside it (the bytes stand for brotli).
    std::fs::write(dist.join(format!("{js}.br")), b"BROTLI").unwrap();
    let app = TestApp::builder()
        .env("WEB_DIST", dist.to_str().unwrap())
        .spawn()
        .await;
    let url = format!("{}/{js}", app.base);

    let plain = app.client.get(&url).send().await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    assert!(plain.headers().get("content-encoding").is_none());
    let etag = plain.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(plain.text().await.unwrap(), "export default 1;");
    let again = app
        .client
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await.unwrap().is_empty());

    // reqwest decodes nothing here (no compression feature): the raw bytes show.
    let br = app
        .client
        .get(&url)
        .header("Accept-Encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(br.status(), StatusCode::OK);
    assert_eq!(br.headers()["content-encoding"], "br");
    assert_eq!(br.headers()["vary"], "Accept-Encoding");
    assert!(
        br.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(br.bytes().await.unwrap().as_ref(), b"BROTLI");
    // Refused with q=0: the plain file.
    let refused = app
        .client
        .get(&url)
        .header("Accept-Encoding", "br;q=0")
        .send()
        .await
        .unwrap();
    assert!(refused.headers().get("content-encoding").is_none());
    std::fs::remove_dir_all(dist).ok();
}

#[actix_web::test]
async fn a_shared_session_link_carries_its_own_title_and_description() {
    let dist =
        std::env::temp_dir().join(format!("immersion-dist-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><head>\n<title>Immersion Élite</title>\n<meta name=\"description\" content=\"Le site\">\n</head><body><div id=\"boot\"></div></body>",
    )
    .unwrap();
    let app = TestApp::builder()
        .env("WEB_DIST", dist.to_str().unwrap())
        .spawn()
        .await;
    let admin = app.admin_token().await;
    let created = app
        .create_session(
            &admin,
            serde_json::json!({
                "location": "Lyon <Part-Dieu>",
                "description": "Cinq jours \"en immersion\".\n\nDeuxième paragraphe.",
            }),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let page = |path: String| {
        let client = app.client.clone();
        let url = format!("{}{path}", app.base);
        async move {
            let res = client.get(url).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(res.headers()["cache-control"], "no-cache");
            res.text().await.unwrap()
        }
    };

    let html = page(format!("/immersion-elite/{id}")).await;
    assert!(html.contains("<title>Immersion Élite · "), "{html}");
    assert!(html.contains(" · Lyon &lt;Part-Dieu&gt;</title>"), "{html}");
    assert!(
        html.contains("1\u{202f}997\u{a0}€ par personne. Cinq jours &quot;en immersion&quot;. Deuxième paragraphe.\">"),
        "{html}"
    );
    assert!(!html.contains("Le site"), "{html}");
    assert_eq!(html.matches("<title>").count(), 1);
    // Its first screen comes with it: the title and the programme, escaped.
    assert!(
        html.contains("<h1>Immersion Élite à Lyon &lt;Part-Dieu&gt;</h1>"),
        "{html}"
    );
    assert!(
        html.contains("<p>Cinq jours &quot;en immersion&quot;.</p><p>Deuxième paragraphe.</p>"),
        "{html}"
    );

    // The catalog and the subscription page paint their first screen too;
    // other pages wait for the app.
    let catalog = page("/immersion-elite".to_owned()).await;
    assert!(
        catalog.contains("<div id=\"boot\"><header class=\"nav\">"),
        "{catalog}"
    );
    assert!(
        catalog.contains("<h1>Immersion Élite</h1><p class=\"lead\">Cinq jours en petit groupe"),
        "{catalog}"
    );
    let subscribe = page("/abonnement".to_owned()).await;
    assert!(subscribe.contains("<h1>Abonnement</h1>"), "{subscribe}");
    let account = page("/mon-compte".to_owned()).await;
    assert!(account.contains("<div id=\"boot\"></div>"), "{account}");

    // Any other page, and an unknown or hidden session, keep the site's.
    for path in [
        "/immersion-elite".to_owned(),
        format!("/immersion-elite/{}", uuid::Uuid::new_v4()),
        "/immersion-elite/pas-un-id".to_owned(),
    ] {
        let html = page(path).await;
        assert!(html.contains("<title>Immersion Élite</title>"), "{html}");
        assert!(html.contains("content=\"Le site\""), "{html}");
    }
    let hidden = app
        .patch(
            &format!("/api/admin/sessions/{id}"),
            Some(&admin),
            serde_json::json!({ "is_active": false }),
        )
        .await;
    assert_eq!(hidden.status, StatusCode::OK, "{}", hidden.body);
    let html = page(format!("/immersion-elite/{id}")).await;
    assert!(html.contains("content=\"Le site\""), "{html}");
    std::fs::remove_dir_all(dist).ok();
}
