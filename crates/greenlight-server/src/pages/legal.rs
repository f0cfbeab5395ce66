//! Legal: the consent registry and the tool registry.

use axum::extract::{Path, Query, State};
use chrono::NaiveDate;
use greenlight_store::input::{Document, NewConsent, NewTool};
use greenlight_store::{
    ConsentBy, ConsentId, DataTerms, PageRequest, ProductionId, Role, ToolId, ToolTrace, Treatment,
};
use serde::Deserialize;

use super::views::{
    Badge, ConsentRow, ConsentsPage, FilterOption, Pager, ToolEditPage, ToolRowView, ToolsPage,
};
use super::{
    CsrfForm, CsrfMultipart, Ctx, PageResult, bad, download, flash_for, render, see_other,
};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    offset: Option<i64>,
    done: Option<String>,
}

const PAGE: i64 = 25;

fn uses_of(list: Vec<greenlight_store::DeclarationSummary>) -> Vec<(String, String)> {
    list.into_iter()
        .map(|d| {
            (
                format!("/declarations/{}", d.id),
                format!(
                    "{} · {} ({})",
                    d.reference,
                    d.production_title,
                    super::views::state_badge(d.state.as_str()).label
                ),
            )
        })
        .collect()
}

/// The consent registry, with the uses each consent covers.
pub async fn consents(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> PageResult {
    ctx.require(
        &[Role::Legal, Role::Auditor, Role::Admin],
        "The consent registry",
    )?;
    let offset = q.offset.unwrap_or(0).max(0);
    let page = state
        .store
        .consents(
            &ctx.principal,
            PageRequest {
                offset,
                limit: PAGE,
            },
        )
        .await?;
    let today = chrono::Utc::now().date_naive();
    let legal = ctx.has(Role::Legal);
    let mut rows = Vec::new();
    for c in page.items {
        let uses = uses_of(
            state
                .store
                .consent_uses(&ctx.principal, &c.id)
                .await
                .unwrap_or_default(),
        );
        let status = if c.revoked_at.is_some() {
            Badge {
                class: "s-revoked".into(),
                label: "Revoked".into(),
            }
        } else if c.expires.is_some_and(|e| e < today) {
            Badge {
                class: "s-expired".into(),
                label: "Expired".into(),
            }
        } else {
            Badge {
                class: "s-approved".into(),
                label: "In force".into(),
            }
        };
        let deceased_uses = state
            .store
            .consent_deceased_uses(&ctx.principal, &c.id)
            .await
            .unwrap_or_default();
        let problems = c.union_problems(!deceased_uses.is_empty());
        let mut union_notes: Vec<String> = problems
            .iter()
            .map(|p| {
                if p.starts_with("given by the performer") {
                    format!("{p} (deceased in {})", deceased_uses.join(", "))
                } else {
                    (*p).to_owned()
                }
            })
            .collect();
        if deceased_uses.is_empty() && c.by == ConsentBy::Performer {
            union_notes.push(
                "not for a deceased performer (only the estate or the union can consent)"
                    .to_owned(),
            );
        }
        let production = c
            .production_id
            .as_ref()
            .and_then(|p| ctx.productions.iter().find(|x| &x.id == p))
            .map(|p| p.facts.title.clone())
            .unwrap_or_else(|| "any production".into());
        rows.push(ConsentRow {
            revoke_action: (legal && c.revoked_at.is_none())
                .then(|| format!("/legal/consents/{}/revoke", c.id)),
            signature_action: (legal && c.revoked_at.is_none())
                .then(|| format!("/legal/consents/{}/separately-signed", c.id)),
            document_href: format!("/legal/consents/{}/document", c.id),
            id: c.id.0,
            performer: c.performer,
            by: c.by.as_str().to_owned(),
            treatment: c.treatment.as_str().to_owned(),
            scope: c.scope,
            production,
            signed: c.signed.to_string(),
            expires: c.expires.map(|e| e.to_string()).unwrap_or_default(),
            status,
            document: c.document_name,
            sha256: c.document_sha256.chars().take(12).collect(),
            uses,
            separately_signed: c.separately_signed,
            union_valid: problems.is_empty(),
            union_notes,
        });
    }
    let productions = ctx
        .productions
        .iter()
        .map(|p| FilterOption {
            value: p.id.0.clone(),
            label: p.facts.title.clone(),
            selected: false,
        })
        .collect();
    let mut layout = ctx.layout("Consents", None);
    layout.flashes = flash_for(q.done.as_deref());
    Ok(render(&ConsentsPage {
        layout,
        rows,
        pager: Pager::new("/legal/consents?", offset, PAGE, page.total),
        productions,
        can_record: legal,
    }))
}

fn date(text: &str, what: &str) -> PageResult<Option<NaiveDate>> {
    match text.trim() {
        "" => Ok(None),
        d => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| bad(format!("{what} is not a date."))),
    }
}

