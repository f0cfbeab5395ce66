//! The web application driven in a real browser: Debian's Chromium, headless, through
//! chromedriver, against the real server on a random loopback port with a fresh SQLite file.
//! Skips (and says why) when chromium or chromedriver is missing.
//!
//! Screenshots of the key pages go to `target/screenshots/` (or `GREENLIGHT_SCREENSHOTS`).

#[path = "browser/pages.rs"]
mod pages;
#[path = "browser/webdriver.rs"]
mod webdriver;

use std::path::PathBuf;

use greenlight_server::{AppState, ServerConfig, app, demo};
use greenlight_store::input::NewProduction;
use greenlight_store::{
    NewMember, OrgKind, Principal, Production, ProductionFacts, Role, SigningKey, Store,
    StoreConfig,
};
use pages::{screenshots, sign_in, sign_out};
use serde_json::json;
use webdriver::{Browser, Driver};

struct Server {
    base: String,
    store: Store,
    _dir: tempfile::TempDir,
}

async fn start_server() -> Server {
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = dir.path().join("greenlight.db");
    let mut config = StoreConfig::new(format!("sqlite://{}?mode=rwc", db.display()));
    let key = SigningKey::generate();
    let public = key.public_hex();
    config.signing_key = Some(key);
    config.checkpoint_log = Some(dir.path().join("checkpoints.log"));
    let store = Store::open(config).await.expect("the store opens");
    let state = AppState::new(
        store.clone(),
        ServerConfig {
            demo: true,
            audit_public_key: Some(public),
            ..ServerConfig::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move {
        axum::serve(listener, app(state))
            .await
            .expect("the server runs");
    });
    Server {
        base,
        store,
        _dir: dir,
    }
}

async fn principal(store: &Store, email: &str) -> Principal {
    let user = store
        .user_by_email(email)
        .await
        .expect("the store answers")
        .expect("the demo user exists");
    store.principal(&user.id).await.expect("a principal")
}

/// Posts a form from inside the page (with the page's own CSRF token unless `csrf` is
/// false) and returns the HTTP status.
fn post_status(b: &Browser, path: &str, fields: serde_json::Value, csrf: bool) -> u64 {
    b.script_async(
        "const [path, fields, withCsrf, done] = arguments;
         const multipart = fields.__multipart; delete fields.__multipart;
         const body = multipart ? new FormData() : new URLSearchParams();
         for (const [k, v] of Object.entries(fields)) body.set(k, v);
         const token = document.querySelector('input[name=csrf]');
         if (withCsrf && token) body.set('csrf', token.value);
         fetch(path, {method: 'POST', body, redirect: 'manual', credentials: 'same-origin'})
           .then(r => done(r.type === 'opaqueredirect' ? 303 : r.status)).catch(e => done(0));",
        json!([path, fields, csrf]),
    )
    .as_u64()
    .unwrap_or(0)
}

fn page_status_text(b: &Browser, base: &str, path: &str) -> String {
    b.goto(&format!("{base}{path}"));
    b.body()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_journey_in_a_browser() {
    let (chrome, driver) = match webdriver::binaries() {
        Ok(b) => b,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let server = start_server().await;
    demo::seed(&server.store).await.expect("the demo seeds");
    let base = server.base.clone();
    let producer = principal(&server.store, "producer@harbourfilms.example").await;
    let production: Production = server
        .store
        .productions(&producer)
        .await
        .expect("productions")
        .into_iter()
        .next()
        .expect("the demo production");
    let shots = screenshots();
    let pw = demo::DEMO_PASSWORD;

    let store = server.store.clone();
    let pid = production.id.0.clone();
    let result = tokio::task::spawn_blocking(move || {
        let drv = Driver::start(&driver);
        let b = Browser::open(&drv, &chrome);

        // 1. The producer declares a use with a de-aged performer; the preview shows the
        //    consent blocker before anything is submitted.
        sign_in(&b, &base, "producer@harbourfilms.example", pw);
        b.goto(&format!("{base}/productions/{pid}/declare"));
        b.fill("#use-ref", "WEB-001");
        b.fill(
            "#use-summary",
            "De-age Tomas Ferreira for the 1989 flashback scenes",
        );
        b.select("#use-purpose", "talent");
        b.select("#use-stage", "post-production");
        b.fill("#tools-0-name", "Youthify");
        b.fill("#tools-0-vendor", "Faceworks Ltd");
        b.select("#tools-0-data", "none");
        b.click("input[type=checkbox][name='_talent']");
        b.fill("#talent-0-performer", "Tomas Ferreira");
        b.select("#talent-0-treatment", "re-ageing");
        b.click("input[type=checkbox][name='outputs.final']");
        b.wait_for(
            "the preview's blocker",
            "return !!document.querySelector('#preview [data-blocker=\"NFX-TALENT-REPLICA\"]')",
            json!([]),
        );
        let preview = b.text("#preview");
        assert!(preview.contains("Written approval"), "preview: {preview}");
        b.screenshot(&shots.join("declare-form.png"));
        b.click("#declare-form button.btn.primary");
        b.wait_for(
            "the declaration page",
            "return location.pathname.startsWith('/declarations/')",
            json!([]),
        );
        let decl_url = b.url();
        let decl_path = decl_url
            .split_once(&base)
            .map(|(_, p)| p.split('?').next().unwrap_or(p).to_owned())
            .expect("a local URL");
        assert!(b.body().contains("WEB-001"));
        sign_out(&b);

        // 2. The reviewer sees the use in the queue and cannot approve while the consent
        //    blocker is open.
        sign_in(&b, &base, "reviewer@northlight.example", pw);
        b.goto(&format!("{base}/queue"));
        assert!(b.body().contains("WEB-001"), "queue lists the new use");
        b.screenshot(&shots.join("queue.png"));
        b.goto(&format!("{base}{decl_path}"));
        assert!(b.body().contains("NFX-TALENT-REPLICA"));
        let disabled = b.script(
            "return document.querySelector('button[value=approve]').disabled",
            json!([]),
        );
        assert_eq!(
            disabled,
            json!(true),
            "approve is disabled while a blocker is open"
        );
        assert!(b.text("#approve-why").contains("NFX-TALENT-REPLICA"));
        b.screenshot(&shots.join("declaration-blocked.png"));
        // Posting "approve" anyway is refused by the server, not only by the button.
        let etag = b
            .script(
                "return document.querySelector('input[name=etag]').value",
                json!([]),
            )
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let status = post_status(
            &b,
            &format!("{decl_path}/decide"),
            json!({"action": "approve", "etag": etag}),
            true,
        );
        assert_eq!(status, 409, "approval with an open blocker is a conflict");
        sign_out(&b);

        // 3. Legal records the consent with its signed document and links it.
        sign_in(&b, &base, "legal@northlight.example", pw);
        b.goto(&format!("{base}/legal/consents"));
        b.fill("#c-performer", "Tomas Ferreira");
        b.select("#c-by", "performer");
        b.select("#c-treatment", "re-ageing");
        b.fill(
            "#c-scope",
            "De-ageing in the 1989 flashback scenes of The Lighthouse Keeper",
        );
        b.script(
            "document.querySelector('#c-signed').value = '2026-09-01'",
            json!([]),
        );
        let doc_path = std::env::temp_dir().join(format!("consent-{}.txt", std::process::id()));
        std::fs::write(&doc_path, "Signed consent of Tomas Ferreira.\n").expect("a document");
        b.fill("#c-doc", &doc_path.display().to_string());
        b.click("form[action='/legal/consents'] button[type=submit]");
        b.wait_for(
            "the consent",
            "return location.search.includes('done=consent')",
            json!([]),
        );
        assert!(b.body().contains("Tomas Ferreira"));
        b.screenshot(&shots.join("consents.png"));
        b.goto(&format!("{base}{decl_path}"));
        b.click("form[action$='/consents'] button[type=submit]");
        b.wait_for(
            "the link",
            "return location.search.includes('done=linked')",
            json!([]),
        );
        assert!(
            !b.body()
                .contains("Nothing can be approved while a blocker is open")
        );
        sign_out(&b);

        // 4. The reviewer approves with a condition.
        sign_in(&b, &base, "reviewer@northlight.example", pw);
        b.goto(&format!("{base}{decl_path}"));
        let disabled = b.script(
            "return document.querySelector('button[value=approve]').disabled",
            json!([]),
        );
        assert_eq!(
            disabled,
            json!(false),
            "approve is enabled once the blocker cleared"
        );
        b.fill("#conditions", "Credit the de-ageing in the end titles");
        b.click("button[value=approve]");
        b.wait_for(
            "the approval",
            "return location.search.includes('done=approve')",
            json!([]),
        );
        assert!(b.body().contains("Approved"));
        b.screenshot(&shots.join("declaration-approved.png"));
        sign_out(&b);

        // 5. The producer sees the approval and its condition.
        sign_in(&b, &base, "producer@harbourfilms.example", pw);
        b.goto(&format!("{base}{decl_path}"));
        let body = b.body();
        assert!(body.contains("Approved"));
        assert!(body.contains("Credit the de-ageing in the end titles"));
        b.goto(&format!("{base}/uses"));
        b.screenshot(&shots.join("uses.png"));
        sign_out(&b);

        // 6. The auditor verifies the chain.
        sign_in(&b, &base, "auditor@northlight.example", pw);
        b.goto(&format!("{base}/audit"));
        b.click("form[action='/audit/verify'] button");
        b.wait_for(
            "the verdict",
            "return !!document.querySelector('#verify-result')",
            json!([]),
        );
        let verdict = b.text("#verify-result");
        assert!(
            verdict.contains("The chain is intact"),
            "verdict: {verdict}"
        );
        b.screenshot(&shots.join("audit.png"));

        // 7. The disclosure report lists the use with its consent.
        b.goto(&format!("{base}/productions/{pid}/report"));
        let report = b.body();
        assert!(report.contains("WEB-001"));
        assert!(
            report.contains("Tomas Ferreira"),
            "the consent is in the report"
        );
        assert!(report.contains("Credit the de-ageing in the end titles"));
        b.screenshot(&shots.join("report.png"));
        b.print_pdf(&shots.join("report.pdf"));
        b.goto(&format!("{base}/productions/{pid}"));
        b.screenshot(&shots.join("dashboard.png"));
        sign_out(&b);
        decl_path
    })
    .await;
    let decl_path = result.expect("the journey passes");
    let _ = (store, decl_path);
}

/// A person, the pages they must be refused, and the form posts they must be refused.
type RefusalCase = (
    &'static str,
    &'static [&'static str],
    Vec<(&'static str, serde_json::Value)>,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_are_refused_pages_and_posts_that_are_not_theirs() {
    let (chrome, driver) = match webdriver::binaries() {
        Ok(b) => b,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let server = start_server().await;
    demo::seed(&server.store).await.expect("the demo seeds");
    let base = server.base.clone();
    let pw = demo::DEMO_PASSWORD;
    tokio::task::spawn_blocking(move || {
        let drv = Driver::start(&driver);
        let b = Browser::open(&drv, &chrome);
        let refused = "Not for your role";
        let cases: Vec<RefusalCase> = vec![
            (
                "producer@harbourfilms.example",
                &["/queue", "/admin", "/audit", "/legal/consents", "/legal/tools"],
                vec![
                    ("/admin/orgs", json!({"name": "Evil", "kind": "vendor"})),
                    ("/audit/verify", json!({})),
                    ("/legal/tools", json!({"name": "x", "data_terms": "none", "__multipart": true})),
                ],
            ),
            (
                "reviewer@northlight.example",
                &["/admin", "/audit", "/legal/consents", "/uses"],
                vec![("/admin/productions", json!({"title": "X", "kind": "scripted"}))],
            ),
            (
                "legal@northlight.example",
                &["/queue", "/admin", "/uses"],
                vec![("/admin/people", json!({"org": "x", "role": "admin", "email": "a@b.c", "name": "a", "password": "p"}))],
            ),
            (
                "auditor@northlight.example",
                &["/queue", "/admin", "/uses"],
                vec![("/admin/tokens", json!({"label": "x"}))],
            ),
        ];
        for (email, pages, posts) in &cases {
            sign_in(&b, &base, email, pw);
            for path in *pages {
                let body = page_status_text(&b, &base, path);
                assert!(body.contains(refused), "{email} on {path} was not refused: {body}");
            }
            b.goto(&format!("{base}/dashboard"));
            for (path, fields) in posts {
                let status = post_status(&b, path, fields.clone(), true);
                assert_eq!(status, 403, "{email} posting to {path}");
            }
            sign_out(&b);
        }
        // A form post without its CSRF token is refused, even for the right role.
        sign_in(&b, &base, "admin@northlight.example", pw);
        b.goto(&format!("{base}/admin"));
        let status = post_status(&b, "/admin/orgs", json!({"name": "No token", "kind": "vendor"}), false);
        assert_eq!(status, 403, "a post without a CSRF token");
        let status = post_status(&b, "/admin/orgs", json!({"name": "Wrong token", "kind": "vendor", "csrf": "00"}), false);
        assert_eq!(status, 403, "a post with a wrong CSRF token");
        b.goto(&format!("{base}/admin"));
        assert!(!b.body().contains("No token"));
        // The admin adds a vendor and links it to the production.
        b.fill("#o-name", "Tideline Post");
        b.select("#o-kind", "vendor");
        b.click("form[action='/admin/orgs'] button");
        b.wait_for("the organisation", "return location.search.includes('done=org')", json!([]));
        b.script(
            "const s = document.querySelector('#l-org'); s.value = [...s.options].find(o => o.text === 'Tideline Post').value;",
            json!([]),
        );
        b.click("form[action='/admin/links'] button");
        b.wait_for("the link", "return location.search.includes('done=linked_org')", json!([]));
        assert!(b.text("section[aria-labelledby=h-productions]").contains("Tideline Post"));
        b.screenshot(&screenshots().join("admin.png"));
    })
    .await
    .expect("the refusals hold");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_in_every_text_field_is_shown_as_text() {
    let (chrome, driver) = match webdriver::binaries() {
        Ok(b) => b,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let server = start_server().await;
    demo::seed(&server.store).await.expect("the demo seeds");
    let producer = principal(&server.store, "producer@harbourfilms.example").await;
    let pid = server
        .store
        .productions(&producer)
        .await
        .expect("productions")[0]
        .id
        .0
        .clone();
    let base = server.base.clone();
    let pw = demo::DEMO_PASSWORD;
    tokio::task::spawn_blocking(move || {
        let drv = Driver::start(&driver);
        let b = Browser::open(&drv, &chrome);
        let payload = "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=1\">";
        sign_in(&b, &base, "producer@harbourfilms.example", pw);
        b.goto(&format!("{base}/productions/{pid}/declare"));
        b.fill("#use-ref", &format!("XSS-1 {payload}"));
        b.fill("#use-summary", payload);
        b.fill("#tools-0-name", payload);
        b.fill("#tools-0-vendor", payload);
        b.click("input[type=checkbox][name='_talent']");
        b.fill("#talent-0-performer", payload);
        b.select("#talent-0-treatment", "voice");
        b.click("input[type=checkbox][name='union_work.affected']");
        b.fill("#union-agreement", payload);
        b.click("button[name=add][value=inputs]");
        b.wait_for(
            "the input row",
            "return !!document.querySelector('#inputs-0-desc')",
            json!([]),
        );
        b.select("#inputs-0-kind", "reference-image");
        b.fill("#inputs-0-desc", payload);
        b.click("input[type=checkbox][name='inputs[0]._mentions']");
        b.select("#inputs-0-m-0-type", "artist");
        b.fill("#inputs-0-m-0-name", payload);
        b.wait_for(
            "the preview",
            "return !!document.querySelector('#preview [data-outcome]')",
            json!([]),
        );
        b.click("#declare-form button.btn.primary");
        b.wait_for(
            "the declaration",
            "return location.pathname.startsWith('/declarations/')",
            json!([]),
        );
        for path in [
            b.url(),
            format!("{base}/uses"),
            format!("{base}/productions/{pid}/report"),
        ] {
            b.goto(&path);
            let pwned = b.script("return window.__pwned === 1", json!([]));
            assert_eq!(pwned, json!(false), "a script ran on {path}");
            assert!(
                b.body().contains("<script>window.__pwned=1</script>"),
                "the payload shows as text on {path}"
            );
        }
        sign_out(&b);
        sign_in(&b, &base, "reviewer@northlight.example", pw);
        for path in [format!("{base}/queue"), format!("{base}/dashboard")] {
            b.goto(&path);
            assert_eq!(
                b.script("return window.__pwned === 1", json!([])),
                json!(false),
                "a script ran on {path}"
            );
        }
    })
    .await
    .expect("no script runs");
}

/// Preview parity (spec decisions): on a production whose record facts equal the file's
/// `production` section, with no registry entries and no claimed consents or clearances in
/// the file, the live preview gives what `greenlight check` gives with the production's packs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_preview_agrees_with_check_on_the_public_scenarios() {
    let (chrome, driver) = match webdriver::binaries() {
        Ok(b) => b,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let scenarios =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/scenarios/public");
    let Ok(scenarios) = scenarios.canonicalize() else {
        println!("skipped: {} is missing", scenarios.display());
        return;
    };
    let server = start_server().await;
    let store = server.store.clone();
    let boot = store
        .bootstrap_admin("Parity Studio", "admin@parity.example", "Admin")
        .await
        .expect("a studio");
    let admin = store.principal(&boot.user.id).await.expect("the admin");
    let company = store
        .system_create_org(&boot.org.id, "Parity Films", OrgKind::ProductionCompany)
        .await
        .expect("a company");
    store
        .system_add_member(
            &company.id,
            NewMember {
                email: "partner@parity.example".into(),
                name: "Partner".into(),
                roles: vec![Role::Partner],
                password: Some("parity-password-1".into()),
            },
        )
        .await
        .expect("a partner");
    let mut cases = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&scenarios)
        .expect("the scenarios")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let today = chrono::Utc::now().date_naive();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("a scenario");
        let parsed = greenlight_core::format::parse(
            text.as_bytes(),
            greenlight_core::format::SourceKind::Yaml,
        )
        .expect("the scenario parses");
        let d = &parsed.declaration;
        let claims = d.talent.iter().any(|t| t.consent.is_some())
            || d.inputs.iter().any(|i| i.cleared)
            || d.union_work.agreement.is_some();
        if claims {
            println!(
                "{}: has claimed consents or clearances, which count only once legal confirms them; not a parity case",
                path.display()
            );
            continue;
        }
        let facts = ProductionFacts {
            title: d.production.title.clone(),
            kind: d.production.kind.as_str().to_owned(),
            eu_release: d.production.eu_release,
            release_date: d.production.release_date,
            agreements: d
                .production
                .agreements
                .iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
        };
        let production = store
            .create_production(&admin, &boot.org.id, NewProduction { facts, packs: None })
            .await
            .expect("a production");
        store
            .link_org(&admin, &production.id, &company.id)
            .await
            .expect("linked");
        let packs: Vec<_> = production
            .packs
            .iter()
            .map(|id| greenlight_core::pack::Pack::builtin(id).expect("a built-in pack"))
            .collect();
        let expected = greenlight_core::evaluate(d, &packs, today).expect("evaluates");
        let expected_rules: Vec<String> =
            expected.findings.iter().map(|f| f.rule.clone()).collect();
        let outcome = serde_json::to_value(expected.outcome).expect("serializes");
        cases.push((path, production.id.0.clone(), outcome, expected_rules));
    }
    let base = server.base.clone();
    tokio::task::spawn_blocking(move || {
        let drv = Driver::start(&driver);
        let b = Browser::open(&drv, &chrome);
        sign_in(&b, &base, "partner@parity.example", "parity-password-1");
        for (path, pid, outcome, rules) in cases {
            b.goto(&format!("{base}/productions/{pid}/declare"));
            b.fill("#upload", &path.display().to_string());
            b.click("form[action$='/upload'] button");
            b.wait_for("the preview", "return !!document.querySelector('#preview [data-outcome]')", json!([]));
            // Let the last preview request settle.
            b.wait_for("a settled preview", "return !document.querySelector('#preview[aria-busy]')", json!([]));
            let got = b.script("return document.querySelector('#preview [data-outcome]').dataset.outcome", json!([]));
            assert_eq!(got, outcome, "{}: preview outcome", path.display());
            let got_rules = b.script(
                "return [...document.querySelectorAll('#preview-findings [data-rule]')].map(e => e.dataset.rule)",
                json!([]),
            );
            assert_eq!(got_rules, json!(rules), "{}: preview findings", path.display());
            println!("{}: preview agrees ({outcome})", path.display());
        }
    })
    .await
    .expect("the preview agrees");
}

// The next tests need no browser: they talk HTTP to the same router in-process.

async fn call(
    router: &axum::Router,
    method: &str,
    path: &str,
    cookie: &str,
    form: Option<&str>,
) -> (u16, Vec<String>, String) {
    use tower::ServiceExt;
    let mut req = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("cookie", cookie);
    if form.is_some() {
        req = req.header("content-type", "application/x-www-form-urlencoded");
    }
    let req = req
        .body(axum::body::Body::from(form.unwrap_or("").to_owned()))
        .expect("a request");
    let resp = router.clone().oneshot(req).await.expect("an answer");
    let status = resp.status().as_u16();
    let cookies = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("a body");
    (status, cookies, String::from_utf8_lossy(&body).into_owned())
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    html.split_once(&marker)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(v, _)| v.to_owned())
        .unwrap_or_default()
}

fn cookie_value(cookies: &[String], name: &str) -> String {
    cookies
        .iter()
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn sign_in_is_rate_limited_and_sign_out_ends_the_session() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut config = StoreConfig::new(format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("g.db").display()
    ));
    config.signing_key = Some(SigningKey::generate());
    let store = Store::open(config).await.expect("the store opens");
    demo::seed(&store).await.expect("the demo seeds");
    let login = greenlight_server::pages::session::LoginLimits {
        base_delay: std::time::Duration::from_millis(20),
        ..Default::default()
    };
    let router = app(AppState::new(
        store,
        ServerConfig {
            login,
            ..ServerConfig::default()
        },
    ));

    let (status, cookies, html) = call(&router, "GET", "/signin", "", None).await;
    assert_eq!(status, 200);
    let pre = format!("gl_pre={}", cookie_value(&cookies, "gl_pre"));
    assert!(
        cookies
            .iter()
            .any(|c| c.contains("HttpOnly") && c.contains("SameSite=Lax"))
    );
    let csrf = hidden(&html, "csrf");
    let email = "reviewer%40northlight.example";
    // Without the token the sign-in form is refused.
    let (status, _, _) = call(
        &router,
        "POST",
        "/signin",
        &pre,
        Some(&format!("email={email}&password=x")),
    )
    .await;
    assert_eq!(status, 403);
    for _ in 0..5 {
        let form = format!("csrf={csrf}&email={email}&password=wrong");
        let (status, _, _) = call(&router, "POST", "/signin", &pre, Some(&form)).await;
        assert_eq!(status, 401);
    }
    // Failures others caused never lock the owner out: after them the right password still
    // signs in (slowed down, not refused). Before, it answered 429 for 15 minutes.
    let form = format!("csrf={csrf}&email={email}&password={}", demo::DEMO_PASSWORD);
    let (status, _, body) = call(&router, "POST", "/signin", &pre, Some(&form)).await;
    assert_eq!(status, 303, "{body}");

    // Another account signs in, and signing out ends its session in the database.
    let form = format!(
        "csrf={csrf}&email=legal%40northlight.example&password={}",
        demo::DEMO_PASSWORD
    );
    let (status, cookies, _) = call(&router, "POST", "/signin", &pre, Some(&form)).await;
    assert_eq!(status, 303);
    let session = format!("gl_session={}", cookie_value(&cookies, "gl_session"));
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("gl_session=") && c.contains("HttpOnly"))
    );
    let (status, _, html) = call(&router, "GET", "/legal/consents", &session, None).await;
    assert_eq!(status, 200);
    let token = hidden(&html, "csrf");
    let (status, _, _) = call(
        &router,
        "POST",
        "/signout",
        &session,
        Some(&format!("csrf={token}")),
    )
    .await;
    assert_eq!(status, 303);
    let (status, _, _) = call(&router, "GET", "/legal/consents", &session, None).await;
    assert_eq!(status, 303, "the old cookie now leads to the sign-in page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_producer_answers_a_change_request_with_a_new_revision() {
    let (chrome, driver) = match webdriver::binaries() {
        Ok(b) => b,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let server = start_server().await;
    demo::seed(&server.store).await.expect("the demo seeds");
    let base = server.base.clone();
    let pw = demo::DEMO_PASSWORD;
    let shots = screenshots();
    tokio::task::spawn_blocking(move || {
        let drv = Driver::start(&driver);
        let b = Browser::open(&drv, &chrome);
        sign_in(&b, &base, "producer@harbourfilms.example", pw);
        b.goto(&format!("{base}/uses"));
        let body = b.body();
        assert!(body.contains("The studio asked:"), "the change request shows in the list");
        // Open the use whose changes were requested and revise it.
        let href = b
            .script(
                "return [...document.querySelectorAll('tbody tr')].find(r => r.innerText.includes('The studio asked')).querySelector('a').getAttribute('href')",
                json!([]),
            )
            .as_str()
            .expect("a link")
            .to_owned();
        b.goto(&format!("{base}{href}"));
        b.click("a[href$='/revise']");
        b.wait_for("the revise form", "return !!document.querySelector('#declare-form input[name=etag]')", json!([]));
        b.fill("#tools-0-name", "Acme Imagine Enterprise");
        b.fill("#tools-0-vendor", "Acme Inc.");
        b.select("#tools-0-data", "none");
        b.click("#declare-form button.btn.primary");
        b.wait_for("the new revision", "return location.search.includes('done=revised')", json!([]));
        let body = b.body();
        assert!(body.contains("revision 2"), "{body}");
        assert!(body.contains("Changes from revision 1 to 2"));
        assert!(b.exists(".diff .add"), "the diff marks added lines");
        b.screenshot(&shots.join("declaration-revised.png"));
    })
    .await
    .expect("the revision is submitted");
}

/// Before, `next=/%09/evil.example` passed the check and the browser, which strips tabs,
/// followed `//evil.example` off the site; a `next` with a newline gave a 500 after the
/// session was created. And any site could show the decision page in a frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_never_leaves_the_site_and_no_other_site_frames_a_page() {
    let (chrome, driver) = match webdriver::binaries() {
        Ok(b) => b,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let server = start_server().await;
    demo::seed(&server.store).await.expect("the demo seeds");
    let base = server.base.clone();
    let pw = demo::DEMO_PASSWORD;
    tokio::task::spawn_blocking(move || {
        let drv = Driver::start(&driver);
        let b = Browser::open(&drv, &chrome);
        let origin = base.clone();
        for next in [
            "/%09/evil.example",
            "/%0a/evil.example",
            "/%0d%0aSet-Cookie:%20x=1",
            "//evil.example",
            "/%5C/evil.example",
            "https://evil.example/",
            "/\t/evil.example",
        ] {
            b.goto(&format!("{base}/signin?next={next}"));
            b.fill("#email", "reviewer@northlight.example");
            b.fill("#password", pw);
            b.click("form[action='/signin'] button[type=submit]");
            b.wait_for(
                "sign-in",
                "return !location.pathname.startsWith('/signin')",
                json!([]),
            );
            let url = b.url();
            assert!(
                url.starts_with(&origin),
                "next={next} took the browser to {url}"
            );
            assert!(!b.body().contains("Something went wrong"), "next={next}");
            sign_out(&b);
        }
        // A local path is kept, query included.
        b.goto(&format!("{base}/signin?next=/queue%3Fpage%3D1"));
        b.fill("#email", "reviewer@northlight.example");
        b.fill("#password", pw);
        b.click("form[action='/signin'] button[type=submit]");
        b.wait_for("sign-in", "return location.pathname === '/queue'", json!([]));

        // No page can show a Greenlight page in a frame, not even Greenlight's own: the
        // frame stays an error page the parent cannot read, where without the headers it
        // would show the queue.
        b.script(
            "const f = document.createElement('iframe'); f.id = 'f'; f.src = '/queue';
             f.onload = () => { document.body.dataset.framed = '1'; }; document.body.appendChild(f);",
            json!([]),
        );
        b.wait_for("the frame", "return document.body.dataset.framed === '1'", json!([]));
        let inside = b.script(
            "try { const d = document.getElementById('f').contentDocument;
                   return d && d.body && d.body.innerText.includes('Review queue') ? 'shown' : 'blocked'; }
             catch (e) { return 'blocked'; }",
            json!([]),
        );
        assert_eq!(inside, json!("blocked"));
        drop(b);
        drop(drv);
    })
    .await
    .expect("the browser steps");
    // What the browser met, checked on the headers themselves.
    let resp = reqwest_like_get(&format!("{}/signin", server.base)).await;
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
    ] {
        assert_eq!(resp.get(name).map(String::as_str), Some(value), "{name}");
    }
    let csp = resp
        .get("content-security-policy")
        .cloned()
        .unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
}

