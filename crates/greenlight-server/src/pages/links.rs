//! The pages of mailed links: `/join/SECRET` (an invitation), `/forgot` (ask for a
//! password-reset link) and `/reset/SECRET` (choose a new password).
//!
//! Nobody needs to be signed in to open them. Their forms carry the CSRF token of the
//! pre-session cookie, as the sign-in form does. A link that was used, withdrawn or has
//! expired answers 410 with a message saying which; one that was never issued, 404. The
//! invitation of an existing person shows nothing but the organisation and the roles until
//! that person is signed in.

use std::time::Instant;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use greenlight_store::{AccountSetup, LinkProblem, StoreError};

use super::invitations::roles_label;
use super::session::{self, PRESESSION_COOKIE, SESSION_COOKIE};
use super::views::Layout;
use super::{PageError, PageResult, field, render, urlencode, when};
use crate::state::AppState;

/// The new-password form of a link (an invited new person's first password, or a reset).
#[derive(Template)]
#[template(path = "set_password.html")]
pub struct SetPasswordPage {
    pub layout: Layout,
    pub heading: String,
    pub intro: Vec<String>,
    pub error: Option<String>,
    pub action: String,
    pub button: &'static str,
    pub sso_url: Option<String>,
    pub expires: String,
}

/// The invitation of an existing person.
#[derive(Template)]
#[template(path = "join.html")]
pub struct JoinPage {
    pub layout: Layout,
    pub org: String,
    pub roles: String,
    pub invited_by: String,
    pub expires: String,
    /// The invitation's id, when the invited person is signed in and may answer.
    pub answer: Option<String>,
    /// Someone else is signed in.
    pub other_person: bool,
    pub signin: String,
}

/// An invitation link that could not be mailed, shown once to the admin who issued it.
#[derive(Template)]
#[template(path = "link_issued.html")]
pub struct LinkIssuedPage {
    pub layout: Layout,
    pub heading: String,
    pub email: String,
    pub reason: String,
    pub url: String,
    pub expires: String,
    pub power: &'static str,
}

/// "Forgot your password?": the form, or the answer after it.
#[derive(Template)]
#[template(path = "forgot.html")]
pub struct ForgotPage {
    pub layout: Layout,
    pub sent: bool,
    pub email: String,
    pub error: Option<String>,
}

/// The pre-session nonce of this browser, or a new one.
fn nonce(headers: &HeaderMap) -> String {
    session::read_cookie(headers, PRESESSION_COOKIE).unwrap_or_else(session::new_nonce)
}