/// Records a consent with its signed document.
pub async fn record_consent(State(state): State<AppState>, form: CsrfMultipart) -> PageResult {
    form.ctx.require(&[Role::Legal], "Recording a consent")?;
    let doc = form
        .parts
        .get("document")
        .filter(|p| !p.bytes.is_empty())
        .ok_or_else(|| bad("Attach the signed consent document."))?;
    let by: ConsentBy = form.text("by").parse().map_err(bad)?;
    let treatment: Treatment = form.text("treatment").parse().map_err(bad)?;
    let signed = date(&form.text("signed"), "The signing date")?
        .ok_or_else(|| bad("The signing date is required."))?;
    let new = NewConsent {
        production_id: Some(form.text("production"))
            .filter(|p| !p.is_empty())
            .map(ProductionId),
        performer: form.text("performer"),
        by,
        treatment,
        scope: form.text("scope"),
        separately_signed: form.text("separately_signed") == "true",
        signed,
        expires: date(&form.text("expires"), "The expiry date")?,
        document: Document {
            name: doc.file_name.clone().unwrap_or_else(|| "consent".into()),
            bytes: doc.bytes.clone(),
        },
    };
    state
        .store
        .record_consent(&form.ctx.principal, None, new)
        .await?;
    Ok(see_other("/legal/consents?done=consent"))
}

/// Records whether a consent is signed separately from other terms; the store re-triages
/// every use it covers.
pub async fn set_separately_signed(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm,
) -> PageResult {
    form.ctx
        .require(&[Role::Legal], "Recording a separate signature")?;
    state
        .store
        .set_consent_separately_signed(
            &form.ctx.principal,
            &ConsentId(id),
            form.get("separately_signed") == "true",
        )
        .await?;
    Ok(see_other("/legal/consents?done=signature"))
}

/// Revokes a consent (with a reason); the store re-triages every use it covered.
pub async fn revoke_consent(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm,
) -> PageResult {
    form.ctx.require(&[Role::Legal], "Revoking a consent")?;
    let reason = form.get("reason");
    if reason.trim().is_empty() {
        return Err(bad("Say why the consent is revoked."));
    }
    state
        .store
        .revoke_consent(&form.ctx.principal, &ConsentId(id), &reason)
        .await?;
    Ok(see_other("/legal/consents?done=revoked"))
}

