//! Declarations: submission and triage, revisions, decisions, withdrawal, consent links,
//! confirmations, obligations, and re-triage in place when facts of record change.

use greenlight_core::CheckResult;
use greenlight_core::declaration::Declaration;
use greenlight_core::format::SourceKind;

use super::pack_records::resolve_packs;
use super::productions::Access;
use super::records::*;
use super::triage::{
    Linked, Triaged, counted, evaluate_with, material, production_and_tools, retriage,
    retriage_linked, routed_state, store_triage, tools_fingerprint, triage_now,
};
use super::{get_i, get_os, get_s};
use crate::audit::{digest, new_salt};
use crate::db::{parse_json, to_json, ts};
use crate::input::{ConfirmationInput, DecisionInput};
use crate::model::*;
use crate::outbox::{Audience, EventKind};
use crate::writer::WriteCtx;
use crate::{FieldProblem, Result, Store, StoreError};

/// What the triage endpoint answers without storing anything.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TriagePreview {
    /// The check result on the effective declaration.
    #[schema(value_type = Object)]
    pub result: CheckResult,
    /// The effective declaration (format v1 JSON).
    #[schema(value_type = Object)]
    pub effective: serde_json::Value,
    pub differences: Vec<Difference>,
    /// What would stop the submission although the declaration is valid: a `use.ref`
    /// already taken on the production.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<FieldProblem>,
}

fn media_of(body: &[u8]) -> &'static str {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => "json",
        _ => "yaml",
    }
}

/// The organisation a partner submits for on this production.
fn submitting_org(actor: &Principal, p: &Production) -> Result<OrgId> {
    let candidates = p.linked_orgs.iter().chain(std::iter::once(&p.studio_id));
    for org in candidates {
        if actor.has_role(org, Role::Partner) {
            return Ok(org.clone());
        }
    }
    Err(StoreError::Forbidden(
        "only a partner of the studio or of a linked organisation submits declarations".into(),
    ))
}

impl Store {
    /// Evaluates a body as the server would (effective declaration, production packs)
    /// without storing anything: the live preview and the API's triage endpoint. `revising`
    /// names the declaration the body would become a revision of, whose own `use.ref` is
    /// not a duplicate.
    pub async fn preview(
        &self,
        actor: &Principal,
        production: &ProductionId,
        body: &[u8],
        revising: Option<&DeclarationId>,
    ) -> Result<TriagePreview> {
        let p = self.production(actor, production).await?;
        let declared = parse_body(body, SourceKind::Sniff)?;
        let mut conn = self.pool().acquire().await?;
        let Triaged { eff, result, .. } = triage_now(&mut conn, &p, &declared, None).await?;
        let reference = declared.usage.reference.trim().to_owned();
        let taken =
            sqlx::query("SELECT id FROM declarations WHERE production_id = $1 AND ref = $2")
                .bind(production.0.clone())
                .bind(reference.clone())
                .fetch_optional(&mut *conn)
                .await?
                .map(|r| get_s(&r, "id"))
                .transpose()?
                .is_some_and(|id| revising.is_none_or(|r| r.0 != id));
        let warnings = if taken {
            vec![FieldProblem {
                path: Some("use.ref".into()),
                line: None,
                column: None,
                message: format!(
                    "another use on this production already has the reference {reference:?}; submitting will be refused"
                ),
            }]
        } else {
            Vec::new()
        };
        Ok(TriagePreview {
            result,
            effective: serde_json::to_value(&eff.declaration).unwrap_or_default(),
            differences: eff.differences,
            warnings,
        })
    }

