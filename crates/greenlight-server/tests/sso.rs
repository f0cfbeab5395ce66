//! Single sign-on and the second factor, end to end: a real OpenID provider (the npm package
//! `oidc-provider`, started with node), the real server on a loopback port, and Debian's
//! Chromium driving the pages. A studio admin sets up the provider on the settings page; people
//! sign in through the provider's own login form; a first sign-in provisions a new person; a
//! person whose groups map to nothing is refused with whom to ask; an email that belongs to an
//! account is never taken over; an existing person links the provider while signed in; a
//! studio switches local passwords off. The second factor is set up and used as a person
//! would, with codes made from the key the page shows.
//!
//! Skips, saying why, when node, the npm package, chromium or chromedriver is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

#[path = "browser/pages.rs"]
mod pages;
#[path = "browser/webdriver.rs"]
mod webdriver;

use greenlight_server::{AppState, ServerConfig, app, demo};
use greenlight_sso::test_provider::{
    ProviderConfig, StartError, TestClient, TestProvider, TestUser,
};
use greenlight_store::{NewMember, OrgId, Role, SigningKey, Store, StoreConfig};
use pages::{screenshots, sign_in, sign_out};
use serde_json::json;
use webdriver::{Browser, Driver};

const SECRET: &str = "northlight-greenlight-client-secret-0123";
const STUDIO: &str = "Northlight Studios";

struct Server {
    base: String,
    store: Store,
    _dir: tempfile::TempDir,
}

