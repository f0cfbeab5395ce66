//! Connecting, migrations, and the few places SQLite and PostgreSQL differ.
//!
//! Both databases are reached through sqlx's `Any` driver with one SQL dialect: `$1`
//! placeholders (SQLite accepts them too), TEXT ids, timestamps as fixed-width RFC 3339
//! text (so they sort as text), JSON as TEXT, integers as BIGINT. See
//! `docs/decisions/0100-one-sql-dialect-through-sqlx-any.md`.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection, Executor};

use crate::{Backend, Result, StoreError};

/// SQLite settings applied to every connection: WAL, full fsync on commit, wait for locks.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;";

#[derive(Clone)]
pub(crate) struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    pub url: String,
}

pub(crate) fn backend_of(url: &str) -> Result<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::invalid(
            "database_url",
            format!("{} is neither sqlite:// nor postgres://", redact_url(url)),
        ))
    }
}

/// An SQLite URL that creates its file when missing (`mode=rwc`), after creating the file's
/// folder; any other URL as it is.
pub(crate) fn creating(url: &str) -> Result<String> {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Ok(url.to_owned());
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        return Ok(url.to_owned());
    }
    if let Some(dir) = std::path::Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Backend(format!("creating the folder {}: {e}", dir.display()))
        })?;
    }
    let params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("mode="))
        .chain(["mode=rwc"])
        .collect();
    let prefix = &url[..url.len() - rest.len()];
    Ok(format!("{prefix}{path}?{}", params.join("&")))
}

/// The file of an SQLite URL; `None` for an in-memory database or a URL of another backend.
pub(crate) fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    use std::str::FromStr;
    if backend_of(url).ok()? != Backend::Sqlite {
        return None;
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    let file = options.get_filename();
    let in_memory = file.as_os_str().is_empty() || file.as_os_str() == ":memory:";
    (!in_memory).then(|| file.to_path_buf())
}

/// The URL with any password replaced by `***`, for logs, messages and `Debug`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Db {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(url)?;
        let options = connect_options(url)?;
        let mut pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30));
        if backend == Backend::Sqlite {
            pool = pool.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(SQLITE_PRAGMAS).await?;
                    Ok(())
                })
            });
        }
        let pool = pool.connect_with(options).await?;
        Ok(Db {
            pool,
            backend,
            url: url.to_owned(),
        })
    }

    /// A connection of its own for the writer task (not taken from the pool).
    pub async fn dedicated(&self) -> Result<AnyConnection> {
        let mut conn = connect_options(&self.url)?.connect().await?;
        if self.backend == Backend::Sqlite {
            conn.execute(SQLITE_PRAGMAS).await?;
        }
        Ok(conn)
    }

    pub async fn migrate(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        // One migrator knows every version, the bank tables' (5000..) included, so a version
        // it does not know means a newer binary migrated this database: refused, not ignored.
        // Versions are applied by number, whatever was applied before: a new store migration
        // (0140..) below the bank tables' runs on a database that already has 5000..
        // (`migrations_below_recorded_ones_still_apply` in tests/upgrade.rs).
        if self.backend == Backend::Postgres {
            // Two instances starting at once: one migrates, the other waits.
            conn.execute("SELECT 1 FROM (SELECT pg_advisory_lock(7340001)) AS l")
                .await?;
        }
        let result = migrator.run(&mut *conn).await;
        if self.backend == Backend::Postgres {
            conn.execute("SELECT 1 FROM (SELECT pg_advisory_unlock(7340001)) AS l")
                .await?;
        }
        result?;
        Ok(())
    }

    pub async fn ping(&self) -> bool {
        match self.pool.acquire().await {
            Ok(mut c) => c.ping().await.is_ok(),
            Err(_) => false,
        }
    }
}

fn connect_options(url: &str) -> Result<AnyConnectOptions> {
    let mut options: AnyConnectOptions = url
        .parse()
        .map_err(|e: sqlx::Error| StoreError::invalid("database_url", e.to_string()))?;
    options = options.disable_statement_logging();
    Ok(options)
}

/// Timestamps are stored as fixed-width UTC text so that text order is time order.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Backend(format!("bad timestamp {s:?} in database: {e}")))
}

pub(crate) fn parse_opt_ts(s: Option<String>) -> Result<Option<DateTime<Utc>>> {
    s.as_deref().map(parse_ts).transpose()
}

pub(crate) fn parse_date(s: &str) -> Result<chrono::NaiveDate> {
    s.parse()
        .map_err(|e| StoreError::Backend(format!("bad date {s:?} in database: {e}")))
}

pub(crate) fn parse_opt_date(s: Option<String>) -> Result<Option<chrono::NaiveDate>> {
    s.as_deref().map(parse_date).transpose()
}

pub(crate) fn parse_enum<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|e| StoreError::Backend(format!("bad value in database: {e}")))
}

/// An outcome as the database stores it (`written_approval`).
pub(crate) fn parse_outcome(s: &str) -> Result<greenlight_core::Outcome> {
    greenlight_core::Outcome::parse(s)
        .ok_or_else(|| StoreError::Backend(format!("bad outcome in database: {s:?}")))
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Backend(format!("bad JSON in database: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("store records serialize to JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacting_hides_the_password_only() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact_url("sqlite://a.db?mode=rwc"),
            "sqlite://a.db?mode=rwc"
        );
    }

    #[test]
    fn a_creating_url_asks_sqlite_to_create_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("sub/gl.db");
        let url = format!("sqlite://{}", db.display());
        assert_eq!(
            creating(&url).expect("url"),
            format!("sqlite://{}?mode=rwc", db.display())
        );
        assert!(db.parent().expect("parent").is_dir(), "the folder is made");
        let url = format!("sqlite://{}?mode=ro&foo=1", db.display());
        assert_eq!(
            creating(&url).expect("url"),
            format!("sqlite://{}?foo=1&mode=rwc", db.display())
        );
        assert_eq!(
            creating("postgres://u@h/db").expect("url"),
            "postgres://u@h/db"
        );
    }

    #[test]
    fn timestamps_sort_as_text() {
        let a = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").map(|t| t.with_timezone(&Utc));
        let b =
            DateTime::parse_from_rfc3339("2026-01-02T03:04:05.5Z").map(|t| t.with_timezone(&Utc));
        let (a, b) = (ts(a.expect("valid")), ts(b.expect("valid")));
        assert!(a < b, "{a} < {b}");
    }
}

/// The `VALUES` list of a multi-row insert: `($1,$2),($3,$4)` for 2 rows of 2 columns,
/// numbered from `$1` (both SQLite and PostgreSQL read `$n`).
pub(crate) fn values_list(rows: usize, columns: usize) -> String {
    let mut sql = String::new();
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..columns {
            if c > 0 {
                sql.push(',');
            }
            n += 1;
            sql.push('$');
            sql.push_str(&n.to_string());
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod values_list_tests {
    use super::values_list;

    #[test]
    fn placeholders_number_every_value_row_after_row() {
        assert_eq!(values_list(2, 3), "($1,$2,$3),($4,$5,$6)");
        assert_eq!(values_list(1, 1), "($1)");
        assert_eq!(values_list(0, 4), "");
    }
}
