//! The Stripe gateway's requests, checked against a recording server that
//! answers with Stripe's own example objects (no network).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use api::config::Secret;
use api::payments::stripe::StripeGateway;
use api::payments::{CheckoutRequest, PaymentGateway, RefundRequest};
use chrono::Utc;
use serde_json::json;

use crate::support::fixture;

#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    form: HashMap<String, String>,
}

#[derive(Clone, Default)]
struct Recorder {
    requests: Arc<Mutex<Vec<Recorded>>>,
    fail: Arc<Mutex<bool>>,
    /// What `GET /v1/prices/{id}` answers, by id (unknown ids: 404).
    prices: Arc<Mutex<HashMap<String, serde_json::Value>>>,
    /// What `GET /v1/checkout/sessions/{id}` answers (Stripe's state now).
    checkout: Arc<Mutex<Option<serde_json::Value>>>,
    /// The parameters each idempotency key was first sent with.
    keys: Arc<Mutex<HashMap<String, Form>>>,
}

/// A request's form fields, in the order sent.
type Form = Vec<(String, String)>;

/// Reads: a Checkout Session as set by the test; empty lists otherwise.
async fn read(req: HttpRequest, rec: web::Data<Recorder>) -> HttpResponse {
    let path = req.path().to_owned();
    rec.requests.lock().unwrap().push(Recorded {
        method: "GET".into(),
        path: path.clone(),
        headers: HashMap::new(),
        form: HashMap::new(),
    });
    if let Some(id) = path.strip_prefix("/v1/prices/") {
        return match rec.prices.lock().unwrap().get(id).cloned() {
            Some(price) if !*rec.fail.lock().unwrap() => HttpResponse::Ok().json(price),
            Some(_) => HttpResponse::InternalServerError().json(json!({
                "error": {"type": "api_error", "message": "An unknown error occurred"}
            })),
            None => HttpResponse::NotFound().json(json!({
                "error": {"type": "invalid_request_error", "message": format!("No such price: '{id}'")}
            })),
        };
    }
    if path == "/v1/invoice_payments" {
        // Current API versions: what paid an invoice, listed on its own.
        let paid = req.query_string().contains("invoice=in_paid");
        let data = if paid {
            json!([{"object": "invoice_payment", "id": "inpay_1", "invoice": "in_paid", "status": "paid",
                    "payment": {"type": "payment_intent", "payment_intent": "pi_paid"}}])
        } else {
            json!([])
        };
        return HttpResponse::Ok().json(json!({"object": "list", "data": data, "has_more": false}));
    }
    if let Some(id) = path.strip_prefix("/v1/invoices/") {
        // Older API versions: the payment on the invoice itself.
        let mut invoice = fixture("invoice");
        invoice["id"] = json!(id);
        if id == "in_old" {
            invoice["payment_intent"] = json!("pi_old");
        }
        return HttpResponse::Ok().json(invoice);
    }
    if let Some(id) = path.strip_prefix("/v1/subscriptions/") {
        let mut sub = fixture("subscription");
        sub["id"] = json!(id);
        sub["status"] = json!("canceled");
        return HttpResponse::Ok().json(sub);
    }
    if path.starts_with("/v1/checkout/sessions/") {
        return match rec.checkout.lock().unwrap().clone() {
            Some(cs) => HttpResponse::Ok().json(cs),
            None => HttpResponse::NotFound().json(json!({
                "error": {"type": "invalid_request_error", "message": "No such checkout.session"}
            })),
        };
    }
    HttpResponse::Ok().json(json!({"object": "list", "data": [], "has_more": false, "url": path}))
}

