//! A production's pack set: the effect of switching it, shown on the production's live
//! declarations before anything is written (the preview), and the switch itself (adoption),
//! which triages every live declaration again in place and answers the same change list.

use std::sync::Arc;

use greenlight_core::declaration::Declaration;
use greenlight_core::diff::{BeforeAfter, OutcomeCounts, Subject, Summary, compare_with_results};
use greenlight_core::eval::{LiveDeclaration, evaluate_production};
use greenlight_core::pack::Pack;
use greenlight_core::wire::ProductionFinding;
use serde::Serialize;
use utoipa::ToSchema;

use super::pack_records::{check_packs, resolve_packs};
use super::productions::{ProductionRecord, write_production};
use super::{get_s, today};
use crate::db::parse_json;
use crate::model::*;
use crate::{Result, Store, StoreError};

/// One live declaration whose outcome, blockers or obligations would change, or whose
/// approval would be suspended, with the proposed packs.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PackChange {
    pub declaration_id: DeclarationId,
    pub use_ref: String,
    /// `outcome`, `rules` (fired), `blockers` (open blockers' rules), `obligations` (kinds).
    #[schema(value_type = Object)]
    pub before: Summary,
    #[schema(value_type = Object)]
    pub after: Summary,
    /// The declaration is approved and its check result would differ: adoption suspends
    /// the approval, as any re-triage whose result changes does.
    pub approval_suspended: bool,
}

/// What switching a production's packs does to its live declarations.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PackPreview {
    pub changes: Vec<PackChange>,
    /// Live declarations per outcome, with the current and the proposed packs.
    #[schema(value_type = Object)]
    pub counts: BeforeAfter<OutcomeCounts>,
    /// The aggregate rules' production-level findings with each set (studio members only).
    #[schema(value_type = Object)]
    pub production_findings: BeforeAfter<Vec<ProductionFinding>>,
}

/// A live declaration as the preview compares it: its current effective declaration, and
/// whether an approval rests on its current result.
struct Live {
    id: DeclarationId,
    org: OrgId,
    declaration: Declaration,
    result: greenlight_core::CheckResult,
    approved: bool,
}

impl Store {
    /// Shows what switching `production` to `packs` would change, writing nothing: every live
    /// declaration's current effective revision is evaluated with the current and the
    /// proposed packs. The studio's legal and admins only.
    pub async fn preview_packs(
        &self,
        actor: &Principal,
        production: &ProductionId,
        packs: &[String],
    ) -> Result<PackPreview> {
        let p = self.production(actor, production).await?;
        may_change_packs(actor, &p)?;
        let (from, to) = self.pack_sets(&p, packs).await?;
        let live = self.live_declarations(production).await?;
        preview(&p, &live, &from, &to)
    }

    /// Switches `production` to `packs` (the production's ETag in `if_match`): every live
    /// declaration is triaged again in place, approvals whose result changed are suspended,
    /// the switch and each re-triage are audited with the packs' digests. Answers the change
    /// list the preview gave.
    pub async fn adopt_packs(
        &self,
        actor: &Principal,
        production: &ProductionId,
        if_match: Option<&str>,
        packs: Vec<String>,
    ) -> Result<PackPreview> {
        let p = self.production(actor, production).await?;
        may_change_packs(actor, &p)?;
        let (from, to) = self.pack_sets(&p, &packs).await?;
        let version = version_in(if_match, &p)?;
        let live = self.live_declarations(production).await?;
        let answer = preview(&p, &live, &from, &to)?;
        let (id, actor_id) = (p.id.clone(), actor.user.id.0.clone());
        let record = ProductionRecord {
            facts: p.facts.clone(),
            packs,
            contacts: p.contacts.clone(),
        };
        self.write(move |w| Box::pin(write_production(w, id, actor_id, record, Some(version))))
            .await?;
        Ok(answer)
    }

    /// The production-level findings of the aggregate rules of `production`'s packs over its
    /// live declarations, as they stand now; `None` for a caller outside the studio (the
    /// findings are drawn from every organisation's uses).
    pub async fn production_findings(
        &self,
        actor: &Principal,
        production: &ProductionId,
    ) -> Result<Option<Vec<ProductionFinding>>> {
        let p = self.production(actor, production).await?;
        if !actor.is_member(&p.studio_id) {
            return Ok(None);
        }
        let packs =
            resolve_packs(&mut *self.pool().acquire().await?, &p.studio_id, &p.packs).await?;
        if !packs.iter().any(|pack| pack.has_aggregates()) {
            return Ok(Some(Vec::new()));
        }
        let live = self.live_declarations(production).await?;
        let decls: Vec<LiveDeclaration<'_>> = live
            .iter()
            .map(|l| LiveDeclaration {
                reference: &l.id.0,
                organisation: Some(l.org.0.as_str()),
                declaration: &l.declaration,
                result: &l.result,
            })
            .collect();
        evaluate_production(&decls, &packs, today())
            .map(Some)
            .map_err(|e| StoreError::Evaluation {
                pack: p.packs.join(", "),
                message: e.to_string(),
            })
    }

