//! The consent registry and the tool registry, kept by the studio's legal team.

use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use super::record_state::{consent_state, tool_state};
use super::records::{CONSENT_COLS, Salted, TOOL_COLS, load_consent, load_tools};
use super::required;
use super::triage::{Linked, retriage, retriage_linked};
use crate::audit::{digest, new_salt};
use crate::db::ts;
use crate::input::{NewConsent, NewTool};
use crate::model::*;
use crate::{Result, Store, StoreError};

async fn load_tool(conn: &mut AnyConnection, id: &ToolId) -> Result<(Tool, String)> {
    let sql = format!("SELECT {TOOL_COLS} FROM tools WHERE id = $1");
    sqlx::query_as::<_, Salted<Tool>>(sqlx::AssertSqlSafe(sql))
        .bind(id.0.clone())
        .fetch_optional(&mut *conn)
        .await?
        .map(Salted::pair)
        .ok_or_else(|| StoreError::NotFound(format!("tool {id}")))
}

/// Checks a tool's text fields (lengths, a name) and returns its trimmed name.
fn check_tool(new: &NewTool) -> Result<String> {
    let name = required("name", &new.name)?;
    for (path, value) in [
        ("vendor", &new.vendor),
        ("plan", &new.plan),
        ("agreement", &new.agreement),
    ] {
        if let Some(v) = value {
            super::within(path, v.trim(), super::MAX_NAME_CHARS)?;
        }
    }
    if let Some(d) = &new.evidence {
        super::within("evidence.name", d.name.trim(), super::MAX_NAME_CHARS)?;
    }
    for (i, t) in new.traces.iter().enumerate() {
        if new.traces[..i].contains(t) {
            return Err(StoreError::invalid(
                &format!("traces[{i}]"),
                format!("{t:?} is listed twice"),
            ));
        }
        if *t == ToolTrace::None && new.traces.len() > 1 {
            return Err(StoreError::invalid(
                &format!("traces[{i}]"),
                "\"none\" cannot be listed with a trace",
            ));
        }
    }
    Ok(name)
}

/// The traces as stored: a JSON array in a fixed order.
fn traces_json(traces: &[ToolTrace]) -> String {
    let mut t = traces.to_vec();
    t.sort();
    crate::db::to_json(&t)
}

