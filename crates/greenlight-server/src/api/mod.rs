//! The JSON API under `/api/v1`. Handlers are thin: the store applies the access rules
//! and the workflow; this layer maps HTTP to it and errors to problem+json.

pub mod audit;
pub mod declarations;
pub mod disclosure_actions;
pub mod ledger;
pub mod links;
pub mod notifications;
pub mod packs;
pub mod productions;
pub mod registry;
pub mod sign_in;
pub mod tenancy;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::state::AppState;

/// Largest JSON body of most routes.
pub const MAX_JSON_BYTES: usize = 1024 * 1024;
/// Largest JSON body of the routes that carry a document base64-encoded (a consent's signed
/// document, a tool's evidence).
pub const MAX_DOCUMENT_JSON_BYTES: usize = 32 * 1024 * 1024;

/// The routes of `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(tenancy::me))
        .route(
            "/api/v1/sso",
            get(sign_in::get_sso)
                .put(sign_in::put_sso)
                .delete(sign_in::delete_sso),
        )
        .route(
            "/api/v1/sign-in-policy",
            axum::routing::put(sign_in::put_policy),
        )
        .route("/api/v1/packs", get(packs::list).post(packs::upload))
        .route("/api/v1/packs/{id}/{version}", get(packs::get_one))
        .route(
            "/api/v1/orgs/{id}/default-packs",
            get(packs::default_packs).put(packs::set_default_packs),
        )
        .route("/api/v1/declarations/{id}/replay", post(packs::replay))
        .route(
            "/api/v1/webhooks",
            get(notifications::list).post(notifications::create),
        )
        .route("/api/v1/webhooks/{id}", delete(notifications::delete))
        .route("/api/v1/webhooks/{id}/rotate", post(notifications::rotate))
        .route(
            "/api/v1/webhooks/{id}/deliveries",
            get(notifications::webhook_deliveries),
        )
        .route("/api/v1/deliveries", get(notifications::deliveries))
        .route("/api/v1/deliveries/{id}/retry", post(notifications::retry))
        .route(
            "/api/v1/productions/{id}/scans",
            get(notifications::scans).post(notifications::report_scan),
        )
        .route(
            "/api/v1/me/notifications",
            get(notifications::preferences).put(notifications::set_preferences),
        )
        .route(
            "/api/v1/orgs",
            get(tenancy::list_orgs).post(tenancy::create_org),
        )
        .route(
            "/api/v1/orgs/{id}/members",
            get(tenancy::list_members).post(tenancy::add_member),
        )
        .route(
            "/api/v1/orgs/{id}/invitations",
            get(tenancy::org_invitations),
        )
        .route("/api/v1/me/invitations", get(tenancy::my_invitations))
        .route("/api/v1/password-reset", post(links::password_reset))
        .route(
            "/api/v1/invitations/{id}/accept",
            post(tenancy::accept_invitation),
        )
        .route(
            "/api/v1/invitations/{id}/decline",
            post(tenancy::decline_invitation),
        )
        .route(
            "/api/v1/invitations/{id}",
            delete(tenancy::revoke_invitation),
        )
        .route(
            "/api/v1/users/{id}/tokens",
            get(tenancy::list_tokens).post(tenancy::create_token),
        )
        .route("/api/v1/tokens/{id}", delete(tenancy::revoke_token))
        .route("/api/v1/tokens/{id}/rotate", post(tenancy::rotate_token))
        .route(
            "/api/v1/productions",
            get(productions::list).post(productions::create),
        )
        .route(
            "/api/v1/productions/{id}",
            get(productions::get_one).patch(productions::update),
        )
        .route("/api/v1/productions/{id}/links", post(productions::link))
        .route(
            "/api/v1/productions/{id}/packs/preview",
            post(productions::preview_packs),
        )
        .route(
            "/api/v1/productions/{id}/packs",
            axum::routing::put(productions::adopt_packs),
        )
        .route(
            "/api/v1/productions/{id}/triage",
            post(declarations::triage),
        )
        .route(
            "/api/v1/productions/{id}/declarations",
            get(declarations::list_for_production).post(declarations::submit),
        )
        .route(
            "/api/v1/productions/{id}/disclosure",
            get(productions::disclosure),
        )
        .route("/api/v1/productions/{id}/ledger", get(ledger::ledger))
        .route(
            "/api/v1/productions/{id}/disclosure/actions",
            get(disclosure_actions::actions),
        )
        .route("/api/v1/declarations", get(declarations::list))
        .route("/api/v1/queue", get(declarations::queue))
        .route("/api/v1/declarations/{id}", get(declarations::get_one))
        .route(
            "/api/v1/declarations/{id}/revisions",
            get(declarations::revisions).post(declarations::revise),
        )
        .route(
            "/api/v1/declarations/{id}/decision",
            post(declarations::decide),
        )
        .route(
            "/api/v1/declarations/{id}/withdraw",
            post(declarations::withdraw),
        )
        .route(
            "/api/v1/declarations/{id}/consents",
            post(declarations::link_consent),
        )
        .route(
            "/api/v1/declarations/{id}/confirmations",
            post(declarations::confirm),
        )
        .route(
            "/api/v1/obligations/{id}/done",
            post(declarations::complete_obligation),
        )
        .route(
            "/api/v1/consents",
            get(registry::list_consents).post(registry::record_consent),
        )
        .route(
            "/api/v1/consents/{id}",
            get(registry::get_consent).patch(registry::change_consent),
        )
        .route(
            "/api/v1/consents/{id}/revoke",
            post(registry::revoke_consent),
        )
        .route(
            "/api/v1/consents/{id}/document",
            get(registry::consent_document),
        )
        .route("/api/v1/consents/{id}/uses", get(registry::consent_uses))
        .route(
            "/api/v1/tools",
            get(registry::list_tools).post(registry::register_tool),
        )
        .route(
            "/api/v1/tools/{id}",
            get(registry::get_tool).put(registry::update_tool),
        )
        .route("/api/v1/tools/{id}/uses", get(registry::tool_uses))
        .route("/api/v1/audit", get(audit::entries))
        .route("/api/v1/audit/verify", get(audit::verify))
        .layer(axum::middleware::from_fn(cookie_csrf_guard))
}