async fn record(
    req: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
    rec: web::Data<Recorder>,
) -> HttpResponse {
    let path = req.path().to_owned();
    let form = web::Form(form.into_inner());
    rec.requests.lock().unwrap().push(Recorded {
        method: req.method().to_string(),
        path: path.clone(),
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect(),
        form: form.0.iter().cloned().collect(),
    });
    // Stripe's rule for idempotency keys: the same key again with other
    // parameters is refused.
    if let Some(key) = req.headers().get("idempotency-key")
        && let Ok(key) = key.to_str()
    {
        let mut keys = rec.keys.lock().unwrap();
        let first = keys.entry(key.to_owned()).or_insert_with(|| form.0.clone());
        if *first != form.0 {
            return HttpResponse::BadRequest().json(json!({
                "error": {
                    "type": "idempotency_error",
                    "message": "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '".to_owned() + key + "' if you meant to execute a different request."
                }
            }));
        }
    }
    if let Some(refused) = stripe_rules(&path, &form) {
        return HttpResponse::BadRequest().json(json!({
            "error": {"type": "invalid_request_error", "param": "expires_at", "message": refused}
        }));
    }
    if *rec.fail.lock().unwrap() {
        return HttpResponse::BadRequest().json(json!({
            "error": {"type": "invalid_request_error", "message": "No such payment_intent: 'pi_nope'"}
        }));
    }
    if path == "/v1/customers" {
        let mut c = fixture("customer");
        c["id"] = json!("cus_test_recorded");
        return HttpResponse::Ok().json(c);
    }
    if path == "/v1/billing_portal/sessions" {
        let mut p = fixture("billing_portal.session");
        p["url"] = json!("https://billing.stripe.com/p/session/test_recorded");
        return HttpResponse::Ok().json(p);
    }
    if path == "/v1/credit_notes" {
        let field = |name: &str| {
            form.0
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let amount: i64 = field("amount").and_then(|a| a.parse().ok()).unwrap_or(0);
        // Stripe's rule for a paid invoice: what credits it (refund,
        // customer balance, out of band) adds up to the credit note.
        let paid_back: i64 = ["refund_amount", "credit_amount", "out_of_band_amount"]
            .iter()
            .filter_map(|k| field(k).and_then(|a| a.parse::<i64>().ok()))
            .sum();
        if field("invoice").is_none() || amount <= 0 || paid_back != amount {
            return HttpResponse::BadRequest().json(json!({
                "error": {"type": "invalid_request_error", "message": format!(
                    "The sum of credit amount, refund amount and out of band amount ({paid_back}) must equal the credit note amount ({amount})."
                )}
            }));
        }
        let mut cn = fixture("credit_note");
        cn["id"] = json!("cn_test_recorded");
        cn["invoice"] = json!(field("invoice"));
        cn["amount"] = json!(amount);
        cn["total"] = json!(amount);
        cn["out_of_band_amount"] = json!(amount);
        cn["memo"] = json!(field("memo"));
        cn["number"] = json!("ABCD1234-0008-CN-01");
        cn["currency"] = json!("eur");
        return HttpResponse::Ok().json(cn);
    }
    if path == "/v1/refunds" {
        let mut r = fixture("refund");
        r["id"] = json!("re_test_recorded");
        return HttpResponse::Ok().json(r);
    }
    let mut cs = fixture("checkout.session");
    cs["id"] = json!("cs_test_recorded");
    cs["url"] = json!("https://checkout.stripe.com/c/pay/cs_test_recorded");
    HttpResponse::Ok().json(cs)
}

/// `DELETE /v1/subscriptions/{id}`: cancelled now.
async fn cancel(req: HttpRequest, rec: web::Data<Recorder>) -> HttpResponse {
    let path = req.path().to_owned();
    rec.requests.lock().unwrap().push(Recorded {
        method: "DELETE".into(),
        path: path.clone(),
        headers: HashMap::new(),
        form: HashMap::new(),
    });
    let mut sub = fixture("subscription");
    sub["id"] = json!(path.trim_start_matches("/v1/subscriptions/"));
    sub["status"] = json!("canceled");
    HttpResponse::Ok().json(sub)
}

/// Stripe's documented rules for a new Checkout Session: `expires_at` lies
/// 30 minutes to 24 hours after its creation (now, at the fake's clock),
/// `invoice_creation` exists in payment mode only (a subscription
/// invoices itself), and its invoice takes at most 4 custom fields.
fn stripe_rules(path: &str, form: &[(String, String)]) -> Option<String> {
    if path != "/v1/checkout/sessions" {
        return None;
    }
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if field("invoice_creation[enabled]").is_some() && field("mode") != Some("payment") {
        return Some("You can only set `invoice_creation` in `payment` mode.".to_owned());
    }
    // Custom fields: at most 4, names up to 40 characters, values up to 140.
    let custom = |i: usize, part: &str| {
        field(&format!(
            "invoice_creation[invoice_data][custom_fields][{i}][{part}]"
        ))
    };
    if custom(4, "name").is_some() {
        return Some("You may only specify up to 4 custom fields.".to_owned());
    }
    for i in 0..4 {
        let too_long = custom(i, "name").is_some_and(|n| n.chars().count() > 40)
            || custom(i, "value").is_some_and(|v| v.chars().count() > 140);
        if too_long {
            return Some(format!(
                "Invalid custom_fields[{i}]: name up to 40, value up to 140 characters."
            ));
        }
    }
    let expires_at: i64 = form
        .iter()
        .find(|(k, _)| k == "expires_at")?
        .1
        .parse()
        .ok()?;
    let after = expires_at - Utc::now().timestamp();
    (!(30 * 60..=24 * 3600).contains(&after)).then(|| {
        format!("The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation ({after} s).")
    })
}

async fn fake_stripe() -> (String, Recorder) {
    let rec = Recorder::default();
    let data = web::Data::new(rec.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .service(
                web::resource("/v1/{tail:.*}")
                    .route(web::get().to(read))
                    .route(web::delete().to(cancel))
                    .default_service(web::to(record)),
            )
            .default_service(web::to(record))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let port = server.addrs()[0].port();
    actix_web::rt::spawn(server.run());
    (format!("http://127.0.0.1:{port}"), rec)
}

fn request() -> CheckoutRequest {
    CheckoutRequest {
        booking_id: "6f1c0a5e-4a44-4c53-9a4f-6d1f3b0e9c11".parse().unwrap(),
        session_id: "0b8f2a8e-2f0c-4d1e-9d4b-1a2b3c4d5e6f".parse().unwrap(),
        user_id: "9a7b6c5d-4e3f-4a1b-8c9d-0e1f2a3b4c5d".parse().unwrap(),
        customer_email: "marie+test@example.com".into(),
        product_name: "Immersion Élite, 3 mars - 7 mars 2031".into(),
        amount_cents: 199_700,
        currency: "EUR".into(),
        expires_at: api::payments::checkout_expiry(Utc::now(), Utc::now()),
        success_url: "http://localhost:8080/immersion-elite/merci?booking_id=6f1c0a5e-4a44-4c53-9a4f-6d1f3b0e9c11".into(),
        cancel_url: "http://localhost:8080/immersion-elite/annulation?booking_id=6f1c0a5e-4a44-4c53-9a4f-6d1f3b0e9c11".into(),
        replaces: None,
        invoice_fields: vec![
            ("SIRET".into(), "732 829 320 00074".into()),
            (
                "Déclaration d'activité".into(),
                "11 75 12345 75 (ne vaut pas agrément de l'État)".into(),
            ),
        ],
    }
}

#[actix_web::test]
async fn checkout_expire_and_refund_send_what_stripe_expects() {
    let (base, rec) = fake_stripe().await;
    let gateway = StripeGateway::new(&Secret::new("sk_test_recorded"), Some(&base)).unwrap();

    // One request, read back below: its expiry is computed from the clock.
    let sent = request();
    let cs = gateway.create_checkout(&sent).await.unwrap();
    assert_eq!(cs.id, "cs_test_recorded");
    assert_eq!(cs.url, "https://checkout.stripe.com/c/pay/cs_test_recorded");

    gateway
        .expire_checkout("cs_test_recorded", "expire-cs_test_recorded")
        .await
        .unwrap();
    let refund = gateway
        .refund(&RefundRequest {
            payment_intent_id: "pi_test_1".into(),
            amount_cents: 199_700,
            idempotency_key: "refund-cancel-6f1c0a5e".into(),
            booking_id: Some(request().booking_id),
        })
        .await
        .unwrap();
    assert_eq!(refund.id, "re_test_recorded");

    let seen = rec.requests.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    let create = &seen[0];
    assert_eq!(
        (create.method.as_str(), create.path.as_str()),
        ("POST", "/v1/checkout/sessions")
    );
    assert_eq!(create.headers["authorization"], "Bearer sk_test_recorded");
    let f = &create.form;
    let want = [
        ("mode", "payment"),
        ("line_items[0][price_data][currency]", "eur"),
        ("line_items[0][price_data][unit_amount]", "199700"),
        (
            "line_items[0][price_data][product_data][name]",
            "Immersion Élite, 3 mars - 7 mars 2031",
        ),
        ("line_items[0][quantity]", "1"),
        (
            "client_reference_id",
            "6f1c0a5e-4a44-4c53-9a4f-6d1f3b0e9c11",
        ),
        ("customer_email", "marie+test@example.com"),
        ("metadata[type]", "immersion"),
        (
            "metadata[booking_id]",
            "6f1c0a5e-4a44-4c53-9a4f-6d1f3b0e9c11",
        ),
        (
            "metadata[session_id]",
            "0b8f2a8e-2f0c-4d1e-9d4b-1a2b3c4d5e6f",
        ),
        ("metadata[user_id]", "9a7b6c5d-4e3f-4a1b-8c9d-0e1f2a3b4c5d"),
        (
            "payment_intent_data[metadata][booking_id]",
            "6f1c0a5e-4a44-4c53-9a4f-6d1f3b0e9c11",
        ),
        ("success_url", sent.success_url.as_str()),
        ("cancel_url", sent.cancel_url.as_str()),
        // Stripe issues the seat's invoice, which names the seat.
        ("invoice_creation[enabled]", "true"),
        (
            "invoice_creation[invoice_data][metadata][booking_id]",
            "6f1c0a5e-4a44-4c53-9a4f-6d1f3b0e9c11",
        ),
        (
            "invoice_creation[invoice_data][metadata][type]",
            "immersion",
        ),
        // Stripe's invoice carries the training organisation's mentions.
        (
            "invoice_creation[invoice_data][custom_fields][0][name]",
            "SIRET",
        ),
        (
            "invoice_creation[invoice_data][custom_fields][0][value]",
            "732 829 320 00074",
        ),
        (
            "invoice_creation[invoice_data][custom_fields][1][name]",
            "Déclaration d'activité",
        ),
        (
            "invoice_creation[invoice_data][custom_fields][1][value]",
            "11 75 12345 75 (ne vaut pas agrément de l'État)",
        ),
    ];
    for (k, v) in want {
        assert_eq!(f.get(k).map(String::as_str), Some(v), "{k} in {f:?}");
    }
    assert_eq!(f["expires_at"], sent.expires_at.timestamp().to_string());
    // A retried call names the same booking and expiry: Stripe answers the
    // same session. Another page for the hold has another expiry, and key.
    assert_eq!(
        create.headers["idempotency-key"],
        format!(
            "checkout-6f1c0a5e-4a44-4c53-9a4f-6d1f3b0e9c11-{}",
            sent.expires_at.timestamp()
        )
    );

    let expire = &seen[1];
    assert_eq!(
        (expire.method.as_str(), expire.path.as_str()),
        ("POST", "/v1/checkout/sessions/cs_test_recorded/expire")
    );
    assert_eq!(expire.headers["idempotency-key"], "expire-cs_test_recorded");

    let refund = &seen[2];
    assert_eq!(refund.path, "/v1/refunds");
    assert_eq!(refund.form["payment_intent"], "pi_test_1");
    assert_eq!(refund.form["amount"], "199700");
    assert_eq!(refund.headers["idempotency-key"], "refund-cancel-6f1c0a5e");
}

#[actix_web::test]
async fn stripe_errors_become_gateway_errors_with_stripes_message() {
    let (base, rec) = fake_stripe().await;
    *rec.fail.lock().unwrap() = true;
    let gateway = StripeGateway::new(&Secret::new("sk_test_recorded"), Some(&base)).unwrap();
    let err = gateway
        .refund(&RefundRequest {
            payment_intent_id: "pi_nope".into(),
            amount_cents: 1,
            idempotency_key: "k".into(),
            booking_id: Some(request().booking_id),
        })
        .await
        .unwrap_err();
    let api::payments::GatewayError::Refused(message) = &err else {
        panic!("Stripe answered, yet: {err}");
    };
    assert!(message.contains("No such payment_intent"), "{message}");
    assert!(message.contains("400"), "{message}");
}

#[actix_web::test]
async fn a_refused_checkout_says_so_and_gives_the_seat_back() {
    let (base, rec) = fake_stripe().await;
    *rec.fail.lock().unwrap() = true;
    let app = stripe_app(&base, "30").await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let sid = s["id"].as_str().unwrap();
    let (_, token) = app.quick_user("marie@example.com").await;
    let a = app.checkout(sid, &token).await;
    a.assert_problem(502, "payment_gateway_error");
    let detail = a.body["detail"].as_str().unwrap();
    assert!(detail.contains("refused"), "{detail}");
    assert!(!detail.contains("did not answer"), "{detail}");
    assert_eq!(app.session_row(sid).await.reserved_places, 0);
}

async fn stripe_app(base: &str, hold_minutes: &str) -> crate::support::TestApp {
    crate::support::TestApp::builder()
        .env("STRIPE_SECRET_KEY", "sk_test_app")
        .env("STRIPE_API_BASE", base)
        .env("STRIPE_PRICE_MONTHLY", "price_monthly")
        .env("STRIPE_PRICE_YEARLY", "price_yearly")
        .env("HOLD_MINUTES", hold_minutes)
        .spawn()
        .await
}

#[actix_web::test]
async fn checkout_sessions_expire_inside_stripes_window_and_holds_outlive_them() {
    let (base, rec) = fake_stripe().await;
    for hold_minutes in ["30", "31", "1439", "1440"] {
        let app = stripe_app(&base, hold_minutes).await;
        let admin = app.admin_token().await;
        let s = app.create_session(&admin, json!({})).await;
        let (_, token) = app.quick_user("marie@example.com").await;
        // The fake refuses a window Stripe would refuse: 201 means accepted.
        let held = app.hold(s["id"].as_str().unwrap(), &token).await;
        let sent = rec.requests.lock().unwrap().last().unwrap().clone();
        let expires_at: i64 = sent.form["expires_at"].parse().unwrap();
        let hold_end =
            chrono::DateTime::parse_from_rfc3339(held["hold_expires_at"].as_str().unwrap())
                .unwrap()
                .timestamp();
        assert!(
            hold_end >= expires_at,
            "HOLD_MINUTES={hold_minutes}: the hold ends before its Checkout Session"
        );
    }
}

#[actix_web::test]
async fn with_a_secret_key_the_api_checks_out_through_stripe() {
    let (base, rec) = fake_stripe().await;
    let app = crate::support::TestApp::builder()
        .env("STRIPE_SECRET_KEY", "sk_test_app")
        .env("STRIPE_API_BASE", &base)
        .env("STRIPE_PRICE_MONTHLY", "price_monthly")
        .env("STRIPE_PRICE_YEARLY", "price_yearly")
        .spawn()
        .await;
    assert!(app.state.local_gateway.is_none());
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let (_, token) = app.quick_user("marie@example.com").await;
    let held = app.hold(s["id"].as_str().unwrap(), &token).await;
    assert_eq!(
        held["checkout_url"],
        "https://checkout.stripe.com/c/pay/cs_test_recorded"
    );
    assert_eq!(held["checkout_session_id"], "cs_test_recorded");
    let seen = rec.requests.lock().unwrap().clone();
    assert_eq!(
        seen[0].form["metadata[booking_id]"],
        held["booking_id"].as_str().unwrap()
    );
    // The local pay page is not served when Stripe is configured.
    let res = app
        .client
        .get(format!("{}/local-checkout/cs_test_recorded", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn customer_subscription_checkout_and_portal_send_what_stripe_expects() {
    let (base, rec) = fake_stripe().await;
    let gateway = StripeGateway::new(&Secret::new("sk_test_recorded"), Some(&base)).unwrap();
    let user_id: uuid::Uuid = "9a7b6c5d-4e3f-4a1b-8c9d-0e1f2a3b4c5d".parse().unwrap();
    let customer = gateway
        .create_customer(user_id, "marie@example.com")
        .await
        .unwrap();
    assert_eq!(customer, "cus_test_recorded");
    let cs = gateway
        .create_subscription_checkout(&api::payments::SubscriptionCheckoutRequest {
            attempt: uuid::Uuid::new_v4(),
            user_id,
            customer_id: customer.clone(),
            plan: common::subscriptions::Plan::Yearly,
            price_id: "price_yearly_1".into(),
            success_url: "http://localhost:8080/abonnement/merci".into(),
            cancel_url: "http://localhost:8080/abonnement".into(),
        })
        .await
        .unwrap();
    assert_eq!(cs.url, "https://checkout.stripe.com/c/pay/cs_test_recorded");
    let portal = gateway
        .create_portal_session(&customer, "http://localhost:8080/mon-compte")
        .await
        .unwrap();
    assert_eq!(portal, "https://billing.stripe.com/p/session/test_recorded");

    let seen = rec.requests.lock().unwrap().clone();
    let (c, s, p) = (&seen[0], &seen[1], &seen[2]);
    assert_eq!(c.path, "/v1/customers");
    assert_eq!(c.form["email"], "marie@example.com");
    assert_eq!(c.form["metadata[user_id]"], user_id.to_string());
    assert_eq!(s.path, "/v1/checkout/sessions");
    for (k, v) in [
        ("mode", "subscription"),
        ("customer", "cus_test_recorded"),
        ("line_items[0][price]", "price_yearly_1"),
        ("line_items[0][quantity]", "1"),
        ("metadata[type]", "subscription"),
        ("metadata[user_id]", "9a7b6c5d-4e3f-4a1b-8c9d-0e1f2a3b4c5d"),
        (
            "subscription_data[metadata][user_id]",
            "9a7b6c5d-4e3f-4a1b-8c9d-0e1f2a3b4c5d",
        ),
        (
            "client_reference_id",
            "9a7b6c5d-4e3f-4a1b-8c9d-0e1f2a3b4c5d",
        ),
        ("success_url", "http://localhost:8080/abonnement/merci"),
    ] {
        assert_eq!(
            s.form.get(k).map(String::as_str),
            Some(v),
            "{k} in {:?}",
            s.form
        );
    }
    assert_eq!(p.path, "/v1/billing_portal/sessions");
    assert_eq!(p.form["customer"], "cus_test_recorded");
    assert_eq!(p.form["return_url"], "http://localhost:8080/mon-compte");
}

#[actix_web::test]
async fn immersion_reconcile_confirms_a_paid_checkout_whose_webhook_never_came() {
    let (base, rec) = fake_stripe().await;
    let app = stripe_app(&base, "30").await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let sid = s["id"].as_str().unwrap().to_owned();
    let (user, token) = app.quick_user("marie@example.com").await;
    let held = app.hold(&sid, &token).await;
    let booking = held["booking_id"].as_str().unwrap().to_owned();

    let reconcile = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_immersion"))
            .arg("reconcile")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("JWT_SECRET", "test-secret-test-secret-test-secret-42")
            .env("DATABASE_URL", &app.database_url)
            .env("STRIPE_SECRET_KEY", "sk_test_app")
            .env("STRIPE_API_BASE", &base)
            .env("STRIPE_WEBHOOK_SECRET", crate::support::WEBHOOK_SECRET)
            .env("STRIPE_PRICE_MONTHLY", "price_monthly")
            .env("STRIPE_PRICE_YEARLY", "price_yearly")
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap()
    };
    // A provider that cannot be read is drift not repaired: non-zero.
    let failed = reconcile();
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("No such checkout.session"));

    // Still open at Stripe: nothing to do.
    let mut open = crate::support::seat_checkout(&held, &sid, &user, false);
    open["status"] = json!("open");
    *rec.checkout.lock().unwrap() = Some(open);
    let out = reconcile();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(app.booking_row(&booking).await.status, "held");

    // The buyer paid; the webhook was lost.
    let mut paid = crate::support::seat_checkout(&held, &sid, &user, true);
    paid["status"] = json!("complete");
    *rec.checkout.lock().unwrap() = Some(paid);
    let out = reconcile();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("booking {booking}")) && stdout.contains("confirmed"),
        "{stdout}"
    );
    let b = app.booking_row(&booking).await;
    assert_eq!(b.status, "confirmed");
    assert!(
        rec.requests
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.path == "/v1/events"),
        "undelivered events were not asked for"
    );

    // Twice changes nothing the second time, and the audit is clean.
    let again = reconcile();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("reconcile: 0 changes"));
    assert_eq!(app.session_row(&sid).await.reserved_places, 1);
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
}

