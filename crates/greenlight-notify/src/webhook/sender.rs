//! Posting one signed message to one webhook.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_TYPE, LOCATION};

use super::{Secret, Target, sign};
use crate::event::Event;

/// How a [`Sender`] behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderOptions {
    /// Deadline for one delivery, connection and response included (10 s by default).
    pub timeout: Duration,
    /// Largest body sent; a bigger one is refused before any connection (256 KiB).
    pub max_body_bytes: usize,
    /// How much of a failed answer's body is kept for the error text (4 KiB).
    pub max_error_bytes: usize,
}

impl Default for SenderOptions {
    fn default() -> SenderOptions {
        SenderOptions {
            timeout: Duration::from_secs(10),
            max_body_bytes: 256 * 1024,
            max_error_bytes: 4 * 1024,
        }
    }
}

/// Delivers webhook messages: one HTTP client for the whole process (connections are
/// reused per host), which never follows a redirect and connects only to the addresses a
/// [`Target`] check approved.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    pins: Pins,
    options: SenderOptions,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// A delivery the receiver accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// The 2xx status it answered.
    pub status: u16,
}

impl Sender {
    /// A sender following `options`: rustls with the webpki and the system's root
    /// certificates, no redirects.
    pub fn new(options: SenderOptions) -> Result<Sender, DeliveryError> {
        let pins = Pins::default();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("Greenlight-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(pins.clone()))
            .build()
            .map_err(|e| DeliveryError::Client(chain(&e)))?;
        Ok(Sender {
            client,
            pins,
            options,
        })
    }

    /// The options the sender was built with.
    pub fn options(&self) -> &SenderOptions {
        &self.options
    }

    /// Posts `body` to `target` with the Standard Webhooks headers: `webhook-id` (the event's
    /// id, the same on every retry), `webhook-timestamp` (now, in seconds) and
    /// `webhook-signature` (one `v1,` signature per secret), as `application/json`.
    ///
    /// `body` is what the subscriber's format asks for, [`Event::webhook_body`] or
    /// [`slack_body`](super::slack_body), serialized once and kept so that every retry sends
    /// the same bytes. A 2xx answer is delivered; anything else is a [`DeliveryError`].
    pub async fn deliver(
        &self,
        target: &Target,
        event: &Event,
        body: &[u8],
        secrets: &[Secret],
    ) -> Result<Delivered, DeliveryError> {
        if body.len() > self.options.max_body_bytes {
            return Err(DeliveryError::BodyTooLarge {
                size: body.len(),
                max: self.options.max_body_bytes,
            });
        }
        if secrets.is_empty() {
            return Err(DeliveryError::NoSecret);
        }
        self.pins.pin(target);
        let id = event.id.to_string();
        let timestamp = chrono::Utc::now().timestamp();
        let response = self
            .client
            .post(target.url().clone())
            .header(CONTENT_TYPE, "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", sign(secrets, &id, timestamp, body))
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(Delivered {
                status: status.as_u16(),
            });
        }
        if status.is_redirection() {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(excerpt_host);
            return Err(DeliveryError::Redirect {
                status: status.as_u16(),
                location,
            });
        }
        let body = self.read_some(response).await;
        Err(DeliveryError::Status {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_owned(),
            body,
        })
    }

