//! Single sign-on and the second factor, as the server runs them: the studio's settings
//! turned into the protocol's ([`greenlight_sso`]), the provider's discovery kept for a few
//! minutes, and the secrets (client secret, TOTP seeds, sign-ins under way) sealed with the
//! secrets key before the store sees them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use greenlight_sso::{
    ClaimRule, HttpOptions, OidcProvider, SsoError, SsoHttp, SsoSettings, Studio,
};
use greenlight_store::{OrgId, Role, SsoPerson, SsoRecord, StoreError};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::state::AppState;

/// How long a provider's discovery document and keys are reused before they are fetched
/// again (a key the provider rotated in meanwhile makes the crate fetch the keys at once).
const DISCOVERY_TTL: Duration = Duration::from_secs(300);

/// The server's single sign-on machinery: the HTTP client that talks to providers and the
/// discovered providers per studio.
pub struct SsoRuntime {
    http: Result<SsoHttp, String>,
    providers: Mutex<HashMap<OrgId, Cached>>,
}

struct Cached {
    updated_at: DateTime<Utc>,
    fetched: Instant,
    provider: Arc<OidcProvider>,
}

impl std::fmt::Debug for SsoRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoRuntime")
            .field("http", &self.http.is_ok())
            .finish_non_exhaustive()
    }
}

impl SsoRuntime {
    /// `allow_private`: providers on loopback or private addresses may be reached
    /// (`serve --sso-allow-private`; tests set it for the provider they start).
    pub fn new(allow_private: bool) -> SsoRuntime {
        let options = HttpOptions {
            allow_private,
            ..HttpOptions::default()
        };
        SsoRuntime {
            http: SsoHttp::new(options).map_err(|e| e.to_string()),
            providers: Mutex::new(HashMap::new()),
        }
    }

    fn http(&self) -> Result<&SsoHttp, SsoError> {
        self.http.as_ref().map_err(|e| SsoError::Discovery {
            issuer: String::new(),
            reason: format!("the HTTP client could not start: {e}"),
        })
    }

    /// The studio's provider, discovered (or reused while fresh and the settings unchanged).
    pub async fn provider(
        &self,
        settings: SsoSettings,
        record_updated: DateTime<Utc>,
        studio_id: &OrgId,
        studio: &Studio,
    ) -> Result<Arc<OidcProvider>, SsoError> {
        if let Ok(cache) = self.providers.lock()
            && let Some(c) = cache.get(studio_id)
            && c.updated_at == record_updated
            && c.fetched.elapsed() < DISCOVERY_TTL
            && c.provider.settings().redirect_url == settings.redirect_url
        {
            return Ok(c.provider.clone());
        }
        let provider = Arc::new(OidcProvider::discover(settings, studio, self.http()?).await?);
        if let Ok(mut cache) = self.providers.lock() {
            cache.insert(
                studio_id.clone(),
                Cached {
                    updated_at: record_updated,
                    fetched: Instant::now(),
                    provider: provider.clone(),
                },
            );
        }
        Ok(provider)
    }

    /// Discovers a provider from settings about to be saved (never cached): a wrong issuer
    /// is reported before anyone tries to sign in.
    pub async fn check(&self, settings: SsoSettings, studio: &Studio) -> Result<(), SsoError> {
        OidcProvider::discover(settings, studio, self.http()?).await?;
        Ok(())
    }
}

/// The callback address registered with the provider: the public address's `/sso/callback`,
/// or, without `--public-url`, the address the browser used.
pub fn redirect_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(base) = &state.config.public_url
        && let Ok(u) = base.join("sso/callback")
    {
        return u.to_string();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or("127.0.0.1");
    let scheme = if crate::client::is_https(headers, &state.config) {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}/sso/callback")
}

