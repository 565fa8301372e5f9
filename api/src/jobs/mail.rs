//! Sends `mail_outbox` rows. Each row is leased with a conditional update
//! before sending, so instances never send the same mail together; a
//! failure backs off and retries forever, so no mail is lost while SMTP
//! is down.

use chrono::{DateTime, Duration, Utc};
use common::mail::MailStatus;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::config::Settings;
use entity::mail_outbox::{self as outbox, Column};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub attachment: Option<crate::domain::platform::mail::Attachment>,
}

#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &Mail) -> Result<(), String>;
}

/// Without `SMTP_URL`: the mail goes to the log.
pub struct LogMailer;

#[async_trait::async_trait]
impl Mailer for LogMailer {
    async fn send(&self, mail: &Mail) -> Result<(), String> {
        tracing::info!(to = %mail.to, subject = %mail.subject, body = %mail.body, "mail (no SMTP_URL: logged, not sent)");
        Ok(())
    }
}

/// Sends through `SMTP_URL` (lettre), STARTTLS or TLS as the URL says.
pub struct SmtpMailer {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl SmtpMailer {
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
            .map_err(|e| format!("SMTP_URL: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let from = from.parse().map_err(|e| format!("MAIL_FROM: {e}"))?;
        Ok(Self { transport, from })
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), String> {
        use lettre::AsyncTransport;
        let to: lettre::message::Mailbox = mail
            .to
            .parse()
            .map_err(|e| format!("recipient {}: {e}", mail.to))?;
        let builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone());
        let message = match &mail.attachment {
            None => builder
                .header(lettre::message::header::ContentType::TEXT_PLAIN)
                .body(mail.body.clone()),
            Some(a) => {
                use lettre::message::{Attachment, MultiPart, SinglePart, header::ContentType};
                let content_type =
                    ContentType::parse(&a.content_type).map_err(|e| e.to_string())?;
                builder.multipart(
                    MultiPart::mixed()
                        .singlepart(SinglePart::plain(mail.body.clone()))
                        .singlepart(
                            Attachment::new(a.name.clone()).body(a.text.clone(), content_type),
                        ),
                )
            }
        }
        .map_err(|e| e.to_string())?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// SMTP when `SMTP_URL` is set (a bad URL is logged and mail is kept
/// pending, never dropped), else the log.
pub fn mailer_for(settings: &Settings) -> Box<dyn Mailer> {
    match &settings.smtp_url {
        None => Box::new(LogMailer),
        Some(url) => match SmtpMailer::new(url.expose(), &settings.mail_from) {
            Ok(m) => Box::new(m),
            Err(e) => Box::new(Unusable(e)),
        },
    }
}

/// A mailer that counts what it sends and what fails, for `/metrics`.
pub struct Measured {
    inner: Box<dyn Mailer>,
    sent: prometheus::IntCounter,
    failed: prometheus::IntCounter,
}

impl Measured {
    pub fn new(inner: Box<dyn Mailer>, metrics: &crate::metrics::Metrics) -> Self {
        Self {
            inner,
            sent: metrics.mails_sent.clone(),
            failed: metrics.mail_failures.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Mailer for Measured {
    async fn send(&self, mail: &Mail) -> Result<(), String> {
        let result = self.inner.send(mail).await;
        match &result {
            Ok(()) => self.sent.inc(),
            Err(_) => self.failed.inc(),
        }
        result
    }
}

/// A mailer that cannot send (bad SMTP settings): every mail stays pending.
struct Unusable(String);

#[async_trait::async_trait]
impl Mailer for Unusable {
    async fn send(&self, _mail: &Mail) -> Result<(), String> {
        Err(self.0.clone())
    }
}

/// How long a claimed mail stays invisible to other workers, counted
/// from the claim and renewed while its sending lasts.
const LEASE: Duration = Duration::minutes(5);
const BATCH: u64 = 50;

/// Wait before attempt `n + 1`: 30 s, 1 min, 2 min … capped at one hour.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(0, 7) as u32;
    Duration::seconds(Ord::min(30_i64 << exp, 3600))
}

/// Sends what is due; returns how many were sent.
pub async fn deliver_once(
    db: &DatabaseConnection,
    mailer: &dyn Mailer,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    deliver_leased(db, mailer, now, LEASE).await
}

/// As `deliver_once`, each mail claimed for `lease`: a pass may outlast a
/// claim (a slow relay, a long batch), so each claim is timed from when
/// it is made, not from the pass's `now`, and renewed while its mail is
/// being sent. Another worker takes a mail only once its claim has
/// really lapsed: its worker died.
pub async fn deliver_leased(
    db: &DatabaseConnection,
    mailer: &dyn Mailer,
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<u64, DbErr> {
    let due = outbox::Entity::find()
        .filter(Column::Status.eq(MailStatus::Pending.as_str()))
        .filter(Column::NextAttemptAt.lte(now))
        .order_by_asc(Column::NextAttemptAt)
        .limit(BATCH)
        .all(db)
        .await?;
    let mut sent = 0;
    for row in due {
        let claimed = outbox::Entity::update_many()
            .col_expr(
                Column::NextAttemptAt,
                Expr::value(Ord::max(now, Utc::now()) + lease),
            )
            .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
            .filter(Column::Id.eq(row.id))
            .filter(Column::Status.eq(MailStatus::Pending.as_str()))
            .filter(Column::NextAttemptAt.eq(row.next_attempt_at))
            .exec(db)
            .await?;
        if claimed.rows_affected != 1 {
            continue;
        }
        let attachment = match (&row.attachment_name, &row.attachment_type, &row.attachment) {
            (Some(name), Some(content_type), Some(text)) => {
                Some(crate::domain::platform::mail::Attachment {
                    name: name.clone(),
                    content_type: content_type.clone(),
                    text: text.clone(),
                })
            }
            _ => None,
        };
        let mail = Mail {
            to: row.recipient.clone(),
            subject: row.subject.clone(),
            body: row.body.clone(),
            attachment,
        };
        let claim = Claim {
            id: row.id,
            attempt: row.attempts + 1,
            lease,
        };
        let update = match send_renewing(db, mailer, &mail, &claim).await {
            Ok(()) => {
                sent += 1;
                outbox::Entity::update_many()
                    .col_expr(Column::Status, Expr::value(MailStatus::Sent.as_str()))
                    .col_expr(Column::SentAt, Expr::value(Utc::now()))
                    .col_expr(Column::LastError, Expr::value(Option::<String>::None))
            }
            Err(e) => {
                tracing::warn!(error = %e, mail = %row.id, "mail not sent; will retry");
                outbox::Entity::update_many()
                    .col_expr(
                        Column::NextAttemptAt,
                        Expr::value(Utc::now() + backoff(row.attempts)),
                    )
                    .col_expr(Column::LastError, Expr::value(e))
            }
        };
        update.filter(Column::Id.eq(row.id)).exec(db).await?;
    }
    Ok(sent)
}

/// A mail this worker claimed: its attempt number proves the claim.
struct Claim {
    id: uuid::Uuid,
    attempt: i32,
    lease: Duration,
}

/// The longest one mail may take to hand over: a relay that drips its
/// answers is given up on (then retried), so one mail cannot hold the
/// worker, and its renewed claim, forever.
const SEND_DEADLINE: std::time::Duration = std::time::Duration::from_secs(600);

/// Sends `mail`, pushing its claim's end forward every third of the
/// lease until the relay answers, or `SEND_DEADLINE` passes.
async fn send_renewing(
    db: &DatabaseConnection,
    mailer: &dyn Mailer,
    mail: &Mail,
    claim: &Claim,
) -> Result<(), String> {
    let send = tokio::time::timeout(SEND_DEADLINE, mailer.send(mail));
    tokio::pin!(send);
    let every = (claim.lease / 3)
        .to_std()
        .unwrap_or(std::time::Duration::from_secs(1));
    let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            sent = &mut send => {
                return sent.unwrap_or_else(|_| {
                    Err(format!("the relay did not answer within {SEND_DEADLINE:?}"))
                });
            }
            _ = renew.tick() => {
                // The send goes on whatever this says: stopping it midway
                // could not unsend what the relay already took.
                let renewed = outbox::Entity::update_many()
                    .col_expr(Column::NextAttemptAt, Expr::value(Utc::now() + claim.lease))
                    .filter(Column::Id.eq(claim.id))
                    .filter(Column::Status.eq(MailStatus::Pending.as_str()))
                    .filter(Column::Attempts.eq(claim.attempt))
                    .exec(db)
                    .await;
                match renewed {
                    Ok(r) if r.rows_affected == 1 => {}
                    Ok(_) => tracing::warn!(mail = %claim.id, "mail claim lost while sending"),
                    Err(e) => tracing::warn!(mail = %claim.id, error = %e, "mail claim not renewed"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(0), Duration::seconds(30));
        assert_eq!(backoff(1), Duration::seconds(60));
        assert_eq!(backoff(3), Duration::seconds(240));
        assert_eq!(backoff(20), Duration::seconds(3600));
    }
}
