//! Packs: the rulebooks a studio keeps. Everyone reads the rules of the packs they may see
//! (partners: those of their productions); a studio's legal and admins upload new versions,
//! compare versions rule by rule, preview a pack set on a production's live uses, adopt it,
//! and choose the default set of new productions.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use greenlight_core::pack::{LoadOptions, Pack};
use greenlight_store::{
    OrgId, OrgKind, PackPreview, PackRecord, Production, ProductionId, Role, StoreError,
    production_etag_of,
};
use serde::Deserialize;

use super::views::{Badge, Layout, outcome_badge};
use super::{
    CsrfForm, CsrfMultipart, Ctx, PageError, PageResult, bad, flash_for, render, see_other, when,
};
use crate::state::AppState;

/// One version of a pack, as the list shows it.
pub struct VersionView {
    pub version: String,
    pub href: String,
    pub digest: String,
    pub source: String,
    pub tests: String,
    /// The production the page is about enables this version.
    pub in_use: bool,
}

/// A pack id with its versions, newest first.
pub struct PackGroup {
    pub id: String,
    pub title: String,
    pub versions: Vec<VersionView>,
}

/// A problem with an uploaded pack: where (rule or test, line) and what.
pub struct UploadProblem {
    pub place: String,
    pub message: String,
}

/// A production that legal or an admin may preview packs on.
pub struct ProductionChoice {
    pub id: String,
    pub title: String,
    pub packs: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "packs.html")]
pub struct PacksPage {
    pub layout: Layout,
    pub groups: Vec<PackGroup>,
    pub can_manage: bool,
    pub production_title: String,
    pub productions: Vec<ProductionChoice>,
    pub default_packs: String,
    pub problems: Vec<UploadProblem>,
    pub problem_summary: String,
    pub text: String,
}

/// A rule of a pack, for people.
pub struct RuleView {
    pub id: String,
    pub title: String,
    pub kind: &'static str,
    pub principle: String,
    pub outcome: String,
    pub message: String,
    pub source: String,
}

/// A rule that differs between two versions.
pub struct RuleChange {
    pub id: String,
    pub change: &'static str,
    /// `(field, before, after)` of a changed rule.
    pub fields: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "pack.html")]
pub struct PackPage {
    pub layout: Layout,
    pub name: String,
    pub title: String,
    pub description: String,
    pub digest: String,
    pub source: String,
    pub rules: Vec<RuleView>,
    pub tests: Vec<(String, u64, bool)>,
    pub text: String,
    pub others: Vec<(String, bool)>,
    pub against: String,
    pub changes: Vec<RuleChange>,
    pub action: String,
}

/// A declaration a pack switch changes, as the preview page shows it.
pub struct ChangeView {
    pub href: String,
    pub reference: String,
    pub before: Badge,
    pub after: Badge,
    pub rules_before: String,
    pub rules_after: String,
    pub blockers_before: String,
    pub blockers_after: String,
    pub obligations_before: String,
    pub obligations_after: String,
    pub suspended: bool,
}

#[derive(Template)]
#[template(path = "pack_preview.html")]
pub struct PreviewPage {
    pub layout: Layout,
    pub production_id: String,
    pub production_title: String,
    pub current: String,
    pub proposed: String,
    pub etag: String,
    pub changes: Vec<ChangeView>,
    pub counts: Vec<(Badge, usize, usize)>,
    pub findings_before: Vec<String>,
    pub findings_after: Vec<String>,
    pub suspended: usize,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    production: Option<String>,
    done: Option<String>,
}

/// The productions whose packs the person may change (legal or admin of the studio).
fn managed(ctx: &Ctx) -> Vec<&Production> {
    ctx.productions
        .iter()
        .filter(|p| {
            ctx.principal.has_role(&p.studio_id, Role::Legal)
                || ctx.principal.has_role(&p.studio_id, Role::Admin)
        })
        .collect()
}

