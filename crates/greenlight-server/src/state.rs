//! The state every handler shares: the store, the server's configuration and its metrics.

use std::sync::Arc;

use greenlight_store::Store;

use crate::metrics::Metrics;
use crate::pages::session::{LoginLimiter, LoginLimits};

/// How this server instance runs (resolved by the command line).
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    /// Serving demo data: the sign-in page may show the demo accounts.
    pub demo: bool,
    /// The address people use to reach the server (`--public-url`), for links and cookies:
    /// cookies get `Secure` when it is `https`.
    pub public_url: Option<url::Url>,
    /// Believe `X-Forwarded-For` and `X-Forwarded-Proto` from the proxy in front
    /// (`--trust-proxy`): the source address of the sign-in limits comes from there.
    pub trust_proxy: bool,
    /// Hex of the audit signing key's public half (shown to auditors).
    pub audit_public_key: Option<String>,
    /// The sign-in limits.
    pub login: LoginLimits,
    /// How notifications go out (mail, webhooks, retries).
    pub notifications: crate::notify::Notifications,
    /// Single sign-on may reach providers on loopback or private addresses
    /// (`--sso-allow-private`).
    pub sso_allow_private: bool,
    /// How many invitation and password-reset mails may go out.
    pub link_mails: crate::links::MailLimits,
}

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The system of record (it applies the access rules itself).
    pub store: Store,
    pub config: Arc<ServerConfig>,
    pub metrics: Arc<Metrics>,
    /// Failed sign-ins, per source address and per account (in this instance's memory).
    pub logins: Arc<LoginLimiter>,
    /// Single sign-on: the client that talks to providers, and what they published.
    pub sso: Arc<crate::sso::SsoRuntime>,
    /// Link mails, per recipient and per source address (in this instance's memory).
    pub link_mails: Arc<crate::links::MailLimiter>,
}

impl AppState {
    /// State around an opened store.
    pub fn new(store: Store, config: ServerConfig) -> Self {
        AppState {
            store,
            logins: Arc::new(LoginLimiter::new(config.login)),
            sso: Arc::new(crate::sso::SsoRuntime::new(config.sso_allow_private)),
            link_mails: Arc::new(crate::links::MailLimiter::new(config.link_mails)),
            config: Arc::new(config),
            metrics: Arc::new(Metrics::default()),
        }
    }
}
