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

#[cfg(test)]
mod tests {
    use greenlight_core::declaration::*;
    use greenlight_core::format::{SourceKind, parse};

    use super::TEMPLATE;

    /// The template with its commented examples of inputs and talent (the lines before
    /// `union_work` whose text after `#` is indented by two spaces or more: the mention, the
    /// talent entry and its consent) written in.
    fn with_examples() -> String {
        let examples_end = TEMPLATE.find("\nunion_work:").unwrap_or(TEMPLATE.len());
        let (examples, rest) = TEMPLATE.split_at(examples_end);
        let written: Vec<String> = examples
            .lines()
            .map(|line| {
                let indent = line.len() - line.trim_start().len();
                let (lead, rest) = line.split_at(indent);
                match rest.strip_prefix('#') {
                    Some(text) if text.starts_with("  ") => format!("{lead}{text}"),
                    _ => line
                        .replace("mentions: []", "mentions:")
                        .replace("talent: []", "talent:"),
                }
            })
            .collect();
        format!("{}{rest}", written.join("\n"))
    }

    /// A template whose examples use a misspelt field or value would teach it to every new file.
    #[test]
    fn the_template_and_its_commented_examples_are_valid_declarations() {
        parse(TEMPLATE.as_bytes(), SourceKind::Yaml).expect("the template parses");
        let text = with_examples();
        let d = parse(text.as_bytes(), SourceKind::Yaml)
            .unwrap_or_else(|e| panic!("{e:?}\n{text}"))
            .declaration;
        assert_eq!(d.inputs[0].mentions[0].feature, Feature::None);
        let t = &d.talent[0];
        assert_eq!(
            (t.role, t.replica_origin, t.replaces_human_role),
            (Role::Principal, ReplicaOrigin::Unknown, false)
        );
        assert!(t.scan.as_ref().is_some_and(|s| s.engaged.is_some()));
        assert!(t.consent.as_ref().is_some_and(|c| !c.separately_signed));
        assert!(d.production.agreements.is_empty());
        assert_eq!(d.usage.genre, Genre::None);
    }
}
