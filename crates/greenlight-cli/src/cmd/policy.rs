//! `greenlight policy`.

/// Subcommands of `greenlight policy`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Show the rules of the built-in packs.
    Show,
}

/// Runs the command.
pub fn run(_command: Command) -> anyhow::Result<u8> {
    anyhow::bail!("not yet")
}
