//! The audit log, for auditors and admins.

use axum::Json;
use axum::extract::State;
use greenlight_store::{AuditEntry, Page, PageRequest, VerifyReport};
use serde::Deserialize;
use utoipa::IntoParams;

use super::ApiQuery;
use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// `after` (a sequence number) and `limit`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    #[serde(default)]
    pub after: Option<i64>,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// Audit entries of the caller's studio, oldest first after `after`.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = Page<AuditEntry>), (status = 403, body = Problem)))]
pub async fn entries(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<AuditParams>,
) -> ApiResult<Json<Page<AuditEntry>>> {
    let page = PageRequest {
        offset: 0,
        limit: q.limit.unwrap_or(100),
    };
    Ok(Json(
        s.store
            .audit_entries(&p, q.after.unwrap_or(0), page)
            .await?,
    ))
}

/// Verifies the whole chain, every checkpoint signature and the checkpoint log.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", responses((status = 200, body = VerifyReport), (status = 403, body = Problem)))]
pub async fn verify(State(s): State<AppState>, Caller(p): Caller) -> ApiResult<Json<VerifyReport>> {
    Ok(Json(s.store.verify_audit(&p).await?))
}
