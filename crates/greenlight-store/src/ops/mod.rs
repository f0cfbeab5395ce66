//! The store's operations, one module per resource. Reads use the pool; writes go through
//! the writer (group commit) and record their audit entries there.

mod audit_log;
mod declarations;
mod disclosure;
mod disclosure_text;
mod productions;
mod registry;
mod scan_uses;
mod tenancy;

pub use declarations::TriagePreview;
pub use disclosure::{Disclosure, DisclosureRow, ReportScope};
pub use scan_uses::{KEEP_MARKING, ScanUse};
pub use tenancy::{Bootstrap, NewMember};

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::writer::{BoxFuture, WriteCtx};
use crate::{Result, Store, StoreError};

impl Store {
    /// Queues a write and waits for the commit that holds it.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a mut WriteCtx) -> BoxFuture<'a, Result<T>> + Send + 'static,
    {
        self.inner.writer.write(f).await
    }

    /// Queues a write that only reads on the connection and defers its rows.
    pub(crate) async fn write_deferred<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a mut WriteCtx) -> BoxFuture<'a, Result<T>> + Send + 'static,
    {
        self.inner.writer.write_deferred(f).await
    }

    pub(crate) fn pool(&self) -> &sqlx::AnyPool {
        &self.inner.db.pool
    }
}

pub(crate) fn get_s(row: &AnyRow, col: &str) -> Result<String> {
    Ok(row.try_get::<String, _>(col)?)
}

pub(crate) fn get_os(row: &AnyRow, col: &str) -> Result<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(col)?)
}

pub(crate) fn get_i(row: &AnyRow, col: &str) -> Result<i64> {
    Ok(row.try_get::<i64, _>(col)?)
}

/// A required, trimmed, non-empty text field of a request.
pub(crate) fn required(path: &str, value: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(StoreError::invalid(path, "must not be empty"));
    }
    Ok(v.to_owned())
}

/// Today in UTC (the clock lives here, not in the core).
pub(crate) fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}
