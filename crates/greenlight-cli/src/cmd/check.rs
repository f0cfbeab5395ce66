//! `greenlight check FILE...`: validate declarations and triage them against policy packs.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use anstyle::{AnsiColor, Style};
use anyhow::Context as _;
use chrono::NaiveDate;
use clap::ValueEnum;
use greenlight_core::format::{self, FormatError, MAX_INPUT_BYTES, Parsed, SourceKind};
use greenlight_core::pack::Pack;
use greenlight_core::{CheckResult, Outcome, evaluate};
use serde_json::json;

use super::UsageError;

/// The EU AI Act pack, which the server applies to productions released in the EU.
const EU_PACK: &str = "eu-ai-act-art50";

/// Exit code: every declaration was checked and no gate tripped.
pub const EXIT_CHECKED: u8 = 0;
/// Exit code: the `--fail-on` (or `--fail-on-blockers`) gate tripped.
pub const EXIT_GATE: u8 = 1;
/// Exit code: at least one declaration is invalid.
pub const EXIT_INVALID: u8 = 3;
/// Exit code: a file could not be read.
pub const EXIT_IO: u8 = 4;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: grouped by pack and principle, with line numbers.
    Human,
    /// One compact JSON object per line per file, in the order given.
    Json,
    /// SARIF 2.1.0, for code-review tools.
    Sarif,
}

/// Arguments of `greenlight check`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "EXIT CODES:\n  0  every file was checked (and no gate tripped)\n  1  the --fail-on / --fail-on-blockers gate tripped\n  2  usage error (bad flags, unknown or broken pack)\n  3  at least one invalid declaration (an over-size file included)\n  4  a file could not be read\n  The highest applicable code wins."
)]
pub struct Args {
    /// Declaration files (YAML or JSON, by extension or sniffed); a folder stands for its
    /// `.yaml`, `.yml` and `.json` files in name order; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// A built-in pack id (netflix-genai, eu-ai-act-art50, sag-aftra-2023), a pack name
    /// ID@VERSION (a value with `@` is never a file), or a pack file (a value with `/` or a file
    /// extension); repeat to evaluate several packs (default: netflix-genai).
    #[arg(long = "policy", value_name = "ID|ID@VERSION|FILE")]
    pub policies: Vec<String>,
    /// Exit 1 when any declaration's outcome is at or above this one
    /// (notify, review, escalate, written_approval).
    #[arg(long, value_name = "OUTCOME", value_parser = parse_outcome)]
    pub fail_on: Option<Outcome>,
    /// Exit 1 when any declaration has an open blocker.
    #[arg(long)]
    pub fail_on_blockers: bool,
    /// Evaluate as of this date (YYYY-MM-DD, default: today in UTC).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
}

fn parse_outcome(text: &str) -> Result<Outcome, String> {
    Outcome::parse(text).ok_or_else(|| {
        format!(
            "`{text}` is not an outcome; expected one of notify, review, escalate, written_approval"
        )
    })
}

pub(crate) fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a date; expected YYYY-MM-DD"))
}

