//! Signing in and out.

use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::session::{self, LoginLimiter, PRESESSION_COOKIE, SESSION_COOKIE, SESSION_LIFETIME};
use super::views::{Layout, SignInPage};
use super::{CsrfForm, PageError, PageResult, field, render};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only local paths are followed after sign-in (no open redirect).
fn safe_next(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next.to_owned()
    } else {
        "/".to_owned()
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
    Extension(limiter): Extension<Arc<LoginLimiter>>,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    let nonce = session::read_cookie(&headers, PRESESSION_COOKIE).unwrap_or_default();
    if !session::csrf_ok(&nonce, &field(&pairs, "csrf")) {
        return Err(PageError::csrf());
    }
    let email = field(&pairs, "email");
    let next = safe_next(&field(&pairs, "next"));
    if let Err(wait) = limiter.check(&email, Instant::now()) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        return Ok(render_page(
            StatusCode::TOO_MANY_REQUESTS,
            &nonce,
            &email,
            Some(format!(
                "Too many failed attempts. Try again in {minutes} minutes."
            )),
            &next,
        ));
    }
    let Some(user) = state
        .store
        .check_password(&email, &field(&pairs, "password"))
        .await?
    else {
        limiter.failed(&email, Instant::now());
        return Ok(render_page(
            StatusCode::UNAUTHORIZED,
            &nonce,
            &email,
            Some("That email and password do not match.".into()),
            &next,
        ));
    };
    limiter.succeeded(&email);
    let secret = state.store.create_session(&user, SESSION_LIFETIME).await?;
    let mut resp = super::see_other(&next);
    let secure = state.config.secure_cookies;
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

/// Ends the session in the database and drops the cookie.
pub async fn signout(State(state): State<AppState>, form: CsrfForm) -> PageResult {
    state.store.end_session(&form.ctx.secret).await?;
    let mut resp = super::see_other("/signin");
    if let Ok(v) = HeaderValue::from_str(&session::expired_cookie(SESSION_COOKIE)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}
