//! Short-lived HS256 JWTs. The token names the user; role and license are
//! read fresh from the database on each request, so a promotion or a
//! deleted account takes effect at once.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

pub const COOKIE_NAME: &str = "immersion_token";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    iat: i64,
    exp: i64,
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

    pub fn issue(&self, user_id: Uuid, now: DateTime<Utc>) -> ApiResult<(String, DateTime<Utc>)> {
        let expires_at = now + self.ttl;
        let claims = Claims {
            sub: user_id,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)?;
        Ok((token, expires_at))
    }

    /// The user id of a valid, unexpired token.
    pub fn verify(&self, token: &str) -> Option<Uuid> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| data.claims.sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_and_expires() {
        let tokens = Tokens::new(b"0123456789abcdef0123456789abcdef", 60);
        let id = Uuid::new_v4();
        let (token, exp) = tokens.issue(id, Utc::now()).unwrap();
        assert!(exp > Utc::now());
        assert_eq!(tokens.verify(&token), Some(id));

        let (old, _) = tokens.issue(id, Utc::now() - Duration::hours(2)).unwrap();
        assert_eq!(tokens.verify(&old), None);
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let ours = Tokens::new(b"0123456789abcdef0123456789abcdef", 60);
        let theirs = Tokens::new(b"ffffffffffffffffffffffffffffffff", 60);
        let (token, _) = theirs.issue(Uuid::new_v4(), Utc::now()).unwrap();
        assert_eq!(ours.verify(&token), None);
        assert_eq!(ours.verify("not.a.token"), None);
    }
}
