//! Who is calling: an API token (`Authorization: Bearer glt_…`) or a web session cookie
//! (`gl_session`), resolved to the user and their roles per organisation.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use greenlight_store::Principal;

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
    let Some(mut principal) = state.store.principal_by_secret(secret).await? else {
        return Ok(None);
    };
    let held = state.store.admin_roles_on_hold(&principal).await?;
    let on_hold = !held.is_empty();
    if on_hold {
        principal
            .memberships
            .retain(|m| !(m.role == greenlight_store::Role::Admin && held.contains(&m.org_id)));
    }
    Ok(Some((principal, on_hold)))
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
        let principal = resolve(state, &secret).await?.map(|(p, _)| p);
        if let Some(p) = &principal {
            parts.extensions.insert(Caller(p.clone()));
        }
        Ok(MaybeCaller(principal))
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
            None => Err(ApiError::unauthorized()),
        }
    }
}
