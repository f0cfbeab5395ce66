//! What a production must do before release: the credit line, the labels and the markings
//! drafted from its uses' obligations (`GET /api/v1/productions/{id}/disclosure/actions`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use greenlight_core::disclosure::{ActionList, ObligationState, csv_field, draft};
use greenlight_store::{Principal, ProductionId, Store};

use super::ApiQuery;
use super::productions::FormatParam;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// The drafted actions of a production, with what the caller may see (the disclosure
/// report's access rules: a production the caller does not see is 404).
pub async fn actions_for(
    store: &Store,
    actor: &Principal,
    production: &ProductionId,
) -> greenlight_store::Result<ActionList> {
    let (p, uses) = store.disclosure_obligations(actor, production).await?;
    Ok(draft(&p.facts.title, &uses))
}

/// The actions as CSV: one line per item, lists joined with ` | `.
pub fn to_csv(list: &ActionList) -> String {
    let mut out = String::from("kind,text,uses,media,due,done,covers,evidence,who\n");
    for i in &list.items {
        let kind = serde_json::to_value(i.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let covers = i
            .covers
            .iter()
            .map(|c| {
                let state = match c.state {
                    ObligationState::Open => "open",
                    ObligationState::Done => "done",
                };
                format!("{} {} ({}, {state})", c.use_ref, c.rule, c.kind)
            })
            .collect::<Vec<_>>()
            .join(" | ");
        let evidence = i
            .covers
            .iter()
            .filter_map(|c| c.evidence.as_deref())
            .collect::<Vec<_>>()
            .join(" | ");
        let fields = [
            kind,
            i.text.clone(),
            i.uses.join(" | "),
            i.media.join(" | "),
            i.due.clone(),
            i.done.to_string(),
            covers,
            evidence,
            i.who.clone().unwrap_or_default(),
        ];
        out.push_str(
            &fields
                .iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

fn wants_csv(f: &FormatParam, headers: &HeaderMap) -> Result<bool, ApiError> {
    match f.format.as_deref() {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(other) => Err(ApiError::bad_request(
            Some("format"),
            format!("{other:?} is not one of json, csv"),
        )),
        None => Ok(headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv") && !a.contains("application/json"))),
    }
}

/// Before release: one credit line drafted from every `disclose-existence` obligation, the
/// labels to place per use and media, the markings to keep; each with its earliest due
/// date, the obligations it covers and whether all are done (JSON, or CSV with
/// `?format=csv` or `Accept: text/csv`).
#[utoipa::path(get, path = "/api/v1/productions/{id}/disclosure/actions", tag = "productions", params(("id" = String, Path), FormatParam),
    responses((status = 200, description = "`{title, items: [{kind, text, uses, media, due, covers, done, who}], open}`; CSV (text/csv) with ?format=csv", content_type = "application/json"),
        (status = 404, body = Problem)))]
pub async fn actions(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiQuery(f): ApiQuery<FormatParam>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let csv = wants_csv(&f, &headers)?;
    let list = actions_for(&s.store, &p, &ProductionId(id)).await?;
    if csv {
        Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            to_csv(&list),
        )
            .into_response())
    } else {
        Ok(Json(list).into_response())
    }
}
