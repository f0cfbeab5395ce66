//! Who is calling: an API token (`Authorization: Bearer glt_…`) or a web session cookie
//! (`gl_session`), resolved to the user and their roles per organisation.

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::Method;
use axum::http::request::Parts;
use greenlight_store::{Principal, ProductionId, SignedIn};

use crate::error::ApiError;
use crate::state::AppState;

/// The session cookie's name (shared with the pages).
pub const SESSION_COOKIE: &str = "gl_session";

/// The authenticated caller. Extracting it answers 401 when nobody is signed in.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

/// The caller when there is one (pages that also serve anonymous visitors).
#[derive(Debug, Clone)]
pub struct MaybeCaller(pub Option<Principal>);

/// The secret a request carries: the bearer token first, then the session cookie.
pub fn secret_of(parts: &Parts) -> Option<String> {
    if let Some(v) = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        if let Some(t) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
        {
            return Some(t.trim().to_owned());
        }
    }
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// The person a secret belongs to, with the roles they may use now: an admin role waits,
/// while their studio requires a second factor of its admins and they have none (the `bool`
/// says so, for the pages to tell them).
pub async fn resolve(
    state: &AppState,
    secret: &str,
) -> Result<Option<(Principal, bool)>, greenlight_store::StoreError> {
    match state.store.principal_by_secret(secret).await? {
        Some(principal) => Ok(Some(hold_admin_roles(state, principal).await?)),
        None => Ok(None),
    }
}

/// Drops the admin roles a person may not use yet (see [`resolve`]).
async fn hold_admin_roles(
    state: &AppState,
    mut principal: Principal,
) -> Result<(Principal, bool), greenlight_store::StoreError> {
    let held = state.store.admin_roles_on_hold(&principal).await?;
    let on_hold = !held.is_empty();
    if on_hold {
        principal
            .memberships
            .retain(|m| !(m.role == greenlight_store::Role::Admin && held.contains(&m.org_id)));
    }
    Ok((principal, on_hold))
}

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Caller>() {
            return Ok(MaybeCaller(Some(p.0.clone())));
        }
        let Some(secret) = secret_of(parts) else {
            return Ok(MaybeCaller(None));
        };
        match state.store.sign_in_with(&secret).await? {
            SignedIn::Principal(p) => {
                if let Some(production) = &p.restricted_to {
                    check_restricted_route(parts, production)?;
                }
                let (p, _) = hold_admin_roles(state, p).await?;
                parts.extensions.insert(Caller(p.clone()));
                Ok(MaybeCaller(Some(p)))
            }
            SignedIn::Expired => {
                parts.extensions.insert(ExpiredSecret);
                Ok(MaybeCaller(None))
            }
            SignedIn::Unknown => Ok(MaybeCaller(None)),
        }
    }
}

/// Marks a request whose secret was valid once and has expired, so the 401 can say so.
#[derive(Debug, Clone, Copy)]
struct ExpiredSecret;

/// Refuses (403) a request of a token restricted to one production unless the route acts on
/// that production: the production's own routes (with its id), the declaration and
/// obligation routes (the store finds them only on that production), and the lists the
/// store narrows to it. Everything else (organisations, people, tokens, packs, registries,
/// webhooks, the audit log, new productions) is studio-wide and refused, including routes
/// added later, which are refused until listed here.
fn check_restricted_route(parts: &Parts, production: &ProductionId) -> Result<(), ApiError> {
    let refuse = |what: &str| {
        ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "Forbidden",
            format!("this token is restricted to production {production}; {what}"),
        )
    };
    let Some(route) = parts.extensions.get::<MatchedPath>().map(|m| m.as_str()) else {
        return Err(refuse("it only calls the production's API"));
    };
    let read = parts.method == Method::GET || parts.method == Method::HEAD;
    let allowed = match route {
        "/api/v1/me" | "/api/v1/productions" | "/api/v1/declarations" | "/api/v1/queue" => read,
        "/api/v1/productions/{id}/links" => false,
        r if r.starts_with("/api/v1/productions/{id}") => {
            // The production's id is the path's fourth segment, as in the route.
            let id = parts.uri.path().split('/').nth(4).unwrap_or_default();
            if id != production.as_str() {
                return Err(refuse(&format!("it cannot act on production {id}")));
            }
            true
        }
        r => r.starts_with("/api/v1/declarations/{id}") || r == "/api/v1/obligations/{id}/done",
    };
    if allowed {
        Ok(())
    } else {
        Err(refuse("it cannot act beyond that production"))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match MaybeCaller::from_request_parts(parts, state).await?.0 {
            Some(p) => Ok(Caller(p)),
            None if parts.extensions.get::<ExpiredSecret>().is_some() => Err(ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "this token has expired; create a new one (or sign in again)",
            )),
            None => Err(ApiError::unauthorized()),
        }
    }
}
