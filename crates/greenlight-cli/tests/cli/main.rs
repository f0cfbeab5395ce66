//! End-to-end tests of the `greenlight` binary: one test binary, a module per command.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[cfg(feature = "scan")]
mod assets;
#[cfg(feature = "scan")]
mod audio;
#[cfg(feature = "server")]
mod audit;
#[cfg(feature = "scan")]
mod bank;
mod check;
mod guidance;
#[cfg(feature = "scan")]
mod hash;
#[cfg(feature = "server")]
mod links;
#[cfg(all(feature = "server", feature = "scan"))]
mod notifications;
mod policy;
#[cfg(feature = "scan")]
mod scan;
#[cfg(all(feature = "scan", feature = "server"))]
mod scan_server;
#[cfg(feature = "server")]
mod serve;
#[cfg(feature = "server")]
#[path = "../../../greenlight-notify/tests/support/smtp.rs"]
mod smtp;
#[cfg(feature = "scan")]
mod traces;
mod util;
