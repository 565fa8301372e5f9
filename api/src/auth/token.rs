//! Short-lived HS256 JWTs. The token names the user and the sign-in
//! session (`sid`); the session, role and license are read fresh from the
//! database on each request (one query), so a sign-out, a password change,
//! a promotion or a deleted account takes effect at once.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

pub const COOKIE_NAME: &str = "immersion_token";

/// The device cookie (OWASP's login-throttling design): set at each
/// successful login, it names the account the client signed in to. A
/// login from that client is counted on its own (see
/// `accounts::users::login`).
pub const DEVICE_COOKIE: &str = "immersion_device";

/// How long a device cookie is good for.
pub const DEVICE_TTL: Duration = Duration::days(365);

/// The audience that makes a device token useless as a session token
/// (a session token carries none, and is refused where one is required).
const DEVICE_AUDIENCE: &str = "device";

#[derive(Debug, Serialize, Deserialize)]
struct DeviceClaims {
    sub: Uuid,
    aud: String,
    /// This cookie's own id: its failures are counted under it.
    jti: Uuid,
    /// The password it was issued under (`DeviceToken::credential`): a new
    /// password (a reset, a change) ends every cookie issued before.
    pwd: String,
    iat: i64,
    exp: i64,
}

/// What a valid device cookie says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceToken {
    pub user_id: Uuid,
    /// The cookie's own id.
    pub id: Uuid,
    /// `credential_of` the password hash it was issued under.
    pub credential: String,
}

/// A short digest of a password hash: a device cookie names the password
/// it was issued under, without carrying anything of it.
pub fn credential_of(password_hash: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(password_hash.as_bytes())[..8])
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    sid: Uuid,
    iat: i64,
    exp: i64,
}

/// Who a valid token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenClaims {
    pub user_id: Uuid,
    pub session_id: Uuid,
}

pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    device_validation: Validation,
    ttl: Duration,
    /// A key of its own for `fingerprint`, derived from the secret.
    fingerprints: hmac::Hmac<sha2::Sha256>,
}

impl Tokens {
    pub fn new(secret: &[u8], ttl_minutes: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let mut device_validation = validation.clone();
        device_validation.set_audience(&[DEVICE_AUDIENCE]);
        device_validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            device_validation,
            ttl: Duration::minutes(ttl_minutes),
            fingerprints: fingerprint_key(secret),
        }
    }

    /// A keyed hash of `value` for `purpose`: the same on every instance
    /// (they share the secret), enough to count equal values and nothing
    /// to read the value back from. 32 hex digits.
    pub fn fingerprint(&self, purpose: &str, value: &str) -> String {
        use hmac::Mac;
        let mut mac = self.fingerprints.clone();
        mac.update(purpose.as_bytes());
        mac.update(b":");
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A device token for `user_id` under the password whose hash is
    /// `password_hash`, good for `DEVICE_TTL`.
    pub fn issue_device(
        &self,
        user_id: Uuid,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> ApiResult<String> {
        let claims = DeviceClaims {
            sub: user_id,
            aud: DEVICE_AUDIENCE.to_owned(),
            jti: Uuid::new_v4(),
            pwd: credential_of(password_hash),
            iat: now.timestamp(),
            exp: (now + DEVICE_TTL).timestamp(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    /// What a valid device token says.
    pub fn verify_device(&self, token: &str) -> Option<DeviceToken> {
        jsonwebtoken::decode::<DeviceClaims>(token, &self.decoding, &self.device_validation)
            .ok()
            .map(|data| DeviceToken {
                user_id: data.claims.sub,
                id: data.claims.jti,
                credential: data.claims.pwd,
            })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A token for `user_id` in the sign-in session `session_id`.
    pub fn issue(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> ApiResult<(String, DateTime<Utc>)> {
        let expires_at = now + self.ttl;
        let claims = Claims {
            sub: user_id,
            sid: session_id,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)?;
        Ok((token, expires_at))
    }

    /// The user and session of a valid, unexpired token.
    pub fn verify(&self, token: &str) -> Option<TokenClaims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| TokenClaims {
                user_id: data.claims.sub,
                session_id: data.claims.sid,
            })
    }
}

/// The fingerprint key: an HMAC of a fixed label under the secret, so that
/// no fingerprint is a MAC the tokens could be confused with.
fn fingerprint_key(secret: &[u8]) -> hmac::Hmac<sha2::Sha256> {
    use hmac::{Hmac, Mac};
    // HMAC takes a key of any length: these cannot fail.
    let mut derive = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    derive.update(b"immersion fingerprints");
    let key = derive.finalize().into_bytes();
    <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_and_expires() {
        let tokens = Tokens::new(b"0123456789abcdef0123456789abcdef", 60);
        let (id, sid) = (Uuid::new_v4(), Uuid::new_v4());
        let (token, exp) = tokens.issue(id, sid, Utc::now()).unwrap();
        assert!(exp > Utc::now());
        let claims = tokens.verify(&token).unwrap();
        assert_eq!((claims.user_id, claims.session_id), (id, sid));

        let (old, _) = tokens
            .issue(id, sid, Utc::now() - Duration::hours(2))
            .unwrap();
        assert_eq!(tokens.verify(&old), None);
    }

    #[test]
    fn device_and_session_tokens_are_not_each_other() {
        let tokens = Tokens::new(b"0123456789abcdef0123456789abcdef", 60);
        let id = Uuid::new_v4();
        let device = tokens.issue_device(id, "$argon2id$x", Utc::now()).unwrap();
        let read = tokens.verify_device(&device).unwrap();
        assert_eq!(
            (read.user_id, read.credential),
            (id, credential_of("$argon2id$x"))
        );
        assert_eq!(tokens.verify(&device), None);
        let (session, _) = tokens.issue(id, Uuid::new_v4(), Utc::now()).unwrap();
        assert_eq!(tokens.verify_device(&session), None);
        let other = Tokens::new(b"ffffffffffffffffffffffffffffffff", 60);
        assert_eq!(other.verify_device(&device), None);
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let ours = Tokens::new(b"0123456789abcdef0123456789abcdef", 60);
        let theirs = Tokens::new(b"ffffffffffffffffffffffffffffffff", 60);
        let (token, _) = theirs
            .issue(Uuid::new_v4(), Uuid::new_v4(), Utc::now())
            .unwrap();
        assert_eq!(ours.verify(&token), None);
        assert_eq!(ours.verify("not.a.token"), None);
    }
}