/// A page of these forms, with the pre-session cookie its CSRF token is tied to.
fn with_nonce(status: StatusCode, body: Response, nonce: &str) -> Response {
    let mut resp = (status, body).into_response();
    if let Ok(v) = HeaderValue::from_str(&session::cookie(PRESESSION_COOKIE, nonce, None, false)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

fn public_layout(title: &str, nonce: &str) -> Layout {
    Layout {
        title: title.to_owned(),
        csrf: session::csrf_token(nonce),
        ..Layout::default()
    }
}

/// A link that was never issued (or was replaced by a newer one).
fn unknown_link() -> PageError {
    PageError::status(
        StatusCode::NOT_FOUND,
        "This link is not valid",
        "Check that the whole address was copied from the mail. A newer mail replaces the \
         links of older ones.",
    )
}

/// A link that cannot be used any more: 410 and why.
fn gone(problem: LinkProblem) -> PageError {
    PageError::status(
        StatusCode::GONE,
        "This link cannot be used",
        problem.message(),
    )
}

/// A link found by its secret, if it can still be used: 404 when no such link was issued,
/// 410 saying why when it was used, withdrawn or has expired.
pub(super) fn usable<T>(
    found: Option<T>,
    problem: impl FnOnce(&T) -> Option<LinkProblem>,
) -> PageResult<T> {
    let link = found.ok_or_else(unknown_link)?;
    match problem(&link) {
        Some(p) => Err(gone(p)),
        None => Ok(link),
    }
}

/// A store refusal while using a link: a link that was used meanwhile is gone (410).
fn refused(e: StoreError) -> PageError {
    match e {
        StoreError::Conflict { message, .. } => {
            PageError::status(StatusCode::GONE, "This link cannot be used", message)
        }
        StoreError::NotFound(_) => unknown_link(),
        other => other.into(),
    }
}

/// The two password fields, or the form's complaint.
fn passwords(pairs: &[(String, String)]) -> Result<String, String> {
    let (password, confirm) = (field(pairs, "password"), field(pairs, "confirm"));
    if password != confirm {
        return Err("The two passwords differ: type the same password in both fields.".into());
    }
    Ok(password)
}

/// `GET /join/{secret}`: a new person chooses a password (or signs in with single sign-on);
/// an existing person, signed in as themselves, accepts or declines.
pub async fn join_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(secret): Path<String>,
) -> PageResult {
    let link = usable(state.store.invitation_by_link(&secret).await?, |l| {
        l.problem(chrono::Utc::now())
    })?;
    let inv = &link.invitation;
    let roles = roles_label(&inv.roles);
    if link.new_person {
        let nonce = nonce(&headers);
        let page = join_form(&link, &secret, &nonce, None);
        return Ok(with_nonce(StatusCode::OK, render(&page), &nonce));
    }
    let signed_in = match session::read_cookie(&headers, SESSION_COOKIE) {
        Some(s) => state.store.principal_by_secret(&s).await?.map(|p| (p, s)),
        None => None,
    };
    let signin = format!("/signin?next={}", urlencode(&format!("/join/{secret}")));
    let (status, page) = match signed_in {
        Some((p, session_secret)) if p.user.id == link.person => (
            StatusCode::OK,
            JoinPage {
                layout: Layout {
                    title: format!("Join {}", inv.org_name),
                    csrf: session::csrf_token(&session_secret),
                    ..Layout::default()
                },
                org: inv.org_name.clone(),
                roles,
                invited_by: inv.invited_by.clone(),
                expires: when(inv.expires_at),
                answer: Some(inv.id.0.clone()),
                other_person: false,
                signin,
            },
        ),
        // Only the organisation and the roles: not whom, nor who invited.
        other => (
            if other.is_some() {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::OK
            },
            JoinPage {
                layout: Layout {
                    title: format!("Join {}", inv.org_name),
                    ..Layout::default()
                },
                org: inv.org_name.clone(),
                roles,
                invited_by: String::new(),
                expires: String::new(),
                answer: None,
                other_person: other.is_some(),
                signin,
            },
        ),
    };
    Ok((status, render(&page)).into_response())
}

fn join_form(
    link: &greenlight_store::InvitationLink,
    secret: &str,
    nonce: &str,
    error: Option<String>,
) -> SetPasswordPage {
    let inv = &link.invitation;
    SetPasswordPage {
        layout: public_layout(&format!("Join {}", inv.org_name), nonce),
        heading: format!("Join {}", inv.org_name),
        intro: vec![
            format!(
                "{} added you to {} as {}.",
                inv.invited_by,
                inv.org_name,
                roles_label(&inv.roles)
            ),
            format!("Choose the password of your account ({}).", inv.email),
        ],
        error,
        action: format!("/join/{secret}"),
        button: "Set password and sign in",
        sso_url: link.sso.then(|| {
            format!(
                "/sso/start?studio={}&join={}",
                urlencode(&link.studio.0),
                urlencode(secret)
            )
        }),
        expires: when(inv.expires_at),
    }
}

/// `POST /join/{secret}`: sets the new person's password, uses the link and signs them in.
pub async fn join_submit(
    State(state): State<AppState>,
    parts: Parts,
    Path(secret): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    let headers = &parts.headers;
    let nonce = super::presession_form(headers, &pairs)?;
    let link = usable(state.store.invitation_by_link(&secret).await?, |l| {
        l.problem(chrono::Utc::now())
    })?;
    if !link.new_person {
        return Ok(super::see_other(&format!("/join/{secret}")));
    }
    let again = |error: String| {
        with_nonce(
            StatusCode::UNPROCESSABLE_ENTITY,
            render(&join_form(&link, &secret, &nonce, Some(error))),
            &nonce,
        )
    };
    let password = match passwords(&pairs) {
        Ok(p) => p,
        Err(e) => return Ok(again(e)),
    };
    let user = match state
        .store
        .consume_invitation_link(&secret, AccountSetup::Password(password))
        .await
    {
        Ok(user) => user,
        Err(StoreError::Invalid { summary, .. }) => return Ok(again(summary)),
        Err(e) => return Err(refused(e)),
    };
    // The new person's first sign-in, with the password just chosen.
    super::account::after_password(&state, headers, &user, "/").await
}

fn reset_form(
    email: &str,
    secret: &str,
    nonce: &str,
    expires: chrono::DateTime<chrono::Utc>,
    error: Option<String>,
) -> SetPasswordPage {
    SetPasswordPage {
        layout: public_layout("Choose a new password", nonce),
        heading: "Choose a new password".into(),
        intro: vec![
            format!("For the account {email}."),
            "Choosing it signs you out everywhere else.".into(),
        ],
        error,
        action: format!("/reset/{secret}"),
        button: "Set password and sign in",
        sso_url: None,
        expires: when(expires),
    }
}

/// `GET /reset/{secret}`: the new-password form of a reset link.
pub async fn reset_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(secret): Path<String>,
) -> PageResult {
    let link = usable(state.store.reset_link(&secret).await?, |l| {
        l.problem(chrono::Utc::now())
    })?;
    let nonce = nonce(&headers);
    let page = reset_form(&link.email, &secret, &nonce, link.expires_at, None);
    Ok(with_nonce(StatusCode::OK, render(&page), &nonce))
}

