//! The audited state of each kind of record, in one place.
//!
//! An audit entry carries keyed digests of the record it changed, before and after. The
//! functions here say what "the state" of each kind of record is: the writer digests their
//! output into every entry it appends, and verification (`audit verify --database-url`)
//! calls the very same functions on the rows as they are now. A row changed behind the
//! application's back (a declaration set to `approved` in the table while a blocker is
//! open) then no longer digests to the after-digest of its last entry, and is named.
//!
//! Changing what one of these functions covers changes what every digest already written
//! means: a database written before the change reads as tampered. Add fields only together
//! with a migration that says so.

use serde_json::{Value, json};
use sqlx::AnyConnection;

use super::{get_os, get_s};
use crate::audit::{self, CurrentRecord, RowState};
use crate::model::{Consent, Decision, DeclarationSummary, Org, Production, Tool, User};
use crate::{Result, StoreError};

/// The state of an organisation.
pub(crate) fn org_state(org: &Org) -> Value {
    json!({"id": org.id, "name": org.name, "kind": org.kind})
}

/// The state of a person: who they are, their password (as stored, a hash) and every role
/// they hold in every organisation, so a membership or password written into the tables
/// directly shows up.
pub(crate) fn user_state(
    user: &User,
    password_hash: Option<&str>,
    roles: &[(String, String)],
) -> Value {
    json!({"id": user.id, "email": user.email, "name": user.name, "password": password_hash, "roles": roles})
}

/// The state of a production: its facts of record, packs and linked organisations.
///
/// The union agreements (migration 0120) are covered only when there are some: a production
/// without any digests as it did before they existed, so earlier entries still verify.
pub(crate) fn production_state(p: &Production) -> Value {
    let mut facts = json!(p.facts);
    if p.facts.agreements.is_empty()
        && let Some(f) = facts.as_object_mut()
    {
        f.remove("agreements");
    }
    let mut state = json!({"id": p.id, "studio_id": p.studio_id, "facts": facts, "packs": p.packs, "linked_orgs": p.linked_orgs});
    // The studio contacts (migration 0150), likewise only when there are some.
    if !p.contacts.is_empty()
        && let Some(s) = state.as_object_mut()
    {
        s.insert("contacts".into(), json!(p.contacts));
    }
    state
}

/// The state of a declaration: where it stands in the workflow and why.
pub(crate) fn declaration_state(s: &DeclarationSummary, decision: Option<&Decision>) -> Value {
    json!({"id": s.id, "production_id": s.production_id, "org_id": s.org_id, "ref": s.reference, "state": s.state,
           "outcome": s.outcome, "revision": s.revision, "decision": decision, "version": s.version,
           "open_blockers": s.open_blockers, "open_obligations": s.open_obligations})
}

/// The state of a consent record.
///
/// Separate signature (migration 0120) is covered only when recorded: a consent without it
/// digests as it did before the column existed, so earlier entries still verify.
pub(crate) fn consent_state(c: &Consent) -> Value {
    let mut state = json!({"id": c.id, "performer": c.performer, "by": c.by, "treatment": c.treatment, "scope": c.scope, "signed": c.signed,
           "expires": c.expires, "revoked_at": c.revoked_at, "revoked_reason": c.revoked_reason, "document_sha256": c.document_sha256});
    if c.separately_signed {
        state["separately_signed"] = Value::Bool(true);
    }
    state
}

/// The state of a registered tool: its reviewed terms.
pub(crate) fn tool_state(t: &Tool) -> Value {
    let mut state = json!({"id": t.id, "name": t.name, "vendor": t.vendor, "plan": t.plan, "agreement": t.agreement, "data_terms": t.data_terms,
           "terms_reviewed": t.terms_reviewed, "evidence_sha256": t.evidence_sha256});
    // Covered only when recorded, so digests written before traces existed still verify.
    if !t.traces.is_empty() {
        state["traces"] = json!(t.traces);
    }
    state
}

