//! The SQLite baseline: Debian's `sqlite3` shell running the api's
//! statements for a hold on the same database file, in the same run.
//!
//! The shell takes no parameters from a file, so each transaction is
//! written out with its values (the ids as the api stores them: 16-byte
//! blobs; times as RFC 3339 text), in scripts of `CHUNK` transactions,
//! until the round's time is up. It prepares every statement anew, where
//! the api's driver keeps them prepared: a little work the api is spared.

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

/// Transactions per script.
const CHUNK: usize = 250;
/// Users of the baseline's own: each holds a seat in every session.
const USERS: usize = 1000;

struct User {
    id: Uuid,
    email: String,
    /// Its sign-in session, which the api's lookup joins.
    session: Uuid,
}

pub struct Sqlite3 {
    path: std::path::PathBuf,
    users: Vec<User>,
    sessions: Vec<Uuid>,
    /// The next (user, session) pair: user n / sessions, session n % sessions.
    next: AtomicUsize,
}

fn blob(id: &Uuid) -> String {
    format!("X'{}'", id.simple())
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, false)
}

/// The pragmas the api's connections run with (sqlx's defaults).
const PRAGMAS: &str =
    "PRAGMA foreign_keys = ON;\nPRAGMA synchronous = FULL;\nPRAGMA busy_timeout = 5000;\n";

impl Sqlite3 {
    /// The baseline's users, verified, named and signed in.
    pub fn prepare(path: &std::path::Path, sessions: &[Uuid]) -> Result<Self, String> {
        which()?;
        let now = time(Utc::now());
        let expires = time(Utc::now() + chrono::Duration::days(1));
        let mut users = Vec::with_capacity(USERS);
        let mut sql = format!("{PRAGMAS}BEGIN;\n");
        for n in 0..USERS {
            let user = User {
                id: Uuid::new_v4(),
                email: format!("sqlite3-{n}@bench.test"),
                session: Uuid::new_v4(),
            };
            let _ = writeln!(
                sql,
                "INSERT INTO users (id, email, email_skeleton, password_hash, role, license, email_verified_at, created_at, updated_at) VALUES ({id}, '{email}', '{email}', '!', 'user', 'none', '{now}', '{now}', '{now}');\n\
                 INSERT INTO user_profiles (user_id, first_name, last_name, updated_at) VALUES ({id}, 'Camille', 'Baseline {n}', '{now}');\n\
                 INSERT INTO auth_sessions (id, user_id, created_at, expires_at, revoked_at) VALUES ({session}, {id}, '{now}', '{expires}', NULL);",
                id = blob(&user.id),
                email = user.email,
                session = blob(&user.session),
            );
            users.push(user);
        }
        sql.push_str("COMMIT;\n");
        let baseline = Self {
            path: path.to_owned(),
            users,
            sessions: sessions.to_vec(),
            next: AtomicUsize::new(0),
        };
        baseline.script(&sql)?;
        Ok(baseline)
    }

    /// Runs `sql` through the shell; fails on the first failing statement.
    fn script(&self, sql: &str) -> Result<(), String> {
        use std::io::Write as _;
        let mut child = Command::new("sqlite3")
            .arg("-bail")
            .arg(&self.path)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("sqlite3: {e} (install Debian's sqlite3)"))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(sql.as_bytes())
                .map_err(|e| format!("sqlite3: {e}"))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("sqlite3: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "sqlite3 failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    }

