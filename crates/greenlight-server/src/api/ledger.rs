//! What a delivery scan needs from the server for one production, in one document
//! (`GET /api/v1/productions/{id}/ledger`): the production's asset ledger and the reference
//! banks from the `bank_*` tables of the server's database, and the production's
//! declarations reduced to what decides a verdict. `greenlight scan --server URL` reads it.
//!
//! The bank tables are the store's (`greenlight_store::banks`, migrated with the rest of the
//! database), read through [`Store::banks`](greenlight_store::Store::banks) on the store's
//! pool. Ledger entries and reference entries are that module's records as it serializes them
//! (plus the thumbnail, base64), so a new field there reaches scanners without a change here.

use axum::Json;
use axum::extract::{Path, State};
use base64::Engine as _;
use greenlight_store::banks::{Asset, AudioReference, BankError, Reference};
use greenlight_store::{Production, ProductionId, ScanUse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiQuery;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// One entry of the production's asset ledger: the bank's record (`id`, `production`,
/// `use_ref`, `tool`, `added_at`, `file_name`, `blake3`, `media_type`, `pdq`, `pdq_quality`,
/// `frames`, and `audio` for sound: `millis` and `chromaprint`, the raw fingerprint) and its
/// JPEG thumbnail, base64.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerEntry {
    #[serde(flatten)]
    pub asset: Asset,
    /// A small JPEG of the production's own file, base64 (standard alphabet, padded).
    pub thumbnail: Option<String>,
}

/// Everything a delivery scan takes from the server for one production.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScanLedger {
    pub production: Production,
    pub generated_at: chrono::DateTime<chrono::Utc>,
    /// The production's asset ledger (bank entries whose `production` is this production's
    /// id), in registration order; outside the studio, the entries of declarations the caller
    /// may not see carry their hashes only (no use reference, file name, tool or thumbnail). Each entry: `id`, `production`, `use_ref`, `tool`,
    /// `added_at`, `file_name`, `blake3`, `media_type`, `pdq`, `pdq_quality`, `frames` (a
    /// video's PDQ hash per frame, with its time, as the bank records it) and `thumbnail`
    /// (base64 JPEG or null).
    #[schema(value_type = Vec<Object>)]
    pub ledger: Vec<LedgerEntry>,
    /// The reference-bank entries of the production's studio and of the whole deployment
    /// (hashes and metadata of protected works, never images): `id`, `bank`, `work_id`,
    /// `title`, `hash_type` (`pdq` or `blake3`), `hash`, `quality`, `added_at`, `studio`.
    #[schema(value_type = Vec<Object>)]
    pub references: Vec<Reference>,
    /// The audio entries of those reference banks (Chromaprint fingerprints of protected
    /// recordings, never the sound): `id`, `bank`, `work_id`, `title`, `blake3`, `audio`
    /// (`millis`, `chromaprint`: the raw 32-bit items), `added_at`, `studio`.
    #[schema(value_type = Vec<Object>)]
    pub audio_references: Vec<AudioReference>,
    /// The production's declarations the caller may see, by `use.ref`.
    pub declarations: Vec<ScanUse>,
}

/// The file name a caller outside the studio sees for another organisation's ledger entry.
pub const OTHER_ORGANISATION: &str = "(another organisation's file)";
/// The `use_ref` a caller outside the studio sees for another organisation's ledger entry.
pub const OTHER_ORGANISATION_USE: &str = "(another organisation's use)";

/// `?thumbnails=false` leaves the thumbnails out (a scan without an HTML report needs none).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerParams {
    #[serde(default)]
    pub thumbnails: Option<bool>,
}

fn bank_error(e: BankError) -> ApiError {
    tracing::error!(error = %e, "reading the bank tables failed");
    internal_error()
}

fn internal_error() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "Internal error",
        "internal error",
    )
}

/// What `greenlight scan --server` needs for one production: its asset ledger, the
/// reference banks, and per `use.ref` whether the effective declaration's output is final,
/// whether the current revision is approved, the decision, and whether a `keep-marking`
/// obligation applies. Readable by anyone who may read the production (404 otherwise).
#[utoipa::path(get, path = "/api/v1/productions/{id}/ledger", tag = "productions", params(("id" = String, Path), LedgerParams),
    responses((status = 200, body = ScanLedger), (status = 404, body = Problem)))]
pub async fn ledger(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<LedgerParams>,
) -> ApiResult<Json<ScanLedger>> {
    // The access check comes first: a production the caller does not see is 404 before any
    // bank is read.
    let (production, declarations) = s.store.scan_uses(&p, &ProductionId(id)).await?;
    let banks = s.store.banks();
    let with_thumbnails = q.thumbnails.unwrap_or(true);
    let mut assets = if with_thumbnails {
        banks.assets(Some(production.id.as_str())).await
    } else {
        banks
            .assets_without_thumbnails(Some(production.id.as_str()))
            .await
    }
    .map_err(bank_error)?;
    // Outside the studio, a caller sees the declarations of its own organisation only. The
    // ledger entries of other organisations' uses keep their hashes, so that a scan still
    // catches those files (as undeclared to this caller), but not their use references, file
    // names, tools or thumbnails.
    if !p.is_member(&production.studio_id) {
        let visible: std::collections::HashSet<&str> =
            declarations.iter().map(|d| d.reference.as_str()).collect();
        for a in assets
            .iter_mut()
            .filter(|a| !visible.contains(a.use_ref.as_str()))
        {
            a.file_name = OTHER_ORGANISATION.to_owned();
            a.use_ref = OTHER_ORGANISATION_USE.to_owned();
            a.tool = None;
            a.thumbnail = None;
        }
    }
    // The studio's own reference banks and those of the whole deployment; never another
    // studio's.
    let references = banks
        .references_for_studio(&production.studio_id.0)
        .await
        .map_err(bank_error)?;
    let audio_references = banks
        .audio_references_for_studio(&production.studio_id.0)
        .await
        .map_err(bank_error)?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let ledger = assets
        .into_iter()
        .map(|asset| LedgerEntry {
            thumbnail: asset.thumbnail.as_deref().map(|t| b64.encode(t)),
            asset,
        })
        .collect();
    Ok(Json(ScanLedger {
        production,
        generated_at: chrono::Utc::now(),
        ledger,
        references,
        audio_references,
        declarations,
    }))
}
