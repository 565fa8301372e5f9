//! The webhook job: fans the events out to the endpoints, then makes the
//! deliveries due, signed per the Standard Webhooks specification:
//! `webhook-id` (the event's id, the same on every attempt),
//! `webhook-timestamp` (seconds) and `webhook-signature`
//! (`v1,<base64 HMAC-SHA256 of id.timestamp.body>`, one per secret while a
//! rotated-out secret still signs). Each goes to the address its name
//! resolves to now, checked (`webhook_targets`), with a timeout, no
//! redirect followed, and at most a few kilobytes of the answer read.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::domain::integrations::webhooks::{self, Attempt, Due};
use crate::domain::platform::events;
use crate::state::AppState;
use crate::webhook_targets;

/// How long one delivery may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an answer is read (the log keeps less).
const READ_AT_MOST: usize = 4096;
/// Deliveries made per tick at most (the rest wait for the next one).
const PER_TICK: u64 = 2000;
const BATCH: u64 = 100;

/// The signature header's value for `body` sent as `id` at `timestamp`,
/// with each secret (`whsec_<base64>`).
pub fn signature(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> String {
    let signed = format!("{id}.{timestamp}.{body}");
    secrets
        .iter()
        .filter_map(|secret| {
            let raw = secret.strip_prefix("whsec_").unwrap_or(secret);
            let key = base64::engine::general_purpose::STANDARD.decode(raw).ok()?;
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
            mac.update(signed.as_bytes());
            Some(format!(
                "v1,{}",
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
            ))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One tick: fan out, then deliver what is due.
pub async fn tick(state: &AppState, now: DateTime<Utc>) {
    if let Err(e) = webhooks::fan_out(&state.db, now).await {
        tracing::error!(error = %e, "webhook fan-out failed");
        return;
    }
    let mut made = 0;
    while made < PER_TICK {
        let due = match webhooks::due(&state.db, Utc::now(), BATCH).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "webhook deliveries not read");
                return;
            }
        };
        if due.is_empty() {
            return;
        }
        made += due.len() as u64;
        // Each endpoint's target is resolved and checked once a batch, and
        // its client (and connections) shared by the batch's deliveries.
        let mut targets: HashMap<Uuid, Result<Target, String>> = HashMap::new();
        for d in &due {
            if let std::collections::hash_map::Entry::Vacant(slot) = targets.entry(d.endpoint.id) {
                slot.insert(target(state, &d.endpoint.url).await);
            }
        }
        // Different resources go at once; one resource's deliveries are in
        // different batches (`due` leaves out all but its earliest).
        let sent = due.iter().map(|d| {
            let target = targets
                .get(&d.endpoint.id)
                .map_or(Err("no target"), |t| t.as_ref().map_err(String::as_str));
            deliver(state, d, target)
        });
        let attempts = futures_util::future::join_all(sent).await;
        let recorded = due.iter().zip(&attempts).map(|(d, attempt)| async move {
            state
                .metrics
                .webhook_attempts
                .with_label_values(&[if attempt.succeeded() { "ok" } else { "failed" }])
                .inc();
            webhooks::record_attempt(&state.db, d, attempt)
                .await
                .map_err(|e| (d.delivery.id, e))
        });
        for result in futures_util::future::join_all(recorded).await {
            if let Err((delivery, e)) = result {
                // Its claim lapses: it is attempted again after `CLAIM`.
                tracing::error!(error = %e, %delivery, "webhook attempt not recorded");
                return;
            }
        }
    }
}

/// Where an endpoint's deliveries go: its URL, and a client that connects
/// to the address just checked, whatever the name says later, through no
/// proxy (one would resolve the name again itself), following no redirect.
struct Target {
    url: url::Url,
    client: reqwest::Client,
}

async fn target(state: &AppState, raw: &str) -> Result<Target, String> {
    let resolved = tokio::time::timeout(
        TIMEOUT,
        webhook_targets::resolve(raw, state.settings.webhook_targets),
    );
    let (url, addr) = match resolved.await {
        Ok(Ok(target)) => target,
        Ok(Err(refusal)) => return Err(refusal.to_string()),
        Err(_) => return Err("the name did not resolve in time".to_owned()),
    };
    let host = url.host_str().unwrap_or_default().to_owned();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(TIMEOUT)
        .resolve(&host, addr)
        .build()
        .map_err(|_| "no HTTP client".to_owned())?;
    Ok(Target { url, client })
}

/// Makes one attempt; never fails (what went wrong is the attempt's).
async fn deliver(state: &AppState, due: &Due, target: Result<&Target, &str>) -> Attempt {
    let at = Utc::now();
    let started = Instant::now();
    let failed = |why: String| Attempt {
        at,
        status_code: None,
        duration_ms: started.elapsed().as_millis() as u64,
        excerpt: why,
    };
    let target = match target {
        Ok(target) => target,
        Err(why) => return failed(why.to_owned()),
    };
    let event = events::present(due.event.clone(), state.policy.cancellation_cutoff_days);
    let body = serde_json::json!({
        "type": event.event_type,
        "timestamp": event.created_at,
        "data": event.data,
    })
    .to_string();
    let id = format!("msg_{}", due.event.id.simple());
    let timestamp = at.timestamp();
    let mut secrets = vec![due.endpoint.secret.as_str()];
    if let (Some(previous), Some(until)) = (
        &due.endpoint.previous_secret,
        due.endpoint.previous_secret_until,
    ) && until > at
    {
        secrets.push(previous);
    }
    let sent = target
        .client
        .post(target.url.clone())
        .header("content-type", "application/json")
        .header("user-agent", "Immersion-Webhooks/1")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header(
            "webhook-signature",
            signature(&secrets, &id, timestamp, &body),
        )
        .body(body)
        .send()
        .await;
    // Why, in words that tell the admin what to fix and a prober nothing
    // more (no error text of the connection's).
    let mut res = match sent {
        Ok(res) => res,
        Err(e) if e.is_timeout() => return failed("no answer within 10 s".to_owned()),
        Err(e) if e.is_connect() => return failed("could not connect".to_owned()),
        Err(_) => return failed("the request failed".to_owned()),
    };
    let status = res.status().as_u16();
    let mut excerpt = Vec::new();
    while excerpt.len() < READ_AT_MOST {
        match res.chunk().await {
            Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
            _ => break,
        }
    }
    excerpt.truncate(READ_AT_MOST);
    Attempt {
        at,
        status_code: Some(status),
        duration_ms: started.elapsed().as_millis() as u64,
        excerpt: String::from_utf8_lossy(&excerpt)
            .chars()
            .take(500)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's own example (standard-webhooks, `spec/`).
    #[test]
    fn signs_as_the_specification_s_example() {
        let sig = signature(
            &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_rotated_secret_signs_beside_the_new_one() {
        let one = signature(&["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], "m", 1, "{}");
        let both = signature(
            &[
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            ],
            "m",
            1,
            "{}",
        );
        assert!(both.starts_with(&one));
        assert_eq!(both.split(' ').count(), 2);
    }
}
