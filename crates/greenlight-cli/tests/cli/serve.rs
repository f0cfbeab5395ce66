//! `greenlight serve` end to end: the real binary on a random port, real HTTP, a real
//! SQLite file (and a real PostgreSQL database when `GREENLIGHT_TEST_POSTGRES_URL` is set).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::Dir;

/// A running `greenlight serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub stdout: String,
}

impl Server {
    /// Starts `greenlight serve ARGS --bind 127.0.0.1:0` in `dir` and waits for the address.
    pub fn start(dir: &Dir, args: &[&str]) -> Server {
        let mut cmd = dir.command();
        cmd.arg("serve")
            .args(args)
            .args(["--bind", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        Self::spawn(cmd)
    }

    // The child is waited for by `Server`'s `Drop` (or `stop`/`crash`), which clippy cannot see.
    #[allow(clippy::zombie_processes)]
    pub fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd.spawn().expect("greenlight serve starts");
        let mut reader = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut stdout = String::new();
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).expect("stdout readable") == 0 {
                let _ = child.kill();
                let _ = child.wait();
                panic!("greenlight serve exited before listening; stdout: {stdout}");
            }
            stdout.push_str(&line);
            if let Some(rest) = line.trim().strip_prefix("Greenlight listening on ") {
                let base = rest.to_owned();
                // Keep draining stdout so the server never blocks on a full pipe.
                std::thread::spawn(move || {
                    let mut sink = String::new();
                    let _ = reader.read_to_string(&mut sink);
                });
                return Server {
                    child,
                    base,
                    stdout,
                };
            }
        }
    }

    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let status = self.child.wait().expect("the server exits");
        std::mem::forget(self);
        status
    }

    /// SIGKILL: a crash.
    pub fn crash(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::forget(self);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// One HTTP/1.1 request on a fresh connection (a tiny client: enough for tests).
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(p) = rest.windows(2).position(|w| w == b"\r\n") {
            let n =
                usize::from_str_radix(String::from_utf8_lossy(&rest[..p]).trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[p + 2..p + 2 + n]);
            rest = &rest[p + 2 + n + 2..];
        }
        body = out;
    }
    Ok(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

pub fn get(addr: &str, path: &str, token: &str) -> Response {
    request(addr, "GET", path, Some(token), &[], b"").expect("GET answers")
}

pub fn post_json(
    addr: &str,
    path: &str,
    token: &str,
    body: serde_json::Value,
    if_match: Option<&str>,
) -> Response {
    let mut h = vec![("Content-Type", "application/json")];
    if let Some(m) = if_match {
        h.push(("If-Match", m));
    }
    request(
        addr,
        "POST",
        path,
        Some(token),
        &h,
        body.to_string().as_bytes(),
    )
    .expect("POST answers")
}

const REVIEWER: &str = "glt_demo_reviewer_000000000000000000000000000";

/// The declaration the load tests submit, with a unique reference.
pub fn declaration(reference: &str) -> String {
    format!(
        "greenlight: declaration/v1\nproduction:\n  title: Load Test\nuse:\n  ref: {reference}\n  summary: Storyboard ideas\n  purpose: ideation\ntools:\n  - name: Acme Imagine Enterprise\n    enterprise_agreement: true\n    data_use: none\ninputs:\n  - kind: prompt\noutputs:\n  final: false\n"
    )
}

#[test]
fn serve_demo_seeds_every_outcome_once_and_survives_a_restart() {
    let dir = Dir::new();
    let server = Server::start(&dir, &["--demo"]);
    assert!(
        server.stdout.contains("reviewer@northlight.example"),
        "{}",
        server.stdout
    );
    let addr = server.addr();
    assert_eq!(
        request(&addr, "GET", "/readyz", None, &[], b"")
            .expect("readyz")
            .status,
        200
    );
    let list = get(&addr, "/api/v1/declarations", REVIEWER).json();
    assert_eq!(list["total"], 6, "{list}");
    let outcomes: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|d| d["outcome"].as_str())
        .collect();
    for o in ["notify", "review", "escalate", "written_approval"] {
        assert!(outcomes.contains(&o), "demo covers {o}: {outcomes:?}");
    }
    assert!(server.stop().success(), "SIGTERM stops the server cleanly");
    assert!(
        dir.path().join("greenlight.audit.key").exists(),
        "the key was created beside the database"
    );

    let again = Server::start(&dir, &["--demo"]);
    assert_eq!(
        get(&again.addr(), "/api/v1/declarations", REVIEWER).json()["total"],
        6,
        "seeding twice changes nothing"
    );
    drop(again);
    let out = dir.run(&["audit", "verify"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn serve_demo_refuses_a_non_loopback_address() {
    let dir = Dir::new();
    let out = dir.run(&["serve", "--demo", "--bind", "0.0.0.0:0"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}

#[test]
fn serve_refuses_postgres_without_a_key() {
    let dir = Dir::new();
    let out = dir.run(&[
        "serve",
        "--database-url",
        "postgres://postgres@127.0.0.1:1/none",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--audit-key"));
}

/// Sets up (through the API) a production and a partner; returns (partner token, production id).
pub fn production_with_partner(addr: &str, admin: &str) -> (String, String) {
    let me = get(addr, "/api/v1/me", admin).json();
    let studio = me["memberships"][0]["org_id"]
        .as_str()
        .expect("studio")
        .to_owned();
    let p = post_json(
        addr,
        "/api/v1/productions",
        admin,
        serde_json::json!({"title": "Load Test", "kind": "scripted", "eu_release": false}),
        None,
    );
    assert_eq!(p.status, 201, "{}", p.body);
    let production = p.json()["id"].as_str().expect("id").to_owned();
    let m = post_json(
        addr,
        &format!("/api/v1/orgs/{studio}/members"),
        admin,
        serde_json::json!({"email": "partner@studio.example", "roles": ["partner"]}),
        None,
    );
    assert_eq!(m.status, 201, "{}", m.body);
    let uid = m.json()["id"].as_str().expect("user id").to_owned();
    let t = post_json(
        addr,
        &format!("/api/v1/users/{uid}/tokens"),
        admin,
        serde_json::json!({"label": "load"}),
        None,
    );
    assert_eq!(t.status, 201, "{}", t.body);
    (
        t.json()["token"].as_str().expect("token").to_owned(),
        production,
    )
}

/// The API token `greenlight admin create` prints.
pub fn admin_token(out: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with("glt_"))
        .expect("a token line")
        .trim()
        .to_owned()
}

#[test]
fn admin_create_prints_a_token_that_signs_in() {
    let dir = Dir::new();
    let out = dir.run(&[
        "admin",
        "create",
        "--email",
        "admin@studio.example",
        "--org",
        "Studio",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = admin_token(&out);
    let again = dir.run(&[
        "admin",
        "create",
        "--email",
        "x@studio.example",
        "--org",
        "Studio",
    ]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "the same studio twice is a usage error"
    );
    let server = Server::start(&dir, &[]);
    let me = get(&server.addr(), "/api/v1/me", &token);
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["user"]["email"], "admin@studio.example");
}

/// Before, `--database-url sqlite:///path/gl.db` (no `mode=rwc`) failed with "(code: 14)
/// unable to open database file" instead of creating the database, as the default URL does.
#[test]
fn commands_that_write_create_a_sqlite_file_named_by_any_url() {
    let dir = Dir::new();
    let db = dir.path().join("data/new/gl.db");
    let url = format!("sqlite://{}", db.display());
    let out = dir.run(&[
        "admin",
        "create",
        "--email",
        "admin@studio.example",
        "--org",
        "Studio",
        "--database-url",
        &url,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(db.is_file(), "admin create made {}", db.display());
    let token = admin_token(&out);
    let other = dir.path().join("served/gl.db");
    let server = Server::start(
        &dir,
        &["--database-url", &format!("sqlite://{}", other.display())],
    );
    assert!(other.is_file(), "serve made {}", other.display());
    drop(server);
    let server = Server::start(&dir, &["--database-url", &url]);
    assert_eq!(get(&server.addr(), "/api/v1/me", &token).status, 200);
}

#[test]
fn admin_keygen_writes_an_owner_only_key_and_never_overwrites() {
    let dir = Dir::new();
    let out = dir.run(&["admin", "keygen", "--out", "audit.key"]);
    assert_eq!(out.status.code(), Some(0));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("audit.key"))
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(
        dir.run(&["admin", "keygen", "--out", "audit.key"])
            .status
            .code(),
        Some(2)
    );
}

/// SIGKILL during a write load: after a restart every acknowledged write is there and the
/// audit chain verifies.
#[test]
fn a_crash_loses_no_acknowledged_write() {
    let dir = Dir::new();
    let out = dir.run(&[
        "admin",
        "create",
        "--email",
        "admin@studio.example",
        "--org",
        "Studio",
    ]);
    let admin = admin_token(&out);
    let server = Server::start(&dir, &[]);
    let addr = server.addr();
    let (partner, production) = production_with_partner(&addr, &admin);
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut workers = Vec::new();
    for w in 0..8 {
        let (addr, partner, production, acked) = (
            addr.clone(),
            partner.clone(),
            production.clone(),
            acked.clone(),
        );
        workers.push(std::thread::spawn(move || {
            for i in 0.. {
                let reference = format!("CRASH-{w}-{i}");
                let path = format!("/api/v1/productions/{production}/declarations");
                match request(
                    &addr,
                    "POST",
                    &path,
                    Some(&partner),
                    &[("Content-Type", "application/yaml")],
                    declaration(&reference).as_bytes(),
                ) {
                    Ok(r) if r.status == 201 => acked.lock().expect("lock").push(reference),
                    Ok(_) | Err(_) => return,
                }
            }
        }));
    }
    // Let the load run until a good number of writes were acknowledged, then crash.
    while acked.lock().expect("lock").len() < 150 {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.crash();
    for w in workers {
        let _ = w.join();
    }
    let acked = acked.lock().expect("lock").clone();
    let server = Server::start(&dir, &[]);
    let mut stored = Vec::new();
    let mut offset = 0;
    loop {
        let page = get(
            &server.addr(),
            &format!("/api/v1/declarations?limit=500&offset={offset}"),
            &admin,
        )
        .json();
        let items = page["items"].as_array().expect("items").clone();
        stored.extend(
            items
                .iter()
                .filter_map(|d| d["reference"].as_str().map(str::to_owned)),
        );
        if items.len() < 500 {
            break;
        }
        offset += 500;
    }
    let missing: Vec<&String> = acked.iter().filter(|r| !stored.contains(r)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged writes lost after the crash: {missing:?}",
        missing.len()
    );
    drop(server);
    let out = dir.run(&["audit", "verify"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A PostgreSQL database of its own (see `greenlight-test-db`), dropped with this value.
pub struct PgDb {
    pub url: String,
    db: Option<greenlight_test_db::FreshPostgres>,
}

impl PgDb {
    pub fn create(label: &str) -> Option<PgDb> {
        let db = greenlight_test_db::FreshPostgres::create_blocking(
            &format!("cli_{label}"),
            &format!("`{label}`"),
        )?;
        Some(PgDb {
            url: db.url.clone(),
            db: Some(db),
        })
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Some(db) = self.db.take() {
            db.drop_blocking();
        }
    }
}

/// Two instances on one PostgreSQL database write at once: the audit chain stays valid and
/// two reviewers deciding with the same ETag on different instances cannot both win.
#[test]
fn two_servers_on_one_postgres_database_keep_the_chain_and_the_workflow() {
    let Some(db) = PgDb::create("two") else {
        return;
    };
    let dir = Dir::new();
    assert_eq!(
        dir.run(&["admin", "keygen", "--out", "audit.key"])
            .status
            .code(),
        Some(0)
    );
    let common = [
        "--database-url",
        db.url.as_str(),
        "--audit-key",
        "audit.key",
        "--checkpoint-log",
        "checkpoints.jsonl",
    ];
    let mut args = vec![
        "admin",
        "create",
        "--email",
        "admin@studio.example",
        "--org",
        "Studio",
    ];
    args.extend(common);
    let out = dir.run(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admin = admin_token(&out);
    let a = Server::start(&dir, &common);
    let b = Server::start(&dir, &common);
    let (partner, production) = production_with_partner(&a.addr(), &admin);
    // A reviewer, so decisions can race.
    let studio = get(&a.addr(), "/api/v1/me", &admin).json()["memberships"][0]["org_id"]
        .as_str()
        .expect("org")
        .to_owned();
    let m = post_json(
        &a.addr(),
        &format!("/api/v1/orgs/{studio}/members"),
        &admin,
        serde_json::json!({"email": "rev@studio.example", "roles": ["reviewer"]}),
        None,
    );
    let uid = m.json()["id"].as_str().expect("id").to_owned();
    let reviewer = post_json(
        &a.addr(),
        &format!("/api/v1/users/{uid}/tokens"),
        &admin,
        serde_json::json!({}),
        None,
    )
    .json()["token"]
        .as_str()
        .expect("token")
        .to_owned();

    let mut workers = Vec::new();
    for (w, addr) in [a.addr(), b.addr(), a.addr(), b.addr()]
        .into_iter()
        .enumerate()
    {
        let (partner, production) = (partner.clone(), production.clone());
        workers.push(std::thread::spawn(move || {
            let mut ok = 0;
            for i in 0..40 {
                let path = format!("/api/v1/productions/{production}/declarations");
                let r = request(
                    &addr,
                    "POST",
                    &path,
                    Some(&partner),
                    &[("Content-Type", "application/yaml")],
                    declaration(&format!("TWO-{w}-{i}")).as_bytes(),
                )
                .expect("submit");
                assert_eq!(r.status, 201, "{}", r.body);
                ok += 1;
            }
            ok
        }));
    }
    let total: i32 = workers.into_iter().map(|w| w.join().expect("worker")).sum();
    assert_eq!(total, 160);
    assert_eq!(
        get(&b.addr(), "/api/v1/declarations", &admin).json()["total"],
        160
    );

    // Both instances get the same decision with the same ETag, at once.
    let one = get(&a.addr(), "/api/v1/declarations?limit=1", &admin).json()["items"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/api/v1/declarations/{one}");
    let etag = get(&a.addr(), &path, &reviewer)
        .header("etag")
        .expect("etag")
        .to_owned();
    let racers: Vec<_> = [a.addr(), b.addr()]
        .into_iter()
        .map(|addr| {
            let (path, etag, reviewer) =
                (format!("{path}/decision"), etag.clone(), reviewer.clone());
            std::thread::spawn(move || {
                post_json(
                    &addr,
                    &path,
                    &reviewer,
                    serde_json::json!({"action": "request_changes", "reason": "say more"}),
                    Some(&etag),
                )
                .status
            })
        })
        .collect();
    let mut statuses: Vec<u16> = racers
        .into_iter()
        .map(|r| r.join().expect("racer"))
        .collect();
    statuses.sort();
    assert_eq!(
        statuses,
        vec![200, 412],
        "exactly one of two concurrent decisions wins"
    );
    drop(a);
    drop(b);
    let out = dir.run(&[
        "audit",
        "verify",
        "--database-url",
        &db.url,
        "--public-key",
        "audit.key",
        "--checkpoints",
        "checkpoints.jsonl",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// `greenlight policy replay`: a declaration's stored triage on a server, evaluated again with
/// the packs it recorded, gives the same result (exit 0); an unknown declaration is exit 2.
#[test]
fn policy_replay_evaluates_a_stored_triage_again_on_the_server() {
    let dir = Dir::new();
    let server = Server::start(&dir, &["--demo", "--database-url", "sqlite://gl.db"]);
    let addr = server.addr();
    let partner = "glt_demo_partner_0000000000000000000000000000";
    let production = get(&addr, "/api/v1/productions", partner).json()[0]["id"]
        .as_str()
        .expect("the demo production")
        .to_owned();
    let r = request(
        &addr,
        "POST",
        &format!("/api/v1/productions/{production}/declarations"),
        Some(partner),
        &[("Content-Type", "application/yaml")],
        declaration("RP-1").as_bytes(),
    )
    .expect("submit answers");
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let out = dir
        .command()
        .args(["policy", "replay", &id, "--server", &server.base])
        .env("GREENLIGHT_TOKEN", partner)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("same result"), "{stdout}");
    assert!(
        stdout.contains("netflix-genai@") && stdout.contains("sha256:"),
        "{stdout}"
    );
    let out = dir
        .command()
        .args([
            "policy",
            "replay",
            &id,
            "--server",
            &server.base,
            "--format",
            "json",
        ])
        .env("GREENLIGHT_TOKEN", partner)
        .output()
        .expect("runs");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["same"], true);
    let out = dir
        .command()
        .args([
            "policy",
            "replay",
            "no-such-declaration",
            "--server",
            &server.base,
        ])
        .env("GREENLIGHT_TOKEN", partner)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.stop();
}
