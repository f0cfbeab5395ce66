//! Records: the loaders of declarations, productions, tools and consents, their row mapping,
//! and the declaration history. Everything here reads or appends; nothing here triages.
//! Triage (`triage.rs`) and the resources' operations sit above this module.

use greenlight_core::CheckResult;
use greenlight_core::declaration::Declaration;
use greenlight_core::format::{self, SourceKind};
use sqlx::AnyConnection;

use super::{get_i, get_os, get_s};
use crate::audit::digest;
use crate::db::{
    parse_date, parse_enum, parse_json, parse_opt_date, parse_opt_ts, parse_outcome, parse_ts, ts,
};
use crate::model::*;
use crate::writer::WriteCtx;
use crate::{FieldProblem, Result, StoreError};

/// The declaration row.
pub(crate) struct Row {
    pub summary: DeclarationSummary,
    pub decision: Option<Decision>,
    pub salt: String,
    pub studio_id: OrgId,
}

pub(crate) const SELECT_DECL: &str = "SELECT d.id, d.production_id, p.title AS production_title, p.studio_id, d.org_id, d.ref, d.summary, d.state, d.outcome, \
     d.open_blockers, d.open_obligations, d.revision, d.decision, d.submitted_by, d.salt, d.version, d.created_at, d.updated_at, \
     COALESCE(r.created_at, d.created_at) AS revision_at \
     FROM declarations d JOIN productions p ON p.id = d.production_id \
     LEFT JOIN revisions r ON r.declaration_id = d.id AND r.number = d.revision";

pub(crate) fn row_from(r: &sqlx::any::AnyRow) -> Result<Row> {
    Ok(Row {
        summary: DeclarationSummary {
            id: DeclarationId(get_s(r, "id")?),
            production_id: ProductionId(get_s(r, "production_id")?),
            production_title: get_s(r, "production_title")?,
            org_id: OrgId(get_s(r, "org_id")?),
            reference: get_s(r, "ref")?,
            summary: get_s(r, "summary")?,
            state: parse_enum(&get_s(r, "state")?)?,
            outcome: parse_outcome(&get_s(r, "outcome")?)?,
            open_blockers: get_i(r, "open_blockers")?,
            open_obligations: get_i(r, "open_obligations")?,
            revision: get_i(r, "revision")?,
            submitted_by: UserId(get_s(r, "submitted_by")?),
            created_at: parse_ts(&get_s(r, "created_at")?)?,
            updated_at: parse_ts(&get_s(r, "updated_at")?)?,
            revision_at: parse_ts(&get_s(r, "revision_at")?)?,
            version: get_i(r, "version")?,
        },
        decision: get_os(r, "decision")?
            .as_deref()
            .map(parse_json)
            .transpose()?,
        salt: get_s(r, "salt")?,
        studio_id: OrgId(get_s(r, "studio_id")?),
    })
}

/// Reads a declaration back after a change to it and appends the audit entry: who, the
/// action, and the digests (keyed with the record's salt) of its state before and after.
pub(crate) async fn audit_change(
    w: &mut WriteCtx,
    actor: Option<&str>,
    before: &Row,
    action: impl Into<String>,
) -> Result<Row> {
    let id = &before.summary.id;
    let after = load_row(&mut w.conn, id).await?;
    w.audit(
        actor,
        Some(&before.studio_id.0),
        action,
        "declaration",
        &id.0,
        Some(digest(&before.salt, &decl_state(before))),
        Some(digest(&before.salt, &decl_state(&after))),
    );
    Ok(after)
}

pub(crate) async fn load_row(conn: &mut AnyConnection, id: &DeclarationId) -> Result<Row> {
    let sql = format!("{SELECT_DECL} WHERE d.id = $1");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.0.clone())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("declaration {id}")))?;
    row_from(&r)
}

pub(crate) fn decl_state(row: &Row) -> serde_json::Value {
    super::record_state::declaration_state(&row.summary, row.decision.as_ref())
}

/// A declaration row's summary, decision and salt (what its audited state is made of).
pub(crate) fn state_parts(
    r: &sqlx::any::AnyRow,
) -> Result<(DeclarationSummary, Option<Decision>, String)> {
    let row = row_from(r)?;
    Ok((row.summary, row.decision, row.salt))
}

pub(crate) async fn links_of(
    conn: &mut AnyConnection,
    id: &DeclarationId,
) -> Result<Vec<ConsentLink>> {
    let rows = sqlx::query("SELECT consent_id, performer, by_user, at FROM consent_links WHERE declaration_id = $1 ORDER BY performer")
        .bind(id.0.clone())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ConsentLink {
                consent_id: ConsentId(get_s(r, "consent_id")?),
                performer: get_s(r, "performer")?,
                by: UserId(get_s(r, "by_user")?),
                at: parse_ts(&get_s(r, "at")?)?,
            })
        })
        .collect()
}