    /// A partner submits a declaration (YAML or JSON body) for a production: validated,
    /// triaged on the effective declaration, stored with its first revision, and routed
    /// (`acknowledged` for notify without blockers, else `in_review`). Nothing is stored
    /// when the body is invalid.
    #[tracing::instrument(skip_all, fields(production = %production))]
    pub async fn submit(
        &self,
        actor: &Principal,
        production: &ProductionId,
        body: &[u8],
    ) -> Result<DeclarationSummary> {
        let p = self.production(actor, production).await?;
        let org = submitting_org(actor, &p)?;
        let declared = parse_body(body, SourceKind::Sniff)?;
        // Triage here, on the request's own task, so the single writer only stores: the
        // writer re-checks that the production and the tool registry did not change since.
        let (tools, packs) = {
            let mut conn = self.pool().acquire().await?;
            let tools = load_tools(&mut conn, &p.studio_id).await?;
            (
                tools,
                resolve_packs(&mut conn, &p.studio_id, &p.packs).await?,
            )
        };
        let precomputed = evaluate_with(&p, &packs, &declared, &tools, &[], &[])?;
        let seen = (p.version, tools_fingerprint(&tools));
        let text = String::from_utf8_lossy(body).into_owned();
        let media = media_of(body);
        let (production, actor_id) = (production.clone(), actor.user.id.clone());
        self.write_deferred(move |w| {
            Box::pin(async move {
                let (p, tools, packs) = production_and_tools(w, &production).await?;
                let reference = declared.usage.reference.trim().to_owned();
                let key = (production.0.clone(), reference.clone());
                let dup = if w.deferred_refs().contains(&key) {
                    Some("(submitted a moment ago)".to_owned())
                } else {
                    sqlx::query("SELECT id FROM declarations WHERE production_id = $1 AND ref = $2")
                        .bind(production.0.clone())
                        .bind(reference.clone())
                        .fetch_optional(&mut w.conn)
                        .await?
                        .map(|d| get_s(&d, "id"))
                        .transpose()?
                };
                if let Some(d) = dup {
                    return Err(StoreError::DuplicateReference {
                        message: format!(
                            "use.ref {reference:?} is already declared on this production (declaration {d}); submit a new revision of it"
                        ),
                        reference,
                    });
                }
                let Triaged { eff, result, basis } = if seen == (p.version, tools_fingerprint(&tools)) {
                    precomputed
                } else {
                    evaluate_with(&p, &packs, &declared, &tools, &[], &[])?
                };
                // From here on nothing can fail: the rows are handed to the batch.
                w.deferred_refs().insert(key);
                let id = DeclarationId::new();
                let state = routed_state(&result);
                let now = ts(w.now);
                let salt = new_salt();
                let mut obligations: Vec<&greenlight_core::wire::Obligation> = Vec::new();
                for o in &result.obligations {
                    if !obligations.iter().any(|x| (&x.pack, &x.rule, &x.kind) == (&o.pack, &o.rule, &o.kind)) {
                        obligations.push(o);
                    }
                }
                let open_obligations = obligations.len() as i64;
                use crate::writer::Val::{I, N, S};
                w.defer(
                    "declarations",
                    &["id", "production_id", "org_id", "ref", "summary", "state", "outcome", "open_blockers", "open_obligations",
                      "revision", "decision", "submitted_by", "salt", "version", "created_at", "updated_at"],
                    [
                        S(id.0.clone()), S(production.0.clone()), S(org.0.clone()), S(reference.clone()),
                        S(declared.usage.summary.clone()), S(state.as_str().into()), S(result.outcome.as_str().into()),
                        I(result.blockers.len() as i64), I(open_obligations), I(1), N(None), S(actor_id.0.clone()),
                        S(salt.clone()), I(1), S(now.clone()), S(now.clone()),
                    ],
                );
                w.defer(
                    "revisions",
                    &["declaration_id", "number", "body", "media", "submitted_by", "created_at"],
                    [S(id.0.clone()), I(1), S(text), S(media.into()), S(actor_id.0.clone()), S(now.clone())],
                );
                w.defer(
                    "triages",
                    &["declaration_id", "revision", "seq", "reason", "effective", "result", "outcome", "differences", "created_at", "basis"],
                    [
                        S(id.0.clone()), I(1), I(1), S("submitted".into()), S(to_json(&eff.declaration)), S(to_json(&result)),
                        S(result.outcome.as_str().into()), S(to_json(&eff.differences)), S(now.clone()), S(basis.to_column()),
                    ],
                );
                for o in &obligations {
                    w.defer(
                        "obligations",
                        &["id", "declaration_id", "revision", "rule", "pack", "kind", "text", "due", "status"],
                        [
                            S(ObligationId::new().0), S(id.0.clone()), I(1), S(o.rule.clone()), S(o.pack.clone()),
                            S(o.kind.clone()), S(o.text.clone()), N(Some(o.due.clone())), S("open".into()),
                        ],
                    );
                }
                for t in &eff.tools_used {
                    w.defer("declaration_tools", &["declaration_id", "tool_id"], [S(id.0.clone()), S(t.0.clone())]);
                }
                let detail = format!("revision 1, outcome {}, {}", result.outcome.as_str(), counted(result.blockers.len(), "blocker"));
                w.defer(
                    "history",
                    &["declaration_id", "n", "at", "by_user", "action", "from_state", "to_state", "detail"],
                    [
                        S(id.0.clone()), I(1), S(now.clone()), N(Some(actor_id.0.clone())), S("submit".into()), N(None),
                        N(Some(state.as_str().into())), S(detail),
                    ],
                );
                let row = Row {
                    summary: DeclarationSummary {
                        id: id.clone(),
                        production_id: production.clone(),
                        production_title: p.facts.title.clone(),
                        org_id: org.clone(),
                        reference,
                        summary: declared.usage.summary.clone(),
                        state,
                        outcome: result.outcome,
                        open_blockers: result.blockers.len() as i64,
                        open_obligations,
                        revision: 1,
                        submitted_by: actor_id.clone(),
                        created_at: w.now,
                        updated_at: w.now,
                        revision_at: w.now,
                        version: 1,
                    },
                    decision: None,
                    salt,
                    studio_id: p.studio_id.clone(),
                };
                w.audit(Some(&actor_id.0), Some(&p.studio_id.0), "declaration.submit", "declaration", &id.0, None, Some(digest(&row.salt, &decl_state(&row))));
                w.declaration_event(
                    EventKind::DeclarationSubmitted,
                    &p.studio_id,
                    &row.summary,
                    event_extra(&result),
                    Audience::Contacts(production.clone()),
                );
                Ok(row.summary)
            })
        })
        .await
    }

    /// A partner of the submitting organisation answers with a new revision. An approval
    /// survives only when nothing but `use.summary` and `inputs[].description` changed.
    pub async fn revise(
        &self,
        actor: &Principal,
        id: &DeclarationId,
        if_match: Option<&str>,
        body: &[u8],
    ) -> Result<DeclarationSummary> {
        let current = self.declaration(actor, id).await?.summary;
        if !actor.has_role(&current.org_id, Role::Partner) {
            return Err(StoreError::Forbidden(
                "only a partner of the submitting organisation revises a declaration".into(),
            ));
        }
        let declared = parse_body(body, SourceKind::Sniff)?;
        if declared.usage.reference.trim() != current.reference {
            return Err(StoreError::InvalidDeclaration {
                summary: "use.ref must stay the same across revisions".into(),
                problems: vec![FieldProblem {
                    path: Some("use.ref".into()),
                    line: None,
                    column: None,
                    message: format!(
                        "is {:?}; this declaration is {:?}",
                        declared.usage.reference, current.reference
                    ),
                }],
            });
        }
        let text = String::from_utf8_lossy(body).into_owned();
        let media = media_of(body);
        let (id, actor_id, if_match) = (
            id.clone(),
            actor.user.id.clone(),
            if_match.map(str::to_owned),
        );
        self.write(move |w| {
            Box::pin(write_revision(
                w, id, actor_id, if_match, declared, text, media,
            ))
        })
        .await
    }

