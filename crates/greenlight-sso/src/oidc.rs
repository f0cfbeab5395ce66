//! The OpenID Connect relying party: discovery, the authorization code flow with PKCE,
//! `state` and `nonce`, the code exchange and the ID token's verification.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
    CoreResponseMode, CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreSubjectIdentifierType, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AdditionalProviderMetadata, AuthType, AuthorizationCode,
    ClaimsVerificationError, Client, ClientId, ClientSecret, CsrfToken, DiscoveryError,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken, IdTokenClaims,
    IdTokenFields, IssuerUrl, JsonWebKeySet, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, ProviderMetadata, RedirectUrl, RequestTokenError, Scope,
    SignatureVerificationError, StandardErrorResponse, StandardTokenResponse, SubjectIdentifier,
    TokenResponse, UserInfoClaims,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use subtle::ConstantTimeEq;
use url::Url;

use crate::error::{IdTokenProblem, SsoError};
use crate::http::{HttpError, SsoHttp, error_chain};
use crate::mapping::{self, Grant};
use crate::settings::{SettingsError, SettingsProblem, SsoSettings, Studio};

/// How long a pending sign-in stays valid: long enough to type a password and answer a
/// second factor at the provider, short enough that a stale record is useless.
pub const PENDING_LOGIN_TTL: Duration = Duration::minutes(10);

/// Longest `code`, `state`, `iss` or error text accepted from the provider's redirect.
pub const MAX_CALLBACK_PARAM: usize = 4096;

/// Every claim of a token beyond the standard ones, kept as JSON so that any claim can be
/// mapped (`groups`, `roles`, a namespaced `https://studio.example/groups`).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
struct OtherClaims {
    #[serde(flatten)]
    claims: serde_json::Map<String, Value>,
}
impl AdditionalClaims for OtherClaims {}

/// RFC 9207: a provider that says it names itself in every authorization response.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
struct IssParameter {
    #[serde(default)]
    authorization_response_iss_parameter_supported: Option<bool>,
}
impl AdditionalProviderMetadata for IssParameter {}

type Metadata = ProviderMetadata<
    IssParameter,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;
type Fields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<Fields, CoreTokenType>;
type Token = IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Claims = IdTokenClaims<OtherClaims, CoreGenderClaim>;
type OidcClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A studio's OpenID provider, discovered: its endpoints and signing keys, with the studio's
/// settings. Discovery costs two requests (the document and the key set); keep the value for
/// a while (minutes, not days) or discover again per sign-in. When an ID token is signed with
/// a key the cached set lacks (the provider rotated its keys), the set is fetched again once.
#[derive(Clone)]
pub struct OidcProvider {
    settings: SsoSettings,
    metadata: Metadata,
    http: SsoHttp,
}

impl fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcProvider")
            .field("issuer", &self.settings.issuer_url)
            .field("client_id", &self.settings.client_id)
            .finish_non_exhaustive()
    }
}

/// What a sign-in start hands the caller: where to send the browser, and the record to keep.
#[derive(Debug)]
pub struct LoginStart {
    /// The provider's authorization endpoint with every parameter; answer the browser with a
    /// redirect (303) to it.
    pub authorization_url: Url,
    /// Keep this server-side, keyed by [`PendingLogin::state`], until the callback arrives or
    /// it expires; remove it when the callback arrives, whatever the outcome, so it serves once.
    pub pending: PendingLogin,
}