/// The response headers of a plain GET over a real socket.
async fn reqwest_like_get(url: &str) -> std::collections::HashMap<String, String> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let resp = ureq::get(&url).call().expect("the server answers");
        resp.headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect()
    })
    .await
    .expect("the request")
}

/// The audit page's "Download the export bundle" used to give a JSON document that
/// `greenlight audit verify` could not read. The file the browser downloads now verifies
/// with the function `audit verify --bundle` calls, anchored to the server's key, and a
/// change to it is caught.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_bundle_downloaded_from_the_page_verifies_offline() {
    let (chrome, driver) = match webdriver::binaries() {
        Ok(b) => b,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let server = start_server().await;
    demo::seed(&server.store).await.expect("the demo seeds");
    let key = server
        .store
        .config()
        .signing_key
        .as_ref()
        .map(|k| k.public_hex())
        .expect("the server signs");
    let base = server.base.clone();
    let downloads = tempfile::tempdir().expect("a download folder");
    let folder = downloads.path().to_owned();
    tokio::task::spawn_blocking(move || {
        let drv = Driver::start(&driver);
        let b = Browser::open(&drv, &chrome);
        b.allow_downloads(&folder);
        sign_in(&b, &base, "auditor@northlight.example", demo::DEMO_PASSWORD);
        b.goto(&format!("{base}/audit"));
        b.click("a[href='/audit/export']");
        let file = folder.join("greenlight-audit-bundle.json");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        // Chromium writes a .crdownload first and renames it when the download is complete.
        while !file.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "no download in {}",
                folder.display()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    })
    .await
    .expect("the download passes");

    use greenlight_store::audit::{Bundle, Trust};
    let path = downloads.path().join("greenlight-audit-bundle.json");
    let bundle = Bundle::read(&path).expect("the download is a bundle");
    assert!(
        bundle.checkpoint_log.is_some(),
        "the bundle carries the checkpoint log"
    );
    assert!(
        bundle.entries.iter().any(|e| e.redacted) && bundle.entries.iter().any(|e| !e.redacted),
        "the auditor's studio's entries whole, the rest redacted"
    );
    let report = bundle.verify(Trust::anchored(&key, "the server's key"), true);
    assert!(report.valid && report.anchored, "{report:?}");
    assert!(
        report.entries > 20 && report.logged_checkpoints > 0,
        "{report:?}"
    );
    // The bundle's own key is no anchor.
    let unanchored = bundle.verify(Trust::default(), true);
    assert!(unanchored.valid && !unanchored.anchored);

    // One visible entry edited in the downloaded file: caught.
    let mut forged = bundle.clone();
    let e = forged
        .entries
        .iter_mut()
        .find(|e| !e.redacted && e.action == "declaration.approve")
        .expect("an approval in the studio's entries");
    e.action = "declaration.reject".into();
    let seq = e.seq;
    std::fs::write(&path, forged.to_json()).expect("the forged file");
    let report = Bundle::read(&path)
        .expect("still a bundle")
        .verify(Trust::anchored(&key, "the server's key"), true);
    assert_eq!(report.first_bad_seq, Some(seq), "{report:?}");
}

