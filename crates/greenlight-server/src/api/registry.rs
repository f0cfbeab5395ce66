//! The consent and tool registries.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use chrono::NaiveDate;
use greenlight_store::input::{Document, NewConsent, NewTool};
use greenlight_store::{
    Consent, ConsentBy, ConsentId, DataTerms, DeclarationSummary, OrgId, Page, ProductionId,
    StoreError, Tool, ToolId, ToolTrace, Treatment,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{ApiJson, ApiQuery, MAX_DOCUMENT_JSON_BYTES, Paging};
use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// A document sent inline.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentUpload {
    /// File name, e.g. `consent-jane-doe.pdf`.
    pub name: String,
    /// The file, base64 (standard alphabet).
    pub content_base64: String,
}

impl DocumentUpload {
    fn decode(self, path: &str) -> Result<Document, StoreError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(self.content_base64.trim())
            .map_err(|e| {
                StoreError::invalid(
                    &format!("{path}.content_base64"),
                    format!("is not base64: {e}"),
                )
            })?;
        Ok(Document {
            name: self.name,
            bytes,
        })
    }
}

/// A consent to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentUpload {
    /// The studio (default: the caller's studio where they are legal).
    #[serde(default)]
    pub studio_id: Option<OrgId>,
    /// Limit to one production.
    #[serde(default)]
    pub production_id: Option<ProductionId>,
    pub performer: String,
    #[serde(default = "performer")]
    pub by: ConsentBy,
    pub treatment: Treatment,
    /// The description of the use consented to.
    pub scope: String,
    /// The consent is clear and conspicuous and signed apart from other terms (default
    /// false); the union pack's valid consent needs it.
    #[serde(default)]
    pub separately_signed: bool,
    pub signed: NaiveDate,
    #[serde(default)]
    pub expires: Option<NaiveDate>,
    pub document: DocumentUpload,
}

fn performer() -> ConsentBy {
    ConsentBy::Performer
}

/// Legal records a consent with its signed document (stored with its SHA-256).
#[utoipa::path(post, path = "/api/v1/consents", tag = "registry", request_body = ConsentUpload,
    responses((status = 201, body = Consent), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn record_consent(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(c): ApiJson<ConsentUpload, MAX_DOCUMENT_JSON_BYTES>,
) -> ApiResult<(StatusCode, Json<Consent>)> {
    let new = NewConsent {
        production_id: c.production_id,
        performer: c.performer,
        by: c.by,
        treatment: c.treatment,
        scope: c.scope,
        separately_signed: c.separately_signed,
        signed: c.signed,
        expires: c.expires,
        document: c.document.decode("document")?,
    };
    Ok((
        StatusCode::CREATED,
        Json(
            s.store
                .record_consent(&p, c.studio_id.as_ref(), new)
                .await?,
        ),
    ))
}

/// Consents of the caller's studios.
#[utoipa::path(get, path = "/api/v1/consents", tag = "registry", params(Paging), responses((status = 200, body = Page<Consent>)))]
pub async fn list_consents(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<Paging>,
) -> ApiResult<Json<Page<Consent>>> {
    Ok(Json(s.store.consents(&p, q.request()).await?))
}

/// One consent.
#[utoipa::path(get, path = "/api/v1/consents/{id}", tag = "registry", params(("id" = String, Path)), responses((status = 200, body = Consent)))]
pub async fn get_consent(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Consent>> {
    Ok(Json(s.store.consent(&p, &ConsentId(id)).await?))
}

/// Why a consent is revoked.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Revoke {
    pub reason: String,
}

/// Legal revokes a consent; every linked declaration is triaged again.
#[utoipa::path(post, path = "/api/v1/consents/{id}/revoke", tag = "registry", params(("id" = String, Path)), request_body = Revoke,
    responses((status = 200, body = Consent), (status = 409, body = Problem)))]
pub async fn revoke_consent(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(r): ApiJson<Revoke>,
) -> ApiResult<Json<Consent>> {
    Ok(Json(
        s.store
            .revoke_consent(&p, &ConsentId(id), &r.reason)
            .await?,
    ))
}

/// What legal changes on a recorded consent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentChange {
    /// The consent is signed separately from other terms.
    pub separately_signed: bool,
}

