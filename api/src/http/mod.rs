//! The HTTP edge: parse, authorize, call the domain, map errors. One file
//! per resource; `routes` mounts them all for both the server and the spec.

pub mod admin_members;
pub mod admin_payments;
pub mod admin_sessions;
pub mod auth;
pub mod body;
pub mod bookings;
pub mod docs;
pub mod fallback;
pub mod local_checkout;
pub mod members;
pub mod ops;
pub mod problems;
pub mod sessions;
pub mod spa;
pub mod subscriptions;
pub mod webhooks;

use actix_web::HttpRequest;
use utoipa_actix_web::service_config::ServiceConfig;

/// Every documented route. The server and the OpenAPI document are built
/// from this one list, so they cannot drift apart. The router tries the
/// routes in this order (a regex per templated path), so the one a rush
/// hits comes first.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(bookings::checkout)
        .service(ops::health)
        .service(ops::ready)
        .service(auth::register)
        .service(auth::login)
        .service(auth::logout)
        .service(auth::me)
        .service(sessions::list_sessions)
        .service(sessions::get_session)
        .service(admin_sessions::list_admin_sessions)
        .service(admin_sessions::create_session)
        .service(admin_sessions::update_session)
        .service(admin_sessions::delete_session)
        .service(admin_sessions::list_session_bookings)
        .service(bookings::list_my_bookings)
        .service(bookings::get_booking)
        .service(bookings::cancel_booking)
        .service(subscriptions::subscribe)
        .service(subscriptions::open_portal)
        .service(subscriptions::my_access)
        .service(members::list_member_resources)
        .service(admin_members::list_resources)
        .service(admin_members::create_resource)
        .service(admin_members::reorder_resources)
        .service(admin_members::update_resource)
        .service(admin_members::delete_resource)
        .service(admin_members::list_subscribers)
        .service(admin_payments::list_payment_anomalies)
        .service(admin_payments::acknowledge_payment_anomaly)
        .service(webhooks::receive_stripe_event);
}

/// The client address used for throttling: the TCP peer. (Behind a proxy
/// the proxy's address; trusting `X-Forwarded-For` would let anyone
/// choose their own bucket.)
pub fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr()
        .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string())
}
