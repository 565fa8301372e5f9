//! Invoices the app issues itself with the local gateway: one per paid
//! seat, numbered from a counter with no gap and no repeat however many
//! payments land at once, readable by their owner and admins only.

use std::collections::BTreeSet;

use common::bookings::BookingDto;
use common::invoices::InvoiceDto;
use common::subscriptions::RedirectDto;
use reqwest::StatusCode;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::json;

use crate::support::{TestApp, WEBHOOK_SECRET, click, event, paid_seat, seat_in, spawn_app};

async fn invoices(app: &TestApp) -> Vec<entity::invoices::Model> {
    entity::invoices::Entity::find()
        .order_by_asc(entity::invoices::Column::Sequence)
        .all(&app.state.db)
        .await
        .unwrap()
}

async fn page(app: &TestApp, url: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut req = app.client.get(format!("{}{url}", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

#[actix_web::test]
async fn a_paid_seat_gets_one_invoice_that_its_owner_reads_and_admins_see() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let sid = app
        .create_session(&admin, json!({ "location": "Lyon" }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let seat = seat_in(&app, &sid, "camille@example.com").await;
    let named = app
        .patch(
            "/api/me/profile",
            Some(&seat.token),
            json!({ "first_name": "Camille", "last_name": "Martin", "company": "Acme <SA>" }),
        )
        .await;
    assert_eq!(named.status, StatusCode::OK, "{}", named.body);
    assert!(
        invoices(&app).await.is_empty(),
        "nothing is invoiced before payment"
    );
    let paid = app
        .deliver(&event("checkout.session.completed", seat.paid()))
        .await;
    assert_eq!(paid.body["outcome"], "confirmed", "{}", paid.body);

    let issued = invoices(&app).await;
    assert_eq!(issued.len(), 1);
    let invoice = &issued[0];
    assert_eq!(invoice.sequence, Some(1));
    assert_eq!(invoice.amount_cents, 199_700);
    assert_eq!(invoice.booking_id.unwrap().to_string(), seat.booking());
    let url = format!("/api/invoices/{}", invoice.id);

    // The owner finds it on the booking and in the list.
    let mine: Vec<BookingDto> = app.get("/api/me/bookings", Some(&seat.token)).await.ok();
    assert_eq!(mine[0].invoice_url.as_ref(), Some(&url), "{mine:?}");
    let list = app.get("/api/me/invoices", Some(&seat.token)).await;
    assert_eq!(list.status, StatusCode::OK);
    let list: Vec<InvoiceDto> = list.ok();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].url, url);
    assert_eq!(list[0].number, invoice.number);
    assert!(invoice.number.ends_with("-000001"), "{}", invoice.number);

    // The page: number, buyer (escaped), line, amount, the VAT mention.
    let (status, html) = page(&app, &url, Some(&seat.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&format!("<span id=\"number\">{}</span>", invoice.number)),
        "{html}"
    );
    assert!(
        html.contains("Camille Martin<br>Acme &lt;SA&gt;<br>camille@example.com"),
        "{html}"
    );
    assert!(html.contains("Immersion Élite, "), "{html}");
    assert!(html.contains(", Lyon : une place"), "{html}");
    assert!(
        html.contains("<td class=\"amount\" id=\"total\">1\u{202f}997\u{a0}€</td>"),
        "{html}"
    );
    assert!(
        html.contains("TVA non applicable, article 261-4-4° a du CGI"),
        "{html}"
    );

    // A second delivery of the same payment issues nothing more.
    let again = app
        .deliver(&event(
            "checkout.session.async_payment_succeeded",
            seat.paid(),
        ))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(invoices(&app).await.len(), 1);

    // Admins see it in the attendee list and can open it; nobody else can.
    let attendees: Vec<BookingDto> = app
        .get(&format!("/api/admin/sessions/{sid}/bookings"), Some(&admin))
        .await
        .ok();
    assert_eq!(
        attendees[0].invoice_url.as_ref(),
        Some(&url),
        "{attendees:?}"
    );
    assert_eq!(page(&app, &url, Some(&admin)).await.0, StatusCode::OK);
    let (_, stranger) = app.quick_user("curieux@example.com").await;
    app.get(&url, Some(&stranger))
        .await
        .assert_problem(404, "not_found");
    app.get(&url, None)
        .await
        .assert_problem(401, "unauthorized");
    app.get("/api/invoices/pas-un-id", Some(&stranger))
        .await
        .assert_problem(400, "bad_request");
    let none = app.get("/api/me/invoices", Some(&stranger)).await;
    assert_eq!(none.body, json!([]));
}

#[actix_web::test]
async fn concurrent_payments_take_consecutive_numbers_with_no_gap_or_repeat() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    const SEATS: usize = 24;
    let mut seats = Vec::new();
    for s in 0..SEATS / 8 {
        let sid = app.create_session(&admin, json!({})).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for n in 0..8 {
            seats.push(seat_in(&app, &sid, &format!("payeur{s}-{n}@example.com")).await);
        }
    }
    // Every payment at once, and each delivered twice (Stripe retries).
    let deliveries = seats.iter().flat_map(|seat| {
        let e = event("checkout.session.completed", seat.paid());
        [e.clone(), e]
    });
    let mut set = tokio::task::JoinSet::new();
    for e in deliveries {
        let body = serde_json::to_vec(&e).unwrap();
        let signature = api::payments::stripe::signature::sign(
            &body,
            WEBHOOK_SECRET,
            chrono::Utc::now().timestamp(),
        );
        let (client, url) = (
            app.client.clone(),
            format!("{}/api/webhooks/stripe", app.base),
        );
        set.spawn(async move {
            let res = client
                .post(url)
                .header("content-type", "application/json")
                .header("Stripe-Signature", signature)
                .body(body)
                .send()
                .await
                .unwrap();
            (res.status(), res.text().await.unwrap())
        });
    }
    for (status, body) in set.join_all().await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    let issued = invoices(&app).await;
    assert_eq!(issued.len(), SEATS, "one invoice per seat");
    let numbers: Vec<i64> = issued.iter().map(|i| i.sequence.unwrap()).collect();
    assert_eq!(numbers, (1..=SEATS as i64).collect::<Vec<_>>());
    let bookings: BTreeSet<_> = issued.iter().map(|i| i.booking_id.unwrap()).collect();
    assert_eq!(bookings.len(), SEATS);
    let printed: BTreeSet<_> = issued.iter().map(|i| i.number.clone()).collect();
    assert_eq!(printed.len(), SEATS);

    // The next one follows on.
    let sid = app.create_session(&admin, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    paid_seat(&app, &sid, "dernier@example.com").await;
    assert_eq!(
        invoices(&app).await.last().unwrap().sequence,
        Some(SEATS as i64 + 1)
    );
}

#[actix_web::test]
async fn with_a_vat_rate_the_invoice_splits_net_and_vat() {
    let app = TestApp::builder()
        .env("INVOICE_VAT_RATE", "20")
        .env("COMPANY_NAME", "Immersion SAS")
        .env("COMPANY_ADDRESS", "12 rue de la Paix | 75002 Paris")
        .spawn()
        .await;
    let admin = app.admin_token().await;
    let sid = app.create_session(&admin, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let seat = paid_seat(&app, &sid, "tva@example.com").await;
    let mine: Vec<BookingDto> = app.get("/api/me/bookings", Some(&seat.token)).await.ok();
    let url = mine[0].invoice_url.clone().unwrap();
    let (status, html) = page(&app, &url, Some(&seat.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Immersion SAS<br>12 rue de la Paix<br>75002 Paris"),
        "{html}"
    );
    assert!(
        html.contains("Total HT</td><td class=\"amount\">1\u{202f}664,17\u{a0}€"),
        "{html}"
    );
    assert!(
        html.contains("TVA 20\u{a0}%</td><td class=\"amount\">332,83\u{a0}€"),
        "{html}"
    );
    assert!(!html.contains("261-4-4"), "{html}");
}

#[actix_web::test]
async fn each_paid_subscription_period_gets_an_invoice_and_a_failed_one_none() {
    let app = spawn_app().await;
    let token = app.register("abonnee@example.com").await;
    let r = app.subscribe(&token, "monthly").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    click(&format!("{}/pay", r.ok::<RedirectDto>().url)).await;
    let portal = app.portal(&token).await;
    click(&format!("{portal}/renew")).await;
    click(&format!("{portal}/fail")).await;

    let list: Vec<InvoiceDto> = app.get("/api/me/invoices", Some(&token)).await.ok();
    assert_eq!(
        list.len(),
        2,
        "two paid periods, the failed one billed nothing: {list:?}"
    );
    // Newest first; consecutive numbers; each names its month.
    let numbers: Vec<&str> = list.iter().map(|i| i.number.as_str()).collect();
    assert!(
        numbers[0].ends_with("-000002") && numbers[1].ends_with("-000001"),
        "{numbers:?}"
    );
    for i in &list {
        assert_eq!(i.amount_cents, 2900);
        assert_eq!(i.description, "Abonnement Immersion, formule mensuelle");
        assert_eq!(i.booking_id, None);
        assert!(i.period_start.unwrap() < i.period_end.unwrap());
    }
    assert!(
        list[1].period_end.unwrap() <= list[0].period_start.unwrap(),
        "the periods follow each other: {list:?}"
    );
    let (status, html) = page(&app, &list[0].url, Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Abonnement Immersion, formule mensuelle<br>Période du "),
        "{html}"
    );
    assert!(html.contains("29\u{a0}€"), "{html}");
}