/// The demo production as the given person sees it.
async fn demo_production(store: &Store, email: &str) -> Production {
    let who = principal(store, email).await;
    store
        .productions(&who)
        .await
        .expect("productions")
        .into_iter()
        .next()
        .expect("the demo production")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendors_report_says_whose_uses_it_shows() {
    // Before, Pixelforge VFX's report said "No uses declared on this production" and "Nothing
    // to do" on a production with seven uses (Harbour Films').
    let (chrome, driver) = match webdriver::binaries() {
        Ok(b) => b,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let server = start_server().await;
    demo::seed(&server.store).await.expect("the demo seeds");
    let pid = demo_production(&server.store, "artist@pixelforge.example")
        .await
        .id
        .0;
    let base = server.base.clone();
    let pw = demo::DEMO_PASSWORD;
    let shots = screenshots();
    tokio::task::spawn_blocking(move || {
        let drv = Driver::start(&driver);
        let b = Browser::open(&drv, &chrome);
        let statement = "Pixelforge VFX's uses on The Lighthouse Keeper; other organisations' uses are not shown.";
        sign_in(&b, &base, "artist@pixelforge.example", pw);
        b.goto(&format!("{base}/productions/{pid}/report"));
        let body = b.body();
        assert!(body.contains(statement), "{body}");
        assert!(!body.contains("No uses declared on this production"), "{body}");
        assert!(!body.contains("no use of this production carries"), "{body}");
        b.screenshot(&shots.join("report-vendor.png"));
        let csv = b.script_async(
            "fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text()).then(arguments[1])",
            json!([format!("/productions/{pid}/report.csv")]),
        );
        let first = csv.as_str().unwrap_or_default().lines().next().unwrap_or_default().to_owned();
        assert_eq!(first, format!("\"{statement}\""), "the CSV says it too");
        let scope = b.script_async(
            "fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.json()).then(d => arguments[1](d.scope))",
            json!([format!("/productions/{pid}/report.json")]),
        );
        assert_eq!(scope["complete"], json!(false), "{scope}");
        assert_eq!(scope["statement"], json!(statement));
        sign_out(&b);
        // The studio's reviewer sees every use, and the report says nothing is left out.
        sign_in(&b, &base, "reviewer@northlight.example", pw);
        b.goto(&format!("{base}/productions/{pid}/report"));
        let body = b.body();
        assert!(!body.contains("are not shown"), "{body}");
        assert!(body.contains("LK-004"));
    })
    .await
    .expect("the report says what it shows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_come_back_with_the_input_kept_and_the_problem_beside_the_field() {
    // Before, a duplicate `use.ref` gave a bare "Error 409" page and the filled form was
    // lost; a rejection without a reason gave an "Error 422" page.
    let (chrome, driver) = match webdriver::binaries() {
        Ok(b) => b,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let server = start_server().await;
    demo::seed(&server.store).await.expect("the demo seeds");
    let pid = demo_production(&server.store, "producer@harbourfilms.example")
        .await
        .id
        .0;
    let reviewer = principal(&server.store, "reviewer@northlight.example").await;
    let waiting = server
        .store
        .queue(
            &reviewer,
            None,
            None,
            greenlight_store::PageRequest::default(),
        )
        .await
        .expect("the queue")
        .items
        .into_iter()
        .next()
        .expect("a use in review")
        .id
        .0;
    let base = server.base.clone();
    let pw = demo::DEMO_PASSWORD;
    let shots = screenshots();
    tokio::task::spawn_blocking(move || {
        let drv = Driver::start(&driver);
        let b = Browser::open(&drv, &chrome);
        sign_in(&b, &base, "producer@harbourfilms.example", pw);
        b.goto(&format!("{base}/productions/{pid}/declare"));
        b.fill("#use-ref", "LK-001");
        b.fill("#use-summary", "Concept frames for the storm sequence");
        b.fill("#tools-0-name", "Acme Imagine Enterprise");
        b.wait_for(
            "the preview's warning",
            "return !!document.querySelector('#preview [data-warning=\"use.ref\"]')",
            json!([]),
        );
        assert!(b.text("#preview").contains("Your reference"), "{}", b.text("#preview"));
        b.click("#declare-form button.btn.primary");
        b.wait_for(
            "the form again",
            "return !!document.querySelector('#form-errors')",
            json!([]),
        );
        assert!(b.url().ends_with(&format!("/productions/{pid}/declare")), "{}", b.url());
        let kept = b.script(
            "return [document.querySelector('#use-ref').value, document.querySelector('#use-summary').value, document.querySelector('#tools-0-name').value]",
            json!([]),
        );
        assert_eq!(
            kept,
            json!(["LK-001", "Concept frames for the storm sequence", "Acme Imagine Enterprise"])
        );
        let beside = b.script(
            "return document.querySelector('#use-ref').closest('.field').querySelector('.error-text').innerText",
            json!([]),
        );
        assert!(
            beside.as_str().is_some_and(|t| t.contains("already has the reference")),
            "{beside}"
        );
        assert!(b.exists("form[action='/signout']"), "the page keeps its navigation");
        b.screenshot(&shots.join("declare-duplicate-ref.png"));
        sign_out(&b);

        sign_in(&b, &base, "reviewer@northlight.example", pw);
        b.goto(&format!("{base}/declarations/{waiting}"));
        b.fill("#conditions", "Keep the storyboard frames internal");
        b.click("button[value=reject]");
        b.wait_for(
            "the reason's error",
            "return !!document.querySelector('#reason-error')",
            json!([]),
        );
        assert!(b.text("#reason-error").contains("reason is required"));
        let kept = b.script("return document.querySelector('#conditions').value", json!([]));
        assert_eq!(kept, json!("Keep the storyboard frames internal"));
        assert!(b.exists("form[action='/signout']"), "the page keeps its navigation");
        assert!(!b.body().contains("Error 422"));
        b.screenshot(&shots.join("decide-without-reason.png"));
    })
    .await
    .expect("the forms keep their input");
}

/// The text of one page of a PDF, with `pdftotext` (poppler-utils); `None` when it is missing.
fn pdf_page_text(pdf: &std::path::Path, page: usize) -> Option<String> {
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", "-f", &page.to_string(), "-l", &page.to_string()])
        .arg(pdf)
        .arg("-")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_printed_report_starts_with_the_uses_numbers_its_pages_and_names_approvers() {
    // Before, page 1 of the printed report held only the title and the counters, two
    // conditions read as one sentence, pages had no numbers and decisions no approver.
    let (chrome, driver) = match webdriver::binaries() {
        Ok(b) => b,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let server = start_server().await;
    demo::seed(&server.store).await.expect("the demo seeds");
    let pid = demo_production(&server.store, "reviewer@northlight.example")
        .await
        .id
        .0;
    let reviewer = principal(&server.store, "reviewer@northlight.example").await;
    let clear = server
        .store
        .queue(
            &reviewer,
            None,
            None,
            greenlight_store::PageRequest::default(),
        )
        .await
        .expect("the queue")
        .items
        .into_iter()
        .find(|d| d.open_blockers == 0)
        .expect("a use in review without blockers");
    server
        .store
        .decide(
            &reviewer,
            &clear.id,
            Some(&clear.etag()),
            greenlight_store::input::DecisionInput {
                action: greenlight_store::DecisionAction::Approve,
                reason: None,
                conditions: vec!["Credit the vendor".into(), "Keep the credentials".into()],
                expires: None,
            },
        )
        .await
        .expect("approved");
    let approved_ref = clear.reference.clone();
    let base = server.base.clone();
    let pw = demo::DEMO_PASSWORD;
    let shots = screenshots();
    tokio::task::spawn_blocking(move || {
        let drv = Driver::start(&driver);
        let b = Browser::open(&drv, &chrome);
        sign_in(&b, &base, "reviewer@northlight.example", pw);
        b.goto(&format!("{base}/productions/{pid}/report"));
        let row = b
            .script(
                "return [...document.querySelectorAll('tbody tr')].find(r => r.innerText.includes(arguments[0])).innerText",
                json!([approved_ref]),
            )
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(row.contains("by reviewer@northlight.example"), "the approver: {row}");
        let items = b.script(
            "return [...document.querySelectorAll('tbody tr')].find(r => r.innerText.includes(arguments[0])).querySelectorAll('ol.conditions li').length",
            json!([approved_ref]),
        );
        assert_eq!(items, json!(2), "one item per condition");
        let pdf = shots.join("report-print.pdf");
        b.print_pdf(&pdf);
        let Some(page1) = pdf_page_text(&pdf, 1) else {
            println!("skipped the PDF's text: pdftotext is missing (apt-get install poppler-utils)");
            return;
        };
        assert!(page1.contains("Page 1 of"), "page numbers: {page1}");
        assert!(page1.contains("REFERENCE") || page1.contains("Reference"), "the uses start on page 1: {page1}");
        assert!(page1.contains("LK-00"), "a use on page 1: {page1}");
        let all: String = (1..=8).filter_map(|p| pdf_page_text(&pdf, p)).collect();
        // Each condition is its own numbered item (a narrow column may wrap its words).
        assert!(
            all.contains("1. Credit") && all.contains("2. Keep"),
            "numbered conditions: {all}"
        );
        // For a person to look at: the pages as pictures.
        let _ = std::process::Command::new("pdftoppm")
            .args(["-png", "-r", "50"])
            .arg(&pdf)
            .arg(shots.join("report-print"))
            .status();
    })
    .await
    .expect("the printed report reads well");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_addresses_partner_dashboards_and_narrow_screens() {
    let (chrome, driver) = match webdriver::binaries() {
        Ok(b) => b,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let server = start_server().await;
    demo::seed(&server.store).await.expect("the demo seeds");
    let pid = demo_production(&server.store, "artist@pixelforge.example")
        .await
        .id
        .0;
    let base = server.base.clone();
    let pw = demo::DEMO_PASSWORD;
    let shots = screenshots();
    tokio::task::spawn_blocking(move || {
        let drv = Driver::start(&driver);
        let b = Browser::open(&drv, &chrome);
        sign_in(&b, &base, "artist@pixelforge.example", pw);
        // An unknown address gets the application's page, not the browser's.
        b.goto(&format!("{base}/productions/{pid}/nothing-here"));
        assert!(b.title().contains("Page not found"), "{}", b.title());
        assert!(b.exists("a[href='/']"), "a way back");
        // A vendor's dashboard is theirs, with their report.
        b.goto(&format!("{base}/dashboard"));
        let crumb = b.text(".crumbs");
        assert_eq!(crumb, "Pixelforge VFX dashboard");
        assert!(b.exists(&format!("a[href='/productions/{pid}/report']")), "a report link");
        // At 500 px the header wraps and "Sign out" stays on screen.
        for email in ["artist@pixelforge.example", "reviewer@northlight.example"] {
            if email != "artist@pixelforge.example" {
                sign_out(&b);
                sign_in(&b, &base, email, pw);
            }
            b.resize(500, 900);
            b.goto(&format!("{base}/dashboard"));
            let fits = b.script(
                "const r = document.querySelector(\"form[action='/signout'] button\").getBoundingClientRect();
                 return r.left >= 0 && r.right <= document.documentElement.clientWidth && r.width > 0",
                json!([]),
            );
            assert_eq!(fits, json!(true), "{email}: Sign out is on screen at 500 px");
            let wide = b.script(
                "return document.querySelector('header.topbar').scrollWidth <= document.documentElement.clientWidth",
                json!([]),
            );
            assert_eq!(wide, json!(true), "{email}: the header fits");
            b.screenshot_window(&shots.join(format!("narrow-{}.png", email.split('@').next().unwrap_or("x"))));
            b.resize(1400, 1000);
        }
    })
    .await
    .expect("the pages hold up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_shows_the_union_fields_once_the_production_records_the_agreement() {
    let (chrome, driver) = match webdriver::binaries() {
        Ok(b) => b,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let server = start_server().await;
    demo::seed(&server.store).await.expect("the demo seeds");
    let pid = demo_production(&server.store, "producer@harbourfilms.example")
        .await
        .id
        .0;
    let base = server.base.clone();
    let pw = demo::DEMO_PASSWORD;
    let shots = screenshots();
    tokio::task::spawn_blocking(move || {
        let drv = Driver::start(&driver);
        let b = Browser::open(&drv, &chrome);
        let union_fields = [
            "[name='use.genre']",
            "[name='talent[0].role']",
            "[name='talent[0].replica_origin']",
            "[name='talent[0].replaces_human_role']",
            "[name='talent[0].scan.date']",
            "[name='inputs[0].mentions[0].feature']",
        ];
        // No agreement on record: the form asks nothing about the union.
        sign_in(&b, &base, "producer@harbourfilms.example", pw);
        b.goto(&format!("{base}/productions/{pid}/declare"));
        b.click("button[value=inputs]");
        b.wait_for("a row added", "return !!document.querySelector(\"[name='inputs[0].kind']\")", json!([]));
        for f in union_fields {
            assert!(!b.exists(f), "{f} is shown without an agreement");
        }
        sign_out(&b);

        // The studio's admin records the agreement on the admin page.
        sign_in(&b, &base, "admin@northlight.example", pw);
        b.goto(&format!("{base}/admin"));
        b.click("form[action='/admin/productions/agreements'] input[value='sag-aftra-tv-theatrical-2023']");
        b.click("form[action='/admin/productions/agreements'] button[type=submit]");
        b.wait_for("agreements recorded", "return location.search.includes('done=agreements')", json!([]));
        assert!(b.body().contains("SAG-AFTRA TV/Theatrical Agreement 2023"));
        sign_out(&b);

        // Now the form asks them, and the production page says what the record holds.
        sign_in(&b, &base, "producer@harbourfilms.example", pw);
        b.goto(&format!("{base}/productions/{pid}"));
        assert!(
            b.text("#production-facts").contains("union agreements: SAG-AFTRA TV/Theatrical Agreement 2023"),
            "{}",
            b.body()
        );
        b.goto(&format!("{base}/productions/{pid}/declare"));
        b.click("button[value=inputs]");
        b.wait_for("a row added", "return !!document.querySelector(\"[name='inputs[0].kind']\")", json!([]));
        for f in union_fields {
            assert!(b.exists(f), "{f} is not shown under the agreement");
        }
        b.screenshot(&shots.join("declare-union.png"));
    })
    .await
    .expect("the union fields follow the record");
}

/// Legal records on the registry page that a tool leaves no trace; the registry shows it, and
/// the production's report flags a use of that tool: its provenance depends on the ledger.
#[tokio::test]
async fn a_tool_that_leaves_no_trace_is_flagged_from_the_registry_to_the_report() {
    let (chrome, driver) = match webdriver::binaries() {
        Ok(b) => b,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let server = start_server().await;
    demo::seed(&server.store).await.expect("the demo seeds");
    let production = demo_production(&server.store, "producer@harbourfilms.example").await;
    let pid = production.id.0.clone();
    let base = server.base.clone();
    let pw = demo::DEMO_PASSWORD;
    let shots = screenshots();
    let b = tokio::task::spawn_blocking({
        let base = base.clone();
        let shots = shots.clone();
        move || {
            let drv = Driver::start(&driver);
            let b = Browser::open(&drv, &chrome);
            sign_in(&b, &base, "legal@northlight.example", pw);
            b.goto(&format!("{base}/legal/tools"));
            b.fill("#t-name", "Quiet Render");
            b.select("#t-terms", "none");
            b.click("input[name='trace_none']");
            b.click("form[action='/legal/tools'] button[type=submit]");
            b.wait_for(
                "the tool is registered",
                "return document.body.innerText.includes('Quiet Render')",
                json!([]),
            );
            let body = b.body();
            assert!(
                body.contains("provenance depends on the ledger alone"),
                "the registry says what a tool without traces means: {body}"
            );
            b.screenshot(&shots.join("tools-traces.png"));
            (drv, b)
        }
    })
    .await
    .expect("the browser runs");
    // A use of that tool, declared by the partner.
    let partner = principal(&server.store, "producer@harbourfilms.example").await;
    let text = "greenlight: declaration/v1
production:
  title: The Lighthouse Keeper
use:
  ref: LK-090
  summary: Sky plates for the storm
  stage: post-production
  purpose: vfx
tools:
  - name: Quiet Render
    enterprise_agreement: true
    data_use: none
outputs:
  final: false
";
    server
        .store
        .submit(&partner, &production.id, text.as_bytes())
        .await
        .expect("submit");
    tokio::task::spawn_blocking(move || {
        let (_drv, b) = b;
        b.goto(&format!("{base}/productions/{pid}/report"));
        let row = b.body();
        assert!(
            row.contains("LK-090")
                && row.contains(
                    "provenance depends on the ledger alone (Quiet Render leaves no trace"
                ),
            "{row}"
        );
        b.screenshot(&shots.join("report-ledger-only.png"));
    })
    .await
    .expect("the browser runs");
}

/// A studio pack whose one rule is about ideation (`v1`) or, stricter, also about VFX (`v2`).
fn studio_pack(version: &str, purposes: &str) -> String {
    format!(
        r#"pack: studio-extra
version: "{version}"
title: Studio additions
rules:
  - id: STUDIO-CREATIVE-REVIEW
    title: Creative uses are reviewed
    outcome: review
    source: "Studio policy 2.1"
    when: use.purpose in {purposes}
    message: The studio reviews these uses of generative AI.
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legal_uploads_a_stricter_pack_previews_and_adopts_it_and_the_reviewer_sees_the_suspension()
{
    let (chrome, driver) = match webdriver::binaries() {
        Ok(b) => b,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let server = start_server().await;
    demo::seed(&server.store).await.expect("the demo seeds");
    let production = demo_production(&server.store, "legal@northlight.example").await;
    // Version 1 is already in use: it reviews ideation only, so the approved harbour
    // extension (VFX) keeps its approval.
    let legal = principal(&server.store, "legal@northlight.example").await;
    server
        .store
        .upload_pack(&legal, None, &studio_pack("1", r#"["ideation"]"#))
        .await
        .expect("version 1");
    let mut with_v1 = production.packs.clone();
    with_v1.push("studio-extra@1".into());
    let etag = greenlight_store::production_etag_of(production.version);
    server
        .store
        .adopt_packs(&legal, &production.id, Some(&etag), with_v1.clone())
        .await
        .expect("version 1 adopted");
    let v2 = studio_pack("2", r#"["ideation", "vfx"]"#);
    let with_v2 = with_v1
        .iter()
        .map(|p| {
            if p == "studio-extra@1" {
                "studio-extra@2".to_owned()
            } else {
                p.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let base = server.base.clone();
    let pid = production.id.0.clone();
    let pw = demo::DEMO_PASSWORD;
    let shots = screenshots();
    tokio::task::spawn_blocking(move || {
        let drv = Driver::start(&driver);
        let b = Browser::open(&drv, &chrome);
        sign_in(&b, &base, "legal@northlight.example", pw);
        b.goto(&format!("{base}/packs"));
        // A broken version is refused with the rule and its line.
        b.fill(
            "#pack-text",
            &v2.replace("when: use.purpose in", "when: use.purpose in in"),
        );
        b.click("form[action='/packs'] button[type=submit]");
        b.wait_for(
            "the refusal",
            "return document.querySelector('#upload-problems') !== null",
            json!([]),
        );
        let body = b.body();
        assert!(
            body.contains("rule/STUDIO-CREATIVE-REVIEW, line 5"),
            "{body}"
        );
        b.screenshot(&shots.join("packs-upload-refused.png"));
        b.fill("#pack-text", &v2);
        b.click("form[action='/packs'] button[type=submit]");
        b.wait_for(
            "the pack page",
            "return location.pathname === '/packs/studio-extra/2'",
            json!([]),
        );
        // Compared with version 1, rule by rule.
        b.select("#against", "1");
        b.click("form.inline button[type=submit]");
        b.wait_for(
            "the comparison",
            "return document.querySelector('#rule-changes') !== null",
            json!([]),
        );
        let body = b.body();
        assert!(
            body.contains("STUDIO-CREATIVE-REVIEW") && body.contains("changed"),
            "{body}"
        );
        b.screenshot(&shots.join("pack-compare.png"));
        // The preview on the demo production names the approval that would be suspended.
        b.goto(&format!("{base}/packs"));
        b.select("#pv-production", &pid);
        b.fill("#pv-packs", &with_v2);
        b.click("form[action='/packs/preview'] button[type=submit]");
        b.wait_for(
            "the preview",
            "return location.pathname === '/packs/preview'",
            json!([]),
        );
        let body = b.body();
        assert!(
            body.contains("LK-005") && body.contains("would be suspended"),
            "{body}"
        );
        b.screenshot(&shots.join("pack-preview.png"));
        b.click("#adopt");
        b.wait_for(
            "the production page",
            &format!("return location.pathname === '/productions/{pid}'"),
            json!([]),
        );
        assert!(b.body().contains("Packs adopted"), "{}", b.body());
        sign_out(&b);
        // The reviewer's queue shows the suspended approval.
        sign_in(&b, &base, "reviewer@northlight.example", pw);
        b.goto(&format!("{base}/queue"));
        let body = b.body();
        assert!(
            body.contains("LK-005") && body.contains("Suspended"),
            "{body}"
        );
        b.screenshot(&shots.join("queue-after-pack-adoption.png"));
        sign_out(&b);
        // A partner of the production reads the rules it now uses, and nothing more.
        sign_in(&b, &base, "producer@harbourfilms.example", pw);
        b.goto(&format!("{base}/packs"));
        let body = b.body();
        assert!(
            body.contains("studio-extra") && !body.contains("Upload a pack"),
            "{body}"
        );
        b.goto(&format!("{base}/packs/studio-extra/2"));
        let body = b.body();
        assert!(
            body.contains("STUDIO-CREATIVE-REVIEW") && body.contains("Studio policy 2.1"),
            "{body}"
        );
        b.screenshot(&shots.join("pack-as-partner.png"));
    })
    .await
    .expect("the browser runs");
    let who = principal(&server.store, "reviewer@northlight.example").await;
    let filter = greenlight_store::DeclarationFilter {
        production_id: Some(production.id.clone()),
        state: Some(greenlight_store::State::Suspended),
        ..Default::default()
    };
    let suspended = server
        .store
        .declarations(
            &who,
            &filter,
            greenlight_store::PageRequest {
                offset: 0,
                limit: 50,
            },
        )
        .await
        .expect("list");
    assert!(
        suspended.items.iter().any(|d| d.reference == "LK-005"),
        "{suspended:?}"
    );
}

/// The admin creates a token on the page with an expiry and a production, sees its secret
/// once and its row (production, expiry, never used), rotates it, and sees the new secret and
/// the old token marked as rotated. The demo's fixed token says it never expires.
#[tokio::test]
async fn the_admin_creates_and_rotates_a_token_on_the_page() {
    let (chrome, driver) = match webdriver::binaries() {
        Ok(b) => b,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let server = start_server().await;
    demo::seed(&server.store).await.expect("the demo seeds");
    let production = demo_production(&server.store, "admin@northlight.example").await;
    let (pid, title) = (production.id.0.clone(), production.facts.title.clone());
    let base = server.base.clone();
    let pw = demo::DEMO_PASSWORD;
    let shots = screenshots();
    tokio::task::spawn_blocking(move || {
        let drv = Driver::start(&driver);
        let b = Browser::open(&drv, &chrome);
        sign_in(&b, &base, "admin@northlight.example", pw);
        b.goto(&format!("{base}/admin"));
        assert!(b.text("#h-tokens").contains("API tokens"));
        assert!(b.body().contains("Never expires"), "the demo token");
        b.fill("#tok-label", "nightly");
        b.select("#tok-days", "30");
        b.select("#tok-production", &pid);
        b.click("form[action='/admin/tokens'] button[type=submit]");
        b.wait_for(
            "the secret is shown",
            "return !!document.querySelector('#new-secret')",
            json!([]),
        );
        let first = b.text("#new-secret");
        assert!(first.starts_with("glt_"), "{first}");
        let body = b.body();
        assert!(
            body.contains(&format!("Only {title}")),
            "the production is offered by name"
        );
        assert!(body.contains("Expires in 30 days"), "{body}");
        b.screenshot(&shots.join("admin-tokens.png"));
        b.click("button[aria-label='Rotate the token nightly']");
        b.wait_for(
            "rotated",
            "return document.body.innerText.includes('Rotated; works until')",
            json!([]),
        );
        let second = b.text("#new-secret");
        assert!(
            second.starts_with("glt_") && second != first,
            "a new secret"
        );
    })
    .await
    .expect("the browser runs");
}
