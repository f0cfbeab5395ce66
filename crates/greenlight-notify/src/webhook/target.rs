//! Where a webhook may point: the address checks that keep a studio admin from making the
//! server call into its own network (SSRF).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

/// How long a name may take to resolve: the same deadline as a delivery's.
const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A webhook address that passed the checks, with the addresses its host resolved to.
///
/// [`Sender::deliver`](super::Sender::deliver) connects only to those addresses, so a name
/// whose DNS answer changes between the check and the request (DNS rebinding) cannot send
/// the request elsewhere. Check again before each delivery: the answer of a day ago is not
/// the answer of now.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    url: Url,
    addrs: Vec<SocketAddr>,
}

impl Target {
    /// Checks a webhook URL and resolves its host.
    ///
    /// Without `allow_private` (the default of `serve`): the scheme must be `https`, and
    /// neither the host, if it is an address, nor ANY address its name resolves to may be
    /// loopback, private-range (10/8, 172.16/12, 192.168/16), link-local, shared (CGNAT
    /// 100.64/10), unique-local (fc00::/7), multicast, unspecified, reserved, or an IPv6 form
    /// that embeds one of those (`::ffff:127.0.0.1`). With `allow_private`, `http` is allowed
    /// too and every address is (tests and receivers on a private network need that).
    pub async fn check(url: &str, allow_private: bool) -> Result<Target, UrlError> {
        let url = Url::parse(url.trim()).map_err(|e| UrlError::NotAUrl(e.to_string()))?;
        match url.scheme() {
            "https" => {}
            "http" if allow_private => {}
            "http" => return Err(UrlError::PlainHttp),
            other => return Err(UrlError::Scheme(other.to_owned())),
        }
        let port = url
            .port_or_known_default()
            .ok_or_else(|| UrlError::NotAUrl("no port".into()))?;
        let addrs: Vec<SocketAddr> = match url.host() {
            None => return Err(UrlError::NotAUrl("no host".into())),
            Some(Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
            Some(Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
            Some(Host::Domain(name)) => {
                let lookup = tokio::net::lookup_host((name, port));
                let found: Vec<SocketAddr> = tokio::time::timeout(RESOLVE_TIMEOUT, lookup)
                    .await
                    .map_err(|_| UrlError::Resolve {
                        host: name.to_owned(),
                        cause: format!("no answer within {} s", RESOLVE_TIMEOUT.as_secs()),
                    })?
                    .map_err(|e| UrlError::Resolve {
                        host: name.to_owned(),
                        cause: e.to_string(),
                    })?
                    .collect();
                if found.is_empty() {
                    return Err(UrlError::Resolve {
                        host: name.to_owned(),
                        cause: "no addresses".into(),
                    });
                }
                found
            }
        };
        if !allow_private {
            for addr in &addrs {
                if let Some(kind) = forbidden(addr.ip()) {
                    return Err(UrlError::Forbidden {
                        host: host_text(&url),
                        ip: addr.ip(),
                        kind,
                    });
                }
            }
        }
        Ok(Target { url, addrs })
    }

    /// A target pinned to `addrs` without any check, for this crate's own tests.
    #[cfg(test)]
    pub(crate) fn pinned(url: Url, addrs: Vec<SocketAddr>) -> Target {
        Target { url, addrs }
    }

    /// The checked URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The addresses the request may connect to.
    pub fn addresses(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The host as written in the URL (a name or an address).
    pub(crate) fn host(&self) -> String {
        host_text(&self.url)
    }
}

impl fmt::Debug for Target {
    /// Shows scheme, host and port only: a webhook URL's path is often its secret (a Slack
    /// incoming-webhook URL is), and Debug output ends up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field(
                "url",
                &format_args!("{}://{}/…", self.url.scheme(), self.host()),
            )
            .field("addrs", &self.addrs)
            .finish()
    }
}

fn host_text(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        (None, _) => String::new(),
    }
}

/// Why a webhook URL is refused. Each message starts with the setting, `url`, and never
/// repeats the URL's path (which may be its secret).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL at all.
    #[error("url: not an absolute URL ({0})")]
    NotAUrl(String),
    /// `http://` where only https is allowed.
    #[error(
        "url: must be https (plain http only when private addresses are allowed, \
         serve --webhook-allow-private)"
    )]
    PlainHttp,
    /// Neither http nor https.
    #[error("url: the scheme {0} is not https")]
    Scheme(String),
    /// The host's name could not be resolved.
    #[error("url: cannot resolve {host}: {cause}")]
    Resolve {
        /// The host name.
        host: String,
        /// What the resolver said.
        cause: String,
    },
    /// The host is, or resolves to, an address that is not public.
    #[error(
        "url: {host} is or resolves to {ip}, a {kind} address; such addresses are refused \
         unless private addresses are allowed (serve --webhook-allow-private)"
    )]
    Forbidden {
        /// The host as written in the URL.
        host: String,
        /// The refused address.
        ip: IpAddr,
        /// What kind of address it is, e.g. `loopback`.
        kind: &'static str,
    },
}

