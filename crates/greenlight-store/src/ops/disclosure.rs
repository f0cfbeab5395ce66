//! The disclosure report of a production: every GenAI use, its outcome, decision,
//! conditions, consents, tools and obligations, as JSON and CSV.

use greenlight_core::disclosure::csv_field;
use serde::Serialize;
use utoipa::ToSchema;

use std::collections::HashMap;

use super::records::{CONSENT_COLS, current_effectives, decisions_of};
use crate::db::parse_json;
use crate::model::*;
use crate::{Result, Store, StoreError};

/// One use in a disclosure report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisclosureRow {
    pub declaration_id: DeclarationId,
    pub reference: String,
    pub summary: String,
    pub organisation: OrgId,
    /// The organisation's name, as the report prints it.
    pub organisation_name: String,
    pub state: State,
    #[schema(value_type = String)]
    pub outcome: greenlight_core::Outcome,
    pub revision: i64,
    pub decision: Option<Decision>,
    /// Who gave the decision, by name (or email), as the report prints it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by_name: Option<String>,
    /// Tools as declared, each with the registry's terms when registered.
    pub tools: Vec<String>,
    pub consents: Vec<Consent>,
    pub obligations: Vec<Obligation>,
    /// True for an approved use with obligations still open.
    pub approved_with_open_obligations: bool,
    /// Set when a registered tool of the use leaves no trace in its output (legal recorded
    /// `traces: ["none"]`): a delivery scan finds that output only through the ledger, so the
    /// use's provenance depends on the ledger alone. Names the tools and the ledger entries
    /// registered under the use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_only: Option<LedgerOnly>,
}

/// A use whose provenance depends on the ledger alone.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerOnly {
    /// The registered tools that leave no trace.
    pub tools: Vec<String>,
    /// The ledger entries (file names) registered under the use's reference, when the
    /// production's ledger is kept in this database.
    pub ledger_entries: Vec<String>,
}

impl LedgerOnly {
    /// The flag as the report prints it.
    pub fn statement(&self) -> String {
        let entries = match self.ledger_entries.len() {
            0 => "no ledger entry is registered under it".to_owned(),
            _ => format!("ledger entries: {}", self.ledger_entries.join(", ")),
        };
        format!(
            "provenance depends on the ledger alone ({} leaves no trace; {entries})",
            self.tools.join(", ")
        )
    }
}

/// Which uses a report holds: every use of the production (for the studio's members), or
/// only those of the reader's own organisations (for a company or vendor on it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ReportScope {
    /// True when the report lists every use of the production.
    pub complete: bool,
    /// The organisations whose uses it lists, when it is not complete.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub organisations: Vec<String>,
    /// What the report covers, in a sentence: "Pixelforge VFX's uses on The Lighthouse
    /// Keeper; other organisations' uses are not shown."
    pub statement: String,
}

impl ReportScope {
    fn new(production: &Production, reader: &Principal) -> Self {
        if reader.is_member(&production.studio_id) {
            return ReportScope {
                complete: true,
                organisations: Vec::new(),
                statement: format!("Every use declared on {}.", production.facts.title),
            };
        }
        let mut organisations: Vec<String> = Vec::new();
        for m in &reader.memberships {
            if production.linked_orgs.contains(&m.org_id) && !organisations.contains(&m.org_name) {
                organisations.push(m.org_name.clone());
            }
        }
        let whose = match organisations.as_slice() {
            [] => "Your organisation's".to_owned(),
            [one] => format!("{one}'s"),
            [init @ .., last] => format!("{} and {last}'s", init.join(", ")),
        };
        ReportScope {
            complete: false,
            statement: format!(
                "{whose} uses on {}; other organisations' uses are not shown.",
                production.facts.title
            ),
            organisations,
        }
    }
}

/// A production's disclosure report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Disclosure {
    pub production: Production,
    pub generated_at: chrono::DateTime<chrono::Utc>,
    /// What the report covers: a report never speaks for uses its reader may not see.
    pub scope: ReportScope,
    pub uses: Vec<DisclosureRow>,
    /// The packs' aggregate rules' findings about the production as a whole: for the
    /// studio's members only (they are drawn from every organisation's uses).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub production_findings: Vec<greenlight_core::wire::ProductionFinding>,
}

