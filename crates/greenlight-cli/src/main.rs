//! The `greenlight` command: wires the library crates together, picks implementations,
//! resolves configuration and maps outcomes to documented exit codes.

mod cmd;

// Parsing and evaluating a declaration allocate many small values (YAML nodes, CEL values);
// mimalloc cut the instructions of an evaluation by about a third against the system
// allocator (callgrind, public scenarios; see docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
mod packs;
#[cfg(feature = "scan")]
mod server_ledger;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Greenlight: declare, triage, decide and verify generative-AI uses in content production.
#[derive(Debug, Parser)]
#[command(name = "greenlight", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check declaration files against policy packs (exit codes: 0 checked, 1 gate tripped,
    /// 2 usage error, 3 invalid declaration, 4 I/O error).
    Check(cmd::check::Args),
    /// Show, test and compare policy packs (`policy show`, `policy test`, `policy diff`).
    #[command(subcommand)]
    Policy(cmd::policy::Command),
    /// Print the JSON Schema of declaration format v1.
    Schema(cmd::schema::Args),
    /// Write a commented declaration template.
    New(cmd::new::Args),
    /// Run the HTTP server (API and web pages).
    #[cfg(feature = "server")]
    Serve(cmd::serve::Args),
    /// Administration: create the first admin, generate the audit signing key.
    #[command(subcommand)]
    #[cfg(feature = "server")]
    Admin(cmd::admin::Command),
    /// Export and verify the tamper-evident audit log.
    #[command(subcommand)]
    #[cfg(feature = "server")]
    Audit(cmd::audit::Command),
    /// Scan a delivery before it leaves (exit codes: 0 pass, 1 fail, 2 usage, 4 could not scan).
    #[cfg(feature = "scan")]
    Scan(cmd::scan::Args),
    /// Print BLAKE3 and PDQ hashes of files.
    #[cfg(feature = "scan")]
    Hash(cmd::hash::Args),
    /// Manage the production's asset ledger of temporary AI-generated assets.
    #[command(subcommand)]
    #[cfg(feature = "scan")]
    Assets(cmd::assets::Command),
    /// Manage reference banks of protected works.
    #[command(subcommand)]
    #[cfg(feature = "scan")]
    Bank(cmd::bank::Command),
}

impl Command {
    fn is_server(&self) -> bool {
        #[cfg(feature = "server")]
        if matches!(self, Command::Serve(_)) {
            return true;
        }
        false
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cmd::init_logging(cli.command.is_server());
    let result = match cli.command {
        Command::Check(args) => cmd::check::run(args),
        Command::Policy(c) => cmd::policy::run(c),
        Command::Schema(args) => cmd::schema::run(args),
        Command::New(args) => cmd::new::run(args),
        #[cfg(feature = "server")]
        Command::Serve(args) => cmd::serve::run(args),
        #[cfg(feature = "server")]
        Command::Admin(c) => cmd::admin::run(c),
        #[cfg(feature = "server")]
        Command::Audit(c) => cmd::audit::run(c),
        #[cfg(feature = "scan")]
        Command::Scan(args) => cmd::scan::run(args),
        #[cfg(feature = "scan")]
        Command::Hash(args) => cmd::hash::run(args),
        #[cfg(feature = "scan")]
        Command::Assets(c) => cmd::assets::run(c),
        #[cfg(feature = "scan")]
        Command::Bank(c) => cmd::bank::run(c),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => cmd::report_error(&err),
    }
}
