//! Greenlight's core: declaration format v1, policy packs as data, and the evaluator.
//!
//! This crate does no I/O, reads no clock and spawns nothing: the bytes of a declaration, the
//! packs and today's date come in as arguments, and a [`CheckResult`] comes out. The server, the
//! command line and the delivery scan all call it, so a declaration gets the same answer
//! everywhere.
//!
//! ```
//! use greenlight_core::{evaluate, format::{parse, SourceKind}, pack::Pack, Outcome};
//!
//! let parsed = parse(br#"{"greenlight": "declaration/v1",
//!   "production": {"title": "Harbour Lights"},
//!   "use": {"ref": "HL-9", "summary": "Poster on a wall"},
//!   "tools": [{"name": "Enterprise image model", "enterprise_agreement": true, "data_use": "none"}],
//!   "outputs": {"final": true, "prominence": "incidental"}}"#, SourceKind::Json).unwrap();
//! let result = evaluate(&parsed.declaration, &[Pack::builtin("netflix-genai").unwrap()],
//!     chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()).unwrap();
//! assert_eq!(result.outcome, Outcome::Escalate);
//! ```

mod celval;
pub mod declaration;
pub mod diff;
pub mod disclosure;
pub mod eval;
pub mod format;
mod functions;
mod load;
pub mod outcome;
pub mod pack;
pub mod packtest;
pub mod schema;
pub mod wire;

pub use declaration::Declaration;
pub use eval::{EvalError, LiveDeclaration, evaluate, evaluate_production};
pub use outcome::Outcome;
pub use wire::CheckResult;
