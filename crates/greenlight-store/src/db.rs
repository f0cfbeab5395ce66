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

/// A timestamp column read by hand (rows mapped by `FromRow` name [`Ts`] instead).
#[allow(dead_code)]
pub(crate) fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::from_text(s).map_err(StoreError::Backend)
}

/// A nullable timestamp column read by hand (rows mapped by `FromRow` name [`OptTs`]).
#[allow(dead_code)]
pub(crate) fn parse_opt_ts(s: Option<String>) -> Result<Option<DateTime<Utc>>> {
    s.as_deref().map(parse_ts).transpose()
}

pub(crate) fn parse_enum<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|e| StoreError::Backend(format!("bad value in database: {e}")))
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Backend(format!("bad JSON in database: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("store records serialize to JSON")
}

// Reading columns into the store's types, for rows mapped with `#[derive(sqlx::FromRow)]`.
// The store keeps ids, enums, timestamps, dates, outcomes and JSON as TEXT and booleans as
// BIGINT 0/1; sqlx's `Any` driver decodes only TEXT, integers and blobs. The store's own ids
// and enums decode directly (`model.rs` declares them with [`text_column!`]); a field of a
// type from elsewhere names a wrapper below with `#[sqlx(try_from = "Ts")]`, which parses
// the text and hands the value over through `From`. A value that does not parse is a decode
// error naming the column, and reaches callers as `StoreError::Backend`.

/// A value the store keeps as TEXT, parsed on the way out.
pub trait FromText: Sized {
    /// The value of `text`, or what is wrong with it.
    fn from_text(text: &str) -> Result<Self, String>;
}

/// Makes a type of this crate a TEXT column that `FromRow` decodes directly (an `Option` of
/// it is NULL when the column is).
macro_rules! text_column {
    ($t:ty) => {
        impl sqlx::Type<sqlx::Any> for $t {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $t {
            fn decode(
                value: <sqlx::Any as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
                Ok(<$t as $crate::db::FromText>::from_text(text)?)
            }
        }
    };
}
pub(crate) use text_column;

/// A TEXT column read as a `T` of another crate (see [`Ts`]).
pub struct Text<T>(T);

/// A nullable TEXT column read as an `Option<T>` of another crate (see [`OptTs`]).
pub struct OptText<T>(Option<T>);

/// A BIGINT 0/1 column read as a `bool`.
pub struct Flag(bool);

/// A TEXT column holding JSON, read as a `T` (a NULL reads as JSON `null`, so as `None` when
/// `T` is an `Option`).
pub struct Json<T>(T);

/// A timestamp (fixed-width RFC 3339 text).
pub type Ts = Text<DateTime<Utc>>;
/// A timestamp or NULL.
pub type OptTs = OptText<DateTime<Utc>>;
/// A date (`2026-05-04`).
pub type Day = Text<chrono::NaiveDate>;
/// A date or NULL.
pub type OptDay = OptText<chrono::NaiveDate>;
/// An outcome as stored (`written_approval`).
pub type OutcomeText = Text<greenlight_core::Outcome>;

impl FromText for DateTime<Utc> {
    fn from_text(text: &str) -> Result<Self, String> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("bad timestamp {text:?} in database: {e}"))
    }
}

impl FromText for chrono::NaiveDate {
    fn from_text(text: &str) -> Result<Self, String> {
        text.parse()
            .map_err(|e| format!("bad date {text:?} in database: {e}"))
    }
}

impl FromText for greenlight_core::Outcome {
    fn from_text(text: &str) -> Result<Self, String> {
        greenlight_core::Outcome::parse(text)
            .ok_or_else(|| format!("bad outcome in database: {text:?}"))
    }
}

fn text_type() -> sqlx::any::AnyTypeInfo {
    <String as sqlx::Type<sqlx::Any>>::type_info()
}

type ValueRef<'r> = <sqlx::Any as sqlx::Database>::ValueRef<'r>;

impl<T> sqlx::Type<sqlx::Any> for Text<T> {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        text_type()
    }
}

impl<'r, T: FromText> sqlx::Decode<'r, sqlx::Any> for Text<T> {
    fn decode(value: ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <&str as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
        Ok(Text(T::from_text(text)?))
    }
}

impl<T> sqlx::Type<sqlx::Any> for OptText<T> {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        text_type()
    }
}

impl<'r, T: FromText> sqlx::Decode<'r, sqlx::Any> for OptText<T> {
    fn decode(value: ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <Option<&str> as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
        Ok(OptText(text.map(T::from_text).transpose()?))
    }
}

impl sqlx::Type<sqlx::Any> for Flag {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <i64 as sqlx::Type<sqlx::Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <i64 as sqlx::Type<sqlx::Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Any> for Flag {
    fn decode(value: ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Flag(
            <i64 as sqlx::Decode<'r, sqlx::Any>>::decode(value)? != 0,
        ))
    }
}

impl<T> sqlx::Type<sqlx::Any> for Json<T> {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        text_type()
    }
}