/// The server, with its public address set (the callback registered at the provider) and
/// private addresses allowed for single sign-on (the provider listens on 127.0.0.1).
async fn start_server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("greenlight.db");
    let mut config = StoreConfig::new(format!("sqlite://{}?mode=rwc", db.display()));
    config.signing_key = Some(SigningKey::generate());
    config.checkpoint_log = Some(dir.path().join("checkpoints.log"));
    let store = Store::open(config).await.unwrap();
    demo::seed(&store).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(
        store.clone(),
        ServerConfig {
            demo: true,
            public_url: Some(url::Url::parse(&format!("{base}/")).unwrap()),
            sso_allow_private: true,
            ..ServerConfig::default()
        },
    );
    tokio::spawn(async move {
        axum::serve(
            listener,
            app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Server {
        base,
        store,
        _dir: dir,
    }
}

fn start_provider(redirect: &str) -> Result<TestProvider, String> {
    let config = ProviderConfig {
        clients: vec![TestClient::new("greenlight", SECRET, redirect)],
        users: vec![
            TestUser::new("ana", "ana-password", "ana-0001")
                .email("ana.lima@northlight.example")
                .name("Ana Lima")
                .groups(&["staff", "greenlight-reviewers"]),
            TestUser::new("bo", "bo-password", "bo-0002")
                .email("bo@northlight.example")
                .groups(&["staff", "contractors"]),
            TestUser::new("eve", "eve-password", "eve-0003")
                .email("reviewer@northlight.example")
                .groups(&["greenlight-reviewers"]),
            TestUser::new("adm", "adm-password", "adm-0004")
                .email("admin@northlight.example")
                .groups(&["greenlight-admins"]),
            TestUser::new("cara", "cara-password", "cara-0005")
                .email("cara@idp.northlight.example")
                .groups(&["greenlight-reviewers"]),
        ],
        id_token_claims: true,
    };
    match TestProvider::start(&config) {
        Ok(p) => Ok(p),
        Err(StartError::Unavailable(why)) => Err(why),
        Err(e) => panic!("{e}"),
    }
}

/// Signs in through the studio's provider from the sign-in page: the studio's name, then the
/// provider's own login form; waits until the browser is back on Greenlight.
fn sso_sign_in(b: &Browser, base: &str, login: &str, password: &str) {
    b.goto(&format!("{base}/signin"));
    b.fill("#sso-studio", STUDIO);
    b.click("form[action='/sso/find'] button[type=submit]");
    provider_login(b, base, login, password);
}

/// Signs in at the provider's login form, unless the provider still has this browser's
/// session from an earlier sign-in and sends it straight back.
fn provider_login(b: &Browser, base: &str, login: &str, password: &str) {
    b.wait_for(
        "the provider's login form",
        "return !!document.querySelector('#login') || (location.href.startsWith(arguments[0]) \
         && !location.pathname.startsWith('/sso/') && document.readyState === 'complete')",
        json!([base]),
    );
    if !b.exists("#login") {
        return;
    }
    b.fill("#login", login);
    b.fill("#password", password);
    b.click("#submit");
    b.wait_for(
        "back on Greenlight",
        "return location.href.startsWith(arguments[0]) && document.readyState === 'complete'",
        json!([base]),
    );
}

fn mapping(studio: &OrgId) -> String {
    json!([
        {"value": "greenlight-reviewers", "organisation": studio.0, "roles": ["reviewer"]},
        {"value": "greenlight-admins", "organisation": studio.0, "roles": ["admin"]}
    ])
    .to_string()
}

fn fill_settings(b: &Browser, issuer: &str, studio: &OrgId) {
    b.fill("#issuer_url", issuer);
    b.fill("#client_id", "greenlight");
    b.fill("#client_secret", SECRET);
    b.fill("#scopes", "email profile groups");
    b.fill("#claim", "groups");
    b.script(
        "document.querySelector('#mapping').value = arguments[0];",
        json!([mapping(studio)]),
    );
    b.click("form[action='/admin/sso'] button[type=submit]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_sign_in_with_their_studios_provider() {
    let (chrome, driver) = match webdriver::binaries() {
        Ok(b) => b,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let server = start_server().await;
    let redirect = format!("{}/sso/callback", server.base);
    let provider = match start_provider(&redirect) {
        Ok(p) => p,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let issuer = provider.issuer().to_owned();
    let studio = server
        .store
        .org_by_name(STUDIO)
        .await
        .unwrap()
        .expect("the demo studio")
        .id;
    // An admin invites Cara by mail (no SMTP here: the link comes back to the admin).
    let admin_user = server
        .store
        .user_by_email("admin@northlight.example")
        .await
        .unwrap()
        .unwrap();
    let admin_principal = server.store.principal(&admin_user.id).await.unwrap();
    let (_, link) = server
        .store
        .add_member_with_link(
            &admin_principal,
            &studio,
            NewMember {
                email: "cara@northlight.example".into(),
                name: "Cara Dunn".into(),
                roles: vec![Role::Legal],
                password: None,
            },
        )
        .await
        .unwrap();
    let join = link.expect("an invitation link").secret;
    let base = server.base.clone();
    let shots = screenshots();
    let pw = demo::DEMO_PASSWORD;
    let studio2 = studio.clone();
    let issuer2 = issuer.clone();
    let browsers = tokio::task::spawn_blocking(move || {
        let drv = Driver::start(&driver);
        let admin = Browser::open(&drv, &chrome);

        // The admin's first try names an issuer that is not there: nothing is saved, and the
        // page says which setting is wrong.
        sign_in(&admin, &base, "admin@northlight.example", pw);
        admin.goto(&format!("{base}/admin/sso"));
        fill_settings(&admin, "http://127.0.0.1:9/realms/nowhere", &studio2);
        admin.wait_for(
            "the errors",
            "return !!document.querySelector('[role=alert]')",
            json!([]),
        );
        let refused = admin.text("[role=alert]");
        assert!(refused.contains("Nothing was saved"), "{refused}");
        assert!(refused.contains("issuer_url"), "{refused}");
        assert!(refused.contains("discovery"), "{refused}");

        // Then the real provider: saved once discovery answered.
        fill_settings(&admin, &issuer2, &studio2);
        admin.wait_for(
            "saved",
            "return document.body.innerText.includes('Single sign-on saved')",
            json!([]),
        );
        assert!(admin.text("#redirect-url").contains("/sso/callback"));
        admin.screenshot(&shots.join("sso-settings.png"));

        // Ana's first sign-in through the provider makes her a new person, a reviewer.
        let ana = Browser::open(&drv, &chrome);
        sso_sign_in(&ana, &base, "ana", "ana-password");
        ana.goto(&format!("{base}/account"));
        let account = ana.body();
        assert!(account.contains("ana.lima@northlight.example"), "{account}");
        assert!(account.contains(&issuer2), "{account}");
        // Ana has no password: the second factor is her provider's, and her studio's
        // sign-in is already linked.
        assert!(account.contains("keeps its own second factor"), "{account}");
        assert!(!ana.exists("a.sso-link"), "{account}");
        ana.screenshot(&shots.join("sso-account.png"));
        // A second sign-in finds the same person again.
        sign_out(&ana);
        sso_sign_in(&ana, &base, "ana", "ana-password");
        ana.goto(&format!("{base}/queue"));
        assert!(ana.body().contains("Review queue"), "{}", ana.body());

        // Cara follows her invitation and sets up her account through the studio's sign-in
        // instead of choosing a password; the link then works no more.
        let cara = Browser::open(&drv, &chrome);
        cara.goto(&format!("{base}/join/{join}"));
        cara.click("a[href^='/sso/start']");
        provider_login(&cara, &base, "cara", "cara-password");
        cara.goto(&format!("{base}/account"));
        assert!(
            cara.body().contains("cara@northlight.example"),
            "{}",
            cara.body()
        );
        cara.goto(&format!("{base}/join/{join}"));
        assert!(cara.body().contains("already"), "{}", cara.body());

        // Bo's groups map to nothing: refused, told whom to ask.
        let bo = Browser::open(&drv, &chrome);
        bo.goto(&format!("{base}/signin"));
        bo.screenshot(&shots.join("signin.png"));
        sso_sign_in(&bo, &base, "bo", "bo-password");
        let refusal = bo.body();
        assert!(refusal.contains("contractors"), "{refusal}");
        assert!(refusal.contains("admin@northlight.example"), "{refusal}");
        bo.screenshot(&shots.join("sso-no-role.png"));
        bo.goto(&format!("{base}/account"));
        assert!(
            bo.url().contains("/signin"),
            "bo is not signed in: {}",
            bo.url()
        );

        // Eve's provider claims the address of an existing reviewer: never taken over.
        let eve = Browser::open(&drv, &chrome);
        sso_sign_in(&eve, &base, "eve", "eve-password");
        let refusal = eve.body();
        assert!(refusal.contains("already exists"), "{refusal}");
        eve.goto(&format!("{base}/account"));
        assert!(
            eve.url().contains("/signin"),
            "eve is not signed in: {}",
            eve.url()
        );

        // The admin links the provider to their own account while signed in …
        // A link forged by another site (without the session's token) starts nothing.
        admin.goto(&format!("{base}/sso/start?studio={}&link=1", studio2.0));
        assert!(
            admin.body().contains("This form has expired"),
            "{}",
            admin.body()
        );
        admin.goto(&format!("{base}/account"));
        admin.click("a.sso-link");
        provider_login(&admin, &base, "adm", "adm-password");
        assert!(
            admin.body().contains("linked to your account"),
            "{}",
            admin.body()
        );
        // … and from then on signs in through it as themself.
        let adm = Browser::open(&drv, &chrome);
        sso_sign_in(&adm, &base, "adm", "adm-password");
        adm.goto(&format!("{base}/admin"));
        assert!(adm.body().contains("Administration"), "{}", adm.body());

        // The studio switches local passwords off: its reviewer's password no longer works.
        admin.goto(&format!("{base}/admin/sso"));
        admin.script(
            "document.querySelector('input[name=local_passwords]').checked = false;",
            json!([]),
        );
        admin.click("form[action='/admin/sso/policy'] button[type=submit]");
        admin.wait_for(
            "policy saved",
            "return document.body.innerText.includes('Sign-in policy saved')",
            json!([]),
        );
        let reviewer = Browser::open(&drv, &chrome);
        sign_in(&reviewer, &base, "reviewer@northlight.example", pw);
        let refusal = reviewer.text("[role=alert]");
        assert!(refusal.contains("identity provider"), "{refusal}");
        assert!(reviewer.url().contains("/signin"), "{}", reviewer.url());
    })
    .await;
    let log = provider.log_text();
    browsers.unwrap_or_else(|e| panic!("{e}\nprovider log:\n{log}"));

    // What the store holds: one new person for Ana with the mapped role, none for Bo or Eve,
    // and the admin's identity linked to the admin.
    let ana = server
        .store
        .user_by_email("ana.lima@northlight.example")
        .await
        .unwrap()
        .expect("Ana was provisioned");
    let ana = server.store.principal(&ana.id).await.unwrap();
    assert!(ana.has_role(&studio, Role::Reviewer));
    assert_eq!(ana.memberships.len(), 1, "{:?}", ana.memberships);
    assert_eq!(
        server.store.identities(&ana.user.id).await.unwrap().len(),
        1
    );
    assert!(
        server
            .store
            .user_by_email("bo@northlight.example")
            .await
            .unwrap()
            .is_none()
    );
    let reviewer = server
        .store
        .user_by_email("reviewer@northlight.example")
        .await
        .unwrap()
        .unwrap();
    assert!(
        server
            .store
            .identities(&reviewer.id)
            .await
            .unwrap()
            .is_empty()
    );
    let admin = server
        .store
        .user_by_email("admin@northlight.example")
        .await
        .unwrap()
        .unwrap();
    let linked = server.store.identities(&admin.id).await.unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].subject, "adm-0004");
    assert_eq!(linked[0].issuer, issuer);
    // Cara is the person the admin invited (her address, the invitation's role), and her
    // provider identity is linked to her; the mapping added its reviewer role.
    let cara = server
        .store
        .user_by_email("cara@northlight.example")
        .await
        .unwrap()
        .expect("the invited person");
    let ids = server.store.identities(&cara.id).await.unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].subject, "cara-0005");
    let cara = server.store.principal(&cara.id).await.unwrap();
    assert!(
        cara.has_role(&studio, Role::Reviewer),
        "{:?}",
        cara.memberships
    );
    assert!(
        server
            .store
            .user_by_email("cara@idp.northlight.example")
            .await
            .unwrap()
            .is_none()
    );
}

/// A code as an authenticator app shows it, `offset` seconds from now.
fn code(key: &str, offset: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(key).unwrap();
    let totp = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(secret)
        .build()
        .unwrap();
    let now = chrono::Utc::now().timestamp() + offset;
    totp.generate(u64::try_from(now).unwrap()).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_factor_guards_a_password_and_an_admin_role() {
    let (chrome, driver) = match webdriver::binaries() {
        Ok(b) => b,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let server = start_server().await;
    let studio = server.store.org_by_name(STUDIO).await.unwrap().unwrap().id;
    // A second admin, who has no second factor.
    server
        .store
        .system_add_member(
            &studio,
            NewMember {
                email: "second-admin@northlight.example".into(),
                name: "Second Admin".into(),
                roles: vec![Role::Admin],
                password: Some("second-admin-password".into()),
            },
        )
        .await
        .unwrap();
    let base = server.base.clone();
    let shots = screenshots();
    let pw = demo::DEMO_PASSWORD;
    let store = server.store.clone();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let drv = Driver::start(&driver);
        let b = Browser::open(&drv, &chrome);
        sign_in(&b, &base, "admin@northlight.example", pw);

        // Requiring a second factor of admins, without having one, is refused.
        b.goto(&format!("{base}/admin/sso"));
        b.click("input[name=admin_totp]");
        b.click("form[action='/admin/sso/policy'] button[type=submit]");
        assert!(
            b.body().contains("set up your own second factor first"),
            "{}",
            b.body()
        );

        // Set-up: the page shows a QR code and the key; a wrong code is refused, a right one
        // turns the factor on.
        b.goto(&format!("{base}/account"));
        b.click("form[action='/account/totp'] button[type=submit]");
        let key = b.text("#manual-key");
        assert!(b.exists(".qr svg"), "a QR code");
        b.screenshot(&shots.join("totp-enrol.png"));
        b.fill("#code", "000000");
        b.click("form[action='/account/totp/confirm'] button[type=submit]");
        assert!(b.text("[role=alert]").contains("not right"), "{}", b.body());
        let first = code(&key, 0);
        b.fill("#code", &first);
        b.click("form[action='/account/totp/confirm'] button[type=submit]");
        b.wait_for(
            "the factor is on",
            "return document.body.innerText.includes('Second factor on')",
            json!([]),
        );

        // Signing in now takes the password and then a code; the code already used is refused.
        sign_out(&b);
        sign_in(&b, &base, "admin@northlight.example", pw);
        assert!(b.url().ends_with("/signin/code"), "{}", b.url());
        b.fill("#code", &first);
        b.click("form[action='/signin/code'] button[type=submit]");
        assert!(
            b.text("[role=alert]").contains("already used"),
            "{}",
            b.body()
        );
        b.screenshot(&shots.join("totp-code.png"));
        b.fill("#code", &code(&key, 30));
        b.click("form[action='/signin/code'] button[type=submit]");
        b.wait_for(
            "signed in",
            "return !location.pathname.startsWith('/signin')",
            json!([]),
        );

        // Now the admin may require it of every admin of the studio.
        b.goto(&format!("{base}/admin/sso"));
        b.click("input[name=admin_totp]");
        b.click("form[action='/admin/sso/policy'] button[type=submit]");
        b.wait_for(
            "policy saved",
            "return document.body.innerText.includes('Sign-in policy saved')",
            json!([]),
        );

        // The second admin, without a factor, is told, and cannot act as admin.
        let second = Browser::open(&drv, &chrome);
        sign_in(
            &second,
            &base,
            "second-admin@northlight.example",
            "second-admin-password",
        );
        assert!(second.body().contains("on hold"), "{}", second.body());
        second.goto(&format!("{base}/admin/sso"));
        assert!(
            second.body().contains("Not for your role") || second.body().contains("only an admin"),
            "{}",
            second.body()
        );
        // An API token of theirs does not carry the admin role either.
        let user = handle
            .block_on(store.user_by_email("second-admin@northlight.example"))
            .unwrap()
            .unwrap();
        let token = handle
            .block_on(store.system_create_token(&user.id, "script"))
            .unwrap();
        let status = ureq::get(&format!("{base}/api/v1/sso"))
            .header("Authorization", &format!("Bearer {token}"))
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, 403);

        // A password reset by mail proves the mailbox, not the device: the code is still
        // asked for before any session starts.
        let reset = handle
            .block_on(store.request_password_reset("admin@northlight.example"))
            .unwrap()
            .expect("a reset link");
        let other = Browser::open(&drv, &chrome);
        other.goto(&format!("{base}/reset/{}", reset.secret));
        other.fill("#password", "a-brand-new-password-2026");
        other.fill("#confirm", "a-brand-new-password-2026");
        other.click("form button[type=submit]");
        other.wait_for(
            "the code step",
            "return location.pathname === '/signin/code'",
            json!([]),
        );
        other.goto(&format!("{base}/account"));
        assert!(
            other.url().contains("/signin"),
            "not signed in yet: {}",
            other.url()
        );
    })
    .await
    .unwrap();
}

