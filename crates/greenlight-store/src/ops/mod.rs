//! The store's operations, one module per resource. Reads use the pool; writes go through
//! the writer (group commit) and record their audit entries there.

mod audit_log;
mod declarations;
mod disclosure;
mod disclosure_text;
mod links;
mod notices;
mod pack_records;
mod packs;
mod productions;
mod record_state;
mod records;
mod registry;
mod scan_uses;
mod sign_in;
mod tenancy;
mod triage;

pub use declarations::TriagePreview;
pub use disclosure::{Disclosure, DisclosureRow, LedgerOnly, ReportScope};
pub use links::{
    AccountSetup, InvitationLink, IssuedLink, LinkProblem, LinkPurpose, RESET_LINK_MINUTES,
    ResetLink,
};
pub use notices::{
    CONSENT_WARNINGS, NewWebhook, OBLIGATION_HORIZON, ScanRecord, ScanReport, Webhook,
};
pub(crate) use pack_records::store_builtins;
pub use pack_records::{
    MAX_PACK_BYTES, PackRecord, PackTestOutcome, Replay, TriageBasis, UsedPack,
};
pub use packs::{PackChange, PackPreview};
pub use productions::production_etag_of;
pub use scan_uses::{KEEP_MARKING, ScanUse};
pub use sign_in::{
    CHALLENGE_TTL, LinkedIdentity, SignInPolicy, SsoIntent, SsoPending, SsoPerson, SsoRecord,
    TotpRecord,
};
pub use tenancy::{Bootstrap, NewMember};
pub use tenancy::{
    MAX_ROTATION_GRACE_HOURS, MAX_TOKEN_DAYS, ROTATION_GRACE_HOURS, SignedIn, TOKEN_DAYS,
    TokenOptions,
};

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

/// A row as the type its `#[derive(sqlx::FromRow)]` maps it to, sqlx's error made the store's.
pub(crate) fn from_row<T>(row: &AnyRow) -> Result<T>
where
    T: for<'r> sqlx::FromRow<'r, AnyRow>,
{
    Ok(T::from_row(row)?)
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

/// Longest name (an organisation, a person, a title, a tool, a performer, a label), in
/// characters. Free text has limits so that one request cannot make every page that shows
/// it megabytes long.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest summary or scope, in characters.
pub const MAX_SUMMARY_CHARS: usize = 2_000;
/// Longest reason, condition, evidence or other free text, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;

/// A required, trimmed, non-empty text field of a request, at most [`MAX_NAME_CHARS`].
pub(crate) fn required(path: &str, value: &str) -> Result<String> {
    required_within(path, value, MAX_NAME_CHARS)
}

/// A required, trimmed, non-empty text field of a request, at most `max` characters.
pub(crate) fn required_within(path: &str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(StoreError::invalid(path, "must not be empty"));
    }
    within(path, v, max)?;
    Ok(v.to_owned())
}

/// Refuses a text field longer than `max` characters, naming the field.
pub(crate) fn within(path: &str, value: &str, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n > max {
        return Err(StoreError::invalid(
            path,
            format!("is {n} characters long; at most {max} are allowed"),
        ));
    }
    Ok(())
}

/// Today in UTC (the clock lives here, not in the core).
pub(crate) fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// The studio a request about studio records (`what`: packs, webhooks) is about: the one given,
/// which must be one of the caller's studios (any other is not found, so nobody learns another
/// studio's records exist), else the caller's only studio.
pub(crate) fn named_studio(
    actor: &crate::model::Principal,
    given: Option<&crate::model::OrgId>,
    what: &str,
) -> Result<crate::model::OrgId> {
    actor.studio_wide(&format!("act on the studio's {what}"))?;
    let studios: Vec<&crate::model::OrgId> = actor
        .memberships
        .iter()
        .filter(|m| m.org_kind == crate::model::OrgKind::Studio)
        .map(|m| &m.org_id)
        .collect();
    match given {
        Some(s) if studios.contains(&s) => Ok(s.clone()),
        Some(s) => Err(StoreError::NotFound(format!("studio {}", s.0))),
        None => match studios.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(StoreError::Forbidden(format!(
                "{what} belong to studios; you are a member of none"
            ))),
            _ => Err(StoreError::invalid(
                "studio_id",
                "you are a member of several studios: say which one",
            )),
        },
    }
}