/// The state of a completed obligation (digested with its declaration's salt).
pub(crate) fn obligation_state(obligation: &str, evidence: &str) -> Value {
    json!({"obligation": obligation, "evidence": evidence})
}

/// Every role a person holds, in a fixed order (organisation, role).
pub(crate) async fn user_roles(
    conn: &mut AnyConnection,
    user: &str,
) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT org_id, role FROM memberships WHERE user_id = $1 ORDER BY org_id, role",
    )
    .bind(user.to_owned())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((get_s(r, "org_id")?, get_s(r, "role")?)))
        .collect()
}

/// A person's salt and state as stored now (what the writer digests after changing them).
pub(crate) async fn user_now(conn: &mut AnyConnection, user: &str) -> Result<(String, Value)> {
    let row = sqlx::query(
        "SELECT id, email, name, created_at, password_hash, salt FROM users WHERE id = $1",
    )
    .bind(user.to_owned())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("user {user}")))?;
    let u: crate::model::User = super::from_row(&row)?;
    let roles = user_roles(conn, user).await?;
    let state = user_state(&u, get_os(&row, "password_hash")?.as_deref(), &roles);
    Ok((get_s(&row, "salt")?, state))
}

/// Rows read per query while walking a table.
const PAGE: i64 = 500;

fn state_of(salt: &str, state: impl FnOnce() -> Value) -> RowState {
    // Erasing personal data removes the salt with it: nobody can confirm a guess of what
    // the row held, and verification reports the row as erased instead of comparing.
    if salt.trim().is_empty() {
        RowState::Erased
    } else {
        RowState::Digest(audit::digest(salt, &state()))
    }
}