    /// A studio reviewer decides. Approval is refused (Conflict) while a blocker is open;
    /// nobody decides on a declaration they submitted (any revision).
    pub async fn decide(
        &self,
        actor: &Principal,
        id: &DeclarationId,
        if_match: Option<&str>,
        input: DecisionInput,
    ) -> Result<DeclarationSummary> {
        let current = self.declaration(actor, id).await?;
        let studio = self
            .production(actor, &current.summary.production_id)
            .await?
            .studio_id;
        if !actor.has_role(&studio, Role::Reviewer) {
            return Err(StoreError::Forbidden(
                "only a reviewer of the studio decides".into(),
            ));
        }
        let needs_reason = !matches!(input.action, DecisionAction::Approve);
        if needs_reason && input.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            return Err(StoreError::invalid(
                "reason",
                format!(
                    "a reason is required to {}",
                    input.action.as_str().replace('_', " ")
                ),
            ));
        }
        if let Some(reason) = &input.reason {
            super::within("reason", reason.trim(), super::MAX_TEXT_CHARS)?;
        }
        for (i, c) in input.conditions.iter().enumerate() {
            let path = format!("conditions[{i}]");
            if c.trim().is_empty() {
                return Err(StoreError::invalid(&path, "a condition must not be empty"));
            }
            super::within(&path, c.trim(), super::MAX_TEXT_CHARS)?;
        }
        if input.conditions.len() > 100 {
            return Err(StoreError::invalid("conditions", "at most 100 conditions"));
        }
        if input.action == DecisionAction::Approve
            && let Some(expires) = input.expires
            && expires < super::today()
        {
            return Err(StoreError::invalid(
                "expires",
                format!("{expires} has passed; an approval's expiry is today or later"),
            ));
        }
        let (id, actor_id, if_match) = (
            id.clone(),
            actor.user.id.clone(),
            if_match.map(str::to_owned),
        );
        self.write(move |w| Box::pin(write_decision(w, id, actor_id, if_match, input)))
            .await
    }

    /// A partner of the submitting organisation withdraws the declaration.
    pub async fn withdraw(
        &self,
        actor: &Principal,
        id: &DeclarationId,
        if_match: Option<&str>,
        reason: Option<String>,
    ) -> Result<DeclarationSummary> {
        if let Some(reason) = &reason {
            super::within("reason", reason.trim(), super::MAX_TEXT_CHARS)?;
        }
        if let Some(reason) = &reason {
            super::within("reason", reason.trim(), super::MAX_TEXT_CHARS)?;
        }
        let current = self.declaration(actor, id).await?.summary;
        if !actor.has_role(&current.org_id, Role::Partner) {
            return Err(StoreError::Forbidden(
                "only a partner of the submitting organisation withdraws a declaration".into(),
            ));
        }
        let (id, actor_id, if_match) = (
            id.clone(),
            actor.user.id.clone(),
            if_match.map(str::to_owned),
        );
        self.write(move |w| Box::pin(write_withdrawal(w, id, actor_id, if_match, reason)))
            .await
    }

    /// Legal links a recorded consent to a talent entry (by performer); the declaration is
    /// triaged again.
    pub async fn link_consent(
        &self,
        actor: &Principal,
        id: &DeclarationId,
        performer: &str,
        consent: &ConsentId,
    ) -> Result<DeclarationSummary> {
        let detail = self.declaration(actor, id).await?;
        let studio = self
            .production(actor, &detail.summary.production_id)
            .await?
            .studio_id;
        if !actor.has_role(&studio, Role::Legal) {
            return Err(StoreError::Forbidden(
                "only legal of the studio links consents".into(),
            ));
        }
        let declared = parse_body(detail.current.text.as_bytes(), SourceKind::Sniff)?;
        let Some(talent) = declared
            .talent
            .iter()
            .find(|t| t.performer.trim().eq_ignore_ascii_case(performer.trim()))
        else {
            return Err(StoreError::invalid(
                "performer",
                format!("{performer:?} is not a talent entry of the current revision"),
            ));
        };
        let performer = talent.performer.clone();
        let (id, consent, actor_id) = (id.clone(), consent.clone(), actor.user.id.clone());
        self.write(move |w| {
            Box::pin(write_consent_link(
                w, id, consent, actor_id, studio, performer,
            ))
        })
        .await
    }

    /// Legal confirms a clearance (`inputs[i].cleared`) or the union agreement; the
    /// declaration is triaged again.
    pub async fn confirm(
        &self,
        actor: &Principal,
        id: &DeclarationId,
        input: ConfirmationInput,
    ) -> Result<DeclarationSummary> {
        let detail = self.declaration(actor, id).await?;
        let studio = self
            .production(actor, &detail.summary.production_id)
            .await?
            .studio_id;
        if !actor.has_role(&studio, Role::Legal) {
            return Err(StoreError::Forbidden(
                "only legal of the studio confirms clearances and agreements".into(),
            ));
        }
        let reference =
            super::required_within("reference", &input.reference, super::MAX_NAME_CHARS)?;
        let declared = parse_body(detail.current.text.as_bytes(), SourceKind::Sniff)?;
        let index = match input.kind {
            ConfirmationKind::InputCleared => {
                if input.index < 0 || input.index as usize >= declared.inputs.len() {
                    return Err(StoreError::invalid(
                        "index",
                        format!(
                            "the current revision has {} input(s)",
                            declared.inputs.len()
                        ),
                    ));
                }
                input.index
            }
            ConfirmationKind::UnionAgreement => 0,
        };
        let (id, actor_id, kind) = (id.clone(), actor.user.id.clone(), input.kind);
        self.write(move |w| {
            Box::pin(write_confirmation(
                w, id, actor_id, kind, index, reference, studio,
            ))
        })
        .await
    }

    /// Marks an obligation done, with evidence (e.g. the credit line as delivered). A
    /// partner of the submitting organisation, or the studio's reviewers and legal.
    pub async fn complete_obligation(
        &self,
        actor: &Principal,
        obligation: &ObligationId,
        evidence: &str,
    ) -> Result<Obligation> {
        let row = sqlx::query("SELECT declaration_id FROM obligations WHERE id = $1")
            .bind(obligation.0.clone())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("obligation {obligation}")))?;
        let decl = DeclarationId(get_s(&row, "declaration_id")?);
        let detail = self
            .declaration(actor, &decl)
            .await
            .map_err(|_| StoreError::NotFound(format!("obligation {obligation}")))?;
        let studio = self
            .production(actor, &detail.summary.production_id)
            .await?
            .studio_id;
        let allowed = actor.has_role(&detail.summary.org_id, Role::Partner)
            || actor.has_role(&studio, Role::Reviewer)
            || actor.has_role(&studio, Role::Legal);
        if !allowed {
            return Err(StoreError::Forbidden("only the submitting partner, or the studio's reviewers and legal, complete obligations".into()));
        }
        let evidence = super::required_within("evidence", evidence, super::MAX_TEXT_CHARS)?;
        let (obligation, actor_id) = (obligation.clone(), actor.user.id.clone());
        self.write(move |w| {
            Box::pin(write_obligation_done(
                w, obligation, actor_id, evidence, decl,
            ))
        })
        .await
    }

    /// Everything about a declaration the caller may see.
    pub async fn declaration(
        &self,
        actor: &Principal,
        id: &DeclarationId,
    ) -> Result<DeclarationDetail> {
        let mut conn = self.pool().acquire().await?;
        let row = load_row(&mut conn, id).await?;
        let (p, _) = load_production(&mut conn, &row.summary.production_id).await?;
        match Access::of(actor, &p) {
            Some(a) if a.sees_org(&row.summary.org_id) => {}
            _ => return Err(StoreError::NotFound(format!("declaration {id}"))),
        }
        let current = revision(&mut conn, id, row.summary.revision).await?;
        let consent_links = links_of(&mut conn, id).await?;
        let confirmations = confirmations_of(&mut conn, id).await?;
        let obligations = obligations_of(&mut conn, id, Some(row.summary.revision)).await?;
        let history = history_of(&mut conn, id).await?;
        Ok(DeclarationDetail {
            summary: row.summary,
            current,
            decision: row.decision,
            consent_links,
            confirmations,
            obligations,
            history,
        })
    }

    /// Every revision of a declaration, oldest first, with its triage history.
    pub async fn revisions(&self, actor: &Principal, id: &DeclarationId) -> Result<Vec<Revision>> {
        let d = self.declaration(actor, id).await?;
        let mut conn = self.pool().acquire().await?;
        let mut out = Vec::new();
        for n in 1..=d.summary.revision {
            out.push(revision(&mut conn, id, n).await?);
        }
        Ok(out)
    }

    /// Declarations the caller may see, filtered and paged (newest first, or oldest first
    /// for the review queue).
    pub async fn declarations(
        &self,
        actor: &Principal,
        filter: &DeclarationFilter,
        page: PageRequest,
    ) -> Result<Page<DeclarationSummary>> {
        let states: Vec<State> = filter.state.into_iter().collect();
        self.list_declarations(actor, filter, &states, Some(page))
            .await
    }

    /// Every declaration the caller may see that `filter` keeps, unpaged (one query).
    pub(crate) async fn all_declarations(
        &self,
        actor: &Principal,
        filter: &DeclarationFilter,
    ) -> Result<Vec<DeclarationSummary>> {
        let states: Vec<State> = filter.state.into_iter().collect();
        Ok(self
            .list_declarations(actor, filter, &states, None)
            .await?
            .items)
    }

    /// Declarations the caller may see, one page of them, or all of them (and no count)
    /// when `page` is `None`.
    async fn list_declarations(
        &self,
        actor: &Principal,
        filter: &DeclarationFilter,
        states: &[State],
        page: Option<PageRequest>,
    ) -> Result<Page<DeclarationSummary>> {
        let unpaged = page.is_none();
        let page = page.unwrap_or_default().clamped();
        let Some((wher, args)) = visible_where(actor, filter, states) else {
            return Ok(Page {
                items: vec![],
                total: 0,
                offset: page.offset,
                limit: page.limit,
            });
        };
        let order = if filter.oldest_first {
            // Waiting since the current revision was submitted: later activity on it
            // (an obligation marked done, a re-triage) does not move it back in the queue.
            "revision_at ASC, d.id ASC"
        } else {
            "d.created_at DESC, d.id DESC"
        };
        let count_sql = format!(
            "SELECT COUNT(*) AS n FROM declarations d JOIN productions p ON p.id = d.production_id WHERE {wher}"
        );
        let total = if unpaged {
            0
        } else {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(count_sql));
            for a in &args {
                q = q.bind(a.clone());
            }
            get_i(&q.fetch_one(self.pool()).await?, "n")?
        };
        let list_sql = if unpaged {
            format!("{SELECT_DECL} WHERE {wher} ORDER BY {order}")
        } else {
            format!(
                "{SELECT_DECL} WHERE {wher} ORDER BY {order} LIMIT {} OFFSET {}",
                page.limit, page.offset
            )
        };
        let mut q = sqlx::query(sqlx::AssertSqlSafe(list_sql));
        for a in &args {
            q = q.bind(a.clone());
        }
        let rows = q.fetch_all(self.pool()).await?;
        let items = rows
            .iter()
            .map(|r| row_from(r).map(|r| r.summary))
            .collect::<Result<Vec<_>>>()?;
        Ok(Page {
            items,
            total,
            offset: page.offset,
            limit: page.limit,
        })
    }

    /// How many declarations the caller may see there are, by outcome and state, on one
    /// production or all of them: one `GROUP BY` query, for the dashboards.
    pub async fn declaration_counts(
        &self,
        actor: &Principal,
        production: Option<ProductionId>,
    ) -> Result<Vec<(String, State, i64)>> {
        let filter = DeclarationFilter {
            production_id: production,
            ..DeclarationFilter::default()
        };
        let Some((wher, args)) = visible_where(actor, &filter, &[]) else {
            return Ok(vec![]);
        };
        let sql = format!(
            "SELECT d.outcome, d.state, COUNT(*) AS n FROM declarations d \
             JOIN productions p ON p.id = d.production_id WHERE {wher} GROUP BY d.outcome, d.state"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for a in &args {
            q = q.bind(a.clone());
        }
        q.fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| {
                Ok((
                    get_s(r, "outcome")?,
                    crate::db::parse_enum(&get_s(r, "state")?)?,
                    get_i(r, "n")?,
                ))
            })
            .collect()
    }

    /// The review queue: `in_review` and `suspended` declarations of the caller's studios,
    /// oldest first.
    pub async fn queue(
        &self,
        actor: &Principal,
        production: Option<ProductionId>,
        outcome: Option<String>,
        page: PageRequest,
    ) -> Result<Page<DeclarationSummary>> {
        let f = DeclarationFilter {
            production_id: production,
            state: None,
            outcome,
            org_id: None,
            oldest_first: true,
        };
        self.list_declarations(actor, &f, &[State::InReview, State::Suspended], Some(page))
            .await
    }

    /// Approvals whose expiry date passed become `expired`; consents whose expiry passed
    /// re-open their blockers on every linked declaration. Returns how many changed.
    pub async fn expire_due(&self) -> Result<usize> {
        self.expire_due_as_of(None).await
    }

    /// [`Store::expire_due`] as if today were `today` (`None`: the real today); the
    /// background pass and the tests that move time forward share it.
    pub async fn expire_due_as_of(&self, today: Option<chrono::NaiveDate>) -> Result<usize> {
        self.write(move |w| Box::pin(write_expiries(w, today)))
            .await
    }
}

