//! The HTTP client single sign-on talks to a provider with.
//!
//! A studio admin types the issuer URL, and the discovery document it serves names further
//! addresses (keys, tokens, userinfo) that Greenlight then fetches: without care that is a way
//! to make the server request addresses inside its own network. So by default every request
//! must be https to a public address (also after DNS resolution), redirects are not followed,
//! each request has a deadline and each response a size limit. Tests and on-premises
//! providers on a private network turn the address rule off with
//! [`HttpOptions::allow_private`].

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::error::SsoError;

/// How the single sign-on HTTP client behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpOptions {
    /// Allow plain http, and addresses that are loopback, private-range, link-local or
    /// otherwise not public. Off by default; tests and providers on a private network need it.
    pub allow_private: bool,
    /// Deadline for one request, connection included.
    pub timeout: Duration,
    /// Largest response body read; a larger one is an error.
    pub max_response_bytes: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            allow_private: false,
            timeout: Duration::from_secs(10),
            // Discovery documents and key sets are a few KiB; 1 MiB leaves room for any
            // provider and keeps a hostile one from filling memory.
            max_response_bytes: 1024 * 1024,
        }
    }
}

/// The HTTP client of single sign-on. Cheap to clone; build one per process and share it.
#[derive(Clone)]
pub struct SsoHttp {
    client: reqwest::Client,
    options: HttpOptions,
}

impl fmt::Debug for SsoHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SsoHttp")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Why one HTTP request to the provider failed.
#[derive(Debug)]
pub struct HttpError(String);

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HttpError {}