/// Stripe's price object (the fixture) as one of our plans.
fn price(id: &str, amount: i64, currency: &str, interval: &str) -> serde_json::Value {
    let mut p = fixture("price");
    p["id"] = json!(id);
    p["unit_amount"] = json!(amount);
    p["unit_amount_decimal"] = json!(amount.to_string());
    p["currency"] = json!(currency);
    p["recurring"]["interval"] = json!(interval);
    p
}

#[actix_web::test]
async fn plan_prices_are_read_from_stripe_once_an_hour_and_served_stale_when_it_fails() {
    use api::payments::price_book::PriceBook;
    use common::subscriptions::PlanInterval;
    let (base, rec) = fake_stripe().await;
    rec.prices
        .lock()
        .unwrap()
        .insert("price_m".into(), price("price_m", 3_900, "eur", "month"));
    let gateway = StripeGateway::new(&Secret::new("sk_test_recorded"), Some(&base)).unwrap();
    let book = PriceBook::default();
    let reads = || {
        rec.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == "/v1/prices/price_m")
            .count()
    };
    let t0 = Utc::now();
    let p = book.price(&gateway, "price_m", t0).await.unwrap();
    assert_eq!(
        (p.amount_cents, p.currency.as_str(), p.interval),
        (3_900, "EUR", PlanInterval::Month)
    );
    // Within the hour: no second call.
    book.price(&gateway, "price_m", t0 + chrono::Duration::minutes(59))
        .await
        .unwrap();
    assert_eq!(reads(), 1);
    // After it, Stripe is asked again and a new amount shows.
    rec.prices
        .lock()
        .unwrap()
        .insert("price_m".into(), price("price_m", 4_900, "eur", "month"));
    let later = t0 + chrono::Duration::minutes(61);
    assert_eq!(
        book.price(&gateway, "price_m", later)
            .await
            .unwrap()
            .amount_cents,
        4_900
    );
    assert_eq!(reads(), 2);
    // Stripe down: the last price read is served rather than nothing.
    *rec.fail.lock().unwrap() = true;
    let much_later = later + chrono::Duration::hours(2);
    let stale = book.price(&gateway, "price_m", much_later).await.unwrap();
    assert_eq!(stale.amount_cents, 4_900);
    assert_eq!(reads(), 3);
    // Never read and Stripe down: an error, not a made-up price.
    assert!(book.price(&gateway, "price_y", much_later).await.is_err());
}