/// A new revision, triaged; an approval stands only when the terms are the same.
async fn write_revision(
    w: &mut WriteCtx,
    id: DeclarationId,
    actor_id: UserId,
    if_match: Option<String>,
    declared: Declaration,
    text: String,
    media: &'static str,
) -> Result<DeclarationSummary> {
    let row = load_checked(w, &id, if_match.as_deref()).await?;
    let s = &row.summary;
    // Refused before any work when the workflow takes no revision in this state.
    let revise = |same_terms, routed| s.state.after(Transition::Revise { same_terms, routed });
    revise(false, State::InReview).map_err(|e| StoreError::conflict(e.0))?;
    let (p, _) = load_production(&mut w.conn, &s.production_id).await?;
    let (_, _, before_eff) = current_result(&mut w.conn, &id, s.revision).await?;
    let triaged = triage_now(&mut w.conn, &p, &declared, Some(&id)).await?;
    let number = s.revision + 1;
    let now = ts(w.now);
    sqlx::query("INSERT INTO revisions (declaration_id, number, body, media, submitted_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(id.0.clone())
        .bind(number)
        .bind(text)
        .bind(media)
        .bind(actor_id.0.clone())
        .bind(now.clone())
        .execute(&mut w.conn)
        .await?;
    let (_, open) = store_triage(w, &id, number, "new revision", &triaged).await?;
    let Triaged { eff, result, .. } = triaged;
    let eff_json = serde_json::to_value(&eff.declaration).unwrap_or_default();
    let same_terms = material(&eff_json) == material(&before_eff);
    let state = revise(same_terms, routed_state(&result)).map_err(|e| StoreError::conflict(e.0))?;
    // Triage never routes to `approved`: only a kept approval arrives there.
    let keeps_approval = state == State::Approved;
    let decision = if keeps_approval {
        row.decision.clone()
    } else {
        None
    };
    sqlx::query(
        "UPDATE declarations SET revision = $1, summary = $2, state = $3, outcome = $4, open_blockers = $5, open_obligations = $6, decision = $7, version = version + 1, updated_at = $8 WHERE id = $9",
    )
    .bind(number)
    .bind(declared.usage.summary.clone())
    .bind(state.as_str())
    .bind(result.outcome.as_str())
    .bind(result.blockers.len() as i64)
    .bind(open)
    .bind(decision.as_ref().map(to_json))
    .bind(now)
    .bind(id.0.clone())
    .execute(&mut w.conn)
    .await?;
    let mut detail = format!(
        "revision {number}, outcome {}, {}",
        result.outcome.as_str(),
        counted(result.blockers.len(), "blocker")
    );
    if s.state == State::Approved && !keeps_approval {
        detail.push_str("; the earlier approval is void");
    }
    push_history(
        w,
        &id,
        Some(&actor_id.0),
        "revise",
        Some(s.state),
        Some(state),
        &detail,
    )
    .await?;
    let after = audit_change(w, Some(&actor_id.0), &row, "declaration.revise").await?;
    w.declaration_event(
        EventKind::DeclarationRevised,
        &row.studio_id,
        &after.summary,
        event_extra(&result),
        Audience::Contacts(after.summary.production_id.clone()),
    );
    Ok(after.summary)
}

/// A reviewer's decision, applied as the workflow allows.
async fn write_decision(
    w: &mut WriteCtx,
    id: DeclarationId,
    actor_id: UserId,
    if_match: Option<String>,
    input: DecisionInput,
) -> Result<DeclarationSummary> {
    let row = load_checked(w, &id, if_match.as_deref()).await?;
    let submitters =
        sqlx::query("SELECT DISTINCT submitted_by FROM revisions WHERE declaration_id = $1")
            .bind(id.0.clone())
            .fetch_all(&mut w.conn)
            .await?;
    for r in &submitters {
        if get_s(r, "submitted_by")? == actor_id.0 {
            return Err(StoreError::Forbidden(
                "nobody decides on a declaration they submitted".into(),
            ));
        }
    }
    let s = &row.summary;
    let to = s
        .state
        .after(Transition::Decide(input.action))
        .map_err(|e| StoreError::conflict(e.0))?;
    let (triage_seq, result, _) = current_result(&mut w.conn, &id, s.revision).await?;
    if input.action == DecisionAction::Approve && !result.blockers.is_empty() {
        return Err(StoreError::Conflict {
            message: format!(
                "{} must be cleared before approval",
                counted(result.blockers.len(), "open blocker")
            ),
            blockers: result
                .blockers
                .iter()
                .map(|b| format!("{}: {}", b.rule, b.message))
                .collect(),
        });
    }
    let decision = Decision {
        action: input.action,
        by: actor_id.clone(),
        at: w.now,
        revision: s.revision,
        triage: triage_seq,
        reason: input
            .reason
            .clone()
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty()),
        conditions: input
            .conditions
            .iter()
            .map(|c| c.trim().to_owned())
            .collect(),
        expires: if input.action == DecisionAction::Approve {
            input.expires
        } else {
            None
        },
    };
    sqlx::query("UPDATE declarations SET state = $1, decision = $2, version = version + 1, updated_at = $3 WHERE id = $4")
        .bind(to.as_str())
        .bind(to_json(&decision))
        .bind(ts(w.now))
        .bind(id.0.clone())
        .execute(&mut w.conn)
        .await?;
    let mut detail = decision.reason.clone().unwrap_or_default();
    if !decision.conditions.is_empty() {
        detail = format!("{detail} conditions: {}", decision.conditions.join("; "))
            .trim()
            .to_owned();
    }
    if let Some(e) = decision.expires {
        detail = format!("{detail} expires {e}").trim().to_owned();
    }
    push_history(
        w,
        &id,
        Some(&actor_id.0),
        input.action.as_str(),
        Some(s.state),
        Some(to),
        &detail,
    )
    .await?;
    let after = audit_change(
        w,
        Some(&actor_id.0),
        &row,
        format!("declaration.{}", input.action.as_str()),
    )
    .await?;
    w.declaration_event(
        EventKind::DeclarationDecided,
        &row.studio_id,
        &after.summary,
        serde_json::json!({
            "action": input.action.as_str(),
            "reason": decision.reason,
            "conditions": decision.conditions,
            "expires": decision.expires,
        }),
        Audience::Organisation(after.summary.org_id.clone()),
    );
    Ok(after.summary)
}

