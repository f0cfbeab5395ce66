//! The disclosure report of a production: every GenAI use, its outcome, decision,
//! conditions, consents, tools and obligations, as JSON and CSV.

use serde::Serialize;
use utoipa::ToSchema;

use crate::model::*;
use crate::{Result, Store};

/// One use in a disclosure report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisclosureRow {
    pub declaration_id: DeclarationId,
    pub reference: String,
    pub summary: String,
    pub organisation: OrgId,
    pub state: State,
    pub outcome: String,
    pub revision: i64,
    pub decision: Option<Decision>,
    /// Tools as declared, each with the registry's terms when registered.
    pub tools: Vec<String>,
    pub consents: Vec<Consent>,
    pub obligations: Vec<Obligation>,
    /// True for an approved use with obligations still open.
    pub approved_with_open_obligations: bool,
}

/// A production's disclosure report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Disclosure {
    pub production: Production,
    pub generated_at: chrono::DateTime<chrono::Utc>,
    pub uses: Vec<DisclosureRow>,
}

fn csv_field(s: &str) -> String {
    // Quote every field; neutralise spreadsheet formulas.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl Disclosure {
    /// The report as CSV: one line per use, lists joined with ` | `.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "ref,summary,organisation,state,outcome,revision,decision,decided_by,decided_at,conditions,expires,tools,consents,obligations,open_obligations\n",
        );
        for u in &self.uses {
            let d = u.decision.as_ref();
            let fields = [
                u.reference.clone(),
                u.summary.clone(),
                u.organisation.0.clone(),
                u.state.as_str().to_owned(),
                u.outcome.clone(),
                u.revision.to_string(),
                d.map(|d| d.action.as_str().to_owned()).unwrap_or_default(),
                d.map(|d| d.by.0.clone()).unwrap_or_default(),
                d.map(|d| crate::db::ts(d.at)).unwrap_or_default(),
                d.map(|d| d.conditions.join(" | ")).unwrap_or_default(),
                d.and_then(|d| d.expires)
                    .map(|e| e.to_string())
                    .unwrap_or_default(),
                u.tools.join(" | "),
                u.consents
                    .iter()
                    .map(|c| {
                        format!(
                            "{} ({}, {}, signed {}, sha256 {})",
                            c.performer, c.treatment, c.scope, c.signed, c.document_sha256
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" | "),
                u.obligations
                    .iter()
                    .map(|o| {
                        format!(
                            "{} [{}] {}{}",
                            o.kind,
                            o.status,
                            o.text,
                            o.evidence
                                .as_deref()
                                .map(|e| format!(" — done: {e}"))
                                .unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" | "),
                u.obligations
                    .iter()
                    .filter(|o| o.status == ObligationStatus::Open)
                    .count()
                    .to_string(),
            ];
            out.push_str(
                &fields
                    .iter()
                    .map(|f| csv_field(f))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            out.push('\n');
        }
        out
    }
}

impl Store {
    /// The disclosure report of a production, with what the caller may see.
    pub async fn disclosure(
        &self,
        actor: &Principal,
        production: &ProductionId,
    ) -> Result<Disclosure> {
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
            for s in page.items {
                if s.state == State::Withdrawn {
                    continue;
                }
                let d = self.declaration(actor, &s.id).await?;
                let mut consents = Vec::new();
                for l in &d.consent_links {
                    if let Ok(c) = self.consent(actor, &l.consent_id).await {
                        consents.push(c);
                    } else {
                        // Partners do not read the registry; they still see what was linked.
                        let mut conn = self.pool().acquire().await?;
                        consents.push(
                            super::registry::load_consent(&mut conn, &l.consent_id)
                                .await?
                                .0,
                        );
                    }
                }
                let effective = d
                    .current
                    .triages
                    .last()
                    .map(|t| t.effective.clone())
                    .unwrap_or_default();
                let tools = effective
                    .get("tools")
                    .and_then(|t| t.as_array())
                    .map(|ts| {
                        ts.iter()
                            .map(|t| {
                                let name = t.get("name").and_then(|v| v.as_str()).unwrap_or("?");
                                let data =
                                    t.get("data_use").and_then(|v| v.as_str()).unwrap_or("?");
                                format!("{name} (data use: {data})")
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let open = d
                    .obligations
                    .iter()
                    .any(|o| o.status == ObligationStatus::Open);
                uses.push(DisclosureRow {
                    declaration_id: s.id.clone(),
                    reference: s.reference.clone(),
                    summary: s.summary.clone(),
                    organisation: s.org_id.clone(),
                    state: s.state,
                    outcome: s.outcome.clone(),
                    revision: s.revision,
                    decision: d.decision.clone(),
                    tools,
                    consents,
                    obligations: d
                        .obligations
                        .into_iter()
                        .filter(|o| o.status != ObligationStatus::Void)
                        .collect(),
                    approved_with_open_obligations: s.state == State::Approved && open,
                });
            }
            offset += n;
            if n < PageRequest::MAX_LIMIT {
                break;
            }
        }
        Ok(Disclosure {
            production: p,
            generated_at: chrono::Utc::now(),
            uses,
        })
    }
}