impl SsoHttp {
    /// A client following `options`: no redirects, rustls with the webpki and the system's
    /// root certificates.
    pub fn new(options: HttpOptions) -> Result<SsoHttp, SsoError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("Greenlight/", env!("CARGO_PKG_VERSION")));
        if !options.allow_private {
            builder = builder.dns_resolver(Arc::new(PublicAddressesOnly));
        }
        let client = builder
            .build()
            .map_err(|e| SsoError::HttpClient(error_chain(&e)))?;
        Ok(SsoHttp { client, options })
    }

    /// The options the client was built with.
    pub fn options(&self) -> &HttpOptions {
        &self.options
    }

    /// Refuses an address the options do not allow, before any connection is made.
    pub(crate) fn check_url(&self, url: &url::Url) -> Result<(), HttpError> {
        if self.options.allow_private {
            return match url.scheme() {
                "https" | "http" => Ok(()),
                other => Err(HttpError(format!("{url}: {other} is not http or https"))),
            };
        }
        if url.scheme() != "https" {
            return Err(HttpError(format!(
                "{url}: only https is allowed (plain http only where private addresses are \
                 allowed)"
            )));
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(HttpError(format!("{url}: no host"))),
        };
        if let Some(ip) = ip
            && !is_public(ip)
        {
            return Err(HttpError(format!(
                "{url}: {ip} is a loopback, private-range or reserved address, which is refused \
                 unless private addresses are allowed"
            )));
        }
        Ok(())
    }

    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let url = url::Url::parse(&request.uri().to_string())
            .map_err(|e| HttpError(format!("{}: not a URL ({e})", request.uri())))?;
        self.check_url(&url)?;
        let request = reqwest::Request::try_from(request)
            .map_err(|e| HttpError(format!("{url}: {}", error_chain(&e))))?;
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(|e| HttpError(format!("{url}: {}", self.describe(e))))?;
        let max = self.options.max_response_bytes;
        if response.content_length().is_some_and(|n| n > max as u64) {
            return Err(HttpError(format!(
                "{url}: the response is larger than {max} bytes"
            )));
        }
        let mut builder = openidconnect::http::Response::builder()
            .status(response.status())
            .version(response.version());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| HttpError(format!("{url}: {}", self.describe(e))))?
        {
            if body.len() + chunk.len() > max {
                return Err(HttpError(format!(
                    "{url}: the response is larger than {max} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        builder
            .body(body)
            .map_err(|e| HttpError(format!("{url}: {e}")))
    }
}

impl SsoHttp {
    /// A transport failure in a few words: reqwest's own message repeats the URL and says
    /// "error sending request" before the cause that matters.
    fn describe(&self, e: reqwest::Error) -> String {
        if e.is_timeout() {
            return format!("no answer within {} s", self.options.timeout.as_secs());
        }
        let e = e.without_url();
        if e.is_connect() {
            let mut cause: &dyn std::error::Error = &e;
            while let Some(next) = cause.source() {
                cause = next;
            }
            return format!("cannot connect: {cause}");
        }
        error_chain(&e)
    }
}

impl<'c> AsyncHttpClient<'c> for SsoHttp {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.execute(request))
    }
}

/// The error and its sources on one line: reqwest's top-level message alone ("error sending
/// request") does not say that the connection was refused.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Resolves with the system resolver and keeps only public addresses, so a name that points
/// into the private network is refused after resolution, not only as a literal address.
struct PublicAddressesOnly;

impl Resolve for PublicAddressesOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| is_public(a.ip()))
                .collect();
            if public.is_empty() {
                let shown: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
                return Err(format!(
                    "{host} resolves only to loopback, private-range or reserved addresses ({}), \
                     which are refused unless private addresses are allowed",
                    shown.join(", ")
                )
                .into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// Whether an address is one the public internet routes to. Written out because the
/// standard library's `is_global` is not stable yet and no small, well-kept crate provides
/// the check; the ranges are IANA's special-purpose registries for IPv4 and IPv6.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0                                   // "this network"
        || a == 10                             // private
        || a == 127                            // loopback
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254)              // link-local
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0)      // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)      // documentation
        || (a == 192 && b == 88 && c == 99)    // 6to4 relay anycast
        || (a == 192 && b == 168)              // private
        || (a == 198 && (b == 18 || b == 19))  // benchmarking
        || (a == 198 && b == 51 && c == 100)   // documentation
        || (a == 203 && b == 0 && c == 113)    // documentation
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // Addresses that embed an IPv4 address are as public as it is.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        // NAT64 well-known prefix 64:ff9b::/96
        let [.., x, y] = s;
        return is_public_v4(Ipv4Addr::from(((x as u32) << 16) | y as u32));
    }
    if s[0] == 0x2002 {
        // 6to4 2002::/16 carries the IPv4 address in the next 32 bits
        return is_public_v4(Ipv4Addr::from(((s[1] as u32) << 16) | s[2] as u32));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || s[0..6] == [0, 0, 0, 0, 0, 0]        // IPv4-compatible (deprecated)
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only 100::/64
        || (s[0] == 0x2001 && s[1] < 0x0200)    // IETF protocol assignments, Teredo
        || (s[0] == 0x2001 && s[1] == 0x0db8)   // documentation
        || (s[0] & 0xfe00) == 0xfc00            // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80            // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0            // site-local (deprecated)
        || (s[0] & 0xff00) == 0xff00) // multicast
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_reserved_addresses_are_not_public() {
        for text in [
            "0.0.0.0",
            "10.1.2.3",
            "100.64.0.1",
            "127.0.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.2.10",
            "192.168.1.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:c0a8:101::1",
            "2001:db8::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
        ] {
            let ip: IpAddr = text.parse().unwrap();
            assert!(!is_public(ip), "{text} counted as public");
        }
    }

    #[test]
    fn public_addresses_are_public() {
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
            assert!(is_public(ip), "{text} counted as not public");
        }
    }

    #[test]
    fn plain_http_and_private_literals_are_refused_by_default() {
        let http = SsoHttp::new(HttpOptions::default()).unwrap();
        let refuse = |u: &str| http.check_url(&url::Url::parse(u).unwrap()).unwrap_err();
        assert!(refuse("http://login.example.com/").0.contains("only https"));
        assert!(refuse("https://127.0.0.1:8443/").0.contains("127.0.0.1"));
        assert!(refuse("https://[::1]/").0.contains("::1"));
        assert!(
            http.check_url(&url::Url::parse("https://login.example.com/").unwrap())
                .is_ok()
        );

        let open = SsoHttp::new(HttpOptions {
            allow_private: true,
            ..HttpOptions::default()
        })
        .unwrap();
        assert!(
            open.check_url(&url::Url::parse("http://127.0.0.1:8080/").unwrap())
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused() {
        let http = SsoHttp::new(HttpOptions::default()).unwrap();
        let request = openidconnect::http::Request::builder()
            .uri("https://localhost:9/.well-known/openid-configuration")
            .body(Vec::new())
            .unwrap();
        let err = http.execute(request).await.unwrap_err();
        assert!(err.0.contains("resolves only to loopback"), "{err}");
    }
}