pub(crate) async fn confirmations_of(
    conn: &mut AnyConnection,
    id: &DeclarationId,
) -> Result<Vec<Confirmation>> {
    let rows = sqlx::query("SELECT kind, idx, reference, by_user, at FROM confirmations WHERE declaration_id = $1 ORDER BY kind, idx")
        .bind(id.0.clone())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Confirmation {
                kind: parse_enum(&get_s(r, "kind")?)?,
                index: get_i(r, "idx")?,
                reference: get_s(r, "reference")?,
                by: UserId(get_s(r, "by_user")?),
                at: parse_ts(&get_s(r, "at")?)?,
            })
        })
        .collect()
}

/// Appends an entry to a declaration's history (numbered after the last one).
pub(crate) async fn push_history(
    w: &mut WriteCtx,
    id: &DeclarationId,
    by: Option<&str>,
    action: &str,
    from: Option<State>,
    to: Option<State>,
    detail: &str,
) -> Result<()> {
    let n = next_history(w, id).await?;
    sqlx::query("INSERT INTO history (declaration_id, n, at, by_user, action, from_state, to_state, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(id.0.clone())
        .bind(n)
        .bind(ts(w.now))
        .bind(by.map(str::to_owned))
        .bind(action.to_owned())
        .bind(from.map(|s| s.as_str()))
        .bind(to.map(|s| s.as_str()))
        .bind(detail.to_owned())
        .execute(&mut w.conn)
        .await?;
    Ok(())
}

pub(crate) async fn next_history(w: &mut WriteCtx, id: &DeclarationId) -> Result<i64> {
    let n = sqlx::query("SELECT COALESCE(MAX(n), 0) AS n FROM history WHERE declaration_id = $1")
        .bind(id.0.clone())
        .fetch_one(&mut w.conn)
        .await?;
    Ok(get_i(&n, "n")? + 1)
}

pub(crate) async fn current_result(
    conn: &mut AnyConnection,
    id: &DeclarationId,
    revision: i64,
) -> Result<(i64, CheckResult, serde_json::Value)> {
    let r = sqlx::query("SELECT seq, result, effective FROM triages WHERE declaration_id = $1 AND revision = $2 ORDER BY seq DESC LIMIT 1")
        .bind(id.0.clone())
        .bind(revision)
        .fetch_one(&mut *conn)
        .await?;
    Ok((
        get_i(&r, "seq")?,
        parse_json(&get_s(&r, "result")?)?,
        parse_json(&get_s(&r, "effective")?)?,
    ))
}

pub(crate) async fn revision_text(
    conn: &mut AnyConnection,
    id: &DeclarationId,
    revision: i64,
) -> Result<String> {
    let r = sqlx::query("SELECT body FROM revisions WHERE declaration_id = $1 AND number = $2")
        .bind(id.0.clone())
        .bind(revision)
        .fetch_one(&mut *conn)
        .await?;
    get_s(&r, "body")
}

/// A decision, revision or withdrawal names the exact revision and version it is about: the
/// declaration's ETag. `*` ("whatever is current") is refused like a missing header, so
/// nobody approves a revision they never saw.
pub(crate) fn require_if_match(if_match: Option<&str>, current: &DeclarationSummary) -> Result<()> {
    let etag = current.etag();
    match if_match.map(str::trim) {
        None | Some("" | "*") => Err(StoreError::Stale {
            record: "declaration",
            given: String::new(),
            current: etag,
        }),
        Some(given) if given == etag => Ok(()),
        Some(given) => Err(StoreError::Stale {
            record: "declaration",
            given: given.to_owned(),
            current: etag,
        }),
    }
}

/// Loads a declaration inside a write and checks the caller's `If-Match` against it: the
/// opening of every change that names the revision and version it is about.
pub(crate) async fn load_checked(
    w: &mut WriteCtx,
    id: &DeclarationId,
    if_match: Option<&str>,
) -> Result<Row> {
    let row = load_row(&mut w.conn, id).await?;
    require_if_match(if_match, &row.summary)?;
    Ok(row)
}

pub(crate) async fn revision(
    conn: &mut AnyConnection,
    id: &DeclarationId,
    number: i64,
) -> Result<Revision> {
    let r = sqlx::query("SELECT number, body, media, submitted_by, created_at FROM revisions WHERE declaration_id = $1 AND number = $2")
        .bind(id.0.clone())
        .bind(number)
        .fetch_one(&mut *conn)
        .await?;
    let triages = sqlx::query(
        "SELECT revision, seq, reason, effective, result, outcome, differences, created_at FROM triages WHERE declaration_id = $1 AND revision = $2 ORDER BY seq",
    )
    .bind(id.0.clone())
    .bind(number)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Revision {
        number: get_i(&r, "number")?,
        text: get_s(&r, "body")?,
        media: get_s(&r, "media")?,
        submitted_by: UserId(get_s(&r, "submitted_by")?),
        at: parse_ts(&get_s(&r, "created_at")?)?,
        triages: triages
            .iter()
            .map(|t| {
                Ok(Triage {
                    revision: get_i(t, "revision")?,
                    seq: get_i(t, "seq")?,
                    at: parse_ts(&get_s(t, "created_at")?)?,
                    reason: get_s(t, "reason")?,
                    effective: parse_json(&get_s(t, "effective")?)?,
                    result: parse_json(&get_s(t, "result")?)?,
                    outcome: parse_outcome(&get_s(t, "outcome")?)?,
                    differences: parse_json(&get_s(t, "differences")?)?,
                })
            })
            .collect::<Result<_>>()?,
    })
}

