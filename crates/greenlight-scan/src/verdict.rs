//! Finding codes, their severities and verdicts, exactly as the product decisions fix them:
//!
//! | severity | codes |
//! |---|---|
//! | fail (no waiver) | `TEMP-ASSET`, `UNAPPROVED-AI`, `REFERENCE-MATCH`, `CREDENTIAL-INVALID`, `PACKAGE-INVALID`, `PACKAGE-INCOMPLETE` |
//! | overridable (fails unless waived) | `UNDECLARED-AI`, `UNREADABLE`, `MARKING-STRIPPED`, `TRUNCATED`, `CREDENTIAL-REMOTE`, `GENERATOR-TRACE`, and `CREDENTIAL-UNTRUSTED` with `--require-trusted` |
//! | note (never fails) | `APPROVED-AI`, `CREDENTIAL-UNTRUSTED` by default, `LOW-QUALITY-HASH`, `NOT-IN-COMPOSITION`, and `GENERATOR-TRACE` on a file that matches a ledger entry approved for final use |

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a finding is about. The wire spelling is the upper-case kebab form (`TEMP-ASSET`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
pub enum Code {
    /// Matches a ledger entry whose declaration is temporary (`outputs.final: false`).
    TempAsset,
    /// Matches a ledger entry whose declaration is not approved (or not found).
    UnapprovedAi,
    /// Matches a protected work in a reference bank.
    ReferenceMatch,
    /// Carries a C2PA manifest that fails validation.
    CredentialInvalid,
    /// Its credential or XMP says AI-generated, and it matches no ledger entry.
    UndeclaredAi,
    /// Could not be read or decoded, or changed while being scanned.
    Unreadable,
    /// Matches a ledger entry that must keep its AI marking, and the marking is gone.
    MarkingStripped,
    /// Carries a valid C2PA manifest whose signer chains to no configured trust anchor.
    CredentialUntrusted,
    /// Matches a ledger entry approved for final use.
    ApprovedAi,
    /// Its perceptual hash is too low in quality to match (flat or near-blank content).
    LowQualityHash,
    /// An IMF package that does not hold together: a packing-list hash or size mismatch, an
    /// asset the ASSETMAP names that is missing, a CPL that does not parse.
    PackageInvalid,
    /// A composition (CPL) plays a track file found neither in the package nor in `--ov`.
    PackageIncomplete,
    /// The file ends early: it was hashed from what decodes.
    Truncated,
    /// Its content credential is only referenced remotely and cannot be checked offline.
    CredentialRemote,
    /// Frames of an IMF track file that no composition plays.
    NotInComposition,
    /// A generator left its trace: a prompt or node graph in the metadata, or the Stable
    /// Diffusion / SDXL invisible watermark. A note on a file that matches a ledger entry
    /// approved for final use (the scan decides that, see [`Code::severity`]).
    GeneratorTrace,
}

impl Code {
    /// Every code, in the order reports list them.
    pub const ALL: [Code; 16] = [
        Code::TempAsset,
        Code::UnapprovedAi,
        Code::ReferenceMatch,
        Code::CredentialInvalid,
        Code::UndeclaredAi,
        Code::Unreadable,
        Code::MarkingStripped,
        Code::CredentialUntrusted,
        Code::ApprovedAi,
        Code::LowQualityHash,
        Code::PackageInvalid,
        Code::PackageIncomplete,
        Code::Truncated,
        Code::CredentialRemote,
        Code::NotInComposition,
        Code::GeneratorTrace,
    ];

    /// The wire spelling, e.g. `TEMP-ASSET`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::TempAsset => "TEMP-ASSET",
            Code::UnapprovedAi => "UNAPPROVED-AI",
            Code::ReferenceMatch => "REFERENCE-MATCH",
            Code::CredentialInvalid => "CREDENTIAL-INVALID",
            Code::UndeclaredAi => "UNDECLARED-AI",
            Code::Unreadable => "UNREADABLE",
            Code::MarkingStripped => "MARKING-STRIPPED",
            Code::CredentialUntrusted => "CREDENTIAL-UNTRUSTED",
            Code::ApprovedAi => "APPROVED-AI",
            Code::LowQualityHash => "LOW-QUALITY-HASH",
            Code::PackageInvalid => "PACKAGE-INVALID",
            Code::PackageIncomplete => "PACKAGE-INCOMPLETE",
            Code::Truncated => "TRUNCATED",
            Code::CredentialRemote => "CREDENTIAL-REMOTE",
            Code::NotInComposition => "NOT-IN-COMPOSITION",
            Code::GeneratorTrace => "GENERATOR-TRACE",
        }
    }

    /// The severity of this code under the given policy. `GENERATOR-TRACE` is overridable
    /// here; on a file that matches a ledger entry approved for final use the scan makes it a
    /// note.
    pub fn severity(self, policy: &Policy) -> Severity {
        match self {
            Code::TempAsset
            | Code::UnapprovedAi
            | Code::ReferenceMatch
            | Code::CredentialInvalid
            | Code::PackageInvalid
            | Code::PackageIncomplete => Severity::Fail,
            Code::UndeclaredAi
            | Code::Unreadable
            | Code::MarkingStripped
            | Code::Truncated
            | Code::CredentialRemote
            | Code::GeneratorTrace => Severity::Overridable,
            Code::CredentialUntrusted if policy.require_trusted => Severity::Overridable,
            Code::CredentialUntrusted
            | Code::ApprovedAi
            | Code::LowQualityHash
            | Code::NotInComposition => Severity::Note,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown code name.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown finding code {0:?} (one of {codes})", codes = Code::ALL.map(Code::as_str).join(", "))]
pub struct UnknownCode(pub String);

impl FromStr for Code {
    type Err = UnknownCode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Code::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownCode(s.to_string()))
    }
}

