//! Builders shared by the core's integration tests.
#![allow(dead_code)]

use std::sync::Arc;

use chrono::NaiveDate;
use greenlight_core::declaration::*;
use greenlight_core::format::{SourceKind, parse};
use greenlight_core::pack::Pack;
use greenlight_core::{CheckResult, evaluate};

/// A declaration that fires nothing but NFX-NOTIFY: enterprise tool, no data use, own prompt,
/// temporary output.
pub const SAFE: &str = "greenlight: declaration/v1
production:
  title: Harbour Lights
use:
  ref: HL-1
  summary: Mood board for the lighthouse
  purpose: ideation
tools:
  - name: Enterprise image model
    enterprise_agreement: true
    data_use: none
inputs:
  - kind: prompt
";

pub fn safe() -> Declaration {
    parse(SAFE.as_bytes(), SourceKind::Yaml)
        .expect("the safe sample parses")
        .declaration
}

pub fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test dates are valid")
}

pub fn as_of() -> NaiveDate {
    date("2026-11-01")
}

pub fn netflix() -> Vec<Arc<Pack>> {
    vec![Pack::builtin("netflix-genai").expect("built in")]
}

pub fn eu() -> Vec<Arc<Pack>> {
    vec![Pack::builtin("eu-ai-act-art50").expect("built in")]
}

pub fn sag() -> Vec<Arc<Pack>> {
    vec![Pack::builtin("sag-aftra-2023").expect("built in")]
}

/// Every built-in pack, in the order `policy show` lists them.
pub fn all_packs() -> Vec<Arc<Pack>> {
    Pack::builtin_ids()
        .iter()
        .map(|id| Pack::builtin(id).expect("built in"))
        .collect()
}

pub fn both() -> Vec<Arc<Pack>> {
    vec![
        Pack::builtin("netflix-genai").expect("built in"),
        Pack::builtin("eu-ai-act-art50").expect("built in"),
    ]
}

pub fn check(decl: &Declaration) -> CheckResult {
    evaluate(decl, &netflix(), as_of()).expect("evaluation succeeds")
}

pub fn check_with(decl: &Declaration, packs: &[Arc<Pack>]) -> CheckResult {
    evaluate(decl, packs, as_of()).expect("evaluation succeeds")
}

/// The sorted set of distinct rule ids that fired.
pub fn rules(result: &CheckResult) -> Vec<String> {
    let mut ids: Vec<String> = result.findings.iter().map(|f| f.rule.clone()).collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The sorted set of distinct rule ids with an open blocker.
pub fn blockers(result: &CheckResult) -> Vec<String> {
    let mut ids: Vec<String> = result.blockers.iter().map(|b| b.rule.clone()).collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The obligation kinds, sorted, repeats kept.
pub fn kinds(result: &CheckResult) -> Vec<String> {
    let mut kinds: Vec<String> = result.obligations.iter().map(|o| o.kind.clone()).collect();
    kinds.sort();
    kinds
}

pub fn count(result: &CheckResult, rule: &str) -> usize {
    result.findings.iter().filter(|f| f.rule == rule).count()
}

pub fn answer(result: &CheckResult, principle: &str) -> Answer {
    *result
        .principles
        .as_ref()
        .expect("netflix-genai defines principles")
        .get(principle)
        .expect("every principle is answered")
}

pub fn input(kind: InputKind, owner: Owner) -> Input {
    Input {
        kind,
        owner,
        cleared: false,
        description: None,
        mentions: Vec::new(),
    }
}

pub fn tool(enterprise: bool, data_use: DataUse, reviewed: bool) -> Tool {
    Tool {
        name: "Tool".to_owned(),
        vendor: None,
        enterprise_agreement: enterprise,
        data_use,
        terms_reviewed: reviewed.then(|| date("2026-01-01")),
    }
}

pub fn talent(treatment: Treatment) -> Talent {
    Talent {
        performer: "Jane Doe".to_owned(),
        treatment,
        changes_performance: false,
        exception: TalentException::None,
        deceased: false,
        model_reused_elsewhere: false,
        role: Role::Principal,
        replica_origin: ReplicaOrigin::Unknown,
        scan: None,
        replaces_human_role: false,
        consent: None,
    }
}

pub fn consent(by: ConsentBy) -> Option<Consent> {
    Some(Consent {
        document: "C-1".to_owned(),
        scope: "flashback scenes only".to_owned(),
        signed: date("2026-01-01"),
        by,
        separately_signed: false,
    })
}

/// A consent signed separately from other terms: one that counts under the union pack.
pub fn signed_consent(by: ConsentBy) -> Option<Consent> {
    consent(by).map(|c| Consent {
        separately_signed: true,
        ..c
    })
}

pub fn mention(kind: MentionType, name: &str, feature: Feature) -> Mention {
    Mention {
        kind,
        name: name.to_owned(),
        feature,
    }
}
