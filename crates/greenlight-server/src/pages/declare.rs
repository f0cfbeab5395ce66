//! The guided declaration form: declare a new use, revise one, upload a file, download YAML.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use greenlight_core::format::{self, SourceKind};
use greenlight_store::{DeclarationId, FieldProblem, Production, ProductionId, Role, StoreError};
use serde_json::Value;

use super::form::{DeclForm, pairs_to_document};
use super::views::{DeclarePage, FieldError};
use super::{CsrfForm, CsrfMultipart, Ctx, PageError, PageResult, download, render, see_other};
use crate::state::AppState;

/// The document as YAML: what is submitted (so revisions read and diff as YAML) and what the
/// download gives.
pub fn to_yaml(doc: &Value) -> Result<String, PageError> {
    serde_saphyr::to_string(doc).map_err(|e| {
        PageError::status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The declaration could not be written as YAML",
            e.to_string(),
        )
    })
}

/// The production facts of record as the form's hidden `production` fields.
fn facts_document(p: &Production) -> Value {
    let mut prod = serde_json::json!({
        "title": p.facts.title,
        "kind": p.facts.kind,
        "eu_release": p.facts.eu_release,
        "agreements": p.facts.agreements,
    });
    if let Some(d) = p.facts.release_date {
        prod["release_date"] = Value::String(d.to_string());
    }
    serde_json::json!({ "greenlight": "declaration/v1", "production": prod })
}

fn facts_note(p: &Production) -> String {
    format!(
        "{} · {} · {} · {} · union agreements: {}. These are the production's facts of record; the studio's record is what the policy uses.",
        p.facts.title,
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
    )
}

struct FormTarget {
    heading: String,
    action: String,
    etag: String,
}

fn page(
    ctx: &Ctx,
    p: &Production,
    target: FormTarget,
    mut form: DeclForm,
    problems: Vec<FieldProblem>,
    summary: String,
) -> DeclarePage {
    // The union fields follow the production's record, whatever a document claims.
    form.union = super::form::works_under_union(&p.facts.agreements);
    let base = format!("/productions/{}/declare", p.id);
    let declaration_id = target
        .action
        .strip_prefix("/declarations/")
        .and_then(|r| r.split('/').next())
        .unwrap_or_default()
        .to_owned();
    DeclarePage {
        layout: ctx.layout(&target.heading, Some(&p.id.0)),
        heading: target.heading,
        production_title: p.facts.title.clone(),
        facts_note: facts_note(p),
        action: target.action.clone(),
        edit_action: format!("{base}/edit"),
        upload_action: format!("{base}/upload"),
        yaml_action: format!("{base}/yaml"),
        triage_url: if declaration_id.is_empty() {
            format!("/api/v1/productions/{}/triage", p.id)
        } else {
            format!(
                "/api/v1/productions/{}/triage?declaration={}",
                p.id,
                super::urlencode(&declaration_id)
            )
        },
        declaration_id,
        etag: target.etag,
        form,
        errors: problems
            .into_iter()
            .map(|pr| {
                let path = pr.path.unwrap_or_default();
                FieldError {
                    label: super::form::field_label(&path),
                    path,
                    message: pr.message,
                }
            })
            .collect(),
        summary_error: summary,
    }
}

fn new_target(p: &Production) -> FormTarget {
    FormTarget {
        heading: "Declare a generative AI use".into(),
        action: format!("/productions/{}/declare", p.id),
        etag: String::new(),
    }
}

fn require_partner(ctx: &Ctx, p: &Production) -> PageResult<()> {
    let ok = ctx.principal.has_role(&p.studio_id, Role::Partner)
        || p.linked_orgs
            .iter()
            .any(|o| ctx.principal.has_role(o, Role::Partner));
    if ok {
        Ok(())
    } else {
        Err(PageError::forbidden(
            "Declaring a use is for partners working on this production.",
        ))
    }
}