pub(crate) async fn obligations_of(
    conn: &mut AnyConnection,
    id: &DeclarationId,
    revision: Option<i64>,
) -> Result<Vec<Obligation>> {
    let rows = match revision {
        Some(n) => sqlx::query("SELECT * FROM obligations WHERE declaration_id = $1 AND revision = $2 ORDER BY pack, rule, kind")
            .bind(id.0.clone())
            .bind(n)
            .fetch_all(&mut *conn)
            .await?,
        None => sqlx::query("SELECT * FROM obligations WHERE declaration_id = $1 ORDER BY revision, pack, rule, kind")
            .bind(id.0.clone())
            .fetch_all(&mut *conn)
            .await?,
    };
    rows.iter().map(obligation_from).collect()
}

/// An obligation from a row of `obligations` (all its columns).
pub(crate) fn obligation_from(r: &sqlx::any::AnyRow) -> Result<Obligation> {
    Ok(Obligation {
        id: ObligationId(get_s(r, "id")?),
        declaration_id: DeclarationId(get_s(r, "declaration_id")?),
        revision: get_i(r, "revision")?,
        rule: get_s(r, "rule")?,
        pack: get_s(r, "pack")?,
        kind: get_s(r, "kind")?,
        text: get_s(r, "text")?,
        due: get_os(r, "due")?,
        status: parse_enum(&get_s(r, "status")?)?,
        done_by: get_os(r, "done_by")?.map(UserId),
        done_at: parse_opt_ts(get_os(r, "done_at")?)?,
        evidence: get_os(r, "evidence")?,
    })
}

pub(crate) async fn history_of(
    conn: &mut AnyConnection,
    id: &DeclarationId,
) -> Result<Vec<HistoryEvent>> {
    let rows = sqlx::query("SELECT at, by_user, action, from_state, to_state, detail FROM history WHERE declaration_id = $1 ORDER BY n")
        .bind(id.0.clone())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(HistoryEvent {
                at: parse_ts(&get_s(r, "at")?)?,
                by: get_os(r, "by_user")?.map(UserId),
                action: get_s(r, "action")?,
                from_state: get_os(r, "from_state")?
                    .as_deref()
                    .map(parse_enum)
                    .transpose()?,
                to_state: get_os(r, "to_state")?
                    .as_deref()
                    .map(parse_enum)
                    .transpose()?,
                detail: get_s(r, "detail")?,
            })
        })
        .collect()
}

pub(crate) async fn load_production(
    conn: &mut AnyConnection,
    id: &ProductionId,
) -> Result<(Production, String)> {
    let row = sqlx::query(
        "SELECT id, studio_id, title, kind, eu_release, release_date, agreements, packs, contacts, salt, version, created_at FROM productions WHERE id = $1",
    )
    .bind(id.0.clone())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("production {id}")))?;
    let links =
        sqlx::query("SELECT org_id FROM production_orgs WHERE production_id = $1 ORDER BY org_id")
            .bind(id.0.clone())
            .fetch_all(&mut *conn)
            .await?;
    let production = Production {
        id: ProductionId(get_s(&row, "id")?),
        studio_id: OrgId(get_s(&row, "studio_id")?),
        facts: ProductionFacts {
            title: get_s(&row, "title")?,
            kind: get_s(&row, "kind")?,
            eu_release: get_i(&row, "eu_release")? != 0,
            release_date: parse_opt_date(get_os(&row, "release_date")?)?,
            agreements: parse_json(&get_s(&row, "agreements")?)?,
        },
        packs: parse_json(&get_s(&row, "packs")?)?,
        contacts: parse_json(&get_s(&row, "contacts")?)?,
        linked_orgs: links
            .iter()
            .map(|r| get_s(r, "org_id").map(OrgId))
            .collect::<Result<_>>()?,
        created_at: parse_ts(&get_s(&row, "created_at")?)?,
        version: get_i(&row, "version")?,
    };
    Ok((production, get_s(&row, "salt")?))
}

