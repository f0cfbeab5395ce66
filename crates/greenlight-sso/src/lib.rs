//! Single sign-on for Greenlight: a studio's own OpenID provider signs its people in, and a
//! TOTP second factor guards local accounts.
//!
//! The crate is a library the server calls; it keeps nothing itself. The caller stores the
//! studio's settings (the client secret encrypted), the [`PendingLogin`] of each sign-in under
//! way, identities, and each person's TOTP seed (encrypted) and last accepted step.
//!
//! A sign-in, from the server's point of view:
//!
//! ```no_run
//! # async fn sign_in(settings: greenlight_sso::SsoSettings, studio: greenlight_sso::Studio,
//! #                  callback_url: url::Url) -> Result<(), greenlight_sso::SsoError> {
//! use greenlight_sso::{Callback, HttpOptions, OidcProvider, SsoHttp};
//!
//! let http = SsoHttp::new(HttpOptions::default())?;
//! let provider = OidcProvider::discover(settings, &studio, &http).await?;
//! // GET /sso/start: bind the sign-in to this browser (a digest of its pre-session cookie),
//! // remember the pending record by its state, redirect the browser.
//! let browser_key = "digest-of-the-pre-session-cookie";
//! let start = provider.begin_login(chrono::Utc::now(), browser_key)?;
//! let pending = start.pending; // stored server-side under pending.state()
//! // GET /sso/callback?code=...&state=...: look the record up by state, remove it, finish.
//! let callback = Callback::from_url(&callback_url);
//! let signed_in = provider
//!     .complete_login(&pending, &callback, browser_key, &studio, chrono::Utc::now())
//!     .await?;
//! // Find the person by (issuer, subject) only; on a first sign-in, provision them with
//! // signed_in.grants. Never look them up by signed_in.email.
//! println!("{:?} gets {:?}", signed_in.identity, signed_in.grants);
//! # Ok(()) }
//! ```
//!
//! Single sign-on identifies a person by the pair (issuer, `sub`), never by email: a provider
//! can assert any email, so a first sign-in never links to an existing account with the same
//! address. The claim mapping grants roles only in the studio's own organisations, and a
//! person whose claims map to no role is refused with a message saying whom to ask.

mod error;
pub mod http;
mod mapping;
mod oidc;
mod settings;
#[cfg(feature = "test-provider")]
pub mod test_provider;
pub mod totp;

pub use error::{IdTokenProblem, SsoError};
pub use http::{HttpOptions, SsoHttp};
pub use mapping::{Grant, claim_values};
pub use oidc::{
    Callback, LoginStart, MAX_CALLBACK_PARAM, OidcProvider, PENDING_LOGIN_TTL, PendingLogin,
    SsoIdentity, SsoSignIn,
};
pub use settings::{
    ClaimRule, DEFAULT_SCOPES, Role, SettingsError, SettingsProblem, SsoSettings, Studio,
};