/// A sign-in under way: the secrets its callback must match. Serializable so the caller can
/// keep it in its own store; it holds the PKCE verifier and the nonce, so keep it server-side
/// only (never in a cookie or a page) and show it to no one.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingLogin {
    state: String,
    nonce: String,
    pkce_verifier: String,
    issuer: String,
    client_id: String,
    browser_key: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogin")
            .field("state", &self.state)
            .field("nonce", &"[redacted]")
            .field("pkce_verifier", &"[redacted]")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("browser_key", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl PendingLogin {
    /// The `state` sent to the provider: the key to find this record when the browser comes
    /// back (it is random, 128 bits).
    pub fn state(&self) -> &str {
        &self.state
    }

    /// The issuer the sign-in was started with.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// When the sign-in was started.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// After this instant the callback is refused; the caller may delete the record.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
}

/// The query parameters the provider sends the browser back with (to the redirect URL).
/// Deserializes from the query string (`axum::extract::Query<Callback>`), or see
/// [`Callback::from_url`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Callback {
    /// The authorization code, on success.
    pub code: Option<String>,
    /// The `state` of the sign-in.
    pub state: Option<String>,
    /// The issuer (RFC 9207), from providers that send it.
    pub iss: Option<String>,
    /// The OAuth error code, on failure (`access_denied`).
    pub error: Option<String>,
    /// The provider's description of the error.
    pub error_description: Option<String>,
}

impl Callback {
    /// The parameters of a callback URL (the query; a repeated parameter keeps its last value).
    pub fn from_url(url: &Url) -> Callback {
        let mut callback = Callback::default();
        for (key, value) in url.query_pairs() {
            let value = Some(value.into_owned());
            match key.as_ref() {
                "code" => callback.code = value,
                "state" => callback.state = value,
                "iss" => callback.iss = value,
                "error" => callback.error = value,
                "error_description" => callback.error_description = value,
                _ => {}
            }
        }
        callback
    }
}

/// An SSO identity: the provider and the subject it asserts. Greenlight links accounts by this
/// pair only, never by email (a provider can assert any email).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SsoIdentity {
    /// The issuer identifier, as configured and as the ID token states it.
    pub issuer: String,
    /// The `sub` claim: the provider's stable, never reassigned identifier of the person.
    pub subject: String,
}

/// A completed sign-in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SsoSignIn {
    /// Whom the provider vouches for.
    pub identity: SsoIdentity,
    /// The email as the provider asserts it: for display and for contacting the person, never
    /// for finding or linking an account.
    pub email: Option<String>,
    /// Whether the provider says it verified that email.
    pub email_verified: Option<bool>,
    /// The person's name as the provider asserts it, for display.
    pub name: Option<String>,
    /// The values of the mapped claim (for the audit log and for explaining a refusal).
    pub claim_values: Vec<String>,
    /// What the mapping grants: never empty, only the studio's organisations.
    pub grants: Vec<Grant>,
}

impl OidcProvider {
    /// Checks the settings against the studio, then fetches the provider's discovery document
    /// (`ISSUER/.well-known/openid-configuration`) and key set. A failure is
    /// [`SsoError::Discovery`], naming the `issuer_url` setting and what went wrong.
    pub async fn discover(
        settings: SsoSettings,
        studio: &Studio,
        http: &SsoHttp,
    ) -> Result<OidcProvider, SsoError> {
        settings.validate(studio)?;
        let failed = |reason: String| SsoError::Discovery {
            issuer: settings.issuer_url.clone(),
            reason,
        };
        let issuer = IssuerUrl::new(settings.issuer_url.clone())
            .map_err(|e| failed(format!("not a URL: {e}")))?;
        let metadata = Metadata::discover_async(issuer, http)
            .await
            .map_err(|e| failed(describe_discovery_error(&e)))?;
        if metadata.token_endpoint().is_none() {
            return Err(failed(
                "the discovery document names no token_endpoint".into(),
            ));
        }
        let code_flow = metadata
            .response_types_supported()
            .iter()
            .any(|types| types.as_slice() == [CoreResponseType::Code]);
        if !code_flow {
            return Err(failed(
                "the provider does not offer the authorization code flow \
                 (response_types_supported lacks \"code\")"
                    .into(),
            ));
        }
        tracing::debug!(issuer = %settings.issuer_url, "discovered OpenID provider");
        Ok(OidcProvider {
            settings,
            metadata,
            http: http.clone(),
        })
    }

    /// The settings this provider was discovered with.
    pub fn settings(&self) -> &SsoSettings {
        &self.settings
    }