/// The header a page's own script sends on a state-changing API call authenticated by the
/// session cookie. A cross-site HTML form cannot set a custom header, and a cross-site
/// script cannot either without a CORS preflight, which this server never grants.
pub const REQUEST_HEADER: &str = "x-greenlight-request";

/// Refuses (403) a mutating `/api/v1` request that is authenticated by the session cookie
/// rather than by `Authorization: Bearer` and does not carry [`REQUEST_HEADER`]: without it
/// the request may be a cross-site form riding on a signed-in user's cookie.
async fn cookie_csrf_guard(req: Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mutating = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    if mutating && by_cookie(req.headers()) && !has_request_header(req.headers()) {
        return ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "Forbidden",
            "a state-changing request signed in by the session cookie must carry the \
             `X-Greenlight-Request: 1` header (cross-site request protection); API clients \
             should send `Authorization: Bearer <token>` instead",
        )
        .into_response();
    }
    next.run(req).await
}

/// Whether the request would be authenticated by the session cookie (no bearer token).
fn by_cookie(headers: &HeaderMap) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .is_some_and(|v| v.starts_with("Bearer ") || v.starts_with("bearer "));
    if bearer {
        return false;
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(k, v)| k == crate::auth::SESSION_COOKIE && !v.is_empty())
}

fn has_request_header(headers: &HeaderMap) -> bool {
    headers
        .get(REQUEST_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim().is_empty())
}

/// A JSON body of at most `LIMIT` bytes whose rejection is problem+json (400 malformed, 413
/// too large, 422 wrong shape).
pub struct ApiJson<T, const LIMIT: usize = MAX_JSON_BYTES>(pub T);

