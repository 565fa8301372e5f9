//! Fixed-window counters for login throttling, kept in memory per instance.
//! Keys are client IPs (every attempt counts) and account e-mails (failed
//! attempts count), so neither spraying one account from many addresses
//! nor many accounts from one address gets far.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Limiter {
    max: u32,
    window: Duration,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    started: Instant,
    count: u32,
}

/// Past this many keys, expired buckets are dropped on the next call.
const PRUNE_ABOVE: usize = 10_000;
/// A flood of live keys (many addresses, many accounts) is cut back to
/// half of this: the memory stays bounded, at worst forgetting some
/// counters early.
const HARD_CAP: usize = 100_000;

impl Limiter {
    pub fn new(max: u32, window_seconds: u64) -> Self {
        Self {
            max,
            window: Duration::from_secs(window_seconds),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` when `key` has used up its window.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), u64> {
        let buckets = self.lock();
        match buckets.get(key) {
            Some(b) if now.duration_since(b.started) < self.window && b.count >= self.max => {
                let left = self.window.saturating_sub(now.duration_since(b.started));
                Err(left.as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    /// Counts one attempt against `key`.
    pub fn hit(&self, key: &str, now: Instant) {
        let mut buckets = self.lock();
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, b| now.duration_since(b.started) < self.window);
            if buckets.len() > HARD_CAP {
                let excess: Vec<String> = buckets
                    .keys()
                    .take(buckets.len() - HARD_CAP / 2)
                    .cloned()
                    .collect();
                for key in excess {
                    buckets.remove(&key);
                }
            }
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            started: now,
            count: 0,
        });
        if now.duration_since(bucket.started) >= self.window {
            *bucket = Bucket {
                started: now,
                count: 0,
            };
        }
        bucket.count = bucket.count.saturating_add(1);
    }

    /// Counts one attempt against `key` unless its window is used up:
    /// `check` then `hit`.
    pub fn admit(&self, key: &str, now: Instant) -> Result<(), u64> {
        self.check(key, now)?;
        self.hit(key, now);
        Ok(())
    }

    /// Forgets `key` (after a successful login).
    pub fn reset(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bucket>> {
        // A poisoned lock only means another thread panicked mid-update of a
        // counter; the counters are still usable.
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_hits_until_the_window_ends() {
        let l = Limiter::new(3, 60);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check("ip", t0).is_ok());
            l.hit("ip", t0);
        }
        assert_eq!(l.check("ip", t0 + Duration::from_secs(10)), Err(50));
        assert!(l.check("other", t0).is_ok());
        assert!(l.check("ip", t0 + Duration::from_secs(60)).is_ok());
        l.hit("ip", t0 + Duration::from_secs(61));
        assert!(l.check("ip", t0 + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn reset_forgets_a_key() {
        let l = Limiter::new(1, 60);
        let t0 = Instant::now();
        l.hit("a", t0);
        assert!(l.check("a", t0).is_err());
        l.reset("a");
        assert!(l.check("a", t0).is_ok());
    }
}