/// `(status, body)` of an API call with a bearer token.
fn api(
    method: &str,
    url: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let auth = format!("Bearer {token}");
    let resp = match (method, body) {
        ("GET", _) => agent.get(url).header("Authorization", &auth).call(),
        ("DELETE", _) => agent.delete(url).header("Authorization", &auth).call(),
        (_, Some(b)) => agent
            .put(url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/json")
            .send(b.to_string()),
        (_, None) => agent.put(url).header("Authorization", &auth).send_empty(),
    }
    .unwrap();
    let status = resp.status().as_u16();
    let text = resp.into_body().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_api_checks_everything_before_it_saves_and_only_for_the_studio() {
    let server = start_server().await;
    let base = server.base.clone();
    let studio = server.store.org_by_name(STUDIO).await.unwrap().unwrap().id;
    let admin = server
        .store
        .user_by_email("admin@northlight.example")
        .await
        .unwrap()
        .unwrap();
    let reviewer = server
        .store
        .user_by_email("reviewer@northlight.example")
        .await
        .unwrap()
        .unwrap();
    let admin_token = server
        .store
        .system_create_token(&admin.id, "t")
        .await
        .unwrap();
    let reviewer_token = server
        .store
        .system_create_token(&reviewer.id, "t")
        .await
        .unwrap();
    let southgate = server
        .store
        .bootstrap_admin("Southgate Pictures", "admin@southgate.example", "S")
        .await
        .unwrap();
    let provider = start_provider(&format!("{base}/sso/callback"));
    let studio_id = studio.0.clone();
    let store = server.store.clone();
    let handle = tokio::runtime::Handle::current();
    let studio2 = studio.clone();
    tokio::task::spawn_blocking(move || {
        let url = format!("{base}/api/v1/sso?studio_id={studio_id}");
        let good = |issuer: &str| {
            json!({
                "issuer_url": issuer, "client_id": "greenlight", "client_secret": SECRET,
                "scopes": ["email", "profile", "groups"], "claim": "groups",
                "mapping": [{"value": "greenlight-reviewers", "organisation": studio_id, "roles": ["reviewer"]}]
            })
        };
        // Every field problem at once, each named.
        let (status, body) = api(
            "PUT",
            &url,
            &admin_token,
            Some(json!({
                "issuer_url": "ftp://login.example", "client_id": "", "client_secret": SECRET,
                "claim": "groups",
                "mapping": [{"value": "x", "organisation": southgate.org.id.0, "roles": ["admin"]}]
            })),
        );
        assert_eq!(status, 422, "{body}");
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["path"].as_str())
            .collect();
        assert!(fields.contains(&"issuer_url"), "{body}");
        assert!(fields.contains(&"client_id"), "{body}");
        assert!(fields.iter().any(|f| f.starts_with("mapping[0]")), "{body}");
        // A discovery that fails names issuer_url.
        let (status, body) = api("PUT", &url, &admin_token, Some(good("http://127.0.0.1:9/realms/x")));
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["errors"][0]["path"], "issuer_url", "{body}");
        assert!(body["detail"].as_str().unwrap().contains("discovery"), "{body}");
        let (_, shown) = api("GET", &url, &admin_token, None);
        assert_eq!(shown["configured"], false, "nothing half-saved: {shown}");
        // Only the studio's admins: a reviewer is refused, another studio sees nothing.
        let (status, _) = api("GET", &url, &reviewer_token, None);
        assert_eq!(status, 403);
        let (status, _) = api("PUT", &url, &southgate.token, Some(good("https://x.example")));
        assert_eq!(status, 404);
        let (status, _) = api("GET", &url, &southgate.token, None);
        assert_eq!(status, 404);
        // Passwords cannot go off before single sign-on exists.
        let policy = format!("{base}/api/v1/sign-in-policy?studio_id={studio_id}");
        let (status, body) = api(
            "PUT",
            &policy,
            &admin_token,
            Some(json!({"local_passwords": false, "admin_totp": false})),
        );
        assert_eq!(status, 422, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("local_passwords"), "{body}");

        let provider = match provider {
            Ok(p) => p,
            Err(why) => {
                println!("skipped (the rest): {why}");
                return;
            }
        };
        let (status, body) = api("PUT", &url, &admin_token, Some(good(provider.issuer())));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["issuer_url"], provider.issuer());
        assert!(body.get("client_secret").is_none(), "{body}");
        assert!(!body.to_string().contains(SECRET), "the secret is never answered");
        assert!(body["redirect_url"].as_str().unwrap().ends_with("/sso/callback"));
        // Stored sealed, never in clear.
        let record = handle.block_on(store.sso_record(&studio2)).unwrap().unwrap();
        assert!(!record.client_secret.contains(SECRET), "sealed");
        assert!(!record.client_secret.is_empty());
        // A later bad change leaves the good settings as they were.
        let (status, _) = api("PUT", &url, &admin_token, Some(good("http://127.0.0.1:9/")));
        assert_eq!(status, 422);
        let (_, shown) = api("GET", &url, &admin_token, None);
        assert_eq!(shown["issuer_url"], provider.issuer(), "{shown}");
        // The settings without a secret keep the stored one (discovery passes with it).
        let mut keep = good(provider.issuer());
        keep.as_object_mut().unwrap().remove("client_secret");
        keep["claim"] = json!("roles");
        let (status, body) = api("PUT", &url, &admin_token, Some(keep));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["claim"], "roles");
        let (status, _) = api("DELETE", &url, &admin_token, None);
        assert_eq!(status, 204);
        let (_, shown) = api("GET", &url, &admin_token, None);
        assert_eq!(shown["configured"], false);
    })
    .await
    .unwrap();
    assert!(server.store.sso_record(&studio).await.unwrap().is_none());
}
