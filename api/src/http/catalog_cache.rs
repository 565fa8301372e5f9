//! The public catalog, served from memory. It is read far more than it
//! changes: the list of sessions is read from the database at most once a
//! second, and again after any successful write on this instance (any
//! unsafe request, any job tick), so a write made on another instance
//! shows within a second. One request at a time reads it; the others wait
//! for its result. Each page is cut from that list in memory and kept as
//! bytes, with an `ETag`: `If-None-Match` gets 304 without the body.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use chrono::NaiveDate;
use common::sessions::SessionDto;
use sha2::{Digest, Sha256};

use crate::error::ApiResult;

/// How stale the list may be (writes made on other instances).
const FRESH_FOR: Duration = Duration::from_secs(1);
/// Distinct pages kept at most; past it the pages start again empty (they
/// are cut from the list in memory, no database read).
const MAX_PAGES: usize = 1024;

/// The catalog as read once.
pub struct List {
    /// Tells this reading from the others (pages name the list they come from).
    id: u64,
    generation: u64,
    made: Instant,
    today: NaiveDate,
    pub items: Vec<SessionDto>,
}

/// One page as sent.
pub struct Cached {
    list_id: u64,
    body: Bytes,
    link: Option<String>,
    etag: String,
}

#[derive(Default)]
pub struct CatalogCache {
    generation: AtomicU64,
    readings: AtomicU64,
    list: RwLock<Option<Arc<List>>>,
    pages: RwLock<HashMap<String, Arc<Cached>>>,
    /// One reading at a time: when the list lapses under load, one request
    /// reads the database and the others use its result.
    reading: tokio::sync::Mutex<()>,
}

impl CatalogCache {
    /// Something changed here: the list is read again before it is served.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn current(&self) -> Option<Arc<List>> {
        self.list.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The list for `today`: the one in memory while fresh, else read with
    /// `load`.
    pub async fn list<F, Fut>(&self, today: NaiveDate, load: F) -> ApiResult<Arc<List>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ApiResult<Vec<SessionDto>>>,
    {
        let fresh = |l: &List| {
            l.today == today
                && l.generation == self.generation.load(Ordering::Acquire)
                && l.made.elapsed() < FRESH_FOR
        };
        if let Some(list) = self.current().filter(|l| fresh(l)) {
            return Ok(list);
        }
        let arrived = Instant::now();
        let _turn = self.reading.lock().await;
        // Read by the request we waited for, after we arrived: as fresh as
        // a reading of our own.
        if let Some(list) = self
            .current()
            .filter(|l| l.today == today && (l.made >= arrived || fresh(l)))
        {
            return Ok(list);
        }
        // Read before the query: a write that overtakes it leaves this
        // reading already stale.
        let generation = self.generation.load(Ordering::Acquire);
        let items = load().await?;
        let list = Arc::new(List {
            id: self.readings.fetch_add(1, Ordering::AcqRel),
            generation,
            made: Instant::now(),
            today,
            items,
        });
        *self.list.write().unwrap_or_else(|e| e.into_inner()) = Some(list.clone());
        Ok(list)
    }

    /// The page `key` of `list`, if already made.
    pub fn page(&self, list: &List, key: &str) -> Option<Arc<Cached>> {
        let pages = self.pages.read().unwrap_or_else(|e| e.into_inner());
        pages.get(key).filter(|p| p.list_id == list.id).cloned()
    }

    /// Keeps the page `key` of `list`.
    pub fn put(
        &self,
        list: &List,
        key: String,
        body: Vec<u8>,
        link: Option<String>,
    ) -> Arc<Cached> {
        let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&body)[..16]));
        let page = Arc::new(Cached {
            list_id: list.id,
            body: Bytes::from(body),
            link,
            etag,
        });
        let mut pages = self.pages.write().unwrap_or_else(|e| e.into_inner());
        if pages.len() >= MAX_PAGES {
            pages.clear();
        }
        pages.insert(key, page.clone());
        page
    }
}

impl Cached {
    /// 200 with the body, or 304 when the client already has these bytes.
    pub fn respond(&self, req: &HttpRequest) -> HttpResponse {
        let known = req
            .headers()
            .get_all(header::IF_NONE_MATCH)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|tag| {
                let tag = tag.trim();
                tag == "*" || tag.trim_start_matches("W/") == self.etag
            });
        let mut res = if known {
            HttpResponse::NotModified()
        } else {
            HttpResponse::Ok()
        };
        res.insert_header((header::ETAG, self.etag.as_str()))
            // Places left change: a client may keep the bytes, but asks first.
            .insert_header((header::CACHE_CONTROL, "no-cache"));
        if let Some(link) = &self.link {
            res.insert_header((header::LINK, link.as_str()));
        }
        if known {
            return res.finish();
        }
        res.content_type("application/json").body(self.body.clone())
    }
}