impl Disclosure {
    /// The report as CSV: one line per use, lists joined with ` | `, organisations and
    /// people by name. A report that does not hold every use of the production opens with a
    /// line saying so, above the header.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        if !self.scope.complete {
            out.push_str(&csv_field(&self.scope.statement));
            out.push('\n');
        }
        out.push_str(
            "ref,summary,organisation,state,outcome,revision,decision,decided_by,decided_at,conditions,expires,tools,consents,obligations,open_obligations,provenance\n",
        );
        for u in &self.uses {
            let d = u.decision.as_ref();
            let fields = [
                u.reference.clone(),
                u.summary.clone(),
                u.organisation_name.clone(),
                u.state.as_str().to_owned(),
                u.outcome.as_str().to_owned(),
                u.revision.to_string(),
                d.map(|d| d.action.as_str().to_owned()).unwrap_or_default(),
                u.decided_by_name.clone().unwrap_or_default(),
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
                u.ledger_only
                    .as_ref()
                    .map(LedgerOnly::statement)
                    .unwrap_or_default(),
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
    /// The disclosure report of a production, with what the caller may see: the visible
    /// uses are listed page by page, then their decisions, current triages, consents and
    /// obligations are read with one query each for the whole production.
    pub async fn disclosure(
        &self,
        actor: &Principal,
        production: &ProductionId,
    ) -> Result<Disclosure> {
        let p = self.production(actor, production).await?;
        let summaries = self.disclosed_uses(actor, production).await?;
        let pid = production.0.clone();
        let mut conn = self.pool().acquire().await?;

        let mut decisions = decisions_of(&mut conn, production).await?;

        // The tools of the effective declaration of the last triage of each current
        // revision (only the tools are parsed: the rest of the document is skipped).
        let mut tools: HashMap<String, Vec<String>> = HashMap::new();
        for (declaration, text) in current_effectives(&mut conn, production).await? {
            let listed = match serde_json::from_str::<EffectiveTools>(&text) {
                Ok(e) => tools_list(e.tools.as_ref()),
                Err(_) => tools_of(&parse_json(&text)?),
            };
            tools.insert(declaration, listed);
        }

        let mut consents: HashMap<String, Consent> = HashMap::new();
        let sql = format!(
            "SELECT {CONSENT_COLS} FROM consents WHERE id IN (SELECT l.consent_id FROM consent_links l \
             JOIN declarations d ON d.id = l.declaration_id WHERE d.production_id = $1)"
        );
        for c in sqlx::query_as::<_, Consent>(sqlx::AssertSqlSafe(sql))
            .bind(pid.clone())
            .fetch_all(&mut *conn)
            .await?
        {
            consents.insert(c.id.0.clone(), c);
        }
        let mut links: HashMap<String, Vec<Consent>> = HashMap::new();
        for (declaration, id) in sqlx::query_as::<_, (String, String)>(
            "SELECT l.declaration_id, l.consent_id FROM consent_links l \
             JOIN declarations d ON d.id = l.declaration_id \
             WHERE d.production_id = $1 ORDER BY l.declaration_id, l.performer",
        )
        .bind(pid.clone())
        .fetch_all(&mut *conn)
        .await?
        {
            let c = consents
                .get(&id)
                .cloned()
                .ok_or_else(|| StoreError::NotFound(format!("consent {id}")))?;
            links.entry(declaration).or_default().push(c);
        }

        let mut obligations: HashMap<String, Vec<Obligation>> = HashMap::new();
        for o in sqlx::query_as::<_, Obligation>(
            "SELECT o.* FROM obligations o \
             JOIN declarations d ON d.id = o.declaration_id AND o.revision = d.revision \
             WHERE d.production_id = $1 ORDER BY o.declaration_id, o.pack, o.rule, o.kind",
        )
        .bind(pid)
        .fetch_all(&mut *conn)
        .await?
        {
            obligations
                .entry(o.declaration_id.0.clone())
                .or_default()
                .push(o);
        }
        // Registered tools that leave no trace, per use.
        let mut no_trace: HashMap<String, Vec<String>> = HashMap::new();
        for (declaration, name) in sqlx::query_as::<_, (String, String)>(
            "SELECT dt.declaration_id, t.name FROM declaration_tools dt \
             JOIN tools t ON t.id = dt.tool_id JOIN declarations d ON d.id = dt.declaration_id \
             WHERE d.production_id = $1 AND t.traces = '[\"none\"]' ORDER BY t.name",
        )
        .bind(production.0.clone())
        .fetch_all(&mut *conn)
        .await?
        {
            no_trace.entry(declaration).or_default().push(name);
        }
        let ledger = if no_trace.is_empty() {
            HashMap::new()
        } else {
            crate::banks::file_names_by_use(&mut conn, &production.0).await?
        };
        let deciders: Vec<&UserId> = summaries
            .iter()
            .filter_map(|s| decisions.get(&s.id.0).map(|d| &d.by))
            .collect();
        let names = names_of(&mut conn, summaries.iter().map(|s| &s.org_id), deciders).await?;
        drop(conn);

        let uses = summaries
            .into_iter()
            .map(|s| {
                let id = &s.id.0;
                let all = obligations.remove(id).unwrap_or_default();
                let open = all.iter().any(|o| o.status == ObligationStatus::Open);
                let decision = decisions.remove(id);
                let ledger_only = no_trace.remove(id).map(|tools| LedgerOnly {
                    tools,
                    ledger_entries: ledger.get(&s.reference).cloned().unwrap_or_default(),
                });
                DisclosureRow {
                    ledger_only,
                    declaration_id: s.id.clone(),
                    reference: s.reference,
                    summary: s.summary,
                    organisation_name: names.org(&s.org_id),
                    organisation: s.org_id,
                    state: s.state,
                    outcome: s.outcome,
                    revision: s.revision,
                    decided_by_name: decision.as_ref().map(|d| names.user(&d.by)),
                    decision,
                    tools: tools.remove(id).unwrap_or_default(),
                    consents: links.remove(id).unwrap_or_default(),
                    obligations: all
                        .into_iter()
                        .filter(|o| o.status != ObligationStatus::Void)
                        .collect(),
                    approved_with_open_obligations: s.state == State::Approved && open,
                }
            })
            .collect();
        let production_findings = self
            .production_findings(actor, &p.id)
            .await?
            .unwrap_or_default();
        Ok(Disclosure {
            scope: ReportScope::new(&p, actor),
            production: p,
            generated_at: chrono::Utc::now(),
            uses,
            production_findings,
        })
    }

    /// The uses a disclosure report lists: the production's declarations the caller may
    /// see, oldest first, without the withdrawn ones.
    async fn disclosed_uses(
        &self,
        actor: &Principal,
        production: &ProductionId,
    ) -> Result<Vec<DeclarationSummary>> {
        let filter = DeclarationFilter {
            production_id: Some(production.clone()),
            oldest_first: true,
            ..Default::default()
        };
        let mut all = self.all_declarations(actor, &filter).await?;
        all.retain(|s| s.state != State::Withdrawn);
        Ok(all)
    }

    /// [`Store::disclosure`] the slow way, loading each use's full record one at a time.
    /// Kept to check the batched report against (tests, benchmarks); not for callers.
    #[doc(hidden)]
    pub async fn disclosure_one_by_one(
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
                            super::records::load_consent(&mut conn, &l.consent_id)
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
                let tools = tools_of(&effective);
                let open = d
                    .obligations
                    .iter()
                    .any(|o| o.status == ObligationStatus::Open);
                let mut conn = self.pool().acquire().await?;
                let names =
                    names_of(&mut conn, [&s.org_id], d.decision.iter().map(|x| &x.by)).await?;
                let silent: Vec<String> = sqlx::query_scalar(
                    "SELECT t.name FROM declaration_tools dt JOIN tools t ON t.id = dt.tool_id \
                     WHERE dt.declaration_id = $1 AND t.traces = '[\"none\"]' ORDER BY t.name",
                )
                .bind(s.id.0.clone())
                .fetch_all(&mut *conn)
                .await?;
                let ledger_only = if silent.is_empty() {
                    None
                } else {
                    let ledger = crate::banks::file_names_by_use(&mut conn, &production.0).await?;
                    Some(LedgerOnly {
                        tools: silent,
                        ledger_entries: ledger.get(&s.reference).cloned().unwrap_or_default(),
                    })
                };
                drop(conn);
                uses.push(DisclosureRow {
                    declaration_id: s.id.clone(),
                    reference: s.reference.clone(),
                    summary: s.summary.clone(),
                    organisation_name: names.org(&s.org_id),
                    decided_by_name: d.decision.as_ref().map(|x| names.user(&x.by)),
                    organisation: s.org_id.clone(),
                    state: s.state,
                    outcome: s.outcome,
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
                    ledger_only,
                });
            }
            offset += n;
            if n < PageRequest::MAX_LIMIT {
                break;
            }
        }
        let production_findings = self
            .production_findings(actor, &p.id)
            .await?
            .unwrap_or_default();
        Ok(Disclosure {
            scope: ReportScope::new(&p, actor),
            production: p,
            generated_at: chrono::Utc::now(),
            uses,
            production_findings,
        })
    }
}

