//! The signed-in person's own sign-in: the TOTP second factor (set up, remove), the studio
//! sign-ins linked to the account, and the second-factor step of a password sign-in.

use std::time::Instant;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use greenlight_sso::totp::{self, TotpError, TotpSeed};
use greenlight_store::UserId;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::session::{self, Gate, SESSION_COOKIE, SESSION_LIFETIME};
use super::views::Layout;
use super::{CsrfForm, Ctx, PageError, PageResult, field, flash_for, render, see_other, when};
use crate::state::AppState;

/// The cookie of the second-factor step of a password sign-in.
pub const CHALLENGE_COOKIE: &str = "gl_2fa";

/// A studio sign-in linked to the account.
#[derive(Debug, Clone)]
pub struct IdentityView {
    pub issuer: String,
    pub email: String,
    pub last_seen: String,
}

/// A studio of the person that signs in through its own provider.
#[derive(Debug, Clone)]
pub struct StudioSso {
    pub name: String,
    /// Starts linking the studio's sign-in to this account.
    pub href: String,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub layout: Layout,
    pub email: String,
    pub totp_on: bool,
    /// Without a password, the person signs in through the studio's provider only.
    pub has_password: bool,
    pub identities: Vec<IdentityView>,
    pub studios: Vec<StudioSso>,
    pub admin_on_hold: bool,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "totp_enrol.html")]
pub struct EnrolPage {
    pub layout: Layout,
    pub qr_svg: String,
    pub manual_key: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "signin_code.html")]
pub struct CodePage {
    pub layout: Layout,
    pub error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

async fn account_page(
    state: &AppState,
    ctx: &Ctx,
    done: Option<&str>,
    error: Option<String>,
) -> PageResult {
    let user = &ctx.principal.user.id;
    let totp_on = state.store.totp(user).await?.is_some_and(|t| t.confirmed);
    let linked = state.store.identities(user).await?;
    let linked_studios: Vec<greenlight_store::OrgId> =
        linked.iter().map(|i| i.studio_id.clone()).collect();
    let identities = linked
        .into_iter()
        .map(|i| IdentityView {
            issuer: i.issuer,
            email: i.email,
            last_seen: when(i.last_seen_at),
        })
        .collect();
    let mut studios = Vec::new();
    let mut seen = Vec::new();
    for m in &ctx.principal.memberships {
        if m.org_kind == greenlight_store::OrgKind::Studio
            && !seen.contains(&m.org_id)
            && !linked_studios.contains(&m.org_id)
        {
            seen.push(m.org_id.clone());
            if state.store.sso_record(&m.org_id).await?.is_some() {
                studios.push(StudioSso {
                    name: m.org_name.clone(),
                    href: format!(
                        "/sso/start?studio={}&link={}",
                        super::urlencode(&m.org_id.0),
                        ctx.csrf()
                    ),
                });
            }
        }
    }
    let mut layout = ctx.layout("Your account", None);
    layout.flashes.extend(flash_for(done));
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        render(&AccountPage {
            layout,
            email: ctx.principal.user.email.clone(),
            totp_on,
            has_password: state.store.has_password(user).await?,
            identities,
            studios,
            admin_on_hold: ctx.admin_on_hold,
            error,
        }),
    )
        .into_response())
}

/// The account page.
pub async fn page(State(state): State<AppState>, ctx: Ctx, Query(q): Query<Done>) -> PageResult {
    account_page(&state, &ctx, q.done.as_deref(), None).await
}

fn seed_of(state: &AppState, sealed: &str) -> PageResult<TotpSeed> {
    let bytes = crate::sso::open(state, sealed, "a second-factor seed")?;
    TotpSeed::from_bytes(bytes).map_err(|e| {
        PageError::from(greenlight_store::StoreError::Backend(format!(
            "a stored seed: {e}"
        )))
    })
}

fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

fn enrol_page(state: &AppState, ctx: &Ctx, sealed: &str, error: Option<String>) -> PageResult {
    let seed = seed_of(state, sealed)?;
    let url = totp::otpauth_url(&seed, "Greenlight", &ctx.principal.user.email)
        .map_err(|e| PageError::from(greenlight_store::StoreError::Backend(e.to_string())))?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        render(&EnrolPage {
            layout: ctx.layout("Set up a second factor", None),
            qr_svg: qr_svg(url.expose_secret()),
            manual_key: seed.to_base32().expose_secret().to_owned(),
            error,
        }),
    )
        .into_response())
}

/// Starts setting up a second factor: a fresh seed, shown once as a QR code and a key.
pub async fn start_totp(State(state): State<AppState>, form: CsrfForm) -> PageResult {
    let seed = TotpSeed::generate();
    let sealed = crate::sso::seal(&state, seed.expose_bytes(), "a second-factor seed")?;
    state
        .store
        .start_totp(&form.ctx.principal.user.id, sealed.clone())
        .await?;
    enrol_page(&state, &form.ctx, &sealed, None)
}

fn code_error(e: &TotpError) -> String {
    match e {
        TotpError::Replayed => "This code was already used; wait for the next one.".into(),
        TotpError::Malformed => "Enter the six digits your app shows.".into(),
        _ => "That code is not right. Check your device's clock, and enter the code your app shows now.".into(),
    }
}

/// Checks a code against a person's factor and records its step (once, on every instance).
async fn check_code(state: &AppState, user: &UserId, code: &str) -> PageResult<Result<(), String>> {
    let Some(record) = state.store.totp(user).await? else {
        return Ok(Err("No second factor is set up.".into()));
    };
    let seed = seed_of(state, &record.seed)?;
    match totp::verify(&seed, code, Utc::now(), record.last_step) {
        Ok(step) => {
            if state.store.accept_totp_step(user, step).await? {
                Ok(Ok(()))
            } else {
                Ok(Err(code_error(&TotpError::Replayed)))
            }
        }
        Err(e) => Ok(Err(code_error(&e))),
    }
}

