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
    ttl: Duration,
}

impl Tokens {
    pub fn new(secret: &[u8], ttl_minutes: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl: Duration::minutes(ttl_minutes),
        }
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
