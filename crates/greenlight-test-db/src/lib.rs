//! Test databases for Greenlight's own tests, and nothing else (a dev-dependency of the
//! crates that talk to a database): a freshly created PostgreSQL database under a unique name
//! on the server `GREENLIGHT_TEST_POSTGRES_URL` names, dropped afterwards. Without the
//! variable, [`FreshPostgres::create`] says what is skipped and answers `None`, so the
//! PostgreSQL half of a test is skipped with a reason and the SQLite half still runs.
//!
//! ```no_run
//! # async fn story() {
//! if let Some(db) = greenlight_test_db::FreshPostgres::create("ledger", "the ledger").await {
//!     // ... open a store on db.url ...
//!     db.drop().await;
//! }
//! # }
//! ```

use sqlx::Connection;

/// The environment variable naming the test server (an admin URL, e.g.
/// `postgres://postgres@127.0.0.1:5432/postgres`).
pub const ENV: &str = "GREENLIGHT_TEST_POSTGRES_URL";

/// A database created for one test.
#[derive(Debug)]
pub struct FreshPostgres {
    /// Its URL: the admin URL with the database name replaced.
    pub url: String,
    /// Its name (`gl_{label}_{uuid}`).
    pub name: String,
    admin: String,
}

impl FreshPostgres {
    /// Creates a database for `label`; `None`, after printing that `what` is not tested on
    /// PostgreSQL, when [`ENV`] is not set. Panics when the server named cannot be reached:
    /// a configured test server that is down is a failure, not a skip.
    pub async fn create(label: &str, what: &str) -> Option<FreshPostgres> {
        let Ok(admin) = std::env::var(ENV) else {
            eprintln!("skipped: {ENV} is not set, so {what} is not tested on PostgreSQL");
            return None;
        };
        let label: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let name = format!("gl_{label}_{}", uuid::Uuid::new_v4().simple());
        let url = database_url(&admin, &name)
            .unwrap_or_else(|e| panic!("{ENV} is not a URL ({e}): {admin}"));
        let mut c = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("{ENV} is not reachable: {e}"));
        sqlx::Executor::execute(
            &mut c,
            sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")),
        )
        .await
        .expect("create the test database");
        Some(FreshPostgres { url, name, admin })
    }

    /// As [`FreshPostgres::create`], for tests that are not async.
    pub fn create_blocking(label: &str, what: &str) -> Option<FreshPostgres> {
        runtime().block_on(Self::create(label, what))
    }

    /// Drops the database (connections still open are closed by the server).
    pub async fn drop(self) {
        let mut c = sqlx::PgConnection::connect(&self.admin)
            .await
            .unwrap_or_else(|e| panic!("{ENV} is not reachable: {e}"));
        sqlx::Executor::execute(
            &mut c,
            sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            )),
        )
        .await
        .expect("drop the test database");
    }

    /// As [`FreshPostgres::drop`], for tests that are not async.
    pub fn drop_blocking(self) {
        runtime().block_on(self.drop());
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime builds")
}

/// The URL of database `name` on the server of `admin`: the same user, host, port and query
/// parameters, another path.
pub fn database_url(admin: &str, name: &str) -> Result<String, url::ParseError> {
    let mut u = url::Url::parse(admin)?;
    u.set_path(&format!("/{name}"));
    Ok(u.to_string())
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn the_database_name_replaces_the_path_and_keeps_the_rest() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "gl_x").unwrap(),
            "postgres://postgres@127.0.0.1:5432/gl_x"
        );
        assert_eq!(
            database_url("postgres://u:p@db.example/postgres?sslmode=require", "gl_x").unwrap(),
            "postgres://u:p@db.example/gl_x?sslmode=require"
        );
        assert_eq!(
            database_url("postgres://postgres@localhost", "gl_x").unwrap(),
            "postgres://postgres@localhost/gl_x"
        );
        assert!(database_url("not a url", "gl_x").is_err());
    }
}