/// Confirms the set-up with a first code from the app.
pub async fn confirm_totp(State(state): State<AppState>, form: CsrfForm) -> PageResult {
    let user = form.ctx.principal.user.id.clone();
    let Some(record) = state.store.totp(&user).await? else {
        return Ok(see_other("/account"));
    };
    if record.confirmed {
        return Ok(see_other("/account"));
    }
    match check_code(&state, &user, &form.get("code")).await? {
        Ok(()) => Ok(see_other("/account?done=totp_on")),
        Err(why) => enrol_page(&state, &form.ctx, &record.seed, Some(why)),
    }
}

/// Removes the second factor, after a current code.
pub async fn remove_totp(State(state): State<AppState>, form: CsrfForm) -> PageResult {
    let user = form.ctx.principal.user.id.clone();
    match check_code(&state, &user, &form.get("code")).await? {
        Ok(()) => {
            state.store.remove_totp(&user).await?;
            Ok(see_other("/account?done=totp_off"))
        }
        Err(why) => account_page(&state, &form.ctx, None, Some(why)).await,
    }
}

fn code_page(status: StatusCode, nonce: &str, error: Option<String>) -> Response {
    let page = CodePage {
        layout: Layout {
            title: "Second factor".into(),
            csrf: session::csrf_token(nonce),
            ..Layout::default()
        },
        error,
    };
    (status, render(&page)).into_response()
}

/// The second-factor step of a password sign-in.
pub async fn code_form(State(state): State<AppState>, parts: Parts) -> PageResult {
    let Some(secret) = session::read_cookie(&parts.headers, CHALLENGE_COOKIE) else {
        return Ok(see_other("/signin"));
    };
    if state.store.challenge(&secret).await?.is_none() {
        return Ok(see_other("/signin"));
    }
    Ok(code_page(StatusCode::OK, &secret, None))
}

/// After a password was proven (the sign-in form, a reset link): the session starts at once,
/// or, for a person with a second factor, the code step starts first. Every way in by
/// password goes through here, so none of them skips the second factor.
pub async fn after_password(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    user: &UserId,
    next: &str,
) -> PageResult {
    if !state.store.local_password_allowed(user).await? {
        return Err(PageError::forbidden(
            "Your studio signs its people in through its own identity provider: use \u{201c}Sign \
             in with your studio\u{201d} on the sign-in page.",
        ));
    }
    start_after_password(state, headers, user, next).await
}

/// [`after_password`] once the caller has checked that a password may sign this person in.
pub async fn start_after_password(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    user: &UserId,
    next: &str,
) -> PageResult {
    let secure = crate::client::is_https(headers, &state.config);
    let (cookie, to) = if state.store.totp(user).await?.is_some_and(|t| t.confirmed) {
        let challenge = state.store.create_challenge(user, next).await?;
        let ttl = greenlight_store::CHALLENGE_TTL.to_std().unwrap_or_default();
        (
            session::cookie(CHALLENGE_COOKIE, &challenge, Some(ttl), secure),
            "/signin/code".to_owned(),
        )
    } else {
        let secret = state.store.create_session(user, SESSION_LIFETIME).await?;
        (
            session::cookie(SESSION_COOKIE, &secret, Some(SESSION_LIFETIME), secure),
            next.to_owned(),
        )
    };
    let mut resp = see_other(&to);
    for c in [
        cookie,
        session::expired_cookie(super::session::PRESESSION_COOKIE),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

/// Checks the code (rate-limited like passwords), then starts the session.
pub async fn code_submit(
    State(state): State<AppState>,
    parts: Parts,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    let Some(secret) = session::read_cookie(&parts.headers, CHALLENGE_COOKIE) else {
        return Ok(see_other("/signin"));
    };
    if !session::csrf_ok(&secret, &field(&pairs, "csrf")) {
        return Err(PageError::csrf());
    }
    let Some((user, next)) = state.store.challenge(&secret).await? else {
        return Ok(see_other("/signin"));
    };
    let source = crate::client::source_address(&parts, &state.config);
    let account = format!("second factor of {user}");
    match state.logins.gate(&source, &account, Instant::now()) {
        Gate::Refuse(wait) => {
            let minutes = wait.as_secs().div_ceil(60).max(1);
            return Ok(code_page(
                StatusCode::TOO_MANY_REQUESTS,
                &secret,
                Some(format!(
                    "Too many wrong codes. Try again in {minutes} minutes."
                )),
            ));
        }
        Gate::Check(delay) if !delay.is_zero() => tokio::time::sleep(delay).await,
        Gate::Check(_) => {}
    }
    if let Err(why) = check_code(&state, &user, &field(&pairs, "code")).await? {
        state.logins.failed(&source, &account, Instant::now());
        return Ok(code_page(StatusCode::UNAUTHORIZED, &secret, Some(why)));
    }
    state.logins.succeeded(&account);
    state.store.end_challenge(&secret).await?;
    let session_secret = state.store.create_session(&user, SESSION_LIFETIME).await?;
    let mut resp = see_other(&next);
    let secure = crate::client::is_https(&parts.headers, &state.config);
    for c in [
        session::cookie(
            SESSION_COOKIE,
            &session_secret,
            Some(SESSION_LIFETIME),
            secure,
        ),
        session::expired_cookie(CHALLENGE_COOKIE),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}
