//! Notifications end to end: the real `greenlight serve` with a real SMTP server (Python's
//! aiosmtpd) and a webhook receiver (axum) started here, which checks every signature with
//! its own implementation of the Standard Webhooks scheme. A declaration reaches the studio
//! contact's mailbox and the webhook; a receiver that fails once gets the event on a retry,
//! one that never answers well ends dead; a SIGKILL while 1,000 events are pending loses
//! none; two instances on one PostgreSQL database send each event once.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use hmac::{KeyInit, Mac};

use crate::serve::{PgDb, Server, get, post_json, production_with_partner, request};
use crate::smtp::SmtpSink;
use crate::util::Dir;

const ADMIN: &str = "glt_demo_admin_0000000000000000000000000000000";
const PARTNER: &str = "glt_demo_partner_0000000000000000000000000000";
/// The receiver's secret: `whsec_` and 32 bytes, base64.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0Z0hr4Jj0EQ=";

/// One delivery the receiver accepted.
#[derive(Debug, Clone)]
struct Got {
    hook: String,
    id: String,
    body: serde_json::Value,
}

#[derive(Default)]
struct Inbox {
    got: Vec<Got>,
    bad_signatures: usize,
    /// Event ids the `flaky` hook already failed once.
    failed_once: HashSet<String>,
}

/// The webhook receiver, on 127.0.0.1 in a runtime of its own.
struct Receiver {
    port: u16,
    inbox: Arc<Mutex<Inbox>>,
    _runtime: tokio::runtime::Runtime,
}

/// Checks a Standard Webhooks signature as the specification describes it, independently of
/// Greenlight's code: HMAC-SHA256 keyed with the secret's base64-decoded bytes over
/// `{id}.{timestamp}.{body}`, base64, in a space-separated list of `v1,<signature>`.
fn signature_holds(headers: &HeaderMap, body: &[u8]) -> bool {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    let (id, ts, sigs) = (
        h("webhook-id"),
        h("webhook-timestamp"),
        h("webhook-signature"),
    );
    let key = base64::engine::general_purpose::STANDARD
        .decode(SECRET.trim_start_matches("whsec_"))
        .expect("the test secret decodes");
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).expect("any key");
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let fresh = ts
        .parse::<i64>()
        .is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() < 300);
    fresh
        && sigs.split(' ').any(|s| {
            s.strip_prefix("v1,").is_some_and(|got| {
                got.len() == want.len()
                    && got
                        .bytes()
                        .zip(want.bytes())
                        .fold(0u8, |a, (x, y)| a | (x ^ y))
                        == 0
            })
        })
}

async fn hook(
    State(inbox): State<Arc<Mutex<Inbox>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut inbox = inbox.lock().expect("the inbox lock");
    if !signature_holds(&headers, &body) {
        inbox.bad_signatures += 1;
        return StatusCode::UNAUTHORIZED;
    }
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    match name.as_str() {
        "down" => return StatusCode::INTERNAL_SERVER_ERROR,
        "flaky" if inbox.failed_once.insert(id.clone()) => {
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
        _ => {}
    }
    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    inbox.got.push(Got {
        hook: name,
        id,
        body,
    });
    StatusCode::NO_CONTENT
}

impl Receiver {
    fn start() -> Receiver {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("the receiver binds");
        let port = listener.local_addr().expect("an address").port();
        let app = axum::Router::new()
            .route("/hook/{name}", axum::routing::post(hook))
            .with_state(inbox.clone());
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            port,
            inbox,
            _runtime: runtime,
        }
    }

    fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/hook/{name}", self.port)
    }

    fn got(&self) -> Vec<Got> {
        self.inbox.lock().expect("the inbox lock").got.clone()
    }

    fn bad_signatures(&self) -> usize {
        self.inbox.lock().expect("the inbox lock").bad_signatures
    }
}

/// Waits (up to `limit`) until `done` holds; false when it never did.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

