//! `greenlight scan`.

/// Arguments of `greenlight scan`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args) -> anyhow::Result<u8> {
    anyhow::bail!("`greenlight scan` is not available in this build yet")
}
