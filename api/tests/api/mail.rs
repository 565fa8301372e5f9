//! The mail worker: SMTP down keeps mail pending with backoff; a real SMTP
//! conversation delivers it; two workers never send the same mail twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use api::jobs::mail::{Mail, Mailer, SmtpMailer, deliver_once};
use chrono::{Duration, Utc};
use sea_orm::EntityTrait;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::spawn_app;

async fn queue_one(app: &crate::support::TestApp) -> entity::mail_outbox::Model {
    api::domain::platform::mail::queue(
        &app.state.db,
        "marie@example.com",
        "Votre place Immersion Élite est confirmée".into(),
        "Bonjour,\nVotre paiement de 1 997 € est bien reçu.".into(),
    )
    .await
    .unwrap();
    entity::mail_outbox::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
}

async fn row(app: &crate::support::TestApp) -> entity::mail_outbox::Model {
    entity::mail_outbox::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
}

#[actix_web::test]
async fn smtp_down_keeps_the_mail_and_backs_off() {
    let app = spawn_app().await;
    queue_one(&app).await;
    // Nothing listens on port 1.
    let mailer =
        SmtpMailer::new("smtp://127.0.0.1:1", "Immersion <no-reply@immersion.test>").unwrap();
    let now = Utc::now();
    assert_eq!(deliver_once(&app.state.db, &mailer, now).await.unwrap(), 0);
    let r = row(&app).await;
    assert_eq!((r.status.as_str(), r.attempts), ("pending", 1));
    // (PostgreSQL keeps microseconds: allow for the truncation.)
    assert!(r.next_attempt_at >= now + Duration::seconds(29));
    assert!(r.last_error.is_some());
    // Not due yet: no second attempt.
    assert_eq!(deliver_once(&app.state.db, &mailer, now).await.unwrap(), 0);
    assert_eq!(row(&app).await.attempts, 1);
}

/// Delivers the one pending mail to a local SMTP server, and returns what
/// the server heard.
async fn deliver_over_smtp(app: &crate::support::TestApp) -> String {
    let (port, server) = smtp_server().await;
    let mailer = SmtpMailer::new(
        &format!("smtp://127.0.0.1:{port}"),
        "Immersion <no-reply@immersion.test>",
    )
    .unwrap();
    assert_eq!(
        deliver_once(&app.state.db, &mailer, Utc::now())
            .await
            .unwrap(),
        1
    );
    drop(mailer);
    tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
}

/// A minimal SMTP server: records the envelope and the message.
async fn smtp_server() -> (u16, tokio::task::JoinHandle<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read).lines();
        let mut transcript = String::new();
        write.write_all(b"220 test ESMTP\r\n").await.unwrap();
        let mut in_data = false;
        while let Ok(Some(line)) = lines.next_line().await {
            transcript.push_str(&line);
            transcript.push('\n');
            let reply: &[u8] = if in_data {
                if line == "." {
                    in_data = false;
                    b"250 queued\r\n"
                } else {
                    continue;
                }
            } else if line.starts_with("EHLO") || line.starts_with("HELO") {
                b"250 test\r\n"
            } else if line == "DATA" {
                in_data = true;
                b"354 go on\r\n"
            } else if line == "QUIT" {
                write.write_all(b"221 bye\r\n").await.ok();
                break;
            } else {
                b"250 ok\r\n"
            };
            write.write_all(reply).await.unwrap();
        }
        transcript
    });
    (port, handle)
}

#[actix_web::test]
async fn a_real_smtp_conversation_delivers_the_pending_mail() {
    let app = spawn_app().await;
    queue_one(&app).await;
    let transcript = deliver_over_smtp(&app).await;
    let r = row(&app).await;
    assert_eq!(r.status, "sent");
    assert!(r.sent_at.is_some());
    assert!(
        transcript.contains("MAIL FROM:<no-reply@immersion.test>"),
        "{transcript}"
    );
    assert!(
        transcript.contains("RCPT TO:<marie@example.com>"),
        "{transcript}"
    );
    assert!(transcript.contains("Subject:"), "{transcript}");
}

#[actix_web::test]
async fn a_reminder_goes_out_with_its_calendar_file_attached() {
    let app = spawn_app().await;
    let queued = api::domain::platform::mail::queue_once(
        &app.state.db,
        "reminder:test:7",
        "marie@example.com",
        (
            "Votre session commence dans 7 jours".into(),
            "Bonjour".into(),
        ),
        Some(api::domain::platform::mail::Attachment {
            name: "immersion-elite-2031-03-03.ics".into(),
            content_type: "text/calendar; charset=utf-8".into(),
            text: "BEGIN:VCALENDAR\r\nUID:booking-1@x\r\nEND:VCALENDAR\r\n".into(),
        }),
    )
    .await
    .unwrap();
    assert!(queued);
    let transcript = deliver_over_smtp(&app).await;
    assert!(transcript.contains("multipart/mixed"), "{transcript}");
    assert!(
        transcript.contains("Content-Type: text/calendar"),
        "{transcript}"
    );
    assert!(
        transcript.contains("filename=\"immersion-elite-2031-03-03.ics\""),
        "{transcript}"
    );
}