/// The studio as the protocol sees it: its organisations (what a mapping may grant roles
/// in) and whom a person granted nothing should ask.
pub async fn studio(state: &AppState, studio: &OrgId) -> Result<Studio, StoreError> {
    let orgs = state.store.studio_organisations(studio).await?;
    let name = orgs
        .iter()
        .find(|(id, _)| id == studio)
        .map(|(_, n)| n.clone())
        .unwrap_or_else(|| studio.0.clone());
    let admins = state.store.studio_admin_emails(studio).await?;
    let whom_to_ask = if admins.is_empty() {
        format!("the administrators of {name}")
    } else {
        format!("the administrators of {name} ({})", admins.join(", "))
    };
    Ok(Studio {
        organisations: orgs.into_iter().map(|(id, _)| id.0).collect(),
        whom_to_ask,
    })
}

/// The protocol's settings from a stored record (the client secret unsealed).
pub fn settings_of(
    state: &AppState,
    record: &SsoRecord,
    redirect_url: String,
) -> Result<SsoSettings, StoreError> {
    let secret = open(state, &record.client_secret, "the studio's client secret")?;
    let secret = String::from_utf8(secret)
        .map_err(|_| StoreError::Backend("the studio's client secret is not text".into()))?;
    let mapping: Vec<ClaimRule> = serde_json::from_value(record.mapping.clone())
        .map_err(|e| StoreError::Backend(format!("the stored claim mapping: {e}")))?;
    Ok(SsoSettings {
        issuer_url: record.issuer_url.clone(),
        client_id: record.client_id.clone(),
        client_secret: SecretString::from(secret),
        redirect_url,
        scopes: record.scopes.clone(),
        claim: record.claim.clone(),
        mapping,
    })
}

/// Seals a secret Greenlight must use (client secret, seed, sign-in under way).
pub fn seal(state: &AppState, plain: &[u8], what: &str) -> Result<String, StoreError> {
    state
        .config
        .notifications
        .seal
        .seal(plain)
        .map_err(|e| StoreError::Backend(format!("sealing {what}: {e}")))
}

/// Opens what [`seal`] sealed.
pub fn open(state: &AppState, sealed: &str, what: &str) -> Result<Vec<u8>, StoreError> {
    state
        .config
        .notifications
        .seal
        .open(sealed)
        .map_err(|e| StoreError::Backend(format!("opening {what}: {e}")))
}

/// The person a completed sign-in names, with the grants as the store takes them.
pub fn person_of(signed_in: &greenlight_sso::SsoSignIn, mapping: &[ClaimRule]) -> SsoPerson {
    let grants = signed_in
        .grants
        .iter()
        .map(|g| {
            (
                OrgId(g.organisation.clone()),
                g.roles.iter().map(|r| role_of(*r)).collect(),
            )
        })
        .collect();
    let mut mapped: Vec<OrgId> = mapping
        .iter()
        .map(|r| OrgId(r.organisation.clone()))
        .collect();
    mapped.sort();
    mapped.dedup();
    SsoPerson {
        issuer: signed_in.identity.issuer.clone(),
        subject: signed_in.identity.subject.clone(),
        email: signed_in.email.clone(),
        name: signed_in.name.clone(),
        grants,
        mapped,
    }
}

fn role_of(r: greenlight_sso::Role) -> Role {
    match r {
        greenlight_sso::Role::Partner => Role::Partner,
        greenlight_sso::Role::Reviewer => Role::Reviewer,
        greenlight_sso::Role::Legal => Role::Legal,
        greenlight_sso::Role::Admin => Role::Admin,
        greenlight_sso::Role::Auditor => Role::Auditor,
    }
}

/// The settings an admin sends (page or API): every field but the secret as stored; the
/// secret only when it changes.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoSettingsInput {
    /// The provider's issuer identifier, exactly as its discovery document states it.
    pub issuer_url: String,
    /// The client id the provider gave Greenlight.
    pub client_id: String,
    /// The client secret; leave out to keep the stored one.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Scopes besides `openid` (empty: `email profile`).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The claim whose values the mapping reads (`groups`, `roles`, `realm_access.roles`).
    pub claim: String,
    /// The rules: `{"value", "organisation" (an organisation id of the studio), "roles"}`.
    #[schema(value_type = Vec<Object>)]
    pub mapping: Vec<ClaimRule>,
}

