//! End-to-end tests of the `greenlight` binary: one test binary, a module per command.

mod check;
mod util;