    /// The start of an answer's body, as one line of text; whatever cannot be read in time
    /// is left out rather than failing the report.
    async fn read_some(&self, mut response: reqwest::Response) -> String {
        let max = self.options.max_error_bytes;
        let mut bytes = Vec::new();
        while bytes.len() < max {
            match response.chunk().await {
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        bytes.truncate(max);
        let text = String::from_utf8_lossy(&bytes);
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn transport_error(&self, e: reqwest::Error) -> DeliveryError {
        // reqwest's own message names the URL (whose path may be a secret) and says "error
        // sending request" before the cause that matters.
        let e = e.without_url();
        if e.is_timeout() {
            return DeliveryError::Timeout {
                secs: self.options.timeout.as_secs_f64(),
            };
        }
        if e.is_connect() {
            let mut cause: &dyn std::error::Error = &e;
            while let Some(next) = cause.source() {
                cause = next;
            }
            return DeliveryError::Connect(cause.to_string());
        }
        DeliveryError::Transport(chain(&e))
    }
}

/// Only the scheme and host of a redirect's target: its path may carry a secret too.
fn excerpt_host(location: &str) -> String {
    match url::Url::parse(location) {
        Ok(u) => format!("{}://{}/…", u.scheme(), u.host_str().unwrap_or("")),
        Err(_) => "a relative address".to_owned(),
    }
}

/// The error and its sources on one line.
fn chain(error: &dyn std::error::Error) -> String {
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

/// Why a delivery failed. The text is what the deliveries page shows as the last error: it
/// says the status or the cause, and never the URL (whose path may be a secret).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The receiver answered with a status other than 2xx or 3xx.
    #[error("the receiver answered {status} {reason}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Status {
        /// The HTTP status.
        status: u16,
        /// Its standard reason phrase.
        reason: String,
        /// The start of the answer's body, on one line.
        body: String,
    },
    /// The receiver answered with a redirect, which is never followed.
    #[error("the receiver answered {status} redirecting to {}; redirects are not followed, register the final URL", location.as_deref().unwrap_or("nowhere"))]
    Redirect {
        /// The HTTP status.
        status: u16,
        /// Scheme and host of the `Location` header.
        location: Option<String>,
    },
    /// No complete answer within the deadline.
    #[error("no answer within {secs} s")]
    Timeout {
        /// The deadline, in seconds.
        secs: f64,
    },
    /// The connection could not be made (refused, unreachable, TLS handshake failed).
    #[error("cannot connect: {0}")]
    Connect(String),
    /// Another transport failure.
    #[error("the request failed: {0}")]
    Transport(String),
    /// The body is larger than a webhook may send; it is never sent.
    #[error("the body is {size} bytes, more than the {max} bytes a webhook may send")]
    BodyTooLarge {
        /// The body's size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The webhook has no secret to sign with.
    #[error("the webhook has no secret to sign with")]
    NoSecret,
    /// The HTTP client could not be built (the TLS roots could not be loaded).
    #[error("cannot set up the webhook HTTP client: {0}")]
    Client(String),
}

impl DeliveryError {
    /// Whether trying again later may succeed. A 4xx answer says the receiver will not
    /// take this message (except 408 Request Timeout and 429 Too Many Requests, which say
    /// "later"); neither an oversize body nor a missing secret changes on a retry. Every
    /// other failure (5xx, redirects, timeouts, refused connections) is retried.
    pub fn retryable(&self) -> bool {
        match self {
            DeliveryError::Status { status, .. } => {
                !(400..500).contains(status) || *status == 408 || *status == 429
            }
            DeliveryError::BodyTooLarge { .. } | DeliveryError::NoSecret => false,
            _ => true,
        }
    }
}

/// The addresses each checked host may connect to, consulted instead of DNS.
///
/// reqwest pins addresses per client (`ClientBuilder::resolve`), but one client serves every
/// webhook, so its resolver reads the addresses of the latest check of that host instead of
/// asking DNS. A host never checked has no addresses, so nothing reaches an unchecked
/// address. The map holds one entry per webhook host this process delivered to.
#[derive(Clone, Default)]
struct Pins(Arc<Mutex<HashMap<String, Vec<SocketAddr>>>>);

impl Pins {
    fn pin(&self, target: &Target) {
        let Some(host) = target.url().host_str() else {
            return;
        };
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.insert(host.to_owned(), target.addresses().to_vec());
    }
}

impl Resolve for Pins {
    fn resolve(&self, name: Name) -> Resolving {
        let found = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(name.as_str())
            .cloned();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            match found {
                Some(addrs) => Ok(Box::new(addrs.into_iter()) as Addrs),
                None => Err(format!("{host} was not checked as a webhook target").into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> DeliveryError {
        DeliveryError::Status {
            status,
            reason: String::new(),
            body: String::new(),
        }
    }

    #[test]
    fn client_errors_are_final_except_408_and_429() {
        for s in [400, 401, 403, 404, 410, 413, 422] {
            assert!(!status(s).retryable(), "{s}");
        }
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(status(s).retryable(), "{s}");
        }
        assert!(DeliveryError::Timeout { secs: 10.0 }.retryable());
        assert!(DeliveryError::Connect("refused".into()).retryable());
        assert!(
            DeliveryError::Redirect {
                status: 302,
                location: None
            }
            .retryable()
        );
        assert!(!DeliveryError::BodyTooLarge { size: 2, max: 1 }.retryable());
    }

    #[test]
    fn a_status_error_says_the_status_and_the_start_of_the_body() {
        let err = DeliveryError::Status {
            status: 500,
            reason: "Internal Server Error".into(),
            body: "database down".into(),
        };
        assert_eq!(
            err.to_string(),
            "the receiver answered 500 Internal Server Error: database down"
        );
    }

    #[tokio::test]
    async fn the_request_goes_to_the_checked_addresses_never_to_dns() {
        // A name no resolver knows, pinned to a receiver on loopback: the delivery can only
        // arrive if the sender connects to the pinned address instead of asking DNS (a
        // rebinding name would answer DNS differently the second time).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(|headers: axum::http::HeaderMap| async move {
                let host = headers["host"].to_str().unwrap_or("").to_owned();
                (axum::http::StatusCode::ACCEPTED, host)
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        let target = Target::pinned(
            format!("http://pinned.greenlight.invalid:{}/hook", addr.port())
                .parse()
                .unwrap(),
            vec![addr],
        );
        let event = Event::new(
            crate::EventKind::ScanCompleted,
            chrono::Utc::now(),
            "s",
            None,
            serde_json::json!({}),
        );
        let sender = Sender::new(SenderOptions::default()).unwrap();
        let delivered = sender
            .deliver(&target, &event, b"{}", &[Secret::generate()])
            .await
            .unwrap();
        assert_eq!(delivered.status, 202);
    }

    #[test]
    fn a_redirect_names_only_scheme_and_host_of_its_target() {
        assert_eq!(
            excerpt_host("https://elsewhere.example/secret/path"),
            "https://elsewhere.example/…"
        );
    }
}
