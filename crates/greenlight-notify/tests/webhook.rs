//! Webhook deliveries with the real `Sender` to a real HTTP receiver (axum, on 127.0.0.1,
//! started here) that checks the signatures with its own implementation of the Standard
//! Webhooks scheme, written from the specification and not calling the crate's `sign`.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::Utc;
use greenlight_notify::webhook::{
    DeliveryError, Secret, Sender, SenderOptions, Target, UrlError, slack_body,
};
use greenlight_notify::{Event, EventKind, MessageText};
use hmac::{KeyInit, Mac};
use subtle::ConstantTimeEq;

/// What the receiver saw of one request.
#[derive(Clone, Debug)]
struct Seen {
    id: String,
    content_type: String,
    body: Vec<u8>,
    verified: bool,
}

#[derive(Clone)]
struct Receiver {
    /// The raw keys it accepts, decoded here from the `whsec_` text.
    keys: Arc<Vec<Vec<u8>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// The receiver's side of the Standard Webhooks scheme, from the specification: the signed
/// content is `{webhook-id}.{webhook-timestamp}.{body}`, HMAC-SHA256 with the secret's
/// base64-decoded bytes (after `whsec_`), base64; the header holds space-separated
/// `v1,<signature>` entries and any one matching is enough; the timestamp must be within
/// five minutes of now; compare in constant time.
fn verify(keys: &[Vec<u8>], headers: &HeaderMap, body: &[u8]) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(id), Some(ts), Some(sigs)) = (
        get("webhook-id"),
        get("webhook-timestamp"),
        get("webhook-signature"),
    ) else {
        return false;
    };
    let Ok(ts_num) = ts.parse::<i64>() else {
        return false;
    };
    if (Utc::now().timestamp() - ts_num).abs() > 5 * 60 {
        return false;
    }
    let mut signed = format!("{id}.{ts}.").into_bytes();
    signed.extend_from_slice(body);
    keys.iter().any(|key| {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        mac.update(&signed);
        let expected = BASE64.encode(mac.finalize().into_bytes());
        sigs.split(' ').any(|entry| {
            entry
                .strip_prefix("v1,")
                .is_some_and(|sig| bool::from(sig.as_bytes().ct_eq(expected.as_bytes())))
        })
    })
}

fn key_of(whsec: &str) -> Vec<u8> {
    BASE64
        .decode(whsec.strip_prefix("whsec_").unwrap())
        .unwrap()
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let verified = verify(&r.keys, &headers, &body);
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    r.seen.lock().unwrap().push(Seen {
        id: text("webhook-id"),
        content_type: text("content-type"),
        body: body.to_vec(),
        verified,
    });
    if verified {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::UNAUTHORIZED
    }
}

struct Running {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Starts a receiver accepting signatures by any of `secrets`. Besides `/hook` it has
/// `/fail` (500), `/gone` (410), `/busy` (429), `/moved` (a 307 to `/hook`) and `/slow`
/// (answers after 30 s).
async fn receiver(secrets: &[&Secret]) -> Running {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let state = Receiver {
        keys: Arc::new(secrets.iter().map(|s| key_of(&s.to_string())).collect()),
        seen: seen.clone(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/hook", post(hook))
        .route(
            "/fail",
            post(|| async {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "database   down\n(try later)",
                )
            }),
        )
        .route("/gone", post(|| async { StatusCode::GONE }))
        .route("/busy", post(|| async { StatusCode::TOO_MANY_REQUESTS }))
        .route(
            "/moved",
            post(move || async move {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, format!("http://{addr}/hook"))],
                )
                    .into_response()
            }),
        )
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                StatusCode::OK
            }),
        )
        .with_state(state);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Running { addr, seen }
}

fn event() -> Event {
    Event::new(
        EventKind::DeclarationSubmitted,
        Utc::now(),
        "northlight",
        Some("prod-1".into()),
        serde_json::json!({
            "declaration_id": "decl-1",
            "production_id": "prod-1",
            "use_ref": "VFX-042",
            "outcome": "written_approval",
            "url": "https://greenlight.example/declarations/decl-1",
        }),
    )
}

fn body(event: &Event) -> Vec<u8> {
    serde_json::to_vec(&event.webhook_body()).unwrap()
}

fn sender() -> Sender {
    Sender::new(SenderOptions::default()).unwrap()
}

