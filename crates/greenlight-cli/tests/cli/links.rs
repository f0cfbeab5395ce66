//! Mailed links end to end: the real `greenlight serve` (demo data, SQLite) with a real SMTP
//! server (Python's aiosmtpd). An admin invites a new address, the mail arrives, its link
//! sets a password and signs the person in, once. An existing person's invitation link asks
//! them to sign in as themselves and is refused to anyone else. "Forgot password" answers
//! the same for a known and an unknown address, mails only the known one, and its link works
//! once, not after it expired, and signs the person out everywhere else.

use std::time::{Duration, Instant};

use crate::serve::{Response, Server, get, post_json, request};
use crate::smtp::{Received, SmtpSink};
use crate::util::Dir;

const ADMIN: &str = "glt_demo_admin_0000000000000000000000000000000";
const DEMO_PASSWORD: &str = "lighthouse-demo-2026";
const PUBLIC: &str = "http://127.0.0.1:9";
const NEW_PASSWORD: &str = "a brand new password";

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// GET with the given `Cookie` header (may be empty).
fn page(addr: &str, path: &str, cookies: &str) -> Response {
    let headers: Vec<(&str, &str)> = if cookies.is_empty() {
        vec![]
    } else {
        vec![("Cookie", cookies)]
    };
    request(addr, "GET", path, None, &headers, b"").expect("GET answers")
}

/// POST a URL-encoded form with the given `Cookie` header.
fn form(addr: &str, path: &str, cookies: &str, pairs: &[(&str, &str)]) -> Response {
    let body = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if !cookies.is_empty() {
        headers.push(("Cookie", cookies));
    }
    request(addr, "POST", path, None, &headers, body.as_bytes()).expect("POST answers")
}

/// The value of cookie `name` that a response sets.
fn cookie(r: &Response, name: &str) -> Option<String> {
    r.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, v)| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}

/// The first CSRF token of a page's forms.
fn csrf(body: &str) -> String {
    let at = body
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("a form with a CSRF token: {body}"));
    let rest = &body[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').expect("the token ends")].to_owned()
}

/// Signs in with the sign-in form; the `Cookie` header of the session.
fn sign_in(addr: &str, email: &str, password: &str) -> String {
    let r = page(addr, "/signin", "");
    let pre = cookie(&r, "gl_pre").expect("the pre-session cookie");
    let token = csrf(&r.body);
    let r = form(
        addr,
        "/signin",
        &format!("gl_pre={pre}"),
        &[
            ("csrf", &token),
            ("email", email),
            ("password", password),
            ("next", "/"),
        ],
    );
    assert_eq!(r.status, 303, "{email} signs in: {}", r.body);
    format!(
        "gl_session={}",
        cookie(&r, "gl_session").expect("a session cookie")
    )
}

/// Whether the session in `cookies` is signed in (a page for members answers, rather than
/// sending to the sign-in page).
fn signed_in(addr: &str, cookies: &str) -> bool {
    let r = page(addr, "/invitations", cookies);
    match r.status {
        200 => true,
        303 => {
            assert!(
                r.header("location").unwrap_or("").starts_with("/signin"),
                "{:?}",
                r.headers
            );
            false
        }
        other => panic!("/invitations answered {other}: {}", r.body),
    }
}

/// Whether a mail to `to` carries a link of `kind` (`/join/`, `/reset/`); the demo's
/// notifications go to some of the same people.
fn is_link_mail(m: &Received, to: &str, kind: &str) -> bool {
    m.rcpt_tos.iter().any(|t| t == to)
        && m.parts.iter().any(|p| {
            p.content_type == "text/plain" && p.content.contains(&format!("{PUBLIC}{kind}"))
        })
}