/// Why saving settings failed: each problem with its field.
#[derive(Debug)]
pub enum SaveError {
    /// Fields, mapping or discovery: `(field, message)` pairs.
    Invalid(Vec<(String, String)>),
    Store(StoreError),
}

impl From<StoreError> for SaveError {
    fn from(e: StoreError) -> Self {
        SaveError::Store(e)
    }
}

/// Checks settings (every field, the mapping against the studio's organisations, then the
/// provider's discovery) and saves them; nothing is stored unless all of it passes.
pub async fn save_settings(
    state: &AppState,
    actor: &greenlight_store::Principal,
    studio_id: &OrgId,
    input: SsoSettingsInput,
    headers: &HeaderMap,
) -> Result<(), SaveError> {
    let studio_id = state.store.sign_in_studio(actor, Some(studio_id)).await?;
    let existing = state.store.sso_record(&studio_id).await?;
    let secret: SecretString = match (&input.client_secret, &existing) {
        (Some(s), _) if !s.trim().is_empty() => SecretString::from(s.trim().to_owned()),
        (_, Some(record)) => settings_of(state, record, String::new())?.client_secret,
        (_, None) => {
            return Err(SaveError::Invalid(vec![(
                "client_secret".into(),
                "is required the first time".into(),
            )]));
        }
    };
    let keep_secret = input
        .client_secret
        .as_ref()
        .is_none_or(|s| s.trim().is_empty());
    let settings = SsoSettings {
        issuer_url: input.issuer_url.trim().to_owned(),
        client_id: input.client_id.trim().to_owned(),
        client_secret: secret.clone(),
        redirect_url: redirect_url(state, headers),
        scopes: input
            .scopes
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        claim: input.claim.trim().to_owned(),
        mapping: input.mapping.clone(),
    };
    let studio = studio(state, &studio_id).await?;
    if let Err(e) = settings.validate(&studio) {
        return Err(SaveError::Invalid(
            e.problems
                .into_iter()
                .map(|p| (p.field, p.message))
                .collect(),
        ));
    }
    let runtime = state.sso.clone();
    match runtime.check(settings.clone(), &studio).await {
        Ok(()) => {}
        Err(SsoError::Settings(e)) => {
            return Err(SaveError::Invalid(
                e.problems
                    .into_iter()
                    .map(|p| (p.field, p.message))
                    .collect(),
            ));
        }
        Err(e) => {
            let message = e.to_string();
            let message = message.strip_prefix("issuer_url: ").unwrap_or(&message);
            return Err(SaveError::Invalid(vec![(
                "issuer_url".into(),
                message.to_owned(),
            )]));
        }
    }
    let record = SsoRecord {
        studio_id: studio_id.clone(),
        issuer_url: settings.issuer_url,
        client_id: settings.client_id,
        client_secret: if keep_secret {
            String::new()
        } else {
            seal(
                state,
                secret.expose_secret().as_bytes(),
                "the client secret",
            )?
        },
        scopes: settings.scopes,
        claim: settings.claim,
        mapping: serde_json::to_value(&settings.mapping)
            .map_err(|e| StoreError::Backend(e.to_string()))?,
        updated_at: Utc::now(),
    };
    state
        .store
        .put_sso_settings(actor, record, keep_secret)
        .await?;
    Ok(())
}

/// The public address of a page, for links shown to admins (the sign-in link to share).
pub fn public_link(state: &AppState, headers: &HeaderMap, path: &str) -> String {
    let callback = redirect_url(state, headers);
    Url::parse(&callback)
        .and_then(|u| u.join(path))
        .map(|u| u.to_string())
        .unwrap_or_else(|_| path.to_owned())
}