async fn target(url: &str) -> Target {
    Target::check(url, true).await.unwrap()
}

#[tokio::test]
async fn a_good_delivery_is_signed_verified_and_carries_the_envelope() {
    let secret = Secret::generate();
    let rx = receiver(&[&secret]).await;
    let event = event();
    let bytes = body(&event);
    let delivered = sender()
        .deliver(&target(&rx.url("/hook")).await, &event, &bytes, &[secret])
        .await
        .unwrap();
    assert_eq!(delivered.status, 204);

    let seen = rx.seen();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].verified,
        "the receiver could not verify the signature"
    );
    assert_eq!(seen[0].id, event.id.to_string());
    assert_eq!(seen[0].content_type, "application/json");
    assert_eq!(seen[0].body, bytes);
    let json: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(keys, ["id", "type", "timestamp", "data"]);
    assert_eq!(json["type"], "declaration.submitted");
    for field in [
        "declaration_id",
        "production_id",
        "use_ref",
        "outcome",
        "url",
    ] {
        assert!(json["data"].get(field).is_some(), "data.{field} missing");
    }
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_works_when_private_addresses_are_allowed() {
    // `localhost` goes through DNS resolution and the pinned addresses, unlike a literal.
    let secret = Secret::generate();
    let rx = receiver(&[&secret]).await;
    let url = format!("http://localhost:{}/hook", rx.addr.port());
    let target = Target::check(&url, true).await.unwrap();
    assert!(target.addresses().iter().all(|a| a.ip().is_loopback()));
    let event = event();
    sender()
        .deliver(&target, &event, &body(&event), &[secret])
        .await
        .unwrap();
    assert!(rx.seen()[0].verified);
}

#[tokio::test]
async fn every_retry_carries_the_same_event_id() {
    let secret = Secret::generate();
    let rx = receiver(&[&secret]).await;
    let sender = sender();
    let target = target(&rx.url("/hook")).await;
    let event = event();
    for _ in 0..3 {
        sender
            .deliver(
                &target,
                &event,
                &body(&event),
                std::slice::from_ref(&secret),
            )
            .await
            .unwrap();
    }
    let ids: Vec<String> = rx.seen().into_iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![event.id.to_string(); 3]);
}

#[tokio::test]
async fn during_a_rotation_a_receiver_knowing_either_secret_verifies() {
    let old = Secret::generate();
    let new = Secret::generate();
    let knows_old = receiver(&[&old]).await;
    let knows_new = receiver(&[&new]).await;
    let knows_neither = receiver(&[&Secret::generate()]).await;
    let sender = sender();
    let event = event();
    let both = [old.clone(), new.clone()];
    for rx in [&knows_old, &knows_new] {
        sender
            .deliver(
                &target(&rx.url("/hook")).await,
                &event,
                &body(&event),
                &both,
            )
            .await
            .unwrap();
        assert!(rx.seen()[0].verified);
    }
    let err = sender
        .deliver(
            &target(&knows_neither.url("/hook")).await,
            &event,
            &body(&event),
            &both,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeliveryError::Status { status: 401, .. }),
        "{err}"
    );
    assert!(!err.retryable());
    assert!(!knows_neither.seen()[0].verified);
}

#[tokio::test]
async fn a_500_is_a_retryable_error_naming_the_status_and_the_answer() {
    let secret = Secret::generate();
    let rx = receiver(&[&secret]).await;
    let event = event();
    let err = sender()
        .deliver(
            &target(&rx.url("/fail")).await,
            &event,
            &body(&event),
            &[secret],
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the receiver answered 500 Internal Server Error: database down (try later)"
    );
    assert!(err.retryable());
}

