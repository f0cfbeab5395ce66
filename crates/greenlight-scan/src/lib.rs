//! Delivery verification: walk a delivery, hash every file, read C2PA content credentials and
//! XMP, compute PDQ perceptual hashes, match them against hash banks, and turn what was found
//! into verdicts and reports.
//!
//! The pipeline is [`scan::scan`]: analysis per file (cached, see [`cache`]), then matching
//! against the ledger and reference banks (`greenlight_store::banks`, searched through
//! [`index`]) and judging with declarations and waivers into the report of [`report`]. Codes
//! and severities are in [`verdict`]. The hash files exchanged with ThreatExchange tools are
//! read and written by [`exchange`].
//!
//! ```
//! use greenlight_scan::verdict::{Code, Policy, Severity};
//!
//! // Temporary AI material in a delivery fails, and no waiver lifts it.
//! let code: Code = "TEMP-ASSET".parse().unwrap();
//! assert_eq!(code.severity(&Policy::default()), Severity::Fail);
//! // An untrusted signer is a note, unless the scan requires trusted credentials.
//! assert_eq!(Code::CredentialUntrusted.severity(&Policy { require_trusted: true }), Severity::Overridable);
//!
//! let digests = greenlight_scan::digest::digest_bytes(b"", false);
//! assert!(digests.blake3.starts_with("af1349b9"));
//! ```

pub mod audio;
pub mod cache;
pub mod credentials;
pub mod declarations;
pub mod decode;
pub mod digest;
pub mod edl;
pub mod exchange;
pub mod imf;
pub mod index;
pub mod media;
pub mod package;
pub mod pdq;
pub mod report;
pub mod scan;
pub mod sequence;
pub mod timecode;
pub mod timed_text;
pub mod trace;
mod trace_scan;
pub mod verdict;
pub mod video;
pub mod vpdq;
pub mod waiver;
pub mod walk;
pub mod watermark;
pub mod xmp;
