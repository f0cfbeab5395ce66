//! "Before release" in-process: the drafted actions of a production as JSON and CSV, refused
//! to a foreign studio, and the report page's form that marks an item's obligations done
//! with the edited text as evidence.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use greenlight_server::{AppState, ServerConfig, app};
use greenlight_store::input::NewProduction;
use greenlight_store::{
    NewMember, OrgKind, ProductionFacts, Role, SigningKey, Store, StoreConfig, UserId,
};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const DE_AGEING: &str = "greenlight: declaration/v1
production:
  title: The Lighthouse Keeper
use:
  ref: LK-004
  summary: De-ageing of the lead in the 1990s flashback
  purpose: talent
tools:
  - name: Acme Imagine Enterprise
    enterprise_agreement: true
    data_use: none
outputs:
  final: true
  prominence: featured
  media: [video]
talent:
  - performer: Mara Quinn
    treatment: re-ageing
";

struct T {
    state: AppState,
    _dir: tempfile::TempDir,
    partner: String,
    reviewer_id: UserId,
    production: String,
}

struct Res {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Res {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

impl T {
    async fn new() -> T {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = StoreConfig::new(format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("t.db").display()
        ));
        config.signing_key = Some(SigningKey::generate());
        config.checkpoint_log = Some(dir.path().join("checkpoints.jsonl"));
        let store = Store::open(config).await.expect("store opens");
        let b = store
            .bootstrap_admin("Northlight Studios", "admin@northlight.example", "")
            .await
            .expect("bootstrap");
        let admin = store
            .principal_by_secret(&b.token)
            .await
            .expect("lookup")
            .expect("token works");
        let company = store
            .create_org(&admin, "Harbour Films", OrgKind::ProductionCompany)
            .await
            .expect("org");
        let facts = ProductionFacts {
            title: "The Lighthouse Keeper".into(),
            kind: "scripted".into(),
            eu_release: true,
            release_date: chrono::NaiveDate::from_ymd_opt(2027, 3, 5),
        };
        let production = store
            .create_production(&admin, &b.org.id, NewProduction { facts, packs: None })
            .await
            .expect("production");
        store
            .link_org(&admin, &production.id, &company.id)
            .await
            .expect("link");
        let mut users = Vec::new();
        for (org, email, role) in [
            (&company.id, "producer@harbour.example", Role::Partner),
            (&b.org.id, "reviewer@northlight.example", Role::Reviewer),
        ] {
            let u = store
                .add_member(
                    &admin,
                    org,
                    NewMember {
                        email: email.into(),
                        name: String::new(),
                        roles: vec![role],
                        password: None,
                    },
                )
                .await
                .expect("member");
            users.push(u);
        }
        let partner = store
            .system_create_token(&users[0].id, "test")
            .await
            .expect("token");
        T {
            state: AppState::new(store, ServerConfig::default()),
            _dir: dir,
            partner,
            reviewer_id: users[1].id.clone(),
            production: production.id.0,
        }
    }