struct Counting(AtomicUsize);

#[async_trait::async_trait]
impl Mailer for Counting {
    async fn send(&self, _mail: &Mail) -> Result<(), String> {
        self.0.fetch_add(1, Ordering::SeqCst);
        tokio::task::yield_now().await;
        Ok(())
    }
}

#[actix_web::test]
async fn two_workers_send_each_mail_once() {
    let app = spawn_app().await;
    for _ in 0..5 {
        queue_one(&app).await;
    }
    let mailer = Arc::new(Counting(AtomicUsize::new(0)));
    let now = Utc::now();
    let (a, b) = tokio::join!(
        deliver_once(&app.state.db, mailer.as_ref(), now),
        deliver_once(&app.state.db, mailer.as_ref(), now),
    );
    assert_eq!(a.unwrap() + b.unwrap(), 5);
    assert_eq!(mailer.0.load(Ordering::SeqCst), 5);
}

/// A relay that keeps the first mail until told to answer.
#[derive(Default)]
struct SlowRelay {
    sends: AtomicUsize,
    started: tokio::sync::Notify,
    release: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl Mailer for SlowRelay {
    async fn send(&self, _mail: &Mail) -> Result<(), String> {
        if self.sends.fetch_add(1, Ordering::SeqCst) == 0 {
            self.started.notify_one();
            self.release.notified().await;
        }
        Ok(())
    }
}

/// A relay slower than the claim (issue 27): while the first worker is
/// still sending, it renews its claim, so a second worker passing again
/// and again for three times the claim's length sends nothing: the mail
/// goes once. The claim used to run from the pass's start and was never
/// renewed: the second worker sent the mail again.
#[actix_web::test]
async fn a_relay_slower_than_the_claim_still_sends_once() {
    use api::jobs::mail::deliver_leased;
    let app = spawn_app().await;
    queue_one(&app).await;
    let relay = Arc::new(SlowRelay::default());
    let lease = Duration::milliseconds(300);
    let first = {
        let (db, relay) = (app.state.db.clone(), relay.clone());
        tokio::spawn(async move { deliver_leased(&db, relay.as_ref(), Utc::now(), lease).await })
    };
    relay.started.notified().await;
    let until = std::time::Instant::now() + std::time::Duration::from_millis(900);
    while std::time::Instant::now() < until {
        let second = deliver_leased(&app.state.db, relay.as_ref(), Utc::now(), lease);
        assert_eq!(second.await.unwrap(), 0);
        // Time passing is the point here: the claim's first end goes by.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    relay.release.notify_one();
    assert_eq!(first.await.unwrap().unwrap(), 1);
    assert_eq!(relay.sends.load(Ordering::SeqCst), 1);
    assert_eq!(row(&app).await.status.as_str(), "sent");
}

/// Dates inside the mails' sentences read as French writes them ("du 28
/// février au 4 mars 2031"), never the catalog card's "28 février - 4 mars
/// 2031" after "du".
#[actix_web::test]
async fn every_mail_writes_its_dates_as_a_french_sentence() {
    use api::domain::platform::mail;
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let across = app
        .create_session(
            &admin,
            serde_json::json!({"starts_on": "2031-02-28", "ends_on": "2031-03-04"}),
        )
        .await;
    let within = app
        .create_session(
            &admin,
            serde_json::json!({"starts_on": "2031-12-01", "ends_on": "2031-12-05"}),
        )
        .await;
    for (session, sentence) in [
        (across, "du 28 février au 4 mars 2031"),
        (within, "du 1er au 5 décembre 2031"),
    ] {
        let s = app.session_row(session["id"].as_str().unwrap()).await;
        let mails = [
            mail::reminder(&s, 7),
            mail::confirmation(&s, 199_700, "EUR"),
            mail::late_payment_refunded(&s, 199_700, "EUR", false),
            mail::session_confirmed(&s),
            mail::session_cancelled(&s, Some((199_700, "EUR"))),
            mail::waitlist_offer(&s, uuid::Uuid::nil(), Utc::now(), "https://example.com"),
        ];
        for (subject, body) in mails {
            assert!(subject.contains(sentence), "{subject}");
            assert!(body.contains(sentence), "{body}");
            assert!(!body.contains(" - "), "{body}");
        }
    }
}
