//! The store's error type: a handful of variants callers can act on; sqlx stays inside.

/// One problem with a submitted declaration, with the field path the CLI uses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct FieldProblem {
    /// `tools[0].data_use`; `None` when the problem is not about one field (bad UTF-8).
    pub path: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing does not exist, or the caller may not see it (the two are not told apart).
    #[error("not found: {0}")]
    NotFound(String),
    /// The caller may see the thing but not do this to it.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The request conflicts with the current state (e.g. open blockers, already decided).
    #[error("{message}")]
    Conflict {
        message: String,
        /// Open blockers that prevent the action, as `RULE: message`.
        blockers: Vec<String>,
    },
    /// A declaration's `use.ref` is already taken on the production: a conflict of state
    /// (409 in the API) that belongs to one field, so a form shows it beside `use.ref`.
    #[error("{message}")]
    DuplicateReference { reference: String, message: String },
    /// The caller's `If-Match` names a version that is no longer current (or none).
    #[error("the {record} changed since version {given}; current ETag is {current}")]
    Stale {
        /// What changed: `declaration`, `production`.
        record: &'static str,
        given: String,
        current: String,
    },
    /// The request itself is wrong (a field of a registry record, a bad value).
    #[error("{summary}")]
    Invalid {
        summary: String,
        problems: Vec<FieldProblem>,
    },
    /// The submitted declaration does not parse or validate.
    #[error("{summary}")]
    InvalidDeclaration {
        summary: String,
        problems: Vec<FieldProblem>,
    },
    /// A body larger than the store takes (a declaration over the format's limit): refused
    /// before it is parsed.
    #[error("{summary}")]
    TooLarge {
        summary: String,
        /// The limit in bytes.
        limit: usize,
        problems: Vec<FieldProblem>,
    },
    /// A pack could not evaluate a declaration (a rule's expression failed at run time) or a
    /// production names a pack that is not available: the store's configuration is at fault,
    /// not the request.
    #[error("pack {pack}: {message}")]
    Evaluation { pack: String, message: String },
    /// The audit chain does not verify at this entry.
    #[error("audit chain broken at entry {seq}: {reason}")]
    AuditChainBroken { seq: i64, reason: String },
    /// The store is shutting down or its writer stopped.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// Anything else from the database or the file system.
    #[error("storage error: {0}")]
    Backend(String),
}

impl StoreError {
    /// An `Invalid` error about one field.
    pub fn invalid(path: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        StoreError::Invalid {
            summary: format!("{path}: {message}"),
            problems: vec![FieldProblem {
                path: Some(path.to_owned()),
                line: None,
                column: None,
                message,
            }],
        }
    }

    /// A `Conflict` without blockers.
    pub fn conflict(message: impl Into<String>) -> Self {
        StoreError::Conflict {
            message: message.into(),
            blockers: Vec::new(),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound("row".into()),
            other => StoreError::Backend(other.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Backend(format!("migration failed: {e}"))
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