#[tokio::test]
async fn client_errors_are_final_except_too_many_requests() {
    let secret = Secret::generate();
    let rx = receiver(&[&secret]).await;
    let sender = sender();
    let event = event();
    let gone = sender
        .deliver(
            &target(&rx.url("/gone")).await,
            &event,
            &body(&event),
            std::slice::from_ref(&secret),
        )
        .await
        .unwrap_err();
    assert!(gone.to_string().contains("410 Gone"), "{gone}");
    assert!(!gone.retryable());
    let busy = sender
        .deliver(
            &target(&rx.url("/busy")).await,
            &event,
            &body(&event),
            &[secret],
        )
        .await
        .unwrap_err();
    assert!(busy.to_string().contains("429"), "{busy}");
    assert!(busy.retryable());
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let secret = Secret::generate();
    let rx = receiver(&[&secret]).await;
    let event = event();
    let err = sender()
        .deliver(
            &target(&rx.url("/moved")).await,
            &event,
            &body(&event),
            &[secret],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeliveryError::Redirect { status: 307, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("not followed"), "{err}");
    assert!(rx.seen().is_empty(), "the redirect was followed to /hook");
}

#[tokio::test]
async fn a_receiver_slower_than_the_timeout_is_a_timeout() {
    let secret = Secret::generate();
    let rx = receiver(&[&secret]).await;
    let sender = Sender::new(SenderOptions {
        timeout: Duration::from_secs(1),
        ..SenderOptions::default()
    })
    .unwrap();
    let event = event();
    let err = sender
        .deliver(
            &target(&rx.url("/slow")).await,
            &event,
            &body(&event),
            &[secret],
        )
        .await
        .unwrap_err();
    assert_eq!(err, DeliveryError::Timeout { secs: 1.0 });
    assert_eq!(err.to_string(), "no answer within 1 s");
    assert!(err.retryable());
}

#[tokio::test]
async fn a_receiver_that_is_not_there_is_a_retryable_connection_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let event = event();
    let err = sender()
        .deliver(
            &target(&format!("http://127.0.0.1:{port}/hook")).await,
            &event,
            &body(&event),
            &[Secret::generate()],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Connect(_)), "{err}");
    assert!(err.to_string().starts_with("cannot connect: "), "{err}");
    assert!(err.retryable());
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_and_one_at_the_limit_goes_out() {
    let secret = Secret::generate();
    let rx = receiver(&[&secret]).await;
    let sender = sender();
    let target = target(&rx.url("/hook")).await;
    let event = event();
    let max = sender.options().max_body_bytes;
    assert_eq!(max, 256 * 1024);
    let too_big = vec![b' '; max + 1];
    let err = sender
        .deliver(&target, &event, &too_big, std::slice::from_ref(&secret))
        .await
        .unwrap_err();
    assert_eq!(err, DeliveryError::BodyTooLarge { size: max + 1, max });
    assert!(!err.retryable());
    assert!(rx.seen().is_empty());
    sender
        .deliver(&target, &event, &vec![b' '; max], &[secret])
        .await
        .unwrap();
    assert_eq!(rx.seen().len(), 1);
}

#[tokio::test]
async fn private_and_plain_http_addresses_are_refused_by_default() {
    let refused = [
        "http://hooks.example.com/greenlight",
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://172.16.5.4/hook",
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[fd00::1]/hook",
        "https://[fe80::1]/hook",
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        "https://localhost/hook",
    ];
    for url in refused {
        let err = Target::check(url, false).await.unwrap_err();
        assert!(err.to_string().starts_with("url: "), "{url}: {err}");
        match err {
            UrlError::PlainHttp => assert!(url.starts_with("http://")),
            UrlError::Forbidden { .. } => {}
            other => panic!("{url}: refused for the wrong reason: {other}"),
        }
    }
    let err = Target::check("https://localhost/hook", false)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("loopback"), "{err}");
}

#[tokio::test]
async fn the_slack_format_goes_out_signed_like_any_other_body() {
    let secret = Secret::generate();
    let rx = receiver(&[&secret]).await;
    let event = event();
    let text = MessageText {
        subject: "Declaration submitted: needs written approval".into(),
        production: Some("Night Shift".into()),
        use_ref: Some("VFX-042".into()),
        outcome: Some("Needs written approval".into()),
        reasons: vec!["A digital replica".into()],
        blockers: vec![],
        link: "https://greenlight.example/declarations/decl-1"
            .parse()
            .unwrap(),
    };
    let bytes = serde_json::to_vec(&slack_body(&event, &text)).unwrap();
    sender()
        .deliver(&target(&rx.url("/hook")).await, &event, &bytes, &[secret])
        .await
        .unwrap();
    let seen = rx.seen();
    assert!(seen[0].verified);
    let json: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert!(json["text"].as_str().unwrap().contains("Night Shift"));
    assert!(json["blocks"].is_array());
}
