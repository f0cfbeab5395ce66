//! One declaration: outcome, principles, findings, blockers, revision diff, history, and the
//! reviewer's decision form.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use greenlight_store::input::DecisionInput;
use greenlight_store::{
    ConsentId, DecisionAction, DeclarationId, PageRequest, Role, State as WfState, StoreError,
};
use serde::Deserialize;
use serde_json::Value;

use super::views::{
    BlockerView, DecisionView, DeclarationPage, DiffLine, DifferenceView, FilterOption,
    FindingGroup, FindingView, HistoryView, ObligationView, PrincipleView, ReviewForm, TalentLink,
    answer_badge, outcome_badge, state_badge,
};
use super::{CsrfForm, Ctx, PageError, PageResult, flash_for, queries, render, see_other, when};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A declared or recorded value in words: yes/no, "none", a consent as its document, scope,
/// date and giver, instead of JSON.
pub fn value_words(v: &Value) -> String {
    match v {
        Value::Null => "none".to_owned(),
        Value::Bool(true) => "yes".to_owned(),
        Value::Bool(false) => "no".to_owned(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) if items.is_empty() => "none".to_owned(),
        Value::Array(items) => items.iter().map(value_words).collect::<Vec<_>>().join(", "),
        Value::Object(map) => {
            if let Some(doc) = map.get("document").and_then(Value::as_str) {
                let mut s = format!("consent {doc}");
                if let Some(scope) = map.get("scope").and_then(Value::as_str) {
                    s.push_str(&format!(" for \u{201c}{scope}\u{201d}"));
                }
                if let Some(signed) = map.get("signed").and_then(Value::as_str) {
                    s.push_str(&format!(", signed {signed}"));
                }
                if let Some(by) = map.get("by").and_then(Value::as_str) {
                    s.push_str(&format!(", by the {by}"));
                }
                s
            } else {
                map.iter()
                    .map(|(k, v)| format!("{}: {}", k.replace('_', " "), value_words(v)))
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        }
    }
}

/// What clears a blocker, in words, from its rule.
pub fn clears(rule: &str) -> &'static str {
    match rule {
        "NFX-TALENT-DECEASED" => {
            "Legal links a consent on record given by the performer's estate or union."
        }
        "NFX-TALENT-REPLICA" | "NFX-TALENT-ALTERATION" | "NFX-TALENT-MODEL-REUSE" => {
            "Legal records the performer's signed consent and links it to this talent entry."
        }
        "NFX-TALENT-SYNTHETIC" | "NFX-UNION" => {
            "Legal confirms the union agreement covering this work (its reference)."
        }
        "NFX-DATA-TRAINING" => "Legal confirms the clearance of the training set (its reference).",
        _ => "Record what the rule asks for; the declaration is triaged again when it is recorded.",
    }
}

/// A revision's text in one canonical YAML layout (every field, defaults filled in), so a
/// diff shows what changed and not how it was typed; the text as written when it does not
/// parse.
fn normalized(text: &str) -> String {
    use greenlight_core::format::{self, SourceKind};
    format::parse(text.as_bytes(), SourceKind::Sniff)
        .ok()
        .and_then(|p| serde_json::to_value(&p.declaration).ok())
        .and_then(|v| serde_saphyr::to_string(&v).ok())
        .unwrap_or_else(|| text.to_owned())
}

/// A line diff (longest common subsequence) of two revisions' texts.
pub fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    if a.len() * b.len() > 4_000_000 {
        return vec![DiffLine {
            kind: "same",
            text: "(too large to compare line by line)".into(),
        }];
    }
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push(DiffLine {
                kind: "same",
                text: a[i].to_owned(),
            });
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(DiffLine {
                kind: "add",
                text: b[j].to_owned(),
            });
            j += 1;
        } else {
            out.push(DiffLine {
                kind: "del",
                text: a[i].to_owned(),
            });
            i += 1;
        }
    }
    out
}

fn history_text(action: &str, from: Option<WfState>, to: Option<WfState>, detail: &str) -> String {
    let mut s = action.replace(['_', '.'], " ");
    if let (Some(f), Some(t)) = (from, to)
        && f != t
    {
        s.push_str(&format!(
            ": {} → {}",
            state_badge(f.as_str()).label,
            state_badge(t.as_str()).label
        ));
    } else if let Some(t) = to {
        s.push_str(&format!(": {}", state_badge(t.as_str()).label));
    }
    if !detail.is_empty() {
        s.push_str(&format!(" — {detail}"));
    }
    s
}

/// The declaration page.
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> PageResult {
    let mut page = build(&state, &ctx, DeclarationId(id)).await?;
    page.layout.flashes = flash_for(q.done.as_deref());
    Ok(render(&page))
}

