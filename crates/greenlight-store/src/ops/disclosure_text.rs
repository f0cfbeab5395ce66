//! The obligations of a production's uses, as the core drafts its actions before release
//! from them (`greenlight_core::disclosure`).

use greenlight_core::disclosure::{ObligationState, TrackedObligation, UseObligations};
use greenlight_core::wire;

use crate::model::*;
use crate::{Result, Store};

/// Uses in these states owe nothing before release.
fn released(state: State) -> bool {
    !matches!(state, State::Withdrawn | State::Rejected | State::Revoked)
}

/// The obligation as the core's wire type, with its state and evidence.
fn tracked(o: &Obligation) -> Option<TrackedObligation> {
    let state = match o.status {
        ObligationStatus::Open => ObligationState::Open,
        ObligationStatus::Done => ObligationState::Done,
        ObligationStatus::Void => return None,
    };
    Some(TrackedObligation {
        id: Some(o.id.0.clone()),
        obligation: wire::Obligation {
            rule: o.rule.clone(),
            pack: o.pack.clone(),
            kind: o.kind.clone(),
            text: o.text.clone(),
            due: o.due.clone().unwrap_or_else(|| "first exposure".to_owned()),
            source: String::new(),
            fields: Vec::new(),
        },
        state,
        evidence: o.evidence.clone(),
    })
}

impl Store {
    /// The production and, for every use the caller may see (withdrawn, rejected and revoked
    /// ones left out), its current revision's obligations with their states (void ones left
    /// out) and the effective declaration's `outputs.media`.
    pub async fn disclosure_obligations(
        &self,
        actor: &Principal,
        production: &ProductionId,
    ) -> Result<(Production, Vec<UseObligations>)> {
        let p = self.production(actor, production).await?;
        let mut uses = Vec::new();
        let mut offset = 0;
        loop {
            let filter = DeclarationFilter {
                production_id: Some(production.clone()),
                oldest_first: true,
                ..Default::default()
            };
            let page = self
                .declarations(
                    actor,
                    &filter,
                    PageRequest {
                        offset,
                        limit: PageRequest::MAX_LIMIT,
                    },
                )
                .await?;
            let n = page.items.len() as i64;
            for s in page.items.into_iter().filter(|s| released(s.state)) {
                let d = self.declaration(actor, &s.id).await?;
                let media = d
                    .current
                    .triages
                    .last()
                    .and_then(|t| t.effective.pointer("/outputs/media"))
                    .and_then(|m| m.as_array())
                    .map(|m| {
                        m.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let obligations = d
                    .obligations
                    .iter()
                    .filter(|o| o.revision == s.revision)
                    .filter_map(tracked)
                    .collect();
                uses.push(UseObligations {
                    reference: s.reference,
                    summary: s.summary,
                    media,
                    obligations,
                });
            }
            offset += n;
            if n < PageRequest::MAX_LIMIT {
                break;
            }
        }
        Ok((p, uses))
    }
}
