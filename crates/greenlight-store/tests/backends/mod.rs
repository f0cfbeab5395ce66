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

/// A connection to the database at `url`, migrated with only those of the store's migrations
/// whose version `keep`s: the database as an earlier binary, knowing only those, left it (the
/// same text, so the store's migrator takes them as applied).
pub async fn migrated_with(url: &str, keep: impl Fn(i64) -> bool) -> sqlx::AnyConnection {
    use sqlx::Connection;
    let backend = if url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let copies = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(&folder).expect("the migrations folder") {
        let path = entry.expect("a migration").path();
        let name = path
            .file_name()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        let version = name.split('_').next().and_then(|v| v.parse().ok());
        if version.is_some_and(&keep) {
            std::fs::copy(&path, copies.path().join(&name)).expect("copy a migration");
        }
    }
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    sqlx::migrate::Migrator::new(copies.path())
        .await
        .expect("a migrator of the copies")
        .run(&mut conn)
        .await
        .expect("the earlier migrations apply");
    conn
}

/// The migration versions recorded in the database, in order.
pub async fn versions(conn: &mut sqlx::AnyConnection) -> Vec<i64> {
    use sqlx::Row;
    sqlx::query("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(conn)
        .await
        .expect("the recorded versions")
        .iter()
        .map(|r| r.get::<i64, _>("version"))
        .collect()
}

/// Northlight Studios, bootstrapped on `store`, with its admin and one legal, reviewer and
/// partner (`legal@`, `reviewer@`, `producer@northlight.example`), each signed in.
pub struct Northlight {
    pub org: OrgId,
    pub admin: Principal,
    pub legal: Principal,
    pub reviewer: Principal,
    pub partner: Principal,
}

pub async fn northlight(store: &Store) -> Northlight {
    let b = store
        .bootstrap_admin("Northlight Studios", "admin@northlight.example", "Admin")
        .await
        .expect("bootstrap");
    let admin = store
        .principal_by_secret(&b.token)
        .await
        .expect("lookup")
        .expect("token");
    let org = b.org.id.clone();
    let legal = member(
        store,
        &admin,
        &org,
        "legal@northlight.example",
        &[Role::Legal],
    )
    .await;
    let reviewer = member(
        store,
        &admin,
        &org,
        "reviewer@northlight.example",
        &[Role::Reviewer],
    )
    .await;
    let partner = member(
        store,
        &admin,
        &org,
        "producer@northlight.example",
        &[Role::Partner],
    )
    .await;
    Northlight {
        org,
        admin,
        legal,
        reviewer,
        partner,
    }
}
