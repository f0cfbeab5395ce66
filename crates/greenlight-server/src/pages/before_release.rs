//! "Before release" on a production's disclosure report: the credit line, labels and
//! markings drafted from the uses' obligations, and a form per open item that marks its
//! obligations done with the (edited) text as evidence.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use greenlight_core::disclosure::{ActionKind, ActionList, ObligationState};
use greenlight_store::{ObligationId, ProductionId, Role};

use super::{CsrfForm, Ctx, PageError, PageResult, see_other};
use crate::api::disclosure_actions::actions_for;
use crate::state::AppState;

/// One drafted item as the page shows it.
#[derive(Debug, Clone)]
pub struct ActionView {
    /// Its position in the list (names the form's fields).
    pub n: usize,
    pub what: &'static str,
    /// Who must act, when the item's kind says (e.g. the production's payroll).
    pub who: String,
    /// The label of the evidence field.
    pub evidence_label: &'static str,
    /// Whether the form is shown open (the credit line) or folded.
    pub open_form: bool,
    pub text: String,
    pub uses: String,
    pub media: String,
    pub due: String,
    pub done: bool,
    /// Rule and use of every obligation covered, with its state.
    pub covers: Vec<String>,
    /// The evidence recorded, when done.
    pub evidence: Vec<String>,
    /// The open obligations the form marks done.
    pub open_ids: Vec<String>,
}

/// The section of the report.
#[derive(Debug, Clone, Default)]
pub struct BeforeRelease {
    pub items: Vec<ActionView>,
    pub open: usize,
    /// Whether the person may mark obligations done (partner, reviewer, legal).
    pub can_mark: bool,
    pub post_href: String,
    pub json_href: String,
    pub csv_href: String,
    /// Whether the list covers every use of the production (a company or vendor sees only
    /// its own uses' obligations, and "nothing to do" would speak for others).
    pub complete: bool,
}

fn what(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Credit => "Credit or programme information",
        ActionKind::Label => "Label",
        ActionKind::LabelText => "Text notice",
        ActionKind::KeepMarking => "Keep the marking",
        ActionKind::Compensate => "Pay the performer",
        ActionKind::BargainCompensation => "Bargain the replica's compensation",
        ActionKind::Notice48h => "Tell the performer before the capture",
        ActionKind::NotifyUnion => "Notify the union",
        ActionKind::Other => "Other obligation",
    }
}

fn evidence_label(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Credit => "Credit line as delivered",
        ActionKind::Label | ActionKind::LabelText => "Label as placed",
        ActionKind::KeepMarking => "How the marking was kept",
        ActionKind::Compensate => "What was paid, and the payroll reference",
        ActionKind::BargainCompensation => "What was agreed, and the agreement reference",
        ActionKind::Notice48h => "When and how the performer was told",
        ActionKind::NotifyUnion => "When the union was notified, and its reference",
        ActionKind::Other => "What was done",
    }
}

/// The section from a drafted list.
pub fn section(list: &ActionList, production: &str, can_mark: bool) -> BeforeRelease {
    let items = list
        .items
        .iter()
        .enumerate()
        .map(|(n, i)| ActionView {
            n,
            what: what(i.kind),
            who: i.who.clone().unwrap_or_default(),
            evidence_label: evidence_label(i.kind),
            open_form: i.kind == ActionKind::Credit,
            text: i.text.clone(),
            uses: i.uses.join(", "),
            media: i.media.join(", "),
            due: i.due.clone(),
            done: i.done,
            covers: i
                .covers
                .iter()
                .map(|c| {
                    let state = match c.state {
                        ObligationState::Open => "open",
                        ObligationState::Done => "done",
                    };
                    format!("{} · {} ({state})", c.use_ref, c.rule)
                })
                .collect(),
            evidence: i.covers.iter().filter_map(|c| c.evidence.clone()).fold(
                Vec::new(),
                |mut v, e| {
                    if !v.contains(&e) {
                        v.push(e);
                    }
                    v
                },
            ),
            open_ids: i
                .covers
                .iter()
                .filter(|c| c.state == ObligationState::Open)
                .filter_map(|c| c.id.clone())
                .collect(),
        })
        .collect();
    BeforeRelease {
        items,
        open: list.open,
        can_mark,
        post_href: format!("/productions/{production}/report/actions"),
        json_href: format!("/api/v1/productions/{production}/disclosure/actions"),
        csv_href: format!("/api/v1/productions/{production}/disclosure/actions?format=csv"),
        complete: true,
    }
}

/// The section for the person signed in.
pub async fn load(state: &AppState, ctx: &Ctx, production: &str) -> PageResult<BeforeRelease> {
    let list = actions_for(
        &state.store,
        &ctx.principal,
        &ProductionId(production.to_owned()),
    )
    .await?;
    let can_mark = ctx.has(Role::Partner) || ctx.has(Role::Reviewer) || ctx.has(Role::Legal);
    Ok(section(&list, production, can_mark))
}

/// Marks every open obligation of one item done, with the (edited) text as evidence.
pub async fn mark_done(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm,
) -> PageResult {
    let ctx = &form.ctx;
    ctx.require(
        &[Role::Partner, Role::Reviewer, Role::Legal],
        "Marking obligations done",
    )?;
    let evidence = form.get("evidence");
    if evidence.trim().is_empty() {
        return Err(PageError::status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Please check the form",
            "The text as delivered must not be empty.",
        ));
    }
    let list = actions_for(&state.store, &ctx.principal, &ProductionId(id.clone())).await?;
    let open: Vec<String> = list
        .items
        .iter()
        .flat_map(|i| i.covers.iter())
        .filter(|c| c.state == ObligationState::Open)
        .filter_map(|c| c.id.clone())
        .collect();
    let wanted: Vec<String> = form
        .pairs
        .iter()
        .filter(|(k, _)| k == "obligation")
        .map(|(_, v)| v.clone())
        .collect();
    if wanted.is_empty() || wanted.iter().any(|w| !open.contains(w)) {
        return Err(PageError::status(
            StatusCode::CONFLICT,
            "Nothing to mark done",
            "These obligations are not open on this production any more. Reload the report.",
        ));
    }
    for o in wanted {
        state
            .store
            .complete_obligation(&ctx.principal, &ObligationId(o), &evidence)
            .await?;
    }
    Ok(see_other(&format!(
        "/productions/{id}/report#before-release"
    )))
}