impl<T: DeserializeOwned, S: Send + Sync, const LIMIT: usize> FromRequest<S> for ApiJson<T, LIMIT> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state, LIMIT).await?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize(&mut de) {
            Ok(v) => match de.end() {
                Ok(()) => Ok(ApiJson(v)),
                Err(e) => Err(ApiError::bad_request(
                    None,
                    format!("the body is not valid JSON: {e}"),
                )),
            },
            Err(e) if e.inner().is_syntax() || e.inner().is_eof() => Err(ApiError::bad_request(
                None,
                format!("the body is not valid JSON: {}", e.inner()),
            )),
            Err(e) => {
                let detail = e.inner().to_string();
                let mut err = ApiError::new(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid request",
                    detail.clone(),
                );
                let path = field_path(e.path(), &detail);
                err.problem.errors.push(crate::error::FieldError {
                    pointer: path.as_ref().map(|(_, pointer)| pointer.clone()),
                    path: path.map(|(p, _)| p),
                    line: None,
                    column: None,
                    detail,
                });
                Err(err)
            }
        }
    }
}

/// The field a JSON body's error is about, as a path (`tools[0].data_use`) and a JSON
/// pointer (`/tools/0/data_use`), from where the deserializer stood.
fn field_path(at: &serde_path_to_error::Path, detail: &str) -> Option<(String, String)> {
    use serde_path_to_error::Segment;
    let mut path = String::new();
    let mut pointer = String::new();
    for seg in at.iter() {
        match seg {
            Segment::Seq { index } => {
                path.push_str(&format!("[{index}]"));
                pointer.push_str(&format!("/{index}"));
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Unknown => {}
        }
    }
    // serde reports an unknown field at the field itself, a missing one at the object that
    // lacks it: only the latter's name comes from the message.
    let missing = detail.find("missing field `").and_then(|i| {
        let start = i + "missing field `".len();
        let end = start + detail[start..].find('`')?;
        Some(detail[start..end].to_owned())
    });
    if let Some(field) = missing {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(&field);
        pointer.push('/');
        pointer.push_str(&field);
    }
    (!path.is_empty()).then_some((path, pointer))
}

/// A raw declaration body (YAML or JSON), at most the format's size limit (413 beyond).
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_body(req, state, greenlight_core::format::MAX_INPUT_BYTES)
            .await
            .map(RawBody)
    }
}

async fn read_body<S: Send + Sync>(
    req: Request,
    _state: &S,
    limit: usize,
) -> Result<Bytes, ApiError> {
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > limit
    {
        return Err(ApiError::too_large(limit));
    }
    match axum::body::to_bytes(req.into_body(), limit).await {
        Ok(b) => Ok(b),
        Err(e) => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(s) = source {
                if s.is::<http_body_util::LengthLimitError>() {
                    return Err(ApiError::too_large(limit));
                }
                source = s.source();
            }
            Err(ApiError::bad_request(
                None,
                format!("could not read the body: {e}"),
            ))
        }
    }
}

/// Query parameters whose rejection is problem+json (400, naming the parameter), like every
/// other error of the API.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::try_from_uri(&parts.uri) {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(e) => {
                let detail = e.body_text();
                // serde_urlencoded names the parameter before a colon ("limit: invalid digit").
                let name = detail
                    .strip_prefix("Failed to deserialize query string: ")
                    .and_then(|rest| rest.split_once(':'))
                    .map(|(name, _)| name.trim().to_owned())
                    .filter(|n| !n.is_empty() && !n.contains(' '));
                Err(ApiError::bad_request(name.as_deref(), detail))
            }
        }
    }
}

/// The `If-Match` header, if sent.
pub struct IfMatch(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(IfMatch(
            parts
                .headers
                .get(header::IF_MATCH)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        ))
    }
}

/// Paging of list endpoints: `offset` (default 0) and `limit` (default 50, at most 500).
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    #[serde(default)]
    pub offset: Option<i64>,
    #[serde(default)]
    pub limit: Option<i64>,
}

impl Paging {
    pub fn request(&self) -> greenlight_store::PageRequest {
        let d = greenlight_store::PageRequest::default();
        greenlight_store::PageRequest {
            offset: self.offset.unwrap_or(d.offset),
            limit: self.limit.unwrap_or(d.limit),
        }
        .clamped()
    }
}

/// Response headers carrying a declaration's ETag.
pub fn etag_headers(etag: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h
}
