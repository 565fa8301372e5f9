//! `Stripe-Signature` verification, done here rather than with a helper
//! that keeps only the last `v1` value (ARCHITECTURE.md, webhook pipeline): every `v1` is tried
//! against every configured secret, in constant time, within a tolerance
//! of 300 seconds either way.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far the signed timestamp may be from now, in seconds, either way.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    #[error("the signed timestamp is outside the tolerance")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

impl SignatureError {
    /// A stable code for the problem body.
    pub fn code(self) -> &'static str {
        match self {
            Self::Missing => "signature_missing",
            Self::Malformed => "signature_malformed",
            Self::Stale => "signature_expired",
            Self::Mismatch => "signature_mismatch",
        }
    }
}

struct Header {
    timestamp: i64,
    v1: Vec<Vec<u8>>,
}

fn parse(header: &str) -> Result<Header, SignatureError> {
    let mut timestamp = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match key {
            "t" => {
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| SignatureError::Malformed)?,
                )
            }
            // A v1 value that is not hex cannot match; it does not make the
            // whole header unreadable (Stripe may add schemes).
            "v1" => v1.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if v1.is_empty() {
        return Err(SignatureError::Malformed);
    }
    Ok(Header { timestamp, v1 })
}

/// Checks `header` for `payload` against each secret, at time `now` (Unix seconds).
pub fn verify(
    payload: &[u8],
    header: Option<&str>,
    secrets: &[&str],
    now: i64,
) -> Result<(), SignatureError> {
    let header = parse(header.ok_or(SignatureError::Missing)?)?;
    if (now - header.timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let signed_prefix = format!("{}.", header.timestamp);
    for secret in secrets {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            continue;
        };
        mac.update(signed_prefix.as_bytes());
        mac.update(payload);
        for candidate in &header.v1 {
            // `verify_slice` compares in constant time.
            if mac.clone().verify_slice(candidate).is_ok() {
                return Ok(());
            }
        }
    }
    Err(SignatureError::Mismatch)
}

/// Signs `payload` as Stripe does: `t=<timestamp>,v1=<hex hmac>`. Used by
/// the local payment gateway, so its events go through `verify` too.
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map(|mut mac| {
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(payload);
        hex::encode(mac.finalize().into_bytes())
    });
    // HMAC accepts keys of any length, so this branch is not taken.
    format!("t={timestamp},v1={}", mac.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const BODY: &[u8] = br#"{"id":"evt_1","type":"checkout.session.completed"}"#;

    #[test]
    fn accepts_its_own_signature_and_refuses_tampering() {
        let h = sign(BODY, "whsec_a", NOW);
        assert_eq!(verify(BODY, Some(&h), &["whsec_a"], NOW), Ok(()));
        assert_eq!(
            verify(b"{\"id\":\"evt_2\"}", Some(&h), &["whsec_a"], NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(BODY, Some(&h), &["whsec_b"], NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn any_v1_with_any_secret_matches() {
        let good = sign(BODY, "whsec_new", NOW);
        let good_v1 = good.split("v1=").nth(1).unwrap();
        let header = format!("t={NOW},v1={},v1={good_v1}", "ab".repeat(32));
        assert_eq!(
            verify(BODY, Some(&header), &["whsec_old", "whsec_new"], NOW),
            Ok(())
        );
    }

    #[test]
    fn the_tolerance_is_300_seconds_either_way() {
        for (signed_at, ok) in [
            (NOW - 300, true),
            (NOW - 301, false),
            (NOW + 300, true),
            (NOW + 301, false),
        ] {
            let h = sign(BODY, "s", signed_at);
            let got = verify(BODY, Some(&h), &["s"], NOW);
            assert_eq!(got.is_ok(), ok, "signed at {signed_at}: {got:?}");
            if !ok {
                assert_eq!(got, Err(SignatureError::Stale));
            }
        }
    }

    #[test]
    fn missing_and_malformed_headers() {
        assert_eq!(
            verify(BODY, None, &["s"], NOW),
            Err(SignatureError::Missing)
        );
        for bad in [
            "",
            "garbage",
            "t=abc,v1=00",
            "v1=00",
            &format!("t={NOW}"),
            &format!("t={NOW},v0=00"),
        ] {
            assert_eq!(
                verify(BODY, Some(bad), &["s"], NOW),
                Err(SignatureError::Malformed),
                "{bad:?}"
            );
        }
    }
}
