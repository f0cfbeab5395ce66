//! `greenlight policy show`: the rules of the built-in packs (or pack files).

use std::io::Write;

use clap::ValueEnum;
use greenlight_core::pack::Pack;

/// Output formats of `policy show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table per pack.
    Table,
    /// The packs as JSON (id, version, principles, terms, rules).
    Json,
}

/// Subcommands of `greenlight policy`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Show the rules of every built-in pack, or of the packs named with --policy.
    Show {
        /// A built-in pack id or a pack file (repeatable; default: every built-in pack).
        #[arg(long = "policy", value_name = "ID|FILE")]
        policies: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// Runs the command.
pub fn run(command: Command) -> anyhow::Result<u8> {
    let Command::Show { policies, format } = command;
    let packs = if policies.is_empty() {
        let all: Vec<String> = Pack::builtin_ids()
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        crate::packs::resolve(&all)?
    } else {
        crate::packs::resolve(&policies)?
    };
    let mut out = anstream::stdout().lock();
    let written = match format {
        Format::Json => {
            let files: Vec<_> = packs.iter().map(|p| p.file()).collect();
            serde_json::to_writer_pretty(&mut out, &files)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out))
        }
        Format::Table => packs.iter().try_for_each(|p| write_table(&mut out, p)),
    };
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("writing the output"))
        }
        _ => Ok(0),
    }
}

fn write_table(out: &mut impl Write, pack: &Pack) -> std::io::Result<()> {
    let bold = anstyle::Style::new().bold();
    let file = pack.file();
    writeln!(
        out,
        "{bold}{} {}{bold:#} — {}",
        pack.id(),
        pack.version(),
        file.title
    )?;
    if !file.principles.is_empty() {
        writeln!(out, "  Principles:")?;
        for p in &file.principles {
            writeln!(out, "    {:<4} {}", p.id, p.title)?;
        }
    }
    // The obligation column is as wide as the pack's longest kind (`bargain-compensation`).
    let kinds = file
        .rules
        .iter()
        .filter_map(|r| r.obligation.as_ref())
        .map(|o| o.kind.chars().count());
    let width = kinds.max().unwrap_or(0).max("OBLIGATION".len());
    writeln!(
        out,
        "  {:<28} {:<17} {:<10} {:<9} {:<width$} SOURCE",
        "RULE", "OUTCOME", "PRINCIPLE", "BLOCKER", "OBLIGATION"
    )?;
    for r in &file.rules {
        let principle = match (&r.principle, &r.principle_expr) {
            (Some(p), _) => p.clone(),
            (None, Some(_)) => "(each)".to_owned(),
            (None, None) => "-".to_owned(),
        };
        let blocker = if r.blocker.is_some() { "yes" } else { "-" };
        let obligation = r
            .obligation
            .as_ref()
            .map(|o| o.kind.as_str())
            .unwrap_or("-");
        writeln!(
            out,
            "  {:<28} {:<17} {:<10} {:<9} {:<width$} {}",
            r.id,
            r.outcome.as_str(),
            principle,
            blocker,
            obligation,
            r.source
        )?;
        if !r.title.is_empty() {
            writeln!(out, "  {:<28} {}", "", r.title)?;
        }
    }
    writeln!(out)
}