/// `POST /reset/{secret}`: sets the password, uses the link (revoking the person's sessions
/// and other reset links) and signs them in.
pub async fn reset_submit(
    State(state): State<AppState>,
    parts: Parts,
    Path(secret): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    let headers = &parts.headers;
    let nonce = super::presession_form(headers, &pairs)?;
    let link = usable(state.store.reset_link(&secret).await?, |l| {
        l.problem(chrono::Utc::now())
    })?;
    let again = |error: String| {
        with_nonce(
            StatusCode::UNPROCESSABLE_ENTITY,
            render(&reset_form(
                &link.email,
                &secret,
                &nonce,
                link.expires_at,
                Some(error),
            )),
            &nonce,
        )
    };
    let password = match passwords(&pairs) {
        Ok(p) => p,
        Err(e) => return Ok(again(e)),
    };
    let user = match state.store.consume_reset_link(&secret, &password).await {
        Ok(user) => user,
        Err(StoreError::Invalid { summary, .. }) => return Ok(again(summary)),
        Err(e) => return Err(refused(e)),
    };
    // A reset proves the mailbox, not the second factor: that is still asked for.
    super::account::after_password(&state, headers, &user, "/").await
}

fn forgot_page_of(nonce: &str, sent: bool, email: &str, error: Option<String>) -> ForgotPage {
    ForgotPage {
        layout: public_layout("Forgot your password?", nonce),
        sent,
        email: email.to_owned(),
        error,
    }
}

/// `GET /forgot`: asks for the address.
pub async fn forgot_page(headers: HeaderMap) -> Response {
    let nonce = nonce(&headers);
    with_nonce(
        StatusCode::OK,
        render(&forgot_page_of(&nonce, false, "", None)),
        &nonce,
    )
}

/// `POST /forgot`: answers the same page, at once, whether or not the address has an account;
/// the link (when there is one to send) is issued and mailed in the background. Limited per
/// address and per source address.
pub async fn forgot_submit(
    State(state): State<AppState>,
    parts: Parts,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    let nonce = super::presession_form(&parts.headers, &pairs)?;
    let typed = field(&pairs, "email");
    let typed = typed.trim();
    let email = match crate::links::checked_email(typed) {
        Ok(e) => e,
        Err(why) => {
            let page = forgot_page_of(&nonce, false, typed, Some(format!("Email: {why}.")));
            return Ok(with_nonce(
                StatusCode::UNPROCESSABLE_ENTITY,
                render(&page),
                &nonce,
            ));
        }
    };
    let source = crate::client::source_address(&parts, &state.config);
    if let Err(wait) = state
        .link_mails
        .allow(Some(&source), &email, Instant::now())
    {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        let page = forgot_page_of(
            &nonce,
            false,
            typed,
            Some(format!(
                "Too many links were asked for, for this address or from your network. Try again in {minutes} minutes."
            )),
        );
        return Ok(with_nonce(
            StatusCode::TOO_MANY_REQUESTS,
            render(&page),
            &nonce,
        ));
    }
    crate::links::send_reset_in_background(&state, email);
    Ok(with_nonce(
        StatusCode::OK,
        render(&forgot_page_of(&nonce, true, "", None)),
        &nonce,
    ))
}
