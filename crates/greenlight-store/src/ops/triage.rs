//! Triage: the effective declaration evaluated with the production's packs, the result
//! stored with its obligations, and re-triage in place when facts of record change (a consent,
//! a tool, the production's facts or packs), reaching every declaration the change touches.
//! Built on `records.rs`; the resources' operations call into it.

use std::sync::Arc;

use greenlight_core::declaration::Declaration;
use greenlight_core::pack::Pack;
use greenlight_core::{CheckResult, Outcome};
use sqlx::AnyConnection;

use super::pack_records::{TriageBasis, resolve_packs};
use super::records::{
    audit_change, confirmations_of, current_result, links_of, load_consent, load_production,
    load_row, load_tools, parse_body, push_history, revision_text,
};
use super::{get_i, get_s, today};
use crate::db::{to_json, ts};
use crate::effective::{Effective, Record, effective};
use crate::model::*;
use crate::writer::WriteCtx;
use crate::{Result, StoreError};
use greenlight_core::format::SourceKind;

/// Computes the effective declaration and evaluates it with the production's packs.
pub(crate) async fn triage_now(
    conn: &mut AnyConnection,
    production: &Production,
    declared: &Declaration,
    decl: Option<&DeclarationId>,
) -> Result<Triaged> {
    let tools = load_tools(conn, &production.studio_id).await?;
    let packs = resolve_packs(conn, &production.studio_id, &production.packs).await?;
    let (links, confirmations) = match decl {
        Some(id) => (links_of(conn, id).await?, confirmations_of(conn, id).await?),
        None => (vec![], vec![]),
    };
    let mut consents = Vec::with_capacity(links.len());
    for l in &links {
        consents.push((
            l.performer.clone(),
            load_consent(conn, &l.consent_id).await?.0,
        ));
    }
    evaluate_with(
        production,
        &packs,
        declared,
        &tools,
        &consents,
        &confirmations,
    )
}

/// A declaration triaged: the effective declaration, its check result, and what it was
/// evaluated with (the date and each pack's digest, so it can be replayed exactly).
#[derive(Debug, Clone)]
pub(crate) struct Triaged {
    pub eff: Effective,
    pub result: CheckResult,
    pub basis: TriageBasis,
}

/// The effective declaration and its check result, from records already loaded.
pub(crate) fn evaluate_with(
    production: &Production,
    packs: &[Arc<Pack>],
    declared: &Declaration,
    tools: &[Tool],
    consents: &[(String, Consent)],
    confirmations: &[Confirmation],
) -> Result<Triaged> {
    let as_of = today();
    let record = Record {
        production: &production.facts,
        tools,
        consents,
        confirmations,
        as_of,
    };
    let eff = effective(declared, &record);
    let result = greenlight_core::evaluate(&eff.declaration, packs, as_of).map_err(|e| {
        StoreError::Evaluation {
            pack: production.packs.join(", "),
            message: format!("evaluating the declaration: {e}"),
        }
    })?;
    Ok(Triaged {
        eff,
        result,
        basis: TriageBasis::of(packs, as_of),
    })
}

/// The production, its studio's tools and its packs, cached for the rest of the batch.
pub(crate) async fn production_and_tools(
    w: &mut WriteCtx,
    id: &ProductionId,
) -> Result<(Production, Vec<Tool>, Vec<Arc<Pack>>)> {
    if let Some(v) = w.cache.get(&id.0) {
        return Ok(v.clone());
    }
    let (p, _) = load_production(&mut w.conn, id).await?;
    let tools = load_tools(&mut w.conn, &p.studio_id).await?;
    let packs = resolve_packs(&mut w.conn, &p.studio_id, &p.packs).await?;
    w.cache
        .insert(id.0.clone(), (p.clone(), tools.clone(), packs.clone()));
    Ok((p, tools, packs))
}

/// Identifies the registry state a triage was computed on (tool ids and versions).
pub(crate) fn tools_fingerprint(tools: &[Tool]) -> String {
    tools
        .iter()
        .map(|t| format!("{}:{};", t.id, t.version))
        .collect()
}

pub(crate) fn routed_state(result: &CheckResult) -> State {
    if result.outcome == Outcome::Notify && result.blockers.is_empty() {
        State::Acknowledged
    } else {
        State::InReview
    }
}

