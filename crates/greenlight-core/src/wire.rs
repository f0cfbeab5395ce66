//! The JSON a check returns ("What a check returns" in `spec/declaration-v1.md`), kept apart
//! from the evaluator that fills it. The HTTP API returns the same object.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::declaration::Answer;
use crate::outcome::Outcome;

/// The result of checking one declaration against one or more packs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The strictest outcome over all findings of all packs.
    pub outcome: Outcome,
    /// The engine's answers to the principles, when an evaluated pack defines principles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principles: Option<BTreeMap<String, Answer>>,
    /// Every rule that fired: packs in the order given, then each pack's rule order.
    pub findings: Vec<Finding>,
    /// Requirements to record before the use may proceed.
    pub blockers: Vec<Blocker>,
    /// Things someone must do for the use to be lawful or compliant.
    pub obligations: Vec<Obligation>,
    /// The first pack evaluated.
    pub policy: PackRef,
    /// Every pack evaluated, in order.
    pub policies: Vec<PackRef>,
}

impl CheckResult {
    /// Whether `other` judges the use as this does: the same outcome, principle answers,
    /// findings, blockers and obligations. Which packs were evaluated (`policy`, `policies`)
    /// is not part of the judgement: enabling a pack that finds nothing leaves a decision
    /// standing.
    pub fn same_judgement(&self, other: &CheckResult) -> bool {
        self.outcome == other.outcome
            && self.principles == other.principles
            && self.findings == other.findings
            && self.blockers == other.blockers
            && self.obligations == other.obligations
    }
}

/// A pack's id and version: enough to replay a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackRef {
    pub id: String,
    pub version: String,
}

/// A rule that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub pack: String,
    pub outcome: Outcome,
    /// The principle the rule belongs to, or null.
    pub principle: Option<String>,
    pub message: String,
    pub source: String,
    /// Field paths of the declaration that caused the finding.
    pub fields: Vec<String>,
}

/// A finding of an aggregate rule: about a production, not one use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductionFinding {
    pub rule: String,
    pub pack: String,
    pub outcome: Outcome,
    pub message: String,
    pub source: String,
    /// The `ref`s of the declarations the finding concerns.
    pub declarations: Vec<String>,
}

/// A requirement that must be recorded before the use may proceed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blocker {
    pub rule: String,
    pub pack: String,
    pub message: String,
    /// What clears it, in a producer's words.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub clears: String,
    pub fields: Vec<String>,
}

/// Something someone must do (a disclosure, a label, a notice).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Obligation {
    pub rule: String,
    pub pack: String,
    /// A short stable word defined by the pack (`keep-marking`, `label`).
    pub kind: String,
    pub text: String,
    /// `YYYY-MM-DD`, or words such as `first exposure`.
    pub due: String,
    pub source: String,
    pub fields: Vec<String>,
}