    /// What switching `p` to `packs` changes on its live declarations (the preview's answer).
    pub(crate) async fn pack_changes(
        &self,
        p: &Production,
        packs: &[String],
    ) -> Result<PackPreview> {
        let (from, to) = self.pack_sets(p, packs).await?;
        let live = self.live_declarations(&p.id).await?;
        preview(p, &live, &from, &to)
    }

    /// The production's current packs and the proposed ones (checked), resolved.
    async fn pack_sets(
        &self,
        p: &Production,
        proposed: &[String],
    ) -> Result<(Vec<Arc<Pack>>, Vec<Arc<Pack>>)> {
        let mut conn = self.pool().acquire().await?;
        let to = check_packs(&mut conn, &p.studio_id, proposed).await?;
        let from = resolve_packs(&mut conn, &p.studio_id, &p.packs).await?;
        Ok((from, to))
    }

    /// The production's live declarations with their current effective declaration and result.
    async fn live_declarations(&self, production: &ProductionId) -> Result<Vec<Live>> {
        let mut conn = self.pool().acquire().await?;
        let rows = sqlx::query(
            "SELECT t.declaration_id, t.effective, t.result, d.org_id, d.state FROM triages t \
             JOIN declarations d ON d.id = t.declaration_id AND t.revision = d.revision \
             WHERE d.production_id = $1 AND t.seq = (SELECT MAX(t2.seq) FROM triages t2 \
               WHERE t2.declaration_id = t.declaration_id AND t2.revision = t.revision) \
             ORDER BY d.created_at, d.id",
        )
        .bind(production.0.clone())
        .fetch_all(&mut *conn)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let state: State = crate::db::parse_enum(&get_s(r, "state")?)?;
            if !state.is_live() {
                continue;
            }
            out.push(Live {
                id: DeclarationId(get_s(r, "declaration_id")?),
                org: OrgId(get_s(r, "org_id")?),
                declaration: parse_json(&get_s(r, "effective")?)?,
                result: parse_json(&get_s(r, "result")?)?,
                approved: state == State::Approved,
            });
        }
        Ok(out)
    }
}

/// Only the studio's legal and admins preview and adopt pack sets.
fn may_change_packs(actor: &Principal, p: &Production) -> Result<()> {
    if actor.has_role(&p.studio_id, Role::Legal) || actor.has_role(&p.studio_id, Role::Admin) {
        Ok(())
    } else {
        Err(StoreError::Forbidden(
            "only legal or an admin of the studio changes a production's packs".into(),
        ))
    }
}

/// The production's version the caller's `If-Match` names; `*` or no header is refused, so
/// nobody adopts a pack set over a production they never saw.
fn version_in(if_match: Option<&str>, p: &Production) -> Result<i64> {
    let current = super::productions::production_etag_of(p.version);
    match if_match.map(str::trim) {
        Some(given) if given == current => Ok(p.version),
        other => Err(StoreError::Stale {
            record: "production",
            given: other.unwrap_or_default().to_owned(),
            current,
        }),
    }
}

fn preview(
    p: &Production,
    live: &[Live],
    from: &[Arc<Pack>],
    to: &[Arc<Pack>],
) -> Result<PackPreview> {
    let subjects: Vec<Subject<'_, DeclarationId>> = live
        .iter()
        .map(|l| Subject {
            key: l.id.clone(),
            declaration: &l.declaration,
            organisation: Some(l.org.0.as_str()),
        })
        .collect();
    let as_of = today();
    let (diff, after) =
        compare_with_results(&subjects, from, to, as_of).map_err(|e| StoreError::Evaluation {
            pack: p.packs.join(", "),
            message: e.to_string(),
        })?;
    let mut listed: std::collections::HashMap<DeclarationId, _> = diff
        .changes
        .into_iter()
        .map(|c| (c.subject.clone(), c))
        .collect();
    let mut changes = Vec::new();
    for (l, after) in live.iter().zip(&after) {
        // What re-triage compares: the stored result's judgement against the new one's.
        let suspended = l.approved && !after.same_judgement(&l.result);
        let listed = listed.remove(&l.id);
        if listed.is_some() || suspended {
            changes.push(PackChange {
                declaration_id: l.id.clone(),
                use_ref: l.declaration.usage.reference.clone(),
                before: listed
                    .as_ref()
                    .map(|c| c.before.clone())
                    .unwrap_or_else(|| Summary::of(&l.result)),
                after: listed
                    .map(|c| c.after)
                    .unwrap_or_else(|| Summary::of(after)),
                approval_suspended: suspended,
            });
        }
    }
    Ok(PackPreview {
        changes,
        counts: diff.counts,
        production_findings: diff.production_findings,
    })
}