/// Stores a triage result for `revision`, keeps its obligations in step (those that still
/// apply are kept with their status, new ones added, dropped ones voided) and the registered
/// tools it uses; returns the triage's sequence number and the open obligation count.
pub(crate) async fn store_triage(
    w: &mut WriteCtx,
    id: &DeclarationId,
    revision: i64,
    reason: &str,
    triaged: &Triaged,
) -> Result<(i64, i64)> {
    let (eff, result) = (&triaged.eff, &triaged.result);
    let seq = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS n FROM triages WHERE declaration_id = $1 AND revision = $2")
        .bind(id.0.clone())
        .bind(revision)
        .fetch_one(&mut w.conn)
        .await?;
    let seq = get_i(&seq, "n")? + 1;
    sqlx::query(
        "INSERT INTO triages (declaration_id, revision, seq, reason, effective, result, outcome, differences, created_at, basis) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id.0.clone())
    .bind(revision)
    .bind(seq)
    .bind(reason.to_owned())
    .bind(to_json(&eff.declaration))
    .bind(to_json(result))
    .bind(result.outcome.as_str())
    .bind(to_json(&eff.differences))
    .bind(ts(w.now))
    .bind(triaged.basis.to_column())
    .execute(&mut w.conn)
    .await?;
    // Obligations: keep what exists (and whether it is done), add new ones, void dropped ones.
    let existing = sqlx::query("SELECT id, pack, rule, kind, status FROM obligations WHERE declaration_id = $1 AND revision = $2")
        .bind(id.0.clone())
        .bind(revision)
        .fetch_all(&mut w.conn)
        .await?;
    let mut keys = Vec::new();
    for o in &result.obligations {
        keys.push((o.pack.clone(), o.rule.clone(), o.kind.clone()));
        let found = existing.iter().find(|r| {
            get_s(r, "pack").ok().as_deref() == Some(&o.pack)
                && get_s(r, "rule").ok().as_deref() == Some(&o.rule)
                && get_s(r, "kind").ok().as_deref() == Some(&o.kind)
        });
        match found {
            Some(r) if get_s(r, "status")? == ObligationStatus::Void.as_str() => {
                sqlx::query(
                    "UPDATE obligations SET status = 'open', text = $1, due = $2 WHERE id = $3",
                )
                .bind(o.text.clone())
                .bind(o.due.clone())
                .bind(get_s(r, "id")?)
                .execute(&mut w.conn)
                .await?;
            }
            Some(_) => {}
            None => {
                sqlx::query(
                    "INSERT INTO obligations (id, declaration_id, revision, rule, pack, kind, text, due, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open')",
                )
                .bind(ObligationId::new().0)
                .bind(id.0.clone())
                .bind(revision)
                .bind(o.rule.clone())
                .bind(o.pack.clone())
                .bind(o.kind.clone())
                .bind(o.text.clone())
                .bind(o.due.clone())
                .execute(&mut w.conn)
                .await?;
            }
        }
    }
    for r in &existing {
        let k = (get_s(r, "pack")?, get_s(r, "rule")?, get_s(r, "kind")?);
        if !keys.contains(&k) && get_s(r, "status")? == ObligationStatus::Open.as_str() {
            sqlx::query("UPDATE obligations SET status = 'void' WHERE id = $1")
                .bind(get_s(r, "id")?)
                .execute(&mut w.conn)
                .await?;
        }
    }
    let open = sqlx::query("SELECT COUNT(*) AS n FROM obligations WHERE declaration_id = $1 AND revision = $2 AND status = 'open'")
        .bind(id.0.clone())
        .bind(revision)
        .fetch_one(&mut w.conn)
        .await?;
    // Registered tools the declaration uses, for re-triage when their terms change.
    sqlx::query("DELETE FROM declaration_tools WHERE declaration_id = $1")
        .bind(id.0.clone())
        .execute(&mut w.conn)
        .await?;
    for t in &eff.tools_used {
        sqlx::query("INSERT INTO declaration_tools (declaration_id, tool_id) VALUES ($1, $2)")
            .bind(id.0.clone())
            .bind(t.0.clone())
            .execute(&mut w.conn)
            .await?;
    }
    Ok((seq, get_i(&open, "n")?))
}

/// Triages the current revision again in place (facts of record changed). If the result
/// differs, an approval becomes `suspended` and an acknowledgement goes to review.
pub(crate) async fn retriage(
    w: &mut WriteCtx,
    id: &DeclarationId,
    reason: &str,
    actor: Option<&str>,
) -> Result<bool> {
    let row = load_row(&mut w.conn, id).await?;
    let s = &row.summary;
    if !s.state.is_live() {
        return Ok(false);
    }
    let text = revision_text(&mut w.conn, id, s.revision).await?;
    let declared = parse_body(text.as_bytes(), SourceKind::Sniff)?;
    let (production, _) = load_production(&mut w.conn, &s.production_id).await?;
    let (_, before, _) = current_result(&mut w.conn, id, s.revision).await?;
    let triaged = triage_now(&mut w.conn, &production, &declared, Some(id)).await?;
    let (_, open_obligations) = store_triage(w, id, s.revision, reason, &triaged).await?;
    let result = triaged.result;
    // A change of what the packs find, not of which packs ran.
    let changed = !before.same_judgement(&result);
    let to = s
        .state
        .after(Transition::Retriage {
            changed,
            routed: routed_state(&result),
        })
        .map_err(|e| StoreError::conflict(e.0))?;
    sqlx::query(
        "UPDATE declarations SET outcome = $1, open_blockers = $2, open_obligations = $3, state = $4, version = version + 1, updated_at = $5 WHERE id = $6",
    )
    .bind(result.outcome.as_str())
    .bind(result.blockers.len() as i64)
    .bind(open_obligations)
    .bind(to.as_str())
    .bind(ts(w.now))
    .bind(id.0.clone())
    .execute(&mut w.conn)
    .await?;
    let detail = if changed {
        format!(
            "{reason}: result changed, outcome {}, {}",
            result.outcome.as_str(),
            counted(result.blockers.len(), "open blocker")
        )
    } else {
        format!("{reason}: result unchanged")
    };
    push_history(w, id, actor, "retriage", Some(s.state), Some(to), &detail).await?;
    let after = audit_change(w, actor, &row, "declaration.retriage").await?;
    if to == State::Suspended && s.state != State::Suspended {
        w.declaration_event(
            crate::outbox::EventKind::DeclarationSuspended,
            &row.studio_id,
            &after.summary,
            serde_json::json!({"reason": reason, "reasons": result.findings.iter().map(|f| f.message.clone()).collect::<Vec<_>>()}),
            crate::outbox::Audience::Contacts(after.summary.production_id.clone()),
        );
    }
    Ok(changed)
}

/// Which declarations a change of record reaches.
pub(crate) enum Linked<'a> {
    /// Those linked to a consent.
    Consent(&'a ConsentId),
    /// Those that use a registered tool.
    Tool(&'a ToolId),
    /// Every declaration of a production.
    Production(&'a ProductionId),
}

/// Triages again, in place, every declaration `linked` reaches (those no longer live are left
/// as they are); returns how many results changed.
pub(crate) async fn retriage_linked(
    w: &mut WriteCtx,
    linked: Linked<'_>,
    reason: &str,
    actor: Option<&str>,
) -> Result<usize> {
    let (sql, key) = match linked {
        Linked::Consent(id) => (
            "SELECT declaration_id AS id FROM consent_links WHERE consent_id = $1 ORDER BY declaration_id",
            &id.0,
        ),
        Linked::Tool(id) => (
            "SELECT declaration_id AS id FROM declaration_tools WHERE tool_id = $1 ORDER BY declaration_id",
            &id.0,
        ),
        Linked::Production(id) => (
            "SELECT id FROM declarations WHERE production_id = $1 ORDER BY id",
            &id.0,
        ),
    };
    let rows = sqlx::query(sql)
        .bind(key.clone())
        .fetch_all(&mut w.conn)
        .await?;
    let mut changed = 0;
    for r in &rows {
        if retriage(w, &DeclarationId(get_s(r, "id")?), reason, actor).await? {
            changed += 1;
        }
    }
    Ok(changed)
}

/// "no blockers", "1 blocker", "3 blockers": a count as a sentence says it.
pub(crate) fn counted(n: usize, noun: &str) -> String {
    match n {
        0 => format!("no {noun}s"),
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// What a new revision may change without voiding an approval: `use.summary` and
/// `inputs[].description`.
///
/// Both sides are read as declarations and written again before comparing: an effective
/// declaration stored before a field joined the format (the union pack's `agreements`,
/// `role`, `replica_origin`, ...) lacks it, while a fresh one carries it at its default,
/// and the two mean the same. Comparing the stored JSON as text voided such approvals.
pub(crate) fn material(eff: &serde_json::Value) -> serde_json::Value {
    let mut v = serde_json::from_value::<Declaration>(eff.clone())
        .ok()
        .and_then(|d| serde_json::to_value(d).ok())
        .unwrap_or_else(|| eff.clone());
    if let Some(u) = v.get_mut("use").and_then(|u| u.as_object_mut()) {
        u.remove("summary");
    }
    if let Some(inputs) = v.get_mut("inputs").and_then(|i| i.as_array_mut()) {
        for i in inputs {
            if let Some(o) = i.as_object_mut() {
                o.remove("description");
            }
        }
    }
    v
}
