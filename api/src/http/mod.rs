//! The HTTP edge: parse, authorize, call the domain, map errors. One file
//! per resource; `routes` mounts them all for both the server and the spec.

pub mod account;
pub mod admin;
pub mod auth;
pub mod body;
pub mod bookings;
pub mod catalog_cache;
pub mod certificates;
pub mod client_ip;
pub mod csv;
pub mod docs;
pub mod error;
pub mod events;
pub mod extract;
pub mod fallback;
pub mod idempotency;
pub mod invoices;
pub mod key_auth;
pub mod local_checkout;
pub mod members;
pub mod metrics;
pub mod ops;
pub mod pagination;
pub mod pdf;
pub mod privacy;
pub mod private;
pub mod problems;
pub mod profile;
pub mod sessions;
pub mod share;
pub mod spa;
pub mod subscriptions;
pub mod trainer;
pub mod waitlist;
pub mod webhooks;

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
        .service(account::verify_email)
        .service(account::resend_verification)
        .service(account::request_password_reset)
        .service(account::confirm_password_reset)
        .service(account::change_password)
        .service(profile::my_profile)
        .service(privacy::export_my_data)
        .service(privacy::my_erasure)
        .service(privacy::delete_my_account)
        .service(privacy::erase_user)
        .service(profile::update_my_profile)
        .service(sessions::list_sessions)
        .service(sessions::get_session)
        .service(admin::sessions::list_admin_sessions)
        .service(admin::sessions::create_session)
        .service(admin::sessions::update_session)
        .service(admin::sessions::delete_session)
        .service(admin::sessions::decide_session)
        .service(admin::sessions::list_session_bookings)
        .service(bookings::list_my_bookings)
        .service(bookings::get_booking)
        .service(bookings::booking_calendar)
        .service(certificates::booking_certificate)
        .service(bookings::cancel_booking)
        .service(bookings::pay_booking)
        .service(invoices::my_invoices)
        .service(invoices::invoice_page)
        .service(waitlist::join_waitlist)
        .service(waitlist::leave_waitlist)
        .service(waitlist::my_waitlist)
        .service(waitlist::session_waitlist)
        .service(waitlist::remove_waitlist_entry)
        .service(subscriptions::plans)
        .service(subscriptions::subscribe)
        .service(subscriptions::open_portal)
        .service(subscriptions::my_access)
        .service(members::list_member_resources)
        .service(admin::members::list_resources)
        .service(admin::members::create_resource)
        .service(admin::members::reorder_resources)
        .service(admin::members::update_resource)
        .service(admin::members::delete_resource)
        .service(admin::members::list_subscribers)
        .service(admin::roles::change_role)
        .service(admin::roles::list_role_changes)
        .service(admin::api_keys::list_api_keys)
        .service(admin::api_keys::create_api_key)
        .service(admin::api_keys::revoke_api_key)
        .service(events::list_events)
        .service(admin::webhooks::list_webhook_endpoints)
        .service(admin::webhooks::create_webhook_endpoint)
        .service(admin::webhooks::update_webhook_endpoint)
        .service(admin::webhooks::delete_webhook_endpoint)
        .service(admin::webhooks::list_webhook_deliveries)
        .service(admin::webhooks::resend_webhook_delivery)
        .service(admin::stats::admin_stats)
        .service(admin::attendance::attendance_sheet)
        .service(admin::presence::session_presence)
        .service(admin::presence::record_presence)
        .service(admin::presence::create_trainer_link)
        .service(admin::presence::revoke_trainer_link)
        .service(admin::presence::session_certificates)
        .service(trainer::trainer_presence)
        .service(trainer::trainer_record_presence)
        .service(admin::payments::list_payment_anomalies)
        .service(admin::payments::acknowledge_payment_anomaly)
        .service(webhooks::receive_stripe_event);
}
