//! The auditor's page: the log, "verify the chain", the export bundle.

use axum::extract::{Query, State};
use greenlight_store::{PageRequest, Role};
use serde::Deserialize;

use super::views::{AuditPage, AuditRow, Pager};
use super::{CsrfForm, Ctx, PageResult, download, render};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    after: Option<i64>,
}

const PAGE: i64 = 50;

async fn view(
    state: &AppState,
    ctx: &Ctx,
    after: i64,
    verdict: Option<(bool, String)>,
    problems: Vec<String>,
) -> PageResult<AuditPage> {
    let page = state
        .store
        .audit_entries(
            &ctx.principal,
            after,
            PageRequest {
                offset: 0,
                limit: PAGE,
            },
        )
        .await?;
    let actors: Vec<String> = page.items.iter().filter_map(|e| e.actor.clone()).collect();
    let names = super::queries::user_names(&state.store, actors).await;
    let last = page.items.last().map(|e| e.seq);
    let labels = super::queries::record_labels(&state.store, ctx, &page.items).await?;
    let rows = page
        .items
        .iter()
        .map(|e| AuditRow {
            seq: e.seq,
            at: chrono::DateTime::parse_from_rfc3339(&e.at)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_else(|_| e.at.clone()),
            actor: e
                .actor
                .as_ref()
                .map(|a| names.get(a).cloned().unwrap_or_else(|| a.clone()))
                .unwrap_or_else(|| "Greenlight".into()),
            action: e.action.clone(),
            // The record by the name people know it by (a use's reference, a title), linked;
            // one the reader may not see is named only by its kind.
            entity: labels
                .get(&(e.entity.clone(), e.entity_id.clone()))
                .map(|(l, _)| l.clone())
                .unwrap_or_else(|| e.entity.replace('_', " ")),
            entity_href: labels
                .get(&(e.entity.clone(), e.entity_id.clone()))
                .and_then(|(_, h)| h.clone()),
            hash: e.hash.chars().take(16).collect(),
        })
        .collect();
    let (entries, checkpoints) = state
        .store
        .audit_chain()
        .await
        .map(|(e, c)| (e.len() as i64, c.len() as i64))
        .unwrap_or((0, 0));
    let pager = Pager {
        summary: match (page.items.first(), page.items.last()) {
            (Some(first), Some(last)) => {
                let later = page.total - page.items.len() as i64;
                format!(
                    "Entries #{} to #{}{}",
                    first.seq,
                    last.seq,
                    match later {
                        0 => String::new(),
                        1 => "; 1 more after them".to_owned(),
                        n => format!("; {n} more after them"),
                    }
                )
            }
            _ => "No entries".to_owned(),
        },
        prev: (after > 0).then(|| format!("/audit?after={}", (after - PAGE).max(0))),
        next: last
            .filter(|_| page.total > page.items.len() as i64)
            .map(|l| format!("/audit?after={l}")),
    };
    Ok(AuditPage {
        layout: ctx.layout("Audit log", None),
        verdict,
        problems,
        rows,
        pager,
        entries,
        checkpoints,
        public_key: state
            .config
            .audit_public_key
            .clone()
            .unwrap_or_else(|| "not configured".into()),
    })
}

/// The audit log, oldest first, paged by sequence number.
pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<AuditQuery>,
) -> PageResult {
    ctx.require(&[Role::Auditor, Role::Admin], "The audit log")?;
    Ok(render(
        &view(&state, &ctx, q.after.unwrap_or(0).max(0), None, Vec::new()).await?,
    ))
}

/// Verifies the chain, its signatures and the checkpoint log.
pub async fn verify(State(state): State<AppState>, form: CsrfForm) -> PageResult {
    form.ctx
        .require(&[Role::Auditor, Role::Admin], "Verifying the audit log")?;
    let report = state.store.verify_audit(&form.ctx.principal).await?;
    let verdict = if report.valid {
        (
            true,
            format!(
                "The chain is intact: {} entries under {} signed checkpoints, head #{}. Not anchored: checked against the server's own key; to rule out a re-signed chain, verify the downloaded bundle with the public key you keep.",
                report.entries, report.checkpoints, report.head_seq
            ),
        )
    } else {
        (
            false,
            format!(
                "Tampering found{}.",
                report
                    .first_bad_seq
                    .map(|s| format!(" at entry #{s}"))
                    .unwrap_or_default()
            ),
        )
    };
    Ok(render(
        &view(&state, &form.ctx, 0, Some(verdict), report.problems).await?,
    ))
}

/// The export bundle as one JSON file: the same format `greenlight audit export --out
/// FILE.json` writes (entries, checkpoints, the checkpoint log and the server's public key),
/// which `greenlight audit verify --bundle FILE` reads, except that entries the auditor's
/// studios may not read are redacted to `seq`, `prev_hash` and `hash`.
pub async fn export(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    ctx.require(&[Role::Auditor, Role::Admin], "The audit export")?;
    // Only auditors and admins of a studio pass the store's check, and other tenants'
    // entries come redacted to their hash-chain fields.
    let bundle = state.store.audit_bundle(&ctx.principal).await?;
    Ok(download(
        bundle.to_json(),
        "application/json",
        "greenlight-audit-bundle.json",
    ))
}