/// Legal records whether a consent is signed separately from other terms; every linked
/// declaration is triaged again.
#[utoipa::path(patch, path = "/api/v1/consents/{id}", tag = "registry", params(("id" = String, Path)), request_body = ConsentChange,
    responses((status = 200, body = Consent), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn change_consent(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(c): ApiJson<ConsentChange>,
) -> ApiResult<Json<Consent>> {
    Ok(Json(
        s.store
            .set_consent_separately_signed(&p, &ConsentId(id), c.separately_signed)
            .await?,
    ))
}

/// The consent's signed document.
#[utoipa::path(get, path = "/api/v1/consents/{id}/document", tag = "registry", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>)))]
pub async fn consent_document(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (name, bytes) = s.store.consent_document(&p, &ConsentId(id)).await?;
    Ok(crate::attachment::download(
        bytes,
        "application/octet-stream",
        &name,
    ))
}

/// Declarations a consent is linked to.
#[utoipa::path(get, path = "/api/v1/consents/{id}/uses", tag = "registry", params(("id" = String, Path)), responses((status = 200, body = Vec<DeclarationSummary>)))]
pub async fn consent_uses(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<DeclarationSummary>>> {
    Ok(Json(s.store.consent_uses(&p, &ConsentId(id)).await?))
}

/// A tool and its reviewed terms.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolUpload {
    #[serde(default)]
    pub studio_id: Option<OrgId>,
    pub name: String,
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub plan: Option<String>,
    /// Reference of the enterprise agreement covering the tool.
    #[serde(default)]
    pub agreement: Option<String>,
    pub data_terms: DataTerms,
    #[serde(default)]
    pub terms_reviewed: Option<NaiveDate>,
    #[serde(default)]
    pub evidence: Option<DocumentUpload>,
    /// The traces the tool's output carries: any of `c2pa`, `iptc`, `watermark`,
    /// `metadata`, or `["none"]` for a tool that leaves none (its output is then found at
    /// delivery only through the ledger). Left out: not recorded.
    #[serde(default)]
    pub traces: Vec<ToolTrace>,
}

impl ToolUpload {
    fn into_new(self) -> Result<(Option<OrgId>, NewTool), StoreError> {
        let evidence = self.evidence.map(|d| d.decode("evidence")).transpose()?;
        Ok((
            self.studio_id,
            NewTool {
                name: self.name,
                vendor: self.vendor,
                plan: self.plan,
                agreement: self.agreement,
                data_terms: self.data_terms,
                terms_reviewed: self.terms_reviewed,
                evidence,
                traces: self.traces,
            },
        ))
    }
}

/// Legal registers a tool; live declarations naming it are triaged again.
#[utoipa::path(post, path = "/api/v1/tools", tag = "registry", request_body = ToolUpload,
    responses((status = 201, body = Tool), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn register_tool(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(t): ApiJson<ToolUpload, MAX_DOCUMENT_JSON_BYTES>,
) -> ApiResult<(StatusCode, Json<Tool>)> {
    let (studio, new) = t.into_new()?;
    Ok((
        StatusCode::CREATED,
        Json(s.store.register_tool(&p, studio.as_ref(), new).await?),
    ))
}

/// Legal changes a tool's terms; every live declaration using it is triaged again.
#[utoipa::path(put, path = "/api/v1/tools/{id}", tag = "registry", params(("id" = String, Path)), request_body = ToolUpload,
    responses((status = 200, body = Tool)))]
pub async fn update_tool(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(t): ApiJson<ToolUpload, MAX_DOCUMENT_JSON_BYTES>,
) -> ApiResult<Json<Tool>> {
    let (_, new) = t.into_new()?;
    Ok(Json(s.store.update_tool(&p, &ToolId(id), new).await?))
}

/// The tools of the caller's studios.
#[utoipa::path(get, path = "/api/v1/tools", tag = "registry", responses((status = 200, body = Vec<Tool>)))]
pub async fn list_tools(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<Vec<Tool>>> {
    Ok(Json(s.store.tools(&p).await?))
}

/// One tool.
#[utoipa::path(get, path = "/api/v1/tools/{id}", tag = "registry", params(("id" = String, Path)), responses((status = 200, body = Tool)))]
pub async fn get_tool(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Tool>> {
    Ok(Json(s.store.tool(&p, &ToolId(id)).await?))
}

/// Declarations that use a tool.
#[utoipa::path(get, path = "/api/v1/tools/{id}/uses", tag = "registry", params(("id" = String, Path)), responses((status = 200, body = Vec<DeclarationSummary>)))]
pub async fn tool_uses(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<DeclarationSummary>>> {
    Ok(Json(s.store.tool_uses(&p, &ToolId(id)).await?))
}
