//! The *effective declaration*: what the policy evaluates on the server. Facts of record
//! win over what a partner typed (`spec/decisions.md`, "Facts of record win"):
//!
//! 1. the production record's facts (title, kind, eu_release, release_date, the union
//!    agreements) replace the declared `production` section;
//! 2. a declared tool that matches a registered tool (name, and vendor when both give one,
//!    case-insensitive) takes the registry's reviewed terms;
//! 3. `talent[].consent` comes only from consent records legal linked to that entry (and
//!    that are neither revoked nor expired), its description of use (`scope`) and separate
//!    signature included; a typed consent is shown as claimed;
//! 4. `inputs[].cleared` and `union_work.agreement` count only once legal confirmed them.
//!
//! Every difference between what was declared and what is on record is returned.

use chrono::NaiveDate;
use greenlight_core::declaration::{self as core_decl, Declaration};
use serde_json::{Value, json};

use crate::model::{
    Confirmation, ConfirmationKind, Consent, Difference, ProductionFacts, Tool, ToolId,
};

/// What the store knows about a declaration beyond its text.
pub struct Record<'a> {
    pub production: &'a ProductionFacts,
    /// The studio's registered tools.
    pub tools: &'a [Tool],
    /// Consents linked to this declaration, with the performer (talent entry) they are linked to.
    pub consents: &'a [(String, Consent)],
    pub confirmations: &'a [Confirmation],
    /// Today, for consent expiry.
    pub as_of: NaiveDate,
}

/// The effective declaration and how it differs from what was declared.
#[derive(Debug, Clone)]
pub struct Effective {
    pub declaration: Declaration,
    pub differences: Vec<Difference>,
    /// Registered tools the declaration names.
    pub tools_used: Vec<ToolId>,
}

fn key(s: &str) -> String {
    s.trim().to_lowercase()
}

/// Matches a declared tool to a registered one: same name, and same vendor when both give one.
pub fn match_tool<'t>(tools: &'t [Tool], name: &str, vendor: Option<&str>) -> Option<&'t Tool> {
    let name = key(name);
    tools.iter().find(|t| {
        key(&t.name) == name
            && match (vendor, t.vendor.as_deref()) {
                (Some(a), Some(b)) => key(a) == key(b),
                _ => true,
            }
    })
}

/// True when a consent counts today: not revoked, not expired.
pub fn consent_in_force(c: &Consent, as_of: NaiveDate) -> bool {
    c.revoked_at.is_none() && c.expires.is_none_or(|e| e >= as_of)
}

