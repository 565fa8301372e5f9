//! Who is calling, as the throttles count them.

use actix_web::HttpRequest;

/// The client address used for throttling: the TCP peer, or, when the
/// peer is one of `TRUSTED_PROXIES`, the last address of `X-Forwarded-For`
/// that is not a trusted proxy (anyone can write the header; only our
/// proxies' own entries are believed). An IPv6 client counts as its /64,
/// since one host usually owns the whole prefix.
pub fn client_ip(req: &HttpRequest, trusted: &[ipnet::IpNet]) -> String {
    use std::net::IpAddr;
    let Some(client) = client_addr(req, trusted) else {
        return "unknown".to_owned();
    };
    match client {
        IpAddr::V6(v6) => ipnet::Ipv6Net::new(v6, 64)
            .map(|n| n.trunc().to_string())
            .unwrap_or_else(|_| v6.to_string()),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// The client's own address, by the same rule (an API key's allowed
/// networks are matched against it, not its /64).
pub fn client_addr(req: &HttpRequest, trusted: &[ipnet::IpNet]) -> Option<std::net::IpAddr> {
    use std::net::IpAddr;
    let peer = req.peer_addr().map(|a| a.ip())?;
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
    Some(match client {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(client, IpAddr::V4),
        IpAddr::V4(_) => client,
    })
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
