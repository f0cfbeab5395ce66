//! `greenlight scan --server URL` end to end: the real `greenlight serve` on a random port
//! with its SQLite database, an asset registered into that database with `greenlight assets
//! add`, a declaration submitted, revised and decided through the API, and scans whose
//! verdict follows the server's records; then a refused token, a missing one, an unknown
//! production and a server that is not there.

use serde_json::{Value, json};

use crate::scan::picture;
use crate::serve::{Server, admin_token, get, post_json, production_with_partner, request};
use crate::util::Dir;

fn declaration(is_final: bool) -> String {
    format!(
        "greenlight: declaration/v1\nproduction:\n  title: Load Test\nuse:\n  ref: BB-002\n  summary: Generated sky plate\n  purpose: vfx\n\
         tools:\n  - name: Acme Imagine Enterprise\n    enterprise_agreement: true\n    data_use: none\ninputs:\n  - kind: prompt\n\
         outputs:\n  final: {is_final}\n  prominence: incidental\n  media: [image]\n"
    )
}

/// Runs `greenlight scan delivery --server BASE ARGS --format json` with `token` in the
/// environment; returns the exit code, stdout parsed as JSON (null when it is not) and stderr.
fn scan(dir: &Dir, base: &str, token: Option<&str>, args: &[&str]) -> (i32, Value, String) {
    let mut cmd = dir.command();
    cmd.args(["scan", "delivery", "--server", base, "--format", "json"])
        .args(args)
        .env_remove("GREENLIGHT_TOKEN")
        .env_remove("GREENLIGHT_BANKS_URL");
    if let Some(t) = token {
        cmd.env("GREENLIGHT_TOKEN", t);
    }
    let out = cmd.output().expect("the greenlight binary runs");
    (
        out.status.code().expect("exit code"),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn codes(report: &Value) -> Vec<String> {
    report["files"]
        .as_array()
        .expect("files")
        .iter()
        .flat_map(|f| f["findings"].as_array().cloned().unwrap_or_default())
        .filter_map(|x| x["code"].as_str().map(str::to_owned))
        .collect()
}

fn etag(addr: &str, id: &str, token: &str) -> String {
    get(addr, &format!("/api/v1/declarations/{id}"), token)
        .header("etag")
        .expect("an ETag")
        .to_owned()
}

#[test]
fn a_scan_against_a_server_follows_its_decisions() {
    let dir = Dir::new();
    let out = dir.run(&[
        "admin",
        "create",
        "--email",
        "admin@studio.example",
        "--org",
        "Studio",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let admin = admin_token(&out);
    let server = Server::start(&dir, &[]);
    let addr = server.addr();
    let base = server.base.clone();
    let (partner, production) = production_with_partner(&addr, &admin);
    let studio = get(&addr, "/api/v1/me", &admin).json()["memberships"][0]["org_id"]
        .as_str()
        .expect("studio")
        .to_owned();
    let m = post_json(
        &addr,
        &format!("/api/v1/orgs/{studio}/members"),
        &admin,
        json!({"email": "reviewer@studio.example", "roles": ["reviewer"]}),
        None,
    );
    assert_eq!(m.status, 201, "{}", m.body);
    let uid = m.json()["id"].as_str().expect("user id").to_owned();
    let reviewer = post_json(
        &addr,
        &format!("/api/v1/users/{uid}/tokens"),
        &admin,
        json!({"label": "scan"}),
        None,
    )
    .json()["token"]
        .as_str()
        .expect("token")
        .to_owned();

    // The asset goes into the server's own database; the delivery holds the same picture.
    let sky = picture(160, 120, 3);
    dir.write("assets/sky.png", &sky);
    dir.write("delivery/shots/sky.png", &sky);
    let db = format!("sqlite://{}", dir.path().join("greenlight.db").display());
    let out = dir.run(&[
        "assets",
        "add",
        "--database-url",
        &db,
        "--production",
        &production,
        "--use",
        "BB-002",
        "assets/sky.png",
    ]);
    assert!(
        out.status.success(),
        "assets add: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Registered but not declared: nothing on the server says what it is.
    let (code, report, stderr) = scan(&dir, &base, Some(&reviewer), &["--production", &production]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(codes(&report), ["UNAPPROVED-AI"], "{report}");

    // A protected work in the local bank store (the default file here) is checked beside the
    // server's ledger, and the scan says so (two entries: its BLAKE3 and its PDQ).
    let poster = picture(160, 120, 9);
    dir.write("work/poster.png", &poster);
    dir.write("delivery/shots/poster.png", &poster);
    let out = dir.run(&[
        "bank",
        "add",
        "--bank",
        "library",
        "--id",
        "SL-7",
        "--title",
        "The Keeper",
        "work/poster.png",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, report, stderr) = scan(&dir, &base, Some(&reviewer), &["--production", &production]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("also checking 2 reference work entries from the local bank store"),
        "{stderr}"
    );
    assert!(
        codes(&report).contains(&"REFERENCE-MATCH".to_string()),
        "{report}"
    );
    std::fs::remove_file(dir.path().join("delivery/shots/poster.png")).expect("remove");
    assert_eq!(report["summary"]["ledger_entries"], 1, "{report}");

    // Declared temporary. The partner's token sees one production: --production may go.
    let r = request(
        &addr,
        "POST",
        &format!("/api/v1/productions/{production}/declarations"),
        Some(&partner),
        &[("Content-Type", "application/yaml")],
        declaration(false).as_bytes(),
    )
    .expect("POST answers");
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let (code, report, stderr) = scan(&dir, &base, Some(&partner), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(codes(&report), ["TEMP-ASSET"], "{report}");

    // Revised to final use, not yet approved.
    let r = request(
        &addr,
        "POST",
        &format!("/api/v1/declarations/{id}/revisions"),
        Some(&partner),
        &[
            ("Content-Type", "application/yaml"),
            ("If-Match", &etag(&addr, &id, &partner)),
        ],
        declaration(true).as_bytes(),
    )
    .expect("POST answers");
    assert_eq!(r.status, 200, "{}", r.body);
    let (code, report, stderr) = scan(&dir, &base, Some(&reviewer), &["--production", &production]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(codes(&report), ["UNAPPROVED-AI"], "{report}");

    // Approved: the same delivery passes with a note.
    let r = post_json(
        &addr,
        &format!("/api/v1/declarations/{id}/decision"),
        &reviewer,
        json!({"action": "approve", "conditions": ["credit the tool"]}),
        Some(&etag(&addr, &id, &reviewer)),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let (code, report, stderr) = scan(&dir, &base, Some(&reviewer), &["--production", &production]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(codes(&report), ["APPROVED-AI"], "{report}");

    // The approval revoked: it no longer counts.
    let r = post_json(
        &addr,
        &format!("/api/v1/declarations/{id}/decision"),
        &reviewer,
        json!({"action": "revoke", "reason": "the plate was replaced"}),
        Some(&etag(&addr, &id, &reviewer)),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let (code, report, stderr) = scan(&dir, &base, Some(&reviewer), &["--production", &production]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(codes(&report), ["UNAPPROVED-AI"], "{report}");

    // Tokens and productions the server refuses are the caller's to fix: exit 2.
    let (code, _, stderr) = scan(&dir, &base, Some("glt_not-a-real-token"), &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("refused the token"), "{stderr}");
    let (code, _, stderr) = scan(&dir, &base, None, &["--production", &production]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("GREENLIGHT_TOKEN"), "{stderr}");
    let (code, _, stderr) = scan(
        &dir,
        &base,
        Some(&reviewer),
        &["--production", "no-such-production"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no-such-production"), "{stderr}");
    let (code, _, stderr) = scan(&dir, &base, Some(&reviewer), &["--declarations", "decls"]);
    assert_eq!(
        code, 2,
        "--server and --declarations exclude each other: {stderr}"
    );
}

#[test]
fn a_server_that_is_not_there_cannot_be_scanned_against() {
    let dir = Dir::new();
    dir.write("delivery/a.txt", "hello");
    let base = nothing_listening();
    let (code, _, stderr) = scan(&dir, &base, Some("glt_any"), &["--production", "p"]);
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains(&base),
        "the message names the server: {stderr}"
    );
}

/// A bank store named in the environment (for `assets`) does not clash with `--server`; one
/// named on the command line does.
#[test]
fn a_bank_store_in_the_environment_does_not_clash_with_a_server() {
    let dir = Dir::new();
    dir.write("delivery/a.txt", "hello");
    let base = nothing_listening();
    let run = |extra: &[&str]| {
        let out = dir
            .command()
            .args(["scan", "delivery", "--server", &base, "--production", "p"])
            .args(extra)
            .env("GREENLIGHT_TOKEN", "glt_any")
            .env("GREENLIGHT_BANKS_URL", "sqlite://banks.db?mode=rwc")
            .output()
            .expect("the greenlight binary runs");
        (
            out.status.code().expect("exit code"),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&[]);
    assert_eq!(code, 4, "the server is tried (and is not there): {stderr}");
    let (code, stderr) = run(&["--database-url", "sqlite://banks.db?mode=rwc"]);
    assert_eq!(code, 2, "both on the command line: {stderr}");
}

/// A loopback port that was free a moment ago, with nothing listening on it, as a `--server`
/// URL.
fn nothing_listening() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    format!("http://127.0.0.1:{port}")
}

/// Plain http would carry the token across the network unencrypted: refused before any
/// connection (`.invalid` never resolves, so a lookup would end in exit 4, not 2).
#[test]
fn plain_http_to_another_machine_is_refused() {
    let dir = Dir::new();
    dir.write("delivery/a.txt", "hello");
    for base in ["http://example.invalid", "http://10.0.0.1:8080"] {
        let (code, _, stderr) = scan(&dir, base, Some("glt_any"), &["--production", "p"]);
        assert_eq!(code, 2, "{base}: {stderr}");
        assert!(
            stderr.contains("unencrypted") && stderr.contains("https://"),
            "{base}: {stderr}"
        );
    }
    // Loopback stays allowed: the server is tried (and is not there).
    let base = nothing_listening().replace("127.0.0.1", "localhost");
    let (code, _, stderr) = scan(&dir, &base, Some("glt_any"), &["--production", "p"]);
    assert_eq!(code, 4, "{stderr}");
}

/// A token the request could not carry is the caller's to fix, named by its variable; it
/// used to read as "cannot reach the server" (exit 4).
#[test]
fn a_token_with_unprintable_characters_is_a_usage_error() {
    let dir = Dir::new();
    dir.write("delivery/a.txt", "hello");
    let base = nothing_listening();
    for token in ["glt_ab\ncd", "glt_ab\u{7}cd", "glt_ab cd", "glt_abcé"] {
        let (code, _, stderr) = scan(&dir, &base, Some(token), &["--production", "p"]);
        assert_eq!(code, 2, "{token:?}: {stderr}");
        assert!(stderr.contains("GREENLIGHT_TOKEN"), "{token:?}: {stderr}");
        assert!(!stderr.contains("cannot reach"), "{token:?}: {stderr}");
    }
}

/// A redirect is reported with the URL to use, and not followed: following it would send
/// the token to a URL the caller did not name.
#[test]
fn a_redirecting_server_is_named_and_not_followed() {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = requests.clone();
    let target = format!("{base}/moved");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            seen.lock()
                .expect("lock")
                .push(request_line.trim().to_owned());
            let _ = write!(
                stream,
                "HTTP/1.1 308 Permanent Redirect\r\nLocation: {target}/api/v1/productions\r\n\
                 Content-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    let dir = Dir::new();
    dir.write("delivery/a.txt", "hello");
    let (code, _, stderr) = scan(&dir, &base, Some("glt_any"), &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("redirects to {base}/moved: use that URL")),
        "{stderr}"
    );
    assert_eq!(
        *requests.lock().expect("lock"),
        ["GET /api/v1/productions HTTP/1.1"],
        "one request, the redirect not followed"
    );
}

/// The server's ledger carries audio fingerprints: a sound registered into the server's
/// database (ledger and reference bank) is found in a delivered mix by `scan --server`.
#[test]
fn a_scan_against_a_server_matches_sound() {
    use crate::audio::{ffmpeg, have, synth, tune};
    if !have("ffmpeg") {
        return;
    }
    let dir = Dir::new();
    let out = dir.run(&[
        "admin",
        "create",
        "--email",
        "admin@studio.example",
        "--org",
        "Studio",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let admin = admin_token(&out);
    let server = Server::start(&dir, &[]);
    let addr = server.addr();
    let base = server.base.clone();
    let (_, production) = production_with_partner(&addr, &admin);

    for d in ["assets", "work", "delivery"] {
        std::fs::create_dir_all(dir.path().join(d)).expect("mkdir");
    }
    synth(&dir, "assets/voice.wav", &tune(3), 10, &[]);
    synth(&dir, "work/theme.wav", &tune(6), 10, &[]);
    synth(&dir, "bed.wav", &tune(8), 8, &[]);
    ffmpeg(
        &dir,
        &[
            "-i",
            "bed.wav",
            "-i",
            "assets/voice.wav",
            "-i",
            "work/theme.wav",
            "-filter_complex",
            "[0:a][1:a][2:a]concat=n=3:v=0:a=1[m]",
            "-map",
            "[m]",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "delivery/mix.m4a",
        ],
    );
    let db = format!("sqlite://{}", dir.path().join("greenlight.db").display());
    for args in [
        vec![
            "assets",
            "add",
            "--database-url",
            &db,
            "--production",
            &production,
            "--use",
            "BB-002",
            "assets/voice.wav",
        ],
        vec![
            "bank",
            "add",
            "--database-url",
            &db,
            "--bank",
            "library",
            "--id",
            "SL-9",
            "--title",
            "Theme",
            "work/theme.wav",
        ],
    ] {
        let out = dir.run(&args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let ledger = get(
        &addr,
        &format!("/api/v1/productions/{production}/ledger"),
        &admin,
    )
    .json();
    assert!(
        ledger["ledger"][0]["audio"]["chromaprint"]
            .as_array()
            .is_some_and(|a| a.len() > 50),
        "the ledger carries the fingerprint: {}",
        ledger["ledger"][0]
    );
    assert_eq!(ledger["audio_references"][0]["work_id"], "SL-9");

    let (code, report, stderr) = scan(&dir, &base, Some(&admin), &["--production", &production]);
    assert_eq!(code, 1, "{stderr}");
    let findings = report["files"][0]["findings"].as_array().expect("findings");
    let mut seen: Vec<(String, Value, Value)> = findings
        .iter()
        .map(|x| {
            (
                x["code"].as_str().unwrap_or_default().to_owned(),
                x["match"]["medium"].clone(),
                x["match"]["time_ranges"].clone(),
            )
        })
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(seen.len(), 2, "{report}");
    assert_eq!(
        (seen[0].0.as_str(), &seen[0].1),
        ("REFERENCE-MATCH", &json!("audio"))
    );
    assert_eq!(
        (seen[1].0.as_str(), &seen[1].1),
        ("UNAPPROVED-AI", &json!("audio"))
    );
    let start = |v: &Value| v[0][0].as_u64().expect("start");
    assert!((17..=19).contains(&start(&seen[0].2)), "{report}");
    assert!((7..=9).contains(&start(&seen[1].2)), "{report}");
}
