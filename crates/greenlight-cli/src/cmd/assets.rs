//! `greenlight assets`.

/// Subcommands of `greenlight assets`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Not available in this build yet.
    Pending,
}

/// Runs the command.
pub fn run(_command: Command) -> anyhow::Result<u8> {
    anyhow::bail!("`greenlight assets` is not available in this build yet")
}