fn register(addr: &str, token: &str, url: &str, events: &[&str]) -> serde_json::Value {
    let r = post_json(
        addr,
        "/api/v1/webhooks",
        token,
        serde_json::json!({"url": url, "events": events, "secret": SECRET}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()
}

/// `serve --demo` on a SQLite file in `dir`, mailing to the local SMTP server, with fast
/// retries.
fn demo_server(dir: &Dir, smtp: u16) -> Server {
    let mut args = vec![
        "--demo".to_owned(),
        "--database-url".to_owned(),
        "sqlite://gl.db".to_owned(),
    ];
    args.extend(notify_args(Some(smtp)));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start(dir, &args)
}

/// `serve` arguments for fast retries against the local receivers.
fn notify_args(smtp: Option<u16>) -> Vec<String> {
    let mut args: Vec<String> = [
        "--public-url",
        "http://127.0.0.1:9",
        "--webhook-allow-private",
        "--notify-backoff-ms",
        "100",
        "--notify-give-up-secs",
        "4",
        "--notify-poll-ms",
        "50",
    ]
    .map(str::to_owned)
    .to_vec();
    if let Some(port) = smtp {
        args.extend([
            "--smtp-url".to_owned(),
            format!("smtp://127.0.0.1:{port}"),
            "--mail-from".to_owned(),
            "Greenlight <greenlight@northlight.example>".to_owned(),
        ]);
    }
    args
}

#[test]
fn a_declaration_mails_the_studio_contact_and_calls_the_webhooks_with_retries() {
    let Some(smtp) = SmtpSink::start(true) else {
        return;
    };
    let receiver = Receiver::start();
    let dir = Dir::new();
    let server = demo_server(&dir, smtp.port);
    let addr = server.addr();
    register(&addr, ADMIN, &receiver.url("main"), &["*"]);
    register(
        &addr,
        ADMIN,
        &receiver.url("flaky"),
        &["declaration.submitted"],
    );
    let down = register(
        &addr,
        ADMIN,
        &receiver.url("down"),
        &["declaration.submitted"],
    );
    // Not another studio's business: a partner cannot see or add webhooks.
    assert_eq!(get(&addr, "/api/v1/webhooks", PARTNER).status, 403);

    let production = get(&addr, "/api/v1/productions", PARTNER).json()[0]["id"]
        .as_str()
        .expect("the demo production")
        .to_owned();
    let text = "greenlight: declaration/v1\nproduction:\n  title: The Lighthouse Keeper\nuse:\n  ref: LK-700\n  summary: Storm clouds for the finale\n  stage: post-production\n  purpose: vfx\ntools:\n  - name: Free web image generator\n    enterprise_agreement: false\n    data_use: unknown\noutputs:\n  final: false\n";
    let r = request(
        &addr,
        "POST",
        &format!("/api/v1/productions/{production}/declarations"),
        Some(PARTNER),
        &[("Content-Type", "application/yaml")],
        text.as_bytes(),
    )
    .expect("submit answers");
    assert_eq!(r.status, 201, "{}", r.body);
    let declaration = r.json()["id"].as_str().expect("id").to_owned();

    // The webhook: the contract's envelope and data, signed.
    assert!(
        wait_until(Duration::from_secs(20), || receiver
            .got()
            .iter()
            .any(|g| g.hook == "main" && g.body["data"]["use_ref"] == "LK-700")),
        "the main webhook got the submission: {:?}",
        receiver.got()
    );
    let got = receiver.got();
    let main = got
        .iter()
        .find(|g| g.hook == "main" && g.body["data"]["use_ref"] == "LK-700")
        .expect("delivered");
    assert_eq!(main.body["type"], "declaration.submitted");
    assert_eq!(main.body["id"], main.id.as_str());
    assert!(main.body["timestamp"].is_string());
    let data = &main.body["data"];
    assert_eq!(data["declaration_id"], declaration.as_str());
    assert_eq!(data["production_id"], production.as_str());
    assert_eq!(data["outcome"], "escalate");
    assert_eq!(
        data["url"],
        format!("http://127.0.0.1:9/declarations/{declaration}")
    );
    // The flaky receiver answered 500 once and got the same event on a retry.
    assert!(
        wait_until(Duration::from_secs(20), || receiver
            .got()
            .iter()
            .any(|g| g.hook == "flaky" && g.id == main.id)),
        "the retry reached the flaky receiver"
    );
    assert_eq!(receiver.bad_signatures(), 0, "every delivery was signed");

    // The mail to the studio contact (the demo's reviewer), naming the event.
    let for_event = |m: &crate::smtp::Received| {
        m.rcpt_tos
            .iter()
            .any(|t| t == "reviewer@northlight.example")
            && m.header_all("X-Greenlight-Event").first() == Some(&main.id.as_str())
    };
    assert!(
        wait_until(Duration::from_secs(20), || smtp
            .received()
            .iter()
            .any(for_event)),
        "the contact got mail about the submission"
    );
    let mails = smtp.received();
    let mail = mails
        .iter()
        .find(|m| for_event(m))
        .expect("the contact's mail");
    assert!(mail.header("Message-ID").contains(&main.id));
    assert!(mail.header("List-Unsubscribe").contains("/unsubscribe/"));
    let plain = mail.part("text/plain");
    assert!(
        plain.contains("LK-700") && plain.contains("escalated"),
        "{plain}"
    );
    assert!(
        mail.part("text/html")
            .contains(&format!("/declarations/{declaration}"))
    );

    // The receiver that always fails ends dead, with the last error; an admin retries it.
    let down_id = down["id"].as_str().expect("id").to_owned();
    assert!(
        wait_until(Duration::from_secs(20), || {
            get(
                &addr,
                &format!("/api/v1/webhooks/{down_id}/deliveries?state=dead"),
                ADMIN,
            )
            .json()["total"]
                == 1
        }),
        "the failing receiver's delivery ends dead"
    );
    let dead = get(
        &addr,
        &format!("/api/v1/webhooks/{down_id}/deliveries?state=dead"),
        ADMIN,
    )
    .json();
    let item = &dead["items"][0];
    assert!(item["attempts"].as_i64().unwrap_or(0) >= 2, "{item}");
    assert!(
        item["last_error"].as_str().unwrap_or("").contains("500"),
        "{item}"
    );
    let retried = post_json(
        &addr,
        &format!(
            "/api/v1/deliveries/{}/retry",
            item["id"].as_str().expect("id")
        ),
        ADMIN,
        serde_json::json!({}),
        None,
    );
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(retried.json()["state"], "pending");

    // One click unsubscribes the contact from that kind of mail.
    let link = mail
        .header("List-Unsubscribe")
        .trim_matches(|c| c == '<' || c == '>')
        .to_owned();
    let path = link.trim_start_matches("http://127.0.0.1:9");
    let r = request(
        &addr,
        "POST",
        path,
        None,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"List-Unsubscribe=One-Click",
    )
    .expect("unsubscribe answers");
    assert_eq!(r.status, 200, "{}", r.body);
    // The same link with its signature's last digit changed (to one it is not).
    let last = if path.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &path[..path.len() - 1]);
    let r = request(&addr, "POST", &forged, None, &[], b"").expect("answers");
    assert_eq!(r.status, 404);
    server.stop();
}

/// Posts `n` scan verdicts (each one event) from `threads` threads; returns the scan ids.
fn post_scans(
    addrs: &[String],
    token: &str,
    production: &str,
    n: usize,
    threads: usize,
) -> Vec<String> {
    let per = n.div_ceil(threads);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let addr = addrs[t % addrs.len()].clone();
            let (token, production) = (token.to_owned(), production.to_owned());
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                for i in 0..per {
                    let r = post_json(
                        &addr,
                        &format!("/api/v1/productions/{production}/scans"),
                        &token,
                        serde_json::json!({"verdict": "pass", "summary": {"files": t * per + i}, "findings": []}),
                        None,
                    );
                    assert_eq!(r.status, 201, "{}", r.body);
                    ids.push(r.json()["id"].as_str().expect("id").to_owned());
                }
                ids
            })
        })
        .collect();
    let mut ids: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("a posting thread"))
        .collect();
    ids.truncate(n);
    ids
}