/// The studio whose packs the person manages (legal or admin), if any.
fn managed_studio(ctx: &Ctx) -> Option<OrgId> {
    ctx.principal
        .memberships
        .iter()
        .find(|m| m.org_kind == OrgKind::Studio && matches!(m.role, Role::Legal | Role::Admin))
        .map(|m| m.org_id.clone())
}

fn tests_in_words(r: &PackRecord) -> String {
    let passed = r.tests.iter().filter(|t| t.passed).count();
    match r.tests.len() {
        0 => "no tests".to_owned(),
        n if passed == n => format!("{n} of {n} tests pass"),
        n => format!("{passed} of {n} tests pass"),
    }
}

fn source_in_words(r: &PackRecord) -> String {
    if r.builtin {
        format!("built in · first run here {}", when(r.created_at))
    } else {
        format!(
            "uploaded by {} · {}",
            r.uploaded_by_name
                .clone()
                .or_else(|| r.uploaded_by.as_ref().map(|u| u.0.clone()))
                .unwrap_or_else(|| "unknown".into()),
            when(r.created_at)
        )
    }
}

/// What a path segment keeps as it is: letters, digits and `-._~` (RFC 3986 unreserved).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn pack_href(r: &PackRecord) -> String {
    format!(
        "/packs/{}/{}",
        percent_encoding::utf8_percent_encode(&r.id, SEGMENT),
        percent_encoding::utf8_percent_encode(&r.version, SEGMENT)
    )
}

async fn list_page(
    state: &AppState,
    ctx: &Ctx,
    production: Option<&str>,
    problems: Vec<UploadProblem>,
    problem_summary: String,
    text: String,
) -> PageResult<PacksPage> {
    let records = state.store.packs(&ctx.principal, None).await?;
    let production = production.map(|id| ctx.production(id)).transpose()?;
    let in_use = |r: &PackRecord| {
        production.is_some_and(|p| {
            p.packs.iter().any(|n| {
                *n == r.name()
                    || (r.builtin
                        && *n == r.id
                        && Pack::builtin(&r.id).is_some_and(|b| b.version() == r.version))
            })
        })
    };
    let mut groups: Vec<PackGroup> = Vec::new();
    for r in &records {
        let view = VersionView {
            version: r.version.clone(),
            href: pack_href(r),
            digest: r.digest[..12.min(r.digest.len())].to_owned(),
            source: source_in_words(r),
            tests: tests_in_words(r),
            in_use: in_use(r),
        };
        match groups.iter_mut().find(|g| g.id == r.id) {
            Some(g) => g.versions.push(view),
            None => groups.push(PackGroup {
                id: r.id.clone(),
                title: r.title.clone(),
                versions: vec![view],
            }),
        }
    }
    let studio = managed_studio(ctx);
    let default_packs = match &studio {
        Some(s) => state
            .store
            .default_packs(&ctx.principal, s)
            .await?
            .join(", "),
        None => String::new(),
    };
    let mut layout = ctx.layout("Packs", production.map(|p| p.id.0.as_str()));
    layout.title = "Packs".into();
    Ok(PacksPage {
        layout,
        groups,
        can_manage: studio.is_some(),
        production_title: production
            .map(|p| p.facts.title.clone())
            .unwrap_or_default(),
        productions: managed(ctx)
            .into_iter()
            .map(|p| ProductionChoice {
                id: p.id.0.clone(),
                title: p.facts.title.clone(),
                packs: p.packs.join(", "),
                selected: production.is_some_and(|x| x.id == p.id),
            })
            .collect(),
        default_packs,
        problems,
        problem_summary,
        text,
    })
}

/// Every pack the person may read, by id and version.
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let mut page = list_page(
        &state,
        &ctx,
        q.production.as_deref(),
        vec![],
        String::new(),
        String::new(),
    )
    .await?;
    page.layout.flashes = flash_for(q.done.as_deref());
    Ok(render(&page))
}