pub(crate) const CONSENT_COLS: &str = "id, studio_id, production_id, performer, given_by, treatment, scope, signed, expires, revoked_at, revoked_reason, \
     document_name, document_sha256, recorded_by, salt, created_at, separately_signed";

pub(crate) fn consent_from(r: &sqlx::any::AnyRow) -> Result<(Consent, String)> {
    Ok((
        Consent {
            id: ConsentId(get_s(r, "id")?),
            studio_id: OrgId(get_s(r, "studio_id")?),
            production_id: get_os(r, "production_id")?.map(ProductionId),
            performer: get_s(r, "performer")?,
            by: parse_enum(&get_s(r, "given_by")?)?,
            treatment: parse_enum(&get_s(r, "treatment")?)?,
            scope: get_s(r, "scope")?,
            separately_signed: get_i(r, "separately_signed")? != 0,
            signed: parse_date(&get_s(r, "signed")?)?,
            expires: parse_opt_date(get_os(r, "expires")?)?,
            revoked_at: parse_opt_ts(get_os(r, "revoked_at")?)?,
            revoked_reason: get_os(r, "revoked_reason")?,
            document_name: get_s(r, "document_name")?,
            document_sha256: get_s(r, "document_sha256")?,
            recorded_by: UserId(get_s(r, "recorded_by")?),
            created_at: parse_ts(&get_s(r, "created_at")?)?,
        },
        get_s(r, "salt")?,
    ))
}

pub(crate) async fn load_consent(
    conn: &mut AnyConnection,
    id: &ConsentId,
) -> Result<(Consent, String)> {
    let sql = format!("SELECT {CONSENT_COLS} FROM consents WHERE id = $1");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.0.clone())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("consent {id}")))?;
    consent_from(&r)
}

pub(crate) const TOOL_COLS: &str = "id, studio_id, name, vendor, plan, agreement, data_terms, terms_reviewed, evidence_name, evidence_sha256, traces, salt, version, updated_at";

pub(crate) fn tool_from(r: &sqlx::any::AnyRow) -> Result<(Tool, String)> {
    Ok((
        Tool {
            id: ToolId(get_s(r, "id")?),
            studio_id: OrgId(get_s(r, "studio_id")?),
            name: get_s(r, "name")?,
            vendor: get_os(r, "vendor")?,
            plan: get_os(r, "plan")?,
            agreement: get_os(r, "agreement")?,
            data_terms: parse_enum(&get_s(r, "data_terms")?)?,
            terms_reviewed: parse_opt_date(get_os(r, "terms_reviewed")?)?,
            evidence_name: get_os(r, "evidence_name")?,
            evidence_sha256: get_os(r, "evidence_sha256")?,
            traces: parse_json(&get_s(r, "traces")?)?,
            updated_at: parse_ts(&get_s(r, "updated_at")?)?,
            version: get_i(r, "version")?,
        },
        get_s(r, "salt")?,
    ))
}

/// The studio's registered tools, by name.
pub(crate) async fn load_tools(conn: &mut AnyConnection, studio: &OrgId) -> Result<Vec<Tool>> {
    let sql =
        format!("SELECT {TOOL_COLS} FROM tools WHERE studio_id = $1 ORDER BY name_key, vendor_key");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(studio.0.clone())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| tool_from(r).map(|t| t.0)).collect()
}

/// Parses a body as a declaration, mapping problems to the store's field problems.
pub(crate) fn parse_body(body: &[u8], kind: SourceKind) -> Result<Declaration> {
    if body.len() > format::MAX_INPUT_BYTES {
        let limit = format::MAX_INPUT_BYTES;
        return Err(StoreError::TooLarge {
            summary: "the file is too large to be a declaration".into(),
            limit,
            problems: vec![FieldProblem {
                path: None,
                line: None,
                column: None,
                message: format!(
                    "the file has {} bytes; a declaration may have at most {limit} bytes (1 MiB)",
                    body.len()
                ),
            }],
        });
    }
    format::parse(body, kind)
        .map(|p| p.declaration)
        .map_err(|e| StoreError::InvalidDeclaration {
            summary: e.summary.clone(),
            problems: e
                .problems
                .iter()
                .map(|p| FieldProblem {
                    path: p.path.clone(),
                    line: p.line,
                    column: p.column,
                    message: p.message.clone(),
                })
                .collect(),
        })
}
