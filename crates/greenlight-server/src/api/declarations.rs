//! Declarations: submit (raw YAML or JSON body), triage preview, revisions, decisions,
//! withdrawal, consent links, confirmations, obligations, lists and the review queue.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use greenlight_store::input::{ConfirmationInput, DecisionInput};
use greenlight_store::{
    ConsentId, DeclarationDetail, DeclarationFilter, DeclarationId, DeclarationSummary, Obligation,
    ObligationId, Page, ProductionId, Revision, State as DeclState, TriagePreview,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{ApiJson, ApiQuery, IfMatch, Paging, RawBody, etag_headers};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// Triage a declaration body as the server would (effective declaration, the
/// production's packs) without storing it: the live preview uses this too.
#[utoipa::path(post, path = "/api/v1/productions/{id}/triage", tag = "declarations", params(("id" = String, Path), TriageParams),
    request_body(content = String, content_type = "application/yaml", description = "A declaration (format v1), YAML or JSON"),
    responses((status = 200, body = TriagePreview), (status = 400, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn triage(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<TriageParams>,
    RawBody(body): RawBody,
) -> ApiResult<Json<TriagePreview>> {
    let revising = q.declaration.filter(|d| !d.is_empty()).map(DeclarationId);
    Ok(Json(
        s.store
            .preview(&p, &ProductionId(id), &body, revising.as_ref())
            .await?,
    ))
}

/// Options of the triage preview.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TriageParams {
    /// The declaration the body would become a new revision of (its own `use.ref` is then
    /// not reported as taken).
    #[serde(default)]
    pub declaration: Option<String>,
}

/// Submit a declaration (raw YAML or JSON body): validated, triaged and stored.
#[utoipa::path(post, path = "/api/v1/productions/{id}/declarations", tag = "declarations", params(("id" = String, Path)),
    request_body(content = String, content_type = "application/yaml", description = "A declaration (format v1), YAML or JSON"),
    responses((status = 201, body = DeclarationSummary), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn submit(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, HeaderMap, Json<DeclarationSummary>)> {
    let d = s.store.submit(&p, &ProductionId(id), &body).await?;
    let mut h = etag_headers(&d.etag());
    if let Ok(v) = format!("/api/v1/declarations/{}", d.id).parse() {
        h.insert(header::LOCATION, v);
    }
    Ok((StatusCode::CREATED, h, Json(d)))
}

/// Filters of declaration lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    #[serde(default)]
    pub production_id: Option<String>,
    /// A state, e.g. `in_review`.
    #[serde(default)]
    pub state: Option<String>,
    /// An outcome, e.g. `escalate`.
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub offset: Option<i64>,
    #[serde(default)]
    pub limit: Option<i64>,
}

impl ListParams {
    fn filter(&self, production: Option<String>) -> ApiResult<(DeclarationFilter, Paging)> {
        let state = match &self.state {
            Some(s) => Some(
                s.parse::<DeclState>()
                    .map_err(|e| ApiError::bad_request(Some("state"), e))?,
            ),
            None => None,
        };
        if let Some(o) = &self.outcome
            && greenlight_core::Outcome::parse(o).is_none()
        {
            return Err(ApiError::bad_request(
                Some("outcome"),
                format!("{o:?} is not one of notify, review, escalate, written_approval"),
            ));
        }
        let filter = DeclarationFilter {
            production_id: production
                .or_else(|| self.production_id.clone())
                .map(ProductionId),
            state,
            outcome: self.outcome.clone(),
            org_id: None,
            oldest_first: false,
        };
        Ok((
            filter,
            Paging {
                offset: self.offset,
                limit: self.limit,
            },
        ))
    }
}

/// Declarations the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/declarations", tag = "declarations", params(ListParams),
    responses((status = 200, body = Page<DeclarationSummary>)))]
pub async fn list(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<DeclarationSummary>>> {
    let (f, paging) = q.filter(None)?;
    Ok(Json(s.store.declarations(&p, &f, paging.request()).await?))
}

/// Declarations of one production, newest first.
#[utoipa::path(get, path = "/api/v1/productions/{id}/declarations", tag = "declarations", params(("id" = String, Path), ListParams),
    responses((status = 200, body = Page<DeclarationSummary>)))]
pub async fn list_for_production(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<DeclarationSummary>>> {
    s.store.production(&p, &ProductionId(id.clone())).await?;
    let (f, paging) = q.filter(Some(id))?;
    Ok(Json(s.store.declarations(&p, &f, paging.request()).await?))
}

/// The review queue: in review and suspended, oldest first.
#[utoipa::path(get, path = "/api/v1/queue", tag = "declarations", params(ListParams), responses((status = 200, body = Page<DeclarationSummary>)))]
pub async fn queue(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<DeclarationSummary>>> {
    let (f, paging) = q.filter(None)?;
    Ok(Json(
        s.store
            .queue(&p, f.production_id, f.outcome, paging.request())
            .await?,
    ))
}

/// One declaration: current revision with triage history, decision, links,
/// confirmations, obligations, history. The `ETag` header is what decisions need.
#[utoipa::path(get, path = "/api/v1/declarations/{id}", tag = "declarations", params(("id" = String, Path)),
    responses((status = 200, body = DeclarationDetail), (status = 404, body = Problem)))]
