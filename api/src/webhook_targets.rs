//! Where a webhook may be delivered. An endpoint's URL comes from outside
//! (an admin, or a key with `webhooks:manage`): left unchecked, it turns
//! the api into a way to reach what only the api can reach (the cloud's
//! metadata service, the database, an admin port on loopback). So a
//! target must be https in production, and never a loopback, private,
//! link-local, shared, multicast or unspecified address: checked when the
//! endpoint is registered, and again at each delivery, on the addresses
//! the name resolves to then (DNS can change), which the delivery then
//! connects to. `ALLOW_PRIVATE_WEBHOOK_TARGETS` lifts the address rule
//! (a private network, the tests); nothing lifts https in production.

use std::net::{IpAddr, SocketAddr};

use url::Url;

pub use crate::config::TargetRules;

/// Why a target is refused (said to the admin, and in the delivery log).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not a URL: {0}")]
    NotAUrl(String),
    #[error("the URL must use https")]
    NotHttps,
    #[error("the URL must use http or https")]
    BadScheme,
    #[error("the URL may not carry a user name or password")]
    Credentials,
    #[error("the host {0} is not allowed (loopback, private, link-local or metadata)")]
    PrivateAddress(String),
    #[error("the host {0} did not resolve")]
    Unresolved(String),
}

/// Checks what can be checked without the network: the URL, its scheme,
/// and the host when it is an address (or `localhost`).
pub fn check_url(raw: &str, rules: TargetRules) -> Result<Url, Refusal> {
    let url = Url::parse(raw.trim()).map_err(|e| Refusal::NotAUrl(e.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" if rules.require_https => return Err(Refusal::NotHttps),
        "http" => {}
        _ => return Err(Refusal::BadScheme),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::Credentials);
    }
    let host = url
        .host_str()
        .ok_or_else(|| Refusal::NotAUrl("no host".into()))?;
    if !rules.allow_private {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let named_local = bare.eq_ignore_ascii_case("localhost")
            || bare.to_ascii_lowercase().ends_with(".localhost");
        let private_ip = bare.parse::<IpAddr>().is_ok_and(|ip| !is_public(ip));
        if named_local || private_ip {
            return Err(Refusal::PrivateAddress(host.to_owned()));
        }
    }
    Ok(url)
}

/// The address to deliver to: the URL checked, its name resolved now, and
/// every address it resolves to allowed (one private address among public
/// ones is refused: the resolver may pick it).
pub async fn resolve(raw: &str, rules: TargetRules) -> Result<(Url, SocketAddr), Refusal> {
    let url = check_url(raw, rules)?;
    let host = url
        .host_str()
        .ok_or_else(|| Refusal::NotAUrl("no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|_| Refusal::Unresolved(host.clone()))?
        .collect();
    let first = *addrs
        .first()
        .ok_or_else(|| Refusal::Unresolved(host.clone()))?;
    if !rules.allow_private && addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(Refusal::PrivateAddress(host));
    }
    Ok((url, first))
}

/// True for an address on the public Internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                // Shared address space (carrier-grade NAT), 100.64/10.
                || (a == 100 && (64..128).contains(&b))
                // Benchmarking, 198.18/15, and reserved, 240/4.
                || (a == 198 && (b == 18 || b == 19))
                // IETF protocol assignments 192.0.0/24, 6to4 relays 192.88.99/24.
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || (a == 192 && b == 88 && v4.octets()[2] == 99)
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            // Forms that carry an IPv4 address inside: judged by it.
            let embedded = |hi: u16, lo: u16| {
                std::net::Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)
            };
            // NAT64 64:ff9b::/96 and 64:ff9b:1::/48, IPv4-compatible ::/96.
            if (seg[0] == 0x64 && seg[1] == 0xff9b) || seg[..6] == [0; 6] {
                return !v6.is_unspecified()
                    && !v6.is_loopback()
                    && is_public(IpAddr::V4(embedded(seg[6], seg[7])));
            }
            // 6to4 2002::/16.
            if seg[0] == 0x2002 {
                return is_public(IpAddr::V4(embedded(seg[1], seg[2])));
            }
            let first = seg[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // Unique local fc00::/7, link-local fe80::/10, site-local fec0::/10.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0
                // Teredo 2001::/32, documentation 2001:db8::/32.
                || (first == 0x2001 && (seg[1] == 0 || seg[1] == 0x0db8))
                // Discard-only 100::/64.
                || (first == 0x100 && seg[1..4] == [0; 3]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRODUCTION: TargetRules = TargetRules {
        require_https: true,
        allow_private: false,
    };

    #[test]
    fn production_refuses_plain_http_and_private_hosts() {
        assert!(check_url("https://hooks.example.com/in", PRODUCTION).is_ok());
        assert_eq!(
            check_url("http://hooks.example.com/in", PRODUCTION),
            Err(Refusal::NotHttps)
        );
        for host in [
            "127.0.0.1",
            "169.254.169.254",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.0.1",
            "100.64.0.1",
            "0.0.0.0",
            "[::1]",
            "[fe80::1]",
            "[fd00::1]",
            "[::ffff:127.0.0.1]",
            "[64:ff9b::a9fe:a9fe]",
            "[2002:a9fe:a9fe::1]",
            "[::a9fe:a9fe]",
            "[fec0::1]",
            "[2001:0:1::1]",
            "192.0.0.170",
            "localhost",
            "api.localhost",
        ] {
            let url = format!("https://{host}/hook");
            assert!(
                matches!(check_url(&url, PRODUCTION), Err(Refusal::PrivateAddress(_))),
                "{url}"
            );
        }
        assert_eq!(
            check_url("https://user:pw@example.com/", PRODUCTION),
            Err(Refusal::Credentials)
        );
        assert_eq!(
            check_url("ftp://example.com/", PRODUCTION),
            Err(Refusal::BadScheme)
        );
    }

    #[test]
    fn a_private_network_may_be_allowed() {
        let rules = TargetRules {
            require_https: false,
            allow_private: true,
        };
        assert!(check_url("http://127.0.0.1:9000/hook", rules).is_ok());
    }

    #[actix_web::test]
    async fn a_name_is_checked_on_what_it_resolves_to() {
        assert!(matches!(
            resolve("https://localhost./hook", PRODUCTION).await,
            Err(Refusal::PrivateAddress(_) | Refusal::Unresolved(_))
        ));
        let lifted = TargetRules {
            require_https: true,
            allow_private: true,
        };
        let (_, addr) = resolve("https://127.0.0.1:8443/hook", lifted)
            .await
            .unwrap();
        assert_eq!(addr.port(), 8443);
    }
}