#[actix_web::test]
async fn a_price_that_is_not_a_fixed_recurring_one_is_refused() {
    let (base, rec) = fake_stripe().await;
    let mut one_time = price("price_once", 1_000, "eur", "month");
    one_time["recurring"] = serde_json::Value::Null;
    let mut tiered = price("price_tiers", 0, "eur", "month");
    tiered["unit_amount"] = serde_json::Value::Null;
    let mut quarterly = price("price_q", 9_000, "eur", "month");
    quarterly["recurring"]["interval_count"] = json!(3);
    for p in [one_time, tiered, quarterly] {
        let id = p["id"].as_str().unwrap().to_owned();
        rec.prices.lock().unwrap().insert(id, p);
    }
    let gateway = StripeGateway::new(&Secret::new("sk_test_recorded"), Some(&base)).unwrap();
    for id in ["price_once", "price_tiers", "price_q", "price_missing"] {
        let err = gateway.price(id).await.unwrap_err();
        assert!(
            matches!(err, api::payments::GatewayError::Refused(_)),
            "{id}: {err}"
        );
    }
}

#[actix_web::test]
async fn the_plans_endpoint_shows_stripes_configured_prices() {
    let (base, rec) = fake_stripe().await;
    rec.prices
        .lock()
        .unwrap()
        .insert("price_m".into(), price("price_m", 2_900, "eur", "month"));
    rec.prices
        .lock()
        .unwrap()
        .insert("price_y".into(), price("price_y", 29_000, "eur", "year"));
    let app = crate::support::TestApp::builder()
        .env("STRIPE_SECRET_KEY", "sk_test_recorded")
        .env("STRIPE_WEBHOOK_SECRET", crate::support::WEBHOOK_SECRET)
        .env("STRIPE_API_BASE", &base)
        .env("STRIPE_PRICE_MONTHLY", "price_m")
        .env("STRIPE_PRICE_YEARLY", "price_y")
        .spawn()
        .await;
    let res = app.get("/api/plans", None).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        res.body,
        json!([
            {"plan": "monthly", "amount_cents": 2900, "currency": "EUR", "interval": "month"},
            {"plan": "yearly", "amount_cents": 29000, "currency": "EUR", "interval": "year"},
        ])
    );
    // A second visitor is served from the price book.
    app.get("/api/plans", None).await;
    let reads = rec
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.path.starts_with("/v1/prices/"))
        .count();
    assert_eq!(reads, 2);
}