/// What a declaration event adds to the contract's fields: the reasons (the findings'
/// messages) and the open blockers, in words.
pub(crate) fn event_extra(result: &greenlight_core::CheckResult) -> serde_json::Value {
    serde_json::json!({
        "reasons": result.findings.iter().map(|f| f.message.clone()).collect::<Vec<_>>(),
        "blockers": result.blockers.iter().map(|b| format!("{}: {}", b.rule, b.message)).collect::<Vec<_>>(),
    })
}

/// The partner's withdrawal.
async fn write_withdrawal(
    w: &mut WriteCtx,
    id: DeclarationId,
    actor_id: UserId,
    if_match: Option<String>,
    reason: Option<String>,
) -> Result<DeclarationSummary> {
    let row = load_checked(w, &id, if_match.as_deref()).await?;
    let to = row
        .summary
        .state
        .after(Transition::Withdraw)
        .map_err(|e| StoreError::conflict(e.0))?;
    sqlx::query(
        "UPDATE declarations SET state = $1, version = version + 1, updated_at = $2 WHERE id = $3",
    )
    .bind(to.as_str())
    .bind(ts(w.now))
    .bind(id.0.clone())
    .execute(&mut w.conn)
    .await?;
    push_history(
        w,
        &id,
        Some(&actor_id.0),
        "withdraw",
        Some(row.summary.state),
        Some(to),
        reason.as_deref().unwrap_or(""),
    )
    .await?;
    let after = audit_change(w, Some(&actor_id.0), &row, "declaration.withdraw").await?;
    Ok(after.summary)
}

