//! `greenlight schema`: the JSON Schema of declaration format v1, generated from the Rust types.

use std::io::Write;

use anyhow::Context as _;

/// Arguments of `greenlight schema`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Point a YAML language server at it, e.g. a first line\n  # yaml-language-server: $schema=./declaration-v1.schema.json"
)]
pub struct Args {
    /// Write the schema to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<u8> {
    let schema = greenlight_core::schema::declaration_schema();
    let text = serde_json::to_string_pretty(&schema)? + "\n";
    match args.out {
        Some(path) => {
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(text.as_bytes())
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(e).context("writing the schema");
            }
        }
    }
    Ok(0)
}