/// Legal or an admin uploads a pack file (a file or pasted text). A pack that does not load
/// or whose tests fail is shown again with each problem at its rule or test and line.
pub async fn upload(State(state): State<AppState>, form: CsrfMultipart) -> PageResult {
    let ctx = &form.ctx;
    let Some(studio) = managed_studio(ctx) else {
        return Err(PageError::forbidden(
            "Uploading packs is for legal or an admin of a studio.",
        ));
    };
    let text = match form.parts.get("file").filter(|p| !p.bytes.is_empty()) {
        Some(file) => String::from_utf8(file.bytes.clone())
            .map_err(|_| bad("The pack file is not UTF-8 text."))?,
        None => form.text("text"),
    };
    if text.trim().is_empty() {
        return Err(bad("Choose a pack file or paste its text."));
    }
    match state
        .store
        .upload_pack(&ctx.principal, Some(&studio), &text)
        .await
    {
        Ok((record, _)) => Ok(see_other(&format!("{}?done=pack", pack_href(&record)))),
        Err(StoreError::Invalid { summary, problems }) => {
            let problems = problems
                .into_iter()
                .map(|p| UploadProblem {
                    place: match (p.path, p.line) {
                        (Some(path), Some(line)) => format!("{path}, line {line}"),
                        (Some(path), None) => path,
                        (None, Some(line)) => format!("line {line}"),
                        (None, None) => String::new(),
                    },
                    message: p.message,
                })
                .collect();
            let page = list_page(&state, ctx, None, problems, summary, text).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response_parts())
        }
        Err(e @ (StoreError::Conflict { .. } | StoreError::TooLarge { .. })) => {
            let page = list_page(&state, ctx, None, vec![], e.to_string(), text).await?;
            Ok((StatusCode::CONFLICT, render(&page)).into_response_parts())
        }
        Err(e) => Err(e.into()),
    }
}

trait IntoResponseParts {
    fn into_response_parts(self) -> axum::response::Response;
}

impl IntoResponseParts for (StatusCode, axum::response::Response) {
    fn into_response_parts(self) -> axum::response::Response {
        let (status, mut response) = self;
        *response.status_mut() = status;
        response
    }
}

#[derive(Deserialize, Default)]
pub struct PackQuery {
    against: Option<String>,
    done: Option<String>,
}

fn rules_of(pack: &Pack) -> BTreeMap<String, (&'static str, serde_json::Value)> {
    let mut out = BTreeMap::new();
    for r in &pack.file().rules {
        out.insert(
            r.id.clone(),
            ("rule", serde_json::to_value(r).unwrap_or_default()),
        );
    }
    for a in &pack.file().aggregates {
        out.insert(
            a.id.clone(),
            (
                "aggregate rule",
                serde_json::to_value(a).unwrap_or_default(),
            ),
        );
    }
    out
}

/// A rule's message: its text, or the expression that makes it.
fn message_of(rule: &serde_json::Value) -> String {
    match rule.get("message") {
        Some(serde_json::Value::String(m)) => m.clone(),
        _ => format!("(computed) {}", text_of(rule.get("message_expr"))),
    }
}

