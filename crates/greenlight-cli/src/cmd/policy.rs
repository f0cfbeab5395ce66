//! `greenlight policy show`: the rules of the built-in packs (or pack files);
//! `greenlight policy test`: run the tests packs carry; `greenlight policy diff`: what changes
//! for a set of declarations when one pack set replaces another; `greenlight policy replay`:
//! a stored triage on a server evaluated again with exactly the packs it recorded.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::ValueEnum;
use greenlight_core::diff::{self, PolicyDiff, Subject, Summary};
use greenlight_core::format::{self, SourceKind};
use greenlight_core::pack::Pack;
use greenlight_core::packtest::{self, TestResult};
use greenlight_core::{Outcome, wire::ProductionFinding};
use serde_json::json;

use super::UsageError;

/// Output formats of `policy show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table per pack.
    Table,
    /// The packs as JSON (id, version, principles, terms, rules).
    Json,
}

/// Output formats of `policy test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    /// One line per test; failures with expected and actual per field.
    Human,
    /// One JSON object: every pack with its tests.
    Json,
    /// JUnit XML: one testsuite per pack, one testcase per test.
    Junit,
}

/// Output formats of `policy diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// The declarations that change, before and after, and the counts per outcome.
    Human,
    /// One JSON object: `changes`, `counts`, `production_findings`.
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
    /// Run the tests each pack carries (its `tests:`), with the pack alone.
    #[command(
        after_help = "EXIT CODES:\n  0  every test passed\n  1  a test failed\n  2  usage error, a pack that does not load, or a test declaration that cannot be read or does not parse"
    )]
    Test {
        /// Packs to test: built-in ids, names ID@VERSION or pack files (as --policy).
        #[arg(required = true, value_name = "PACK")]
        packs: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TestFormat::Human)]
        format: TestFormat,
        /// The date of tests that give no `as_of` (YYYY-MM-DD, default: today in UTC).
        #[arg(long, value_name = "DATE", value_parser = super::check::parse_date)]
        as_of: Option<NaiveDate>,
    },
    /// Show what changes for declarations when the --to packs replace the --from packs.
    #[command(
        after_help = "EXIT CODES:\n  0  the comparison ran (whether or not anything changed)\n  2  usage error (bad flags, unknown or broken pack)\n  3  a declaration is invalid\n  4  a file could not be read"
    )]
    Diff {
        /// The pack set before: a built-in id, ID@VERSION or a pack file (repeatable).
        #[arg(long = "from", required = true, value_name = "ID|ID@VERSION|FILE")]
        from: Vec<String>,
        /// The pack set after (repeatable).
        #[arg(long = "to", required = true, value_name = "ID|ID@VERSION|FILE")]
        to: Vec<String>,
        /// Declaration files (YAML or JSON); a folder stands for its `.yaml`, `.yml` and `.json`
        /// files in name order.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DiffFormat::Human)]
        format: DiffFormat,
        /// Evaluate as of this date (YYYY-MM-DD, default: today in UTC).
        #[arg(long, value_name = "DATE", value_parser = super::check::parse_date)]
        as_of: Option<NaiveDate>,
    },
    /// Evaluate a declaration's stored triage on a server again, with the pack texts (by
    /// digest) and the date it recorded, and show whether the result is the same. The API
    /// token comes from GREENLIGHT_TOKEN.
    #[command(
        after_help = "EXIT CODES:\n  0  the replayed result is the stored one\n  1  the results differ\n  2  usage error (bad flags, refused token, unknown declaration)\n  4  the server cannot be reached or answered an error"
    )]
    Replay {
        /// The declaration's id on the server.
        #[arg(value_name = "DECLARATION_ID")]
        declaration: String,
        /// The server's URL (https://HOST, or http://127.0.0.1:PORT on this machine).
        #[arg(long, value_name = "URL", env = "GREENLIGHT_SERVER")]
        server: String,
        /// The triage's number within the current revision (default: the latest).
        #[arg(long, value_name = "N")]
        seq: Option<i64>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DiffFormat::Human)]
        format: DiffFormat,
    },
}

/// Runs the command.
pub fn run(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Replay {
            declaration,
            server,
            seq,
            format,
        } => replay(&declaration, &server, seq, format),
        Command::Show { policies, format } => show(policies, format),
        Command::Test {
            packs,
            format,
            as_of,
        } => test(&packs, format, as_of.unwrap_or_else(today)),
        Command::Diff {
            from,
            to,
            files,
            format,
            as_of,
        } => diff(&from, &to, &files, format, as_of.unwrap_or_else(today)),
    }
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// A closed pipe is not an error; anything else is.
fn finish(written: std::io::Result<()>, code: u8) -> anyhow::Result<u8> {
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("writing the output"))
        }
        _ => Ok(code),
    }
}

