//! Declarations and their decisions, read from a folder (`--declarations DIR`): each
//! declaration file (YAML or JSON, parsed by `greenlight_core::format::parse`) may have a
//! decision beside it named after its stem, `STEM.decision.yaml`:
//!
//! ```yaml
//! state: approved          # approved | rejected | in_review
//! by: reviewer@studio.example
//! at: 2026-10-02
//! conditions: ["credit the tool"]
//! ```
//!
//! Ledger entries name a declaration by its `use.ref`. A scan against a server
//! (`greenlight scan --server URL`) gets the same from the server's records instead:
//! [`Declarations::recorded`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use greenlight_core::Declaration;
use greenlight_core::format::{SourceKind, parse};
use greenlight_core::pack::Pack;
use serde::{Deserialize, Serialize};

/// The state a decision records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionState {
    /// Approved.
    Approved,
    /// Rejected.
    Rejected,
    /// Still being reviewed.
    InReview,
}

/// A decision file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// The state.
    pub state: DecisionState,
    /// Who decided.
    pub by: String,
    /// When (a date or an RFC 3339 time, kept as written).
    pub at: String,
    /// Conditions attached to an approval.
    #[serde(default)]
    pub conditions: Vec<String>,
}

/// A declaration with what the scan needs to know about it.
#[derive(Debug, Clone)]
pub struct DeclarationInfo {
    /// Where it was read: the declaration file, or for a declaration on a server a name such
    /// as `declaration 0193… (revision 2)` (one path component, so messages can quote it).
    pub file: PathBuf,
    /// The parsed declaration, when read from a file (a server sends only what the scan
    /// decides with).
    pub declaration: Option<Declaration>,
    /// `outputs.final`: part of the final deliverables (on a server, of the effective
    /// declaration).
    pub final_use: bool,
    /// Its decision, when one is recorded.
    pub decision: Option<Decision>,
    /// Whether the `eu-ai-act-art50` pack gives it a `keep-marking` obligation on the scan date
    /// (on a server: whether its current triage carries one).
    pub keep_marking: bool,
    /// The state as a server names it (`suspended`, `withdrawn`, …), when it came from one.
    pub recorded_state: Option<String>,
}

/// What a server records about one declaration, as [`DeclarationInfo::recorded`] takes it.
#[derive(Debug, Clone)]
pub struct RecordedDeclaration {
    /// The server's id of the declaration.
    pub id: String,
    /// Its current revision.
    pub revision: i64,
    /// Its workflow state (`approved`, `suspended`, `in_review`, `withdrawn`, …).
    pub state: String,
    /// Whether the current revision is approved.
    pub approved: bool,
    /// `outputs.final` of the effective declaration.
    pub final_use: bool,
    /// Who decided and when, and the conditions, when a decision is recorded.
    pub decided: Option<(String, String, Vec<String>)>,
    /// Whether the current triage carries a `keep-marking` obligation.
    pub keep_marking: bool,
}

impl DeclarationInfo {
    /// A declaration read from a server rather than from a file. Only an approved current
    /// revision counts as approved: a suspended, rejected, withdrawn or in-review one does not.
    pub fn recorded(r: RecordedDeclaration) -> Self {
        let state = if r.approved {
            DecisionState::Approved
        } else if r.state == "rejected" {
            DecisionState::Rejected
        } else {
            DecisionState::InReview
        };
        let decision = match r.decided {
            Some((by, at, conditions)) => Some(Decision {
                state,
                by,
                at,
                conditions,
            }),
            // An approval always has a decision; keep `approved()` true to the record anyway.
            None if r.approved => Some(Decision {
                state,
                by: String::new(),
                at: String::new(),
                conditions: vec![],
            }),
            None => None,
        };
        // Messages quote the last path component: keep the name in one.
        let name = format!("declaration {} (revision {})", r.id, r.revision).replace('/', "_");
        DeclarationInfo {
            file: PathBuf::from(name),
            declaration: None,
            final_use: r.final_use,
            decision,
            keep_marking: r.keep_marking,
            recorded_state: Some(r.state),
        }
    }

    /// Whether the declaration is approved.
    pub fn approved(&self) -> bool {
        self.decision
            .as_ref()
            .is_some_and(|d| d.state == DecisionState::Approved)
    }

    /// Whether the declared output is part of the final deliverables.
    pub fn is_final(&self) -> bool {
        self.final_use
    }

    /// `approved`, `rejected`, `in_review` or `undecided`; for a declaration on a server, its
    /// recorded state (`suspended`, `withdrawn`, …).
    pub fn state_name(&self) -> &str {
        if let Some(s) = &self.recorded_state {
            return s;
        }
        match self.decision.as_ref().map(|d| d.state) {
            Some(DecisionState::Approved) => "approved",
            Some(DecisionState::Rejected) => "rejected",
            Some(DecisionState::InReview) => "in_review",
            None => "undecided",
        }
    }
}

/// Declarations by `use.ref`.
#[derive(Debug, Clone, Default)]
pub struct Declarations {
    /// By `use.ref`.
    pub by_ref: BTreeMap<String, DeclarationInfo>,
}