    /// One hold, as the api makes it: the signed-in user, then in one
    /// transaction the conditional take (names checked in it), the
    /// booking, the recount and the unverified account's lock, the outbox
    /// event; the Checkout Session id written inside it, reading the
    /// booking back (the api writes it after, batched with other holds').
    fn hold(&self, sql: &mut String) -> Result<(), String> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let user = self
            .users
            .get(n / self.sessions.len())
            .ok_or("the sqlite3 baseline ran out of (user, session) pairs")?;
        let session = &self.sessions[n % self.sessions.len()];
        let now = Utc::now();
        let today = now.date_naive().format("%Y-%m-%d").to_string();
        let hold_end = time(now + chrono::Duration::minutes(33));
        let cooldown = time(now - chrono::Duration::minutes(120));
        let (booking, event) = (Uuid::new_v4(), Uuid::new_v4());
        let (sid, uid, bid) = (blob(session), blob(&user.id), blob(&booking));
        let now = time(now);
        let data = serde_json::json!({
            "id": booking, "session_id": session, "user_id": user.id, "status": "held",
            "user_email": user.email, "attendee_name": null, "hold_expires_at": hold_end,
            "amount_cents": 199_700, "currency": "EUR", "refunded_cents": null,
            "starts_on": today, "ends_on": today, "location": "Paris",
            "full_refund_until": today, "invoice_url": null, "refund_pending": false,
            "created_at": now, "updated_at": now,
        });
        let _ = write!(
            sql,
            "SELECT * FROM auth_sessions s LEFT JOIN users u ON s.user_id = u.id WHERE s.id = {token} AND s.user_id = {uid} AND s.revoked_at IS NULL AND s.expires_at > '{now}' LIMIT 1;
BEGIN;
UPDATE immersion_sessions SET reserved_places = reserved_places + 1, status = CASE WHEN closed_by_admin OR starts_on <= '{today}' THEN 'closed' WHEN reserved_places + 1 >= max_places THEN 'full' ELSE 'open' END, updated_at = '{now}' WHERE id = {sid} AND reserved_places < max_places AND (decision IS NULL OR decision <> 'cancelled') AND is_active = 1 AND closed_by_admin = 0 AND starts_on > '{today}' AND NOT EXISTS (SELECT 1 FROM immersion_bookings WHERE session_id = {sid} AND user_id = {uid} AND (status IN ('held', 'confirmed') OR (status IN ('expired', 'cancelled') AND stripe_payment_intent_id IS NULL AND stripe_checkout_session_id IS NOT NULL AND updated_at > '{cooldown}'))) AND NOT EXISTS (SELECT 1 FROM waitlist_entries WHERE session_id = {sid} AND status = 'waiting') AND (SELECT count(id) FROM immersion_bookings WHERE session_id = {sid} AND status = 'held' AND client_address = 'bench-address') < 1000000 AND (EXISTS (SELECT 1 FROM users WHERE id = {uid} AND email_verified_at IS NOT NULL) OR NOT EXISTS (SELECT 1 FROM immersion_bookings WHERE user_id = {uid} AND status = 'held')) AND EXISTS (SELECT 1 FROM user_profiles WHERE user_id = {uid} AND first_name IS NOT NULL AND last_name IS NOT NULL) RETURNING *;
INSERT INTO immersion_bookings (id, session_id, user_id, user_email, status, hold_expires_at, amount_cents, currency, created_at, updated_at, client_address) VALUES ({bid}, {sid}, {uid}, '{email}', 'held', '{hold_end}', 199700, 'EUR', '{now}', '{now}', 'bench-address') RETURNING id;
SELECT count(*) FROM immersion_bookings WHERE session_id = {sid} AND status = 'held' AND client_address = 'bench-address';
UPDATE users SET email = email WHERE id = {uid} AND email_verified_at IS NULL RETURNING erased_at IS NOT NULL;
INSERT INTO events (id, event_type, resource_id, data, created_at) VALUES ({eid}, 'booking.held', {bid}, '{data}', '{now}');
UPDATE immersion_bookings SET stripe_checkout_session_id = 'cs_test_{bsimple}', updated_at = '{now}' WHERE id = {bid} RETURNING *;
COMMIT;
",
            token = blob(&user.session),
            email = user.email,
            eid = blob(&event),
            bsimple = booking.simple(),
        );
        Ok(())
    }

    /// The transactions per second of one round of `seconds`.
    pub fn run(&self, seconds: u64) -> Result<f64, String> {
        let started = Instant::now();
        let mut done = 0usize;
        while started.elapsed() < Duration::from_secs(seconds) {
            let mut sql = String::from(PRAGMAS);
            for _ in 0..CHUNK {
                self.hold(&mut sql)?;
            }
            self.script(&sql)?;
            done += CHUNK;
        }
        Ok(done as f64 / started.elapsed().as_secs_f64())
    }
}

fn which() -> Result<(), String> {
    Command::new("sqlite3")
        .arg("-version")
        .output()
        .map(|_| ())
        .map_err(|e| format!("sqlite3: {e} (install Debian's sqlite3)"))
}