/// A consent linked to a talent entry, then the declaration triaged again.
async fn write_consent_link(
    w: &mut WriteCtx,
    id: DeclarationId,
    consent: ConsentId,
    actor_id: UserId,
    studio: OrgId,
    performer: String,
) -> Result<DeclarationSummary> {
    let (c, _) = load_consent(&mut w.conn, &consent)
        .await
        .map_err(|_| StoreError::invalid("consent_id", "no such consent"))?;
    if c.studio_id != studio {
        return Err(StoreError::invalid("consent_id", "no such consent"));
    }
    let row = load_row(&mut w.conn, &id).await?;
    if c.production_id
        .as_ref()
        .is_some_and(|p| p != &row.summary.production_id)
    {
        return Err(StoreError::invalid(
            "consent_id",
            "the consent is limited to another production",
        ));
    }
    sqlx::query("DELETE FROM consent_links WHERE declaration_id = $1 AND performer = $2")
        .bind(id.0.clone())
        .bind(performer.clone())
        .execute(&mut w.conn)
        .await?;
    sqlx::query("INSERT INTO consent_links (declaration_id, performer, consent_id, by_user, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id.0.clone())
        .bind(performer.clone())
        .bind(consent.0.clone())
        .bind(actor_id.0.clone())
        .bind(ts(w.now))
        .execute(&mut w.conn)
        .await?;
    w.audit(
        Some(&actor_id.0),
        Some(&studio.0),
        "declaration.link_consent",
        "declaration",
        &id.0,
        None,
        None,
    );
    // People read history: name the consent by what it is, not by its id.
    let what = format!(
        "{}'s consent ({}, signed {}) linked to {performer}",
        c.performer, c.treatment, c.signed
    );
    push_history(w, &id, Some(&actor_id.0), "link_consent", None, None, &what).await?;
    retriage(w, &id, &what, Some(&actor_id.0)).await?;
    Ok(load_row(&mut w.conn, &id).await?.summary)
}

/// A clearance or agreement confirmed, then the declaration triaged again.
async fn write_confirmation(
    w: &mut WriteCtx,
    id: DeclarationId,
    actor_id: UserId,
    kind: ConfirmationKind,
    index: i64,
    reference: String,
    studio: OrgId,
) -> Result<DeclarationSummary> {
    sqlx::query("DELETE FROM confirmations WHERE declaration_id = $1 AND kind = $2 AND idx = $3")
        .bind(id.0.clone())
        .bind(kind.as_str())
        .bind(index)
        .execute(&mut w.conn)
        .await?;
    sqlx::query("INSERT INTO confirmations (declaration_id, kind, idx, reference, by_user, at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(id.0.clone())
        .bind(kind.as_str())
        .bind(index)
        .bind(reference.clone())
        .bind(actor_id.0.clone())
        .bind(ts(w.now))
        .execute(&mut w.conn)
        .await?;
    let what = match kind {
        ConfirmationKind::InputCleared => {
            format!("inputs[{index}].cleared confirmed ({reference})")
        }
        ConfirmationKind::UnionAgreement => format!("union_work.agreement confirmed ({reference})"),
    };
    w.audit(
        Some(&actor_id.0),
        Some(&studio.0),
        "declaration.confirm",
        "declaration",
        &id.0,
        None,
        None,
    );
    push_history(w, &id, Some(&actor_id.0), "confirm", None, None, &what).await?;
    retriage(w, &id, &what, Some(&actor_id.0)).await?;
    Ok(load_row(&mut w.conn, &id).await?.summary)
}

/// An obligation marked done, with its evidence.
async fn write_obligation_done(
    w: &mut WriteCtx,
    obligation: ObligationId,
    actor_id: UserId,
    evidence: String,
    decl: DeclarationId,
) -> Result<Obligation> {
    let status = sqlx::query("SELECT status, rule, kind FROM obligations WHERE id = $1")
        .bind(obligation.0.clone())
        .fetch_one(&mut w.conn)
        .await?;
    if get_s(&status, "status")? != ObligationStatus::Open.as_str() {
        return Err(StoreError::conflict("the obligation is not open"));
    }
    sqlx::query("UPDATE obligations SET status = 'done', done_by = $1, done_at = $2, evidence = $3 WHERE id = $4")
        .bind(actor_id.0.clone())
        .bind(ts(w.now))
        .bind(evidence.clone())
        .bind(obligation.0.clone())
        .execute(&mut w.conn)
        .await?;
    let row = load_row(&mut w.conn, &decl).await?;
    let open = sqlx::query("SELECT COUNT(*) AS n FROM obligations WHERE declaration_id = $1 AND revision = $2 AND status = 'open'")
        .bind(decl.0.clone())
        .bind(row.summary.revision)
        .fetch_one(&mut w.conn)
        .await?;
    sqlx::query("UPDATE declarations SET open_obligations = $1, version = version + 1, updated_at = $2 WHERE id = $3")
        .bind(get_i(&open, "n")?)
        .bind(ts(w.now))
        .bind(decl.0.clone())
        .execute(&mut w.conn)
        .await?;
    push_history(
        w,
        &decl,
        Some(&actor_id.0),
        "obligation_done",
        None,
        None,
        &format!(
            "obligation {} ({}) done: {evidence}",
            get_s(&status, "kind")?,
            get_s(&status, "rule")?
        ),
    )
    .await?;
    w.audit(
        Some(&actor_id.0),
        Some(&row.studio_id.0),
        "obligation.done",
        "obligation",
        &obligation.0,
        None,
        Some(digest(
            &row.salt,
            &super::record_state::obligation_state(&obligation.0, &evidence),
        )),
    );
    // The declaration's open obligations and version changed with it.
    audit_change(w, Some(&actor_id.0), &row, "declaration.obligation_done").await?;
    let mut obs = obligations_of(&mut w.conn, &decl, None).await?;
    obs.retain(|o| o.id == obligation);
    obs.pop()
        .ok_or_else(|| StoreError::NotFound(format!("obligation {obligation}")))
}

/// Approvals past their expiry become `expired`; consents past theirs lapse and their declarations are triaged again.
async fn write_expiries(w: &mut WriteCtx, today: Option<chrono::NaiveDate>) -> Result<usize> {
    let today = today.unwrap_or_else(|| w.now.date_naive());
    let mut changed = 0;
    let approved = sqlx::query("SELECT id, decision FROM declarations WHERE state = 'approved'")
        .fetch_all(&mut w.conn)
        .await?;
    for r in &approved {
        let id = DeclarationId(get_s(r, "id")?);
        let Some(d) = get_os(r, "decision")?
            .as_deref()
            .map(parse_json::<Decision>)
            .transpose()?
        else {
            continue;
        };
        if d.expires.is_some_and(|e| e < today) {
            let row = load_row(&mut w.conn, &id).await?;
            let to = row
                .summary
                .state
                .after(Transition::Expire)
                .map_err(|e| StoreError::conflict(e.0))?;
            sqlx::query("UPDATE declarations SET state = $1, version = version + 1, updated_at = $2 WHERE id = $3")
                .bind(to.as_str())
                .bind(ts(w.now))
                .bind(id.0.clone())
                .execute(&mut w.conn)
                .await?;
            let why = "the approval's expiry date passed";
            push_history(
                w,
                &id,
                None,
                "expire",
                Some(row.summary.state),
                Some(to),
                why,
            )
            .await?;
            let after = load_row(&mut w.conn, &id).await?;
            w.audit(
                None,
                Some(&row.studio_id.0),
                "declaration.expire",
                "declaration",
                &id.0,
                Some(digest(&row.salt, &decl_state(&row))),
                Some(digest(&row.salt, &decl_state(&after))),
            );
            changed += 1;
        }
    }
    let lapsed = sqlx::query("SELECT id, studio_id, performer FROM consents WHERE expires IS NOT NULL AND expires < $1 AND lapsed_at IS NULL AND revoked_at IS NULL")
        .bind(today.to_string())
        .fetch_all(&mut w.conn)
        .await?;
    for r in &lapsed {
        let cid = get_s(r, "id")?;
        let performer = get_os(r, "performer")?.unwrap_or_default();
        sqlx::query("UPDATE consents SET lapsed_at = $1 WHERE id = $2")
            .bind(ts(w.now))
            .bind(cid.clone())
            .execute(&mut w.conn)
            .await?;
        w.audit(
            None,
            Some(&get_s(r, "studio_id")?),
            "consent.expire",
            "consent",
            &cid,
            None,
            None,
        );
        let why = format!("{performer}'s consent expired");
        retriage_linked(w, Linked::Consent(&ConsentId(cid.clone())), &why, None).await?;
        changed += 1;
    }
    Ok(changed)
}

/// The `WHERE` clause (over `declarations d JOIN productions p`) and its arguments that keep
/// the declarations `actor` may see and `filter` and `states` keep; `None` when the caller
/// sees none.
fn visible_where(
    actor: &Principal,
    filter: &DeclarationFilter,
    states: &[State],
) -> Option<(String, Vec<String>)> {
    // Visibility: declarations of productions of the caller's studios, plus those of
    // their own organisations on linked productions.
    let mut studios = Vec::new();
    let mut orgs = Vec::new();
    for m in &actor.memberships {
        if m.org_kind == OrgKind::Studio && !studios.contains(&m.org_id.0) {
            studios.push(m.org_id.0.clone());
        }
        if !orgs.contains(&m.org_id.0) {
            orgs.push(m.org_id.0.clone());
        }
    }
    if orgs.is_empty() {
        return None;
    }
    let mut args: Vec<String> = Vec::new();
    let ph = |v: String, args: &mut Vec<String>| {
        args.push(v);
        format!("${}", args.len())
    };
    let studio_in = studios
        .iter()
        .map(|s| ph(s.clone(), &mut args))
        .collect::<Vec<_>>();
    let org_in = orgs
        .iter()
        .map(|s| ph(s.clone(), &mut args))
        .collect::<Vec<_>>();
    let mut wher = String::from("(");
    if !studio_in.is_empty() {
        wher.push_str(&format!("p.studio_id IN ({}) OR ", studio_in.join(",")));
    }
    wher.push_str(&format!("d.org_id IN ({}))", org_in.join(",")));
    if let Some(p) = &filter.production_id {
        wher.push_str(&format!(
            " AND d.production_id = {}",
            ph(p.0.clone(), &mut args)
        ));
    }
    if let Some(p) = &actor.restricted_to {
        wher.push_str(&format!(
            " AND d.production_id = {}",
            ph(p.0.clone(), &mut args)
        ));
    }
    if !states.is_empty() {
        let list: Vec<String> = states
            .iter()
            .map(|s| ph(s.as_str().to_owned(), &mut args))
            .collect();
        wher.push_str(&format!(" AND d.state IN ({})", list.join(",")));
    }
    if let Some(o) = &filter.outcome {
        wher.push_str(&format!(" AND d.outcome = {}", ph(o.clone(), &mut args)));
    }
    if let Some(o) = &filter.org_id {
        wher.push_str(&format!(" AND d.org_id = {}", ph(o.0.clone(), &mut args)));
    }
    Some((wher, args))
}
