//! A studio's packs as records: upload, list, read; a studio's default pack set; and the
//! replay of a stored triage with the pack texts it recorded.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use greenlight_store::{DeclarationId, MAX_PACK_BYTES, OrgId, PackRecord, Replay};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiJson, ApiQuery};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// The studio a pack request is about (default: the caller's studio).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StudioParam {
    pub studio_id: Option<String>,
}

/// What an upload stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct Uploaded {
    pub id: String,
    pub version: String,
    pub digest: String,
}

/// Legal or an admin of a studio uploads a pack file (`Content-Type: application/yaml`, at
/// most 1 MiB). 201 when stored, 200 when the same text is already stored under its name;
/// 422 names the rule or test at fault, 409 when the name is taken by other text.
#[utoipa::path(post, path = "/api/v1/packs", tag = "packs", params(StudioParam),
    request_body(content = String, content_type = "application/yaml"),
    responses((status = 201, body = Uploaded), (status = 200, body = Uploaded), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn upload(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<StudioParam>,
    req: Request,
) -> ApiResult<(StatusCode, Json<Uploaded>)> {
    let yaml = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|t| {
            matches!(
                t.as_str(),
                "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml"
            )
        });
    if !yaml {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            "send the pack file as `Content-Type: application/yaml`",
        ));
    }
    let bytes = super::read_body(req, &s, MAX_PACK_BYTES).await?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| ApiError::bad_request(None, format!("the pack file is not UTF-8: {e}")))?;
    let studio = q.studio_id.map(OrgId);
    let (record, created) = s.store.upload_pack(&p, studio.as_ref(), text).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(Uploaded {
            id: record.id,
            version: record.version,
            digest: record.digest,
        }),
    ))
}

/// The packs the caller may read: the built-ins, their studios' packs, and for a partner the
/// packs of the productions they work on.
#[utoipa::path(get, path = "/api/v1/packs", tag = "packs", params(StudioParam),
    responses((status = 200, body = Vec<PackRecord>), (status = 404, body = Problem)))]
pub async fn list(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<StudioParam>,
) -> ApiResult<Json<Vec<PackRecord>>> {
    let studio = q.studio_id.map(OrgId);
    Ok(Json(s.store.packs(&p, studio.as_ref()).await?))
}

/// A pack record with its text and its rules.
#[derive(Debug, Serialize, ToSchema)]
pub struct PackDetail {
    #[serde(flatten)]
    pub record: PackRecord,
    /// The pack file as uploaded.
    pub text: String,
    /// Each rule: id, principle, title, message and source.
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<serde_json::Value>,
}

/// One pack, by id and version.
#[utoipa::path(get, path = "/api/v1/packs/{id}/{version}", tag = "packs",
    params(("id" = String, Path), ("version" = String, Path), StudioParam),
    responses((status = 200, body = PackDetail), (status = 404, body = Problem)))]
pub async fn get_one(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path((id, version)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<StudioParam>,
) -> ApiResult<Json<PackDetail>> {
    let studio = q.studio_id.map(OrgId);
    let (record, text) = s.store.pack(&p, &id, &version, studio.as_ref()).await?;
    let rules = rules_of(&text);
    Ok(Json(PackDetail {
        record,
        text,
        rules,
    }))
}

/// The rules of a stored pack, for people: id, principle, title, message and source.
pub fn rules_of(text: &str) -> Vec<serde_json::Value> {
    match greenlight_core::pack::Pack::from_yaml_with(
        text,
        greenlight_core::pack::LoadOptions {
            inline_tests_only: true,
        },
    ) {
        Ok(pack) => pack
            .file()
            .rules
            .iter()
            .map(|r| serde_json::to_value(r).unwrap_or_default())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// A pack set by name.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultPacks {
    /// Pack names (`netflix-genai`, `studio-extra@3`); empty: the built-in default.
    pub packs: Vec<String>,
}

/// The studio's pack set for new productions.
#[utoipa::path(get, path = "/api/v1/orgs/{id}/default-packs", tag = "packs", params(("id" = String, Path)),
    responses((status = 200, body = DefaultPacks), (status = 404, body = Problem)))]
pub async fn default_packs(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DefaultPacks>> {
    let packs = s.store.default_packs(&p, &OrgId(id)).await?;
    Ok(Json(DefaultPacks { packs }))
}

/// Legal or an admin of the studio sets the pack set new productions enable when none are
/// given (existing productions keep theirs).
#[utoipa::path(put, path = "/api/v1/orgs/{id}/default-packs", tag = "packs", params(("id" = String, Path)),
    request_body = DefaultPacks,
    responses((status = 200, body = DefaultPacks), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_default_packs(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DefaultPacks>,
) -> ApiResult<Json<DefaultPacks>> {
    let packs = s
        .store
        .set_default_packs(&p, &OrgId(id), body.packs)
        .await?;
    Ok(Json(DefaultPacks { packs }))
}

/// Which triage to replay.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReplayParam {
    /// The triage's number within the current revision (default: the latest).
    pub seq: Option<i64>,
}

/// Evaluates a stored triage again with the pack texts (by digest) and the date it recorded,
/// and says whether the result is the same. Writes nothing.
#[utoipa::path(post, path = "/api/v1/declarations/{id}/replay", tag = "declarations",
    params(("id" = String, Path), ReplayParam),
    responses((status = 200, body = Replay), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn replay(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ReplayParam>,
) -> ApiResult<Json<Replay>> {
    Ok(Json(
        s.store.replay_triage(&p, &DeclarationId(id), q.seq).await?,
    ))
}
