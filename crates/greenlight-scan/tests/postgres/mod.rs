//! A throwaway PostgreSQL database for the bank store's tests: created on the server named by
//! `GREENLIGHT_TEST_POSTGRES_URL` under a unique name, dropped afterwards.
#![allow(dead_code)]

use sqlx::Connection;

/// A freshly created database, dropped by [`FreshDb::drop_database`].
pub struct FreshDb {
    pub url: String,
    name: String,
    admin: sqlx::PgConnection,
}

impl FreshDb {
    /// Creates `gl_{label}_…`; `None` (after saying so) when no test server is configured.
    pub async fn create(label: &str, what: &str) -> Option<FreshDb> {
        let Ok(base) = std::env::var("GREENLIGHT_TEST_POSTGRES_URL") else {
            eprintln!("skipped: GREENLIGHT_TEST_POSTGRES_URL is not set, so {what} is not tested");
            return None;
        };
        let name = format!(
            "gl_{label}_{}_{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
        );
        let mut admin = sqlx::PgConnection::connect(&base)
            .await
            .expect("admin connection");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create database");
        let url = match base.rfind('/') {
            Some(i) if base[..i].ends_with(|c: char| c != '/') => format!("{}/{name}", &base[..i]),
            _ => format!("{base}/{name}"),
        };
        Some(FreshDb { url, name, admin })
    }

    /// Drops the database.
    pub async fn drop_database(mut self) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut self.admin)
        .await
        .expect("drop database");
    }
}
