//! The HTTP edge: parse, authorize, call the domain, map errors. One file
//! per resource; `routes` mounts them all for both the server and the spec.

pub mod account;
pub mod admin_members;
pub mod admin_payments;
pub mod admin_sessions;
pub mod admin_stats;
pub mod attendance;
pub mod auth;
pub mod body;
pub mod bookings;
pub mod catalog_cache;
pub mod csv;
pub mod docs;
pub mod extract;
pub mod fallback;
pub mod idempotency;
pub mod invoices;
pub mod local_checkout;
pub mod members;
pub mod metrics;
pub mod ops;
pub mod pages;
pub mod problems;
pub mod profile;
pub mod sessions;
pub mod share;
pub mod spa;
pub mod subscriptions;
pub mod waitlist;
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
        .service(account::verify_email)
        .service(account::resend_verification)
        .service(account::request_password_reset)
        .service(account::confirm_password_reset)
        .service(account::change_password)
        .service(profile::my_profile)
        .service(profile::update_my_profile)
        .service(sessions::list_sessions)
        .service(sessions::get_session)
        .service(admin_sessions::list_admin_sessions)
        .service(admin_sessions::create_session)
        .service(admin_sessions::update_session)
        .service(admin_sessions::delete_session)
        .service(admin_sessions::decide_session)
        .service(admin_sessions::list_session_bookings)
        .service(bookings::list_my_bookings)
        .service(bookings::get_booking)
        .service(bookings::booking_calendar)
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
        .service(admin_members::list_resources)
        .service(admin_members::create_resource)
        .service(admin_members::reorder_resources)
        .service(admin_members::update_resource)
        .service(admin_members::delete_resource)
        .service(admin_members::list_subscribers)
        .service(admin_stats::admin_stats)
        .service(attendance::attendance_sheet)
        .service(admin_payments::list_payment_anomalies)
        .service(admin_payments::acknowledge_payment_anomaly)
        .service(webhooks::receive_stripe_event);
}

/// The client address used for throttling: the TCP peer, or, when the
/// peer is one of `TRUSTED_PROXIES`, the last address of `X-Forwarded-For`
/// that is not a trusted proxy (anyone can write the header; only our
/// proxies' own entries are believed). An IPv6 client counts as its /64,
/// since one host usually owns the whole prefix.
pub fn client_ip(req: &HttpRequest, trusted: &[ipnet::IpNet]) -> String {
    use std::net::IpAddr;
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".to_owned();
    };
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer;
    if is_trusted(&peer) {
        let hops: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        // From the right: our proxies' own entries, then the client. An
        // entry that does not read as an address ends the walk (what lies
        // left of it may be anyone's invention).
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                break;
            };
            if !is_trusted(&ip) {
                client = ip;
                break;
            }
        }
    }
    match client {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => ipnet::Ipv6Net::new(v6, 64)
            .map(|n| n.trunc().to_string())
            .unwrap_or_else(|_| v6.to_string()),
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::client_ip;
    use actix_web::test::TestRequest;

    #[test]
    fn the_forwarded_client_counts_only_behind_a_trusted_proxy() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let forged = TestRequest::default()
            .peer_addr("203.0.113.9:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "1.2.3.4"))
            .to_http_request();
        assert_eq!(client_ip(&forged, &trusted), "203.0.113.9");
        let proxied = TestRequest::default()
            .peer_addr("10.0.0.2:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.0.0.5"))
            .to_http_request();
        // The client's own claim (1.2.3.4) is not believed: the last hop
        // before our proxies is.
        assert_eq!(client_ip(&proxied, &trusted), "198.51.100.7");
    }

    #[test]
    fn an_unreadable_hop_ends_the_walk() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // The proxy wrote "ip:port": what is left of it is not believed.
        let req = TestRequest::default()
            .peer_addr("10.0.0.2:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "1.2.3.4, 198.51.100.7:4711"))
            .to_http_request();
        assert_eq!(client_ip(&req, &trusted), "10.0.0.2");
    }

    #[test]
    fn an_ipv6_client_counts_as_its_64() {
        let a = TestRequest::default()
            .peer_addr("[2001:db8:1:2:aaaa::1]:5000".parse().unwrap())
            .to_http_request();
        let b = TestRequest::default()
            .peer_addr("[2001:db8:1:2:bbbb::9]:5000".parse().unwrap())
            .to_http_request();
        assert_eq!(client_ip(&a, &[]), "2001:db8:1:2::/64");
        assert_eq!(client_ip(&a, &[]), client_ip(&b, &[]));
    }
}
