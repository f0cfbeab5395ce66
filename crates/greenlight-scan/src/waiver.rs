//! Waivers: a studio's written acceptance of an overridable finding on one file (by path or
//! by BLAKE3), with who accepted it, why, and until when.
//!
//! ```yaml
//! - code: UNDECLARED-AI
//!   file: shots/ep101_0420.png      # or: hash: <64 hex digits of BLAKE3>
//!   justification: stock plate bought with an AI licence, declaration BB-014 pending
//!   by: producer@example.com
//!   expires: 2026-12-31
//! ```
//!
//! A waiver naming a code that can never be waived is an error in the file, not a silent
//! no-op: whoever wrote it believes it does something.

use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::verdict::{Code, Policy, Severity};

/// One waiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// The finding code it lifts.
    pub code: Code,
    /// The file it covers, relative to the delivery root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Or the BLAKE3 of the content it covers, wherever it sits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Why the finding is accepted.
    pub justification: String,
    /// Who accepted it.
    pub by: String,
    /// The last day it applies (inclusive).
    pub expires: NaiveDate,
}

/// A loaded waivers file.
#[derive(Debug, Clone, Default)]
pub struct Waivers {
    /// The waivers, in file order.
    pub list: Vec<Waiver>,
}

/// Why a waivers file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WaiverError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The waivers file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a valid list of waivers.
    #[error("{path}: {message}")]
    Invalid {
        /// The waivers file.
        path: String,
        /// Every problem found, one per line.
        message: String,
    },
}

/// What a waiver lookup found for a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaiverMatch<'a> {
    /// A waiver in force covers it.
    Active(&'a Waiver),
    /// Only waivers that expired before `as_of` cover it.
    Expired(&'a Waiver),
    /// None.
    None,
}

impl Waivers {
    /// Reads and validates a waivers file.
    pub fn load(path: &Path, policy: &Policy) -> Result<Self, WaiverError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| WaiverError::Io {
            path: name.clone(),
            source,
        })?;
        Self::parse(&text, policy).map_err(|message| WaiverError::Invalid {
            path: name,
            message,
        })
    }

    /// Parses waivers from YAML text; every problem is reported, not only the first.
    pub fn parse(text: &str, policy: &Policy) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        // The message without the library's snippet, which names the text `<input>`: the caller
        // names the file.
        let list: Vec<Waiver> =
            serde_saphyr::from_str(text).map_err(|e| e.without_snippet().to_string())?;
        let mut problems = Vec::new();
        for (i, w) in list.iter().enumerate() {
            match (&w.file, &w.hash) {
                (None, None) => problems.push(format!("[{i}]: names neither `file` nor `hash`")),
                (Some(_), Some(_)) => {
                    problems.push(format!("[{i}]: names both `file` and `hash`; give one"))
                }
                _ => {}
            }
            if let Some(h) = &w.hash
                && (h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                problems.push(format!(
                    "[{i}].hash: {h:?} is not a BLAKE3 digest (64 hex digits)"
                ));
            }
            // CREDENTIAL-UNTRUSTED is a note by default; waiving it then is harmless.
            let untrusted_note = w.code == Code::CredentialUntrusted && !policy.require_trusted;
            if w.code.severity(policy) != Severity::Overridable && !untrusted_note {
                problems.push(format!("[{i}].code: {} cannot be waived", w.code));
            }
            if w.justification.trim().is_empty() {
                problems.push(format!("[{i}].justification: must not be empty"));
            }
            if w.by.trim().is_empty() {
                problems.push(format!("[{i}].by: must not be empty"));
            }
        }
        if problems.is_empty() {
            Ok(Self { list })
        } else {
            Err(problems.join("\n"))
        }
    }

    /// The waiver covering `code` on the file at `rel` with digest `blake3`, preferring one in
    /// force on `as_of` over an expired one.
    pub fn find(&self, code: Code, rel: &str, blake3: &str, as_of: NaiveDate) -> WaiverMatch<'_> {
        let mut expired = None;
        for w in &self.list {
            let covers = w.code == code
                && (w
                    .file
                    .as_deref()
                    .is_some_and(|f| f.trim_start_matches("./") == rel)
                    || w.hash
                        .as_deref()
                        .is_some_and(|h| h.eq_ignore_ascii_case(blake3)));
            if covers {
                if w.expires >= as_of {
                    return WaiverMatch::Active(w);
                }
                expired.get_or_insert(w);
            }
        }
        expired.map_or(WaiverMatch::None, WaiverMatch::Expired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn a_waiver_applies_by_file_or_hash_until_it_expires() {
        let h = "ab".repeat(32);
        let text = format!(
            "- code: UNDECLARED-AI\n  file: shots/a.png\n  justification: stock\n  by: p@example.com\n  expires: 2026-12-31\n\
             - code: UNREADABLE\n  hash: {h}\n  justification: known-bad proxy\n  by: p@example.com\n  expires: 2026-01-31\n"
        );
        let w = Waivers::parse(&text, &Policy::default()).expect("valid");
        assert!(matches!(
            w.find(Code::UndeclaredAi, "shots/a.png", "00", date("2026-12-31")),
            WaiverMatch::Active(_)
        ));
        assert!(matches!(
            w.find(Code::UndeclaredAi, "shots/a.png", "00", date("2027-01-01")),
            WaiverMatch::Expired(_)
        ));
        assert_eq!(
            w.find(Code::UndeclaredAi, "shots/b.png", "00", date("2026-06-01")),
            WaiverMatch::None
        );
        assert!(matches!(
            w.find(Code::Unreadable, "any/where.mov", &h, date("2026-01-31")),
            WaiverMatch::Active(_)
        ));
    }

    #[test]
    fn waiving_a_fail_code_is_an_error_in_the_file() {
        let text = "- code: TEMP-ASSET\n  file: a.png\n  justification: x\n  by: y\n  expires: 2026-12-31\n";
        let err =
            Waivers::parse(text, &Policy::default()).expect_err("TEMP-ASSET cannot be waived");
        assert!(err.contains("TEMP-ASSET cannot be waived"), "{err}");
    }

    #[test]
    fn every_problem_is_reported() {
        let text = "- code: UNREADABLE\n  justification: ''\n  by: y\n  expires: 2026-12-31\n\
                    - code: UNREADABLE\n  hash: xyz\n  justification: j\n  by: ''\n  expires: 2026-12-31\n";
        let err = Waivers::parse(text, &Policy::default()).expect_err("invalid");
        assert_eq!(err.lines().count(), 4, "{err}");
    }

    #[test]
    fn unknown_codes_and_fields_are_rejected() {
        let bad_code =
            "- code: NOPE\n  file: a\n  justification: j\n  by: b\n  expires: 2026-12-31\n";
        assert!(Waivers::parse(bad_code, &Policy::default()).is_err());
        let bad_field = "- code: UNREADABLE\n  file: a\n  justification: j\n  by: b\n  expires: 2026-12-31\n  note: x\n";
        assert!(Waivers::parse(bad_field, &Policy::default()).is_err());
    }
}
