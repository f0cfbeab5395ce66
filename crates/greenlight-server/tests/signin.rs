//! Signing in under attack, in-process: the limits per source address and per account, the
//! address behind a proxy, where the browser goes next, cookies and security headers.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use greenlight_server::pages::session::{LoginLimits, csrf_token};
use greenlight_server::{AppState, ServerConfig, app, demo};
use greenlight_store::{SigningKey, Store, StoreConfig};
use tower::ServiceExt;

struct Answer {
    status: u16,
    location: String,
    cookies: Vec<String>,
    headers: axum::http::HeaderMap,
}

async fn serve_demo(config: ServerConfig) -> (Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut store_config = StoreConfig::new(format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("g.db").display()
    ));
    store_config.signing_key = Some(SigningKey::generate());
    let store = Store::open(store_config).await.expect("the store opens");
    demo::seed(&store).await.expect("the demo seeds");
    (app(AppState::new(store, config)), dir)
}

fn quick_limits() -> LoginLimits {
    LoginLimits {
        per_source: 20,
        per_account: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        window: Duration::from_secs(600),
    }
}

fn enc(s: &str) -> String {
    greenlight_server::pages::urlencode(s).replace('/', "%2F")
}

/// Posts the sign-in form from the peer `peer`, with extra headers.
async fn sign_in(
    router: &Router,
    peer: [u8; 4],
    headers: &[(&str, &str)],
    email: &str,
    password: &str,
    next: &str,
) -> Answer {
    let nonce = "0123456789abcdef";
    let form = format!(
        "csrf={}&email={}&password={}&next={}",
        csrf_token(nonce),
        enc(email),
        enc(password),
        enc(next)
    );
    let mut req = Request::builder()
        .method("POST")
        .uri("/signin")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("gl_pre={nonce}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::from(form)).expect("a request");
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((peer, 40000))));
    let resp = router.clone().oneshot(req).await.expect("an answer");
    Answer {
        status: resp.status().as_u16(),
        location: resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        cookies: resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect(),
        headers: resp.headers().clone(),
    }
}

const ATTACKER: [u8; 4] = [198, 51, 100, 7];
const OWNER: [u8; 4] = [192, 0, 2, 10];
const REVIEWER: &str = "reviewer@northlight.example";

/// Before, 200 failures with made-up addresses locked every account out of the pages (the
/// all-accounts limit was checked before the password), and five failures locked any known
/// account out for 15 minutes.
#[tokio::test]
async fn failures_others_cause_never_lock_the_owner_out() {
    let (router, _dir) = serve_demo(ServerConfig {
        login: quick_limits(),
        ..ServerConfig::default()
    })
    .await;
    for i in 0..25 {
        let a = sign_in(
            &router,
            ATTACKER,
            &[],
            &format!("nobody{i}@x.example"),
            "guess-guess-guess",
            "/",
        )
        .await;
        assert!(a.status == 401 || a.status == 429, "{}", a.status);
    }
    // The guessing address is refused without a check...
    let a = sign_in(&router, ATTACKER, &[], REVIEWER, demo::DEMO_PASSWORD, "/").await;
    assert_eq!(a.status, 429);
    // ...everyone else signs in as before.
    let a = sign_in(&router, OWNER, &[], REVIEWER, demo::DEMO_PASSWORD, "/").await;
    assert_eq!(a.status, 303);

    // Guesses on one account from many addresses slow it down but never refuse its owner.
    for i in 0..8u8 {
        let a = sign_in(
            &router,
            [203, 0, 113, i],
            &[],
            REVIEWER,
            "wrong-wrong-wrong",
            "/",
        )
        .await;
        assert_eq!(a.status, 401);
    }
    let a = sign_in(&router, OWNER, &[], REVIEWER, demo::DEMO_PASSWORD, "/").await;
    assert_eq!(a.status, 303, "the right password signs in, after a delay");
    assert!(a.cookies.iter().any(|c| c.starts_with("gl_session=")));
}

