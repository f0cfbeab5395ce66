//! One module per command. Each exposes its clap `Args` (or `Command`) and a `run` that
//! returns the process exit code; errors that escape `run` are printed once by `main`.

#[cfg(feature = "server")]
pub mod admin;
#[cfg(feature = "scan")]
pub mod assets;
#[cfg(feature = "server")]
pub mod audit;
#[cfg(feature = "scan")]
pub mod bank;
pub mod check;
#[cfg(feature = "scan")]
pub mod hash;
pub mod new;
pub mod policy;
#[cfg(feature = "scan")]
pub mod scan;
pub mod schema;
#[cfg(feature = "server")]
pub mod serve;

use std::process::ExitCode;

/// Exit code for a usage error (bad flags or arguments), shared by every command.
pub const EXIT_USAGE: u8 = 2;
/// Exit code for an I/O error (a missing or unreadable file, a database that cannot be opened).
pub const EXIT_IO: u8 = 4;

/// An error in how the command was invoked; `main` maps it to exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

/// Installs the tracing subscriber: `GREENLIGHT_LOG` (an `EnvFilter` directive) chooses the
/// level, `GREENLIGHT_LOG_FORMAT=json` switches to JSON lines. Logs go to stderr.
pub fn init_logging(server: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if server { "info" } else { "warn" };
    let filter =
        EnvFilter::try_from_env("GREENLIGHT_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let json = std::env::var("GREENLIGHT_LOG_FORMAT").is_ok_and(|v| v == "json");
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Prints an error chain once and maps it to an exit code: usage errors to 2, the rest to 4.
pub fn report_error(err: &anyhow::Error) -> ExitCode {
    eprintln!("error: {err:#}");
    if err.downcast_ref::<UsageError>().is_some() {
        ExitCode::from(EXIT_USAGE)
    } else {
        ExitCode::from(EXIT_IO)
    }
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}
