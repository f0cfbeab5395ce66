//! `greenlight hash`.

/// Arguments of `greenlight hash`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args) -> anyhow::Result<u8> {
    anyhow::bail!("`greenlight hash` is not available in this build yet")
}