/// Waits up to 20 s for the `n`th mail (counting from 1) to `to` with a link of `kind`.
fn mail_to(smtp: &SmtpSink, to: &str, kind: &str, n: usize) -> Received {
    let start = Instant::now();
    loop {
        let mut mails: Vec<Received> = smtp
            .received()
            .into_iter()
            .filter(|m| is_link_mail(m, to, kind))
            .collect();
        if mails.len() >= n {
            return mails.swap_remove(n - 1);
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no mail #{n} to {to} arrived"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn mails_to(smtp: &SmtpSink, to: &str) -> usize {
    smtp.received()
        .iter()
        .filter(|m| m.rcpt_tos.iter().any(|t| t == to))
        .count()
}

/// The path of the link (`/join/…` or `/reset/…`) in a mail's plain-text part; checks that
/// the HTML part carries the same link.
fn link_path(mail: &Received, kind: &str) -> String {
    let plain = mail.part("text/plain");
    let start = plain
        .find(&format!("{PUBLIC}{kind}"))
        .unwrap_or_else(|| panic!("a {kind} link in: {plain}"));
    let url: String = plain[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert!(
        mail.part("text/html").contains(&format!("href=\"{url}\"")),
        "the HTML part links to {url}"
    );
    let path = url.trim_start_matches(PUBLIC).to_owned();
    assert_eq!(path.len(), kind.len() + 43, "a 256-bit secret: {path}");
    path
}

fn studio_id(addr: &str) -> String {
    let me = get(addr, "/api/v1/me", ADMIN).json();
    me["memberships"][0]["org_id"]
        .as_str()
        .expect("the admin's studio")
        .to_owned()
}

/// Changes the test's SQLite database behind the server's back (Python's sqlite3).
fn sql(dir: &Dir, statement: &str) {
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=30); c.execute(sys.argv[2]); c.commit()")
        .arg(dir.path().join("gl.db"))
        .arg(statement)
        .status()
        .expect("python3 runs");
    assert!(status.success(), "{statement}");
}

fn serve_with(dir: &Dir, smtp: Option<u16>) -> Server {
    let mut args: Vec<String> = [
        "--demo",
        "--database-url",
        "sqlite://gl.db",
        "--public-url",
        PUBLIC,
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
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start(dir, &args)
}

/// Sets a password through a link's form: the form page, then the post.
fn set_password(addr: &str, path: &str, password: &str, confirm: &str) -> Response {
    let r = page(addr, path, "");
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    let pre = cookie(&r, "gl_pre").expect("the pre-session cookie");
    form(
        addr,
        path,
        &format!("gl_pre={pre}"),
        &[
            ("csrf", &csrf(&r.body)),
            ("password", password),
            ("confirm", confirm),
        ],
    )
}

#[test]
fn invitation_links_set_up_an_account_once_and_open_an_invitation_only_for_its_person() {
    let Some(smtp) = SmtpSink::start(true) else {
        return;
    };
    let dir = Dir::new();
    let server = serve_with(&dir, Some(smtp.port));
    let addr = server.addr();
    let studio = studio_id(&addr);

    // A new address, without a password: added at once and mailed a link.
    let r = post_json(
        &addr,
        &format!("/api/v1/orgs/{studio}/members"),
        ADMIN,
        serde_json::json!({"email": "newcomer@northlight.example", "name": "Nia Newcomer", "roles": ["reviewer"]}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let added = r.json();
    assert_eq!(added["link"]["mailed"], true, "{added}");
    assert!(
        added["link"].get("url").is_none(),
        "a mailed link is not shown: {added}"
    );
    let mail = mail_to(&smtp, "newcomer@northlight.example", "/join/", 1);
    let subject = mail.header("Subject");
    assert!(
        subject.contains("Greenlight") && subject.contains("Northlight Studios"),
        "{subject}"
    );
    let plain = mail.part("text/plain");
    assert!(plain.contains("until "), "says when it expires: {plain}");
    assert!(plain.contains("ignore"), "says it may be ignored: {plain}");
    assert!(
        mail.header_all("List-Unsubscribe").is_empty(),
        "a link's mail is not a notification"
    );
    let join = link_path(&mail, "/join/");

    // The form; two different passwords and a short one are refused, and lose nothing.
    let r = page(&addr, &join, "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Join Northlight Studios"), "{}", r.body);
    assert!(
        !r.body.contains("/sso/start"),
        "no single sign-on offered where the studio has none"
    );
    let r = set_password(&addr, &join, NEW_PASSWORD, "another password!");
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("differ"), "{}", r.body);
    let r = set_password(&addr, &join, "short", "short");
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("password: must be 12 to 1024"),
        "{}",
        r.body
    );
    // The right one: signed in at once.
    let r = set_password(&addr, &join, NEW_PASSWORD, NEW_PASSWORD);
    assert_eq!(r.status, 303, "{}", r.body);
    let session = format!(
        "gl_session={}",
        cookie(&r, "gl_session").expect("signed in")
    );
    assert!(signed_in(&addr, &session), "the new session works");
    let home = page(&addr, "/", &session);
    assert!(
        !home.header("location").unwrap_or("").starts_with("/signin"),
        "/ does not ask to sign in: {:?}",
        home.headers
    );
    sign_in(&addr, "newcomer@northlight.example", NEW_PASSWORD);
    // Once only.
    let again = page(&addr, &join, "");
    assert_eq!(again.status, 410, "{}", again.body);
    assert!(again.body.contains("already used"), "{}", again.body);
    let pre = cookie(&again, "gl_pre").unwrap_or_default();
    let r = form(
        &addr,
        &join,
        &format!("gl_pre={pre}"),
        &[("csrf", ""), ("password", "x"), ("confirm", "x")],
    );
    assert!(r.status == 410 || r.status == 403, "{}", r.status);

    // An existing person: invited, the mail's link asks them to sign in as themselves.
    let r = post_json(
        &addr,
        &format!("/api/v1/orgs/{studio}/members"),
        ADMIN,
        serde_json::json!({"email": "reviewer@northlight.example", "roles": ["auditor"]}),
        None,
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let invitation = r.json();
    assert_eq!(invitation["link"]["mailed"], true, "{invitation}");
    let invitation_id = invitation["id"].as_str().expect("id").to_owned();
    let mail = mail_to(&smtp, "reviewer@northlight.example", "/join/", 1);
    assert!(mail.header("Subject").contains("Northlight Studios"));
    let join = link_path(&mail, "/join/");
    let r = page(&addr, &join, "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains(&format!("/signin?next={join}")),
        "{}",
        r.body
    );
    assert!(r.body.contains("Auditor") && r.body.contains("Northlight Studios"));
    assert!(
        !r.body.contains("reviewer@northlight.example") && !r.body.contains("admin@"),
        "nothing but the organisation and the roles: {}",
        r.body
    );
    // Signed in as someone else: refused, and they cannot accept it either.
    let legal = sign_in(&addr, "legal@northlight.example", DEMO_PASSWORD);
    let r = page(&addr, &join, &legal);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("another account"), "{}", r.body);
    let legal_csrf = csrf(&page(&addr, "/invitations", &legal).body);
    let r = form(
        &addr,
        &format!("/invitations/{invitation_id}/accept"),
        &legal,
        &[("csrf", &legal_csrf)],
    );
    assert_eq!(r.status, 404, "{}", r.body);
    // Signed in as themselves: accept.
    let reviewer = sign_in(&addr, "reviewer@northlight.example", DEMO_PASSWORD);
    let r = page(&addr, &join, &reviewer);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains(&format!("/invitations/{invitation_id}/accept"))
    );
    let r = form(
        &addr,
        &format!("/invitations/{invitation_id}/accept"),
        &reviewer,
        &[("csrf", &csrf(&r.body))],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let me = request(
        &addr,
        "GET",
        "/api/v1/me",
        Some("glt_demo_reviewer_000000000000000000000000000"),
        &[],
        b"",
    )
    .expect("answers")
    .json();
    assert!(
        me["memberships"]
            .as_array()
            .expect("memberships")
            .iter()
            .any(|m| m["role"] == "auditor"),
        "{me}"
    );
    assert_eq!(page(&addr, &join, &reviewer).status, 410);
    // A link never issued.
    assert_eq!(
        page(
            &addr,
            "/join/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            ""
        )
        .status,
        404
    );
    server.stop();

    // Without SMTP the admin is told so and shown the link once.
    let dir = Dir::new();
    let server = serve_with(&dir, None);
    let addr = server.addr();
    let studio = studio_id(&addr);
    let r = post_json(
        &addr,
        &format!("/api/v1/orgs/{studio}/members"),
        ADMIN,
        serde_json::json!({"email": "nomail@northlight.example", "roles": ["legal"]}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let link = &r.json()["link"];
    assert_eq!(link["mailed"], false, "{link}");
    assert!(
        link["reason"]
            .as_str()
            .unwrap_or("")
            .contains("mail is not configured"),
        "{link}"
    );
    let url = link["url"].as_str().expect("the link, once");
    assert!(url.starts_with(&format!("{PUBLIC}/join/")), "{url}");
    assert_eq!(page(&addr, url.trim_start_matches(PUBLIC), "").status, 200);
    server.stop();
}

#[test]
fn forgot_password_answers_the_same_for_anyone_and_its_link_works_once_within_the_hour() {
    let Some(smtp) = SmtpSink::start(true) else {
        return;
    };
    let dir = Dir::new();
    let server = serve_with(&dir, Some(smtp.port));
    let addr = server.addr();
    const KNOWN: &str = "auditor@northlight.example";
    const UNKNOWN: &str = "nobody@northlight.example";

    // The sign-in page offers it.
    assert!(page(&addr, "/signin", "").body.contains("href=\"/forgot\""));
    let old_session = sign_in(&addr, KNOWN, DEMO_PASSWORD);

    let ask = |email: &str| -> Response {
        let r = page(&addr, "/forgot", "");
        assert_eq!(r.status, 200);
        let pre = cookie(&r, "gl_pre").expect("the pre-session cookie");
        form(
            &addr,
            "/forgot",
            &format!("gl_pre={pre}"),
            &[("csrf", &csrf(&r.body)), ("email", email)],
        )
    };
    let known = ask(KNOWN);
    let unknown = ask(UNKNOWN);
    assert_eq!(known.status, 200, "{}", known.body);
    assert_eq!(known.status, unknown.status);
    assert!(
        known
            .body
            .contains("If an account exists for that address, a link to choose a new password is on its way; it works for one hour."),
        "{}",
        known.body
    );
    assert_eq!(known.body, unknown.body, "the same page, word for word");
    // Bad input is named and keeps what was typed.
    let r = ask("not-an-address");
    assert_eq!(r.status, 422);
    assert!(r.body.contains("not an email address") && r.body.contains("value=\"not-an-address\""));

    let mail = mail_to(&smtp, KNOWN, "/reset/", 1);
    let subject = mail.header("Subject");
    assert!(
        subject.contains("Greenlight") && subject.contains("Northlight Studios"),
        "{subject}"
    );
    assert!(mail.part("text/plain").contains("ignore"));
    let reset = link_path(&mail, "/reset/");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        mails_to(&smtp, UNKNOWN),
        0,
        "no mail for an unknown address"
    );

    // The link: a new password, signed in, every older session signed out.
    assert!(signed_in(&addr, &old_session));
    let r = set_password(&addr, &reset, NEW_PASSWORD, NEW_PASSWORD);
    assert_eq!(r.status, 303, "{}", r.body);
    let session = format!(
        "gl_session={}",
        cookie(&r, "gl_session").expect("signed in")
    );
    assert!(signed_in(&addr, &session));
    assert!(
        !signed_in(&addr, &old_session),
        "the reset signed the old session out"
    );
    sign_in(&addr, KNOWN, NEW_PASSWORD);
    // Once only.
    let r = page(&addr, &reset, "");
    assert_eq!(r.status, 410, "{}", r.body);
    assert!(r.body.contains("already used"));

    // An expired link is refused.
    assert_eq!(ask(KNOWN).status, 200);
    let mail = mail_to(&smtp, KNOWN, "/reset/", 2);
    let expired = link_path(&mail, "/reset/");
    sql(
        &dir,
        "UPDATE one_time_links SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE used_at IS NULL",
    );
    let r = page(&addr, &expired, "");
    assert_eq!(r.status, 410, "{}", r.body);
    assert!(r.body.contains("expired"), "{}", r.body);

    // Limited per address: a fourth request within the hour is refused, known or not.
    assert_eq!(ask(KNOWN).status, 200);
    let r = ask(KNOWN);
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("Try again in"), "{}", r.body);

    // The API: 202 whatever the address; bad input names the field.
    let api = |body: serde_json::Value| {
        request(
            &addr,
            "POST",
            "/api/v1/password-reset",
            None,
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
        .expect("answers")
    };
    assert_eq!(
        api(serde_json::json!({"email": "someone@else.example"})).status,
        202
    );
    assert_eq!(
        api(serde_json::json!({"email": "legal@northlight.example"})).status,
        202
    );
    let bad = api(serde_json::json!({"email": "nope"}));
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(bad.json()["errors"][0]["path"], "email", "{}", bad.body);
    let mail = mail_to(&smtp, "legal@northlight.example", "/reset/", 1);
    link_path(&mail, "/reset/");
    server.stop();
}
