//! The web pages: server-rendered HTML for producers, reviewers, legal, admins and auditors.
//!
//! Every page works without JavaScript except the live preview of the declaration form,
//! which calls the API's triage endpoint (`POST /api/v1/productions/{id}/triage`). Every page
//! and form asks the store, which applies the same access rules as the API; the pages add
//! only a coarse check of the role a page is for, so that a person who lands on a page that
//! is not theirs is told so at once. Every form post carries a CSRF token
//! ([`session::csrf_ok`]); sessions are the store's (a secret in an `HttpOnly`,
//! `SameSite=Lax` cookie, revoked at sign-out).

pub mod form;
pub mod session;
pub mod views;

mod account;
mod admin;
mod assets;
mod audit;
mod before_release;
mod dashboard;
mod declaration;
mod declare;
mod deliveries;
pub(crate) mod invitations;
mod legal;
mod links;
mod lists;
mod packs;
mod queries;
mod report;
mod signin;
mod sso;
mod unsubscribe;

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use greenlight_store::{Principal, Production, Role, StoreError};

use crate::state::AppState;
use views::{ErrorPage, Layout, NavItem, ProductionOption, UserBadge};

/// The pages' routes, merged into the application by [`crate::app`].
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(lists::home))
        .route("/signin", get(signin::page).post(signin::submit))
        .route("/signout", post(signin::signout))
        .route(
            "/signin/code",
            get(account::code_form).post(account::code_submit),
        )
        .route("/sso/find", get(sso::find))
        .route("/sso/start", get(sso::start))
        .route("/sso/callback", get(sso::callback))
        .route("/admin/sso", get(sso::page).post(sso::save))
        .route("/admin/sso/policy", post(sso::policy))
        .route("/admin/sso/remove", post(sso::remove))
        .route("/account", get(account::page))
        .route("/account/totp", post(account::start_totp))
        .route("/account/totp/confirm", post(account::confirm_totp))
        .route("/account/totp/remove", post(account::remove_totp))
        .route("/go", get(lists::go))
        .route("/static/app.css", get(assets::css))
        .route("/static/app.js", get(assets::js))
        .route("/uses", get(lists::uses))
        .route("/queue", get(lists::queue))
        .route("/dashboard", get(dashboard::studio))
        .route("/declarations/{id}", get(declaration::show))
        .route("/declarations/{id}/decide", post(declaration::decide))
        .route(
            "/declarations/{id}/consents",
            post(declaration::link_consent),
        )
        .route(
            "/declarations/{id}/revise",
            get(declare::revise_page).post(declare::revise_submit),
        )
        .route("/productions/{id}", get(dashboard::production))
        .route(
            "/productions/{id}/declare",
            get(declare::new_page).post(declare::submit),
        )
        .route("/productions/{id}/declare/edit", post(declare::edit))
        .route("/productions/{id}/declare/upload", post(declare::upload))
        .route("/productions/{id}/declare/yaml", post(declare::yaml))
        .route("/productions/{id}/report", get(report::html))
        .route("/productions/{id}/report.csv", get(report::csv))
        .route("/productions/{id}/report.json", get(report::json))
        .route(
            "/productions/{id}/report/actions",
            post(before_release::mark_done),
        )
        .route(
            "/legal/consents",
            get(legal::consents).post(legal::record_consent),
        )
        .route("/legal/consents/{id}/revoke", post(legal::revoke_consent))
        .route(
            "/legal/consents/{id}/separately-signed",
            post(legal::set_separately_signed),
        )
        .route(
            "/legal/consents/{id}/document",
            get(legal::consent_document),
        )
        .route("/legal/tools", get(legal::tools).post(legal::register_tool))
        .route(
            "/legal/tools/{id}",
            get(legal::tool_page).post(legal::update_tool),
        )
        .route("/legal/tools/{id}/evidence", get(legal::tool_evidence))
        .route("/admin", get(admin::page))
        .route("/admin/orgs", post(admin::create_org))
        .route("/admin/productions", post(admin::create_production))
        .route("/admin/productions/agreements", post(admin::set_agreements))
        .route("/admin/people", post(admin::invite))
        .route(
            "/admin/invitations/{id}/revoke",
            post(admin::revoke_invitation),
        )
        .route("/invitations", get(invitations::page))
        .route(
            "/join/{secret}",
            get(links::join_page).post(links::join_submit),
        )
        .route(
            "/forgot",
            get(links::forgot_page).post(links::forgot_submit),
        )
        .route(
            "/reset/{secret}",
            get(links::reset_page).post(links::reset_submit),
        )
        .route("/invitations/{id}/{answer}", post(invitations::answer))
        .route("/admin/deliveries", get(deliveries::page))
        .route("/admin/deliveries/{id}/retry", post(deliveries::retry))
        .route("/admin/tokens", post(admin::create_token))
        .route("/admin/tokens/{id}/revoke", post(admin::revoke_token))
        .route("/admin/tokens/{id}/rotate", post(admin::rotate_token))
        .route("/admin/links", post(admin::link_org))
        .route(
            "/unsubscribe/{user}/{kind}/{mac}",
            get(unsubscribe::show).post(unsubscribe::one_click),
        )
        .route("/packs", get(packs::list).post(packs::upload))
        .route("/packs/preview", get(packs::preview))
        .route("/packs/adopt", post(packs::adopt))
        .route("/packs/default", post(packs::set_default))
        .route("/packs/{id}/{version}", get(packs::show))
        .route("/audit", get(audit::page))
        .route("/audit/verify", post(audit::verify))
        .route("/audit/export", get(audit::export))
}