    /// Starts a sign-in at `now`: a fresh `state`, `nonce` and PKCE verifier (S256), and the
    /// authorization URL asking for the configured scopes.
    ///
    /// `browser_key` binds the sign-in to the browser that starts it, against login CSRF (an
    /// attacker completing their own sign-in in a victim's browser by sending them the
    /// callback link): a value only that browser can present again at the callback, such as a
    /// digest of its pre-session cookie. Not the cookie's secret itself: the record is stored.
    pub fn begin_login(
        &self,
        now: DateTime<Utc>,
        browser_key: &str,
    ) -> Result<LoginStart, SsoError> {
        if browser_key.trim().is_empty() {
            return Err(SsoError::NoBrowserKey);
        }
        let client = self.client(self.metadata.clone())?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        // The client adds `openid` itself.
        for scope in self.settings.requested_scopes().into_iter().skip(1) {
            request = request.add_scope(Scope::new(scope));
        }
        let (authorization_url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok(LoginStart {
            authorization_url,
            pending: PendingLogin {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
                issuer: self.settings.issuer_url.clone(),
                client_id: self.settings.client_id.clone(),
                browser_key: browser_key.to_owned(),
                created_at: now,
                expires_at: now + PENDING_LOGIN_TTL,
            },
        })
    }

    /// Finishes a sign-in at `now` from the provider's redirect: checks the pending record
    /// (same settings, not expired, started by the browser presenting `browser_key`), the
    /// `state` and the issuer of the response, exchanges the
    /// code with the PKCE verifier, verifies the ID token (signature against the provider's
    /// keys, issuer, audience, expiry, `nonce`, `at_hash`), reads the mapped claim (from the
    /// ID token, or from the userinfo endpoint when the token lacks it) and maps it.
    ///
    /// A person granted nothing is [`SsoError::NoRole`], whose message says whom to ask.
    pub async fn complete_login(
        &self,
        pending: &PendingLogin,
        callback: &Callback,
        browser_key: &str,
        studio: &Studio,
        now: DateTime<Utc>,
    ) -> Result<SsoSignIn, SsoError> {
        if pending.issuer != self.settings.issuer_url
            || pending.client_id != self.settings.client_id
        {
            return Err(SsoError::SettingsChanged {
                issuer: pending.issuer.clone(),
                client_id: pending.client_id.clone(),
            });
        }
        if now >= pending.expires_at {
            return Err(SsoError::LoginExpired {
                expires_at: pending.expires_at,
            });
        }
        for (parameter, value) in [
            ("code", &callback.code),
            ("state", &callback.state),
            ("iss", &callback.iss),
            ("error", &callback.error),
            ("error_description", &callback.error_description),
        ] {
            if let Some(value) = value
                && value.len() > MAX_CALLBACK_PARAM
            {
                return Err(SsoError::CallbackTooLong {
                    parameter,
                    len: value.len(),
                    max: MAX_CALLBACK_PARAM,
                });
            }
        }
        let state_matches = callback
            .state
            .as_deref()
            .is_some_and(|s| bool::from(s.as_bytes().ct_eq(pending.state.as_bytes())));
        if !state_matches {
            return Err(SsoError::StateMismatch);
        }
        let same_browser = !browser_key.is_empty()
            && bool::from(browser_key.as_bytes().ct_eq(pending.browser_key.as_bytes()));
        if !same_browser {
            return Err(SsoError::OtherBrowser);
        }
        let iss_required = self
            .metadata
            .additional_metadata()
            .authorization_response_iss_parameter_supported
            == Some(true);
        match &callback.iss {
            Some(iss) if *iss != self.settings.issuer_url => {
                return Err(SsoError::IssuerMismatch {
                    expected: self.settings.issuer_url.clone(),
                    got: Some(iss.clone()),
                });
            }
            None if iss_required => {
                return Err(SsoError::IssuerMismatch {
                    expected: self.settings.issuer_url.clone(),
                    got: None,
                });
            }
            _ => {}
        }
        if let Some(error) = &callback.error {
            return Err(SsoError::ProviderRefused {
                error: error.clone(),
                description: callback.error_description.clone(),
            });
        }
        let code = callback.code.clone().ok_or(SsoError::MissingCode)?;

        let client = self.client(self.metadata.clone())?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| SsoError::TokenExchange {
                reason: e.to_string(),
            })?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| SsoError::TokenExchange {
                reason: describe_token_error(&e),
            })?;
        let id_token = tokens.id_token().ok_or(SsoError::NoIdToken)?;
        let nonce = Nonce::new(pending.nonce.clone());
        let (claims, client) = self.verify(client, id_token, &nonce, now).await?;
        if let Some(expected) = claims.access_token_hash() {
            let verifier = client.id_token_verifier();
            let actual = id_token
                .signing_alg()
                .and_then(|alg| id_token.signing_key(&verifier).map(|key| (alg, key)))
                .map_err(|e| id_token_error(ClaimsVerificationError::SignatureVerification(e)))
                .and_then(|(alg, key)| {
                    AccessTokenHash::from_token(tokens.access_token(), alg, key).map_err(|e| {
                        SsoError::IdToken {
                            problem: IdTokenProblem::AccessTokenHash,
                            detail: e.to_string(),
                        }
                    })
                })?;
            if actual != *expected {
                return Err(SsoError::IdToken {
                    problem: IdTokenProblem::AccessTokenHash,
                    detail: "at_hash does not match the access token".into(),
                });
            }
        }