/// How much a finding weighs; ordered `Note < Overridable < Fail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Never fails.
    Note,
    /// Fails unless a waiver covers it.
    Overridable,
    /// Fails; no waiver applies.
    Fail,
}

/// The options that change severities.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    /// `--require-trusted`: an untrusted credential fails unless waived.
    pub require_trusted: bool,
}

/// Pass or fail, for a file or a whole delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing blocks delivery.
    Pass,
    /// At least one unwaived fail or overridable finding.
    Fail,
}

impl Verdict {
    /// `pass` or `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
        }
    }
}

/// Whether a finding of this severity fails its file.
pub fn fails(severity: Severity, waived: bool) -> bool {
    match severity {
        Severity::Fail => true,
        Severity::Overridable => !waived,
        Severity::Note => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_are_those_of_the_product_decisions() {
        let default = Policy::default();
        let strict = Policy {
            require_trusted: true,
        };
        let fail: Vec<_> = Code::ALL
            .into_iter()
            .filter(|c| c.severity(&default) == Severity::Fail)
            .collect();
        assert_eq!(
            fail,
            [
                Code::TempAsset,
                Code::UnapprovedAi,
                Code::ReferenceMatch,
                Code::CredentialInvalid,
                Code::PackageInvalid,
                Code::PackageIncomplete,
            ]
        );
        let over: Vec<_> = Code::ALL
            .into_iter()
            .filter(|c| c.severity(&default) == Severity::Overridable)
            .collect();
        assert_eq!(
            over,
            [
                Code::UndeclaredAi,
                Code::Unreadable,
                Code::MarkingStripped,
                Code::Truncated,
                Code::CredentialRemote,
                Code::GeneratorTrace,
            ]
        );
        assert_eq!(Code::NotInComposition.severity(&strict), Severity::Note);
        assert_eq!(Code::CredentialUntrusted.severity(&default), Severity::Note);
        assert_eq!(
            Code::CredentialUntrusted.severity(&strict),
            Severity::Overridable
        );
    }

    #[test]
    fn codes_round_trip_through_their_wire_spelling() {
        for code in Code::ALL {
            assert_eq!(code.as_str().parse::<Code>().expect("parses"), code);
            assert_eq!(
                serde_json::to_value(code).expect("serializes"),
                code.as_str()
            );
        }
        assert!("NOT-A-CODE".parse::<Code>().is_err());
    }

    #[test]
    fn a_waiver_lifts_only_an_overridable_finding() {
        assert!(fails(Severity::Fail, true));
        assert!(!fails(Severity::Overridable, true));
        assert!(fails(Severity::Overridable, false));
        assert!(!fails(Severity::Note, false));
    }
}