fn show(policies: Vec<String>, format: Format) -> anyhow::Result<u8> {
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
    if !file.aggregates.is_empty() {
        writeln!(out, "  {:<28} {:<17} SOURCE", "AGGREGATE RULE", "OUTCOME")?;
        for a in &file.aggregates {
            writeln!(
                out,
                "  {:<28} {:<17} {}",
                a.id,
                a.outcome.as_str(),
                a.source
            )?;
            if !a.title.is_empty() {
                writeln!(out, "  {:<28} {}", "", a.title)?;
            }
        }
    }
    if !file.tests.is_empty() {
        let n = file.tests.len();
        writeln!(
            out,
            "  {n} test{} (greenlight policy test)",
            if n == 1 { "" } else { "s" }
        )?;
    }
    writeln!(out)
}

// ---------------------------------------------------------------------------------------------
// policy test

/// The tests of one pack, run.
struct PackRun {
    pack: std::sync::Arc<Pack>,
    /// The pack file as given, or none for a built-in pack.
    file: Option<String>,
    results: Vec<TestResult>,
}

impl PackRun {
    fn failed(&self) -> usize {
        self.results.iter().filter(|t| !t.passed()).count()
    }
}

/// Every problem before a test runs is exit 2: the pack does not load, or a test's declaration
/// cannot be read or does not parse.
fn not_loaded(arg: &str, err: anyhow::Error) -> anyhow::Error {
    if err.downcast_ref::<UsageError>().is_some() {
        err
    } else {
        UsageError(format!("{arg}: {err:#}")).into()
    }
}

fn test(args: &[String], format: TestFormat, today: NaiveDate) -> anyhow::Result<u8> {
    let mut runs = Vec::with_capacity(args.len());
    for arg in args {
        let loaded = crate::packs::load(arg).map_err(|e| not_loaded(arg, e))?;
        // Test declarations given as paths are relative to the pack file.
        let base = loaded
            .file
            .as_deref()
            .and_then(Path::parent)
            .unwrap_or(Path::new(""));
        let mut files = BTreeMap::new();
        for (test, path) in packtest::declaration_paths(&loaded.pack) {
            let full = base.join(path);
            let bytes = super::check::read_limited(&full.to_string_lossy()).map_err(|e| {
                UsageError(format!("pack {}, test `{test}`: {e}", loaded.pack.id()))
            })?;
            files.insert(path.to_owned(), bytes);
        }
        let results = packtest::run(&loaded.pack, &files, today)
            .map_err(|e| UsageError(format!("{arg}: {e}")))?;
        runs.push(PackRun {
            pack: loaded.pack,
            file: loaded.file.map(|f| f.to_string_lossy().into_owned()),
            results,
        });
    }
    let code = if runs.iter().any(|r| r.failed() > 0) {
        1
    } else {
        0
    };
    let mut out = anstream::stdout().lock();
    let written = match format {
        TestFormat::Human => write_tests_human(&mut out, &runs),
        TestFormat::Json => serde_json::to_writer_pretty(&mut out, &tests_json(&runs))
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out)),
        TestFormat::Junit => write_junit(&mut out, &runs),
    };
    finish(written, code)
}

/// A JSON value as a person reads it: strings bare, lists as `[A, B]`.
fn render(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(render).collect::<Vec<_>>().join(", ")
            )
        }
        serde_json::Value::Null => "(none)".to_owned(),
        other => other.to_string(),
    }
}

/// `field: expected X, got Y` for each difference of a failed test.
fn difference_lines(test: &TestResult) -> Vec<String> {
    test.differences
        .iter()
        .map(|d| {
            format!(
                "{}: expected {}, got {}",
                d.field,
                render(&d.expected),
                render(&d.actual)
            )
        })
        .collect()
}

fn write_tests_human(out: &mut impl Write, runs: &[PackRun]) -> std::io::Result<()> {
    let bold = anstyle::Style::new().bold();
    let pass = anstyle::Style::new()
        .fg_color(Some(anstyle::AnsiColor::Green.into()))
        .bold();
    let fail = anstyle::Style::new()
        .fg_color(Some(anstyle::AnsiColor::Red.into()))
        .bold();
    let (mut total, mut failed) = (0, 0);
    for run in runs {
        let from = run
            .file
            .as_deref()
            .map(|f| format!(" ({f})"))
            .unwrap_or_default();
        writeln!(
            out,
            "{bold}{}{bold:#}{from} sha256:{}",
            run.pack.name(),
            run.pack.digest()
        )?;
        if run.results.is_empty() {
            writeln!(out, "  (the pack has no tests)")?;
        }
        for t in &run.results {
            if t.passed() {
                writeln!(out, "  {pass}ok{pass:#}    {}", t.name)?;
            } else {
                writeln!(out, "  {fail}FAIL{fail:#}  {} (line {})", t.name, t.line)?;
                for line in difference_lines(t) {
                    writeln!(out, "          {line}")?;
                }
            }
        }
        total += run.results.len();
        failed += run.failed();
    }
    writeln!(
        out,
        "{} test{}: {} passed, {} failed",
        total,
        if total == 1 { "" } else { "s" },
        total - failed,
        failed
    )
}