#[actix_web::test]
async fn the_plans_endpoint_answers_502_when_stripe_has_no_such_price() {
    let (base, _rec) = fake_stripe().await;
    let app = crate::support::TestApp::builder()
        .env("STRIPE_SECRET_KEY", "sk_test_recorded")
        .env("STRIPE_WEBHOOK_SECRET", crate::support::WEBHOOK_SECRET)
        .env("STRIPE_API_BASE", &base)
        .env("STRIPE_PRICE_MONTHLY", "price_gone")
        .env("STRIPE_PRICE_YEARLY", "price_gone_too")
        .spawn()
        .await;
    app.get("/api/plans", None)
        .await
        .assert_problem(502, "payment_gateway_error");
}

#[actix_web::test]
async fn with_stripe_a_seat_invoice_is_stripes_own_linked_from_the_booking() {
    use crate::support::{event, no_redirects, pay_with, seat_in};
    let (base, _rec) = fake_stripe().await;
    let app = stripe_app(&base, "30").await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let sid = s["id"].as_str().unwrap();
    let seat = seat_in(&app, sid, "facture@example.com").await;
    let (outcome, _) = pay_with(&app, &seat, |_| {}).await;
    assert_eq!(outcome, "confirmed");
    let count = || async {
        use sea_orm::{EntityTrait, PaginatorTrait};
        entity::invoices::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap()
    };
    // Stripe issues the invoice: the app numbers none of its own.
    assert_eq!(count().await, 0);

    let hosted = "https://invoice.stripe.com/i/acct_1/test_seat";
    let mut invoice = seat_invoice("in_seat_1", "ABCD1234-0007", &seat, sid);
    invoice["hosted_invoice_url"] = json!(hosted);
    invoice["invoice_pdf"] = json!("https://pay.stripe.com/invoice/acct_1/test_seat/pdf");
    let a = app.deliver(&event("invoice.paid", invoice.clone())).await;
    assert_eq!(a.body["outcome"], "invoice_recorded", "{}", a.body);
    let again = app.deliver(&event("invoice.paid", invoice.clone())).await;
    assert_eq!(
        again.body["outcome"], "invoice_already_recorded",
        "{}",
        again.body
    );
    assert_eq!(count().await, 1);

    let mine: Vec<common::bookings::BookingDto> =
        app.get("/api/me/bookings", Some(&seat.token)).await.ok();
    assert_eq!(mine[0].invoice_url.as_deref(), Some(hosted), "{mine:?}");
    let list: Vec<common::invoices::InvoiceDto> =
        app.get("/api/me/invoices", Some(&seat.token)).await.ok();
    assert_eq!(list[0].number, "ABCD1234-0007");
    assert_eq!(list[0].url, hosted);
    assert_eq!(list[0].amount_cents, 199_700);
    assert_eq!(list[0].currency, "EUR");
    assert!(list[0].pdf_url.as_deref().unwrap().ends_with("/pdf"));
    let id = list[0].id;
    let res = no_redirects()
        .get(format!("{}/api/invoices/{id}", app.base))
        .bearer_auth(&seat.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], hosted);

    // An invoice naming the seat but another buyer is not filed under it.
    let mut stranger = invoice.clone();
    stranger["id"] = json!("in_stranger");
    stranger["metadata"]["user_id"] = json!(uuid::Uuid::new_v4().to_string());
    let a = app.deliver(&event("invoice.paid", stranger)).await;
    assert_eq!(a.body["outcome"], "invoice_user_mismatch", "{}", a.body);

    // An invoice of another product on the account is not ours.
    let mut other = invoice.clone();
    other["id"] = json!("in_other");
    other["metadata"] = json!({});
    let a = app.deliver(&event("invoice.paid", other)).await;
    assert_eq!(
        a.body["outcome"], "ignored_not_a_subscription",
        "{}",
        a.body
    );
    assert_eq!(count().await, 1);
}