/// What an unknown address answers: the application's own "not found" page, or a
/// problem+json 404 under `/api/`.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path() == "/api" || uri.path().starts_with("/api/") {
        return crate::error::ApiError::new(
            StatusCode::NOT_FOUND,
            "Not found",
            format!("no endpoint at {}; see /api/openapi.json", uri.path()),
        )
        .into_response();
    }
    PageError::status(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no page at this address. It may have moved, or the link may be mistyped.",
    )
    .into_response()
}

/// What a page answers when it cannot show what was asked.
#[derive(Debug)]
pub enum PageError {
    /// Nobody is signed in: go to the sign-in page, then come back to `next`.
    SignIn { next: String },
    /// An error page with a status.
    Status {
        status: StatusCode,
        heading: String,
        detail: String,
    },
}

impl PageError {
    /// An error page.
    pub fn status(status: StatusCode, heading: &str, detail: impl Into<String>) -> Self {
        PageError::Status {
            status,
            heading: heading.to_owned(),
            detail: detail.into(),
        }
    }

    /// "This page is not for your role."
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::status(StatusCode::FORBIDDEN, "Not for your role", detail)
    }

    /// A form without a valid CSRF token.
    pub fn csrf() -> Self {
        Self::status(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "The form did not carry this session's security token. Go back, reload the page and send it again.",
        )
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => Self::status(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here, or it is not yours to see.",
            ),
            StoreError::Forbidden(why) => Self::forbidden(why),
            StoreError::Conflict { message, blockers } => Self::status(
                StatusCode::CONFLICT,
                "That cannot be done now",
                if blockers.is_empty() {
                    message
                } else {
                    format!("{message}: {}", blockers.join("; "))
                },
            ),
            StoreError::DuplicateReference { reference, .. } => Self::status(
                StatusCode::CONFLICT,
                "That reference is taken",
                format!(
                    "Another use on this production already has the reference \u{201c}{reference}\u{201d}."
                ),
            ),
            StoreError::Stale { .. } => Self::status(
                StatusCode::PRECONDITION_FAILED,
                "Someone changed this declaration meanwhile",
                "Reload the declaration, read what changed, and decide again.",
            ),
            StoreError::Invalid { summary, .. }
            | StoreError::InvalidDeclaration { summary, .. }
            | StoreError::TooLarge { summary, .. } => Self::status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Please check the form",
                summary,
            ),
            other => {
                tracing::error!(error = %other, "page failed");
                Self::status(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "An internal error occurred; it has been logged.",
                )
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn { next } => {
                let to = format!("/signin?next={}", urlencode(&next));
                Redirect::to(&to).into_response()
            }
            PageError::Status {
                status,
                heading,
                detail,
            } => {
                let page = ErrorPage {
                    layout: Layout {
                        title: heading.clone(),
                        ..Layout::default()
                    },
                    status: status.as_u16(),
                    heading,
                    detail,
                };
                (status, render(&page)).into_response()
            }
        }
    }
}

