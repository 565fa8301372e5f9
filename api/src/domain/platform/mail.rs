//! Mails are written to `mail_outbox` in the transaction of the change that
//! causes them; the mail worker sends them later, with retries.

use chrono::Utc;
use common::format::format_dates_in_sentence;
use common::money::format_price;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

use entity::{immersion_sessions, mail_outbox};

pub async fn queue(
    db: &impl ConnectionTrait,
    recipient: &str,
    subject: String,
    body: String,
) -> Result<(), DbErr> {
    insert(db, row(recipient, subject, body)).await?;
    Ok(())
}

/// A text file sent with a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub text: String,
}

/// Queues a mail that goes out at most once under `key`, however often
/// this runs, on however many instances. True when this call queued it.
pub async fn queue_once(
    db: &impl ConnectionTrait,
    key: &str,
    recipient: &str,
    (subject, body): (String, String),
    attachment: Option<Attachment>,
) -> Result<bool, DbErr> {
    let mut mail = row(recipient, subject, body);
    mail.dedup_key = Set(Some(key.to_owned()));
    if let Some(a) = attachment {
        mail.attachment_name = Set(Some(a.name));
        mail.attachment_type = Set(Some(a.content_type));
        mail.attachment = Set(Some(a.text));
    }
    insert(db, mail).await
}

