//! A production's declarations as a delivery scan needs them: per `use.ref`, whether the
//! effective declaration's output is final, whether the current revision is approved, the
//! decision, and whether the current triage obliges the AI marking to be kept.
//!
//! One query per kind of record for the whole production, as the disclosure report reads.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::get_s;
use super::records::{current_effectives, decisions_of};
use crate::db::parse_json;
use crate::model::*;
use crate::{Result, Store};

/// The obligation kind of EU AI Act Art. 50(2): the machine-readable AI marking must stay.
pub const KEEP_MARKING: &str = "keep-marking";

/// One declaration of a production, reduced to what a delivery scan decides with.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScanUse {
    pub declaration_id: DeclarationId,
    /// The declaration's `use.ref`; ledger entries name it.
    pub reference: String,
    pub state: State,
    /// The current revision.
    pub revision: i64,
    /// `outputs.final` of the effective declaration (current revision, latest triage).
    #[serde(rename = "final")]
    pub is_final: bool,
    /// True only when the current revision is approved (not suspended, expired, revoked,
    /// rejected, withdrawn or still in review).
    pub approved: bool,
    /// The latest decision, when there is one (it may be for an earlier revision).
    pub decision: Option<Decision>,
    /// The e-mail address of who decided, when the user is still on record and the caller is
    /// a member of the production's studio.
    pub decided_by_email: Option<String>,
    /// The current triage carries a `keep-marking` obligation (open or done).
    pub keep_marking: bool,
}

/// Just `outputs.final` of an effective declaration.
#[derive(Deserialize)]
struct EffectiveOutputs {
    #[serde(default)]
    outputs: Option<Outputs>,
}

#[derive(Deserialize)]
struct Outputs {
    #[serde(rename = "final", default)]
    is_final: bool,
}

impl Store {
    /// The declarations of `production` the caller may see, every state included (a
    /// withdrawn use is still named by its ledger entries), oldest first. A production the
    /// caller may not see is `NotFound`.
    pub async fn scan_uses(
        &self,
        actor: &Principal,
        production: &ProductionId,
    ) -> Result<(Production, Vec<ScanUse>)> {
        let p = self.production(actor, production).await?;
        let filter = DeclarationFilter {
            production_id: Some(production.clone()),
            oldest_first: true,
            ..Default::default()
        };
        let summaries = self.all_declarations(actor, &filter).await?;
        let pid = production.0.clone();
        let mut conn = self.pool().acquire().await?;

        let mut decisions = decisions_of(&mut conn, production).await?;

        // `outputs.final` of the effective declaration of the last triage of each current
        // revision: facts of record may differ from the partner's text, and they win.
        let mut finals: HashMap<String, bool> = HashMap::new();
        for (declaration, text) in current_effectives(&mut conn, production).await? {
            let e: EffectiveOutputs = parse_json(&text)?;
            finals.insert(declaration, e.outputs.is_some_and(|o| o.is_final));
        }

        // Obligations of the current revision are those of its latest triage: a re-triage
        // voids the ones it no longer gives.
        let mut keep: HashSet<String> = HashSet::new();
        for r in sqlx::query(
            "SELECT o.declaration_id FROM obligations o \
             JOIN declarations d ON d.id = o.declaration_id AND o.revision = d.revision \
             WHERE d.production_id = $1 AND o.kind = $2 AND o.status <> 'void'",
        )
        .bind(pid)
        .bind(KEEP_MARKING)
        .fetch_all(&mut *conn)
        .await?
        {
            keep.insert(get_s(&r, "declaration_id")?);
        }

        // Who decided is named by e-mail to the studio's own members only.
        let studio_member = actor.is_member(&p.studio_id);
        let mut emails: HashMap<String, Option<String>> = HashMap::new();
        for d in decisions.values().filter(|_| studio_member) {
            if emails.contains_key(&d.by.0) {
                continue;
            }
            let email = sqlx::query("SELECT email FROM users WHERE id = $1")
                .bind(d.by.0.clone())
                .fetch_optional(&mut *conn)
                .await?
                .map(|r| get_s(&r, "email"))
                .transpose()?;
            emails.insert(d.by.0.clone(), email);
        }
        drop(conn);

        let uses = summaries
            .into_iter()
            .map(|s| {
                let id = &s.id.0;
                let decision = decisions.remove(id);
                let decided_by_email = decision
                    .as_ref()
                    .and_then(|d| emails.get(&d.by.0).cloned().flatten());
                ScanUse {
                    declaration_id: s.id.clone(),
                    reference: s.reference,
                    state: s.state,
                    revision: s.revision,
                    is_final: finals.get(id).copied().unwrap_or(false),
                    approved: s.state == State::Approved,
                    decision,
                    decided_by_email,
                    keep_marking: keep.contains(id),
                }
            })
            .collect();
        Ok((p, uses))
    }
}