/// What became of one file.
enum FileResult {
    Checked {
        parsed: Box<Parsed>,
        result: Box<CheckResult>,
    },
    Invalid {
        error: FormatError,
        source: String,
    },
    Unreadable {
        message: String,
    },
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<u8> {
    let packs = crate::packs::resolve(&args.policies)?;
    let as_of = args
        .as_of
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    if args.files.iter().filter(|f| *f == "-").count() > 1 {
        return Err(UsageError("standard input (`-`) can be read only once".to_owned()).into());
    }

    let files = expand_folders(&args.files);
    let mut out = anstream::stdout().lock();
    let mut code = EXIT_CHECKED;
    let mut sarif = Sarif::default();
    let mut tripped = Tripped::default();
    for file in &files {
        let result = check_file(file, &packs, as_of)?;
        code = code.max(match &result {
            FileResult::Checked { result, .. } => {
                let on_outcome = args.fail_on.is_some_and(|o| result.outcome >= o);
                let on_blockers = args.fail_on_blockers && !result.blockers.is_empty();
                if on_outcome {
                    tripped
                        .outcome
                        .push(format!("{file} ({})", result.outcome.label()));
                }
                if on_blockers {
                    let n = result.blockers.len();
                    tripped.blockers.push(format!(
                        "{file} ({n} open blocker{})",
                        if n == 1 { "" } else { "s" }
                    ));
                }
                if on_outcome || on_blockers {
                    EXIT_GATE
                } else {
                    EXIT_CHECKED
                }
            }
            FileResult::Invalid { .. } => EXIT_INVALID,
            FileResult::Unreadable { .. } => EXIT_IO,
        });
        let written = match args.format {
            Format::Human => write_human(&mut out, file, &result, &packs),
            Format::Json => write_json(&mut out, file, &result),
            Format::Sarif => {
                sarif.add(file, &result, &packs);
                Ok(())
            }
        };
        if let Err(e) = written {
            return finish_on_write_error(e, code);
        }
    }
    if args.format == Format::Sarif
        && let Err(e) = serde_json::to_writer_pretty(&mut out, &sarif.log())
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    {
        return finish_on_write_error(e, code);
    }
    // Which gate tripped, on which files: on standard error, so the JSON and SARIF on
    // standard output keep their shape.
    let mut err = anstream::stderr().lock();
    if let Some(outcome) = args.fail_on
        && !tripped.outcome.is_empty()
    {
        let _ = writeln!(
            err,
            "greenlight check: the --fail-on {} gate tripped (an outcome at or above {}): {}",
            outcome.as_str(),
            outcome.label(),
            tripped.outcome.join(", ")
        );
    }
    if !tripped.blockers.is_empty() {
        let _ = writeln!(
            err,
            "greenlight check: the --fail-on-blockers gate tripped: {}",
            tripped.blockers.join(", ")
        );
    }
    Ok(code)
}

/// The files that tripped each gate, for the closing message.
#[derive(Default)]
struct Tripped {
    outcome: Vec<String>,
    blockers: Vec<String>,
}

/// Replaces each folder argument by its declaration files (`.yaml`, `.yml`, `.json`), sorted by
/// name; other arguments stay as given, in order. A folder that cannot be listed stays as it
/// is, so that reading it reports the error.
pub(crate) fn expand_folders(args: &[String]) -> Vec<String> {
    let mut files = Vec::with_capacity(args.len());
    for arg in args {
        let path = Path::new(arg);
        if arg == "-" || !path.is_dir() {
            files.push(arg.clone());
            continue;
        }
        let Ok(entries) = std::fs::read_dir(path) else {
            files.push(arg.clone());
            continue;
        };
        let mut found: Vec<String> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && matches!(
                        p.extension().and_then(|e| e.to_str()),
                        Some("yaml" | "yml" | "json")
                    )
            })
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        found.sort();
        files.extend(found);
    }
    files
}

/// A closed pipe (`greenlight check ... | head`) is not an error; anything else is.
fn finish_on_write_error(err: std::io::Error, code: u8) -> anyhow::Result<u8> {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(code)
    } else {
        Err(anyhow::Error::new(err).context("writing the output"))
    }
}