fn row(recipient: &str, subject: String, body: String) -> mail_outbox::ActiveModel {
    let now = Utc::now();
    mail_outbox::ActiveModel {
        id: Set(Uuid::new_v4()),
        recipient: Set(recipient.to_owned()),
        subject: Set(subject),
        body: Set(body),
        status: Set(common::mail::MailStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        sent_at: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        dedup_key: Set(None),
        attachment_name: Set(None),
        attachment_type: Set(None),
        attachment: Set(None),
    }
}

/// Whether mail can reach `recipient`: not an address under `.invalid`,
/// which never resolves (RFC 2606) — an erased account's.
fn deliverable(recipient: &str) -> bool {
    !recipient.to_ascii_lowercase().ends_with(".invalid")
}

/// Inserts a mail; one whose key is already queued is left alone, and
/// one that nothing can reach is not queued (no attempt, no failure to
/// report). True when it was queued.
async fn insert(db: &impl ConnectionTrait, mail: mail_outbox::ActiveModel) -> Result<bool, DbErr> {
    if let Set(recipient) = &mail.recipient
        && !deliverable(recipient)
    {
        return Ok(false);
    }
    let inserted = mail_outbox::Entity::insert(mail)
        .on_conflict(
            OnConflict::column(mail_outbox::Column::DedupKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}

/// The French reminder `days_left` days before a session, with its
/// practical details.
pub fn reminder(session: &immersion_sessions::Model, days_left: i64) -> (String, String) {
    let dates = format_dates_in_sentence(session.starts_on, session.ends_on);
    let when = match days_left {
        1 => "demain".to_owned(),
        n => format!("dans {n} jours"),
    };
    let subject = format!("Votre session Immersion Élite commence {when} ({dates})");
    let body = format!(
        "Bonjour,\n\n\
         Votre session Immersion Élite commence {when} : {dates}, à {location}.\n\n\
         {program}\
         Votre réservation est dans « Mon compte ». Le fichier joint ajoute \
         la session à votre agenda.\n\n\
         À très bientôt,\nL'équipe Immersion",
        location = session.location,
        program = session
            .description
            .as_deref()
            .map(|d| format!("Au programme :\n{}\n\n", d.trim()))
            .unwrap_or_default(),
    );
    (subject, body)
}

/// The French confirmation of a paid seat.
pub fn confirmation(
    session: &immersion_sessions::Model,
    amount_cents: i64,
    currency: &str,
) -> (String, String) {
    let dates = format_dates_in_sentence(session.starts_on, session.ends_on);
    let subject = format!("Votre place Immersion Élite est confirmée ({dates})");
    let body = format!(
        "Bonjour,\n\n\
         Votre paiement de {price} est bien reçu : votre place pour la session \
         Immersion Élite {dates} à {location} est confirmée.\n\n\
         Vous retrouverez votre réservation dans « Mon compte ».\n\n\
         À très bientôt,\nL'équipe Immersion",
        price = format_price(amount_cents, currency),
        location = session.location,
    );
    (subject, body)
}

/// The French news that a payment is given back because it came too late:
/// the hold had lapsed and the last seat was gone, or the session had
/// already begun.
pub fn late_payment_refunded(
    session: &immersion_sessions::Model,
    amount_cents: i64,
    currency: &str,
    started: bool,
) -> (String, String) {
    let dates = format_dates_in_sentence(session.starts_on, session.ends_on);
    let subject = format!("Votre paiement Immersion Élite est remboursé ({dates})");
    let why = if started {
        "la session avait déjà commencé quand il nous est parvenu"
    } else {
        "votre réservation avait expiré et la dernière place avait été prise \
         entre-temps"
    };
    let body = format!(
        "Bonjour,\n\n\
         Votre paiement de {price} pour la session Immersion Élite {dates} \
         à {location} est arrivé trop tard : {why}. Nous ne pouvons donc pas \
         vous y accueillir, et vous le remboursons intégralement ; le \
         remboursement apparaît sous 5 à 10 jours sur votre relevé.\n\n\
         Les prochaines dates sont sur notre site.\n\n\
         L'équipe Immersion",
        price = format_price(amount_cents, currency),
        location = session.location,
    );
    (subject, body)
}

/// The French news that a session will run: enough attendees.
pub fn session_confirmed(session: &immersion_sessions::Model) -> (String, String) {
    let dates = format_dates_in_sentence(session.starts_on, session.ends_on);
    let subject = format!("Votre session Immersion Élite est confirmée ({dates})");
    let body = format!(
        "Bonjour,\n\n\
         Bonne nouvelle : le groupe est complet pour avoir lieu. La session \
         Immersion Élite {dates} à {location} est confirmée.\n\n\
         Vous pouvez réserver votre transport et votre hébergement.\n\n\
         À très bientôt,\nL'équipe Immersion",
        location = session.location,
    );
    (subject, body)
}

/// The French news that a session is cancelled: `refund` is what the
/// attendee gets back, none for an unpaid hold.
pub fn session_cancelled(
    session: &immersion_sessions::Model,
    refund: Option<(i64, &str)>,
) -> (String, String) {
    let dates = format_dates_in_sentence(session.starts_on, session.ends_on);
    let subject = format!("Session Immersion Élite annulée ({dates})");
    let money = match refund {
        Some((cents, currency)) => format!(
            "Votre paiement de {} vous est intégralement remboursé ; le \
             remboursement apparaît sous 5 à 10 jours sur votre relevé.",
            format_price(cents, currency)
        ),
        None => {
            "Votre réservation en attente de paiement est annulée ; rien n'a été débité.".to_owned()
        }
    };
    let body = format!(
        "Bonjour,\n\n\
         Nous sommes désolés : le nombre minimum de participants n'est pas \
         atteint, et la session Immersion Élite {dates} à {location} est \
         annulée.\n\n{money}\n\n\
         Les prochaines dates sont sur notre site.\n\n\
         L'équipe Immersion",
        location = session.location,
    );
    (subject, body)
}

/// The French offer of a freed seat to the first in a waiting list.
pub fn waitlist_offer(
    session: &immersion_sessions::Model,
    booking_id: Uuid,
    expires: chrono::DateTime<Utc>,
    public_url: &str,
) -> (String, String) {
    let dates = format_dates_in_sentence(session.starts_on, session.ends_on);
    let until = expires
        .with_timezone(&chrono_tz::Europe::Paris)
        .format("%d/%m/%Y à %H:%M");
    let subject = format!("Une place s'est libérée : Immersion Élite ({dates})");
    let body = format!(
        "Bonjour,\n\n\
         Une place s'est libérée pour la session Immersion Élite {dates} à \
         {location}, et elle vous est réservée jusqu'au {until} (heure de Paris).\n\n\
         Pour la confirmer, réglez {price} ici :\n{public_url}/immersion-elite/offre/{booking_id}\n\n\
         Sans paiement à cette date, la place passera à la personne suivante \
         de la liste d'attente.\n\n\
         À très bientôt,\nL'équipe Immersion",
        location = session.location,
        price = format_price(session.price_cents, &session.currency),
    );
    (subject, body)
}
