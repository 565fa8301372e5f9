//! Bounded lists (the API conventions): every list takes `limit` (default 100, at
//! most 500) and `after`, an opaque cursor, and answers the same JSON
//! array as before, with `Link: <…>; rel="next"` (RFC 8288) when more
//! remain. Lists are read in their own stable order; the cursor names the
//! last item given.

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 500;

/// `?limit=&after=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items at most (1 to 500, default 100).
    #[param(minimum = 1, maximum = 500, default = 100)]
    pub limit: Option<usize>,
    /// The cursor from the previous page's `Link: rel="next"`.
    #[param(max_length = 200)]
    pub after: Option<String>,
}

/// One page's worth: how many, after which item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub limit: usize,
    after: Option<String>,
}

const CURSOR_PREFIX: &str = "c1.";

fn encode(key: &str) -> String {
    format!("{CURSOR_PREFIX}{}", hex::encode(key))
}

fn decode(cursor: &str) -> Option<String> {
    let raw = hex::decode(cursor.strip_prefix(CURSOR_PREFIX)?).ok()?;
    String::from_utf8(raw).ok()
}

/// A list's `limit`: 1 to `MAX_LIMIT`, `DEFAULT_LIMIT` when absent.
pub fn checked_limit(limit: Option<usize>) -> ApiResult<usize> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            "out_of_range",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    Ok(limit)
}

impl PageQuery {
    pub fn page(&self) -> ApiResult<Page> {
        let limit = checked_limit(self.limit)?;
        let after = match &self.after {
            None => None,
            Some(c) => Some(decode(c).ok_or_else(|| {
                ApiError::invalid("after", "format", "not a cursor this API gave")
            })?),
        };
        Ok(Page { limit, after })
    }
}

impl Page {
    /// What tells this page from another (a cache key).
    pub fn key(&self) -> String {
        format!("{}|{}", self.limit, self.after.as_deref().unwrap_or(""))
    }

    /// Everything, for callers that need the whole list (CSV export).
    pub fn all() -> Self {
        Self {
            limit: usize::MAX,
            after: None,
        }
    }

    /// This page of `items` (in their order), and the cursor of the next
    /// one when more remain. A cursor naming an item no longer in the list
    /// is refused rather than silently restarting.
    pub fn cut<'a, T>(
        &self,
        items: &'a [T],
        key: impl Fn(&T) -> String,
    ) -> ApiResult<(&'a [T], Option<String>)> {
        let start = match &self.after {
            None => 0,
            Some(after) => {
                items.iter().position(|i| &key(i) == after).ok_or_else(|| {
                    ApiError::invalid("after", "gone", "the cursor's item is no longer listed")
                })? + 1
            }
        };
        let rest = &items[start..];
        if rest.len() > self.limit {
            let page = &rest[..self.limit];
            let next = page.last().map(|last| encode(&key(last)));
            Ok((page, next))
        } else {
            Ok((rest, None))
        }
    }
}

/// The JSON array, with a `Link` to the next page when there is one. The
/// link is rebuilt from the parameters the list itself reads (`others`,
/// already validated), never copied from the raw query.
pub fn respond<T: Serialize>(
    req: &HttpRequest,
    page: &Page,
    items: Vec<T>,
    key: impl Fn(&T) -> String,
) -> ApiResult<HttpResponse> {
    respond_with(req, page, &[], items, key)
}

/// As `respond`, keeping the list's own filters (`name=value`, values
/// from typed parameters) in the link.
pub fn respond_with<T: Serialize>(
    req: &HttpRequest,
    page: &Page,
    others: &[(&str, String)],
    items: Vec<T>,
    key: impl Fn(&T) -> String,
) -> ApiResult<HttpResponse> {
    let (items, link) = page_of(req, page, others, &items, key)?;
    let mut res = HttpResponse::Ok();
    if let Some(link) = link {
        res.insert_header((header::LINK, link));
    }
    Ok(res.json(items))
}

/// This page of `items`, and the `Link` header's value when more remain.
pub fn page_of<'a, T>(
    req: &HttpRequest,
    page: &Page,
    others: &[(&str, String)],
    items: &'a [T],
    key: impl Fn(&T) -> String,
) -> ApiResult<(&'a [T], Option<String>)> {
    let (items, next) = page.cut(items, key)?;
    let link = next.map(|cursor| {
        let mut query: Vec<String> = others
            .iter()
            .map(|(name, value)| format!("{name}={}", encode_value(value)))
            .collect();
        if let Some(named) = req.extensions().get::<crate::http::key_auth::ActingFor>() {
            query.push(format!(
                "{}={}",
                crate::http::key_auth::ON_BEHALF_OF,
                encode_value(&named.0)
            ));
        }
        query.push(format!("limit={}", page.limit));
        // The cursor is hex: nothing to escape.
        query.push(format!("after={cursor}"));
        format!("<{}?{}>; rel=\"next\"", req.path(), query.join("&"))
    });
    Ok((items, link))
}

/// Percent-encodes a query value (unreserved characters kept).
fn encode_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_each_other_to_the_end() {
        let items: Vec<u32> = (1..=5).collect();
        let key = |i: &u32| i.to_string();
        let q = PageQuery {
            limit: Some(2),
            after: None,
        };
        let (first, next) = q.page().unwrap().cut(&items, key).unwrap();
        assert_eq!(first, [1, 2]);
        let q = PageQuery {
            limit: Some(2),
            after: next,
        };
        let (second, next) = q.page().unwrap().cut(&items, key).unwrap();
        assert_eq!(second, [3, 4]);
        let q = PageQuery {
            limit: Some(2),
            after: next,
        };
        let (last, next) = q.page().unwrap().cut(&items, key).unwrap();
        assert_eq!((last, next), (&[5][..], None));
    }

    #[test]
    fn bad_limits_and_cursors_are_refused() {
        for limit in [0, 501] {
            let q = PageQuery {
                limit: Some(limit),
                after: None,
            };
            assert!(q.page().is_err(), "{limit}");
        }
        let q = PageQuery {
            limit: None,
            after: Some("nonsense".into()),
        };
        assert!(q.page().is_err());
    }
}