/// Invariant 14 with Stripe: paying again hands out the open Checkout
/// Session (read back from Stripe), sends no new one and never moves the
/// hold; once that page has expired and too little of the hold is left
/// for a new one, the answer says so (409) instead of a refused key (502).
#[actix_web::test]
async fn paying_again_with_stripe_reopens_the_open_page_and_never_moves_the_hold() {
    let (base, rec) = fake_stripe().await;
    let app = stripe_app(&base, "30").await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let (_, token) = app.quick_user("marie@example.com").await;
    let held = app.hold(s["id"].as_str().unwrap(), &token).await;
    let booking = held["booking_id"].as_str().unwrap().to_owned();
    // Two minutes into a 33-minute hold.
    let end = Utc::now() + chrono::Duration::minutes(31);
    app.set_hold_end(&booking, end).await;
    let mut open = fixture("checkout.session");
    open["id"] = json!("cs_test_recorded");
    open["status"] = json!("open");
    open["url"] = json!("https://checkout.stripe.com/c/pay/cs_test_recorded");
    *rec.checkout.lock().unwrap() = Some(open.clone());
    let posts = || {
        rec.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.method == "POST" && r.path == "/v1/checkout/sessions")
            .count()
    };
    assert_eq!(posts(), 1);
    for _ in 0..3 {
        let again = app
            .post(
                &format!("/api/bookings/{booking}/pay"),
                Some(&token),
                json!({}),
            )
            .await;
        let again: common::bookings::CheckoutResponse = again.ok();
        assert_eq!(again.checkout_session_id, "cs_test_recorded");
        assert_eq!(
            again.checkout_url,
            "https://checkout.stripe.com/c/pay/cs_test_recorded"
        );
        assert_eq!(again.hold_expires_at.timestamp(), end.timestamp());
    }
    assert_eq!(posts(), 1, "paying again opened another Checkout Session");
    let row = app.booking_row(&booking).await;
    assert_eq!(row.hold_expires_at.unwrap().timestamp(), end.timestamp());

    // The page has expired: 31 minutes are too few for a new one.
    open["status"] = json!("expired");
    open["url"] = json!(null);
    *rec.checkout.lock().unwrap() = Some(open);
    app.post(
        &format!("/api/bookings/{booking}/pay"),
        Some(&token),
        json!({}),
    )
    .await
    .assert_problem(409, "booking_not_payable");
    assert_eq!(posts(), 1);
    let row = app.booking_row(&booking).await;
    assert_eq!(row.hold_expires_at.unwrap().timestamp(), end.timestamp());
}

