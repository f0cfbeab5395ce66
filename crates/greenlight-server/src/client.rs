//! Who is on the other end of a request: the source address (for the sign-in limits) and
//! whether they reached us over HTTPS (for `Secure` cookies). Behind a proxy, the proxy's
//! `X-Forwarded-For` and `X-Forwarded-Proto` are believed only with `--trust-proxy`;
//! otherwise anyone could claim any address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::state::ServerConfig;

/// The address a request comes from: with `--trust-proxy`, the last address of
/// `X-Forwarded-For` (the one the proxy in front appended); otherwise the peer of the
/// connection. `"unknown"` when neither is known (in-process tests).
pub fn source_address(parts: &Parts, config: &ServerConfig) -> String {
    if config.trust_proxy
        && let Some(ip) = forwarded_for(parts)
    {
        return ip.to_string();
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn forwarded_for(parts: &Parts) -> Option<IpAddr> {
    parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .next_back()
}

/// Whether the person reached the server over HTTPS: the public URL says so, or (with
/// `--trust-proxy`) the proxy's `X-Forwarded-Proto` does.
pub fn is_https(headers: &HeaderMap, config: &ServerConfig) -> bool {
    if config
        .public_url
        .as_ref()
        .is_some_and(|u| u.scheme() == "https")
    {
        return true;
    }
    config.trust_proxy
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next_back())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut b = Request::builder().uri("/");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let mut p = b.body(()).expect("request").into_parts().0;
        p.extensions
            .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 9], 4444))));
        p
    }

    #[test]
    fn forwarded_headers_count_only_behind_a_trusted_proxy() {
        let p = parts(&[
            ("x-forwarded-for", "6.6.6.6, 203.0.113.7"),
            ("x-forwarded-proto", "https"),
        ]);
        let plain = ServerConfig::default();
        assert_eq!(source_address(&p, &plain), "10.0.0.9");
        assert!(!is_https(&p.headers, &plain));
        let proxied = ServerConfig {
            trust_proxy: true,
            ..ServerConfig::default()
        };
        assert_eq!(
            source_address(&p, &proxied),
            "203.0.113.7",
            "the address the proxy appended, not one the client wrote"
        );
        assert!(is_https(&p.headers, &proxied));
    }

    #[test]
    fn an_https_public_url_means_https() {
        let config = ServerConfig {
            public_url: Some("https://greenlight.example".parse().expect("url")),
            ..ServerConfig::default()
        };
        assert!(is_https(&parts(&[]).headers, &config));
    }
}
