//! Credit notes (invariant 18): every refund of a seat the app invoiced
//! ends with credit notes that add up to what went back, each referring
//! to its invoice, numbered in their own series with no gap however many
//! refunds land at once; invoices and credit notes keep their seal, and
//! `immersion audit` fails when a row is changed by hand.

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use common::invoices::{InvoiceDto, InvoiceKind};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use crate::support::{TestApp, event, paid_seat, pay_with, seat_in, spawn_app};

async fn notes_of(app: &TestApp, booking: &str) -> Vec<entity::credit_notes::Model> {
    entity::credit_notes::Entity::find()
        .filter(entity::credit_notes::Column::BookingId.eq(booking.parse::<uuid::Uuid>().unwrap()))
        .order_by_asc(entity::credit_notes::Column::Sequence)
        .all(&app.state.db)
        .await
        .unwrap()
}

async fn invoice_of(app: &TestApp, booking: &str) -> entity::invoices::Model {
    entity::invoices::Entity::find()
        .filter(entity::invoices::Column::BookingId.eq(booking.parse::<uuid::Uuid>().unwrap()))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("the seat was invoiced")
}

async fn session(app: &TestApp, body: serde_json::Value) -> String {
    let admin = app.admin_token().await;
    app.create_session(&admin, body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn page(app: &TestApp, url: &str, token: &str) -> String {
    let res = app
        .client
        .get(format!("{}{url}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{url}");
    res.text().await.unwrap()
}

#[actix_web::test]
async fn a_cancelled_seat_gets_one_credit_note_beside_its_invoice() {
    let app = spawn_app().await;
    let sid = session(&app, json!({})).await;
    let seat = paid_seat(&app, &sid, "camille@example.com").await;
    let invoice = invoice_of(&app, seat.booking()).await;
    assert!(notes_of(&app, seat.booking()).await.is_empty());

    let cancelled = app.cancel(seat.booking(), &seat.token).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    let notes = notes_of(&app, seat.booking()).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    let note = &notes[0];
    assert_eq!(note.invoice_id, invoice.id);
    assert_eq!(note.amount_cents, 199_700);
    assert_eq!(note.reason, "cancellation");
    assert_eq!(note.sequence, Some(1));
    assert!(
        note.number.starts_with("AV-") && note.number.ends_with("-000001"),
        "{}",
        note.number
    );
    // A second cancel is refused and credits nothing more.
    assert_eq!(
        app.cancel(seat.booking(), &seat.token).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(notes_of(&app, seat.booking()).await.len(), 1);

    // The customer finds it next to the invoice it corrects.
    let mine: Vec<InvoiceDto> = app.get("/api/me/invoices", Some(&seat.token)).await.ok();
    let kinds: Vec<_> = mine.iter().map(|d| (d.kind, d.invoice_id)).collect();
    assert_eq!(
        kinds,
        [
            (InvoiceKind::CreditNote, Some(invoice.id)),
            (InvoiceKind::Invoice, None)
        ],
        "{mine:?}"
    );
    let html = page(&app, &mine[0].url, &seat.token).await;
    assert!(
        html.contains(&format!(
            "Avoir n° <span id=\"number\">{}</span>",
            note.number
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!("Facture corrigée : n° {}", invoice.number)),
        "{html}"
    );
    assert!(
        html.contains("Motif : Annulation de la réservation"),
        "{html}"
    );
    assert!(
        html.contains("<td class=\"amount\" id=\"total\">1\u{202f}997\u{a0}€</td>"),
        "{html}"
    );
    // Only its owner and admins read it.
    let (_, stranger) = app.quick_user("curieux@example.com").await;
    app.get(&mine[0].url, Some(&stranger))
        .await
        .assert_problem(404, "not_found");

    // Admins find it in the attendee list, beside the invoice.
    let admin = app.admin_token().await;
    let attendees: Vec<common::bookings::BookingDto> = app
        .get(&format!("/api/admin/sessions/{sid}/bookings"), Some(&admin))
        .await
        .ok();
    assert_eq!(attendees[0].credit_note_urls, [mine[0].url.clone()]);
    // Third parties hear of it.
    let events = app
        .get("/api/events?types=credit_note.issued", Some(&admin))
        .await;
    assert_eq!(events.body.as_array().unwrap().len(), 1, "{}", events.body);
    assert_eq!(events.body[0]["data"]["invoice_id"], json!(invoice.id));
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

#[actix_web::test]
async fn a_session_cancelled_for_too_few_attendees_credits_each_paid_seat_once() {
    let app = spawn_app().await;
    let tomorrow = api::domain::platform::clock::today_at_venue(Utc::now()) + Duration::days(1);
    let sid = session(
        &app,
        json!({"min_places": 3, "decide_on": tomorrow.to_string()}),
    )
    .await;
    let seats = [
        paid_seat(&app, &sid, "anne@example.com").await,
        paid_seat(&app, &sid, "bruno@example.com").await,
    ];
    let decided = api::domain::bookings::decisions::decide_due(
        &app.state.db,
        app.state.gateway.as_ref(),
        Utc::now() + Duration::days(2),
    )
    .await
    .unwrap();
    assert_eq!(decided.len(), 1);
    for seat in &seats {
        let notes = notes_of(&app, seat.booking()).await;
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(notes[0].reason, "session_cancelled");
        assert_eq!(notes[0].amount_cents, 199_700);
        assert_eq!(
            notes[0].invoice_id,
            invoice_of(&app, seat.booking()).await.id
        );
    }
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

/// `charge.refunded` for the seat's payment, as the Dashboard sends it.
fn dashboard_refund(paid: &serde_json::Value, refunded: i64, whole: bool) -> serde_json::Value {
    event(
        "charge.refunded",
        json!({
            "id": "ch_test_1",
            "object": "charge",
            "amount": 199_700,
            "amount_refunded": refunded,
            "refunded": whole,
            "payment_intent": paid["payment_intent"],
        }),
    )
}

#[actix_web::test]
async fn dashboard_refunds_are_credited_part_by_part_and_never_twice() {
    let app = spawn_app().await;
    let sid = session(&app, json!({})).await;
    let seat = seat_in(&app, &sid, "marie@example.com").await;
    let (outcome, paid) = pay_with(&app, &seat, |_| {}).await;
    assert_eq!(outcome, "confirmed");
    let part = dashboard_refund(&paid, 50_000, false);
    app.deliver(&part).await;
    let notes = notes_of(&app, seat.booking()).await;
    assert_eq!(
        notes
            .iter()
            .map(|n| (n.amount_cents, n.reason.as_str()))
            .collect::<Vec<_>>(),
        [(50_000, "gateway_refund")]
    );
    app.deliver(&dashboard_refund(&paid, 199_700, true)).await;
    // An older event of the same charge, delivered late, credits nothing.
    app.deliver(&dashboard_refund(&paid, 50_000, false)).await;
    let notes = notes_of(&app, seat.booking()).await;
    assert_eq!(
        notes.iter().map(|n| n.amount_cents).collect::<Vec<_>>(),
        [50_000, 149_700]
    );
    assert_eq!(app.booking_row(seat.booking()).await.status, "refunded");
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

#[actix_web::test]
async fn a_refund_seen_before_its_payment_is_credited_with_the_invoice() {
    let app = spawn_app().await;
    let sid = session(&app, json!({})).await;
    let seat = seat_in(&app, &sid, "marie@example.com").await;
    let paid = seat.paid();
    let early = app.deliver(&dashboard_refund(&paid, 30_000, false)).await;
    assert_eq!(early.body["outcome"], "refund_before_payment");
    let confirmed = app
        .deliver(&event("checkout.session.completed", paid))
        .await;
    assert_eq!(confirmed.body["outcome"], "confirmed", "{}", confirmed.body);
    let invoice = invoice_of(&app, seat.booking()).await;
    let notes = notes_of(&app, seat.booking()).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(
        (notes[0].invoice_id, notes[0].amount_cents),
        (invoice.id, 30_000)
    );
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

#[actix_web::test]
async fn concurrent_refunds_number_their_credit_notes_with_no_gap_or_repeat() {
    let app = spawn_app().await;
    let sid = session(&app, json!({"max_places": 8})).await;
    let mut seats = Vec::new();
    for i in 0..8 {
        seats.push(paid_seat(&app, &sid, &format!("buyer{i}@example.com")).await);
    }
    let answers =
        futures_util::future::join_all(seats.iter().map(|s| app.cancel(s.booking(), &s.token)))
            .await;
    assert!(
        answers.iter().all(|a| a.status == StatusCode::OK),
        "{:?}",
        answers.iter().map(|a| &a.body).collect::<Vec<_>>()
    );
    let notes = entity::credit_notes::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    let sequences: BTreeSet<i64> = notes.iter().filter_map(|n| n.sequence).collect();
    assert_eq!(sequences, (1..=8).collect::<BTreeSet<_>>());
    let numbers: BTreeSet<&str> = notes.iter().map(|n| n.number.as_str()).collect();
    assert_eq!(numbers.len(), 8);
    let bookings: BTreeSet<_> = notes.iter().map(|n| n.booking_id).collect();
    assert_eq!(bookings.len(), 8, "one per seat");
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

#[actix_web::test]
async fn a_record_changed_by_hand_fails_the_audit() {
    let app = spawn_app().await;
    let sid = session(&app, json!({})).await;
    let seat = paid_seat(&app, &sid, "marie@example.com").await;
    app.cancel(seat.booking(), &seat.token).await;
    let invoice = invoice_of(&app, seat.booking()).await;
    let note = &notes_of(&app, seat.booking()).await[0];
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);

    // The buyer's name on the invoice (the test's only one), changed: the
    // seal no longer holds.
    app.state
        .db
        .execute_unprepared("UPDATE invoices SET bill_to = 'Quelqu''un d''autre'")
        .await
        .unwrap();
    let drift = app.audit().await;
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert!(
        drift[0].contains(&invoice.number) && drift[0].contains("no longer matches its seal"),
        "{drift:?}"
    );
    // A credit note's amount, changed: its seal breaks, and the refund
    // is no longer credited in full.
    app.state
        .db
        .execute_unprepared("UPDATE credit_notes SET amount_cents = 100")
        .await
        .unwrap();
    let drift = app.audit().await;
    assert!(
        drift
            .iter()
            .any(|l| l.contains(&note.number) && l.contains("seal")),
        "{drift:?}"
    );
    assert!(
        drift
            .iter()
            .any(|l| l.contains("199700 cents went back on it, its credit notes give back 100")),
        "{drift:?}"
    );
    // A number taken out of the series leaves a gap the audit names.
    app.state
        .db
        .execute_unprepared("DELETE FROM credit_notes")
        .await
        .unwrap();
    let drift = app.audit().await;
    assert!(
        drift
            .iter()
            .any(|l| l.contains("the credit_notes series is not 1 to 1")),
        "{drift:?}"
    );

    // The command line says so too, and fails.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_immersion"))
        .arg("audit")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("JWT_SECRET", "test-secret-test-secret-test-secret-42")
        .env("DEMO_DATA", "false")
        .env("DATABASE_URL", &app.database_url)
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&invoice.number),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[actix_web::test]
async fn the_invoice_and_its_credit_note_print_the_seller_s_legal_mentions() {
    let app = TestApp::builder()
        .env("COMPANY_NAME", "Immersion SAS")
        .env("COMPANY_ADDRESS", "12 rue de la Paix | 75002 Paris")
        .env("COMPANY_SIRET", "73282932000074")
        .env("COMPANY_NDA", "11751234575")
        .env("COMPANY_RCS", "RCS Paris 732 829 320")
        .spawn()
        .await;
    let sid = session(&app, json!({})).await;
    let seat = paid_seat(&app, &sid, "marie@example.com").await;
    app.cancel(seat.booking(), &seat.token).await;
    let mine: Vec<InvoiceDto> = app.get("/api/me/invoices", Some(&seat.token)).await.ok();
    assert_eq!(mine.len(), 2);
    for document in &mine {
        let html = page(&app, &document.url, &seat.token).await;
        for mention in [
            "Immersion SAS<br>12 rue de la Paix<br>75002 Paris",
            "SIRET 732 829 320 00074",
            "RCS Paris 732 829 320",
            "Déclaration d'activité n° 11 75 12345 75 (cet enregistrement ne vaut pas agrément de l'État)",
        ] {
            assert!(
                html.contains(&mention.replace('\'', "&#39;")) || html.contains(mention),
                "{:?} lacks {mention}: {html}",
                document.kind
            );
        }
        // And the PDF, read back as a reader extracts its text.
        let res = app
            .client
            .get(format!("{}{}?format=pdf", app.base, document.url))
            .bearer_auth(&seat.token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "application/pdf");
        let disposition = res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(disposition.contains(&document.number), "{disposition}");
        let text = crate::presence::pdf_text(&res.bytes().await.unwrap());
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let (title, sign) = match document.kind {
            InvoiceKind::Invoice => ("Facture", None),
            InvoiceKind::CreditNote => {
                let corrected = mine
                    .iter()
                    .find(|i| Some(i.id) == document.invoice_id)
                    .unwrap();
                (
                    "Avoir",
                    Some(format!("Facture corrigée : n° {}", corrected.number)),
                )
            }
        };
        for want in [
            "Immersion SAS",
            "12 rue de la Paix",
            "SIRET 732 829 320 00074",
            "RCS Paris 732 829 320",
            "Déclaration d'activité n° 11 75 12345 75",
            "1 997 €",
        ]
        .map(str::to_owned)
        .into_iter()
        .chain([format!("{title} n° {}", document.number)])
        .chain(sign)
        {
            assert!(text.contains(&want), "{want:?} in {text}");
        }
    }
}
