//! The PostgreSQL baseline: pgbench running the api's statements for a
//! hold on the same database, in the same run.

use std::process::Command;

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::DB_CONNECTIONS;

/// pgbench runs the statements the api runs for a hold: find the signed-in
/// user; take the seat with the conditional update, which also checks that
/// the user holds none there yet and has given both names, and returns the
/// price; insert the booking; the hoarding limits' recount and lock; the
/// outbox event; store its Checkout Session id, reading the booking back
/// (still held?). The api stores the id after the hold commits, batched
/// with other holds' ids; pgbench writes it inside the hold's transaction,
/// so it pays one commit per hold, not two. (Only the statements picking
/// a user and a session from `bench_users` and `bench_sessions` are not
/// the api's: it gets them from the request.)
pub struct PgBench {
    dir: std::path::PathBuf,
    pub file: std::path::PathBuf,
}

impl PgBench {
    /// Tables of sessions and fresh users, and the script.
    pub async fn prepare(
        db: &sea_orm::DatabaseConnection,
        sessions: &[Uuid],
    ) -> Result<Self, String> {
        let run = |sql: String| async move {
            db.execute_unprepared(&sql).await.map_err(|e| e.to_string())
        };
        run("CREATE TABLE bench_sessions (n int PRIMARY KEY, id uuid NOT NULL)".into()).await?;
        let values: Vec<String> = sessions
            .iter()
            .enumerate()
            .map(|(i, id)| format!("({}, '{id}')", i + 1))
            .collect();
        run(format!(
            "INSERT INTO bench_sessions VALUES {}",
            values.join(",")
        ))
        .await?;
        // Enough fresh users that every transaction has its own.
        run(
            "CREATE TABLE bench_users (n bigint PRIMARY KEY, id uuid NOT NULL, email text NOT NULL, session uuid)"
                .into(),
        )
        .await?;
        // Each with a skeleton of its own (these ASCII addresses cannot
        // look like one another), or every api instance started after
        // would compute 400 000 of them at startup.
        run("INSERT INTO users (id, email, email_skeleton, password_hash, role, license, email_verified_at, created_at, updated_at) \
             SELECT gen_random_uuid(), 'pgbench' || n || '@bench.test', 'pgbench' || n || '@bench.test', '!', 'user', 'none', now(), now(), now() \
             FROM generate_series(1, 400000) n"
            .into())
        .await?;
        run("INSERT INTO bench_users SELECT row_number() OVER (), id, email, gen_random_uuid() FROM users WHERE email LIKE 'pgbench%'".into()).await?;
        // Each user signed in, as the api's tokens name a session.
        run(
            "INSERT INTO auth_sessions (id, user_id, created_at, expires_at, revoked_at) \
             SELECT session, id, now(), now() + interval '1 day', NULL FROM bench_users"
                .into(),
        )
        .await?;
        // Each named, as a first booking requires.
        run(
            "INSERT INTO user_profiles (user_id, first_name, last_name, updated_at) \
             SELECT id, 'Camille', 'Baseline ' || n, now() FROM bench_users"
                .into(),
        )
        .await?;
        run("CREATE SEQUENCE bench_seq".into()).await?;
        run("ANALYZE".into()).await?;

        let script = format!(
            r#"\set s random(1, {sessions})
SELECT session AS tok FROM bench_users WHERE n = (SELECT nextval('bench_seq')) \gset
SELECT u.id AS uid, u.email AS uemail FROM auth_sessions s JOIN users u ON u.id = s.user_id WHERE s.id = :tok AND s.revoked_at IS NULL AND s.expires_at > now() \gset
SELECT id AS sid FROM bench_sessions WHERE n = :s \gset
BEGIN;
UPDATE immersion_sessions SET reserved_places = reserved_places + 1, status = CASE WHEN closed_by_admin OR starts_on <= CURRENT_DATE THEN 'closed' WHEN reserved_places + 1 >= max_places THEN 'full' ELSE 'open' END, updated_at = now() WHERE id = :sid AND reserved_places < max_places AND (decision IS NULL OR decision <> 'cancelled') AND is_active AND NOT closed_by_admin AND starts_on > CURRENT_DATE AND NOT EXISTS (SELECT 1 FROM immersion_bookings WHERE session_id = :sid AND user_id = :uid AND (status IN ('held', 'confirmed') OR (status IN ('expired', 'cancelled') AND stripe_payment_intent_id IS NULL AND stripe_checkout_session_id IS NOT NULL AND updated_at > now() - interval '120 minutes'))) AND NOT EXISTS (SELECT 1 FROM waitlist_entries WHERE session_id = :sid AND status = 'waiting') AND (SELECT count(id) FROM immersion_bookings WHERE session_id = :sid AND status = 'held' AND client_address = 'bench-address') < 1000000 AND (EXISTS (SELECT 1 FROM users WHERE id = :uid AND email_verified_at IS NOT NULL) OR NOT EXISTS (SELECT 1 FROM immersion_bookings WHERE user_id = :uid AND status = 'held')) AND EXISTS (SELECT 1 FROM user_profiles WHERE user_id = :uid AND first_name IS NOT NULL AND last_name IS NOT NULL) RETURNING price_cents AS price, currency AS cur \gset
INSERT INTO immersion_bookings (id, session_id, user_id, user_email, status, hold_expires_at, amount_cents, currency, created_at, updated_at, client_address) VALUES (gen_random_uuid(), :sid, :uid, :uemail, 'held', now() + interval '33 minutes', :price, :cur, now(), now(), 'bench-address') RETURNING id AS bid \gset
SELECT count(*) FROM immersion_bookings WHERE session_id = :sid AND status = 'held' AND client_address = 'bench-address';
UPDATE users SET email = email WHERE id = :uid AND email_verified_at IS NULL RETURNING erased_at IS NOT NULL;
INSERT INTO events (id, event_type, resource_id, data, created_at) VALUES (gen_random_uuid(), 'booking.held', :bid::uuid, json_build_object('id', :bid::text, 'session_id', :sid::text, 'user_id', :uid::text, 'status', 'held', 'user_email', :uemail::text, 'attendee_name', NULL, 'hold_expires_at', now() + interval '33 minutes', 'amount_cents', :price::bigint, 'currency', :cur::text, 'refunded_cents', NULL, 'starts_on', CURRENT_DATE + 30, 'ends_on', CURRENT_DATE + 34, 'location', 'Paris', 'full_refund_until', CURRENT_DATE + 30, 'invoice_url', NULL, 'refund_pending', false, 'created_at', now(), 'updated_at', now())::text, now());
UPDATE immersion_bookings SET stripe_checkout_session_id = 'cs_test_' || replace(:bid, '-', ''), updated_at = now() WHERE id = :bid RETURNING *;
COMMIT;
"#,
            sessions = sessions.len()
        );
        let dir = std::env::temp_dir().join(format!("booking_rush_{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let file = dir.join("hold.sql");
        std::fs::write(&file, script).map_err(|e| e.to_string())?;
        Ok(Self { dir, file })
    }

    /// The transactions per second of one run of `seconds`.
    pub fn run_file(file: &std::path::Path, url: &str, seconds: u64) -> Result<f64, String> {
        let out = Command::new("pgbench")
            .args([
                "-n",
                "-M",
                "prepared",
                "-c",
                &DB_CONNECTIONS.to_string(),
                "-j",
                "2",
                "-T",
                &seconds.to_string(),
                "-f",
            ])
            .arg(file)
            .arg(url)
            .output()
            .map_err(|e| format!("pgbench: {e} (install postgresql-contrib)"))?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if !out.status.success() {
            return Err(format!(
                "pgbench failed: {}{}",
                text,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        text.lines()
            .find(|l| l.starts_with("tps = "))
            .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("no tps in pgbench output: {text}"))
    }

    pub fn remove(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