fn text_of(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => "—".to_owned(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The rules of `before` and `after` compared rule by rule: added, removed, and changed with
/// each field that differs.
pub fn rule_changes(before: &Pack, after: &Pack) -> Vec<RuleChange> {
    let (b, a) = (rules_of(before), rules_of(after));
    let mut out = Vec::new();
    for (id, (_, rule)) in &a {
        match b.get(id) {
            None => out.push(RuleChange {
                id: id.clone(),
                change: "added",
                fields: vec![],
            }),
            Some((_, old)) if old != rule => {
                let mut keys: Vec<&String> = rule
                    .as_object()
                    .into_iter()
                    .flat_map(|o| o.keys())
                    .chain(old.as_object().into_iter().flat_map(|o| o.keys()))
                    .collect();
                keys.sort();
                keys.dedup();
                let fields = keys
                    .into_iter()
                    .filter(|k| old.get(*k) != rule.get(*k))
                    .map(|k| (k.clone(), text_of(old.get(k)), text_of(rule.get(k))))
                    .collect();
                out.push(RuleChange {
                    id: id.clone(),
                    change: "changed",
                    fields,
                });
            }
            Some(_) => {}
        }
    }
    for id in b.keys().filter(|id| !a.contains_key(*id)) {
        out.push(RuleChange {
            id: id.clone(),
            change: "removed",
            fields: vec![],
        });
    }
    out
}

fn load(text: &str) -> PageResult<Pack> {
    Pack::from_yaml_with(
        text,
        LoadOptions {
            inline_tests_only: true,
        },
    )
    .map_err(|e| {
        PageError::status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "This pack no longer loads",
            e.to_string(),
        )
    })
}

/// One pack version: its rules with titles, sources and messages, its tests, its text, and
/// a rule-by-rule comparison with another version.
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, version)): Path<(String, String)>,
    Query(q): Query<PackQuery>,
) -> PageResult {
    let (record, text) = state
        .store
        .pack(&ctx.principal, &id, &version, None)
        .await?;
    let pack = load(&text)?;
    let mut rules: Vec<RuleView> = pack
        .file()
        .rules
        .iter()
        .map(|r| {
            let v = serde_json::to_value(r).unwrap_or_default();
            RuleView {
                id: r.id.clone(),
                title: r.title.clone(),
                kind: "rule",
                principle: text_of(v.get("principle")),
                outcome: text_of(v.get("outcome")),
                message: message_of(&v),
                source: text_of(v.get("source")),
            }
        })
        .collect();
    rules.extend(pack.file().aggregates.iter().map(|a| {
        let v = serde_json::to_value(a).unwrap_or_default();
        RuleView {
            id: a.id.clone(),
            title: a.title.clone(),
            kind: "about the production",
            principle: "—".into(),
            outcome: text_of(v.get("outcome")),
            message: message_of(&v),
            source: text_of(v.get("source")),
        }
    }));
    let siblings: Vec<PackRecord> = state
        .store
        .packs(&ctx.principal, None)
        .await?
        .into_iter()
        .filter(|r| {
            r.id == record.id && r.version != record.version && r.studio_id == record.studio_id
        })
        .collect();
    let against = q.against.clone().unwrap_or_default();
    let changes = match siblings.iter().find(|r| r.version == against) {
        Some(other) => {
            let (_, other_text) = state
                .store
                .pack(&ctx.principal, &other.id, &other.version, None)
                .await?;
            rule_changes(&load(&other_text)?, &pack)
        }
        None => Vec::new(),
    };
    let mut layout = ctx.layout(&format!("Pack {}", record.name()), None);
    layout.flashes = flash_for(q.done.as_deref());
    Ok(render(&PackPage {
        layout,
        name: record.name(),
        title: record.title.clone(),
        description: pack.file().description.clone(),
        digest: record.digest.clone(),
        source: source_in_words(&record),
        rules,
        tests: record
            .tests
            .iter()
            .map(|t| (t.name.clone(), t.line, t.passed))
            .collect(),
        text,
        others: siblings
            .iter()
            .map(|r| (r.version.clone(), r.version == against))
            .collect(),
        against,
        changes,
        action: pack_href(&record),
    }))
}

#[derive(Deserialize, Default)]
pub struct PreviewQuery {
    production: String,
    packs: String,
}