/// The result of a page handler.
pub type PageResult<T = Response> = Result<T, PageError>;

/// Renders a template to an HTML response (an internal-error page if it cannot).
pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A time as people read it on the pages.
pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The signed-in person on a page: who they are, their session and the productions they see.
pub struct Ctx {
    pub principal: Principal,
    pub secret: String,
    pub productions: Vec<Production>,
    pub path: String,
    /// Invitations waiting for this person's answer.
    pub invitations: usize,
    /// The person's admin role waits for a second factor their studio requires.
    pub admin_on_hold: bool,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".to_owned());
        let next = if parts.method == axum::http::Method::GET {
            path.clone()
        } else {
            "/".to_owned()
        };
        let Some(secret) = session::read_cookie(&parts.headers, session::SESSION_COOKIE) else {
            return Err(PageError::SignIn { next });
        };
        let Some((principal, admin_on_hold)) = crate::auth::resolve(state, &secret).await? else {
            return Err(PageError::SignIn { next });
        };
        // A token restricted to one production calls that production's API, never the pages.
        if principal.restricted_to.is_some() {
            return Err(PageError::SignIn { next });
        }
        let productions = state.store.productions(&principal).await?;
        let invitations = state.store.my_invitations(&principal).await?.len();
        Ok(Ctx {
            principal,
            secret,
            productions,
            path,
            invitations,
            admin_on_hold,
        })
    }
}

impl Ctx {
    /// True when the person holds `role` in any organisation.
    pub fn has(&self, role: Role) -> bool {
        self.principal.memberships.iter().any(|m| m.role == role)
    }

    /// Refuses the page unless the person holds one of `roles`.
    pub fn require(&self, roles: &[Role], what: &str) -> PageResult<()> {
        if roles.iter().any(|r| self.has(*r)) {
            Ok(())
        } else {
            Err(PageError::forbidden(format!(
                "{what} is for {}.",
                roles
                    .iter()
                    .map(|r| role_label(*r))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )))
        }
    }

    /// True when the person belongs to a studio (and so sees every use of its productions).
    pub fn has_studio_membership(&self) -> bool {
        self.principal
            .memberships
            .iter()
            .any(|m| m.org_kind == greenlight_store::OrgKind::Studio)
    }

    /// The names of the person's organisations, each once.
    pub fn org_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for m in &self.principal.memberships {
            if !names.contains(&m.org_name) {
                names.push(m.org_name.clone());
            }
        }
        names
    }

    /// The CSRF token of this session's forms.
    pub fn csrf(&self) -> String {
        session::csrf_token(&self.secret)
    }

    /// The page frame: navigation by role, the production switcher, the person.
    pub fn layout(&self, title: &str, current_production: Option<&str>) -> Layout {
        let mut nav = Vec::new();
        let mut push = |href: &str, label: &'static str| {
            let current = self.path == href || self.path.starts_with(&format!("{href}?"));
            nav.push(NavItem {
                href: href.to_owned(),
                label,
                current,
            });
        };
        if self.has(Role::Partner) {
            push("/uses", "My uses");
        }
        if self.has(Role::Reviewer) {
            push("/queue", "Review queue");
        }
        if self.has(Role::Legal) {
            push("/legal/consents", "Consents");
            push("/legal/tools", "Tools");
        }
        if self.has(Role::Auditor) || self.has(Role::Admin) {
            push("/audit", "Audit log");
        }
        if self.has(Role::Admin) {
            push("/admin", "Admin");
        }
        push("/packs", "Packs");
        push("/dashboard", "Dashboard");
        push("/account", "Account");
        if self.invitations > 0 {
            push("/invitations", "Invitations");
        }
        let mut roles: Vec<&str> = self
            .principal
            .memberships
            .iter()
            .map(|m| role_label(m.role))
            .collect();
        roles.dedup();
        let orgs: Vec<&str> = {
            let mut o: Vec<&str> = self
                .principal
                .memberships
                .iter()
                .map(|m| m.org_name.as_str())
                .collect();
            o.dedup();
            o
        };
        Layout {
            title: title.to_owned(),
            user: Some(UserBadge {
                name: if self.principal.user.name.is_empty() {
                    self.principal.user.email.clone()
                } else {
                    self.principal.user.name.clone()
                },
                roles: format!("{} · {}", roles.join(", "), orgs.join(", ")),
            }),
            nav,
            productions: self
                .productions
                .iter()
                .map(|p| ProductionOption {
                    id: p.id.0.clone(),
                    title: p.facts.title.clone(),
                    current: Some(p.id.0.as_str()) == current_production,
                })
                .collect(),
            csrf: self.csrf(),
            flashes: if self.admin_on_hold && !self.path.starts_with("/account") {
                vec![views::Flash {
                    kind: "error",
                    text: "Your studio requires a second factor of its admins: your admin role is \
                           on hold until you set one up on your account page (/account)."
                        .to_owned(),
                }]
            } else {
                Vec::new()
            },
        }
    }

    /// The production of that id among those the person sees.
    pub fn production(&self, id: &str) -> PageResult<&Production> {
        self.productions
            .iter()
            .find(|p| p.id.0 == id)
            .ok_or_else(|| PageError::from(StoreError::NotFound(format!("production {id}"))))
    }
}

