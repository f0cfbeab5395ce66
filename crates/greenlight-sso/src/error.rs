//! The one error type of single sign-on.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::settings::SettingsError;

/// Why a sign-in, a discovery or a settings check failed.
///
/// Every variant says what went wrong and, where a setting is at fault, names it. Only
/// [`SsoError::NoRole`] is written for the person signing in; the others are for the log and
/// for the studio's admins (a page shows a person a plain "sign-in failed, try again").
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SsoError {
    /// The settings are incomplete or wrong; every problem is listed.
    #[error(transparent)]
    Settings(#[from] SettingsError),

    /// The provider's discovery document or key set could not be fetched or read.
    #[error("issuer_url: discovery of the OpenID provider at {issuer} failed: {reason}")]
    Discovery {
        /// The issuer setting as configured.
        issuer: String,
        /// What failed: the address, the HTTP status, the JSON path.
        reason: String,
    },

    /// The pending sign-in is past its expiry.
    #[error("the sign-in expired at {expires_at}; start it again")]
    LoginExpired {
        /// When it expired.
        expires_at: DateTime<Utc>,
    },

    /// The sign-in was started without binding it to a browser.
    #[error("a sign-in must be bound to the browser that starts it, and the browser key is empty")]
    NoBrowserKey,

    /// The callback came from another browser than the one that started the sign-in.
    #[error("the sign-in was started in another browser; start it again here")]
    OtherBrowser,

    /// The response's `state` is not the pending sign-in's.
    #[error("the sign-in response does not belong to this sign-in (its state does not match)")]
    StateMismatch,

    /// The response names another issuer than the configured one (RFC 9207), or names none
    /// though the provider says it always does.
    #[error("the sign-in response came from {}, not from the configured issuer {expected}", got.as_deref().unwrap_or("an unnamed issuer"))]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The `iss` of the response, if any.
        got: Option<String>,
    },

    /// The pending sign-in was started with another issuer or client id than the current
    /// settings name.
    #[error(
        "the single sign-on settings changed while the sign-in was under way (it started with \
         issuer {issuer} and client id {client_id}); start it again"
    )]
    SettingsChanged {
        /// The issuer the sign-in started with.
        issuer: String,
        /// The client id the sign-in started with.
        client_id: String,
    },

    /// The provider answered the authorization request with an error.
    #[error("the OpenID provider refused the sign-in: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    ProviderRefused {
        /// The OAuth error code, e.g. `access_denied`.
        error: String,
        /// The provider's description, if it gave one.
        description: Option<String>,
    },

    /// The response has neither a code nor an error.
    #[error("the sign-in response has no authorization code")]
    MissingCode,

    /// A parameter of the response is implausibly long.
    #[error("{parameter} of the sign-in response is {len} bytes long; at most {max}")]
    CallbackTooLong {
        /// The query parameter.
        parameter: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },

    /// The token endpoint did not exchange the code.
    #[error("the OpenID provider did not exchange the authorization code for tokens: {reason}")]
    TokenExchange {
        /// The endpoint's error or the transport's.
        reason: String,
    },

    /// The token response holds no ID token (the provider is OAuth-only or `openid` was
    /// not granted).
    #[error("the OpenID provider's token response holds no ID token")]
    NoIdToken,

    /// The ID token failed verification.
    #[error("the ID token was refused ({problem}): {detail}")]
    IdToken {
        /// Which check failed.
        problem: IdTokenProblem,
        /// The verifier's words.
        detail: String,
    },

    /// The userinfo endpoint failed or answered for another subject.
    #[error("the OpenID provider's userinfo endpoint failed: {reason}")]
    UserInfo {
        /// What failed.
        reason: String,
    },

    /// The person's claims grant no role. The message is for them.
    #[error(
        "You are signed in with your organisation's account, but it gives you no access to \
         Greenlight: {}. Ask {whom_to_ask} to give you access.",
        describe_values(claim, values)
    )]
    NoRole {
        /// The mapped claim.
        claim: String,
        /// Its values for this person.
        values: Vec<String>,
        /// Whom to ask, as the caller gave it.
        whom_to_ask: String,
    },

    /// A rule that matched names an organisation outside the studio.
    #[error(
        "mapping[{rule}].organisation: \"{organisation}\" is not an organisation of this studio; \
         single sign-on grants roles only in the studio's own organisations"
    )]
    ForeignOrganisation {
        /// The rule's index in the mapping.
        rule: usize,
        /// The organisation it names.
        organisation: String,
    },

    /// The HTTP client could not be set up (no TLS roots, say).
    #[error("the HTTP client of single sign-on could not be set up: {0}")]
    HttpClient(String),
}

fn describe_values(claim: &str, values: &[String]) -> String {
    if values.is_empty() {
        return format!("it carries no `{claim}` claim");
    }
    const SHOWN: usize = 10;
    let mut shown: Vec<String> = values
        .iter()
        .take(SHOWN)
        .map(|v| format!("\"{v}\""))
        .collect();
    if values.len() > SHOWN {
        shown.push(format!("and {} more", values.len() - SHOWN));
    }
    format!(
        "none of its `{claim}` values ({}) is mapped to a role",
        shown.join(", ")
    )
}

/// Which check an ID token failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdTokenProblem {
    /// The signature does not verify with the provider's keys, or uses a refused algorithm.
    Signature,
    /// The token is for another client (`aud`).
    Audience,
    /// The token names another issuer (`iss`).
    Issuer,
    /// The token's `nonce` is not the pending sign-in's.
    Nonce,
    /// The token has expired.
    Expired,
    /// The `at_hash` claim does not match the access token.
    AccessTokenHash,
    /// Anything else (a malformed token, an unsupported feature).
    Other,
}

impl fmt::Display for IdTokenProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdTokenProblem::Signature => "signature",
            IdTokenProblem::Audience => "audience",
            IdTokenProblem::Issuer => "issuer",
            IdTokenProblem::Nonce => "nonce",
            IdTokenProblem::Expired => "expired",
            IdTokenProblem::AccessTokenHash => "access token hash",
            IdTokenProblem::Other => "malformed",
        })
    }
}
