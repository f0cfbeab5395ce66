//! What the server's in-process tests share: a store holding a studio and a production
//! company linked to one production, a member of each role with an API token, a foreign
//! studio on demand, and requests sent through the router with `tower::ServiceExt::oneshot`
//! (axum's `examples/testing`).
//!
//! Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use greenlight_server::{AppState, ServerConfig, app};
use greenlight_store::input::NewProduction;
use greenlight_store::{
    Bootstrap, NewMember, OrgId, OrgKind, Principal, ProductionFacts, Role, SigningKey, Store,
    StoreConfig, UserId,
};
use http_body_util::BodyExt;
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;

/// A response, read whole.
pub struct Res {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Res {
    /// The body as JSON, `Null` when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `Content-Type`, empty when there is none.
    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `ETag`; the test fails when there is none.
    pub fn etag(&self) -> String {
        self.headers
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .expect("an ETag")
            .to_owned()
    }

    /// Fails the test, showing the body, unless the status is `expected`.
    #[track_caller]
    pub fn assert_status(&self, expected: StatusCode) {
        assert_eq!(self.status, expected, "{}", self.text());
    }
}

/// The facts of the production every test works on: scripted, no EU release.
pub fn lighthouse_keeper() -> ProductionFacts {
    ProductionFacts {
        title: "The Lighthouse Keeper".into(),
        kind: "scripted".into(),
        eu_release: false,
        release_date: None,
        agreements: vec![],
    }
}

/// Northlight Studios with its production "The Lighthouse Keeper", linked to the partner
/// Harbour Films, served in-process. Each field named after a role holds the API token of a
/// member holding that role (the partner at Harbour Films, the others at the studio).
pub struct Studio {
    pub state: AppState,
    pub admin: String,
    pub partner: String,
    pub reviewer: String,
    pub legal: String,
    pub auditor: String,
    pub production: String,
    /// Holds the SQLite file (when there is one) and the checkpoint log.
    _dir: TempDir,
}

/// Another studio with a member of every role, none of them in Northlight's organisations.
pub struct Rival {
    pub org: OrgId,
    pub admin: String,
    pub partner: String,
    pub reviewer: String,
    pub legal: String,
    pub auditor: String,
}

impl Rival {
    /// Every member's token, the admin's first.
    pub fn tokens(&self) -> [&str; 5] {
        [
            &self.admin,
            &self.partner,
            &self.reviewer,
            &self.legal,
            &self.auditor,
        ]
    }
}

/// Creates a studio with its first admin: the bootstrap result and the admin as a principal.
async fn bootstrap(store: &Store, name: &str, email: &str) -> (Bootstrap, Principal) {
    let b = store
        .bootstrap_admin(name, email, "")
        .await
        .expect("bootstrap");
    let admin = store
        .principal_by_secret(&b.token)
        .await
        .expect("lookup")
        .expect("token works");
    (b, admin)
}

/// Adds each `(org, email, role)` as a member and answers their API tokens, in order.
async fn add_members<const N: usize>(
    store: &Store,
    admin: &Principal,
    members: [(&OrgId, &str, Role); N],
) -> [String; N] {
    let mut tokens = Vec::new();
    for (org, email, role) in members {
        let u = store
            .add_member(
                admin,
                org,
                NewMember {
                    email: email.into(),
                    name: String::new(),
                    roles: vec![role],
                    password: None,
                },
            )
            .await
            .expect("member")
            .added()
            .expect("a new person");
        tokens.push(
            store
                .system_create_token(&u.id, "test")
                .await
                .expect("token"),
        );
    }
    tokens.try_into().expect("one token per member")
}

/// A freshly created PostgreSQL database for one test, dropped by [`TestPostgres::drop`].
pub struct TestPostgres {
    pub url: String,
    db: greenlight_test_db::FreshPostgres,
}

impl TestPostgres {
    /// A new database on the server of `GREENLIGHT_TEST_POSTGRES_URL`; `None` (with a line
    /// saying what was skipped) when the variable is not set.
    pub async fn create(what: &str) -> Option<TestPostgres> {
        let db = greenlight_test_db::FreshPostgres::create("server_test", what).await?;
        Some(TestPostgres {
            url: db.url.clone(),
            db,
        })
    }

