//! The state every handler shares: the store, the server's configuration and its metrics.

use std::sync::Arc;

use greenlight_scan::bank::BankStore;
use greenlight_store::Store;

use crate::metrics::Metrics;

/// How this server instance runs (resolved by the command line).
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    /// Serving demo data: the sign-in page may show the demo accounts.
    pub demo: bool,
    /// Cookies get `Secure` (the deployment is served over HTTPS).
    pub secure_cookies: bool,
    /// Hex of the audit signing key's public half (shown to auditors).
    pub audit_public_key: Option<String>,
}

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The system of record (it applies the access rules itself).
    pub store: Store,
    pub config: Arc<ServerConfig>,
    pub metrics: Arc<Metrics>,
    /// The scan's bank tables (`bank_*`) in the same database, opened on first use.
    pub banks: Arc<tokio::sync::OnceCell<BankStore>>,
}

impl AppState {
    /// State around an opened store.
    pub fn new(store: Store, config: ServerConfig) -> Self {
        AppState {
            store,
            config: Arc::new(config),
            metrics: Arc::new(Metrics::default()),
            banks: Arc::new(tokio::sync::OnceCell::new()),
        }
    }
}
