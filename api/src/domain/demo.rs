//! Demo data for a fresh development database: the seed's calendar of
//! eight Monday-to-Friday sessions, one every two weeks from the next
//! Monday, with the seed's fill levels made of real confirmed bookings (so
//! invariant 1 holds), plus a demo admin and a demo user.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use common::auth::{License, Role};
use common::sessions::SessionFields;
use rand::Rng;
use sea_orm::{
    ActiveValue::Set, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, TransactionTrait,
};
use uuid::Uuid;

use crate::auth::password::HashLimit;
use crate::error::{ApiError, ApiResult};
use common::resources::ResourceKind;
use entity::{
    immersion_bookings as bookings, immersion_sessions as sessions, member_resources,
    user_profiles, users,
};

/// The demo attendees' names (the attendance sheet and the lists show them).
const NAMES: [(&str, &str); 8] = [
    ("Camille", "Martin"),
    ("Hugo", "Bernard"),
    ("Léa", "Dubois"),
    ("Lucas", "Thomas"),
    ("Chloé", "Robert"),
    ("Louis", "Richard"),
    ("Manon", "Petit"),
    ("Gabriel", "Durand"),
];

/// The members' area of the demo: title, kind, link, text.
const RESOURCES: [(&str, ResourceKind, Option<&str>, Option<&str>); 3] = [
    (
        "Bienvenue dans l'espace membres",
        ResourceKind::Text,
        None,
        Some(
            "Retrouvez ici les fiches, vidéos et documents de la méthode Immersion, mis à jour chaque mois.",
        ),
    ),
    (
        "Fiche méthode : préparer sa semaine d'immersion",
        ResourceKind::Document,
        Some("https://immersion.test/ressources/preparer-sa-semaine.pdf"),
        None,
    ),
    (
        "Replay : séance de questions du mois",
        ResourceKind::Video,
        Some("https://immersion.test/ressources/replay-questions"),
        None,
    ),
];

/// What the demo sessions contain, as an admin writes it: plain text,
/// paragraphs separated by blank lines.
const PROGRAMME: &str = "Cinq jours en petit groupe, du lundi au vendredi, pour pratiquer la méthode Immersion avec un formateur.

Lundi et mardi : les bases, en situation réelle dès le premier matin.
Mercredi et jeudi : mises en pratique filmées, retours individuels.
Vendredi : bilan, plan de travail personnel pour les trois mois suivants.

Accueil à 9 h, fin à 17 h 30. Déjeuners compris.";

/// Reserved places of the eight demo sessions, as in the seed.
pub const FILL_LEVELS: [i32; 8] = [3, 6, 2, 8, 0, 0, 0, 0];
pub const PLACES: i32 = 8;
pub const PRICE_CENTS: i64 = 199_700;
pub const ADMIN_EMAIL: &str = "admin@immersion.test";
pub const USER_EMAIL: &str = "marie@immersion.test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSession {
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub reserved: i32,
}

/// The calendar relative to `today`: the first session starts on the next
/// Monday strictly after today, each next one two weeks after the last,
/// and a week with a public holiday is skipped (a session is held on five
/// full days).
pub fn calendar(today: NaiveDate) -> Vec<DemoSession> {
    let to_monday = 7 - i64::from(today.weekday().num_days_from_monday());
    let mut next = today + Duration::days(to_monday);
    FILL_LEVELS
        .iter()
        .map(|&reserved| {
            let mut starts_on = next;
            while !common::calendar::holidays_between(starts_on, starts_on + Duration::days(4))
                .is_empty()
            {
                starts_on += Duration::weeks(1);
            }
            next = starts_on + Duration::weeks(2);
            DemoSession {
                starts_on,
                ends_on: starts_on + Duration::days(4),
                reserved,
            }
        })
        .collect()
}

/// Credentials of the demo accounts, printed once when they are created.
#[derive(Clone, PartialEq, Eq)]
pub struct DemoAccounts {
    pub admin_password: String,
    pub user_password: String,
}

impl std::fmt::Debug for DemoAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DemoAccounts([redacted])")
    }
}

fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Seeds the demo data when the database has no user and no session.
/// Returns the demo credentials when it did.
pub async fn seed_if_empty(
    db: &DatabaseConnection,
    hashing: &HashLimit,
    today: NaiveDate,
) -> ApiResult<Option<DemoAccounts>> {
    if users::Entity::find().count(db).await? > 0 || sessions::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    let accounts = DemoAccounts {
        admin_password: random_password(),
        user_password: random_password(),
    };
    let admin_hash = hashing.hash(accounts.admin_password.clone()).await?;
    let user_hash = hashing.hash(accounts.user_password.clone()).await?;
    db.transaction::<_, (), DbErr>(|txn| {
        Box::pin(async move {
            let now = Utc::now();
            let user =
                |email: String, hash: String, role: Role, license: License| users::ActiveModel {
                    id: Set(Uuid::new_v4()),
                    email_skeleton: Set(Some(crate::email::skeleton(&email))),
                    email: Set(email),
                    password_hash: Set(hash),
                    role: Set(role),
                    license: Set(license),
                    // Seeded by us: nobody needs to prove these addresses.
                    email_verified_at: Set(Some(now)),
                    erased_at: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                };
            let profile = |user_id: Uuid, first: &str, last: &str| user_profiles::ActiveModel {
                user_id: Set(user_id),
                first_name: Set(Some(first.into())),
                last_name: Set(Some(last.into())),
                company: Set(None),
                billing_address: Set(None),
                phone: Set(None),
                updated_at: Set(now),
            };
            // The demo accounts are named: a first booking needs names.
            for (email, hash, role, (first, last)) in [
                (ADMIN_EMAIL, admin_hash, Role::Admin, ("Alice", "Admin")),
                (USER_EMAIL, user_hash, Role::User, ("Dominique", "Démo")),
            ] {
                let u = users::Entity::insert(user(email.into(), hash, role, License::None))
                    .exec_with_returning(txn)
                    .await?;
                user_profiles::Entity::insert(profile(u.id, first, last))
                    .exec(txn)
                    .await?;
                if role == Role::Admin {
                    // Made by the demo, not by ADMIN_EMAILS: it stays.
                    let by = crate::domain::accounts::roles::BY_DEMO;
                    crate::domain::accounts::roles::record(txn, u.id, (Role::User, role), by, now)
                        .await?;
                }
            }
            // Attendees cannot log in: their stored hash is not a valid hash.
            let mut attendees = Vec::new();
            for (n, (first, last)) in (1..=PLACES).zip(NAMES) {
                let a = user(
                    format!("participant{n:02}@immersion.test"),
                    "!demo".into(),
                    Role::User,
                    License::Immersion,
                );
                let a = users::Entity::insert(a).exec_with_returning(txn).await?;
                user_profiles::Entity::insert(profile(a.id, first, last))
                    .exec(txn)
                    .await?;
                attendees.push(a);
            }
            for (position, (title, kind, url, body)) in RESOURCES.into_iter().enumerate() {
                member_resources::Entity::insert(member_resources::ActiveModel {
                    id: Set(Uuid::new_v4()),
                    title: Set(title.into()),
                    kind: Set(kind),
                    url: Set(url.map(Into::into)),
                    body: Set(body.map(Into::into)),
                    position: Set(position as i32),
                    created_at: Set(now),
                    updated_at: Set(now),
                })
                .exec(txn)
                .await?;
            }
            for slot in calendar(today) {
                let fields = SessionFields {
                    starts_on: slot.starts_on,
                    ends_on: slot.ends_on,
                    location: "Paris".into(),
                    description: Some(PROGRAMME.into()),
                    trainer: Some("Claire Fontaine".into()),
                    half_day_minutes: common::sessions::DEFAULT_HALF_DAY_MINUTES,
                    price_cents: PRICE_CENTS,
                    currency: "EUR".into(),
                    max_places: PLACES,
                };
                let session = crate::domain::catalog::sessions::insert(
                    txn,
                    fields,
                    Default::default(),
                    true,
                    slot.reserved,
                    today,
                )
                .await?;
                for attendee in attendees.iter().take(slot.reserved as usize) {
                    bookings::Entity::insert(bookings::ActiveModel {
                        id: Set(Uuid::new_v4()),
                        session_id: Set(session.id),
                        user_id: Set(attendee.id),
                        user_email: Set(attendee.email.clone()),
                        status: Set(common::bookings::BookingStatus::Confirmed),
                        hold_expires_at: Set(None),
                        stripe_checkout_session_id: Set(None),
                        stripe_payment_intent_id: Set(None),
                        amount_cents: Set(PRICE_CENTS),
                        currency: Set("EUR".into()),
                        refund_id: Set(None),
                        refunded_cents: Set(None),
                        confirmed_at: Set(Some(now)),
                        cancelled_at: Set(None),
                        created_at: Set(now),
                        updated_at: Set(now),
                        client_address: Set(None),
                    })
                    .exec(txn)
                    .await?;
                }
            }
            Ok(())
        })
    })
    .await
    .map_err(|e| ApiError::internal(format!("demo seeding failed: {e}")))?;
    Ok(Some(accounts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn starts_on_the_next_monday_and_runs_every_two_weeks() {
        // 2026-11-22 is a Sunday.
        let cal = calendar(d("2026-11-22"));
        assert_eq!(cal.len(), 8);
        assert_eq!(cal[0].starts_on, d("2026-11-23"));
        assert_eq!(cal[0].ends_on, d("2026-11-27"));
        assert_eq!(cal[1].starts_on, d("2026-12-07"));
        // Not over Christmas (25 December) nor New Year's Day (1 January).
        assert_eq!(cal[2].starts_on, d("2027-01-04"));
        assert_eq!(cal[7].starts_on, d("2027-03-15"));
        for s in &cal {
            assert_eq!(s.starts_on.weekday(), chrono::Weekday::Mon);
            assert_eq!(s.ends_on.weekday(), chrono::Weekday::Fri);
        }
        let fills: Vec<i32> = cal.iter().map(|s| s.reserved).collect();
        assert_eq!(fills, [3, 6, 2, 8, 0, 0, 0, 0]);
    }

    #[test]
    fn no_demo_session_is_held_over_a_public_holiday() {
        let mut today = d("2025-01-01");
        while today < d("2031-01-01") {
            for s in calendar(today) {
                let holidays = common::calendar::holidays_between(s.starts_on, s.ends_on);
                assert_eq!(holidays, [], "from {today}: {s:?}");
                assert_eq!(
                    common::calendar::working_days(s.starts_on, s.ends_on).len(),
                    5
                );
            }
            today += Duration::days(3);
        }
    }

    #[test]
    fn on_a_monday_the_first_session_is_a_week_later() {
        assert_eq!(calendar(d("2026-11-23"))[0].starts_on, d("2026-11-30"));
    }
}
