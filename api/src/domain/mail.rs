//! Mails are written to `mail_outbox` in the transaction of the change that
//! causes them; the mail worker sends them later, with retries.

use chrono::Utc;
use common::format::format_session_dates;
use common::money::format_price;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

use entity::{immersion_sessions, mail_outbox};

pub async fn queue(
    db: &impl ConnectionTrait,
    recipient: &str,
    subject: String,
    body: String,
) -> Result<(), DbErr> {
    let now = Utc::now();
    mail_outbox::Entity::insert(mail_outbox::ActiveModel {
        id: Set(Uuid::new_v4()),
        recipient: Set(recipient.to_owned()),
        subject: Set(subject),
        body: Set(body),
        status: Set("pending".into()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        sent_at: Set(None),
        last_error: Set(None),
        created_at: Set(now),
    })
    .exec(db)
    .await?;
    Ok(())
}

/// The French confirmation of a paid seat.
pub fn confirmation(
    session: &immersion_sessions::Model,
    amount_cents: i64,
    currency: &str,
) -> (String, String) {
    let dates = format_session_dates(session.starts_on, session.ends_on);
    let subject = format!("Votre place Immersion Élite est confirmée ({dates})");
    let body = format!(
        "Bonjour,\n\n\
         Votre paiement de {price} est bien reçu : votre place pour la session \
         Immersion Élite du {dates} à {location} est confirmée.\n\n\
         Vous retrouverez votre réservation dans « Mon compte ».\n\n\
         À très bientôt,\nL'équipe Immersion",
        price = format_price(amount_cents, currency),
        location = session.location,
    );
    (subject, body)
}
