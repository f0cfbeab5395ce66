//! Dashboards per production and per studio: uses by outcome and state, reviews waiting and
//! for how long, approvals and consents expiring in the next 30 days.

use axum::extract::{Path, Query, State};
use chrono::{Duration, Utc};
use greenlight_store::{DeclarationFilter, PageRequest, Production, Role, State as WfState};

use super::lists::row;
use super::views::{
    DashboardPage, DatedItem, ProductionFindingView, bars, outcome_badge, state_badge, waited,
};
use super::{Ctx, PageResult, queries, render};
use crate::state::AppState;

/// The flash a page shows after a form sent the person here.
#[derive(serde::Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

async fn build(
    state: &AppState,
    ctx: &Ctx,
    production: Option<&Production>,
) -> PageResult<DashboardPage> {
    let store = &state.store;
    let who = &ctx.principal;
    let pid = production.map(|p| p.id.clone());
    let (by_outcome, by_state) = queries::counts(store, who, pid.clone()).await?;
    let total: i64 = by_outcome.iter().map(|(_, n)| n).sum();
    let queue = store
        .queue(
            who,
            pid.clone(),
            None,
            PageRequest {
                offset: 0,
                limit: 10,
            },
        )
        .await
        .ok();
    let now = Utc::now();
    let orgs = queries::org_names(store, who).await?;
    let (waiting, waiting_rows, oldest_wait) = match &queue {
        Some(q) => (
            q.total,
            q.items.iter().map(|d| row(d, &orgs, now)).collect(),
            q.items
                .first()
                .map(|d| waited((now - d.revision_at).num_seconds()))
                .unwrap_or_default(),
        ),
        None => (0, Vec::new(), String::new()),
    };
    let open_blockers = {
        let f = DeclarationFilter {
            production_id: pid.clone(),
            ..DeclarationFilter::default()
        };
        queries::all(store, who, f)
            .await?
            .iter()
            .filter(|d| !matches!(d.state, WfState::Withdrawn | WfState::Rejected))
            .map(|d| d.open_blockers)
            .sum()
    };
    let today = now.date_naive();
    let horizon = today + Duration::days(30);
    // Approvals expiring: the decision of each approved use (the summaries do not carry
    // it; a store query for "approvals expiring before D" would make this one read).
    let mut expiring_approvals = Vec::new();
    let approved = DeclarationFilter {
        production_id: pid.clone(),
        state: Some(WfState::Approved),
        ..DeclarationFilter::default()
    };
    for d in queries::all(store, who, approved).await? {
        let Ok(detail) = store.declaration(who, &d.id).await else {
            continue;
        };
        if let Some(exp) = detail
            .decision
            .as_ref()
            .and_then(|x| x.expires)
            .filter(|e| *e >= today && *e <= horizon)
        {
            expiring_approvals.push(DatedItem {
                href: format!("/declarations/{}", d.id),
                text: format!("{} — {}", d.reference, d.summary),
                detail: d.production_title.clone(),
                date: exp.to_string(),
            });
        }
    }
    expiring_approvals.sort_by(|a, b| a.date.cmp(&b.date));
    let mut expiring_consents = Vec::new();
    if let Ok(page) = store
        .consents(
            who,
            PageRequest {
                offset: 0,
                limit: PageRequest::MAX_LIMIT,
            },
        )
        .await
    {
        for c in page.items.iter().filter(|c| c.revoked_at.is_none()) {
            if pid
                .as_ref()
                .is_some_and(|p| c.production_id.as_ref().is_some_and(|cp| cp != p))
            {
                continue;
            }
            if let Some(exp) = c.expires.filter(|e| *e >= today && *e <= horizon) {
                expiring_consents.push(DatedItem {
                    href: "/legal/consents".into(),
                    text: c.performer.clone(),
                    detail: format!("{} · {}", c.treatment, c.scope),
                    date: exp.to_string(),
                });
            }
        }
    }
    expiring_consents.sort_by(|a, b| a.date.cmp(&b.date));
    let (heading, scope, report_href, current) = match production {
        Some(p) => (
            p.facts.title.clone(),
            "Production dashboard".to_owned(),
            format!("/productions/{}/report", p.id),
            Some(p.id.0.as_str()),
        ),
        None => {
            // A company or vendor sees its own uses on the studio's productions: the page is
            // theirs, not the studio's.
            let studio_member = ctx.has_studio_membership();
            let scope = if studio_member {
                "Studio dashboard".to_owned()
            } else {
                format!("{} dashboard", ctx.org_names().join(", "))
            };
            let report_href = match ctx.productions.as_slice() {
                [only] => format!("/productions/{}/report", only.id),
                _ => String::new(),
            };
            (
                if studio_member || ctx.productions.len() != 1 {
                    "All productions".to_owned()
                } else {
                    ctx.productions[0].facts.title.clone()
                },
                scope,
                report_href,
                None,
            )
        }
    };
    let reports = if production.is_none() && ctx.productions.len() > 1 {
        ctx.productions
            .iter()
            .map(|p| {
                (
                    p.facts.title.clone(),
                    format!("/productions/{}/report", p.id),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(DashboardPage {
        layout: ctx.layout(&heading, current),
        heading,
        scope,
        total,
        waiting,
        oldest_wait,
        open_blockers,
        by_outcome: bars(
            by_outcome
                .into_iter()
                .map(|(o, n)| (outcome_badge(&o).label, format!("o-{o}"), n))
                .collect(),
        ),
        by_state: bars(
            by_state
                .into_iter()
                .map(|(s, n)| (state_badge(s.as_str()).label, String::new(), n))
                .collect(),
        ),
        waiting_rows,
        expiring_approvals,
        expiring_consents,
        report_href,
        reports,
        declare_href: String::new(),
        facts: String::new(),
        production_findings: Vec::new(),
        packs_href: String::new(),
        contacts: String::new(),
    })
}

/// The dashboard of one production (the production switcher lands here).
pub async fn production(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> PageResult {
    let p = ctx.production(&id)?.clone();
    let mut view = build(&state, &ctx, Some(&p)).await?;
    view.layout.flashes = super::flash_for(q.done.as_deref());
    let partner = ctx.principal.has_role(&p.studio_id, Role::Partner)
        || p.linked_orgs
            .iter()
            .any(|o| ctx.principal.has_role(o, Role::Partner));
    if partner {
        view.declare_href = format!("/productions/{}/declare", p.id);
    }
    view.facts = format!(
        "{} · {} · {} · union agreements: {} · packs: {}",
        p.facts.kind,
        if p.facts.eu_release {
            "released in the EU"
        } else {
            "not released in the EU"
        },
        p.facts
            .release_date
            .map(|d| format!("release {d}"))
            .unwrap_or_else(|| "release date not yet known".into()),
        super::form::agreement_names(&p.facts.agreements),
        p.packs.join(", "),
    );
    view.packs_href = format!("/packs?production={}", p.id);
    let mut contacts: Vec<String> = state
        .store
        .contact_people(&ctx.principal, &p.id)
        .await?
        .into_iter()
        .map(|(name, email)| {
            if name == email {
                email
            } else {
                format!("{name} <{email}>")
            }
        })
        .collect();
    if let Some(g) = &p.contacts.group {
        contacts.push(g.clone());
    }
    view.contacts = if contacts.is_empty() {
        "none named (the studio's admin names them)".to_owned()
    } else {
        contacts.join(", ")
    };
    if let Some(findings) = state
        .store
        .production_findings(&ctx.principal, &p.id)
        .await?
    {
        let filter = DeclarationFilter {
            production_id: Some(p.id.clone()),
            ..DeclarationFilter::default()
        };
        let uses = queries::all(&state.store, &ctx.principal, filter).await?;
        view.production_findings = findings
            .into_iter()
            .map(|f| ProductionFindingView {
                outcome: outcome_badge(f.outcome.as_str()),
                uses: f
                    .declarations
                    .iter()
                    .map(|id| {
                        let label = uses
                            .iter()
                            .find(|d| d.id.0 == *id)
                            .map(|d| d.reference.clone())
                            .unwrap_or_else(|| id.clone());
                        (format!("/declarations/{id}"), label)
                    })
                    .collect(),
                rule: f.rule,
                pack: f.pack,
                message: f.message,
                source: f.source,
            })
            .collect();
    }
    Ok(render(&view))
}

/// The dashboard of every production the person sees.
pub async fn studio(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    Ok(render(&build(&state, &ctx, None).await?))
}