        let mut asserted = Asserted::from_id_token(&claims)?;
        let claim = self.settings.claim.as_str();
        let lacking = !asserted.has(claim) || (asserted.email.is_none() && asserted.name.is_none());
        if lacking && let Some(info) = self.user_info(&client, &tokens, claims.subject()).await? {
            asserted.fill_from(info)?;
        }
        let claim_values = mapping::claim_values(&asserted.claims, claim);
        let grants = mapping::grants(&self.settings.mapping, claim, &claim_values, studio)?;
        Ok(SsoSignIn {
            identity: SsoIdentity {
                issuer: claims.issuer().as_str().to_owned(),
                subject: claims.subject().as_str().to_owned(),
            },
            email: asserted.email,
            email_verified: asserted.email_verified,
            name: asserted.name,
            claim_values,
            grants,
        })
    }

    /// Verifies a raw ID token (a compact JWT) as [`OidcProvider::complete_login`] does:
    /// signature with the provider's keys, issuer, audience (this client only), expiry at
    /// `now`, and `nonce`. Returns the verified identity.
    pub async fn verify_id_token(
        &self,
        raw: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<SsoIdentity, SsoError> {
        let token: Token = raw
            .parse()
            .map_err(|e: serde_json::Error| SsoError::IdToken {
                problem: IdTokenProblem::Other,
                detail: format!("not a JSON Web Token: {e}"),
            })?;
        let client = self.client(self.metadata.clone())?;
        let (claims, _) = self
            .verify(client, &token, &Nonce::new(nonce.to_owned()), now)
            .await?;
        Ok(SsoIdentity {
            issuer: claims.issuer().as_str().to_owned(),
            subject: claims.subject().as_str().to_owned(),
        })
    }

    /// Verifies the token; when no key of the cached set matches (the provider rotated its
    /// keys), fetches the set again and retries once. Returns the client holding the keys
    /// that verified it.
    async fn verify(
        &self,
        client: OidcClient,
        token: &Token,
        nonce: &Nonce,
        now: DateTime<Utc>,
    ) -> Result<(Claims, OidcClient), SsoError> {
        let verify = |client: &OidcClient| {
            let verifier = client.id_token_verifier().set_time_fn(move || now);
            token.claims(&verifier, nonce).cloned()
        };
        match verify(&client) {
            Ok(claims) => Ok((claims, client)),
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                tracing::info!(issuer = %self.settings.issuer_url, "no key matches the ID token; fetching the provider's key set again");
                let keys = JsonWebKeySet::fetch_async(self.metadata.jwks_uri(), &self.http)
                    .await
                    .map_err(|e| SsoError::IdToken {
                        problem: IdTokenProblem::Signature,
                        detail: format!(
                            "no key of the provider matches, and fetching its key set again \
                             failed: {}",
                            error_chain(&e)
                        ),
                    })?;
                let client = self.client(self.metadata.clone().set_jwks(keys))?;
                let claims = verify(&client).map_err(id_token_error)?;
                Ok((claims, client))
            }
            Err(e) => Err(id_token_error(e)),
        }
    }

    async fn user_info(
        &self,
        client: &OidcClient,
        tokens: &Tokens,
        subject: &SubjectIdentifier,
    ) -> Result<Option<UserInfoClaims<OtherClaims, CoreGenderClaim>>, SsoError> {
        let Ok(request) = client.user_info(tokens.access_token().clone(), Some(subject.clone()))
        else {
            // The provider has no userinfo endpoint: the ID token is all there is.
            return Ok(None);
        };
        let info = request
            .request_async(&self.http)
            .await
            .map_err(|e| SsoError::UserInfo {
                reason: error_chain(&e),
            })?;
        Ok(Some(info))
    }

    fn client(&self, metadata: Metadata) -> Result<OidcClient, SsoError> {
        let s = &self.settings;
        let redirect = RedirectUrl::new(s.redirect_url.clone()).map_err(|e| {
            SsoError::Settings(SettingsError {
                problems: vec![SettingsProblem {
                    field: "redirect_url".into(),
                    message: format!("\"{}\" is not a URL ({e})", s.redirect_url),
                }],
            })
        })?;
        // Basic authentication is the default every provider must accept; a provider that
        // lists only client_secret_post gets the secret in the request body.
        let post_only = metadata
            .token_endpoint_auth_methods_supported()
            .is_some_and(|methods| {
                !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
                    && methods.contains(&CoreClientAuthMethod::ClientSecretPost)
            });
        let client = OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(s.client_id.clone()),
            Some(ClientSecret::new(
                s.client_secret.expose_secret().to_owned(),
            )),
        )
        .set_redirect_uri(redirect);
        Ok(if post_only {
            client.set_auth_type(AuthType::RequestBody)
        } else {
            client
        })
    }
}