/// Why the declarations folder cannot be used (the scan stops: exit 4).
#[derive(Debug, thiserror::Error)]
pub enum DeclarationsError {
    /// A file or the folder could not be read.
    #[error("{path}: {message}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        message: String,
    },
    /// A declaration or decision file is invalid.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem, one per line.
        message: String,
    },
    /// Two declarations share a `use.ref`.
    #[error("{first} and {second} both declare use.ref {reference:?}")]
    Duplicate {
        /// The reference.
        reference: String,
        /// One file.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
}

impl Declarations {
    /// Declarations recorded on a server, each under its `use.ref` (a server keeps one
    /// declaration per `use.ref` and production; a repeated one replaces the earlier).
    pub fn recorded(uses: impl IntoIterator<Item = (String, RecordedDeclaration)>) -> Self {
        Declarations {
            by_ref: uses
                .into_iter()
                .map(|(reference, r)| (reference, DeclarationInfo::recorded(r)))
                .collect(),
        }
    }

    /// Reads every declaration in `dir` (not recursive) and its decision; evaluates each with
    /// the `eu-ai-act-art50` pack as of `as_of` to learn whether its AI marking must be kept.
    pub fn load(dir: &Path, as_of: NaiveDate) -> Result<Self, DeclarationsError> {
        let io = |path: &Path, e: &dyn std::fmt::Display| DeclarationsError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, &e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        let eu = Pack::builtin("eu-ai-act-art50");
        let mut out = Self::default();
        for path in files {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let lower = name.to_ascii_lowercase();
            let is_decl = [".yaml", ".yml", ".json"]
                .iter()
                .any(|e| lower.ends_with(e));
            if !is_decl || lower.contains(".decision.") {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|e| io(&path, &e))?;
            let parsed = parse(&bytes, SourceKind::from_path(&path)).map_err(|e| {
                DeclarationsError::Invalid {
                    path: path.clone(),
                    message: std::iter::once(e.summary.clone())
                        .chain(e.problems.iter().map(|p| match (&p.path, p.line) {
                            (Some(f), Some(l)) => format!("{f} (line {l}): {}", p.message),
                            (Some(f), None) => format!("{f}: {}", p.message),
                            (None, _) => p.message.clone(),
                        }))
                        .collect::<Vec<_>>()
                        .join("\n"),
                }
            })?;
            let declaration = parsed.declaration;
            let stem = name
                .rsplit_once('.')
                .map_or(name.as_str(), |(s, _)| s)
                .to_string();
            let decision_path = dir.join(format!("{stem}.decision.yaml"));
            let decision = if decision_path.is_file() {
                let text =
                    std::fs::read_to_string(&decision_path).map_err(|e| io(&decision_path, &e))?;
                Some(serde_saphyr::from_str::<Decision>(&text).map_err(|e| {
                    DeclarationsError::Invalid {
                        path: decision_path.clone(),
                        message: e.without_snippet().to_string(),
                    }
                })?)
            } else {
                None
            };
            let keep_marking = match &eu {
                Some(pack) => {
                    greenlight_core::evaluate(&declaration, std::slice::from_ref(pack), as_of)
                        .map(|r| r.obligations.iter().any(|o| o.kind == "keep-marking"))
                        .map_err(|e| DeclarationsError::Invalid {
                            path: path.clone(),
                            message: e.to_string(),
                        })?
                }
                None => false,
            };
            let reference = declaration.usage.reference.clone();
            if let Some(first) = out.by_ref.get(&reference) {
                return Err(DeclarationsError::Duplicate {
                    reference,
                    first: first.file.clone(),
                    second: path,
                });
            }
            out.by_ref.insert(
                reference,
                DeclarationInfo {
                    file: path,
                    final_use: declaration.outputs.is_final,
                    declaration: Some(declaration),
                    decision,
                    keep_marking,
                    recorded_state: None,
                },
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(state: &str, approved: bool) -> DeclarationInfo {
        DeclarationInfo::recorded(RecordedDeclaration {
            id: "0193-a".into(),
            revision: 2,
            state: state.into(),
            approved,
            final_use: true,
            decided: Some((
                "reviewer@studio.example".into(),
                "2026-11-02T10:00:00Z".into(),
                vec![],
            )),
            keep_marking: true,
        })
    }

    #[test]
    fn only_an_approved_current_revision_of_a_server_counts_as_approved() {
        assert!(recorded("approved", true).approved());
        for state in ["suspended", "rejected", "withdrawn", "in_review", "revoked"] {
            let d = recorded(state, false);
            assert!(!d.approved(), "{state}");
            assert_eq!(d.state_name(), state, "messages name the server's state");
        }
    }

    #[test]
    fn a_server_declaration_is_named_in_one_path_component() {
        let d = recorded("approved", true);
        assert_eq!(d.file.components().count(), 1, "{}", d.file.display());
        assert!(d.file.to_string_lossy().contains("0193-a"));
        assert!(d.is_final() && d.keep_marking && d.declaration.is_none());
    }
}
