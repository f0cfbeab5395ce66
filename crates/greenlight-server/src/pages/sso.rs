//! Signing in with a studio's own OpenID provider (`/sso/start`, `/sso/callback`), and the
//! studio admin's single sign-on settings (`/admin/sso`).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use chrono::Utc;
use greenlight_sso::{Callback, PendingLogin, SsoError};
use greenlight_store::{OrgId, SignInPolicy, SsoIntent, SsoPending, StoreError};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::session::{self, PRESESSION_COOKIE, SESSION_COOKIE, SESSION_LIFETIME};
use super::signin::safe_next;
use super::views::Layout;
use super::{CsrfForm, Ctx, PageError, PageResult, field, render, see_other};
use crate::sso::{self as rt, SaveError, SsoSettingsInput};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct StartQuery {
    /// The studio, by id or by name.
    #[serde(default)]
    studio: String,
    #[serde(default)]
    next: Option<String>,
    /// Link the provider's identity to the signed-in person instead of signing in; the value
    /// is the session's CSRF token.
    #[serde(default)]
    link: Option<String>,
    /// The secret of a mailed invitation: a new person sets up their account through the
    /// provider.
    #[serde(default)]
    join: Option<String>,
}

/// What is sealed for a sign-in under way: the protocol's record and, when a new person
/// sets up their account, the invitation link's secret.
#[derive(serde::Serialize, serde::Deserialize)]
struct Sealed {
    login: PendingLogin,
    #[serde(default)]
    join: Option<String>,
}

/// The browser's key for a sign-in: a digest of its pre-session cookie (the record is stored,
/// so it keeps a digest, not the cookie).
fn browser_key(nonce: &str) -> String {
    hex::encode(Sha256::digest(
        format!("greenlight sso browser v1:{nonce}").as_bytes(),
    ))
}

fn failed(status: StatusCode, detail: impl Into<String>) -> PageError {
    PageError::status(status, "Single sign-on did not complete", detail)
}

fn no_sso() -> PageError {
    PageError::status(
        StatusCode::NOT_FOUND,
        "No single sign-on here",
        "No studio of that name signs its people in through its own provider here. Check the \
         studio's name, or sign in with your email and password.",
    )
}

/// Why a sign-in failed, in words for the person: the protocol's own message where it is
/// about them (no role, expired, another browser, cancelled), a plain one otherwise (the
/// details go to the log, for the studio's admins).
fn person_message(e: &SsoError) -> (StatusCode, String) {
    match e {
        SsoError::NoRole { .. } => (StatusCode::FORBIDDEN, e.to_string()),
        SsoError::LoginExpired { .. }
        | SsoError::OtherBrowser
        | SsoError::ProviderRefused { .. }
        | SsoError::SettingsChanged { .. } => (StatusCode::BAD_REQUEST, e.to_string()),
        _ => (
            StatusCode::BAD_GATEWAY,
            "Your studio's identity provider did not confirm who you are. Try again; if it keeps \
             failing, tell your studio's admins (the reason is in the server's log)."
                .into(),
        ),
    }
}

#[derive(Template)]
#[template(path = "sso_continue.html")]
pub struct ContinuePage {
    pub layout: Layout,
    pub studio: String,
    pub href: String,
}

/// The sign-in page's "Sign in with your studio": finds the studio by name and sends the
/// browser on to its sign-in. A page, not a redirect: the sign-in form's content security
/// policy (`form-action 'self'`) rightly stops a form from leading to another site, and the
/// provider is another site; a link (here followed at once by the page itself) is not a form.
pub async fn find(State(state): State<AppState>, Query(q): Query<StartQuery>) -> PageResult {
    if q.studio.trim().is_empty() || q.studio.len() > 200 {
        return Err(no_sso());
    }
    let Some((studio_id, name)) = state.store.studio_by_id_or_name(&q.studio).await? else {
        return Err(no_sso());
    };
    if state.store.sso_record(&studio_id).await?.is_none() {
        return Err(no_sso());
    }
    let next = safe_next(q.next.as_deref().unwrap_or("/"));
    let href = format!(
        "/sso/start?studio={}&next={}",
        super::urlencode(&studio_id.0),
        super::urlencode(&next)
    );
    Ok(render(&ContinuePage {
        layout: Layout {
            title: format!("Sign in with {name}"),
            ..Layout::default()
        },
        studio: name,
        href,
    }))
}