    /// Drops the database (after the store using it is closed).
    pub async fn drop(self) {
        self.db.drop().await;
    }
}

impl Studio {
    /// The studio on a fresh SQLite file.
    pub async fn sqlite(facts: ProductionFacts) -> Studio {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        Studio::open(&url, dir, facts).await
    }

    /// The studio in the empty database at `url`, with the checkpoint log in `dir`.
    pub async fn open(url: &str, dir: TempDir, facts: ProductionFacts) -> Studio {
        let mut config = StoreConfig::new(url);
        config.signing_key = Some(SigningKey::generate());
        config.checkpoint_log = Some(dir.path().join("checkpoints.jsonl"));
        let store = Store::open(config).await.expect("store opens");
        let (b, admin) = bootstrap(&store, "Northlight Studios", "admin@northlight.example").await;
        let company = store
            .create_org(&admin, "Harbour Films", OrgKind::ProductionCompany)
            .await
            .expect("org");
        let production = store
            .create_production(&admin, &b.org.id, NewProduction { facts, packs: None })
            .await
            .expect("production");
        store
            .link_org(&admin, &production.id, &company.id)
            .await
            .expect("link");
        let [partner, reviewer, legal, auditor] = add_members(
            &store,
            &admin,
            [
                (&company.id, "producer@harbour.example", Role::Partner),
                (&b.org.id, "reviewer@northlight.example", Role::Reviewer),
                (&b.org.id, "legal@northlight.example", Role::Legal),
                (&b.org.id, "auditor@northlight.example", Role::Auditor),
            ],
        )
        .await;
        Studio {
            state: AppState::new(store, ServerConfig::default()),
            admin: b.token,
            partner,
            reviewer,
            legal,
            auditor,
            production: production.id.0,
            _dir: dir,
        }
    }

    /// The user holding the API token `token`.
    pub async fn user_id(&self, token: &str) -> UserId {
        self.state
            .store
            .principal_by_secret(token)
            .await
            .expect("lookup")
            .expect("token works")
            .user
            .id
    }

    /// Creates Rival Pictures in the same store.
    pub async fn rival(&self) -> Rival {
        let store = &self.state.store;
        let (b, admin) = bootstrap(store, "Rival Pictures", "admin@rival.example").await;
        let [partner, reviewer, legal, auditor] = add_members(
            store,
            &admin,
            [
                (&b.org.id, "partner@rival.example", Role::Partner),
                (&b.org.id, "reviewer@rival.example", Role::Reviewer),
                (&b.org.id, "legal@rival.example", Role::Legal),
                (&b.org.id, "auditor@rival.example", Role::Auditor),
            ],
        )
        .await;
        Rival {
            org: b.org.id,
            admin: b.token,
            partner,
            reviewer,
            legal,
            auditor,
        }
    }

    /// Sends one request through a fresh router on this studio's state; `token` goes in
    /// `Authorization: Bearer`.
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Res {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
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

    pub async fn get(&self, uri: &str, token: &str) -> Res {
        self.call(Method::GET, uri, Some(token), &[], Body::empty())
            .await
    }

    /// A JSON body, with `If-Match` when `if_match` is given.
    pub async fn send_json(
        &self,
        method: Method,
        uri: &str,
        token: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Res {
        let mut h = vec![("content-type", "application/json")];
        if let Some(m) = if_match {
            h.push(("if-match", m));
        }
        self.call(
            method,
            uri,
            Some(token),
            &h,
            serde_json::to_vec(body).expect("json"),
        )
        .await
    }

    pub async fn post_json(
        &self,
        uri: &str,
        token: &str,
        body: Value,
        if_match: Option<&str>,
    ) -> Res {
        self.send_json(Method::POST, uri, token, &body, if_match)
            .await
    }

    /// Submits the declaration `text` (YAML) to the production.
    pub async fn submit(&self, token: &str, text: &str) -> Res {
        let uri = format!("/api/v1/productions/{}/declarations", self.production);
        self.call(
            Method::POST,
            &uri,
            Some(token),
            &[("content-type", "application/yaml")],
            text.to_owned(),
        )
        .await
    }
}