/// How a role is named on the pages.
pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Partner => "Partner",
        Role::Reviewer => "Reviewer",
        Role::Legal => "Legal",
        Role::Admin => "Admin",
        Role::Auditor => "Auditor",
    }
}

/// A posted form (URL-encoded) whose CSRF token has been checked, with the person who sent it.
pub struct CsrfForm {
    pub ctx: Ctx,
    pub pairs: Vec<(String, String)>,
}

impl CsrfForm {
    /// The last value of a field ("" when absent).
    pub fn get(&self, name: &str) -> String {
        field(&self.pairs, name)
    }
}

/// The pre-session nonce of a form posted before anyone is signed in (sign-in, password
/// links), once its CSRF token is checked against it.
pub fn presession_form(
    headers: &axum::http::HeaderMap,
    pairs: &[(String, String)],
) -> PageResult<String> {
    let nonce = session::read_cookie(headers, session::PRESESSION_COOKIE).unwrap_or_default();
    if session::csrf_ok(&nonce, &field(pairs, "csrf")) {
        Ok(nonce)
    } else {
        Err(PageError::csrf())
    }
}

/// The last value of a field of a form ("" when absent).
pub fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

impl FromRequest<AppState> for CsrfForm {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let (mut parts, body) = req.into_parts();
        let ctx = Ctx::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let axum::Form(pairs): axum::Form<Vec<(String, String)>> =
            axum::Form::from_request(req, state).await.map_err(|e| {
                PageError::status(
                    StatusCode::BAD_REQUEST,
                    "The form could not be read",
                    e.body_text(),
                )
            })?;
        if !session::csrf_ok(&ctx.secret, &field(&pairs, "csrf")) {
            return Err(PageError::csrf());
        }
        Ok(CsrfForm { ctx, pairs })
    }
}

/// One part of a multipart form.
pub struct Part {
    pub file_name: Option<String>,
    pub bytes: Vec<u8>,
}

/// A posted multipart form (uploads) whose CSRF token has been checked.
pub struct CsrfMultipart {
    pub ctx: Ctx,
    pub parts: HashMap<String, Part>,
}

impl CsrfMultipart {
    /// A text field ("" when absent).
    pub fn text(&self, name: &str) -> String {
        self.parts
            .get(name)
            .map(|p| String::from_utf8_lossy(&p.bytes).trim().to_owned())
            .unwrap_or_default()
    }
}

/// The largest upload the pages accept (a declaration or a signed document).
pub const MAX_UPLOAD: usize = 20 * 1024 * 1024;