/// Everything the declaration page shows, for `ctx`.
async fn build(state: &AppState, ctx: &Ctx, id: DeclarationId) -> PageResult<DeclarationPage> {
    let detail = state.store.declaration(&ctx.principal, &id).await?;
    let s = &detail.summary;
    let production = state
        .store
        .production(&ctx.principal, &s.production_id)
        .await?;
    let orgs = queries::org_names(&state.store, &ctx.principal).await?;
    let triage = detail.current.triages.last();
    let result = triage.map(|t| &t.result);
    let answer_of = |pid: &str| -> String {
        result
            .and_then(|r| r.principles.as_ref())
            .and_then(|m| m.get(pid))
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default()
    };
    let titles = super::form::principles();
    let principles = match result.and_then(|r| r.principles.as_ref()) {
        Some(_) => titles
            .iter()
            .map(|(pid, text)| PrincipleView {
                id: pid.clone(),
                text: text.clone(),
                answer: answer_badge(&answer_of(pid)),
            })
            .collect(),
        None => Vec::new(),
    };

    let findings: &[greenlight_core::wire::Finding] =
        result.map(|r| r.findings.as_slice()).unwrap_or_default();
    let mut groups = Vec::new();
    for (pid, ptext) in titles.iter() {
        let list: Vec<FindingView> = findings
            .iter()
            .filter(|f| f.principle.as_deref() == Some(pid.as_str()))
            .map(finding)
            .collect();
        if !list.is_empty() {
            let answer = answer_of(pid);
            // A rule filed under a principle can set the outcome on its own rule while the
            // principle's question is answered "met": say so, or "Met" above "Escalate" reads
            // as a contradiction.
            let stricter = list.iter().any(|f| f.level != "notify");
            let note = if answer == "met" && stricter {
                format!(
                    "{} is met. {}",
                    pid.to_uppercase(),
                    if list.len() == 1 {
                        "The finding below is filed under it but applies on its own rule: it sets the outcome shown beside it."
                    } else {
                        "The findings below are filed under it but apply on their own rules: each sets the outcome shown beside it."
                    }
                )
            } else {
                String::new()
            };
            groups.push(FindingGroup {
                heading: format!("{} — {}", pid.to_uppercase(), ptext),
                answer: (!answer.is_empty()).then(|| answer_badge(&answer)),
                note,
                findings: list,
            });
        }
    }
    let other: Vec<FindingView> = findings
        .iter()
        .filter(|f| f.principle.is_none())
        .map(finding)
        .collect();
    if !other.is_empty() {
        groups.push(FindingGroup {
            heading: "Not tied to a principle".into(),
            answer: None,
            note: String::new(),
            findings: other,
        });
    }

    let blockers: Vec<BlockerView> = result
        .map(|r| r.blockers.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|b| BlockerView {
            clears: clears(&b.rule).to_owned(),
            message: b.message.clone(),
            fields: b.fields.join(", "),
            rule: b.rule.clone(),
        })
        .collect();

    let obligations = detail
        .obligations
        .iter()
        .map(|o| ObligationView {
            kind: o.kind.clone(),
            text: o.text.clone(),
            due: o.due.clone().unwrap_or_default(),
            status: o.status.as_str().to_owned(),
        })
        .collect();

    let differences = triage
        .map(|t| {
            t.differences
                .iter()
                .map(|d| DifferenceView {
                    label: super::form::field_label(&d.path),
                    path: d.path.clone(),
                    declared: value_words(&d.declared),
                    effective: value_words(&d.effective),
                    source: d.source.clone(),
                })
                .collect()
        })
        .unwrap_or_default();

    let mut people: Vec<String> = detail
        .history
        .iter()
        .filter_map(|h| h.by.as_ref().map(|u| u.0.clone()))
        .collect();
    if let Some(d) = &detail.decision {
        people.push(d.by.0.clone());
    }
    people.push(s.submitted_by.0.clone());
    people.push(detail.current.submitted_by.0.clone());
    let names = queries::user_names(&state.store, people).await;
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_owned());

    let decision = detail.decision.as_ref().map(|d| DecisionView {
        action: match d.action {
            DecisionAction::Approve => "Approved".into(),
            DecisionAction::Reject => "Rejected".into(),
            DecisionAction::RequestChanges => "Changes requested".into(),
            DecisionAction::Revoke => "Approval revoked".into(),
        },
        by: name(&d.by.0),
        at: when(d.at),
        reason: d.reason.clone().unwrap_or_default(),
        conditions: d.conditions.clone(),
        expires: d.expires.map(|e| e.to_string()).unwrap_or_default(),
    });

    let (diff, diff_heading) = if s.revision > 1 {
        let revisions = state.store.revisions(&ctx.principal, &id).await?;
        let n = revisions.len();
        if n >= 2 {
            (
                line_diff(
                    &normalized(&revisions[n - 2].text),
                    &normalized(&revisions[n - 1].text),
                ),
                format!(
                    "Changes from revision {} to {}",
                    revisions[n - 2].number,
                    revisions[n - 1].number
                ),
            )
        } else {
            (Vec::new(), String::new())
        }
    } else {
        (Vec::new(), String::new())
    };

    let history = detail
        .history
        .iter()
        .rev()
        .map(|h| HistoryView {
            when: when(h.at),
            who: h
                .by
                .as_ref()
                .map(|u| name(&u.0))
                .unwrap_or_else(|| "Greenlight".into()),
            text: history_text(&h.action, h.from_state, h.to_state, &h.detail),
        })
        .collect();

    let studio = &production.studio_id;
    let reviewer = ctx.principal.has_role(studio, Role::Reviewer);
    let own = s.submitted_by == ctx.principal.user.id;
    let review = (reviewer && !own && matches!(s.state, WfState::InReview | WfState::Suspended))
        .then(|| ReviewForm {
            action: format!("/declarations/{}/decide", s.id),
            etag: s.etag(),
            can_approve: blockers.is_empty(),
            approve_blocked_because: blockers
                .iter()
                .map(|b| format!("{} — {}", b.rule, b.message))
                .collect::<Vec<_>>()
                .join("; "),
            ..ReviewForm::default()
        });
    let partner = ctx.principal.has_role(&s.org_id, Role::Partner);
    let revise_href = (partner && !matches!(s.state, WfState::Withdrawn))
        .then(|| format!("/declarations/{}/revise", s.id));

    let legal = ctx.principal.has_role(studio, Role::Legal);
    let mut talent_links = Vec::new();
    if legal {
        let effective = triage.map(|t| t.effective.clone()).unwrap_or(Value::Null);
        let consents = state
            .store
            .consents(
                &ctx.principal,
                PageRequest {
                    offset: 0,
                    limit: PageRequest::MAX_LIMIT,
                },
            )
            .await?;
        for t in effective
            .get("talent")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let performer = text(t, "performer");
            let linked = detail
                .consent_links
                .iter()
                .filter(|l| l.performer.eq_ignore_ascii_case(&performer))
                .map(|l| l.consent_id.0.clone())
                .collect::<Vec<_>>();
            let candidates = consents
                .items
                .iter()
                .filter(|c| {
                    c.performer.trim().eq_ignore_ascii_case(performer.trim())
                        && c.revoked_at.is_none()
                })
                .filter(|c| {
                    c.production_id
                        .as_ref()
                        .is_none_or(|p| *p == s.production_id)
                })
                .map(|c| FilterOption {
                    value: c.id.0.clone(),
                    label: format!(
                        "{} · {} · by {} · signed {}",
                        c.treatment, c.scope, c.by, c.signed
                    ),
                    selected: false,
                })
                .collect();
            talent_links.push(TalentLink {
                performer,
                treatment: text(t, "treatment"),
                linked: if linked.is_empty() {
                    String::new()
                } else {
                    match linked.len() {
                        1 => "1 consent linked".to_owned(),
                        n => format!("{n} consents linked"),
                    }
                },
                candidates,
            });
        }
    }
    let link_action =
        (legal && !talent_links.is_empty()).then(|| format!("/declarations/{}/consents", s.id));

    let policies = result
        .map(|r| {
            r.policies
                .iter()
                .map(|p| format!("{} {}", p.id, p.version))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();

    Ok(DeclarationPage {
        layout: ctx.layout(&s.reference, Some(&s.production_id.0)),
        id: s.id.0.clone(),
        reference: s.reference.clone(),
        summary: s.summary.clone(),
        production: s.production_title.clone(),
        production_href: format!("/productions/{}", s.production_id),
        organisation: orgs.get(&s.org_id.0).cloned().unwrap_or_default(),
        outcome: outcome_badge(s.outcome.as_str()),
        state: state_badge(s.state.as_str()),
        revision: s.revision,
        // The current revision's own submission: a revision 2 was sent by whoever sent it,
        // when they sent it, not when the use was first declared.
        submitted: if s.revision > 1 {
            format!(
                "submitted by {} on {} (first declared {})",
                name(&detail.current.submitted_by.0),
                when(detail.current.at),
                when(s.created_at)
            )
        } else {
            format!(
                "submitted by {} on {}",
                name(&detail.current.submitted_by.0),
                when(detail.current.at)
            )
        },
        policies,
        principles,
        groups,
        blockers,
        obligations,
        differences,
        decision,
        diff,
        diff_heading,
        history,
        review,
        revise_href,
        talent_links,
        link_action,
        text: detail.current.text.clone(),
    })
}

fn finding(f: &greenlight_core::wire::Finding) -> FindingView {
    let outcome = f.outcome.as_str();
    FindingView {
        rule: f.rule.clone(),
        pack: f.pack.clone(),
        outcome: outcome_badge(outcome),
        level: outcome.to_owned(),
        message: f.message.clone(),
        source: f.source.clone(),
        fields: f.fields.join(", "),
    }
}

/// Records a reviewer's decision (the hidden `etag` field is the If-Match of the API).
pub async fn decide(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm,
) -> PageResult {
    let action = match form.get("action").as_str() {
        "approve" => DecisionAction::Approve,
        "reject" => DecisionAction::Reject,
        "request_changes" => DecisionAction::RequestChanges,
        other => {
            return Err(PageError::status(
                axum::http::StatusCode::BAD_REQUEST,
                "Unknown decision",
                format!("{other:?} is not a decision"),
            ));
        }
    };
    let reason = Some(form.get("reason")).filter(|r| !r.trim().is_empty());
    let conditions = form
        .get("conditions")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let id = DeclarationId(id);
    let expires = match form.get("expires").trim() {
        "" => None,
        d => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(date) => Some(date),
            Err(_) => {
                let problem = greenlight_store::FieldProblem {
                    path: Some("expires".into()),
                    line: None,
                    column: None,
                    message: "is not a date; pick a day in the calendar (YYYY-MM-DD)".into(),
                };
                return back_to_decision(&state, &form, id, vec![problem], String::new()).await;
            }
        },
    };
    let etag = form.get("etag");
    let input = DecisionInput {
        action,
        reason,
        conditions,
        expires,
    };
    let decided = state
        .store
        .decide(
            &form.ctx.principal,
            &id,
            Some(etag.as_str()).filter(|e| !e.is_empty()),
            input,
        )
        .await;
    match decided {
        Ok(_) => Ok(see_other(&format!(
            "/declarations/{id}?done={}",
            action.as_str()
        ))),
        // What the reviewer typed comes back, with the problem beside its field.
        Err(StoreError::Invalid { problems, .. }) => {
            back_to_decision(&state, &form, id, problems, String::new()).await
        }
        Err(StoreError::Conflict { message, blockers }) => {
            let text = if blockers.is_empty() {
                message
            } else {
                format!("{message}: {}", blockers.join("; "))
            };
            back_to_decision(&state, &form, id, Vec::new(), text).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The declaration page again after a refused decision: the reviewer's reason, conditions
/// and expiry kept, each problem beside its field (422), or `general` above the buttons (409).
async fn back_to_decision(
    state: &AppState,
    form: &CsrfForm,
    id: DeclarationId,
    problems: Vec<greenlight_store::FieldProblem>,
    general: String,
) -> PageResult {
    let mut page = build(state, &form.ctx, id).await?;
    let status = if problems.is_empty() {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    if let Some(review) = page.review.as_mut() {
        review.reason = form.get("reason");
        review.conditions = form.get("conditions");
        review.expires = form.get("expires");
        review.general_error = general;
        for p in problems {
            let slot = match p.path.as_deref() {
                Some("reason") => &mut review.reason_error,
                Some("conditions") => &mut review.conditions_error,
                Some("expires") => &mut review.expires_error,
                _ => &mut review.general_error,
            };
            *slot = capitalised(&p.message);
        }
    }
    let mut response = render(&page);
    *response.status_mut() = status;
    Ok(response)
}

/// "a reason is required" as a sentence beside a field: "A reason is required."
fn capitalised(message: &str) -> String {
    let mut chars = message.chars();
    let mut out: String = match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// Legal links a consent on record to a talent entry.
pub async fn link_consent(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm,
) -> PageResult {
    let id = DeclarationId(id);
    let consent = ConsentId(form.get("consent"));
    state
        .store
        .link_consent(&form.ctx.principal, &id, &form.get("performer"), &consent)
        .await?;
    Ok(see_other(&format!("/declarations/{id}?done=linked")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_marks_added_and_removed_lines() {
        let d = line_diff("a\nb\nc\n", "a\nc\nd\n");
        let kinds: Vec<(&str, &str)> = d.iter().map(|l| (l.kind, l.text.as_str())).collect();
        assert_eq!(
            kinds,
            vec![("same", "a"), ("del", "b"), ("same", "c"), ("add", "d")]
        );
    }
}