/// The scan ids the webhook received, each with the event id it came under, and how many
/// deliveries arrived in all.
fn scans_received(receiver: &Receiver) -> (HashMap<String, String>, usize) {
    let got = receiver.got();
    let mut by_scan = HashMap::new();
    for g in &got {
        if let Some(scan) = g.body["data"]["scan_id"].as_str() {
            let earlier = by_scan.insert(scan.to_owned(), g.id.clone());
            if let Some(e) = earlier {
                assert_eq!(e, g.id, "a duplicate carries the same event id");
            }
        }
    }
    (by_scan, got.len())
}

#[test]
fn a_crash_while_notifying_loses_no_event() {
    let Some(smtp) = SmtpSink::start(true) else {
        return;
    };
    let receiver = Receiver::start();
    let dir = Dir::new();
    let server = demo_server(&dir, smtp.port);
    let addr = server.addr();
    register(&addr, ADMIN, &receiver.url("main"), &["scan.completed"]);
    let production = get(&addr, "/api/v1/productions", PARTNER).json()[0]["id"]
        .as_str()
        .expect("the demo production")
        .to_owned();
    let scans = post_scans(std::slice::from_ref(&addr), PARTNER, &production, 1000, 4);
    // Killed while deliveries are pending or on their way.
    server.crash();
    let (before, _) = scans_received(&receiver);
    println!(
        "{} of 1000 events had reached the webhook before the crash",
        before.len()
    );
    let server = demo_server(&dir, smtp.port);
    assert!(
        wait_until(Duration::from_secs(120), || scans_received(&receiver)
            .0
            .len()
            == 1000),
        "every event reaches the webhook after the restart: {} of 1000",
        scans_received(&receiver).0.len()
    );
    let (by_scan, deliveries) = scans_received(&receiver);
    for s in &scans {
        assert!(by_scan.contains_key(s), "scan {s} was told");
    }
    println!("{deliveries} webhook deliveries for 1000 events");
    // Every event also reaches the studio contact's mailbox, each mail naming its event.
    assert!(
        wait_until(Duration::from_secs(120), || {
            smtp.received()
                .iter()
                .filter_map(|m| {
                    m.header_all("X-Greenlight-Event")
                        .first()
                        .map(|s| s.to_string())
                })
                .filter(|id| by_scan.values().any(|v| v == id))
                .collect::<HashSet<_>>()
                .len()
                == 1000
        }),
        "every event reaches the SMTP server"
    );
    server.stop();
}