/// What kind of non-public address `ip` is, or `None` for an address the public internet
/// routes to.
///
/// Written out because the standard library's `IpAddr::is_global` is not stable yet and no
/// small, well-kept crate provides the check; the ranges are IANA's special-purpose address
/// registries for IPv4 and IPv6.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match () {
        _ if ip.is_unspecified() => "unspecified",
        _ if a == 0 => "\"this network\"",
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_private() => "private-range",
        _ if a == 100 && (64..128).contains(&b) => "shared (CGNAT)",
        _ if ip.is_link_local() => "link-local",
        _ if a == 192 && b == 0 && c == 0 => "IETF protocol assignment",
        _ if ip.is_documentation() => "documentation",
        _ if a == 192 && b == 88 && c == 99 => "6to4 relay anycast",
        _ if a == 198 && (b == 18 || b == 19) => "benchmarking",
        _ if ip.is_multicast() => "multicast",
        _ if ip.is_broadcast() => "broadcast",
        _ if a >= 240 => "reserved",
        _ => return None,
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    // Forms that carry an IPv4 address are as forbidden as that address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    if s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        // NAT64 well-known prefix 64:ff9b::/96
        return forbidden_v4(Ipv4Addr::from(((s[6] as u32) << 16) | s[7] as u32));
    }
    if s[0] == 0x2002 {
        // 6to4 2002::/16 carries the IPv4 address in the next 32 bits
        return forbidden_v4(Ipv4Addr::from(((s[1] as u32) << 16) | s[2] as u32));
    }
    Some(match () {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "loopback",
        _ if s[0..6] == [0, 0, 0, 0, 0, 0] => "IPv4-compatible",
        _ if s[0] == 0x0100 && s[1..4] == [0, 0, 0] => "discard-only",
        _ if s[0] == 0x2001 && s[1] == 0x0db8 => "documentation",
        _ if s[0] == 0x2001 && s[1] < 0x0200 => "IETF protocol assignment",
        _ if (s[0] & 0xfe00) == 0xfc00 => "unique-local",
        _ if (s[0] & 0xffc0) == 0xfe80 => "link-local",
        _ if (s[0] & 0xffc0) == 0xfec0 => "site-local",
        _ if ip.is_multicast() => "multicast",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_addresses_are_forbidden() {
        for (text, kind) in [
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "\"this network\""),
            ("10.1.2.3", "private-range"),
            ("100.64.0.1", "shared (CGNAT)"),
            ("100.127.255.255", "shared (CGNAT)"),
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("169.254.169.254", "link-local"),
            ("172.16.0.1", "private-range"),
            ("172.31.255.255", "private-range"),
            ("192.0.2.10", "documentation"),
            ("192.168.1.1", "private-range"),
            ("198.18.0.1", "benchmarking"),
            ("224.0.0.1", "multicast"),
            ("240.0.0.1", "reserved"),
            ("255.255.255.255", "broadcast"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private-range"),
            ("::ffff:169.254.169.254", "link-local"),
            ("::127.0.0.1", "IPv4-compatible"),
            ("64:ff9b::a00:1", "private-range"),
            ("2002:c0a8:101::1", "private-range"),
            ("2001:db8::1", "documentation"),
            ("fc00::1", "unique-local"),
            ("fd12:3456::1", "unique-local"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("ff02::1", "multicast"),
        ] {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(forbidden(ip), Some(kind), "{text}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for text in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(forbidden(ip), None, "{text}");
        }
    }

    #[tokio::test]
    async fn a_public_literal_address_is_accepted_without_any_lookup() {
        let target = Target::check("https://8.8.8.8/hooks/greenlight", false)
            .await
            .unwrap();
        assert_eq!(
            target.addresses(),
            &["8.8.8.8:443".parse::<SocketAddr>().unwrap()]
        );
    }

    #[tokio::test]
    async fn debug_hides_the_path() {
        let target = Target::check("https://8.8.8.8/services/T0/B0/s3cr3t", false)
            .await
            .unwrap();
        let shown = format!("{target:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("8.8.8.8"), "{shown}");
    }

    #[tokio::test]
    async fn other_schemes_and_garbage_are_refused() {
        for (url, want) in [
            ("ftp://8.8.8.8/x", "url: the scheme ftp is not https"),
            ("not a url", "url: not an absolute URL"),
        ] {
            let err = Target::check(url, true).await.unwrap_err();
            assert!(err.to_string().starts_with(want), "{url}: {err}");
        }
    }
}