    async fn call(&self, req: axum::http::request::Builder, body: impl Into<Body>) -> Res {
        let res = app(self.state.clone())
            .oneshot(req.body(body.into()).expect("request builds"))
            .await
            .expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let body = res
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        Res {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, uri: &str, token: &str, accept: Option<&str>) -> Res {
        let mut req = Request::builder()
            .method(Method::GET)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        if let Some(a) = accept {
            req = req.header(header::ACCEPT, a);
        }
        self.call(req, Body::empty()).await
    }

    async fn submit(&self) {
        let uri = format!("/api/v1/productions/{}/declarations", self.production);
        let req = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.partner))
            .header(header::CONTENT_TYPE, "application/yaml");
        let r = self.call(req, DE_AGEING).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
}

fn actions_uri(t: &T) -> String {
    format!("/api/v1/productions/{}/disclosure/actions", t.production)
}

#[tokio::test]
async fn actions_as_json_and_csv_and_refused_to_a_foreign_studio() {
    let t = T::new().await;
    t.submit().await;

    let r = t.get(&actions_uri(&t), &t.partner, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let list = r.json();
    assert_eq!(list["title"], "The Lighthouse Keeper");
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(items[0]["kind"], "credit");
    assert_eq!(
        items[0]["text"],
        "This programme contains content generated or altered with artificial intelligence: \
         de-ageing of the lead in the 1990s flashback."
    );
    assert_eq!(items[0]["due"], "2027-03-05");
    assert_eq!(items[0]["covers"][0]["rule"], "EU-50-4-DEEPFAKE-ARTISTIC");
    assert_eq!(items[0]["covers"][0]["use"], "LK-004");
    assert_eq!(items[0]["done"], false);
    assert_eq!(items[1]["kind"], "keep-marking");
    assert_eq!(items[1]["media"][0], "video");
    assert_eq!(list["open"], 2);

    for (uri, accept) in [
        (format!("{}?format=csv", actions_uri(&t)), None),
        (actions_uri(&t), Some("text/csv")),
    ] {
        let r = t.get(&uri, &t.partner, accept).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.content_type().starts_with("text/csv"),
            "{}",
            r.content_type()
        );
        let csv = r.text();
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("kind,text,uses,media,due,done,covers,evidence")
        );
        assert!(
            lines
                .next()
                .expect("credit")
                .starts_with("\"credit\",\"This programme")
        );
        assert!(
            lines
                .next()
                .expect("marking")
                .starts_with("\"keep-marking\"")
        );
    }
    let r = t
        .get(&format!("{}?format=xml", actions_uri(&t)), &t.partner, None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // A foreign studio, every role, sees nothing.
    let store = &t.state.store;
    let rival = store
        .bootstrap_admin("Rival Pictures", "admin@rival.example", "")
        .await
        .expect("bootstrap");
    let rival_admin = store
        .principal_by_secret(&rival.token)
        .await
        .expect("lookup")
        .expect("token");
    let mut foreign = vec![rival.token.clone()];
    for (i, role) in [Role::Partner, Role::Reviewer, Role::Legal, Role::Auditor]
        .into_iter()
        .enumerate()
    {
        let u = store
            .add_member(
                &rival_admin,
                &rival.org.id,
                NewMember {
                    email: format!("r{i}@rival.example"),
                    name: String::new(),
                    roles: vec![role],
                    password: None,
                },
            )
            .await
            .expect("member");
        foreign.push(store.system_create_token(&u.id, "t").await.expect("token"));
    }
    for token in &foreign {
        for uri in [actions_uri(&t), format!("{}?format=csv", actions_uri(&t))] {
            let r = t.get(&uri, token, None).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}: {}", r.text());
            assert!(!r.text().contains("LK-004"));
        }
    }
    let doc = t
        .call(
            Request::builder()
                .method(Method::GET)
                .uri("/api/openapi.json"),
            Body::empty(),
        )
        .await
        .json();
    assert!(doc["paths"]["/api/v1/productions/{id}/disclosure/actions"]["get"].is_object());
    let r = t
        .call(
            Request::builder().method(Method::GET).uri(actions_uri(&t)),
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// The value of the first `name="…" value="…"` input after `from` in a page.
fn input_value(html: &str, name: &str, from: usize) -> Option<(String, usize)> {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html[from..].find(&needle)? + from + needle.len();
    let end = html[start..].find('"')? + start;
    Some((html[start..end].to_owned(), end))
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn the_report_marks_the_edited_credit_line_done() {
    let t = T::new().await;
    t.submit().await;
    let secret = t
        .state
        .store
        .create_session(&t.reviewer_id, std::time::Duration::from_secs(3600))
        .await
        .expect("session");
    let cookie = format!("gl_session={secret}");
    let report = format!("/productions/{}/report", t.production);
    let page = |cookie: String| {
        Request::builder()
            .method(Method::GET)
            .uri(report.clone())
            .header(header::COOKIE, cookie)
    };

    let r = t.call(page(cookie.clone()), Body::empty()).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("Before release"));
    assert!(html.contains("de-ageing of the lead in the 1990s flashback."));
    let form_at = html
        .find("/report/actions")
        .expect("an open item has a form");
    let (csrf, _) = input_value(&html, "csrf", form_at).expect("csrf");
    let (obligation, _) = input_value(&html, "obligation", form_at).expect("obligation");

    let post = |body: String| {
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/productions/{}/report/actions", t.production))
            .header(header::COOKIE, cookie.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        (req, body)
    };
    let edited = "Contains scenes altered with AI: the lead de-aged in the 1990s flashback.";

    // Without the CSRF token nothing changes.
    let (req, body) = post(form_encode(&[
        ("obligation", &obligation),
        ("evidence", edited),
    ]));
    assert_eq!(t.call(req, body).await.status, StatusCode::FORBIDDEN);
    let list = t.get(&actions_uri(&t), &t.partner, None).await.json();
    assert_eq!(list["items"][0]["done"], false);

    let (req, body) = post(form_encode(&[
        ("csrf", &csrf),
        ("obligation", &obligation),
        ("evidence", edited),
    ]));
    let r = t.call(req, body).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());

    let list = t.get(&actions_uri(&t), &t.partner, None).await.json();
    assert_eq!(list["items"][0]["kind"], "credit");
    assert_eq!(list["items"][0]["done"], true);
    assert_eq!(list["items"][0]["covers"][0]["evidence"], edited);
    assert_eq!(list["items"][1]["done"], false);
    assert_eq!(list["open"], 1);

    // Posting it again: the obligation is no longer open.
    let (req, body) = post(form_encode(&[
        ("csrf", &csrf),
        ("obligation", &obligation),
        ("evidence", edited),
    ]));
    assert_eq!(t.call(req, body).await.status, StatusCode::CONFLICT);

    let html = t.call(page(cookie.clone()), Body::empty()).await.text();
    assert!(html.contains("the lead de-aged in the 1990s flashback."));
}
