//! Records: the loaders of declarations, productions, tools and consents, their row mapping,
//! and the declaration history. Everything here reads or appends; nothing here triages.
//! Triage (`triage.rs`) and the resources' operations sit above this module.

use greenlight_core::CheckResult;
use greenlight_core::declaration::Declaration;
use greenlight_core::format::{self, SourceKind};
use sqlx::AnyConnection;

use crate::audit::digest;
use crate::db::{Json, ts};
use crate::model::*;
use crate::writer::WriteCtx;
use crate::{FieldProblem, Result, StoreError};

/// The declaration row.
#[derive(sqlx::FromRow)]
pub(crate) struct Row {
    #[sqlx(flatten)]
    pub summary: DeclarationSummary,
    #[sqlx(try_from = "Json<Option<Decision>>")]
    pub decision: Option<Decision>,
    pub salt: String,
    pub studio_id: OrgId,
}

/// A record and the salt its audit digests are keyed with.
#[derive(sqlx::FromRow)]
pub(crate) struct Salted<T> {
    #[sqlx(flatten)]
    pub record: T,
    pub salt: String,
}

impl<T> Salted<T> {
    pub(crate) fn pair(self) -> (T, String) {
        (self.record, self.salt)
    }
}

pub(crate) const SELECT_DECL: &str = "SELECT d.id, d.production_id, p.title AS production_title, p.studio_id, d.org_id, d.ref, d.summary, d.state, d.outcome, \
     d.open_blockers, d.open_obligations, d.revision, d.decision, d.submitted_by, d.salt, d.version, d.created_at, d.updated_at, \
     COALESCE(r.created_at, d.created_at) AS revision_at \
     FROM declarations d JOIN productions p ON p.id = d.production_id \
     LEFT JOIN revisions r ON r.declaration_id = d.id AND r.number = d.revision";

pub(crate) fn row_from(r: &sqlx::any::AnyRow) -> Result<Row> {
    super::from_row(r)
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
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id.0.clone())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("declaration {id}")))
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
    Ok(sqlx::query_as("SELECT consent_id, performer, by_user, at FROM consent_links WHERE declaration_id = $1 ORDER BY performer")
        .bind(id.0.clone())
        .fetch_all(&mut *conn)
        .await?)
}

pub(crate) async fn confirmations_of(
    conn: &mut AnyConnection,
    id: &DeclarationId,
) -> Result<Vec<Confirmation>> {
    Ok(sqlx::query_as("SELECT kind, idx, reference, by_user, at FROM confirmations WHERE declaration_id = $1 ORDER BY kind, idx")
        .bind(id.0.clone())
        .fetch_all(&mut *conn)
        .await?)
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
    let n: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(n), 0) AS n FROM history WHERE declaration_id = $1",
    )
    .bind(id.0.clone())
    .fetch_one(&mut w.conn)
    .await?;
    Ok(n + 1)
}

pub(crate) async fn current_result(
    conn: &mut AnyConnection,
    id: &DeclarationId,
    revision: i64,
) -> Result<(i64, CheckResult, serde_json::Value)> {
    let (seq, result, effective): (i64, Json<CheckResult>, Json<serde_json::Value>) = sqlx::query_as("SELECT seq, result, effective FROM triages WHERE declaration_id = $1 AND revision = $2 ORDER BY seq DESC LIMIT 1")
        .bind(id.0.clone())
        .bind(revision)
        .fetch_one(&mut *conn)
        .await?;
    Ok((seq, result.into(), effective.into()))
}

pub(crate) async fn revision_text(
    conn: &mut AnyConnection,
    id: &DeclarationId,
    revision: i64,
) -> Result<String> {
    Ok(
        sqlx::query_scalar("SELECT body FROM revisions WHERE declaration_id = $1 AND number = $2")
            .bind(id.0.clone())
            .bind(revision)
            .fetch_one(&mut *conn)
            .await?,
    )
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
    let mut revision: Revision = sqlx::query_as("SELECT number, body, media, submitted_by, created_at FROM revisions WHERE declaration_id = $1 AND number = $2")
        .bind(id.0.clone())
        .bind(number)
        .fetch_one(&mut *conn)
        .await?;
    revision.triages = sqlx::query_as(
        "SELECT revision, seq, reason, effective, result, outcome, differences, created_at FROM triages WHERE declaration_id = $1 AND revision = $2 ORDER BY seq",
    )
    .bind(id.0.clone())
    .bind(number)
    .fetch_all(&mut *conn)
    .await?;
    Ok(revision)
}