/// The claims a sign-in reads, gathered from the ID token and, where it lacks them, the
/// userinfo endpoint.
struct Asserted {
    claims: serde_json::Map<String, Value>,
    email: Option<String>,
    email_verified: Option<bool>,
    name: Option<String>,
}

impl Asserted {
    fn from_id_token(claims: &Claims) -> Result<Asserted, SsoError> {
        let json = claims_json(claims)?;
        Ok(Asserted {
            claims: json,
            email: claims.email().map(|e| e.as_str().to_owned()),
            email_verified: claims.email_verified(),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
        })
    }

    fn has(&self, claim: &str) -> bool {
        !mapping::claim_values(&self.claims, claim).is_empty()
    }

    /// Adds what the ID token lacked; what it said stays (it is the signed statement).
    fn fill_from(
        &mut self,
        info: UserInfoClaims<OtherClaims, CoreGenderClaim>,
    ) -> Result<(), SsoError> {
        if self.email.is_none() {
            self.email = info.email().map(|e| e.as_str().to_owned());
            self.email_verified = info.email_verified();
        }
        if self.name.is_none() {
            self.name = info
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned());
        }
        for (key, value) in claims_json(&info)? {
            self.claims.entry(key).or_insert(value);
        }
        Ok(())
    }
}

fn claims_json<T: Serialize>(claims: &T) -> Result<serde_json::Map<String, Value>, SsoError> {
    match serde_json::to_value(claims) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(SsoError::IdToken {
            problem: IdTokenProblem::Other,
            detail: "the claims are not a JSON object".into(),
        }),
        Err(e) => Err(SsoError::IdToken {
            problem: IdTokenProblem::Other,
            detail: e.to_string(),
        }),
    }
}

fn id_token_error(e: ClaimsVerificationError) -> SsoError {
    let problem = match &e {
        ClaimsVerificationError::SignatureVerification(_) => IdTokenProblem::Signature,
        ClaimsVerificationError::InvalidAudience(_) => IdTokenProblem::Audience,
        ClaimsVerificationError::InvalidIssuer(_) => IdTokenProblem::Issuer,
        ClaimsVerificationError::InvalidNonce(_) => IdTokenProblem::Nonce,
        ClaimsVerificationError::Expired(_) => IdTokenProblem::Expired,
        _ => IdTokenProblem::Other,
    };
    SsoError::IdToken {
        problem,
        detail: error_chain(&e),
    }
}