impl<'r, T: serde::de::DeserializeOwned> sqlx::Decode<'r, sqlx::Any> for Json<T> {
    fn decode(value: ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <Option<&str> as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
        Ok(Json(parse_json(text.unwrap_or("null"))?))
    }
}

impl From<Flag> for bool {
    fn from(f: Flag) -> bool {
        f.0
    }
}

/// `From` the wrappers for each type a row reads through them (a generic `impl<T> From<Text<T>>
/// for T` is not allowed: it would cover types of other crates).
macro_rules! unwrap_into {
    ($wrapper:ident: $($t:ty),+ $(,)?) => {$(
        impl From<$wrapper<$t>> for $t {
            fn from(w: $wrapper<$t>) -> $t {
                w.0
            }
        }
    )+};
}

unwrap_into!(Text: DateTime<Utc>, chrono::NaiveDate, greenlight_core::Outcome);
unwrap_into!(
    Json: serde_json::Value,
    greenlight_core::CheckResult,
    crate::model::Decision,
    crate::ops::SsoIntent,
);

impl<T> From<OptText<T>> for Option<T> {
    fn from(w: OptText<T>) -> Option<T> {
        w.0
    }
}

impl<T> From<Json<Vec<T>>> for Vec<T> {
    fn from(w: Json<Vec<T>>) -> Vec<T> {
        w.0
    }
}

impl From<Json<crate::model::Contacts>> for crate::model::Contacts {
    fn from(w: Json<crate::model::Contacts>) -> crate::model::Contacts {
        w.0
    }
}

impl<T> From<Json<Option<T>>> for Option<T> {
    fn from(w: Json<Option<T>>) -> Option<T> {
        w.0
    }
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
mod column_tests {
    use super::*;

    #[derive(Debug, sqlx::FromRow)]
    struct Probe {
        #[sqlx(try_from = "Ts")]
        at: DateTime<Utc>,
        #[sqlx(try_from = "OptTs")]
        gone: Option<DateTime<Utc>>,
        #[sqlx(try_from = "OptDay")]
        day: Option<chrono::NaiveDate>,
        #[sqlx(try_from = "Flag")]
        flag: bool,
        #[sqlx(try_from = "Json<Vec<String>>")]
        list: Vec<String>,
        #[sqlx(try_from = "Json<Option<Vec<String>>>")]
        missing: Option<Vec<String>>,
        #[sqlx(try_from = "OutcomeText")]
        outcome: greenlight_core::Outcome,
        state: crate::model::State,
        decider: Option<crate::model::UserId>,
    }

    async fn probe(select: &str) -> Result<Probe> {
        let db = Db::connect("sqlite::memory:", 1).await?;
        let probe = sqlx::query_as(sqlx::AssertSqlSafe(select.to_owned()))
            .fetch_one(&db.pool)
            .await?;
        db.pool.close().await;
        Ok(probe)
    }

    #[tokio::test]
    async fn text_columns_read_back_as_the_types_they_hold() {
        let p = probe(
            "SELECT '2026-01-02T03:04:05.500000Z' AS at, NULL AS gone, '2026-05-04' AS day, \
             1 AS flag, '[\"a\",\"b\"]' AS list, NULL AS missing, 'written_approval' AS outcome, \
             'in_review' AS state, NULL AS decider",
        )
        .await
        .expect("every column reads");
        assert_eq!(ts(p.at), "2026-01-02T03:04:05.500000Z");
        assert_eq!(p.gone, None);
        assert_eq!(p.day.map(|d| d.to_string()).as_deref(), Some("2026-05-04"));
        assert!(p.flag);
        assert_eq!(p.list, ["a", "b"]);
        assert_eq!(p.missing, None, "NULL reads as JSON null");
        assert_eq!(p.outcome, greenlight_core::Outcome::WrittenApproval);
        assert_eq!(p.state, crate::model::State::InReview);
        assert_eq!(p.decider, None);
    }

    #[tokio::test]
    async fn a_value_that_does_not_parse_is_an_error_naming_its_column() {
        let err = probe(
            "SELECT 'yesterday' AS at, NULL AS gone, NULL AS day, 0 AS flag, '[]' AS list, \
             NULL AS missing, 'notify' AS outcome, 'approved' AS state, NULL AS decider",
        )
        .await
        .expect_err("not a timestamp");
        let text = err.to_string();
        assert!(matches!(err, StoreError::Backend(_)), "{text}");
        assert!(
            text.contains("\"at\"") && text.contains("bad timestamp \"yesterday\""),
            "{text}"
        );
        let err = probe(
            "SELECT '2026-01-02T03:04:05Z' AS at, NULL AS gone, NULL AS day, 0 AS flag, '[]' AS list, \
             NULL AS missing, 'notify' AS outcome, 'pending' AS state, NULL AS decider",
        )
        .await
        .expect_err("not a state");
        assert!(
            err.to_string().contains("\"pending\" is not one of"),
            "{err}"
        );
    }
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