/// What a second subscription owes (invariant 16), as Stripe takes it:
/// the cancel is a `DELETE` of the subscription; the payment to refund
/// is read from the invoice's payments (current API versions) or from
/// the invoice itself (older ones); an unpaid invoice names none.
#[actix_web::test]
async fn a_second_subscription_is_cancelled_and_its_payment_found_through_stripe() {
    let (base, rec) = fake_stripe().await;
    let gateway = StripeGateway::new(&Secret::new("sk_test_recorded"), Some(&base)).unwrap();
    gateway
        .cancel_subscription("sub_second", "cancel-sub_second")
        .await
        .unwrap();
    let seen = rec.requests.lock().unwrap().clone();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("DELETE", "/v1/subscriptions/sub_second")
    );
    assert!(gateway.subscription_ended("sub_second").await.unwrap());
    let paid_by = |invoice: &'static str| gateway.invoice_payment(invoice);
    assert_eq!(
        paid_by("in_paid").await.unwrap().as_deref(),
        Some("pi_paid")
    );
    assert_eq!(paid_by("in_old").await.unwrap().as_deref(), Some("pi_old"));
    assert_eq!(paid_by("in_unpaid").await.unwrap(), None);
}

/// The paid invoice Stripe issues for a seat's Checkout Session
/// (`invoice_creation`, with our metadata).
fn seat_invoice(
    id: &str,
    number: &str,
    seat: &crate::support::Seat,
    sid: &str,
) -> serde_json::Value {
    let mut invoice = fixture("invoice");
    invoice["id"] = json!(id);
    invoice["number"] = json!(number);
    invoice["status"] = json!("paid");
    invoice["amount_paid"] = json!(199_700);
    invoice["currency"] = json!("eur");
    invoice["parent"] = json!(null);
    invoice["subscription"] = json!(null);
    invoice["metadata"] = json!({
        "type": "immersion",
        "booking_id": seat.booking(),
        "session_id": sid,
        "user_id": seat.user.to_string(),
    });
    invoice
}