/// An empty form for a production, its facts filled in.
pub async fn new_page(ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let p = ctx.production(&id)?.clone();
    require_partner(&ctx, &p)?;
    let form = DeclForm::from_document(&facts_document(&p)).with_blank_rows(None);
    Ok(render(&page(
        &ctx,
        &p,
        new_target(&p),
        form,
        Vec::new(),
        String::new(),
    )))
}

/// Re-renders a posted form with one more row (the "Add another" buttons work without
/// JavaScript this way).
pub async fn edit(Path(id): Path<String>, form: CsrfForm) -> PageResult {
    let p = form.ctx.production(&id)?.clone();
    require_partner(&form.ctx, &p)?;
    let doc = pairs_to_document(&form.pairs);
    let add = form.get("add");
    let etag = form.get("etag");
    let decl =
        DeclForm::from_document(&doc).with_blank_rows(Some(add.as_str()).filter(|a| !a.is_empty()));
    let target = if etag.is_empty() {
        new_target(&p)
    } else {
        let decl_id = form.get("declaration");
        FormTarget {
            heading: "Revise the use".into(),
            action: format!("/declarations/{decl_id}/revise"),
            etag,
        }
    };
    Ok(render(&page(
        &form.ctx,
        &p,
        target,
        decl,
        Vec::new(),
        String::new(),
    )))
}

/// A refused submission as the form shows it: a summary and the problems beside their
/// fields. A reference already taken on the production is a problem of `use.ref` like any
/// other, so the filled form comes back instead of an error page.
fn invalid(e: StoreError) -> Result<(String, Vec<FieldProblem>), PageError> {
    match e {
        StoreError::InvalidDeclaration { summary, problems }
        | StoreError::TooLarge {
            summary, problems, ..
        }
        | StoreError::Invalid { summary, problems } => Ok((summary, problems)),
        StoreError::DuplicateReference { reference, .. } => Ok((
            "The declaration was not submitted: its reference is taken".to_owned(),
            vec![FieldProblem {
                path: Some("use.ref".to_owned()),
                line: None,
                column: None,
                message: format!(
                    "another use on this production already has the reference \u{201c}{reference}\u{201d}; choose another one, or revise that use"
                ),
            }],
        )),
        other => Err(other.into()),
    }
}

/// Submits the form: validated and triaged by the store; on problems the form comes back
/// with each problem beside its field.
pub async fn submit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm,
) -> PageResult {
    let p = form.ctx.production(&id)?.clone();
    require_partner(&form.ctx, &p)?;
    let doc = pairs_to_document(&form.pairs);
    let yaml = to_yaml(&doc)?;
    match state
        .store
        .submit(&form.ctx.principal, &ProductionId(id), yaml.as_bytes())
        .await
    {
        Ok(d) => Ok(see_other(&format!("/declarations/{}?done=submitted", d.id))),
        Err(e) => {
            let (summary, problems) = invalid(e)?;
            let decl = DeclForm::from_document(&doc).with_blank_rows(None);
            let view = page(&form.ctx, &p, new_target(&p), decl, problems, summary);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&view)).into_response())
        }
    }
}

