//! What answers when no route matched: 405 with `Allow` when the path is
//! known but not the method, 404 otherwise. The known paths come from the
//! OpenAPI document, which is built from the same route list. Outside the
//! API, GET and HEAD go to the single-page app when it is built.

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::openapi::OpenApi;

use crate::error::ApiError;
use crate::http::share;
use crate::state::AppState;

enum Segment {
    Literal(String),
    Param,
}

pub struct RouteTable(Vec<(Vec<Segment>, Vec<Method>)>);

impl RouteTable {
    pub fn from_openapi(doc: &OpenApi) -> Self {
        let routes = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = path
                    .trim_start_matches('/')
                    .split('/')
                    .map(|s| {
                        if s.starts_with('{') {
                            Segment::Param
                        } else {
                            Segment::Literal(s.to_owned())
                        }
                    })
                    .collect();
                let methods = [
                    (item.get.is_some(), Method::GET),
                    (item.post.is_some(), Method::POST),
                    (item.put.is_some(), Method::PUT),
                    (item.patch.is_some(), Method::PATCH),
                    (item.delete.is_some(), Method::DELETE),
                ]
                .into_iter()
                .filter_map(|(present, m)| present.then_some(m))
                .collect();
                (segments, methods)
            })
            .collect();
        Self(routes)
    }

    /// The methods a known path accepts; `None` for an unknown path.
    pub fn allowed(&self, path: &str) -> Option<&[Method]> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        self.0
            .iter()
            .find(|(segments, _)| {
                segments.len() == parts.len()
                    && segments.iter().zip(&parts).all(|(s, p)| match s {
                        Segment::Literal(l) => l == p,
                        Segment::Param => !p.is_empty(),
                    })
            })
            .map(|(_, methods)| methods.as_slice())
    }
}

/// Paths the API owns: never answered by the single-page app.
fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path == "/health" || path == "/ready"
}

pub async fn fallback(
    req: HttpRequest,
    state: web::Data<AppState>,
    table: web::Data<RouteTable>,
    spa: web::Data<Option<crate::http::spa::Spa>>,
) -> Result<HttpResponse, ApiError> {
    let readable = matches!(*req.method(), Method::GET | Method::HEAD);
    if readable
        && !is_api_path(req.path())
        && let Some(spa) = spa.get_ref()
    {
        let paint = share::first_paint(&state, req.path()).await;
        if let Some(res) = spa.serve(&req, paint).await {
            return Ok(res);
        }
    }
    match table.allowed(req.path()) {
        Some(methods) => Err(ApiError::MethodNotAllowed {
            allow: methods
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        }),
        None => Err(ApiError::new(
            common::ErrorCode::NotFound,
            "no such resource",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_paths_list_their_methods() {
        let table = RouteTable::from_openapi(&crate::http::docs::openapi());
        assert_eq!(table.allowed("/api/sessions"), Some(&[Method::GET][..]));
        let admin = table.allowed("/api/admin/sessions/abc").unwrap();
        assert!(admin.contains(&Method::PATCH) && admin.contains(&Method::DELETE));
        assert!(table.allowed("/api/sessions/abc/def").is_none());
        assert!(table.allowed("/nothing").is_none());
    }
}
