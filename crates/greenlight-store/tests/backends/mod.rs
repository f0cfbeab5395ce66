//! Test databases: a fresh SQLite file, or a freshly created PostgreSQL database (unique
//! name, dropped afterwards) when `GREENLIGHT_TEST_POSTGRES_URL` is set.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;

use greenlight_store::{SigningKey, Store, StoreConfig};
use sqlx::Connection;

pub struct Db {
    pub url: String,
    admin_url: Option<String>,
    name: String,
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
        if let Some(admin) = &self.admin_url {
            let mut c = sqlx::PgConnection::connect(admin)
                .await
                .expect("connect to drop");
            let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
            sqlx::Executor::execute(&mut c, sqlx::AssertSqlSafe(sql))
                .await
                .expect("drop the test database");
        }
    }
}

pub fn sqlite() -> Db {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
    Db {
        url,
        admin_url: None,
        name: String::new(),
        dir,
        key: SigningKey::generate(),
    }
}

pub async fn postgres(label: &str) -> Option<Db> {
    let admin = std::env::var("GREENLIGHT_TEST_POSTGRES_URL").ok()?;
    let name = format!("gl_test_{label}_{}", uuid::Uuid::new_v4().simple());
    let mut c = sqlx::PgConnection::connect(&admin)
        .await
        .expect("GREENLIGHT_TEST_POSTGRES_URL is reachable");
    sqlx::Executor::execute(
        &mut c,
        sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")),
    )
    .await
    .expect("create the test database");
    let base = match admin.rfind('/') {
        Some(i)
            if admin[..i].contains("://") && i > admin.find("://").map(|s| s + 2).unwrap_or(0) =>
        {
            admin[..i].to_owned()
        }
        _ => admin.clone(),
    };
    let url = format!("{base}/{name}");
    Some(Db {
        url,
        admin_url: Some(admin),
        name,
        dir: tempfile::tempdir().expect("temp dir"),
        key: SigningKey::generate(),
    })
}

pub async fn with_each_backend<F>(label: &str, story: F)
where
    F: Fn(Db) -> Pin<Box<dyn Future<Output = ()>>>,
{
    story(sqlite()).await;
    match postgres(label).await {
        Some(db) => story(db).await,
        None => eprintln!(
            "skipped the PostgreSQL run of `{label}`: GREENLIGHT_TEST_POSTGRES_URL is not set"
        ),
    }
}
