//! Seats: a user's hold of a session, and its payment.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::TestApp;
use super::stripe::{event, seat_checkout};

impl TestApp {
    /// Holds a seat of `session_id` for `token`; panics unless it worked.
    pub async fn hold(&self, session_id: &str, token: &str) -> Value {
        let a = self
            .post(
                &format!("/api/sessions/{session_id}/checkout"),
                Some(token),
                json!({}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        a.body
    }
}

/// A user's hold of a session, as the checkout answered it.
pub struct Seat {
    pub sid: String,
    pub user: uuid::Uuid,
    pub token: String,
    pub held: Value,
}

impl Seat {
    pub fn booking(&self) -> &str {
        self.held["booking_id"].as_str().unwrap()
    }
    pub fn paid(&self) -> Value {
        seat_checkout(&self.held, &self.sid, &self.user, true)
    }
}

pub async fn seat_in(app: &TestApp, sid: &str, email: &str) -> Seat {
    let (user, token) = app.quick_user(email).await;
    let held = app.hold(sid, &token).await;
    Seat {
        sid: sid.to_owned(),
        user,
        token,
        held,
    }
}

/// Delivers a paid session changed by `tamper`; returns the outcome.
pub async fn pay_with(
    app: &TestApp,
    seat: &Seat,
    tamper: impl FnOnce(&mut Value),
) -> (String, Value) {
    let mut cs = seat.paid();
    tamper(&mut cs);
    let a = app
        .deliver(&event("checkout.session.completed", cs.clone()))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    (a.body["outcome"].as_str().unwrap().to_owned(), cs)
}

/// A confirmed, paid booking of a session starting in 30 days (refundable).
pub async fn paid_seat(app: &TestApp, sid: &str, email: &str) -> Seat {
    let seat = seat_in(app, sid, email).await;
    let (outcome, _) = pay_with(app, &seat, |_| {}).await;
    assert_eq!(outcome, "confirmed");
    seat
}
