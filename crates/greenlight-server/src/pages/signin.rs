//! Signing in and out.

use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::session::{self, Gate, PRESESSION_COOKIE, SESSION_COOKIE};
use super::views::{Layout, SignInPage};
use super::{CsrfForm, PageResult, field, render};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Where to go after sign-in: only a path on this origin (no open redirect). The value must
/// parse as a relative URL that stays on this origin; control characters (which browsers
/// strip, turning `/\t/evil.example` into `//evil.example`) and backslashes are refused
/// outright, and what is returned is the URL's own serialisation, always a valid header.
pub(crate) fn safe_next(next: &str) -> String {
    const HOME: &str = "/";
    if !next.starts_with('/')
        || next.starts_with("//")
        || next.chars().any(|c| c.is_control() || c == '\\')
    {
        return HOME.to_owned();
    }
    let Ok(base) = url::Url::parse("https://greenlight.invalid/") else {
        return HOME.to_owned();
    };
    match base.join(next) {
        Ok(u) if u.origin() == base.origin() => {
            let mut out = u.path().to_owned();
            if let Some(q) = u.query() {
                out.push('?');
                out.push_str(q);
            }
            out
        }
        _ => HOME.to_owned(),
    }
}

fn render_page(
    status: StatusCode,
    nonce: &str,
    email: &str,
    error: Option<String>,
    next: &str,
) -> Response {
    let view = SignInPage {
        layout: Layout {
            title: "Sign in".into(),
            csrf: session::csrf_token(nonce),
            ..Layout::default()
        },
        email: email.to_owned(),
        error,
        next: next.to_owned(),
    };
    let mut resp = (status, render(&view)).into_response();
    if let Ok(v) = HeaderValue::from_str(&session::cookie(PRESESSION_COOKIE, nonce, None, false)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// The sign-in form.
pub async fn page(headers: HeaderMap, Query(q): Query<Next>) -> Response {
    let nonce =
        session::read_cookie(&headers, PRESESSION_COOKIE).unwrap_or_else(session::new_nonce);
    render_page(
        StatusCode::OK,
        &nonce,
        "",
        None,
        &safe_next(q.next.as_deref().unwrap_or("/")),
    )
}

/// Checks the password (rate-limited), starts a session, and goes on.
pub async fn submit(
    State(state): State<AppState>,
    parts: Parts,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    let headers = &parts.headers;
    let nonce = super::presession_form(headers, &pairs)?;
    let email = field(&pairs, "email");
    let next = safe_next(&field(&pairs, "next"));
    let source = crate::client::source_address(&parts, &state.config);
    let limiter = &state.logins;
    match limiter.gate(&source, &email, Instant::now()) {
        Gate::Refuse(wait) => {
            let minutes = wait.as_secs().div_ceil(60).max(1);
            return Ok(render_page(
                StatusCode::TOO_MANY_REQUESTS,
                &nonce,
                &email,
                Some(format!(
                    "Too many failed sign-ins from your network. Try again in {minutes} minutes."
                )),
                &next,
            ));
        }
        // An account others have been guessing at: the attempt waits, then is checked.
        Gate::Check(delay) if !delay.is_zero() => tokio::time::sleep(delay).await,
        Gate::Check(_) => {}
    }
    let Some(user) = state
        .store
        .check_password(&email, &field(&pairs, "password"))
        .await?
    else {
        limiter.failed(&source, &email, Instant::now());
        return Ok(render_page(
            StatusCode::UNAUTHORIZED,
            &nonce,
            &email,
            Some("That email and password do not match.".into()),
            &next,
        ));
    };
    limiter.succeeded(&email);
    if !state.store.local_password_allowed(&user).await? {
        return Ok(render_page(
            StatusCode::FORBIDDEN,
            &nonce,
            &email,
            Some(
                "Your studio signs its people in through its own identity provider: use \u{201c}Sign in with your studio\u{201d} below."
                    .into(),
            ),
            &next,
        ));
    }
    super::account::start_after_password(&state, &parts.headers, &user, &next).await
}

/// Ends the session in the database and drops the cookie.
pub async fn signout(State(state): State<AppState>, form: CsrfForm) -> PageResult {
    state.store.end_session(&form.ctx.secret).await?;
    let mut resp = super::see_other("/signin");
    if let Ok(v) = HeaderValue::from_str(&session::expired_cookie(SESSION_COOKIE)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}