#[tokio::test]
async fn the_source_address_comes_from_the_proxy_only_when_trusted() {
    // Untrusted: a client writing a new X-Forwarded-For each time stays one address.
    let (router, _dir) = serve_demo(ServerConfig {
        login: quick_limits(),
        ..ServerConfig::default()
    })
    .await;
    for i in 0..20u8 {
        let xff = format!("10.9.9.{i}");
        sign_in(
            &router,
            ATTACKER,
            &[("x-forwarded-for", &xff)],
            "x@x.example",
            "nope-nope-nope",
            "/",
        )
        .await;
    }
    let a = sign_in(
        &router,
        ATTACKER,
        &[("x-forwarded-for", "10.9.9.250")],
        REVIEWER,
        demo::DEMO_PASSWORD,
        "/",
    )
    .await;
    assert_eq!(a.status, 429, "the spoofed header is ignored");

    // Trusted: behind the proxy every client has the proxy's peer address; the header tells
    // them apart, so one guessing client does not shut out the others.
    let (router, _dir) = serve_demo(ServerConfig {
        login: quick_limits(),
        trust_proxy: true,
        ..ServerConfig::default()
    })
    .await;
    let proxy = [10, 0, 0, 1];
    for _ in 0..20 {
        sign_in(
            &router,
            proxy,
            &[("x-forwarded-for", "198.51.100.7")],
            "x@x.example",
            "nope-nope-nope",
            "/",
        )
        .await;
    }
    let a = sign_in(
        &router,
        proxy,
        &[("x-forwarded-for", "198.51.100.7")],
        REVIEWER,
        demo::DEMO_PASSWORD,
        "/",
    )
    .await;
    assert_eq!(a.status, 429);
    let a = sign_in(
        &router,
        proxy,
        &[("x-forwarded-for", "192.0.2.55")],
        REVIEWER,
        demo::DEMO_PASSWORD,
        "/",
    )
    .await;
    assert_eq!(a.status, 303);
}

/// Before, `/\t/evil.example` passed and browsers (which drop tabs) went to `//evil.example`;
/// a newline in `next` made a 500 after the session was created.
#[tokio::test]
async fn after_sign_in_the_browser_stays_on_this_site() {
    let (router, _dir) = serve_demo(ServerConfig::default()).await;
    for (next, to) in [
        ("/\t/evil.example", "/"),
        ("/\n/evil.example", "/"),
        ("/\r\nSet-Cookie: x=1", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/ /evil", "/%20/evil"),
        ("/queue?page=2", "/queue?page=2"),
        ("/declarations/abc#x", "/declarations/abc"),
    ] {
        let a = sign_in(&router, OWNER, &[], REVIEWER, demo::DEMO_PASSWORD, next).await;
        assert_eq!(a.status, 303, "{next:?}");
        assert_eq!(a.location, to, "{next:?}");
    }
}

#[tokio::test]
async fn cookies_are_secure_under_https_and_pages_carry_the_security_headers() {
    let (router, _dir) = serve_demo(ServerConfig {
        public_url: Some("https://greenlight.example".parse().expect("url")),
        ..ServerConfig::default()
    })
    .await;
    let a = sign_in(&router, OWNER, &[], REVIEWER, demo::DEMO_PASSWORD, "/").await;
    let session = a
        .cookies
        .iter()
        .find(|c| c.starts_with("gl_session="))
        .expect("a session cookie");
    assert!(session.contains("; Secure"), "{session}");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(a.headers.contains_key("strict-transport-security"));

    let (router, _dir) = serve_demo(ServerConfig::default()).await;
    let a = sign_in(&router, OWNER, &[], REVIEWER, demo::DEMO_PASSWORD, "/").await;
    assert!(
        !a.cookies.iter().any(|c| c.contains("Secure")),
        "plain http"
    );
    for uri in ["/signin", "/api/v1/me", "/healthz"] {
        let resp = router
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
            .await
            .expect("answer");
        let h = resp.headers();
        assert_eq!(h["x-frame-options"], "DENY", "{uri}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{uri}");
        assert_eq!(h["referrer-policy"], "same-origin", "{uri}");
        let csp = h["content-security-policy"].to_str().expect("ascii");
        assert!(csp.contains("frame-ancestors 'none'"), "{uri}: {csp}");
    }
}