/// Walks every audited table page by page (keyed on id, so memory stays bounded) and hands
/// each row's current state to `check`.
pub(crate) async fn walk_current(
    conn: &mut AnyConnection,
    check: &mut dyn FnMut(CurrentRecord),
) -> Result<()> {
    // Organisations.
    let mut after = String::new();
    loop {
        let rows = sqlx::query(
            "SELECT id, name, kind, created_at, salt FROM orgs WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after.clone())
        .bind(PAGE)
        .fetch_all(&mut *conn)
        .await?;
        for r in &rows {
            let org: crate::model::Org = super::from_row(r)?;
            let salt = get_s(r, "salt")?;
            check(CurrentRecord {
                entity: "org",
                id: org.id.0.clone(),
                state: state_of(&salt, || org_state(&org)),
            });
        }
        match rows.last() {
            Some(r) if rows.len() as i64 == PAGE => after = get_s(r, "id")?,
            _ => break,
        }
    }
    // People, with their roles.
    let mut after = String::new();
    loop {
        let rows = sqlx::query("SELECT id FROM users WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after.clone())
            .bind(PAGE)
            .fetch_all(&mut *conn)
            .await?;
        for r in &rows {
            let id = get_s(r, "id")?;
            let (salt, state) = user_now(conn, &id).await?;
            check(CurrentRecord {
                entity: "user",
                id,
                state: state_of(&salt, || state),
            });
        }
        match rows.last() {
            Some(r) if rows.len() as i64 == PAGE => after = get_s(r, "id")?,
            _ => break,
        }
    }
    // Productions.
    let mut after = String::new();
    loop {
        let rows = sqlx::query("SELECT id FROM productions WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after.clone())
            .bind(PAGE)
            .fetch_all(&mut *conn)
            .await?;
        for r in &rows {
            let id = crate::model::ProductionId(get_s(r, "id")?);
            let (p, salt) = super::records::load_production(conn, &id).await?;
            check(CurrentRecord {
                entity: "production",
                id: id.0,
                state: state_of(&salt, || production_state(&p)),
            });
        }
        match rows.last() {
            Some(r) if rows.len() as i64 == PAGE => after = get_s(r, "id")?,
            _ => break,
        }
    }
    // Declarations.
    let mut after = String::new();
    loop {
        let sql = format!(
            "{} WHERE d.id > $1 ORDER BY d.id LIMIT $2",
            super::records::SELECT_DECL
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after.clone())
            .bind(PAGE)
            .fetch_all(&mut *conn)
            .await?;
        for r in &rows {
            let (summary, decision, salt) = super::records::state_parts(r)?;
            check(CurrentRecord {
                entity: "declaration",
                id: summary.id.0.clone(),
                state: state_of(&salt, || declaration_state(&summary, decision.as_ref())),
            });
        }
        match rows.last() {
            Some(r) if rows.len() as i64 == PAGE => after = get_s(r, "id")?,
            _ => break,
        }
    }
    // Obligations: a completed one must have been recorded; an open or void one must not.
    let mut after = String::new();
    loop {
        let rows = sqlx::query(
            "SELECT o.id, o.status, o.evidence, d.salt FROM obligations o JOIN declarations d ON d.id = o.declaration_id \
             WHERE o.id > $1 ORDER BY o.id LIMIT $2",
        )
        .bind(after.clone())
        .bind(PAGE)
        .fetch_all(&mut *conn)
        .await?;
        for r in &rows {
            let id = get_s(r, "id")?;
            let state = if get_s(r, "status")? == crate::model::ObligationStatus::Done.as_str() {
                let evidence = get_os(r, "evidence")?.unwrap_or_default();
                state_of(&get_s(r, "salt")?, || obligation_state(&id, &evidence))
            } else {
                RowState::Unrecorded
            };
            check(CurrentRecord {
                entity: "obligation",
                id,
                state,
            });
        }
        match rows.last() {
            Some(r) if rows.len() as i64 == PAGE => after = get_s(r, "id")?,
            _ => break,
        }
    }
    // Consents.
    let mut after = String::new();
    loop {
        let sql = format!(
            "SELECT {} FROM consents WHERE id > $1 ORDER BY id LIMIT $2",
            super::records::CONSENT_COLS
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after.clone())
            .bind(PAGE)
            .fetch_all(&mut *conn)
            .await?;
        for r in &rows {
            let (c, salt) = super::records::consent_from(r)?;
            check(CurrentRecord {
                entity: "consent",
                id: c.id.0.clone(),
                state: state_of(&salt, || consent_state(&c)),
            });
        }
        match rows.last() {
            Some(r) if rows.len() as i64 == PAGE => after = get_s(r, "id")?,
            _ => break,
        }
    }
    // Tools.
    let mut after = String::new();
    loop {
        let sql = format!(
            "SELECT {} FROM tools WHERE id > $1 ORDER BY id LIMIT $2",
            super::records::TOOL_COLS
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after.clone())
            .bind(PAGE)
            .fetch_all(&mut *conn)
            .await?;
        for r in &rows {
            let (t, salt) = super::records::tool_from(r)?;
            check(CurrentRecord {
                entity: "tool",
                id: t.id.0.clone(),
                state: state_of(&salt, || tool_state(&t)),
            });
        }
        match rows.last() {
            Some(r) if rows.len() as i64 == PAGE => after = get_s(r, "id")?,
            _ => break,
        }
    }
    // API tokens and sessions: stored as hashes, audited without digests; each must have
    // been issued by the application, and one it ended must stay ended.
    let mut after = String::new();
    loop {
        let rows =
            sqlx::query("SELECT id, revoked_at FROM tokens WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(after.clone())
                .bind(PAGE)
                .fetch_all(&mut *conn)
                .await?;
        for r in &rows {
            check(CurrentRecord {
                entity: "token",
                id: get_s(r, "id")?,
                state: RowState::Undigested {
                    ended: get_os(r, "revoked_at")?.is_some(),
                },
            });
        }
        match rows.last() {
            Some(r) if rows.len() as i64 == PAGE => after = get_s(r, "id")?,
            _ => break,
        }
    }
    Ok(())
}