/// Invariant 18 with Stripe: a refund of a seat Stripe invoiced owes
/// Stripe a credit note on that invoice, made after the commit with a
/// stable idempotency key, and kept with Stripe's number, once.
#[actix_web::test]
async fn with_stripe_a_refund_owes_stripe_a_credit_note_kept_once() {
    use crate::support::{event, pay_with, seat_in};
    let (base, rec) = fake_stripe().await;
    let app = stripe_app(&base, "30").await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({})).await;
    let sid = s["id"].as_str().unwrap();
    let seat = seat_in(&app, sid, "avoir@example.com").await;
    let (outcome, _) = pay_with(&app, &seat, |_| {}).await;
    assert_eq!(outcome, "confirmed");
    let invoice = seat_invoice("in_seat_2", "ABCD1234-0008", &seat, sid);
    let a = app.deliver(&event("invoice.paid", invoice)).await;
    assert_eq!(a.body["outcome"], "invoice_recorded", "{}", a.body);

    let cancelled = app.cancel(seat.booking(), &seat.token).await;
    assert_eq!(
        cancelled.status,
        reqwest::StatusCode::OK,
        "{}",
        cancelled.body
    );
    let credit_calls = || {
        rec.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == "/v1/credit_notes")
            .cloned()
            .collect::<Vec<_>>()
    };
    // The owed-calls job makes it (and only once, however often it runs).
    let gateway = app.state.gateway.clone();
    for _ in 0..2 {
        api::domain::billing::owed::settle_due(&app.state.db, gateway.as_ref(), Utc::now())
            .await
            .unwrap();
    }
    let calls = credit_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0];
    assert_eq!(call.form["invoice"], "in_seat_2");
    assert_eq!(call.form["amount"], "199700");
    assert_eq!(call.form["out_of_band_amount"], "199700");
    assert_eq!(call.form["memo"], "Annulation de la réservation");
    assert_eq!(call.form["metadata[booking_id]"], seat.booking());
    assert_eq!(
        call.headers.get("idempotency-key").map(String::as_str),
        Some("credit-note-in_seat_2-199700")
    );

    let mine: Vec<common::invoices::InvoiceDto> =
        app.get("/api/me/invoices", Some(&seat.token)).await.ok();
    let note = mine
        .iter()
        .find(|d| d.kind == common::invoices::InvoiceKind::CreditNote)
        .unwrap_or_else(|| panic!("{mine:?}"));
    assert_eq!(note.number, "ABCD1234-0008-CN-01");
    assert_eq!(note.amount_cents, 199_700);
    assert!(
        note.pdf_url
            .as_deref()
            .unwrap()
            .starts_with("https://pay.stripe.com/credit_notes/")
    );
    assert_eq!(
        note.invoice_id,
        mine.iter()
            .find(|d| d.kind == common::invoices::InvoiceKind::Invoice)
            .map(|d| d.id)
    );
    let drift = app.audit().await;
    assert!(drift.is_empty(), "{drift:?}");
}