/// Names of the organisations and deciders a report mentions, read once each.
struct Names {
    orgs: HashMap<String, String>,
    users: HashMap<String, String>,
}

impl Names {
    fn org(&self, id: &OrgId) -> String {
        self.orgs
            .get(&id.0)
            .cloned()
            .unwrap_or_else(|| id.0.clone())
    }
    fn user(&self, id: &UserId) -> String {
        self.users
            .get(&id.0)
            .cloned()
            .unwrap_or_else(|| id.0.clone())
    }
}

async fn names_of<'a>(
    conn: &mut sqlx::AnyConnection,
    orgs_of_uses: impl IntoIterator<Item = &'a OrgId>,
    deciders: impl IntoIterator<Item = &'a UserId>,
) -> Result<Names> {
    let org_ids: Vec<String> = orgs_of_uses.into_iter().map(|o| o.0.clone()).collect();
    let user_ids: Vec<String> = deciders.into_iter().map(|u| u.0.clone()).collect();
    let mut orgs = HashMap::new();
    for id in &org_ids {
        if !orgs.contains_key(id) {
            let name: Option<String> = sqlx::query_scalar("SELECT name FROM orgs WHERE id = $1")
                .bind(id.clone())
                .fetch_optional(&mut *conn)
                .await?;
            if let Some(name) = name {
                orgs.insert(id.clone(), name);
            }
        }
    }
    let mut users = HashMap::new();
    for id in &user_ids {
        if !users.contains_key(id) {
            let row: Option<(String, String)> =
                sqlx::query_as("SELECT name, email FROM users WHERE id = $1")
                    .bind(id.clone())
                    .fetch_optional(&mut *conn)
                    .await?;
            if let Some((name, email)) = row {
                users.insert(
                    id.clone(),
                    if name.trim().is_empty() { email } else { name },
                );
            }
        }
    }
    Ok(Names { orgs, users })
}

/// Just the `tools` of an effective declaration.
#[derive(serde::Deserialize)]
struct EffectiveTools {
    #[serde(default)]
    tools: Option<serde_json::Value>,
}

/// The tools of an effective declaration, as the report lists them.
fn tools_of(effective: &serde_json::Value) -> Vec<String> {
    tools_list(effective.get("tools"))
}

/// The report's tool lines from an effective declaration's `tools` value.
fn tools_list(tools: Option<&serde_json::Value>) -> Vec<String> {
    tools
        .and_then(|t| t.as_array())
        .map(|ts| {
            ts.iter()
                .map(|t| {
                    let name = t.get("name").and_then(|v| v.as_str()).unwrap_or("?");
                    let data = t.get("data_use").and_then(|v| v.as_str()).unwrap_or("?");
                    format!("{name} (data use: {data})")
                })
                .collect()
        })
        .unwrap_or_default()
}
