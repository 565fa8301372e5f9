//! Seats: a user's hold of a session, and its payment.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::stripe::{event, seat_checkout};
use super::{Answer, TestApp};

impl TestApp {
    /// Asks for a seat of `session_id` for `token`, whatever the answer.
    pub async fn checkout(&self, session_id: &str, token: &str) -> Answer {
        self.post(
            &format!("/api/sessions/{session_id}/checkout"),
            Some(token),
            json!({}),
        )
        .await
    }

    /// Holds a seat of `session_id` for `token`; panics unless it worked.
    pub async fn hold(&self, session_id: &str, token: &str) -> Value {
        let a = self.checkout(session_id, token).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        a.body
    }

    /// Moves a hold's end in the database, as time passing would bring it
    /// closer (or as a bug would push it away).
    pub async fn set_hold_end(&self, booking: &str, end: chrono::DateTime<chrono::Utc>) {
        use entity::immersion_bookings as b;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        b::Entity::update_many()
            .col_expr(b::Column::HoldExpiresAt, Expr::value(Some(end)))
            .filter(b::Column::Id.eq(booking.parse::<uuid::Uuid>().expect("uuid")))
            .exec(&self.state.db)
            .await
            .expect("hold end set");
    }

    /// Every hold lapses: the sweeper runs 40 minutes from now.
    pub async fn lapse_holds(&self, gateway: &dyn api::payments::PaymentGateway) {
        api::jobs::sweeper::sweep_once(
            &self.state.db,
            gateway,
            &self.state.policy.offers,
            chrono::Utc::now() + chrono::Duration::minutes(40),
        )
        .await
        .expect("sweep");
    }

    /// Cancels `booking` as the user of `token`, whatever the answer.
    pub async fn cancel(&self, booking: &str, token: &str) -> Answer {
        self.post(
            &format!("/api/bookings/{booking}/cancel"),
            Some(token),
            json!({}),
        )
        .await
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

/// `email`'s hold of a seat of a new session of `max_places` places.
pub async fn held_seat(app: &TestApp, max_places: i32, email: &str) -> Seat {
    let admin = app.admin_token().await;
    let s = app
        .create_session(&admin, json!({"max_places": max_places}))
        .await;
    seat_in(app, s["id"].as_str().unwrap(), email).await
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

/// `n` named users, `{prefix}{i}@example.com`, with their tokens.
pub async fn buyers(app: &TestApp, prefix: &str, n: usize) -> Vec<(uuid::Uuid, String)> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(app.quick_user(&format!("{prefix}{i}@example.com")).await);
    }
    out
}