fn tests_json(runs: &[PackRun]) -> serde_json::Value {
    let packs: Vec<_> = runs
        .iter()
        .map(|run| {
            let tests: Vec<_> = run
                .results
                .iter()
                .map(|t| {
                    json!({"name": t.name, "line": t.line, "passed": t.passed(),
                           "differences": t.differences})
                })
                .collect();
            json!({
                "pack": run.pack.id(),
                "version": run.pack.version(),
                "digest": run.pack.digest(),
                "file": run.file,
                "tests": tests,
                "passed": run.results.len() - run.failed(),
                "failed": run.failed(),
            })
        })
        .collect();
    json!({"passed": runs.iter().all(|r| r.failed() == 0), "packs": packs})
}

fn xml(text: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(text)
}

fn write_junit(out: &mut impl Write, runs: &[PackRun]) -> std::io::Result<()> {
    let total: usize = runs.iter().map(|r| r.results.len()).sum();
    let failed: usize = runs.iter().map(PackRun::failed).sum();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="greenlight policy test" tests="{total}" failures="{failed}" errors="0">"#
    )?;
    for run in runs {
        let suite = run.pack.name();
        writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{}" errors="0" skipped="0">"#,
            xml(&suite),
            run.results.len(),
            run.failed()
        )?;
        writeln!(out, "    <properties>")?;
        writeln!(
            out,
            r#"      <property name="digest" value="sha256:{}"/>"#,
            run.pack.digest()
        )?;
        if let Some(file) = &run.file {
            writeln!(
                out,
                r#"      <property name="file" value="{}"/>"#,
                xml(file)
            )?;
        }
        writeln!(out, "    </properties>")?;
        for t in &run.results {
            let head = format!(
                r#"    <testcase name="{}" classname="{}""#,
                xml(&t.name),
                xml(&suite)
            );
            if t.passed() {
                writeln!(out, "{head}/>")?;
            } else {
                let lines = difference_lines(t);
                writeln!(out, "{head}>")?;
                writeln!(
                    out,
                    r#"      <failure message="{}" type="expectation">{}</failure>"#,
                    xml(&lines.join("; ")),
                    xml(&format!("line {}\n{}", t.line, lines.join("\n")))
                )?;
                writeln!(out, "    </testcase>")?;
            }
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

// ---------------------------------------------------------------------------------------------
// policy diff

/// How `policy diff` names a declaration: its file (the server names it by its id).
#[derive(Debug, Clone, serde::Serialize)]
struct FileKey {
    file: String,
}

fn diff(
    from: &[String],
    to: &[String],
    files: &[String],
    format: DiffFormat,
    as_of: NaiveDate,
) -> anyhow::Result<u8> {
    let from_packs = crate::packs::resolve(from)?;
    let to_packs = crate::packs::resolve(to)?;
    let files = super::check::expand_folders(files);
    if files.iter().any(|f| f == "-") {
        return Err(
            UsageError("policy diff reads files, not standard input (`-`)".to_owned()).into(),
        );
    }
    let mut parsed = Vec::with_capacity(files.len());
    for file in &files {
        let bytes = super::check::read_limited(file).map_err(|e| anyhow::anyhow!(e))?;
        match format::parse(&bytes, SourceKind::from_path(Path::new(file))) {
            Ok(p) => parsed.push(p),
            Err(e) => {
                let mut err = anstream::stderr().lock();
                let _ = writeln!(err, "error: {file}: {}", e.summary);
                for problem in &e.problems {
                    let _ = writeln!(err, "  {problem}");
                }
                return Ok(super::check::EXIT_INVALID);
            }
        }
    }
    let subjects: Vec<Subject<FileKey>> = files
        .iter()
        .zip(&parsed)
        .map(|(file, p)| Subject {
            key: FileKey { file: file.clone() },
            declaration: &p.declaration,
            organisation: None,
        })
        .collect();
    let result = diff::compare(&subjects, &from_packs, &to_packs, as_of)
        .map_err(|e| UsageError(format!("a pack failed while evaluating: {e}")))
        .context("comparing the pack sets")?;
    let mut out = anstream::stdout().lock();
    let written = match format {
        DiffFormat::Json => serde_json::to_writer_pretty(&mut out, &result)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out)),
        DiffFormat::Human => write_diff_human(&mut out, &result, files.len(), from, to),
    };
    finish(written, 0)
}

