//! argon2id password hashes (PHC strings). Hashing is CPU-heavy, so it runs
//! on the blocking pool, off the async workers.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::{ApiError, ApiResult};

pub async fn hash(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)?
}

/// True when `password` matches `phc`. A stored value that is not a valid
/// hash (demo attendees have none) never matches.
pub async fn verify(password: String, phc: String) -> ApiResult<bool> {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .map_err(ApiError::internal)
}

/// A hash of a random password, verified against when the e-mail is
/// unknown, so that both failures take the same time.
pub async fn decoy_hash() -> ApiResult<String> {
    hash(uuid::Uuid::new_v4().to_string()).await
}