pub(crate) async fn obligations_of(
    conn: &mut AnyConnection,
    id: &DeclarationId,
    revision: Option<i64>,
) -> Result<Vec<Obligation>> {
    Ok(match revision {
        Some(n) => sqlx::query_as("SELECT * FROM obligations WHERE declaration_id = $1 AND revision = $2 ORDER BY pack, rule, kind")
            .bind(id.0.clone())
            .bind(n)
            .fetch_all(&mut *conn)
            .await?,
        None => sqlx::query_as("SELECT * FROM obligations WHERE declaration_id = $1 ORDER BY revision, pack, rule, kind")
            .bind(id.0.clone())
            .fetch_all(&mut *conn)
            .await?,
    })
}

pub(crate) async fn history_of(
    conn: &mut AnyConnection,
    id: &DeclarationId,
) -> Result<Vec<HistoryEvent>> {
    Ok(sqlx::query_as("SELECT at, by_user, action, from_state, to_state, detail FROM history WHERE declaration_id = $1 ORDER BY n")
        .bind(id.0.clone())
        .fetch_all(&mut *conn)
        .await?)
}

pub(crate) async fn load_production(
    conn: &mut AnyConnection,
    id: &ProductionId,
) -> Result<(Production, String)> {
    let (mut production, salt) = sqlx::query_as::<_, Salted<Production>>(
        "SELECT id, studio_id, title, kind, eu_release, release_date, agreements, packs, contacts, salt, version, created_at FROM productions WHERE id = $1",
    )
    .bind(id.0.clone())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("production {id}")))?
    .pair();
    production.linked_orgs = sqlx::query_scalar(
        "SELECT org_id FROM production_orgs WHERE production_id = $1 ORDER BY org_id",
    )
    .bind(id.0.clone())
    .fetch_all(&mut *conn)
    .await?;
    Ok((production, salt))
}

pub(crate) const CONSENT_COLS: &str = "id, studio_id, production_id, performer, given_by, treatment, scope, signed, expires, revoked_at, revoked_reason, \
     document_name, document_sha256, recorded_by, salt, created_at, separately_signed";

pub(crate) fn consent_from(r: &sqlx::any::AnyRow) -> Result<(Consent, String)> {
    Ok(<Salted<Consent> as sqlx::FromRow<_>>::from_row(r)?.pair())
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
    Ok(<Salted<Tool> as sqlx::FromRow<_>>::from_row(r)?.pair())
}

/// The decisions in force on `production`'s declarations, by declaration id.
pub(crate) async fn decisions_of(
    conn: &mut AnyConnection,
    production: &ProductionId,
) -> Result<std::collections::HashMap<String, Decision>> {
    let rows: Vec<(String, Json<Decision>)> = sqlx::query_as(
        "SELECT id, decision FROM declarations WHERE production_id = $1 AND decision IS NOT NULL",
    )
    .bind(production.0.clone())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|(id, d)| (id, d.into())).collect())
}

/// The effective declaration (JSON text, for the caller to read what it needs of it) of the
/// last triage of each current revision of `production`'s declarations, with the
/// declaration's id.
pub(crate) async fn current_effectives(
    conn: &mut AnyConnection,
    production: &ProductionId,
) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT t.declaration_id, t.effective FROM triages t \
         JOIN declarations d ON d.id = t.declaration_id AND t.revision = d.revision \
         WHERE d.production_id = $1 AND t.seq = (SELECT MAX(t2.seq) FROM triages t2 \
           WHERE t2.declaration_id = t.declaration_id AND t2.revision = t.revision)",
    )
    .bind(production.0.clone())
    .fetch_all(&mut *conn)
    .await?)
}

/// The studio's registered tools, by name.
pub(crate) async fn load_tools(conn: &mut AnyConnection, studio: &OrgId) -> Result<Vec<Tool>> {
    let sql =
        format!("SELECT {TOOL_COLS} FROM tools WHERE studio_id = $1 ORDER BY name_key, vendor_key");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(studio.0.clone())
        .fetch_all(&mut *conn)
        .await?)
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