fn key(s: &str) -> String {
    s.trim().to_lowercase()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The studio in which the caller holds `role` (the first, when several), or Forbidden.
fn studio_with(actor: &Principal, role: Role, what: &str) -> Result<OrgId> {
    actor.studio_wide("change the studio's registry")?;
    actor
        .memberships
        .iter()
        .find(|m| m.role == role && m.org_kind == OrgKind::Studio)
        .map(|m| m.org_id.clone())
        .ok_or_else(|| StoreError::Forbidden(format!("only legal of a studio {what}")))
}

fn check_studio(actor: &Principal, studio: &OrgId, role: Role, what: &str) -> Result<()> {
    actor.studio_wide("change the studio's registry")?;
    if actor.has_role(studio, role) {
        Ok(())
    } else {
        Err(StoreError::Forbidden(format!(
            "only {role} of the studio {what}"
        )))
    }
}

/// The studio a registry write acts for: the one named (where the actor must hold `role`),
/// or else the actor's own studio in which they hold it.
fn acting_studio(
    actor: &Principal,
    studio: Option<&OrgId>,
    role: Role,
    what: &str,
) -> Result<OrgId> {
    match studio {
        Some(s) => {
            check_studio(actor, s, role, what)?;
            Ok(s.clone())
        }
        None => studio_with(actor, role, what),
    }
}

impl Store {
    /// Legal records a consent with its signed document (stored with its SHA-256).
    pub async fn record_consent(
        &self,
        actor: &Principal,
        studio: Option<&OrgId>,
        new: NewConsent,
    ) -> Result<Consent> {
        let studio = acting_studio(actor, studio, Role::Legal, "records consents")?;
        let performer = required("performer", &new.performer)?;
        let scope = super::required_within("scope", &new.scope, super::MAX_SUMMARY_CHARS)?;
        let doc_name = required("document.name", &new.document.name)?;
        if new.document.bytes.is_empty() {
            return Err(StoreError::invalid(
                "document",
                "the consent document is empty",
            ));
        }
        if new.expires.is_some_and(|e| e < new.signed) {
            return Err(StoreError::invalid("expires", "is before the signed date"));
        }
        if let Some(p) = &new.production_id {
            let prod = self
                .production(actor, p)
                .await
                .map_err(|_| StoreError::invalid("production_id", "no such production"))?;
            if prod.studio_id != studio {
                return Err(StoreError::invalid("production_id", "no such production"));
            }
        }
        let actor_id = actor.user.id.clone();
        self.write(move |w| {
            Box::pin(async move {
                let c = Consent {
                    id: ConsentId::new(),
                    studio_id: studio.clone(),
                    production_id: new.production_id.clone(),
                    performer,
                    by: new.by,
                    treatment: new.treatment,
                    scope,
                    separately_signed: new.separately_signed,
                    signed: new.signed,
                    expires: new.expires,
                    revoked_at: None,
                    revoked_reason: None,
                    document_name: doc_name,
                    document_sha256: sha256_hex(&new.document.bytes),
                    recorded_by: actor_id.clone(),
                    created_at: w.now,
                };
                let salt = new_salt();
                let sql = format!("INSERT INTO consents ({CONSENT_COLS}, document) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, $10, $11, $12, $13, $14, $15, $16)");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(c.id.0.clone())
                    .bind(studio.0.clone())
                    .bind(c.production_id.as_ref().map(|p| p.0.clone()))
                    .bind(c.performer.clone())
                    .bind(c.by.as_str())
                    .bind(c.treatment.as_str())
                    .bind(c.scope.clone())
                    .bind(c.signed.to_string())
                    .bind(c.expires.map(|d| d.to_string()))
                    .bind(c.document_name.clone())
                    .bind(c.document_sha256.clone())
                    .bind(actor_id.0.clone())
                    .bind(salt.clone())
                    .bind(ts(w.now))
                    .bind(c.separately_signed as i64)
                    .bind(new.document.bytes)
                    .execute(&mut w.conn)
                    .await?;
                w.audit(Some(&actor_id.0), Some(&studio.0), "consent.record", "consent", &c.id.0, None, Some(digest(&salt, &consent_state(&c))));
                Ok(c)
            })
        })
        .await
    }

    /// Legal revokes a consent; every linked declaration is triaged again (approved ones
    /// included: they become `suspended` when the result changes).
    pub async fn revoke_consent(
        &self,
        actor: &Principal,
        id: &ConsentId,
        reason: &str,
    ) -> Result<Consent> {
        let c = self.consent(actor, id).await?;
        check_studio(actor, &c.studio_id, Role::Legal, "revokes consents")?;
        let reason = super::required_within("reason", reason, super::MAX_TEXT_CHARS)?;
        let (id, actor_id) = (id.clone(), actor.user.id.clone());
        self.write(move |w| {
            Box::pin(async move {
                let (before, salt) = load_consent(&mut w.conn, &id).await?;
                if before.revoked_at.is_some() {
                    return Err(StoreError::conflict("the consent is already revoked"));
                }
                sqlx::query(
                    "UPDATE consents SET revoked_at = $1, revoked_reason = $2 WHERE id = $3",
                )
                .bind(ts(w.now))
                .bind(reason.clone())
                .bind(id.0.clone())
                .execute(&mut w.conn)
                .await?;
                let (after, _) = load_consent(&mut w.conn, &id).await?;
                w.audit(
                    Some(&actor_id.0),
                    Some(&after.studio_id.0),
                    "consent.revoke",
                    "consent",
                    &id.0,
                    Some(digest(&salt, &consent_state(&before))),
                    Some(digest(&salt, &consent_state(&after))),
                );
                let why = format!("{}'s consent revoked: {reason}", after.performer);
                w.event(
                    crate::outbox::EventKind::ConsentRevoked,
                    &after.studio_id,
                    after.production_id.as_ref(),
                    consent_data(&after, serde_json::json!({"reason": reason})),
                    crate::outbox::Audience::Legal,
                );
                retriage_linked(w, Linked::Consent(&id), &why, Some(&actor_id.0)).await?;
                Ok(after)
            })
        })
        .await
    }

    /// Legal records whether a consent is signed separately from other terms (for one
    /// recorded before the registry asked, or recorded wrongly); every linked declaration is
    /// triaged again, as for a revocation.
    pub async fn set_consent_separately_signed(
        &self,
        actor: &Principal,
        id: &ConsentId,
        separately_signed: bool,
    ) -> Result<Consent> {
        let c = self.consent(actor, id).await?;
        check_studio(actor, &c.studio_id, Role::Legal, "records consents")?;
        let (id, actor_id) = (id.clone(), actor.user.id.clone());
        self.write(move |w| {
            Box::pin(async move {
                let (before, salt) = load_consent(&mut w.conn, &id).await?;
                if before.separately_signed == separately_signed {
                    return Ok(before);
                }
                sqlx::query("UPDATE consents SET separately_signed = $1 WHERE id = $2")
                    .bind(separately_signed as i64)
                    .bind(id.0.clone())
                    .execute(&mut w.conn)
                    .await?;
                let (after, _) = load_consent(&mut w.conn, &id).await?;
                w.audit(
                    Some(&actor_id.0),
                    Some(&after.studio_id.0),
                    "consent.update",
                    "consent",
                    &id.0,
                    Some(digest(&salt, &consent_state(&before))),
                    Some(digest(&salt, &consent_state(&after))),
                );
                let what = if separately_signed {
                    "recorded as signed separately from other terms"
                } else {
                    "recorded as not signed separately from other terms"
                };
                let why = format!("{}'s consent {what}", after.performer);
                retriage_linked(w, Linked::Consent(&id), &why, Some(&actor_id.0)).await?;
                Ok(after)
            })
        })
        .await
    }

    /// A consent the caller may see (members of the studio).
    pub async fn consent(&self, actor: &Principal, id: &ConsentId) -> Result<Consent> {
        let mut conn = self.pool().acquire().await?;
        let (c, _) = load_consent(&mut conn, id).await?;
        if !actor.is_member(&c.studio_id) {
            return Err(StoreError::NotFound(format!("consent {id}")));
        }
        Ok(c)
    }

    /// The consent's document: (file name, bytes).
    pub async fn consent_document(
        &self,
        actor: &Principal,
        id: &ConsentId,
    ) -> Result<(String, Vec<u8>)> {
        let c = self.consent(actor, id).await?;
        let document = sqlx::query_scalar("SELECT document FROM consents WHERE id = $1")
            .bind(id.0.clone())
            .fetch_one(self.pool())
            .await?;
        Ok((c.document_name, document))
    }

    /// The consents of the caller's studios, newest first.
    pub async fn consents(&self, actor: &Principal, page: PageRequest) -> Result<Page<Consent>> {
        actor.studio_wide("list the studio's consents")?;
        let page = page.clamped();
        let mut all = Vec::new();
        for m in actor
            .memberships
            .iter()
            .filter(|m| m.org_kind == OrgKind::Studio)
        {
            if all.iter().any(|c: &Consent| c.studio_id == m.org_id) {
                continue;
            }
            let sql = format!(
                "SELECT {CONSENT_COLS} FROM consents WHERE studio_id = $1 ORDER BY created_at DESC"
            );
            all.extend(
                sqlx::query_as::<_, Consent>(sqlx::AssertSqlSafe(sql))
                    .bind(m.org_id.0.clone())
                    .fetch_all(self.pool())
                    .await?,
            );
        }
        let total = all.len() as i64;
        let items = all
            .into_iter()
            .skip(page.offset as usize)
            .take(page.limit as usize)
            .collect();
        Ok(Page {
            items,
            total,
            offset: page.offset,
            limit: page.limit,
        })
    }

    /// Declarations a consent is linked to (that the caller may see).
    pub async fn consent_uses(
        &self,
        actor: &Principal,
        id: &ConsentId,
    ) -> Result<Vec<DeclarationSummary>> {
        self.consent(actor, id).await?;
        let ids: Vec<DeclarationId> = sqlx::query_scalar(
            "SELECT DISTINCT declaration_id FROM consent_links WHERE consent_id = $1",
        )
        .bind(id.0.clone())
        .fetch_all(self.pool())
        .await?;
        Ok(self.visible_summaries(actor, &ids).await)
    }

    /// The references of the uses linked to this consent whose current effective
    /// declaration says the performer it covers is deceased (that the caller may see): for
    /// them only a consent by the estate or the union counts under the union pack.
    pub async fn consent_deceased_uses(
        &self,
        actor: &Principal,
        id: &ConsentId,
    ) -> Result<Vec<String>> {
        self.consent(actor, id).await?;
        let rows: Vec<(DeclarationId, String)> = sqlx::query_as(
            "SELECT declaration_id, performer FROM consent_links WHERE consent_id = $1 ORDER BY declaration_id",
        )
        .bind(id.0.clone())
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::new();
        for (declaration, performer) in &rows {
            let Ok(d) = self.declaration(actor, declaration).await else {
                continue;
            };
            let performer = key(performer);
            let Some(t) = d.current.triages.last() else {
                continue;
            };
            let Ok(eff) = serde_json::from_value::<greenlight_core::declaration::Declaration>(
                t.effective.clone(),
            ) else {
                continue;
            };
            if eff
                .talent
                .iter()
                .any(|t| t.deceased && key(&t.performer) == performer)
                && !out.contains(&d.summary.reference)
            {
                out.push(d.summary.reference.clone());
            }
        }
        Ok(out)
    }

    /// Legal registers a tool with its reviewed terms.
    pub async fn register_tool(
        &self,
        actor: &Principal,
        studio: Option<&OrgId>,
        new: NewTool,
    ) -> Result<Tool> {
        let studio = acting_studio(actor, studio, Role::Legal, "registers tools")?;
        let name = check_tool(&new)?;
        let actor_id = actor.user.id.clone();
        self.write(move |w| {
            Box::pin(async move {
                let vendor_key = new.vendor.as_deref().map(key).unwrap_or_default();
                let dup = sqlx::query("SELECT id FROM tools WHERE studio_id = $1 AND name_key = $2 AND vendor_key = $3")
                    .bind(studio.0.clone())
                    .bind(key(&name))
                    .bind(vendor_key.clone())
                    .fetch_optional(&mut w.conn)
                    .await?;
                if dup.is_some() {
                    return Err(StoreError::conflict(format!("{name:?} is already registered; change its terms instead")));
                }
                let id = ToolId::new();
                let salt = new_salt();
                let (ev_name, ev_sha, ev_bytes) = match &new.evidence {
                    Some(d) => (Some(d.name.clone()), Some(sha256_hex(&d.bytes)), Some(d.bytes.clone())),
                    None => (None, None, None),
                };
                sqlx::query(
                    "INSERT INTO tools (id, studio_id, name, name_key, vendor, vendor_key, plan, agreement, data_terms, terms_reviewed, evidence_name, evidence_sha256, evidence, salt, version, updated_at, traces) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $16)",
                )
                .bind(id.0.clone())
                .bind(studio.0.clone())
                .bind(name.clone())
                .bind(key(&name))
                .bind(new.vendor.clone().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
                .bind(vendor_key)
                .bind(new.plan.clone())
                .bind(new.agreement.clone())
                .bind(new.data_terms.as_str())
                .bind(new.terms_reviewed.map(|d| d.to_string()))
                .bind(ev_name)
                .bind(ev_sha)
                .bind(ev_bytes)
                .bind(salt.clone())
                .bind(ts(w.now))
                .bind(traces_json(&new.traces))
                .execute(&mut w.conn)
                .await?;
                let (tool, _) = load_tool(&mut w.conn, &id).await?;
                w.audit(Some(&actor_id.0), Some(&studio.0), "tool.register", "tool", &id.0, None, Some(digest(&salt, &tool_state(&tool))));
                // Live declarations of the studio that name this tool now take its terms.
                let rows: Vec<(DeclarationId, String)> = sqlx::query_as(
                    "SELECT d.id, r.body FROM declarations d JOIN productions p ON p.id = d.production_id \
                     JOIN revisions r ON r.declaration_id = d.id AND r.number = d.revision \
                     WHERE p.studio_id = $1 AND d.state IN ('acknowledged', 'in_review', 'approved', 'changes_requested', 'suspended')",
                )
                .bind(studio.0.clone())
                .fetch_all(&mut w.conn)
                .await?;
                let tools = [tool.clone()];
                for (declaration, body) in &rows {
                    let Ok(parsed) = greenlight_core::format::parse(body.as_bytes(), greenlight_core::format::SourceKind::Sniff) else { continue };
                    let names = parsed.declaration.tools.iter().any(|t| crate::effective::match_tool(&tools, &t.name, t.vendor.as_deref()).is_some());
                    if names {
                        retriage(w, declaration, &format!("tool {name} registered"), Some(&actor_id.0)).await?;
                    }
                }
                Ok(tool)
            })
        })
        .await
    }

    /// Legal changes a tool's terms; every live declaration using it is triaged again.
    pub async fn update_tool(&self, actor: &Principal, id: &ToolId, new: NewTool) -> Result<Tool> {
        let t = self.tool(actor, id).await?;
        check_studio(actor, &t.studio_id, Role::Legal, "changes tool terms")?;
        let name = check_tool(&new)?;
        let (id, actor_id) = (id.clone(), actor.user.id.clone());
        self.write(move |w| {
            Box::pin(async move {
                let (before, salt) = load_tool(&mut w.conn, &id).await?;
                let (ev_name, ev_sha, ev_bytes) = match &new.evidence {
                    Some(d) => (Some(d.name.clone()), Some(sha256_hex(&d.bytes)), Some(d.bytes.clone())),
                    None => (before.evidence_name.clone(), before.evidence_sha256.clone(), None),
                };
                sqlx::query(
                    "UPDATE tools SET name = $1, name_key = $2, vendor = $3, vendor_key = $4, plan = $5, agreement = $6, data_terms = $7, terms_reviewed = $8, \
                     evidence_name = $9, evidence_sha256 = $10, version = version + 1, updated_at = $11, traces = $13 WHERE id = $12",
                )
                .bind(name.clone())
                .bind(key(&name))
                .bind(new.vendor.clone())
                .bind(new.vendor.as_deref().map(key).unwrap_or_default())
                .bind(new.plan.clone())
                .bind(new.agreement.clone())
                .bind(new.data_terms.as_str())
                .bind(new.terms_reviewed.map(|d| d.to_string()))
                .bind(ev_name)
                .bind(ev_sha)
                .bind(ts(w.now))
                .bind(id.0.clone())
                .bind(traces_json(&new.traces))
                .execute(&mut w.conn)
                .await?;
                if let Some(b) = ev_bytes {
                    sqlx::query("UPDATE tools SET evidence = $1 WHERE id = $2").bind(b).bind(id.0.clone()).execute(&mut w.conn).await?;
                }
                let (after, _) = load_tool(&mut w.conn, &id).await?;
                w.audit(
                    Some(&actor_id.0),
                    Some(&after.studio_id.0),
                    "tool.update",
                    "tool",
                    &id.0,
                    Some(digest(&salt, &tool_state(&before))),
                    Some(digest(&salt, &tool_state(&after))),
                );
                let why = format!("tool {name} terms changed");
                retriage_linked(w, Linked::Tool(&id), &why, Some(&actor_id.0)).await?;
                Ok(after)
            })
        })
        .await
    }

    /// A tool the caller may see (members of the studio).
    pub async fn tool(&self, actor: &Principal, id: &ToolId) -> Result<Tool> {
        let mut conn = self.pool().acquire().await?;
        let (t, _) = load_tool(&mut conn, id).await?;
        if !actor.is_member(&t.studio_id) {
            return Err(StoreError::NotFound(format!("tool {id}")));
        }
        Ok(t)
    }

    /// The evidence file of a tool's terms review: (file name, bytes); `NotFound` when the
    /// tool has none or the caller may not see the tool.
    pub async fn tool_evidence(&self, actor: &Principal, id: &ToolId) -> Result<(String, Vec<u8>)> {
        let t = self.tool(actor, id).await?;
        let bytes: Option<Vec<u8>> = sqlx::query_scalar("SELECT evidence FROM tools WHERE id = $1")
            .bind(id.0.clone())
            .fetch_one(self.pool())
            .await?;
        match (t.evidence_name, bytes) {
            (Some(name), Some(bytes)) => Ok((name, bytes)),
            _ => Err(StoreError::NotFound(format!("evidence of tool {id}"))),
        }
    }

    /// The tools of the caller's studios.
    pub async fn tools(&self, actor: &Principal) -> Result<Vec<Tool>> {
        actor.studio_wide("list the studio's tools")?;
        let mut conn = self.pool().acquire().await?;
        let mut out = Vec::new();
        let mut seen = Vec::new();
        for m in actor
            .memberships
            .iter()
            .filter(|m| m.org_kind == OrgKind::Studio)
        {
            if seen.contains(&m.org_id) {
                continue;
            }
            seen.push(m.org_id.clone());
            out.extend(load_tools(&mut conn, &m.org_id).await?);
        }
        Ok(out)
    }

    /// Declarations that use a registered tool (that the caller may see).
    pub async fn tool_uses(
        &self,
        actor: &Principal,
        id: &ToolId,
    ) -> Result<Vec<DeclarationSummary>> {
        self.tool(actor, id).await?;
        let ids: Vec<DeclarationId> =
            sqlx::query_scalar("SELECT declaration_id FROM declaration_tools WHERE tool_id = $1")
                .bind(id.0.clone())
                .fetch_all(self.pool())
                .await?;
        Ok(self.visible_summaries(actor, &ids).await)
    }

    /// The summaries of the declarations `ids` that the caller may see.
    async fn visible_summaries(
        &self,
        actor: &Principal,
        ids: &[DeclarationId],
    ) -> Vec<DeclarationSummary> {
        let mut out = Vec::new();
        for id in ids {
            if let Ok(d) = self.declaration(actor, id).await {
                out.push(d.summary);
            }
        }
        out
    }
}

/// The JSON payload of a consent event.
pub(crate) fn consent_data(c: &Consent, extra: serde_json::Value) -> serde_json::Value {
    let data = serde_json::json!({
        "consent_id": c.id,
        "performer": c.performer,
        "treatment": c.treatment,
        "scope": c.scope,
        "expires": c.expires,
        "production_id": c.production_id,
    });
    crate::outbox::with_extra(data, extra)
}
