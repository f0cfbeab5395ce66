//! A throwaway PostgreSQL database for the bank store's tests (see `greenlight-test-db`).
#![allow(dead_code)]

/// A freshly created database, dropped by [`FreshDb::drop_database`].
pub struct FreshDb {
    pub url: String,
    db: greenlight_test_db::FreshPostgres,
}

impl FreshDb {
    /// Creates `gl_{label}_…`; `None` (after saying so) when no test server is configured.
    pub async fn create(label: &str, what: &str) -> Option<FreshDb> {
        let db = greenlight_test_db::FreshPostgres::create(label, what).await?;
        Some(FreshDb {
            url: db.url.clone(),
            db,
        })
    }

    /// Drops the database.
    pub async fn drop_database(self) {
        self.db.drop().await;
    }
}