fn names(list: &str) -> Vec<String> {
    list.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn joined(items: &[String]) -> String {
    if items.is_empty() {
        "—".into()
    } else {
        items.join(", ")
    }
}

fn finding_lines(list: &[greenlight_core::wire::ProductionFinding]) -> Vec<String> {
    list.iter()
        .map(|f| format!("{} ({}): {}", f.rule, f.outcome.as_str(), f.message))
        .collect()
}

fn preview_page(
    ctx: &Ctx,
    p: &Production,
    proposed: &[String],
    preview: PackPreview,
) -> PreviewPage {
    let changes = preview
        .changes
        .iter()
        .map(|c| ChangeView {
            href: format!("/declarations/{}", c.declaration_id),
            reference: c.use_ref.clone(),
            before: outcome_badge(c.before.outcome.as_str()),
            after: outcome_badge(c.after.outcome.as_str()),
            rules_before: joined(&c.before.rules),
            rules_after: joined(&c.after.rules),
            blockers_before: joined(&c.before.blockers),
            blockers_after: joined(&c.after.blockers),
            obligations_before: joined(&c.before.obligations),
            obligations_after: joined(&c.after.obligations),
            suspended: c.approval_suspended,
        })
        .collect();
    let counts = greenlight_core::Outcome::ALL
        .iter()
        .map(|o| {
            (
                outcome_badge(o.as_str()),
                preview.counts.before.get(*o),
                preview.counts.after.get(*o),
            )
        })
        .collect();
    PreviewPage {
        layout: ctx.layout(
            &format!("Preview packs · {}", p.facts.title),
            Some(p.id.0.as_str()),
        ),
        production_id: p.id.0.clone(),
        production_title: p.facts.title.clone(),
        current: p.packs.join(", "),
        proposed: proposed.join(", "),
        etag: production_etag_of(p.version),
        suspended: preview
            .changes
            .iter()
            .filter(|c| c.approval_suspended)
            .count(),
        changes,
        counts,
        findings_before: finding_lines(&preview.production_findings.before),
        findings_after: finding_lines(&preview.production_findings.after),
    }
}

/// What switching a production to a pack set would change on its live uses. Writes nothing.
pub async fn preview(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<PreviewQuery>,
) -> PageResult {
    let p = ctx.production(&q.production)?.clone();
    let proposed = names(&q.packs);
    let preview = state
        .store
        .preview_packs(&ctx.principal, &p.id, &proposed)
        .await?;
    Ok(render(&preview_page(&ctx, &p, &proposed, preview)))
}

/// Adopts the previewed pack set, provided the production did not change since the preview.
pub async fn adopt(State(state): State<AppState>, form: CsrfForm) -> PageResult {
    let id = ProductionId(form.get("production"));
    let packs = names(&form.get("packs"));
    let etag = form.get("etag");
    state
        .store
        .adopt_packs(&form.ctx.principal, &id, Some(&etag), packs)
        .await?;
    Ok(see_other(&format!("/productions/{id}?done=packs")))
}

/// Sets the studio's pack set for new productions.
pub async fn set_default(State(state): State<AppState>, form: CsrfForm) -> PageResult {
    let Some(studio) = managed_studio(&form.ctx) else {
        return Err(PageError::forbidden(
            "Choosing default packs is for legal or an admin of a studio.",
        ));
    };
    state
        .store
        .set_default_packs(&form.ctx.principal, &studio, names(&form.get("packs")))
        .await?;
    Ok(see_other("/packs?done=default_packs"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "pack: studio-x\nversion: '1'\ntitle: X\nrules:\n  - id: R-1\n    title: One\n    outcome: notify\n    source: s\n    when: use.purpose == 'ideation'\n    message: one\n  - id: R-2\n    title: Two\n    outcome: notify\n    source: s\n    when: use.purpose == 'vfx'\n    message: two\n";

    #[test]
    fn a_stricter_rule_shows_as_changed_with_its_field() {
        let before = Pack::from_yaml(BEFORE).expect("loads");
        let after_text = BEFORE.replace("version: '1'", "version: '2'").replacen(
            "outcome: notify",
            "outcome: review",
            1,
        );
        let after_text =
            after_text[..after_text.find("  - id: R-2").expect("R-2 is there")].to_owned();
        let after = Pack::from_yaml(&after_text).expect("loads");
        let changes = rule_changes(&before, &after);
        assert_eq!(
            changes.len(),
            2,
            "{:?}",
            changes.iter().map(|c| &c.id).collect::<Vec<_>>()
        );
        let changed = changes.iter().find(|c| c.id == "R-1").expect("R-1 listed");
        assert_eq!(changed.change, "changed");
        assert_eq!(
            changed.fields,
            vec![(
                "outcome".to_owned(),
                "notify".to_owned(),
                "review".to_owned()
            )]
        );
        let removed = changes.iter().find(|c| c.id == "R-2").expect("R-2 listed");
        assert_eq!(removed.change, "removed");
    }
}
