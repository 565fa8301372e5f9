//! The audit (`immersion audit`): checks invariant 1 for every session,
//! that no bookable session has a free seat while someone waits in line
//! (invariant 13), that no hold outlasts its bound (invariant 14), that
//! no seat was confirmed once its session had begun, that a confirmed
//! seat has its money and no refund total is below the gateway's
//! (invariant 15), that nobody has two live subscriptions (invariant 16),
//! that every paid booking ended confirmed, refunded or cancelled under
//! the policy, that invoices and credit notes say what they said when
//! issued, add up and are numbered without gaps (invariant 18), that no call to the payment provider is still owed or has
//! failed, and names the payment anomalies no admin has acknowledged yet. Each drift is one line
//! naming what is wrong.

use chrono::{DateTime, Utc};
use common::bookings::BookingStatus;
use common::sessions::SessionDecision;
use common::subscriptions::StripeStatus;
use common::waitlist::WaitlistStatus;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use std::collections::HashMap;

use crate::config::Policy;
use crate::domain::billing::gateway_refunds;
use crate::domain::platform::clock::today_at_venue;
use crate::payments::MIN_HOLD;
use entity::{
    immersion_bookings as bookings, immersion_sessions as sessions, waitlist_entries as entries,
};

/// Slack on a hold's bound: the time a Checkout call may take before a
/// new hold follows its session's end.
const HOLD_SLACK: chrono::Duration = chrono::Duration::minutes(5);

/// What the audit found, by what it asks of a person.
#[derive(Debug, Default)]
pub struct Findings {
    /// A rule is broken, or a call failed for good: a person must look.
    pub broken: Vec<String>,
    /// Calls to the provider still owed: the job finishes them.
    pub owed: Vec<String>,
    /// Payment anomalies no admin has acknowledged yet.
    pub anomalies: Vec<String>,
}

impl Findings {
    /// Every finding, one line each.
    pub fn lines(self) -> Vec<String> {
        let mut lines = self.broken;
        lines.extend(self.owed);
        lines.extend(self.anomalies);
        lines
    }
}

/// The audit now: every finding, one line each.
pub async fn run(db: &DatabaseConnection, policy: &Policy) -> Result<Vec<String>, DbErr> {
    Ok(findings(db, policy, Utc::now()).await?.lines())
}