/// Starts the form from an uploaded YAML or JSON file.
pub async fn upload(Path(id): Path<String>, form: CsrfMultipart) -> PageResult {
    let p = form.ctx.production(&id)?.clone();
    require_partner(&form.ctx, &p)?;
    let Some(file) = form.parts.get("file") else {
        return Err(PageError::status(
            StatusCode::BAD_REQUEST,
            "No file",
            "Choose a YAML or JSON file to upload.",
        ));
    };
    let kind = file
        .file_name
        .as_deref()
        .map(|n| SourceKind::from_path(std::path::Path::new(n)))
        .unwrap_or(SourceKind::Sniff);
    match format::parse(&file.bytes, kind) {
        Ok(parsed) => {
            let doc = serde_json::to_value(&parsed.declaration).unwrap_or(Value::Null);
            let decl = DeclForm::from_document(&doc).with_blank_rows(None);
            Ok(render(&page(
                &form.ctx,
                &p,
                new_target(&p),
                decl,
                Vec::new(),
                String::new(),
            )))
        }
        Err(e) => {
            let problems = e
                .problems
                .into_iter()
                .map(|pr| FieldProblem {
                    path: pr.path,
                    line: pr.line,
                    column: pr.column,
                    message: pr.message,
                })
                .collect();
            let decl = DeclForm::from_document(&facts_document(&p)).with_blank_rows(None);
            let view = page(
                &form.ctx,
                &p,
                new_target(&p),
                decl,
                problems,
                format!("The file could not be read: {}", e.summary),
            );
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&view)).into_response())
        }
    }
}

/// Downloads what the form holds as a YAML declaration file.
pub async fn yaml(Path(id): Path<String>, form: CsrfForm) -> PageResult {
    let p = form.ctx.production(&id)?.clone();
    require_partner(&form.ctx, &p)?;
    let doc = pairs_to_document(&form.pairs);
    let name = doc
        .pointer("/use/ref")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
        .map(|r| {
            format!(
                "{}.yaml",
                r.chars()
                    .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    })
                    .collect::<String>()
            )
        })
        .unwrap_or_else(|| "declaration.yaml".into());
    Ok(download(
        to_yaml(&doc)?,
        "application/yaml; charset=utf-8",
        &name,
    ))
}

/// The form filled with the current revision, to answer with a new one.
pub async fn revise_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> PageResult {
    let detail = state
        .store
        .declaration(&ctx.principal, &DeclarationId(id.clone()))
        .await?;
    let p = ctx.production(&detail.summary.production_id.0)?.clone();
    if !ctx
        .principal
        .has_role(&detail.summary.org_id, Role::Partner)
    {
        return Err(PageError::forbidden(
            "Revising a use is for partners of the organisation that declared it.",
        ));
    }
    let doc = format::parse(detail.current.text.as_bytes(), SourceKind::Sniff)
        .ok()
        .and_then(|parsed| serde_json::to_value(&parsed.declaration).ok())
        .unwrap_or_else(|| facts_document(&p));
    let decl = DeclForm::from_document(&doc).with_blank_rows(None);
    let target = FormTarget {
        heading: format!("Revise {}", detail.summary.reference),
        action: format!("/declarations/{id}/revise"),
        etag: detail.summary.etag(),
    };
    Ok(render(&page(
        &ctx,
        &p,
        target,
        decl,
        Vec::new(),
        String::new(),
    )))
}

/// Submits a new revision (the hidden `etag` is the If-Match).
pub async fn revise_submit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm,
) -> PageResult {
    let decl_id = DeclarationId(id.clone());
    let detail = state
        .store
        .declaration(&form.ctx.principal, &decl_id)
        .await?;
    let p = form
        .ctx
        .production(&detail.summary.production_id.0)?
        .clone();
    let doc = pairs_to_document(&form.pairs);
    let yaml = to_yaml(&doc)?;
    let etag = form.get("etag");
    match state
        .store
        .revise(
            &form.ctx.principal,
            &decl_id,
            Some(etag.as_str()).filter(|e| !e.is_empty()),
            yaml.as_bytes(),
        )
        .await
    {
        Ok(d) => Ok(see_other(&format!("/declarations/{}?done=revised", d.id))),
        Err(e) => {
            let (summary, problems) = invalid(e)?;
            let decl = DeclForm::from_document(&doc).with_blank_rows(None);
            let target = FormTarget {
                heading: format!("Revise {}", detail.summary.reference),
                action: format!("/declarations/{id}/revise"),
                etag,
            };
            let view = page(&form.ctx, &p, target, decl, problems, summary);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&view)).into_response())
        }
    }
}
