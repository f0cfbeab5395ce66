//! `greenlight new`: a commented declaration template to fill in.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;

use super::UsageError;

/// The template: every field of format v1 with its default and what it means.
pub const TEMPLATE: &str = include_str!("../../templates/declaration.yaml");

/// Arguments of `greenlight new`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the template (default: standard output). An existing file is kept unless --force.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<u8> {
    match args.file {
        None => {
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(TEMPLATE.as_bytes())
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(e).context("writing the template");
            }
        }
        Some(path) => {
            if path.exists() && !args.force {
                return Err(UsageError(format!(
                    "{} already exists; use --force to overwrite it",
                    path.display()
                ))
                .into());
            }
            std::fs::write(&path, TEMPLATE)
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "wrote {}: fill it in, then run `greenlight check {}`",
                path.display(),
                path.display()
            );
        }
    }
    Ok(0)
}