pub async fn get_one(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<(HeaderMap, Json<DeclarationDetail>)> {
    let d = s.store.declaration(&p, &DeclarationId(id)).await?;
    Ok((etag_headers(&d.summary.etag()), Json(d)))
}

/// Every revision, oldest first.
#[utoipa::path(get, path = "/api/v1/declarations/{id}/revisions", tag = "declarations", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Revision>)))]
pub async fn revisions(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Revision>>> {
    Ok(Json(s.store.revisions(&p, &DeclarationId(id)).await?))
}

/// A new revision (raw body), with `If-Match`.
#[utoipa::path(post, path = "/api/v1/declarations/{id}/revisions", tag = "declarations", params(("id" = String, Path), ("If-Match" = String, Header)),
    request_body(content = String, content_type = "application/yaml"),
    responses((status = 200, body = DeclarationSummary), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
pub async fn revise(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    IfMatch(m): IfMatch,
    RawBody(body): RawBody,
) -> ApiResult<(HeaderMap, Json<DeclarationSummary>)> {
    let d = s
        .store
        .revise(&p, &DeclarationId(id), m.as_deref(), &body)
        .await?;
    Ok((etag_headers(&d.etag()), Json(d)))
}

/// A reviewer's decision, with `If-Match`: 428 without it, 412 when stale, 409 while a
/// blocker is open.
#[utoipa::path(post, path = "/api/v1/declarations/{id}/decision", tag = "declarations", params(("id" = String, Path), ("If-Match" = String, Header)),
    request_body = DecisionInput,
    responses((status = 200, body = DeclarationSummary), (status = 403, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem), (status = 428, body = Problem)))]
pub async fn decide(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    IfMatch(m): IfMatch,
    ApiJson(d): ApiJson<DecisionInput>,
) -> ApiResult<(HeaderMap, Json<DeclarationSummary>)> {
    let d = s
        .store
        .decide(&p, &DeclarationId(id), m.as_deref(), d)
        .await?;
    Ok((etag_headers(&d.etag()), Json(d)))
}

/// Why a declaration is withdrawn.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Withdraw {
    #[serde(default)]
    pub reason: Option<String>,
}

/// The partner withdraws the declaration, with `If-Match`.
#[utoipa::path(post, path = "/api/v1/declarations/{id}/withdraw", tag = "declarations", params(("id" = String, Path), ("If-Match" = String, Header)),
    request_body = Withdraw, responses((status = 200, body = DeclarationSummary)))]
pub async fn withdraw(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    IfMatch(m): IfMatch,
    ApiJson(w): ApiJson<Withdraw>,
) -> ApiResult<(HeaderMap, Json<DeclarationSummary>)> {
    let d = s
        .store
        .withdraw(&p, &DeclarationId(id), m.as_deref(), w.reason)
        .await?;
    Ok((etag_headers(&d.etag()), Json(d)))
}

/// A consent to link to a talent entry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkConsent {
    /// The talent entry's performer, as declared.
    pub performer: String,
    pub consent_id: ConsentId,
}

/// Legal links a recorded consent to a talent entry; the declaration is triaged again.
#[utoipa::path(post, path = "/api/v1/declarations/{id}/consents", tag = "declarations", params(("id" = String, Path)), request_body = LinkConsent,
    responses((status = 200, body = DeclarationSummary)))]
pub async fn link_consent(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(l): ApiJson<LinkConsent>,
) -> ApiResult<(HeaderMap, Json<DeclarationSummary>)> {
    let d = s
        .store
        .link_consent(&p, &DeclarationId(id), &l.performer, &l.consent_id)
        .await?;
    Ok((etag_headers(&d.etag()), Json(d)))
}

/// Legal confirms a clearance or the union agreement; the declaration is triaged again.
#[utoipa::path(post, path = "/api/v1/declarations/{id}/confirmations", tag = "declarations", params(("id" = String, Path)), request_body = ConfirmationInput,
    responses((status = 200, body = DeclarationSummary)))]
pub async fn confirm(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(c): ApiJson<ConfirmationInput>,
) -> ApiResult<(HeaderMap, Json<DeclarationSummary>)> {
    let d = s.store.confirm(&p, &DeclarationId(id), c).await?;
    Ok((etag_headers(&d.etag()), Json(d)))
}

/// Evidence that an obligation was met.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Done {
    /// What was done, e.g. the credit line as delivered.
    pub evidence: String,
}

/// Marks an obligation done.
#[utoipa::path(post, path = "/api/v1/obligations/{id}/done", tag = "declarations", params(("id" = String, Path)), request_body = Done,
    responses((status = 200, body = Obligation), (status = 409, body = Problem)))]
pub async fn complete_obligation(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(d): ApiJson<Done>,
) -> ApiResult<Json<Obligation>> {
    Ok(Json(
        s.store
            .complete_obligation(&p, &ObligationId(id), &d.evidence)
            .await?,
    ))
}
