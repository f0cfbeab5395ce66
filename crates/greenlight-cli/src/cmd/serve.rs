//! `greenlight serve`.

/// Arguments of `greenlight serve`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args) -> anyhow::Result<u8> {
    anyhow::bail!("`greenlight serve` is not available in this build yet")
}
