//! `greenlight bank`.

/// Subcommands of `greenlight bank`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Not available in this build yet.
    Pending,
}

/// Runs the command.
pub fn run(_command: Command) -> anyhow::Result<u8> {
    anyhow::bail!("`greenlight bank` is not available in this build yet")
}
