//! Comparing two pack sets over the same declarations: which declarations change outcome,
//! blockers or obligations, how many declarations fall in each outcome before and after, and
//! the production-level findings of each set.
//!
//! `greenlight policy diff` calls [`compare`] with declaration files; the server's preview
//! calls it with a production's live declarations. The caller chooses how a declaration is
//! named in the answer (`K`: `{"file": ...}` or `{"declaration_id": ...}`), flattened into
//! each change beside `use_ref`, `before` and `after`.
//!
//! ```
//! use greenlight_core::{diff::{compare, Subject}, format::{parse, SourceKind}, pack::Pack};
//!
//! let parsed = parse(b"greenlight: declaration/v1
//! production: {title: Harbour Lights}
//! use: {ref: HL-1, summary: Mood board, purpose: ideation}
//! tools: [{name: Enterprise image model, enterprise_agreement: true, data_use: none}]
//! ", SourceKind::Yaml).unwrap();
//! let packs = [Pack::builtin("netflix-genai").unwrap()];
//! let subjects = [Subject { key: serde_json::json!({"file": "hl-1.yaml"}), declaration: &parsed.declaration, organisation: None }];
//! let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
//! let diff = compare(&subjects, &packs, &packs, date).unwrap();
//! assert!(diff.changes.is_empty());
//! assert_eq!(diff.counts.before.notify, 1);
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::declaration::Declaration;
use crate::eval::{EvalError, LiveDeclaration, evaluate, evaluate_production};
use crate::outcome::Outcome;
use crate::pack::Pack;
use crate::wire::{CheckResult, ProductionFinding};

/// What a check gives, reduced to what a pack change is judged by: the outcome and the sets of
/// fired rule ids, open blockers' rule ids and obligation kinds (each sorted, without repeats).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub outcome: Outcome,
    pub rules: Vec<String>,
    pub blockers: Vec<String>,
    pub obligations: Vec<String>,
}

fn set<'a>(items: impl Iterator<Item = &'a str>) -> Vec<String> {
    items
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

impl Summary {
    /// The summary of a check result.
    pub fn of(result: &CheckResult) -> Summary {
        Summary {
            outcome: result.outcome,
            rules: set(result.findings.iter().map(|f| f.rule.as_str())),
            blockers: set(result.blockers.iter().map(|b| b.rule.as_str())),
            obligations: set(result.obligations.iter().map(|o| o.kind.as_str())),
        }
    }

    /// Whether `other` differs in what a pack change is reported for: the outcome, the
    /// blockers or the obligations (a different set of fired rules alone is not a change).
    pub fn changed(&self, other: &Summary) -> bool {
        self.outcome != other.outcome
            || self.blockers != other.blockers
            || self.obligations != other.obligations
    }
}

/// A declaration to compare on, and how the answer names it.
#[derive(Debug, Clone)]
pub struct Subject<'a, K> {
    /// How the answer names the declaration (serialized flattened into its change).
    pub key: K,
    /// The (effective) declaration.
    pub declaration: &'a Declaration,
    /// The organisation that declared it, for aggregate rules (null when unknown).
    pub organisation: Option<&'a str>,
}

/// One declaration whose outcome, blockers or obligations differ between the pack sets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change<K> {
    #[serde(flatten)]
    pub subject: K,
    pub use_ref: String,
    pub before: Summary,
    pub after: Summary,
}

/// How many declarations have each outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCounts {
    pub notify: usize,
    pub review: usize,
    pub escalate: usize,
    pub written_approval: usize,
}

impl OutcomeCounts {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Notify => self.notify += 1,
            Outcome::Review => self.review += 1,
            Outcome::Escalate => self.escalate += 1,
            Outcome::WrittenApproval => self.written_approval += 1,
        }
    }

    /// The count of one outcome.
    pub fn get(&self, outcome: Outcome) -> usize {
        match outcome {
            Outcome::Notify => self.notify,
            Outcome::Review => self.review,
            Outcome::Escalate => self.escalate,
            Outcome::WrittenApproval => self.written_approval,
        }
    }
}

/// A value before and after the pack change.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BeforeAfter<T> {
    pub before: T,
    pub after: T,
}

/// The comparison of two pack sets over the same declarations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyDiff<K> {
    /// The declarations that change, in the order given.
    pub changes: Vec<Change<K>>,
    /// Declarations per outcome with each pack set.
    pub counts: BeforeAfter<OutcomeCounts>,
    /// The aggregate rules' findings over all the declarations, with each pack set.
    pub production_findings: BeforeAfter<Vec<ProductionFinding>>,
}

/// Evaluates every subject with `from` and with `to` (as of `as_of`) and reports the
/// differences. Aggregate rules see the subjects as one production, each named by its use's
/// ref.
pub fn compare<K: Clone>(
    subjects: &[Subject<'_, K>],
    from: &[Arc<Pack>],
    to: &[Arc<Pack>],
    as_of: NaiveDate,
) -> Result<PolicyDiff<K>, EvalError> {
    compare_with_results(subjects, from, to, as_of).map(|(diff, _)| diff)
}

/// As [`compare`], also giving each subject's full check result with `to`, in the order given
/// (what a caller that stores results, or compares them whole, needs without evaluating
/// again).
pub fn compare_with_results<K: Clone>(
    subjects: &[Subject<'_, K>],
    from: &[Arc<Pack>],
    to: &[Arc<Pack>],
    as_of: NaiveDate,
) -> Result<(PolicyDiff<K>, Vec<CheckResult>), EvalError> {
    let check = |packs: &[Arc<Pack>]| -> Result<Vec<CheckResult>, EvalError> {
        subjects
            .iter()
            .map(|s| evaluate(s.declaration, packs, as_of))
            .collect()
    };
    let before = check(from)?;
    let after = check(to)?;
    let production = |packs: &[Arc<Pack>], results: &[CheckResult]| {
        let live: Vec<LiveDeclaration> = subjects
            .iter()
            .zip(results)
            .map(|(s, r)| LiveDeclaration {
                reference: &s.declaration.usage.reference,
                organisation: s.organisation,
                declaration: s.declaration,
                result: r,
            })
            .collect();
        evaluate_production(&live, packs, as_of)
    };
    let production_findings = BeforeAfter {
        before: production(from, &before)?,
        after: production(to, &after)?,
    };
    let mut counts = BeforeAfter::<OutcomeCounts>::default();
    let mut changes = Vec::new();
    for ((subject, b), a) in subjects.iter().zip(&before).zip(&after) {
        counts.before.add(b.outcome);
        counts.after.add(a.outcome);
        let (b, a) = (Summary::of(b), Summary::of(a));
        if b.changed(&a) {
            changes.push(Change {
                subject: subject.key.clone(),
                use_ref: subject.declaration.usage.reference.clone(),
                before: b,
                after: a,
            });
        }
    }
    Ok((
        PolicyDiff {
            changes,
            counts,
            production_findings,
        },
        after,
    ))
}
