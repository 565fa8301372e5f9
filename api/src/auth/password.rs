//! argon2id password hashes (PHC strings). Hashing is CPU- and
//! memory-heavy (19 MiB each), so it runs on the blocking pool, at most
//! one per CPU at a time, with a short queue behind: past that, the
//! request gets 503 with `Retry-After` instead of piling up memory. The
//! line is the app's (`AppState::hashing`), not the process's: two apps in
//! one process, as in the tests, never take each other's place in it.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::{Semaphore, TryAcquireError};

use crate::error::{ApiError, ApiResult};

/// Hashing work: `running` at once, `waiting` more in line. Work other
/// than signing in (a password change) may take only half of the line,
/// so no account can starve everyone's logins. Clones share the line.
#[derive(Clone)]
pub struct HashLimit {
    running: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
    others: Arc<Semaphore>,
}

impl HashLimit {
    /// One hash per CPU at a time, four per CPU in line.
    pub fn for_this_machine() -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        Self::new(cpus, cpus * 4)
    }

    pub fn new(running: usize, waiting: usize) -> Self {
        Self {
            running: Arc::new(Semaphore::new(running)),
            admitted: Arc::new(Semaphore::new(running + waiting)),
            others: Arc::new(Semaphore::new((running + waiting).div_ceil(2))),
        }
    }

    /// Places left in line (running or waiting): none, and the next hash is
    /// refused.
    pub fn places_left(&self) -> usize {
        self.admitted.available_permits()
    }

    /// `run`, within the share of the line left to work other than signing
    /// in; past it, `Busy` at once.
    pub async fn run_other<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> ApiResult<T> {
        let Ok(_share) = self.others.clone().try_acquire_owned() else {
            return Err(ApiError::Busy {
                retry_after_secs: 1,
            });
        };
        self.run(work).await
    }

    /// Runs `work` on the blocking pool when a CPU is free; refuses at once
    /// (`Busy`) when the line is full.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> ApiResult<T> {
        let admitted = match self.admitted.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(TryAcquireError::NoPermits | TryAcquireError::Closed) => {
                return Err(ApiError::Busy {
                    retry_after_secs: 1,
                });
            }
        };
        let running = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(ApiError::internal)?;
        // The permits go with the work: a request dropped meanwhile (client
        // gone, timeout) cannot free them while the hash still runs.
        tokio::task::spawn_blocking(move || {
            let _held = (admitted, running);
            work()
        })
        .await
        .map_err(ApiError::internal)
    }
}

/// Which share of the hashing line work takes: signing in may use all
/// of it, anything else (a password change) half.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    SignIn,
    Other,
}

impl HashLimit {
    async fn run_in<T: Send + 'static>(
        &self,
        lane: Lane,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> ApiResult<T> {
        match lane {
            Lane::SignIn => self.run(work).await,
            Lane::Other => self.run_other(work).await,
        }
    }

    async fn hash_in(&self, lane: Lane, password: String) -> ApiResult<String> {
        self.run_in(lane, move || {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(ApiError::internal)
        })
        .await?
    }

    async fn verify_in(&self, lane: Lane, password: String, phc: String) -> ApiResult<bool> {
        self.run_in(lane, move || {
            PasswordHash::new(&phc).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
    }

    pub async fn hash(&self, password: String) -> ApiResult<String> {
        self.hash_in(Lane::SignIn, password).await
    }

    /// True when `password` matches `phc`. A stored value that is not a
    /// valid hash (demo attendees have none) never matches.
    pub async fn verify(&self, password: String, phc: String) -> ApiResult<bool> {
        self.verify_in(Lane::SignIn, password, phc).await
    }

    /// `verify` and `hash` for a password change: within the share of the
    /// line that leaves room for logins.
    pub async fn verify_for_change(&self, password: String, phc: String) -> ApiResult<bool> {
        self.verify_in(Lane::Other, password, phc).await
    }

    pub async fn hash_for_change(&self, password: String) -> ApiResult<String> {
        self.hash_in(Lane::Other, password).await
    }

    /// A hash of a random password, verified against when the e-mail is
    /// unknown, so that both failures take the same time.
    pub async fn decoy_hash(&self) -> ApiResult<String> {
        self.hash(uuid::Uuid::new_v4().to_string()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn past_the_line_work_is_refused_not_queued() {
        let limit = std::sync::Arc::new(HashLimit::new(1, 1));
        let (release, hold) = tokio::sync::oneshot::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        // One runs (and waits until told), one waits for the CPU.
        let first = {
            let limit = limit.clone();
            tokio::spawn(async move {
                limit
                    .run(move || {
                        let _ = started.send(());
                        let _ = hold.blocking_recv();
                    })
                    .await
            })
        };
        running.await.unwrap();
        let second = {
            let limit = limit.clone();
            tokio::spawn(async move { limit.run(|| 2).await })
        };
        // Wait until the second holds its place in line.
        while limit.admitted.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        // A third is refused at once, with a time to retry.
        let third = limit.run(|| 3).await;
        assert!(matches!(
            third,
            Err(ApiError::Busy {
                retry_after_secs: 1
            })
        ));
        release.send(()).unwrap();
        assert!(first.await.unwrap().is_ok());
        assert_eq!(second.await.unwrap().unwrap(), 2);
        // Room again.
        assert_eq!(limit.run(|| 4).await.unwrap(), 4);
    }

    #[tokio::test]
    async fn other_work_leaves_half_the_line_to_logins() {
        let limit = std::sync::Arc::new(HashLimit::new(1, 3));
        let (release, hold) = tokio::sync::oneshot::channel::<()>();
        let hold = std::sync::Arc::new(std::sync::Mutex::new(Some(hold)));
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        // Two password changes take their share: one runs, one waits.
        let first = {
            let (limit, hold) = (limit.clone(), hold.clone());
            tokio::spawn(async move {
                limit
                    .run_other(move || {
                        let _ = started.send(());
                        let rx = hold.lock().unwrap().take().unwrap();
                        let _ = rx.blocking_recv();
                    })
                    .await
            })
        };
        running.await.unwrap();
        let second = {
            let limit = limit.clone();
            tokio::spawn(async move { limit.run_other(|| 2).await })
        };
        while limit.others.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        // A third change is refused, while a login still gets in line.
        assert!(matches!(
            limit.run_other(|| 3).await,
            Err(ApiError::Busy { .. })
        ));
        let login = {
            let limit = limit.clone();
            tokio::spawn(async move { limit.run(|| 4).await })
        };
        release.send(()).unwrap();
        assert!(first.await.unwrap().is_ok());
        assert_eq!(second.await.unwrap().unwrap(), 2);
        assert_eq!(login.await.unwrap().unwrap(), 4);
    }
}