/// Computes the effective declaration.
pub fn effective(declared: &Declaration, record: &Record<'_>) -> Effective {
    let mut d = declared.clone();
    let mut diffs = Vec::new();
    let mut diff = |path: String, declared: Value, effective: Value, source: &str| {
        if declared != effective {
            diffs.push(Difference {
                path,
                declared,
                effective,
                source: source.to_owned(),
            });
        }
    };

    // 1. Production facts of record.
    let facts = record.production;
    let kind = core_decl::ProductionKind::parse(&facts.kind).unwrap_or(declared.production.kind);
    diff(
        "production.title".into(),
        json!(declared.production.title),
        json!(facts.title),
        "production record",
    );
    diff(
        "production.kind".into(),
        json!(declared.production.kind),
        json!(kind),
        "production record",
    );
    diff(
        "production.eu_release".into(),
        json!(declared.production.eu_release),
        json!(facts.eu_release),
        "production record",
    );
    diff(
        "production.release_date".into(),
        json!(declared.production.release_date),
        json!(facts.release_date),
        "production record",
    );
    // The union agreements are a fact of record like eu_release: what the partner typed
    // never puts a production under an agreement, nor takes it out of one. The store only
    // keeps spellings of the format, so none is dropped here.
    let agreements: Vec<core_decl::Agreement> = facts
        .agreements
        .iter()
        .filter_map(|a| core_decl::Agreement::parse(a))
        .collect();
    diff(
        "production.agreements".into(),
        json!(declared.production.agreements),
        json!(agreements),
        "production record",
    );
    d.production.title = facts.title.clone();
    d.production.kind = kind;
    d.production.eu_release = facts.eu_release;
    d.production.release_date = facts.release_date;
    d.production.agreements = agreements;

    // 2. Registered tools' reviewed terms.
    let mut tools_used = Vec::new();
    for (i, tool) in d.tools.iter_mut().enumerate() {
        let Some(reg) = match_tool(record.tools, &tool.name, tool.vendor.as_deref()) else {
            continue;
        };
        if !tools_used.contains(&reg.id) {
            tools_used.push(reg.id.clone());
        }
        let source = format!("tool registry: {}", reg.name);
        let data_use = core_decl::DataUse::parse(reg.data_terms.as_str())
            .unwrap_or(core_decl::DataUse::Unknown);
        let agreement = reg.agreement.is_some();
        diff(
            format!("tools[{i}].data_use"),
            json!(tool.data_use),
            json!(data_use),
            &source,
        );
        diff(
            format!("tools[{i}].enterprise_agreement"),
            json!(tool.enterprise_agreement),
            json!(agreement),
            &source,
        );
        diff(
            format!("tools[{i}].terms_reviewed"),
            json!(tool.terms_reviewed),
            json!(reg.terms_reviewed),
            &source,
        );
        tool.data_use = data_use;
        tool.enterprise_agreement = agreement;
        tool.terms_reviewed = reg.terms_reviewed;
    }

    // 3. Consents only from the registry, linked by legal.
    for (i, talent) in d.talent.iter_mut().enumerate() {
        let linked = record
            .consents
            .iter()
            .find(|(performer, _)| key(performer) == key(&talent.performer))
            .map(|(_, c)| c);
        let (effective, source) = match linked {
            Some(c) if !consent_in_force(c, record.as_of) => (
                None,
                format!(
                    "consent registry: {}'s consent signed {} is revoked or expired",
                    c.performer, c.signed
                ),
            ),
            Some(c) if c.treatment.as_str() != talent.treatment.as_str() => (
                None,
                format!(
                    "consent registry: {}'s consent signed {} covers {}, not {}",
                    c.performer, c.signed, c.treatment, talent.treatment
                ),
            ),
            Some(c) => (
                Some(core_decl::Consent {
                    document: c.document_name.clone(),
                    scope: c.scope.clone(),
                    signed: c.signed,
                    by: core_decl::ConsentBy::parse(c.by.as_str())
                        .unwrap_or(core_decl::ConsentBy::Performer),
                    // Legal's record of a separate signature; what the partner typed
                    // never counts.
                    separately_signed: c.separately_signed,
                }),
                format!(
                    "consent registry: {}'s consent signed {} ({})",
                    c.performer, c.signed, c.document_name
                ),
            ),
            None => (
                None,
                "consent registry: no consent linked (a typed consent is only claimed)".to_owned(),
            ),
        };
        diff(
            format!("talent[{i}].consent"),
            json!(talent.consent),
            json!(effective),
            &source,
        );
        talent.consent = effective;
    }

    // 4. Clearances and agreements only once confirmed.
    for (i, input) in d.inputs.iter_mut().enumerate() {
        let confirmed = record
            .confirmations
            .iter()
            .find(|c| c.kind == ConfirmationKind::InputCleared && c.index == i as i64);
        let cleared = confirmed.is_some();
        let source = match confirmed {
            Some(c) => format!("confirmed by legal: {}", c.reference),
            None => "not confirmed by legal (only claimed)".to_owned(),
        };
        diff(
            format!("inputs[{i}].cleared"),
            json!(input.cleared),
            json!(cleared),
            &source,
        );
        input.cleared = cleared;
    }
    let agreement = record
        .confirmations
        .iter()
        .find(|c| c.kind == ConfirmationKind::UnionAgreement)
        .map(|c| c.reference.clone());
    let source = match &agreement {
        Some(r) => format!("confirmed by legal: {r}"),
        None => "not confirmed by legal (only claimed)".to_owned(),
    };
    diff(
        "union_work.agreement".into(),
        json!(d.union_work.agreement),
        json!(agreement),
        &source,
    );
    d.union_work.agreement = agreement;

    Effective {
        declaration: d,
        differences: diffs,
        tools_used,
    }
}
