//! The start page, the producer's uses and the reviewers' queue.

use axum::extract::{Query, State};
use chrono::Utc;
use greenlight_store::{DeclarationFilter, DeclarationSummary, PageRequest, ProductionId, Role};
use serde::Deserialize;
use std::collections::HashMap;

use super::views::{
    FilterOption, Pager, QueuePage, UseRow, UsesPage, outcome_badge, state_badge, waited,
};
use super::{Ctx, PageError, PageResult, flash_for, queries, render, see_other, urlencode, when};
use crate::state::AppState;

/// Where a person starts: the page of their main role.
pub async fn home(ctx: Result<Ctx, PageError>) -> PageResult {
    let ctx = match ctx {
        Ok(c) => c,
        Err(PageError::SignIn { .. }) => return Ok(see_other("/signin")),
        Err(e) => return Err(e),
    };
    let to = if ctx.has(Role::Reviewer) {
        "/queue"
    } else if ctx.has(Role::Partner) {
        "/uses"
    } else if ctx.has(Role::Legal) {
        "/legal/consents"
    } else if ctx.has(Role::Auditor) {
        "/audit"
    } else if ctx.has(Role::Admin) {
        "/admin"
    } else {
        "/dashboard"
    };
    Ok(see_other(to))
}

#[derive(Deserialize)]
pub struct Go {
    production: String,
}

/// The production switcher's target.
pub async fn go(ctx: Ctx, Query(q): Query<Go>) -> PageResult {
    let p = ctx.production(&q.production)?;
    Ok(see_other(&format!("/productions/{}", p.id)))
}

/// A list row from a declaration summary.
pub fn row(
    d: &DeclarationSummary,
    orgs: &HashMap<String, String>,
    now: chrono::DateTime<Utc>,
) -> UseRow {
    UseRow {
        href: format!("/declarations/{}", d.id),
        reference: d.reference.clone(),
        summary: d.summary.clone(),
        production: d.production_title.clone(),
        organisation: orgs
            .get(&d.org_id.0)
            .cloned()
            .unwrap_or_else(|| d.org_id.0.clone()),
        outcome: outcome_badge(d.outcome.as_str()),
        state: state_badge(d.state.as_str()),
        revision: d.revision,
        blockers: d.open_blockers,
        waiting: waited((now - d.revision_at).num_seconds()),
        updated: when(d.updated_at),
        note: String::new(),
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    offset: Option<i64>,
    done: Option<String>,
    outcome: Option<String>,
    production: Option<String>,
    age: Option<String>,
}

const PAGE: i64 = 25;

/// The uses the person's organisations declared, newest first.
pub async fn uses(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> PageResult {
    ctx.require(&[Role::Partner], "This page")?;
    let orgs = queries::org_names(&state.store, &ctx.principal).await?;
    let partner_orgs: Vec<_> = ctx.principal.orgs_with(Role::Partner).cloned().collect();
    let filter = DeclarationFilter {
        org_id: (partner_orgs.len() == 1).then(|| partner_orgs[0].clone()),
        ..DeclarationFilter::default()
    };
    let offset = q.offset.unwrap_or(0).max(0);
    let page = state
        .store
        .declarations(
            &ctx.principal,
            &filter,
            PageRequest {
                offset,
                limit: PAGE,
            },
        )
        .await?;
    let now = Utc::now();
    let mut rows = Vec::new();
    for d in &page.items {
        let mut r = row(d, &orgs, now);
        if d.state == greenlight_store::State::ChangesRequested
            && let Ok(detail) = state.store.declaration(&ctx.principal, &d.id).await
            && let Some(reason) = detail.decision.and_then(|x| x.reason)
        {
            r.note = format!("The studio asked: {reason}");
        }
        rows.push(r);
    }
    let declare_href = match ctx.productions.as_slice() {
        [only] => Some(format!("/productions/{}/declare", only.id)),
        _ => None,
    };
    let mut layout = ctx.layout("My uses", None);
    layout.flashes = flash_for(q.done.as_deref());
    Ok(render(&UsesPage {
        layout,
        heading: "My uses".into(),
        declare_href,
        rows,
        pager: Pager::new("/uses?", offset, PAGE, page.total),
    }))
}

/// The review queue: in review and suspended, oldest first, filtered.
pub async fn queue(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> PageResult {
    ctx.require(&[Role::Reviewer], "The review queue")?;
    let outcome = q.outcome.clone().filter(|o| !o.is_empty());
    let production = q.production.clone().filter(|p| !p.is_empty());
    let age_days: i64 = q.age.as_deref().and_then(|a| a.parse().ok()).unwrap_or(0);
    let offset = q.offset.unwrap_or(0).max(0);
    let orgs = queries::org_names(&state.store, &ctx.principal).await?;
    let now = Utc::now();
    let (items, total) = if age_days == 0 {
        let page = state
            .store
            .queue(
                &ctx.principal,
                production.clone().map(ProductionId),
                outcome.clone(),
                PageRequest {
                    offset,
                    limit: PAGE,
                },
            )
            .await?;
        (page.items, page.total)
    } else {
        // The store's queue has no age filter: the queue is oldest first, so the items old
        // enough are a prefix of it.
        let page = state
            .store
            .queue(
                &ctx.principal,
                production.clone().map(ProductionId),
                outcome.clone(),
                PageRequest {
                    offset: 0,
                    limit: PageRequest::MAX_LIMIT,
                },
            )
            .await?;
        let cutoff = now - chrono::Duration::days(age_days);
        let old: Vec<_> = page
            .items
            .into_iter()
            .filter(|d| d.revision_at <= cutoff)
            .collect();
        let total = old.len() as i64;
        (
            old.into_iter()
                .skip(offset as usize)
                .take(PAGE as usize)
                .collect(),
            total,
        )
    };
    let rows = items.iter().map(|d| row(d, &orgs, now)).collect();
    let base = format!(
        "/queue?outcome={}&production={}&age={}&",
        urlencode(outcome.as_deref().unwrap_or("")),
        urlencode(production.as_deref().unwrap_or("")),
        age_days
    );
    let outcomes = ["review", "escalate", "written_approval", "notify"]
        .iter()
        .map(|o| FilterOption {
            value: (*o).to_owned(),
            label: outcome_badge(o).label,
            selected: outcome.as_deref() == Some(*o),
        })
        .collect();
    let productions = ctx
        .productions
        .iter()
        .map(|p| FilterOption {
            value: p.id.0.clone(),
            label: p.facts.title.clone(),
            selected: production.as_deref() == Some(p.id.0.as_str()),
        })
        .collect();
    let ages = [
        (0, "Any time"),
        (1, "More than a day"),
        (3, "More than 3 days"),
        (7, "More than a week"),
    ]
    .iter()
    .map(|(d, label)| FilterOption {
        value: d.to_string(),
        label: (*label).to_owned(),
        selected: *d == age_days,
    })
    .collect();
    let mut layout = ctx.layout("Review queue", production.as_deref());
    layout.flashes = flash_for(q.done.as_deref());
    Ok(render(&QueuePage {
        layout,
        outcomes,
        productions,
        ages,
        rows,
        pager: Pager::new(&base, offset, PAGE, total),
    }))
}
