//! End-to-end tests of the `greenlight` binary: one test binary, a module per command.

mod check;
#[cfg(feature = "scan")]
mod hash;
mod util;
