//! Productions, their links and their disclosure report.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use greenlight_store::input::{NewProduction, ProductionUpdate};
use greenlight_store::{
    Disclosure, OrgId, OrgKind, PackPreview, Production, ProductionId, Role, production_etag_of,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{ApiJson, ApiQuery, IfMatch, etag_headers};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// Productions the caller may see.
#[utoipa::path(get, path = "/api/v1/productions", tag = "productions", responses((status = 200, body = Vec<Production>)))]
pub async fn list(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<Vec<Production>>> {
    Ok(Json(s.store.productions(&p).await?))
}

/// A new production, optionally naming the studio (default: the caller's studio).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateProduction {
    #[serde(default)]
    pub studio_id: Option<OrgId>,
    #[serde(flatten)]
    pub production: NewProduction,
}

/// A studio admin creates a production (packs default to netflix-genai, eu-ai-act-art50 and
/// sag-aftra-2023; union agreements to none).
#[utoipa::path(post, path = "/api/v1/productions", tag = "productions", request_body = CreateProduction,
    responses((status = 201, body = Production), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(c): ApiJson<CreateProduction>,
) -> ApiResult<(StatusCode, Json<Production>)> {
    let studio = match c.studio_id {
        Some(s) => s,
        None => p
            .memberships
            .iter()
            .find(|m| m.role == Role::Admin && m.org_kind == OrgKind::Studio)
            .map(|m| m.org_id.clone())
            .ok_or_else(|| {
                ApiError::from(greenlight_store::StoreError::Forbidden(
                    "only a studio admin creates productions".into(),
                ))
            })?,
    };
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_production(&p, &studio, c.production).await?),
    ))
}

/// One production.
#[utoipa::path(get, path = "/api/v1/productions/{id}", tag = "productions", params(("id" = String, Path)),
    responses((status = 200, body = Production, headers(("ETag" = String, description = "the production's version, for If-Match"))), (status = 404, body = Problem)))]
pub async fn get_one(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<(HeaderMap, Json<Production>)> {
    let production = s.store.production(&p, &ProductionId(id)).await?;
    Ok((
        etag_headers(&production_etag_of(production.version)),
        Json(production),
    ))
}

/// The pack set a preview or adoption proposes: built-in ids (`netflix-genai`) or exact
/// versions (`netflix-genai@2025.08`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackSet {
    pub packs: Vec<String>,
}

/// Legal or an admin of the studio sees what switching the production's packs would change
/// on its live declarations. Nothing is written.
#[utoipa::path(post, path = "/api/v1/productions/{id}/packs/preview", tag = "productions", params(("id" = String, Path)), request_body = PackSet,
    responses((status = 200, body = PackPreview), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn preview_packs(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(set): ApiJson<PackSet>,
) -> ApiResult<Json<PackPreview>> {
    Ok(Json(
        s.store
            .preview_packs(&p, &ProductionId(id), &set.packs)
            .await?,
    ))
}

/// Legal or an admin of the studio switches the production's packs (its ETag in
/// `If-Match`): every live declaration is triaged again, approvals whose result changed are
/// suspended; the answer is the preview's change list.
#[utoipa::path(put, path = "/api/v1/productions/{id}/packs", tag = "productions", params(("id" = String, Path)), request_body = PackSet,
    responses((status = 200, body = PackPreview, headers(("ETag" = String))), (status = 403, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn adopt_packs(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    IfMatch(m): IfMatch,
    ApiJson(set): ApiJson<PackSet>,
) -> ApiResult<(HeaderMap, Json<PackPreview>)> {
    let id = ProductionId(id);
    let answer = s
        .store
        .adopt_packs(&p, &id, m.as_deref(), set.packs)
        .await?;
    let after = s.store.production(&p, &id).await?;
    Ok((
        etag_headers(&production_etag_of(after.version)),
        Json(answer),
    ))
}

/// A studio admin changes facts or packs; live declarations are triaged again. When the
/// packs change, the answer also carries the change list of `PUT …/packs` (`changes`,
/// `counts`, `production_findings`) beside the production's fields.
#[utoipa::path(patch, path = "/api/v1/productions/{id}", tag = "productions", params(("id" = String, Path)), request_body = ProductionUpdate,
    responses((status = 200, body = Production, headers(("ETag" = String))), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(u): ApiJson<ProductionUpdate>,
) -> ApiResult<(HeaderMap, Json<ProductionUpdated>)> {
    let (production, changes) = s
        .store
        .update_production_answering(&p, &ProductionId(id), u)
        .await?;
    Ok((
        etag_headers(&production_etag_of(production.version)),
        Json(ProductionUpdated {
            production,
            changes,
        }),
    ))
}

/// A production as `PATCH` answers it: its fields, and the pack change list when the packs
/// changed.
#[derive(Debug, serde::Serialize)]
pub struct ProductionUpdated {
    #[serde(flatten)]
    pub production: Production,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub changes: Option<PackPreview>,
}

/// An organisation to link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub org_id: OrgId,
}

/// A studio admin links a production company or vendor to the production.
#[utoipa::path(post, path = "/api/v1/productions/{id}/links", tag = "productions", params(("id" = String, Path)), request_body = Link,
    responses((status = 200, body = Production)))]
pub async fn link(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(l): ApiJson<Link>,
) -> ApiResult<Json<Production>> {
    Ok(Json(
        s.store.link_org(&p, &ProductionId(id), &l.org_id).await?,
    ))
}

/// `?format=json|csv`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatParam {
    #[serde(default)]
    pub format: Option<String>,
}

/// The disclosure report: every GenAI use with outcome, decision, conditions, consents,
/// tools and obligations (JSON, or CSV with `?format=csv`).
#[utoipa::path(get, path = "/api/v1/productions/{id}/disclosure", tag = "productions", params(("id" = String, Path), FormatParam),
    responses((status = 200, body = Disclosure), (status = 404, body = Problem)))]
pub async fn disclosure(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiQuery(f): ApiQuery<FormatParam>,
) -> ApiResult<Response> {
    let report = s.store.disclosure(&p, &ProductionId(id)).await?;
    match f.format.as_deref() {
        None | Some("json") => Ok(Json(report).into_response()),
        Some("csv") => Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            report.to_csv(),
        )
            .into_response()),
        Some(other) => Err(ApiError::bad_request(
            Some("format"),
            format!("{other:?} is not one of json, csv"),
        )),
    }
}
