//! A studio's single sign-on settings and sign-in policy (its admins only).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use greenlight_store::{FieldProblem, OrgId, SignInPolicy, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use super::notifications::StudioParam;
use super::{ApiJson, ApiQuery};
use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::sso::{self as rt, SaveError, SsoSettingsInput};
use crate::state::AppState;

/// A studio's single sign-on, as its admins see it (never the client secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct SsoView {
    pub studio_id: String,
    pub configured: bool,
    pub issuer_url: Option<String>,
    pub client_id: Option<String>,
    pub scopes: Vec<String>,
    pub claim: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub mapping: serde_json::Value,
    /// The callback to register at the provider.
    pub redirect_url: String,
    /// Where the studio's people start a sign-in.
    pub sign_in_url: String,
    pub updated_at: Option<DateTime<Utc>>,
    pub local_passwords: bool,
    pub admin_totp: bool,
}

async fn view(
    s: &AppState,
    headers: &HeaderMap,
    caller: &greenlight_store::Principal,
    studio: Option<&OrgId>,
) -> ApiResult<SsoView> {
    let (studio, record) = s.store.sso_settings(caller, studio).await?;
    let policy = s.store.sign_in_policy(&studio).await?;
    let sign_in_url = rt::public_link(
        s,
        headers,
        &format!("/sso/start?studio={}", crate::pages::urlencode(&studio.0)),
    );
    Ok(SsoView {
        studio_id: studio.0.clone(),
        configured: record.is_some(),
        issuer_url: record.as_ref().map(|r| r.issuer_url.clone()),
        client_id: record.as_ref().map(|r| r.client_id.clone()),
        scopes: record
            .as_ref()
            .map(|r| r.scopes.clone())
            .unwrap_or_default(),
        claim: record.as_ref().map(|r| r.claim.clone()),
        mapping: record
            .as_ref()
            .map(|r| r.mapping.clone())
            .unwrap_or_else(|| serde_json::json!([])),
        redirect_url: rt::redirect_url(s, headers),
        sign_in_url,
        updated_at: record.map(|r| r.updated_at),
        local_passwords: policy.local_passwords,
        admin_totp: policy.admin_totp,
    })
}

fn studio_of(q: &StudioParam) -> Option<OrgId> {
    q.studio_id.clone().map(OrgId)
}

/// The studio's single sign-on settings.
#[utoipa::path(get, path = "/api/v1/sso", tag = "sign-in", params(StudioParam),
    responses((status = 200, body = SsoView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_sso(
    State(s): State<AppState>,
    Caller(p): Caller,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<StudioParam>,
) -> ApiResult<Json<SsoView>> {
    Ok(Json(view(&s, &headers, &p, studio_of(&q).as_ref()).await?))
}

/// Sets the studio's single sign-on. Every field is checked, the mapping against the studio's
/// organisations, then the provider's discovery document is fetched; nothing is saved unless
/// all of it passes (422 lists every problem with its field).
#[utoipa::path(put, path = "/api/v1/sso", tag = "sign-in", params(StudioParam), request_body = SsoSettingsInput,
    responses((status = 200, body = SsoView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_sso(
    State(s): State<AppState>,
    Caller(p): Caller,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<StudioParam>,
    ApiJson(input): ApiJson<SsoSettingsInput>,
) -> ApiResult<Json<SsoView>> {
    let studio = s.store.sign_in_studio(&p, studio_of(&q).as_ref()).await?;
    match rt::save_settings(&s, &p, &studio, input, &headers).await {
        Ok(()) => Ok(Json(view(&s, &headers, &p, Some(&studio)).await?)),
        Err(SaveError::Invalid(problems)) => Err(StoreError::Invalid {
            summary: problems
                .iter()
                .map(|(f, m)| format!("{f}: {m}"))
                .collect::<Vec<_>>()
                .join("; "),
            problems: problems
                .into_iter()
                .map(|(field, message)| FieldProblem {
                    path: Some(field),
                    line: None,
                    column: None,
                    message,
                })
                .collect(),
        }
        .into()),
        Err(SaveError::Store(e)) => Err(e.into()),
    }
}

/// Removes the studio's single sign-on (local passwords come back on).
#[utoipa::path(delete, path = "/api/v1/sso", tag = "sign-in", params(StudioParam),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_sso(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<StudioParam>,
) -> ApiResult<StatusCode> {
    s.store
        .delete_sso_settings(&p, studio_of(&q).as_ref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets the studio's sign-in policy: local passwords (off only once single sign-on is set
/// up) and a second factor required of its admins (only by an admin who has one).
#[utoipa::path(put, path = "/api/v1/sign-in-policy", tag = "sign-in", params(StudioParam), request_body = SignInPolicy,
    responses((status = 200, body = SignInPolicy), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_policy(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<StudioParam>,
    ApiJson(policy): ApiJson<SignInPolicy>,
) -> ApiResult<Json<SignInPolicy>> {
    let studio = s
        .store
        .set_sign_in_policy(&p, studio_of(&q).as_ref(), policy)
        .await?;
    Ok(Json(s.store.sign_in_policy(&studio).await?))
}