fn summary_line(s: &Summary) -> String {
    let list = |items: &[String]| {
        if items.is_empty() {
            "-".to_owned()
        } else {
            items.join(", ")
        }
    };
    format!(
        "{:<16}  rules: {}  blockers: {}  obligations: {}",
        s.outcome.as_str(),
        list(&s.rules),
        list(&s.blockers),
        list(&s.obligations)
    )
}

fn write_findings(
    out: &mut impl Write,
    label: &str,
    findings: &[ProductionFinding],
) -> std::io::Result<()> {
    if findings.is_empty() {
        return writeln!(out, "  {label}: none");
    }
    writeln!(out, "  {label}:")?;
    for f in findings {
        writeln!(
            out,
            "    {} ({}): {} [{}]",
            f.rule,
            f.outcome.as_str(),
            f.message,
            f.declarations.join(", ")
        )?;
    }
    Ok(())
}

fn write_diff_human(
    out: &mut impl Write,
    result: &PolicyDiff<FileKey>,
    total: usize,
    from: &[String],
    to: &[String],
) -> std::io::Result<()> {
    let bold = anstyle::Style::new().bold();
    writeln!(
        out,
        "{bold}{} of {} declaration{} change{}{bold:#} (from {} to {})",
        result.changes.len(),
        total,
        if total == 1 { "" } else { "s" },
        if result.changes.len() == 1 { "s" } else { "" },
        from.join(" + "),
        to.join(" + ")
    )?;
    for c in &result.changes {
        writeln!(out, "{} ({})", c.subject.file, c.use_ref)?;
        writeln!(out, "  before: {}", summary_line(&c.before))?;
        writeln!(out, "  after:  {}", summary_line(&c.after))?;
    }
    writeln!(out, "{:<18} {:>6} {:>6}", "outcome", "before", "after")?;
    for o in Outcome::ALL {
        writeln!(
            out,
            "{:<18} {:>6} {:>6}",
            o.as_str(),
            result.counts.before.get(o),
            result.counts.after.get(o)
        )?;
    }
    let pf = &result.production_findings;
    if !pf.before.is_empty() || !pf.after.is_empty() {
        writeln!(out, "production findings")?;
        write_findings(out, "before", &pf.before)?;
        write_findings(out, "after", &pf.after)?;
    }
    Ok(())
}

/// A replay as the server answers it.
#[derive(serde::Deserialize)]
struct ReplayDoc {
    declaration_id: String,
    revision: i64,
    seq: i64,
    basis: ReplayBasis,
    same: bool,
    stored: serde_json::Value,
    replayed: serde_json::Value,
}

#[derive(serde::Deserialize)]
struct ReplayBasis {
    as_of: String,
    packs: Vec<ReplayPack>,
}

#[derive(serde::Deserialize)]
struct ReplayPack {
    name: String,
    digest: String,
}

fn replay(
    declaration: &str,
    server: &str,
    seq: Option<i64>,
    format: DiffFormat,
) -> anyhow::Result<u8> {
    let token = crate::server_ledger::token_from_env()?;
    let body = crate::server_ledger::replay(server, &token, declaration, seq)?;
    let doc: ReplayDoc = serde_json::from_slice(&body)
        .with_context(|| format!("the server {server} sent a replay that cannot be read"))?;
    let code = if doc.same { 0 } else { 1 };
    let mut out = std::io::stdout().lock();
    let written = match format {
        DiffFormat::Json => {
            let value: serde_json::Value = serde_json::from_slice(&body).with_context(|| {
                format!("the server {server} sent a replay that cannot be read")
            })?;
            serde_json::to_writer_pretty(&mut out, &value)
                .map_err(std::io::Error::other)
                .and_then(|()| writeln!(out))
        }
        DiffFormat::Human => (|| {
            writeln!(
                out,
                "declaration {}, revision {}, triage {} (as of {})",
                doc.declaration_id, doc.revision, doc.seq, doc.basis.as_of
            )?;
            for p in &doc.basis.packs {
                writeln!(out, "  pack {} sha256:{}", p.name, p.digest)?;
            }
            let outcome = |v: &serde_json::Value| {
                v.get("outcome")
                    .and_then(|o| o.as_str())
                    .unwrap_or("?")
                    .to_owned()
            };
            if doc.same {
                writeln!(
                    out,
                    "same result: outcome {} (the stored triage replays exactly)",
                    outcome(&doc.stored)
                )
            } else {
                writeln!(
                    out,
                    "DIFFERENT result: stored outcome {}, replayed outcome {}",
                    outcome(&doc.stored),
                    outcome(&doc.replayed)
                )
            }
        })(),
    };
    finish(written, code)
}