fn describe_discovery_error(e: &DiscoveryError<HttpError>) -> String {
    match e {
        DiscoveryError::Request(e) => e.to_string(),
        DiscoveryError::Response(status, body, message) => {
            // The message names the status, except when it is about the content type.
            let mut text = if message.contains(status.as_str()) {
                message.clone()
            } else {
                format!("{message} (HTTP {status})")
            };
            let snippet: String = String::from_utf8_lossy(body).chars().take(200).collect();
            let snippet = snippet.split_whitespace().collect::<Vec<_>>().join(" ");
            if !snippet.is_empty() {
                text.push_str(": ");
                text.push_str(&snippet);
            }
            text
        }
        DiscoveryError::Parse(e) => format!(
            "the discovery document or key set is not valid at `{}`: {}",
            e.path(),
            e.inner()
        ),
        DiscoveryError::Validation(message) => message.clone(),
        other => error_chain(other),
    }
}

fn describe_token_error(
    e: &RequestTokenError<HttpError, StandardErrorResponse<CoreErrorResponseType>>,
) -> String {
    match e {
        RequestTokenError::ServerResponse(response) => response.to_string(),
        RequestTokenError::Parse(e, _) => format!(
            "the token response is not valid at `{}`: {}",
            e.path(),
            e.inner()
        ),
        other => error_chain(other),
    }
}

#[cfg(all(test, feature = "test-provider"))]
mod tests {
    use super::*;
    use crate::http::HttpOptions;
    use crate::settings::{ClaimRule, Role};
    use crate::test_provider::{ProviderConfig, StartError, TestClient, TestProvider, TestUser};
    use secrecy::SecretString;

    const REDIRECT: &str = "http://127.0.0.1:9/sso/callback";

    #[tokio::test]
    async fn a_key_set_rotated_since_discovery_is_fetched_again() {
        let config = ProviderConfig {
            clients: vec![TestClient::new(
                "greenlight",
                "client-secret-0123456789",
                REDIRECT,
            )],
            users: vec![TestUser::new("ana", "pw", "ana-0001").groups(&["g"])],
            id_token_claims: true,
        };
        let provider = match TestProvider::start(&config) {
            Ok(p) => p,
            Err(StartError::Unavailable(why)) => {
                eprintln!("skipped: {why}");
                return;
            }
            Err(e) => panic!("{e}"),
        };
        let studio = Studio {
            organisations: ["org".to_owned()].into(),
            whom_to_ask: "the admins".into(),
        };
        let settings = SsoSettings {
            issuer_url: provider.issuer().into(),
            client_id: "greenlight".into(),
            client_secret: SecretString::from("client-secret-0123456789"),
            redirect_url: REDIRECT.into(),
            scopes: vec!["groups".into()],
            claim: "groups".into(),
            mapping: vec![ClaimRule {
                value: "g".into(),
                organisation: "org".into(),
                roles: vec![Role::Partner],
            }],
        };
        let http = SsoHttp::new(HttpOptions {
            allow_private: true,
            ..HttpOptions::default()
        })
        .unwrap();
        let mut rp = OidcProvider::discover(settings, &studio, &http)
            .await
            .unwrap();
        // As if the provider had rotated its keys since discovery: the cached set knows none
        // of the keys it signs with now.
        rp.metadata = rp.metadata.clone().set_jwks(JsonWebKeySet::new(Vec::new()));

        let start = rp.begin_login(Utc::now(), "browser-1").unwrap();
        let url = provider
            .sign_in(&start.authorization_url, "ana", "pw", REDIRECT)
            .await
            .unwrap();
        let signed_in = rp
            .complete_login(
                &start.pending,
                &Callback::from_url(&url),
                "browser-1",
                &studio,
                Utc::now(),
            )
            .await
            .unwrap();
        assert_eq!(signed_in.identity.subject, "ana-0001");
    }
}