/// Starts a sign-in: remembers it server-side (sealed, ten minutes, bound to this browser)
/// and sends the browser to the studio's provider.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<StartQuery>,
) -> PageResult {
    if q.studio.trim().is_empty() || q.studio.len() > 200 {
        return Err(no_sso());
    }
    let Some((studio_id, _)) = state.store.studio_by_id_or_name(&q.studio).await? else {
        return Err(no_sso());
    };
    let Some(record) = state.store.sso_record(&studio_id).await? else {
        return Err(no_sso());
    };
    let join = q.join.clone().filter(|j| !j.is_empty());
    let intent = if let Some(secret) = &join {
        if secret.len() > 200 {
            return Err(failed(
                StatusCode::BAD_REQUEST,
                "This invitation link is not valid.",
            ));
        }
        let invitation =
            super::links::usable(state.store.invitation_by_link(secret).await?, |l| {
                l.problem(Utc::now())
            })?;
        if !invitation.new_person || invitation.has_password || invitation.studio != studio_id {
            return Err(failed(
                StatusCode::CONFLICT,
                "This invitation is not one to set up through this studio's sign-in: follow its link and sign in as yourself.",
            ));
        }
        SsoIntent::Join {
            user_id: invitation.person,
        }
    } else if let Some(token) = &q.link {
        let Some(secret) = session::read_cookie(&headers, SESSION_COOKIE) else {
            return Err(PageError::SignIn {
                next: "/account".into(),
            });
        };
        // Linking changes the account, so the link carries the session's CSRF token: another
        // site cannot start it in the person's browser. (A link, not a form: the pages'
        // `form-action 'self'` rightly stops a form from leading to the provider.)
        if !session::csrf_ok(&secret, token) {
            return Err(PageError::csrf());
        }
        let Some(p) = state.store.principal_by_secret(&secret).await? else {
            return Err(PageError::SignIn {
                next: "/account".into(),
            });
        };
        SsoIntent::Link { user_id: p.user.id }
    } else {
        SsoIntent::SignIn
    };
    let next = safe_next(q.next.as_deref().unwrap_or("/"));
    let nonce = session::read_cookie(&headers, PRESESSION_COOKIE)
        .filter(|n| n.len() == 32 && n.chars().all(|c| c.is_ascii_hexdigit()))
        .unwrap_or_else(session::new_nonce);
    let settings = rt::settings_of(&state, &record, rt::redirect_url(&state, &headers))?;
    let studio = rt::studio(&state, &studio_id).await?;
    let provider = match state
        .sso
        .provider(settings, record.updated_at, &studio_id, &studio)
        .await
    {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(studio = %studio_id, error = %e, "single sign-on: discovery failed");
            let (status, message) = person_message(&e);
            return Err(failed(status, message));
        }
    };
    let login = provider
        .begin_login(Utc::now(), &browser_key(&nonce))
        .map_err(|e| failed(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let json = serde_json::to_vec(&Sealed {
        login: login.pending.clone(),
        join,
    })
    .map_err(|e| StoreError::Backend(format!("a sign-in under way: {e}")))?;
    state
        .store
        .put_sso_pending(
            login.pending.state(),
            SsoPending {
                studio_id,
                record: rt::seal(&state, &json, "a sign-in under way")?,
                intent,
                next,
                expires_at: login.pending.expires_at(),
            },
        )
        .await?;
    let mut resp = see_other(login.authorization_url.as_str());
    if let Ok(v) = HeaderValue::from_str(&session::cookie(PRESESSION_COOKIE, &nonce, None, false)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// The provider sends the browser back here: finish the sign-in (or the link), once.
pub async fn callback(State(state): State<AppState>, parts: Parts) -> PageResult {
    let headers = &parts.headers;
    let query = parts.uri.query().unwrap_or("");
    if query.len() > 4 * greenlight_sso::MAX_CALLBACK_PARAM {
        return Err(failed(
            StatusCode::BAD_REQUEST,
            "The answer from the provider is too long.",
        ));
    }
    let url = url::Url::parse(&format!("{}?{query}", rt::redirect_url(&state, headers))).map_err(
        |_| {
            failed(
                StatusCode::BAD_REQUEST,
                "The answer from the provider could not be read.",
            )
        },
    )?;
    let callback = Callback::from_url(&url);
    let Some(state_param) = callback
        .state
        .clone()
        .filter(|s| !s.is_empty() && s.len() < 512)
    else {
        return Err(failed(
            StatusCode::BAD_REQUEST,
            "The answer from the provider names no sign-in. Start again from the sign-in page.",
        ));
    };
    let Some(pending) = state.store.take_sso_pending(&state_param).await? else {
        return Err(failed(
            StatusCode::BAD_REQUEST,
            "This sign-in is unknown or was already used. Start again from the sign-in page.",
        ));
    };
    let Sealed { login, join } =
        serde_json::from_slice(&rt::open(&state, &pending.record, "a sign-in under way")?)
            .map_err(|e| StoreError::Backend(format!("a sign-in under way: {e}")))?;
    let nonce = session::read_cookie(headers, PRESESSION_COOKIE).unwrap_or_default();
    let key = if nonce.is_empty() {
        String::new()
    } else {
        browser_key(&nonce)
    };
    let Some(record) = state.store.sso_record(&pending.studio_id).await? else {
        return Err(no_sso());
    };
    let settings = rt::settings_of(&state, &record, rt::redirect_url(&state, headers))?;
    let mapping = settings.mapping.clone();
    let studio = rt::studio(&state, &pending.studio_id).await?;
    let result = match state
        .sso
        .provider(settings, record.updated_at, &pending.studio_id, &studio)
        .await
    {
        Ok(provider) => {
            provider
                .complete_login(&login, &callback, &key, &studio, Utc::now())
                .await
        }
        Err(e) => Err(e),
    };
    let signed_in = match result {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(studio = %pending.studio_id, error = %e, "single sign-on refused");
            let (status, message) = person_message(&e);
            return Err(failed(status, message));
        }
    };
    let person = rt::person_of(&signed_in, &mapping);
    match pending.intent {
        SsoIntent::Join { user_id } => {
            // The invitation's link sets up the account (once), then the identity is linked
            // to that person and the sign-in goes on as any other.
            // An identity already linked to someone else is refused before the link is used
            // up, so the invited person can still choose a password.
            if let Some(owner) = state
                .store
                .sso_identity_owner(&person.issuer, &person.subject)
                .await?
                && owner != user_id
            {
                return Err(failed(
                    StatusCode::CONFLICT,
                    "This single sign-on account is already linked to another person; your \
                     invitation is unused. Choose a password from its link instead, or ask \
                     your studio's admins.",
                ));
            }
            let secret = join.unwrap_or_default();
            let invited = match state
                .store
                .consume_invitation_link(&secret, greenlight_store::AccountSetup::SingleSignOn)
                .await
            {
                Ok(u) => u,
                Err(StoreError::Conflict { message, .. }) => {
                    return Err(failed(StatusCode::CONFLICT, message));
                }
                Err(e) => return Err(e.into()),
            };
            if invited != user_id {
                return Err(failed(
                    StatusCode::CONFLICT,
                    "This invitation is for someone else.",
                ));
            }
            match state
                .store
                .link_sso_identity(&user_id, &pending.studio_id, person.clone())
                .await
            {
                Ok(()) => {}
                Err(StoreError::Conflict { message, .. }) => {
                    return Err(failed(StatusCode::CONFLICT, message));
                }
                Err(e) => return Err(e.into()),
            }
            let user = state.store.sso_sign_in(&pending.studio_id, person).await?;
            start_session(&state, headers, &user, &pending.next).await
        }
        SsoIntent::SignIn => {
            let user = match state.store.sso_sign_in(&pending.studio_id, person).await {
                Ok(u) => u,
                Err(StoreError::Conflict { message, .. }) => {
                    return Err(failed(StatusCode::CONFLICT, message));
                }
                Err(StoreError::Invalid { summary, .. }) => {
                    return Err(failed(StatusCode::UNPROCESSABLE_ENTITY, summary));
                }
                Err(e) => return Err(e.into()),
            };
            start_session(&state, headers, &user, &pending.next).await
        }
        SsoIntent::Link { user_id } => {
            // The person who started the link must still be the one signed in here.
            let current = match session::read_cookie(headers, SESSION_COOKIE) {
                Some(s) => state.store.principal_by_secret(&s).await?,
                None => None,
            };
            if current.as_ref().map(|p| &p.user.id) != Some(&user_id) {
                return Err(failed(
                    StatusCode::FORBIDDEN,
                    "You are no longer signed in as the person who asked to link this account. Sign in and start again.",
                ));
            }
            match state
                .store
                .link_sso_identity(&user_id, &pending.studio_id, person)
                .await
            {
                Ok(()) => Ok(see_other("/account?done=sso_linked")),
                Err(StoreError::Conflict { message, .. }) => {
                    Err(failed(StatusCode::CONFLICT, message))
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Starts the session of a person the provider signed in, and goes on to `next`.
async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    user: &greenlight_store::UserId,
    next: &str,
) -> PageResult {
    let secret = state.store.create_session(user, SESSION_LIFETIME).await?;
    let mut resp = see_other(next);
    let secure = crate::client::is_https(headers, &state.config);
    for c in [
        session::cookie(SESSION_COOKIE, &secret, Some(SESSION_LIFETIME), secure),
        session::expired_cookie(PRESESSION_COOKIE),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

/// One organisation of the studio, for writing the mapping.
#[derive(Debug, Clone)]
pub struct OrgRow {
    pub id: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "sso_settings.html")]
pub struct SsoSettingsPage {
    pub layout: Layout,
    pub studio_id: String,
    pub studio_name: String,
    pub configured: bool,
    pub issuer_url: String,
    pub client_id: String,
    pub scopes: String,
    pub claim: String,
    pub mapping: String,
    pub redirect_url: String,
    pub sign_in_link: String,
    pub orgs: Vec<OrgRow>,
    pub errors: Vec<(String, String)>,
    pub local_passwords: bool,
    pub admin_totp: bool,
}

#[derive(Deserialize, Default)]
pub struct StudioQuery {
    studio_id: Option<String>,
    done: Option<String>,
}

/// Problems of a form, each with its field.
type Problems = Vec<(String, String)>;

async fn settings_page(
    state: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    studio: OrgId,
    form: Option<(&[(String, String)], Problems)>,
    done: Option<&str>,
) -> PageResult {
    let (studio, record) = state
        .store
        .sso_settings(&ctx.principal, Some(&studio))
        .await?;
    let policy = state.store.sign_in_policy(&studio).await?;
    let orgs: Vec<OrgRow> = state
        .store
        .studio_organisations(&studio)
        .await?
        .into_iter()
        .map(|(id, name)| OrgRow { id: id.0, name })
        .collect();
    let studio_name = orgs
        .iter()
        .find(|o| o.id == studio.0)
        .map(|o| o.name.clone())
        .unwrap_or_default();
    let mut layout = ctx.layout("Single sign-on", None);
    layout.flashes = super::flash_for(done);
    let (issuer_url, client_id, scopes, claim, mapping, errors) = match (form, &record) {
        (Some((pairs, errors)), _) => (
            field(pairs, "issuer_url"),
            field(pairs, "client_id"),
            field(pairs, "scopes"),
            field(pairs, "claim"),
            field(pairs, "mapping"),
            errors,
        ),
        (None, Some(r)) => (
            r.issuer_url.clone(),
            r.client_id.clone(),
            r.scopes.join(" "),
            r.claim.clone(),
            serde_json::to_string_pretty(&r.mapping).unwrap_or_default(),
            Vec::new(),
        ),
        (None, None) => (
            String::new(),
            String::new(),
            "groups".into(),
            "groups".into(),
            format!(
                "[\n  {{\"value\": \"greenlight-reviewers\", \"organisation\": \"{}\", \"roles\": [\"reviewer\"]}}\n]",
                studio.0
            ),
            Vec::new(),
        ),
    };
    let sign_in_link = rt::public_link(
        state,
        headers,
        &format!("/sso/start?studio={}", super::urlencode(&studio.0)),
    );
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = SsoSettingsPage {
        layout,
        studio_id: studio.0.clone(),
        studio_name,
        configured: record.is_some(),
        issuer_url,
        client_id,
        scopes,
        claim,
        mapping,
        redirect_url: rt::redirect_url(state, headers),
        sign_in_link,
        orgs,
        errors,
        local_passwords: policy.local_passwords,
        admin_totp: policy.admin_totp,
    };
    Ok((status, render(&page)).into_response())
}

fn studio_param(ctx: &Ctx, given: Option<&str>) -> PageResult<OrgId> {
    if let Some(s) = given.filter(|s| !s.is_empty()) {
        return Ok(OrgId(s.to_owned()));
    }
    ctx.principal
        .memberships
        .iter()
        .find(|m| {
            m.org_kind == greenlight_store::OrgKind::Studio
                && m.role == greenlight_store::Role::Admin
        })
        .map(|m| m.org_id.clone())
        .ok_or_else(|| PageError::forbidden("Single sign-on settings are for a studio's admins."))
}

/// The studio's settings page.
pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(q): Query<StudioQuery>,
) -> PageResult {
    let studio = studio_param(&ctx, q.studio_id.as_deref())?;
    settings_page(&state, &ctx, &headers, studio, None, q.done.as_deref()).await
}

/// Saves the settings: every field checked, the mapping too, then the provider's discovery;
/// nothing is saved unless all of it passes.
pub async fn save(State(state): State<AppState>, headers: HeaderMap, form: CsrfForm) -> PageResult {
    let studio = studio_param(&form.ctx, Some(&form.get("studio_id")))?;
    let mapping = form.get("mapping");
    let parsed: Result<Vec<greenlight_sso::ClaimRule>, String> = if mapping.len() > 256 * 1024 {
        Err("is longer than 256 KiB".into())
    } else {
        serde_json::from_str(&mapping).map_err(|e| {
            format!(
                "is not a list of rules {{\"value\", \"organisation\", \"roles\"}}: {e} (line {}, column {})",
                e.line(),
                e.column()
            )
        })
    };
    let rules = match parsed {
        Ok(r) => r,
        Err(why) => {
            let errors = vec![("mapping".to_owned(), why)];
            return settings_page(
                &state,
                &form.ctx,
                &headers,
                studio,
                Some((&form.pairs, errors)),
                None,
            )
            .await;
        }
    };
    let secret = form.get("client_secret");
    let input = SsoSettingsInput {
        issuer_url: form.get("issuer_url"),
        client_id: form.get("client_id"),
        client_secret: (!secret.trim().is_empty()).then_some(secret),
        scopes: form
            .get("scopes")
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        claim: form.get("claim"),
        mapping: rules,
    };
    match rt::save_settings(&state, &form.ctx.principal, &studio, input, &headers).await {
        Ok(()) => Ok(see_other(&format!(
            "/admin/sso?studio_id={}&done=sso_saved",
            super::urlencode(&studio.0)
        ))),
        Err(SaveError::Invalid(errors)) => {
            settings_page(
                &state,
                &form.ctx,
                &headers,
                studio,
                Some((&form.pairs, errors)),
                None,
            )
            .await
        }
        Err(SaveError::Store(e)) => Err(e.into()),
    }
}

/// Sets the studio's sign-in policy (local passwords, second factor for admins).
pub async fn policy(State(state): State<AppState>, form: CsrfForm) -> PageResult {
    let studio = studio_param(&form.ctx, Some(&form.get("studio_id")))?;
    let policy = SignInPolicy {
        local_passwords: form.get("local_passwords") == "on",
        admin_totp: form.get("admin_totp") == "on",
    };
    match state
        .store
        .set_sign_in_policy(&form.ctx.principal, Some(&studio), policy)
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/admin/sso?studio_id={}&done=policy_saved",
            super::urlencode(&studio.0)
        ))),
        Err(StoreError::Invalid { summary, .. }) => Err(PageError::status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Please check the form",
            summary,
        )),
        Err(e) => Err(e.into()),
    }
}

/// Removes the studio's single sign-on.
pub async fn remove(State(state): State<AppState>, form: CsrfForm) -> PageResult {
    let studio = studio_param(&form.ctx, Some(&form.get("studio_id")))?;
    state
        .store
        .delete_sso_settings(&form.ctx.principal, Some(&studio))
        .await?;
    Ok(see_other(&format!(
        "/admin/sso?studio_id={}&done=sso_removed",
        super::urlencode(&studio.0)
    )))
}