pub(crate) fn read_limited(file: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    // Read one byte past the limit, so an over-size input is refused without reading it all.
    let limit = MAX_INPUT_BYTES as u64 + 1;
    let read = if file == "-" {
        std::io::stdin().lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    read.map_err(|e| format!("cannot read {file}: {e}"))?;
    Ok(bytes)
}

fn check_file(file: &str, packs: &[Arc<Pack>], as_of: NaiveDate) -> anyhow::Result<FileResult> {
    let bytes = match read_limited(file) {
        Ok(bytes) => bytes,
        Err(message) => return Ok(FileResult::Unreadable { message }),
    };
    let kind = if file == "-" {
        SourceKind::Sniff
    } else {
        SourceKind::from_path(Path::new(file))
    };
    let source = String::from_utf8_lossy(&bytes).into_owned();
    match format::parse(&bytes, kind) {
        Ok(parsed) => {
            let result = evaluate(&parsed.declaration, packs, as_of)
                .with_context(|| format!("evaluating {file}"))?;
            Ok(FileResult::Checked {
                parsed: Box::new(parsed),
                result: Box::new(result),
            })
        }
        Err(error) => Ok(FileResult::Invalid { error, source }),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON lines

fn write_json(out: &mut impl Write, file: &str, result: &FileResult) -> std::io::Result<()> {
    let value = match result {
        FileResult::Checked { result, .. } => {
            let mut obj = serde_json::Map::new();
            obj.insert("file".to_owned(), json!(file));
            if let serde_json::Value::Object(fields) =
                serde_json::to_value(result.as_ref()).map_err(std::io::Error::from)?
            {
                obj.extend(fields);
            }
            serde_json::Value::Object(obj)
        }
        FileResult::Invalid { error, .. } => {
            json!({"file": file, "error": error.summary, "errors": error.problems})
        }
        FileResult::Unreadable { message } => {
            json!({"file": file, "error": message, "errors": [{"message": message}]})
        }
    };
    serde_json::to_writer(&mut *out, &value).map_err(std::io::Error::from)?;
    writeln!(out)
}

// ---------------------------------------------------------------------------------------------
// Human output

const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

fn outcome_style(outcome: Outcome) -> Style {
    let color = match outcome {
        Outcome::Notify => AnsiColor::Green,
        Outcome::Review => AnsiColor::Cyan,
        Outcome::Escalate => AnsiColor::Yellow,
        Outcome::WrittenApproval => AnsiColor::Red,
    };
    Style::new().fg_color(Some(color.into())).bold()
}

fn lines_of(fields: &[String], parsed: &Parsed) -> String {
    let mut lines: Vec<usize> = fields
        .iter()
        .filter_map(|f| parsed.source_map.line(f))
        .collect();
    lines.sort_unstable();
    lines.dedup();
    match lines.len() {
        0 => String::new(),
        1 => format!("line {}", lines[0]),
        _ => format!(
            "lines {}",
            lines
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn write_human(
    out: &mut impl Write,
    file: &str,
    result: &FileResult,
    packs: &[Arc<Pack>],
) -> std::io::Result<()> {
    match result {
        FileResult::Unreadable { message } => writeln!(
            out,
            "{BOLD}{file}{BOLD:#}: {}error{:#}: {message}\n",
            outcome_style(Outcome::WrittenApproval),
            outcome_style(Outcome::WrittenApproval)
        ),
        FileResult::Invalid { error, source } => {
            let red = outcome_style(Outcome::WrittenApproval);
            writeln!(
                out,
                "{BOLD}{file}{BOLD:#}: {red}invalid declaration{red:#}: {}",
                error.summary
            )?;
            for p in &error.problems {
                writeln!(out, "  {red}✖{red:#} {p}")?;
                if let (Some(line), Some(col)) = (p.line, p.column)
                    && let Some(text) = source.lines().nth(line.saturating_sub(1))
                {
                    writeln!(out, "    {DIM}{line:>4} |{DIM:#} {text}")?;
                    writeln!(
                        out,
                        "    {DIM}     |{DIM:#} {}{red}^{red:#}",
                        " ".repeat(col.saturating_sub(1))
                    )?;
                }
            }
            writeln!(out)
        }
        FileResult::Checked { parsed, result, .. } => {
            write_checked(out, file, parsed, result, packs)
        }
    }
}

fn write_checked(
    out: &mut impl Write,
    file: &str,
    parsed: &Parsed,
    result: &CheckResult,
    packs: &[Arc<Pack>],
) -> std::io::Result<()> {
    let d = &parsed.declaration;
    let style = outcome_style(result.outcome);
    writeln!(
        out,
        "{BOLD}{file}{BOLD:#} — {} ({}): {}",
        d.usage.reference, d.production.title, d.usage.summary
    )?;
    writeln!(
        out,
        "  Outcome: {style}{}{style:#}",
        result.outcome.label().to_uppercase()
    )?;
    if let Some(principles) = &result.principles {
        let answers: Vec<String> = principles
            .iter()
            .map(|(id, a)| {
                let s = match a {
                    greenlight_core::declaration::Answer::Met => outcome_style(Outcome::Notify),
                    greenlight_core::declaration::Answer::Unsure => {
                        outcome_style(Outcome::Escalate)
                    }
                    greenlight_core::declaration::Answer::NotMet => {
                        outcome_style(Outcome::WrittenApproval)
                    }
                };
                format!("{id} {s}{}{s:#}", a.as_str())
            })
            .collect();
        writeln!(out, "  Principles: {}", answers.join(" · "))?;
    }
    let ran: Vec<String> = result
        .policies
        .iter()
        .map(|p| format!("{} {}", p.id, p.version))
        .collect();
    writeln!(out, "  {DIM}Packs: {}{DIM:#}", ran.join(", "))?;
    // The server applies every pack a production enables, the EU one included; a file checked
    // with the default pack alone would look as if nothing were due before an EU release.
    if d.production.eu_release && !result.policies.iter().any(|p| p.id == EU_PACK) {
        writeln!(
            out,
            "  Note: this production is released in the EU; the server also applies {EU_PACK} (disclosure obligations). Add --policy {EU_PACK} to check them here."
        )?;
    }
    for pack in packs_evaluated(result, packs) {
        writeln!(out)?;
        writeln!(
            out,
            "  {BOLD}{} {}{BOLD:#} {DIM}{}{DIM:#}",
            pack.id(),
            pack.version(),
            pack.file().title
        )?;
        let findings: Vec<_> = result
            .findings
            .iter()
            .filter(|f| f.pack == pack.id())
            .collect();
        let mut groups: BTreeMap<(usize, String), Vec<_>> = BTreeMap::new();
        let principle_order: Vec<&str> = pack
            .file()
            .principles
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        for f in &findings {
            let key = match &f.principle {
                Some(p) => (
                    principle_order
                        .iter()
                        .position(|x| x == p)
                        .unwrap_or(usize::MAX - 1),
                    p.clone(),
                ),
                None => (usize::MAX, String::new()),
            };
            groups.entry(key).or_default().push(*f);
        }
        for ((_, principle), group) in groups {
            if principle.is_empty() {
                if !pack.file().principles.is_empty() {
                    writeln!(out, "    {BOLD}Other rules{BOLD:#}")?;
                }
            } else {
                let title = pack
                    .file()
                    .principles
                    .iter()
                    .find(|p| p.id == principle)
                    .map(|p| p.title.as_str())
                    .unwrap_or("");
                let answer = result
                    .principles
                    .as_ref()
                    .and_then(|m| m.get(&principle))
                    .map(|a| a.as_str())
                    .unwrap_or("");
                writeln!(
                    out,
                    "    {BOLD}{principle}{BOLD:#} {title} {DIM}({answer}){DIM:#}"
                )?;
            }
            for f in group {
                let s = outcome_style(f.outcome);
                let at = lines_of(&f.fields, parsed);
                let at = if at.is_empty() {
                    String::new()
                } else {
                    format!("  {DIM}{at}{DIM:#}")
                };
                writeln!(
                    out,
                    "      {s}●{s:#} {BOLD}{}{BOLD:#} {s}{}{s:#}{at}",
                    f.rule,
                    f.outcome.label()
                )?;
                writeln!(out, "        {}", f.message)?;
                writeln!(out, "        {DIM}Source: {}{DIM:#}", f.source)?;
            }
        }
    }
    if !result.blockers.is_empty() {
        let red = outcome_style(Outcome::WrittenApproval);
        writeln!(out)?;
        writeln!(
            out,
            "  {red}Blockers{red:#} (to be cleared before the use may proceed)"
        )?;
        for b in &result.blockers {
            let at = lines_of(&b.fields, parsed);
            let at = if at.is_empty() {
                String::new()
            } else {
                format!("  {DIM}{at}{DIM:#}")
            };
            writeln!(
                out,
                "    {red}■{red:#} {BOLD}{}{BOLD:#}: {}{at}",
                b.rule, b.message
            )?;
            if !b.clears.is_empty() {
                writeln!(out, "      To clear: {}", b.clears)?;
            }
        }
    }
    if !result.obligations.is_empty() {
        writeln!(out)?;
        writeln!(out, "  {BOLD}Obligations{BOLD:#} (to do before release)")?;
        for o in &result.obligations {
            writeln!(
                out,
                "    □ {BOLD}{}{BOLD:#} [{}] due {}: {}",
                o.kind, o.rule, o.due, o.text
            )?;
            writeln!(out, "      {DIM}Source: {}{DIM:#}", o.source)?;
        }
    }
    writeln!(out)
}

fn packs_evaluated<'a>(result: &CheckResult, packs: &'a [Arc<Pack>]) -> Vec<&'a Arc<Pack>> {
    result
        .policies
        .iter()
        .filter_map(|r| packs.iter().find(|p| p.id() == r.id))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// SARIF 2.1.0
//
// Written with serde_json from a handful of fields: the log needs one run with rules and
// results, and a dedicated SARIF crate would bring hundreds of generated types for that.

#[derive(Default)]
struct Sarif {
    rules: Vec<serde_json::Value>,
    rule_ids: Vec<String>,
    results: Vec<serde_json::Value>,
}

fn sarif_level(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::WrittenApproval => "error",
        Outcome::Escalate | Outcome::Review => "warning",
        Outcome::Notify => "note",
    }
}

fn file_uri(file: &str) -> String {
    file.replace('\\', "/")
}

impl Sarif {
    fn rule(&mut self, id: &str, describe: impl FnOnce() -> serde_json::Value) {
        if !self.rule_ids.iter().any(|r| r == id) {
            self.rule_ids.push(id.to_owned());
            self.rules.push(describe());
        }
    }

    fn location(file: &str, line: Option<usize>, column: Option<usize>) -> serde_json::Value {
        let mut physical = json!({"artifactLocation": {"uri": file_uri(file)}});
        if let Some(line) = line {
            let mut region = json!({"startLine": line});
            if let Some(column) = column {
                region["startColumn"] = json!(column);
            }
            physical["region"] = region;
        }
        json!({"physicalLocation": physical})
    }

    fn add(&mut self, file: &str, result: &FileResult, packs: &[Arc<Pack>]) {
        match result {
            FileResult::Unreadable { message } => {
                self.rule("GL-UNREADABLE", || json!({"id": "GL-UNREADABLE", "shortDescription": {"text": "File could not be read"}}));
                self.results.push(json!({"ruleId": "GL-UNREADABLE", "level": "error", "message": {"text": message}, "locations": [Self::location(file, None, None)]}));
            }
            FileResult::Invalid { error, .. } => {
                self.rule("GL-INVALID", || json!({"id": "GL-INVALID", "shortDescription": {"text": "Invalid declaration"}}));
                for p in &error.problems {
                    self.results.push(json!({
                        "ruleId": "GL-INVALID", "level": "error",
                        "message": {"text": p.to_string()},
                        "locations": [Self::location(file, p.line, p.column)],
                    }));
                }
            }
            FileResult::Checked { parsed, result, .. } => {
                let line_of = |fields: &[String]| {
                    fields
                        .iter()
                        .filter_map(|f| parsed.source_map.line(f))
                        .min()
                };
                for f in &result.findings {
                    let title = packs
                        .iter()
                        .find(|p| p.id() == f.pack)
                        .and_then(|p| p.file().rules.iter().find(|r| r.id == f.rule))
                        .map(|r| r.title.clone())
                        .unwrap_or_default();
                    self.rule(&f.rule, || json!({"id": f.rule, "shortDescription": {"text": title}, "properties": {"pack": f.pack, "source": f.source}}));
                    self.results.push(json!({
                        "ruleId": f.rule, "level": sarif_level(f.outcome),
                        "message": {"text": format!("{} ({}; source: {})", f.message, f.outcome.label(), f.source)},
                        "locations": [Self::location(file, line_of(&f.fields).or(Some(1)), None)],
                        "properties": {"pack": f.pack, "outcome": f.outcome, "principle": f.principle, "fields": f.fields},
                    }));
                }
                for b in &result.blockers {
                    self.results.push(json!({
                        "ruleId": b.rule, "level": "error",
                        "message": {"text": format!("Blocker: {} {}", b.message, b.clears)},
                        "locations": [Self::location(file, line_of(&b.fields).or(Some(1)), None)],
                        "properties": {"pack": b.pack, "blocker": true, "fields": b.fields},
                    }));
                }
                for o in &result.obligations {
                    self.results.push(json!({
                        "ruleId": o.rule, "level": "note", "kind": "informational",
                        "message": {"text": format!("Obligation ({}, due {}): {}", o.kind, o.due, o.text)},
                        "locations": [Self::location(file, line_of(&o.fields).or(Some(1)), None)],
                        "properties": {"pack": o.pack, "obligation": o.kind, "due": o.due, "fields": o.fields},
                    }));
                }
            }
        }
    }

    fn log(&self) -> serde_json::Value {
        json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "greenlight",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://example.invalid/greenlight",
                    "rules": self.rules,
                }},
                "results": self.results,
            }],
        })
    }
}
