//! The obligations of a production's uses, as the core drafts its actions before release
//! from them (`greenlight_core::disclosure`).

use greenlight_core::disclosure::{ObligationState, TrackedObligation, UseObligations};
use greenlight_core::wire;

use std::collections::HashMap;

use serde::Deserialize;

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

/// Only `outputs.media` of an effective declaration: the rest of the document is skipped.
#[derive(Deserialize)]
struct EffectiveMedia {
    #[serde(default)]
    outputs: Option<OutputsMedia>,
}

#[derive(Deserialize)]
struct OutputsMedia {
    #[serde(default)]
    media: Vec<String>,
}

impl Store {
    /// The production and, for every use the caller may see (withdrawn, rejected and revoked
    /// ones left out), its current revision's obligations with their states (void ones left
    /// out) and the effective declaration's `outputs.media`.
    ///
    /// Built on the batched disclosure read plus one query for the media, so a production with
    /// thousands of uses costs a handful of queries rather than one per use.
    pub async fn disclosure_obligations(
        &self,
        actor: &Principal,
        production: &ProductionId,
    ) -> Result<(Production, Vec<UseObligations>)> {
        let disclosure = self.disclosure(actor, production).await?;
        let mut media = self.current_media(production).await?;
        let uses = disclosure
            .uses
            .into_iter()
            .filter(|u| released(u.state))
            .map(|u| UseObligations {
                media: media.remove(&u.declaration_id.0).unwrap_or_default(),
                obligations: u.obligations.iter().filter_map(tracked).collect(),
                reference: u.reference,
                summary: u.summary,
            })
            .collect();
        Ok((disclosure.production, uses))
    }

    /// `outputs.media` of the effective declaration of the last triage of each current
    /// revision of the production's declarations, by declaration id.
    async fn current_media(
        &self,
        production: &ProductionId,
    ) -> Result<HashMap<String, Vec<String>>> {
        let mut conn = self.pool().acquire().await?;
        let mut media = HashMap::new();
        for (declaration, text) in super::records::current_effectives(&mut conn, production).await?
        {
            let listed = serde_json::from_str::<EffectiveMedia>(&text)
                .ok()
                .and_then(|e| e.outputs)
                .map(|o| o.media)
                .unwrap_or_default();
            media.insert(declaration, listed);
        }
        Ok(media)
    }
}
