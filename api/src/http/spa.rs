//! Serves the built single-page app (`WEB_DIST`): its files, and
//! `index.html` for client routes such as `/mon-compte`, so a page opened
//! directly or reloaded works. Under `/admin` it is `admin.html`, which
//! loads the administration's own bundle (`web/src/lib.rs`). Hashed assets are cached for a year; the
//! page itself is never cached, so a new release shows at once.
//!
//! The files go out through `actix-files` (`ETag`, `Last-Modified`,
//! conditional GET with 304, ranges), the precompressed `.br` or `.gz`
//! copy when the build left one and the client takes it. Only the choice
//! of file (the client-route fallback, never climbing out of the root) is
//! ours: it is the SPA router's other half.

use std::path::{Component, Path, PathBuf};

use crate::http::share::FirstPaint;
use actix_files::NamedFile;
use actix_web::http::header::{self, ContentEncoding, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

/// The built app on disk, when there is one.
#[derive(Debug, Clone)]
pub struct Spa {
    root: PathBuf,
}

impl Spa {
    /// `Some` when `dir/index.html` exists.
    pub fn load(dir: &Path) -> Option<Self> {
        dir.join("index.html").is_file().then(|| Self {
            root: dir.to_path_buf(),
        })
    }

    /// The file for a request path, or `index.html` for a client route.
    /// Paths that climb out of the root, or miss with an extension (a
    /// missing asset), are `None`.
    fn resolve(&self, path: &str) -> Option<(PathBuf, bool)> {
        let relative = Path::new(path.trim_start_matches('/'));
        if relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            return None;
        }
        let file = self.root.join(relative);
        if !path.ends_with('/') && file.is_file() {
            let is_index = relative.extension().is_some_and(|e| e == "html");
            return Some((file, is_index));
        }
        if relative.extension().is_some() {
            return None;
        }
        Some((self.page_for(path), true))
    }

    /// The page whose bundle draws the client route `path`: the
    /// administration's under `/admin` (when it was built), else the site's.
    fn page_for(&self, path: &str) -> PathBuf {
        let in_admin = path == "/admin" || path.starts_with("/admin/");
        let admin = self.root.join("admin.html");
        if in_admin && admin.is_file() {
            return admin;
        }
        self.root.join("index.html")
    }

    /// Answers a GET or HEAD for `req`, or `None` when nothing matches.
    /// `paint` goes into the page when it is `index.html`: its title and
    /// first screen (`http/share.rs`).
    pub async fn serve(
        &self,
        req: &HttpRequest,
        paint: Option<FirstPaint>,
    ) -> Option<HttpResponse> {
        let (file, is_index) = self.resolve(req.path())?;
        if is_index && let Some(paint) = paint {
            return painted(file, &paint).await;
        }
        let mut res = open(&file, req).await?.into_response(req);
        let cache = if is_index {
            "no-cache"
        } else if is_hashed(&file) {
            "public, max-age=31536000, immutable"
        } else {
            "public, max-age=3600"
        };
        let headers = res.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        Some(res)
    }
}

/// `index.html` with `paint` in it, never cached (like the page itself).
async fn painted(index: PathBuf, paint: &FirstPaint) -> Option<HttpResponse> {
    let page = actix_web::web::block(move || std::fs::read_to_string(index))
        .await
        .ok()?
        .ok()?;
    let body = crate::http::share::painted(&page, paint);
    Some(
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(body),
    )
}

/// `file`, or its precompressed copy (`file.br`, `file.gz`) when there is
/// one and the client accepts that encoding.
async fn open(file: &Path, req: &HttpRequest) -> Option<NamedFile> {
    let accepted = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let takes = |token: &str| {
        accepted.split(',').any(|part| {
            let mut it = part.split(';');
            let name = it.next().unwrap_or_default().trim();
            let refused = it.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case(token) && !refused
        })
    };
    for (suffix, token, encoding) in [
        ("br", "br", ContentEncoding::Brotli),
        ("gz", "gzip", ContentEncoding::Gzip),
    ] {
        if !takes(token) {
            continue;
        }
        let mut copy = file.as_os_str().to_owned();
        copy.push(".");
        copy.push(suffix);
        if let Some(f) = open_file(PathBuf::from(copy)).await {
            // The copy has the type of the file it compresses, not of `.br`.
            let ext = file
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default();
            return Some(
                f.set_content_type(actix_files::file_extension_to_mime(ext))
                    .set_content_encoding(encoding),
            );
        }
    }
    open_file(file.to_path_buf()).await
}

/// Opens `path` off the async workers (opening a file blocks).
async fn open_file(path: PathBuf) -> Option<NamedFile> {
    actix_web::web::block(move || NamedFile::open(path))
        .await
        .ok()?
        .ok()
        .map(NamedFile::disable_content_disposition)
}

/// Build outputs carry a content hash: `app-3f9a1c2b.wasm`.
fn is_hashed(file: &Path) -> bool {
    file.file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.rsplit_once('-'))
        .is_some_and(|(_, hash)| hash.len() >= 8 && hash.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_are_recognised() {
        assert!(is_hashed(Path::new("assets/web-3f9a1c2b.wasm")));
        assert!(is_hashed(Path::new("web-3f9a1c2bdeadbeef.js")));
        assert!(!is_hashed(Path::new("index.html")));
        assert!(!is_hashed(Path::new("logo-small.svg")));
    }

    #[test]
    fn client_routes_get_the_page_and_escapes_nothing() {
        let dir = std::env::temp_dir().join(format!("spa-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(dir.join("index.html"), "<html>").unwrap();
        std::fs::write(dir.join("assets/web-0123abcd.js"), "x").unwrap();
        let spa = Spa::load(&dir).unwrap();
        assert_eq!(
            spa.resolve("/mon-compte"),
            Some((dir.join("index.html"), true))
        );
        assert_eq!(spa.resolve("/"), Some((dir.join("index.html"), true)));
        assert_eq!(
            spa.resolve("/assets/web-0123abcd.js"),
            Some((dir.join("assets/web-0123abcd.js"), false))
        );
        assert_eq!(spa.resolve("/assets/missing-0123abcd.js"), None);
        // The administration's bundle, once built, under /admin only.
        assert_eq!(spa.resolve("/admin"), Some((dir.join("index.html"), true)));
        std::fs::write(dir.join("admin.html"), "<html>").unwrap();
        for path in ["/admin", "/admin/", "/admin/ressources"] {
            assert_eq!(spa.resolve(path), Some((dir.join("admin.html"), true)));
        }
        assert_eq!(
            spa.resolve("/administration"),
            Some((dir.join("index.html"), true))
        );
        assert_eq!(spa.resolve("/../secret"), None);
        assert_eq!(spa.resolve("/assets/../../etc/passwd"), None);
        std::fs::remove_dir_all(dir).ok();
    }
}
