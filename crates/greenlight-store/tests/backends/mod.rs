//! Test databases: a fresh SQLite file, or a freshly created PostgreSQL database (unique
//! name, dropped afterwards) when `GREENLIGHT_TEST_POSTGRES_URL` is set.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;

use greenlight_store::{NewMember, OrgId, Principal, Role, SigningKey, Store, StoreConfig};

pub struct Db {
    pub url: String,
    pg: Option<greenlight_test_db::FreshPostgres>,
    pub dir: tempfile::TempDir,
    pub key: SigningKey,
}

impl Db {
    pub fn config(&self) -> StoreConfig {
        let mut c = StoreConfig::new(&self.url);
        c.signing_key = Some(self.key.clone());
        c.checkpoint_log = Some(self.dir.path().join("checkpoints.jsonl"));
        c
    }

    pub async fn store(&self) -> Store {
        Store::open(self.config())
            .await
            .expect("the test database opens")
    }

    pub async fn drop(self) {
        if let Some(pg) = self.pg {
            pg.drop().await;
        }
    }
}

pub fn sqlite() -> Db {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
    Db {
        url,
        pg: None,
        dir,
        key: SigningKey::generate(),
    }
}

pub async fn postgres(label: &str) -> Option<Db> {
    let pg = greenlight_test_db::FreshPostgres::create(label, &format!("`{label}`")).await?;
    Some(Db {
        url: pg.url.clone(),
        pg: Some(pg),
        dir: tempfile::tempdir().expect("temp dir"),
        key: SigningKey::generate(),
    })
}

pub async fn with_each_backend<F>(label: &str, story: F)
where
    F: Fn(Db) -> Pin<Box<dyn Future<Output = ()>>>,
{
    story(sqlite()).await;
    if let Some(db) = postgres(label).await {
        story(db).await;
    }
}

/// A new person added by `admin` to `org` with `roles`, signed in.
pub async fn member(
    store: &Store,
    admin: &Principal,
    org: &OrgId,
    email: &str,
    roles: &[Role],
) -> Principal {
    let m = NewMember {
        email: email.into(),
        name: String::new(),
        roles: roles.to_vec(),
        password: None,
    };
    let u = store
        .add_member(admin, org, m)
        .await
        .expect("admin adds a member")
        .added()
        .expect("a new person");
    store.principal(&u.id).await.expect("the member exists")
}
