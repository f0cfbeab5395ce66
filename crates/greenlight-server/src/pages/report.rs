//! The disclosure report of a production: print-ready HTML, CSV and JSON.

use axum::extract::{Path, State};
use greenlight_store::{DecisionAction, Disclosure, ProductionId};

use super::views::{ReportPage, ReportRow, outcome_badge, state_badge};
use super::{Ctx, PageResult, download, queries, render, when};
use crate::state::AppState;

/// The report page of a disclosure (also what the benchmark renders).
pub fn report_page(
    ctx_layout: super::views::Layout,
    d: &Disclosure,
    orgs: &std::collections::HashMap<String, String>,
) -> ReportPage {
    let p = &d.production;
    let rows: Vec<ReportRow> = d
        .uses
        .iter()
        .map(|u| ReportRow {
            reference: u.reference.clone(),
            summary: u.summary.clone(),
            href: format!("/declarations/{}", u.declaration_id),
            organisation: orgs
                .get(&u.organisation.0)
                .cloned()
                .unwrap_or_else(|| u.organisation_name.clone()),
            outcome: outcome_badge(u.outcome.as_str()),
            state: state_badge(u.state.as_str()),
            decision: u
                .decision
                .as_ref()
                .map(|x| {
                    let verb = match x.action {
                        DecisionAction::Approve => "approved",
                        DecisionAction::Reject => "rejected",
                        DecisionAction::RequestChanges => "changes requested",
                        DecisionAction::Revoke => "revoked",
                    };
                    let mut s = format!("{verb} {}", x.at.format("%Y-%m-%d"));
                    if let Some(by) = &u.decided_by_name {
                        s.push_str(&format!(" by {by}"));
                    }
                    if let Some(e) = x.expires {
                        s.push_str(&format!(", until {e}"));
                    }
                    s
                })
                .unwrap_or_default(),
            conditions: u
                .decision
                .as_ref()
                .map(|x| x.conditions.clone())
                .unwrap_or_default(),
            consents: u
                .consents
                .iter()
                .map(|c| {
                    format!(
                        "{} — {}, by {}, \u{201c}{}\u{201d}, signed {}{}",
                        c.performer,
                        c.treatment,
                        c.by,
                        c.scope,
                        c.signed,
                        if c.revoked_at.is_some() {
                            " (revoked)"
                        } else {
                            ""
                        }
                    )
                })
                .collect(),
            tools: u.tools.clone(),
            ledger_only: u
                .ledger_only
                .as_ref()
                .map(|l| l.statement())
                .unwrap_or_default(),
        })
        .collect();
    let counts = greenlight_core::Outcome::ALL
        .iter()
        .map(|o| {
            (
                outcome_badge(o.as_str()),
                d.uses.iter().filter(|u| u.outcome == *o).count(),
            )
        })
        .collect();
    ReportPage {
        layout: ctx_layout,
        title: p.facts.title.clone(),
        kind: p.facts.kind.clone(),
        eu_release: p.facts.eu_release,
        release_date: p
            .facts
            .release_date
            .map(|x| x.to_string())
            .unwrap_or_default(),
        agreements: super::form::agreement_names(&p.facts.agreements),
        packs: p.packs.join(", "),
        generated: when(d.generated_at),
        csv_href: format!("/productions/{}/report.csv", p.id),
        json_href: format!("/productions/{}/report.json", p.id),
        rows,
        counts,
        complete: d.scope.complete,
        scope: d.scope.statement.clone(),
        empty: if d.scope.complete {
            "No uses declared on this production.".to_owned()
        } else {
            format!(
                "{} declared no uses on this production yet. Other organisations' uses are not shown.",
                if d.scope.organisations.is_empty() {
                    "Your organisation".to_owned()
                } else {
                    d.scope.organisations.join(" and ")
                }
            )
        },
        before_release: None,
        production_findings: d
            .production_findings
            .iter()
            .map(|f| super::views::ProductionFindingView {
                outcome: outcome_badge(f.outcome.as_str()),
                rule: f.rule.clone(),
                pack: f.pack.clone(),
                message: f.message.clone(),
                source: f.source.clone(),
                uses: f
                    .declarations
                    .iter()
                    .map(|id| {
                        let label = d
                            .uses
                            .iter()
                            .find(|u| u.declaration_id.0 == *id)
                            .map(|u| u.reference.clone())
                            .unwrap_or_else(|| id.clone());
                        (format!("/declarations/{id}"), label)
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The printable report.
pub async fn html(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let d = state
        .store
        .disclosure(&ctx.principal, &ProductionId(id.clone()))
        .await?;
    let orgs = queries::org_names(&state.store, &ctx.principal).await?;
    let layout = ctx.layout(
        &format!("Disclosure report · {}", d.production.facts.title),
        Some(&id),
    );
    let mut page = report_page(layout, &d, &orgs);
    let mut before = super::before_release::load(&state, &ctx, &id).await?;
    before.complete = d.scope.complete;
    page.before_release = Some(before);
    Ok(render(&page))
}

fn file_stem(d: &Disclosure) -> String {
    let t: String = d
        .production
        .facts
        .title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("disclosure-{}", t.trim_matches('-'))
}

/// The report as CSV.
pub async fn csv(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let d = state
        .store
        .disclosure(&ctx.principal, &ProductionId(id))
        .await?;
    Ok(download(
        d.to_csv(),
        "text/csv; charset=utf-8",
        &format!("{}.csv", file_stem(&d)),
    ))
}

/// The report as JSON (the API's disclosure object).
pub async fn json(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let d = state
        .store
        .disclosure(&ctx.principal, &ProductionId(id))
        .await?;
    let body = serde_json::to_vec_pretty(&d).unwrap_or_default();
    Ok(download(
        body,
        "application/json",
        &format!("{}.json", file_stem(&d)),
    ))
}
