//! The public catalog, served from its serialized bytes. It is read far
//! more than it changes: an entry is reused until a write on this instance
//! (any unsafe request, any job tick) or one second has passed, so a write
//! made on another instance shows within a second. One request at a time
//! refreshes it. Answers carry an `ETag`; `If-None-Match` gets 304
//! without the body.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use chrono::NaiveDate;
use sha2::{Digest, Sha256};

/// How stale an entry may be (writes made on other instances).
const FRESH_FOR: Duration = Duration::from_secs(1);
/// Distinct pages kept at most; past it the cache starts again empty.
const MAX_ENTRIES: usize = 1024;

/// One page of the catalog as sent.
pub struct Cached {
    generation: u64,
    made: Instant,
    today: NaiveDate,
    body: Bytes,
    link: Option<String>,
    etag: String,
}

#[derive(Default)]
pub struct CatalogCache {
    generation: AtomicU64,
    entries: RwLock<HashMap<String, Arc<Cached>>>,
    /// One refresh at a time: when an entry lapses under load, one
    /// request reads the database and the others wait for its bytes
    /// instead of all reading the same rows at once.
    refreshing: tokio::sync::Mutex<()>,
}

impl CatalogCache {
    /// Something changed here: no entry made before is served again.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The right to refresh; check `get` again once it is yours.
    pub async fn turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.refreshing.lock().await
    }

    /// Read before querying: an entry made from a query that a write may
    /// have overtaken is then already stale.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The entry for `key`, if still good for `today`.
    pub fn get(&self, key: &str, today: NaiveDate) -> Option<Arc<Cached>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let hit = entries.get(key)?;
        let fresh = hit.generation == self.generation()
            && hit.today == today
            && hit.made.elapsed() < FRESH_FOR;
        fresh.then(|| hit.clone())
    }

    /// Keeps `body` (made from data read at `generation`) under `key`.
    pub fn put(
        &self,
        key: String,
        generation: u64,
        today: NaiveDate,
        body: Vec<u8>,
        link: Option<String>,
    ) -> Arc<Cached> {
        let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&body)[..16]));
        let entry = Arc::new(Cached {
            generation,
            made: Instant::now(),
            today,
            body: Bytes::from(body),
            link,
            etag,
        });
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, entry.clone());
        entry
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