/// The signed document of a consent.
pub async fn consent_document(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> PageResult {
    let (name, bytes) = state
        .store
        .consent_document(&ctx.principal, &ConsentId(id))
        .await?;
    Ok(download(bytes, "application/octet-stream", &name))
}

/// The tool registry, with the uses naming each tool.
pub async fn tools(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> PageResult {
    ctx.require(
        &[Role::Legal, Role::Auditor, Role::Admin],
        "The tool registry",
    )?;
    let list = state.store.tools(&ctx.principal).await?;
    let mut rows = Vec::new();
    for t in list {
        let uses = uses_of(
            state
                .store
                .tool_uses(&ctx.principal, &t.id)
                .await
                .unwrap_or_default(),
        );
        rows.push(ToolRowView {
            traces: super::views::traces_in_words(&t.traces),
            no_trace: t.leaves_no_trace(),
            edit_href: format!("/legal/tools/{}", t.id),
            evidence_href: t
                .evidence_name
                .as_ref()
                .map(|_| format!("/legal/tools/{}/evidence", t.id))
                .unwrap_or_default(),
            name: t.name,
            vendor: t.vendor.unwrap_or_default(),
            plan: t.plan.unwrap_or_default(),
            agreement: t.agreement.unwrap_or_else(|| "none".into()),
            data_terms: t.data_terms.as_str().to_owned(),
            reviewed: t
                .terms_reviewed
                .map(|d| d.to_string())
                .unwrap_or_else(|| "never".into()),
            evidence: t.evidence_name.unwrap_or_default(),
            uses,
        });
    }
    let mut layout = ctx.layout("Tools", None);
    layout.flashes = flash_for(q.done.as_deref());
    Ok(render(&ToolsPage {
        layout,
        rows,
        can_record: ctx.has(Role::Legal),
    }))
}

/// A tool's terms as posted by the register and change forms (an evidence file is kept
/// when none is attached).
fn tool_from_form(form: &CsrfMultipart) -> PageResult<NewTool> {
    let opt = |name: &str| Some(form.text(name)).filter(|v| !v.is_empty());
    let data_terms: DataTerms = form.text("data_terms").parse().map_err(bad)?;
    Ok(NewTool {
        name: form.text("name"),
        vendor: opt("vendor"),
        plan: opt("plan"),
        agreement: opt("agreement"),
        data_terms,
        terms_reviewed: date(&form.text("terms_reviewed"), "The review date")?,
        evidence: form
            .parts
            .get("evidence")
            .filter(|p| !p.bytes.is_empty())
            .map(|p| Document {
                name: p.file_name.clone().unwrap_or_else(|| "evidence".into()),
                bytes: p.bytes.clone(),
            }),
        traces: [
            ("trace_c2pa", ToolTrace::C2pa),
            ("trace_iptc", ToolTrace::Iptc),
            ("trace_watermark", ToolTrace::Watermark),
            ("trace_metadata", ToolTrace::Metadata),
            ("trace_none", ToolTrace::None),
        ]
        .into_iter()
        .filter(|(name, _)| !form.text(name).is_empty())
        .map(|(_, t)| t)
        .collect(),
    })
}

/// Registers a tool with its reviewed terms.
pub async fn register_tool(State(state): State<AppState>, form: CsrfMultipart) -> PageResult {
    form.ctx.require(&[Role::Legal], "Registering a tool")?;
    let new = tool_from_form(&form)?;
    state
        .store
        .register_tool(&form.ctx.principal, None, new)
        .await?;
    Ok(see_other("/legal/tools?done=tool"))
}

/// The form that changes a tool's reviewed terms, filled with the terms on record.
pub async fn tool_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> PageResult {
    ctx.require(&[Role::Legal], "Changing a tool's terms")?;
    let t = state.store.tool(&ctx.principal, &ToolId(id)).await?;
    let uses = uses_of(
        state
            .store
            .tool_uses(&ctx.principal, &t.id)
            .await
            .unwrap_or_default(),
    );
    Ok(render(&ToolEditPage {
        traces: super::views::trace_boxes(&t.traces),
        layout: ctx.layout(&format!("Change the terms of {}", t.name), None),
        action: format!("/legal/tools/{}", t.id),
        evidence_href: t
            .evidence_name
            .as_ref()
            .map(|_| format!("/legal/tools/{}/evidence", t.id))
            .unwrap_or_default(),
        name: t.name,
        vendor: t.vendor.unwrap_or_default(),
        plan: t.plan.unwrap_or_default(),
        agreement: t.agreement.unwrap_or_default(),
        data_terms: t.data_terms.as_str().to_owned(),
        reviewed: t.terms_reviewed.map(|d| d.to_string()).unwrap_or_default(),
        evidence: t.evidence_name.unwrap_or_default(),
        uses,
    }))
}

/// Changes a tool's reviewed terms; the store triages every live use of it again.
pub async fn update_tool(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfMultipart,
) -> PageResult {
    form.ctx
        .require(&[Role::Legal], "Changing a tool's terms")?;
    let new = tool_from_form(&form)?;
    state
        .store
        .update_tool(&form.ctx.principal, &ToolId(id), new)
        .await?;
    Ok(see_other("/legal/tools?done=tool_changed"))
}

/// The evidence file of a tool's terms review.
pub async fn tool_evidence(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> PageResult {
    let (name, bytes) = state
        .store
        .tool_evidence(&ctx.principal, &ToolId(id))
        .await?;
    Ok(download(bytes, "application/octet-stream", &name))
}