#[test]
fn two_instances_on_one_postgres_database_send_each_event_once() {
    let Some(db) = PgDb::create("notify") else {
        return;
    };
    let receiver = Receiver::start();
    let dir = Dir::new();
    assert_eq!(
        dir.run(&["admin", "keygen", "--out", "audit.key"])
            .status
            .code(),
        Some(0)
    );
    let common = vec![
        "--database-url".to_owned(),
        db.url.clone(),
        "--audit-key".to_owned(),
        "audit.key".to_owned(),
        "--checkpoint-log".to_owned(),
        "checkpoints.jsonl".to_owned(),
    ];
    let mut create = vec![
        "admin",
        "create",
        "--email",
        "admin@studio.example",
        "--org",
        "Studio",
    ];
    create.extend(common.iter().map(String::as_str));
    let out = dir.run(&create);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admin = crate::serve::admin_token(&out);
    let mut args = common.clone();
    args.extend(notify_args(None));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let a = Server::start(&dir, &args);
    let b = Server::start(&dir, &args);
    let (partner, production) = production_with_partner(&a.addr(), &admin);
    register(
        &a.addr(),
        &admin,
        &receiver.url("main"),
        &["scan.completed"],
    );
    post_scans(&[a.addr(), b.addr()], &partner, &production, 1000, 4);
    assert!(
        wait_until(Duration::from_secs(120), || scans_received(&receiver)
            .0
            .len()
            == 1000),
        "every event is delivered: {} of 1000",
        scans_received(&receiver).0.len()
    );
    // Let any duplicate arrive before counting.
    std::thread::sleep(Duration::from_secs(2));
    let (by_scan, deliveries) = scans_received(&receiver);
    assert_eq!(by_scan.len(), 1000);
    assert_eq!(deliveries, 1000, "no event was sent twice");
    a.stop();
    b.stop();
}
