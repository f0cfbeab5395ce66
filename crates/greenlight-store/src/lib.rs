//! The system of record: organisations, productions, declarations and their review
//! workflow, the consent and tool registries, obligations, and the tamper-evident audit
//! log, on SQLite or PostgreSQL.
//!
//! [`Store`] is the one entry point. Every method that reads or changes tenant data takes
//! the calling [`Principal`](model::Principal) and applies the access rules itself, so the
//! JSON API and the web pages cannot disagree about who may do what. Writes go through one
//! writer task per process that commits many requests per transaction (group commit) and
//! appends their audit entries and a signed checkpoint in the same transaction.
//!
//! ```no_run
//! # async fn demo() -> greenlight_store::Result<()> {
//! use greenlight_store::{Store, StoreConfig};
//! let store = Store::open(StoreConfig::new("sqlite://greenlight.db?mode=rwc")).await?;
//! assert!(store.ready().await);
//! # Ok(()) }
//! ```

pub mod audit;
pub mod banks;
mod db;
pub mod effective;
mod error;
pub mod input;
pub mod model;
mod ops;
pub mod outbox;
mod writer;

use std::path::PathBuf;
use std::sync::Arc;

pub use audit::{AuditEntry, Checkpoint, SigningKey, VerifyReport};
pub use db::redact_url;
pub use error::{FieldProblem, Result, StoreError};
pub use model::*;
pub use ops::{
    AccountSetup, InvitationLink, IssuedLink, LinkProblem, LinkPurpose, RESET_LINK_MINUTES,
    ResetLink,
};
pub use ops::{
    Bootstrap, Disclosure, DisclosureRow, KEEP_MARKING, LedgerOnly, MAX_NAME_CHARS, MAX_PACK_BYTES,
    MAX_SUMMARY_CHARS, MAX_TEXT_CHARS, NewMember, PackChange, PackPreview, PackRecord,
    PackTestOutcome, Replay, ReportScope, ScanUse, TriageBasis, TriagePreview, UsedPack,
    production_etag_of,
};
pub use ops::{
    CHALLENGE_TTL, LinkedIdentity, SignInPolicy, SsoIntent, SsoPending, SsoPerson, SsoRecord,
    TotpRecord,
};
pub use ops::{CONSENT_WARNINGS, NewWebhook, OBLIGATION_HORIZON, ScanRecord, ScanReport, Webhook};
pub use ops::{
    MAX_ROTATION_GRACE_HOURS, MAX_TOKEN_DAYS, ROTATION_GRACE_HOURS, SignedIn, TOKEN_DAYS,
    TokenOptions,
};

/// How to open a store.
#[derive(Clone)]
pub struct StoreConfig {
    /// `sqlite://FILE[?mode=rwc]` or `postgres://...`.
    pub database_url: String,
    /// The Ed25519 key that signs audit checkpoints; `None` opens read-only for writes
    /// (writes fail) — `serve` always passes one.
    pub signing_key: Option<SigningKey>,
    /// Where each checkpoint is also appended, outside the database.
    pub checkpoint_log: Option<PathBuf>,
    /// Largest number of write requests committed in one transaction.
    pub max_batch: usize,
    /// Connections in the read pool.
    pub max_connections: u32,
    /// Create a missing SQLite file (and its folder), whatever the URL's `mode` says: set by
    /// the commands that write (`serve`, `admin create`); read-only ones never create one.
    pub create_if_missing: bool,
    /// Mail is configured: events get email deliveries for the people they concern.
    pub mail_notifications: bool,
    /// The address people reach the pages at (`serve --public-url`), for links in events.
    pub public_url: Option<String>,
}

impl StoreConfig {
    /// Defaults for `database_url`: no key, no checkpoint log, batches of up to 256.
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            signing_key: None,
            checkpoint_log: None,
            max_batch: 256,
            max_connections: 8,
            create_if_missing: false,
            mail_notifications: false,
            public_url: None,
        }
    }
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("database_url", &db::redact_url(&self.database_url))
            .field(
                "signing_key",
                &self.signing_key.as_ref().map(|k| k.public_hex()),
            )
            .field("checkpoint_log", &self.checkpoint_log)
            .field("max_batch", &self.max_batch)
            .finish()
    }
}

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The store: a cheap handle (clone it freely) on the read pool and the writer task.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: db::Db,
    writer: writer::WriterHandle,
    config: StoreConfig,
}

impl Store {
    /// Opens (creating an SQLite file when the URL says `mode=rwc`), applies migrations and
    /// starts the writer task.
    pub async fn open(config: StoreConfig) -> Result<Store> {
        let url = if config.create_if_missing {
            db::creating(&config.database_url)?
        } else {
            config.database_url.clone()
        };
        let db = db::Db::connect(&url, config.max_connections).await?;
        db.migrate().await?;
        if config.signing_key.is_some() {
            // The built-in packs' texts, so every triage's pack digests can be replayed.
            ops::store_builtins(&mut *db.pool.acquire().await?).await?;
        }
        let writer = writer::spawn(db.clone(), config.clone());
        Ok(Store {
            inner: Arc::new(Inner { db, writer, config }),
        })
    }

    /// The database behind the store.
    pub fn backend(&self) -> Backend {
        self.inner.db.backend
    }

    /// The configuration the store was opened with.
    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    /// True when the database answers and the writer runs.
    pub async fn ready(&self) -> bool {
        self.inner.db.ping().await && !self.inner.writer.is_closed()
    }

    /// Stops the writer after it committed everything already queued.
    pub async fn close(&self) {
        self.inner.writer.close().await;
        self.inner.db.pool.close().await;
    }

    /// Write-path statistics (batches, requests, commit time) for `/metrics`.
    pub fn writer_stats(&self) -> writer::WriterStats {
        self.inner.writer.stats()
    }
}

pub use writer::WriterStats;