impl FromRequest<AppState> for CsrfMultipart {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let (mut parts, body) = req.into_parts();
        let ctx = Ctx::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let bad = |e: String| {
            PageError::status(StatusCode::BAD_REQUEST, "The upload could not be read", e)
        };
        let mut multipart = Multipart::from_request(req, state)
            .await
            .map_err(|e| bad(e.body_text()))?;
        let mut map = HashMap::new();
        let mut total = 0usize;
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| bad(e.body_text()))?
        {
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let bytes = field.bytes().await.map_err(|e| bad(e.body_text()))?;
            total += bytes.len();
            if total > MAX_UPLOAD {
                return Err(PageError::status(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The upload is too large",
                    format!("Uploads are limited to {} MB.", MAX_UPLOAD / (1024 * 1024)),
                ));
            }
            map.insert(
                name,
                Part {
                    file_name,
                    bytes: bytes.to_vec(),
                },
            );
        }
        let token = map
            .get("csrf")
            .map(|p| String::from_utf8_lossy(&p.bytes).into_owned())
            .unwrap_or_default();
        if !session::csrf_ok(&ctx.secret, &token) {
            return Err(PageError::csrf());
        }
        Ok(CsrfMultipart { ctx, parts: map })
    }
}

/// A redirect after a successful post (303, so the browser follows with GET).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

pub use crate::attachment::download;

/// The flash message named by a `?done=` key after a redirect (a fixed set: nothing a link
/// can inject).
pub fn flash_for(done: Option<&str>) -> Vec<views::Flash> {
    let text = match done {
        Some("submitted") => "Your declaration was submitted and triaged.",
        Some("revised") => "The new revision was submitted and triaged again.",
        Some("approve") => "Approved.",
        Some("reject") => "Rejected.",
        Some("request_changes") => "Changes requested; the partner has been told why.",
        Some("linked") => "Consent linked; the declaration was triaged again.",
        Some("consent") => "Consent recorded.",
        Some("revoked") => "Consent revoked; every use it covered was triaged again.",
        Some("signature") => {
            "Separate signature recorded; every use the consent covers was triaged again."
        }
        Some("tool") => "Tool registered.",
        Some("pack") => "Pack stored. Preview it on a production before adopting it.",
        Some("packs") => {
            "Packs adopted: every live use was triaged again, and approvals whose result changed were suspended."
        }
        Some("default_packs") => "Default packs saved; new productions start with them.",
        Some("retried") => "The delivery will be sent again in a moment.",
        Some("tool_changed") => "The tool's terms were changed; every use of it was triaged again.",
        Some("org") => "Organisation created.",
        Some("production") => "Production created.",
        Some("agreements") => {
            "Union agreements recorded; the production's declarations were triaged again."
        }
        Some("person") => "Person added.",
        Some("invited") => {
            "That person already has an account: they were sent an invitation, hold the role \
             once they accept it, and keep their own password."
        }
        Some("person_mailed") => {
            "Person added. They were mailed a link to choose their password; it works once, for \
             seven days."
        }
        Some("invited_mailed") => {
            "That person already has an account: they were mailed an invitation, hold the role \
             once they accept it signed in as themselves, and keep their own password."
        }
        Some("invitation_revoked") => "Invitation withdrawn.",
        Some("invitation_accepted") => "Invitation accepted: you now hold its roles.",
        Some("invitation_declined") => "Invitation declined.",
        Some("linked_org") => "The organisation now works on the production.",
        Some("token_revoked") => "Token revoked.",
        Some("sso_saved") => {
            "Single sign-on saved: the provider answered, and the studio's people can sign in through it."
        }
        Some("sso_removed") => "Single sign-on removed; local passwords are on again.",
        Some("policy_saved") => "Sign-in policy saved.",
        Some("sso_linked") => "Your studio's sign-in is linked to your account.",
        Some("totp_on") => "Second factor on: sign-ins with your password now ask for a code.",
        Some("totp_off") => "Second factor removed.",
        _ => return Vec::new(),
    };
    vec![views::Flash {
        kind: "ok",
        text: text.to_owned(),
    }]
}

/// A form that cannot be carried out as filled in (422, "Please check the form").
pub(crate) fn bad(detail: impl Into<String>) -> PageError {
    PageError::status(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        "Please check the form",
        detail,
    )
}