/// The audit as of `now` (the simulation runs it on its own clock).
pub async fn findings(
    db: &DatabaseConnection,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Findings, DbErr> {
    let mut found = Findings::default();
    let drift = &mut found.broken;
    let today = today_at_venue(now);
    let all_sessions = sessions::Entity::find().all(db).await?;
    // The waiting lists, read once: who waits per session, and which
    // bookings are offers (their bound is the offer's).
    let mut waiting: HashMap<uuid::Uuid, usize> = HashMap::new();
    let mut offers = std::collections::HashSet::new();
    for e in entries::Entity::find()
        .filter(
            Condition::any()
                .add(entries::Column::Status.eq(WaitlistStatus::Waiting.as_str()))
                .add(entries::Column::BookingId.is_not_null()),
        )
        .all(db)
        .await?
    {
        if e.status == WaitlistStatus::Waiting {
            *waiting.entry(e.session_id).or_default() += 1;
        }
        offers.extend(e.booking_id);
    }
    let mut taken: HashMap<uuid::Uuid, i32> = HashMap::new();
    let active = bookings::Entity::find()
        .filter(bookings::Column::Status.is_in([
            BookingStatus::Held.as_str(),
            BookingStatus::Confirmed.as_str(),
        ]))
        .all(db)
        .await?;
    for b in &active {
        *taken.entry(b.session_id).or_default() += 1;
    }
    for s in &all_sessions {
        let counted = taken.get(&s.id).copied().unwrap_or(0);
        if s.reserved_places != counted {
            drift.push(format!(
                "session {} ({}): reserved_places = {} but {} bookings are held or confirmed",
                s.id, s.starts_on, s.reserved_places, counted
            ));
        }
        if s.reserved_places > s.max_places {
            drift.push(format!(
                "session {}: {} places reserved of {}",
                s.id, s.reserved_places, s.max_places
            ));
        }
        let bookable = s.is_active
            && !s.closed_by_admin
            && s.starts_on > today
            && s.decision != Some(SessionDecision::Cancelled);
        let in_line = waiting.get(&s.id).copied().unwrap_or(0);
        if bookable && s.reserved_places < s.max_places && in_line > 0 {
            drift.push(format!(
                "session {} ({}): {} places free while {in_line} wait in line (invariant 13)",
                s.id,
                s.starts_on,
                s.max_places - s.reserved_places
            ));
        }
    }
    // Invariant 14: a hold ends within its bound, fixed when it was taken
    // (a waiting-list offer's, or a hold's from the catalog).
    for b in active.iter().filter(|b| b.status == BookingStatus::Held) {
        let bound = if offers.contains(&b.id) {
            policy.offers.hold
        } else {
            policy.hold.max(MIN_HOLD)
        };
        if let Some(end) = b.hold_expires_at
            && end - b.created_at > bound + HOLD_SLACK
        {
            drift.push(format!(
                "booking {}: held for {} minutes, longer than its bound of {} (invariant 14)",
                b.id,
                (end - b.created_at).num_minutes(),
                bound.num_minutes()
            ));
        }
    }
    // Invariant 15: no seat is confirmed once its session has begun.
    let starts: HashMap<uuid::Uuid, chrono::NaiveDate> =
        all_sessions.iter().map(|s| (s.id, s.starts_on)).collect();
    for b in active
        .iter()
        .filter(|b| b.status == BookingStatus::Confirmed)
    {
        if let (Some(at), Some(start)) = (b.confirmed_at, starts.get(&b.session_id))
            && today_at_venue(at) >= *start
        {
            drift.push(format!(
                "booking {}: confirmed on {}, when its session had begun ({start}) (invariant 15)",
                b.id,
                today_at_venue(at)
            ));
        }
    }
    let paid = bookings::Entity::find()
        .filter(bookings::Column::StripePaymentIntentId.is_not_null())
        .all(db)
        .await?;
    // Invariant 15: a confirmed seat has its money, and a refund total is
    // never below what the gateway says went back.
    let gone_back: HashMap<String, i64> = gateway_refunds::gone_back(db)
        .await?
        .into_iter()
        .map(|m| (m.payment_intent, m.amount_refunded))
        .collect();
    for b in &paid {
        let refunded = b.refunded_cents.unwrap_or(0);
        if b.status == BookingStatus::Confirmed && b.amount_cents > 0 && refunded >= b.amount_cents
        {
            drift.push(format!(
                "booking {}: confirmed, but its money went back ({refunded} of {}) (invariant 15)",
                b.id, b.amount_cents
            ));
        }
        if let Some(stripe) = b
            .stripe_payment_intent_id
            .as_ref()
            .and_then(|pi| gone_back.get(pi))
            && refunded < *stripe
        {
            drift.push(format!(
                "booking {}: {refunded} recorded as refunded, below the gateway's {stripe} (invariant 15)",
                b.id
            ));
        }
    }
    for b in paid {
        let ok = matches!(
            b.status,
            BookingStatus::Confirmed | BookingStatus::Refunded | BookingStatus::Cancelled
        );
        if !ok {
            drift.push(format!(
                "booking {}: paid ({}) but {}",
                b.id,
                b.stripe_payment_intent_id.as_deref().unwrap_or_default(),
                b.status.as_str()
            ));
        }
    }
    // Invariant 16: one live subscription per customer (two are two bills).
    // One we asked the provider to cancel (a second one, or one
    // replaced) is not counted: its call is reported below while owed.
    let mut live: std::collections::BTreeMap<uuid::Uuid, Vec<String>> = Default::default();
    let counted =
        crate::domain::subscriptions::second::counted(db, sea_orm::Condition::all()).await?;
    for s in counted {
        let live_status = matches!(
            s.status,
            Some(StripeStatus::Active | StripeStatus::Trialing | StripeStatus::PastDue)
        );
        if live_status {
            live.entry(s.user_id).or_default().push(s.id);
        }
    }
    for (user, subscriptions) in live.into_iter().filter(|(_, s)| s.len() > 1) {
        drift.push(format!(
            "user {user}: {} live subscriptions ({}) (invariant 16)",
            subscriptions.len(),
            subscriptions.join(", ")
        ));
    }
    // Invariant 18: legal records as issued, every refund credited, the
    // series without gaps; read in one snapshot, so that a refund or an
    // invoice committed between two reads is not taken for a gap.
    let snapshot = snapshot(db).await?;
    found
        .broken
        .extend(crate::domain::billing::seals::broken(&snapshot).await?);
    found
        .broken
        .extend(crate::domain::billing::credit_notes::audit(&snapshot).await?);
    snapshot.commit().await?;
    for call in crate::domain::billing::owed::still_owed(db).await? {
        found.owed.push(format!(
            "owed {}: not done after {} attempts",
            describe(&call),
            call.attempts
        ));
    }
    for call in crate::domain::billing::owed::failed(db).await? {
        found
            .broken
            .push(format!("failed {}: a person must look", describe(&call)));
    }
    for a in crate::domain::billing::anomalies::unacknowledged(db).await? {
        found.anomalies.push(format!(
            "payment anomaly {} ({}): {}; refund {:?}",
            a.kind.as_str(),
            a.event_id,
            a.detail,
            a.refund
        ));
    }
    Ok(found)
}

/// What an owed call is about, for one drift line.
/// A read-only transaction that sees one moment of the database:
/// PostgreSQL's REPEATABLE READ (its default, READ COMMITTED, takes a new
/// snapshot per statement); SQLite's transaction reads one state already.
async fn snapshot(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{AccessMode, IsolationLevel, TransactionTrait};
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.begin_with_config(
            Some(IsolationLevel::RepeatableRead),
            Some(AccessMode::ReadOnly),
        )
        .await
    } else {
        db.begin().await
    }
}

fn describe(call: &entity::owed_gateway_calls::Model) -> String {
    let booking = call
        .booking_id
        .map(|b| format!(", booking {b}"))
        .unwrap_or_default();
    let error = call
        .last_error
        .as_deref()
        .map(|e| format!(", last error: {e}"))
        .unwrap_or_default();
    format!(
        "{} {} of {}{booking}{error}",
        call.reason, call.kind, call.target
    )
}
