//! `greenlight scan`: verify a delivery before it leaves.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::NaiveDate;
use greenlight_scan::credentials::CredentialReader;
use greenlight_scan::declarations::Declarations;
use greenlight_scan::report::{self, ScanReport, Thumbnails};
use greenlight_scan::scan::{self, Banks, Progress, ScanInputs, ScanOptions};
use greenlight_scan::verdict::{Policy, Verdict};
use greenlight_scan::waiver::Waivers;
use greenlight_store::banks::{Creation, DEFAULT_DATABASE_URL};

use crate::cmd::UsageError;
use crate::server_ledger;

/// The environment variable naming the bank store when `--database-url` is not given.
pub const BANKS_URL_ENV: &str = "GREENLIGHT_BANKS_URL";

/// Exit code: the delivery passes.
pub const EXIT_PASS: u8 = 0;
/// Exit code: at least one file fails.
pub const EXIT_FAIL: u8 = 1;

/// Output formats of `greenlight scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A summary for people.
    Human,
    /// The JSON report.
    Json,
    /// JUnit XML, one test case per file.
    Junit,
    /// CSV for QC tools: one row per finding, with timecode in/out.
    Csv,
}

/// Arguments of `greenlight scan`.
///
/// Exit codes: 0 pass, 1 fail, 2 usage error (a refused token or an unknown production of
/// `--server` included), 4 could not scan (the path, the bank store, the server, `ffmpeg` for
/// a delivery with video, a malformed waivers, declaration or decision file).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The delivery: a folder (walked recursively, honouring `.greenlightignore`) or one file.
    pub path: PathBuf,
    /// Folder of declaration files, each with an optional `STEM.decision.yaml` beside it.
    #[arg(long, value_name = "DIR", conflicts_with = "server")]
    pub declarations: Option<PathBuf>,
    /// Bank store (`sqlite://FILE` or `postgres://...`); a server's database works too
    /// [default: `GREENLIGHT_BANKS_URL` when set, else sqlite://greenlight-banks.db?mode=rwc].
    // Read from the environment here rather than by clap's `env`: clap counts a value from
    // the environment as given, so a `GREENLIGHT_BANKS_URL` exported for `assets` would make
    // every `scan --server` a usage error.
    #[arg(long, value_name = "URL", conflicts_with = "server")]
    pub database_url: Option<String>,
    /// Take the ledger, the reference banks and the declarations with their decisions from
    /// this Greenlight server (`https://HOST`), with the API token in `GREENLIGHT_TOKEN`.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// With --server: do not report the verdict back to the server (by default the scan's
    /// verdict, summary and findings are posted to the production, where the studio sees
    /// every delivery scan).
    #[arg(long, requires = "server")]
    pub no_report: bool,
    /// The production whose asset ledger applies: its id on the server with `--server` (may be
    /// left out when the store has one, or the token sees one).
    #[arg(long, value_name = "P")]
    pub production: Option<String>,
    /// Waivers file [default: greenlight-waivers.yaml at the delivery root, when present].
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// Output on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also write a self-contained HTML report for producers.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// PDQ match threshold: Hamming distance, inclusive (0-256).
    #[arg(long, value_name = "N", default_value_t = 31, value_parser = clap::value_parser!(u32).range(0..=256))]
    pub max_distance: u32,
    /// Compute SHA-256 as well as BLAKE3.
    #[arg(long)]
    pub sha256: bool,
    /// Ignore the cache: analyse every file again (and do not write the cache).
    #[arg(long)]
    pub no_cache: bool,
    /// Cache file [default: in the user's cache folder, e.g. ~/.cache/greenlight/scan/, one per
    /// delivery path; never inside the delivery].
    #[arg(long, value_name = "FILE", conflicts_with = "no_cache")]
    pub cache: Option<PathBuf>,
    /// PEM bundle of C2PA trust anchors; without it no credential is `trusted`.
    #[arg(long, value_name = "FILE")]
    pub trust_anchors: Option<PathBuf>,
    /// Fail on credentials whose signer is not trusted (CREDENTIAL-UNTRUSTED, overridable).
    #[arg(long)]
    pub require_trusted: bool,
    /// Evaluate waivers and packs as of this date (YYYY-MM-DD) [default: today, UTC].
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<NaiveDate>,
    /// An original-version IMF package (a folder with its ASSETMAP.xml) whose track files the
    /// delivery's supplemental packages play; repeat for several.
    #[arg(long, value_name = "DIR")]
    pub ov: Vec<PathBuf>,
    /// A CMX 3600 edit decision list whose record timecode is the delivered files' timecode:
    /// each video finding names its edit event (number, clip, reel, source in/out).
    #[arg(long, value_name = "FILE", conflicts_with = "otio")]
    pub edl: Option<PathBuf>,
    /// Frame rate of image sequences (DPX, EXR, numbered TIFF/PNG/JPEG), for their timecode:
    /// `24`, `25`, `24000/1001`.
    #[arg(long, value_name = "RATE", default_value = "24")]
    pub sequence_rate: greenlight_scan::timecode::EditRate,
    /// As `--edl`, from an OpenTimelineIO (`.otio`) file.
    #[arg(long, value_name = "FILE")]
    pub otio: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<u8> {
    let as_of = args
        .as_of
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let policy = Policy {
        require_trusted: args.require_trusted,
    };
    if !args.path.exists() {
        anyhow::bail!("{}: no such file or folder", args.path.display());
    }
    let root = args
        .path
        .canonicalize()
        .with_context(|| format!("reading {}", args.path.display()))?;

    let waivers_path = args.waivers.clone().or_else(|| {
        let p = root.join("greenlight-waivers.yaml");
        (root.is_dir() && p.is_file()).then_some(p)
    });
    let waivers = match &waivers_path {
        Some(p) => Waivers::load(p, &policy).context("waivers")?,
        None => Waivers::default(),
    };
    let credentials = match &args.trust_anchors {
        Some(p) => CredentialReader::with_anchors_file(p)?,
        None => CredentialReader::new(None).map_err(|e| anyhow::anyhow!("C2PA reader: {e}"))?,
    };
    let mut reported_production: Option<String> = None;
    let (banks, declarations) = match &args.server {
        Some(server) => {
            let token = server_ledger::token_from_env()?;
            let inputs = server_ledger::fetch(
                server,
                &token,
                args.production.as_deref(),
                args.report.is_some(),
            )?;
            reported_production = Some(inputs.production.clone());
            let mut banks = inputs.banks;
            // Reference works kept in a local bank store (the default file, or
            // GREENLIGHT_BANKS_URL) are checked too, beside the server's: a protected work
            // registered locally must not drop out because the ledger comes from a server.
            if let Some((url, references, sounds)) = local_references()? {
                let n = references.len() + sounds.len();
                eprintln!(
                    "note: also checking {} reference work entr{} from the local bank store {}",
                    n,
                    if n == 1 { "y" } else { "ies" },
                    greenlight_store::redact_url(&url)
                );
                banks.references.extend(references);
                banks.audio_references.extend(sounds);
            }
            (banks, Some(inputs.declarations))
        }
        None => {
            let declarations = match &args.declarations {
                Some(dir) => Some(Declarations::load(dir, as_of).context("declarations")?),
                None => None,
            };
            let url = args
                .database_url
                .clone()
                .or_else(|| std::env::var(BANKS_URL_ENV).ok().filter(|u| !u.is_empty()))
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
            let banks = load_banks(&url, args.production.as_deref())?;
            (banks, declarations)
        }
    };

    for ov in &args.ov {
        if !ov.join("ASSETMAP.xml").is_file() {
            anyhow::bail!(
                "--ov {}: not an IMF package (no ASSETMAP.xml in it)",
                ov.display()
            );
        }
    }
    let edit_list = args.edl.clone().or_else(|| args.otio.clone());
    if let Some(path) = &edit_list {
        // Read it once now: a malformed list stops the scan before any hashing. At 59.94 every
        // list of up to 60 frames a second reads, drop-frame ones included; each match's range
        // is read again at its own file's rate.
        greenlight_scan::edl::EditList::read(path, 60000, 1001)?;
    }
    let options = ScanOptions {
        sequence_rate: args.sequence_rate,
        edit_list,
        ov: args.ov.clone(),
        sha256: args.sha256,
        max_distance: args.max_distance,
        use_cache: !args.no_cache,
        cache_path: args.cache.clone(),
        policy,
        as_of,
    };
    let inputs = ScanInputs {
        banks: &banks,
        declarations: declarations.as_ref(),
        waivers: &waivers,
        credentials: &credentials,
    };
    let bar = Bar::new();
    let result = scan::scan(&root, &options, &inputs, &bar);
    bar.finish();
    let report = result?;

    let mut stdout = std::io::stdout().lock();
    let text = match args.format {
        Format::Human => report::human(&report, color()),
        Format::Json => report::json(&report) + "\n",
        Format::Junit => report::junit(&report),
        Format::Csv => report::csv(&report),
    };
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e).context("writing the report");
    }
    if let Some(path) = &args.report {
        let thumbs = thumbnails(&root, &report, &banks);
        std::fs::write(path, report::html(&report, &thumbs))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let (Some(server), Some(production), false) =
        (&args.server, &reported_production, args.no_report)
    {
        // The scan's own result stands whatever happens here: a report that cannot be posted
        // is said on stderr, and the exit code stays the verdict's.
        let body = scan_report_body(&report);
        match server_ledger::token_from_env()
            .and_then(|token| server_ledger::report_scan(server, &token, production, &body))
        {
            Ok(()) => eprintln!("reported the verdict to {server} (production {production})"),
            Err(e) => eprintln!("warning: could not report the verdict to {server}: {e:#}"),
        }
    }
    Ok(match report.verdict {
        Verdict::Pass => EXIT_PASS,
        Verdict::Fail => EXIT_FAIL,
    })
}

/// What `scan --server` posts back: the verdict, the report's summary, and its findings (at
/// most the server's 10,000).
fn scan_report_body(report: &greenlight_scan::report::ScanReport) -> Vec<u8> {
    let full: serde_json::Value =
        serde_json::from_str(&report::json(report)).unwrap_or(serde_json::Value::Null);
    let verdict = match report.verdict {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
    };
    let mut summary = full
        .get("summary")
        .cloned()
        .unwrap_or_else(|| serde_json::json!({}));
    if let Some(s) = summary.as_object_mut() {
        s.insert(
            "tool".into(),
            serde_json::json!(concat!("greenlight ", env!("CARGO_PKG_VERSION"))),
        );
    }
    if let Some(s) = summary.as_object_mut() {
        s.insert("root".into(), serde_json::json!(report.root));
    }
    // Each file's findings, with the file's path.
    let findings: Vec<serde_json::Value> = full
        .get("files")
        .and_then(|f| f.as_array())
        .into_iter()
        .flatten()
        .flat_map(|file| {
            let path = file.get("path").cloned().unwrap_or_default();
            file.get("findings")
                .and_then(|f| f.as_array())
                .into_iter()
                .flatten()
                .map(move |f| {
                    let mut f = f.clone();
                    if let Some(o) = f.as_object_mut() {
                        o.insert("path".into(), path.clone());
                    }
                    f
                })
        })
        .take(10_000)
        .collect();
    serde_json::to_vec(
        &serde_json::json!({"verdict": verdict, "summary": summary, "findings": findings}),
    )
    .unwrap_or_default()
}

/// The reference banks of the local bank store, when there is one: `GREENLIGHT_BANKS_URL`, or
/// the default file when it exists. Never creates a store.
type LocalReferences = (
    String,
    Vec<greenlight_store::banks::Reference>,
    Vec<greenlight_store::banks::AudioReference>,
);

fn local_references() -> anyhow::Result<Option<LocalReferences>> {
    let url = match std::env::var(BANKS_URL_ENV).ok().filter(|u| !u.is_empty()) {
        Some(url) => url,
        None if Path::new("greenlight-banks.db").exists() => DEFAULT_DATABASE_URL.to_owned(),
        None => return Ok(None),
    };
    let (references, sounds) = runtime()?.block_on(async {
        let store = greenlight_store::banks::Banks::open(&url, Creation::Existing).await?;
        let references = store.references(None).await?;
        let sounds = store.audio_references(None).await?;
        store.close().await;
        Ok::<_, anyhow::Error>((references, sounds))
    })?;
    Ok((!references.is_empty() || !sounds.is_empty()).then_some((url, references, sounds)))
}

/// Loads the ledger of `production` and every reference bank. The default local store is not
/// created by a scan: when its file does not exist, the banks are empty.
pub fn load_banks(url: &str, production: Option<&str>) -> anyhow::Result<Banks> {
    if url == DEFAULT_DATABASE_URL && !Path::new("greenlight-banks.db").exists() {
        if production.is_some() {
            anyhow::bail!(
                "no bank store here (greenlight-banks.db); give --database-url, or register assets first"
            );
        }
        tracing::info!("no bank store; scanning without ledger and reference banks");
        return Ok(Banks::default());
    }
    runtime()?.block_on(async {
        let store = greenlight_store::banks::Banks::open(url, Creation::Existing).await?;
        let production = resolve_production(&store, production).await?;
        // A misspelt production would scan against an empty ledger and pass what it should
        // catch: a name the store does not know is a usage error when it knows others.
        if let Some(p) = &production {
            let known = store.productions().await?;
            if !known.is_empty() && !known.contains(p) {
                return Err(UsageError(format!(
                    "the bank store has no ledger for production {p:?} (it has: {})",
                    known.join(", ")
                ))
                .into());
            }
        }
        let ledger = match &production {
            Some(p) => store.assets(Some(p)).await?,
            None => vec![],
        };
        let references = store.references(None).await?;
        let audio_references = store.audio_references(None).await?;
        store.close().await;
        Ok::<_, anyhow::Error>(Banks {
            ledger,
            references,
            audio_references,
        })
    })
}

/// The production to use: the one named, or the only one in the store.
pub async fn resolve_production(
    store: &greenlight_store::banks::Banks,
    named: Option<&str>,
) -> anyhow::Result<Option<String>> {
    if let Some(p) = named {
        return Ok(Some(p.to_string()));
    }
    let all = store.productions().await?;
    match all.len() {
        0 => Ok(None),
        1 => Ok(all.into_iter().next()),
        _ => Err(UsageError(format!(
            "the bank store holds several productions ({}); name one with --production",
            all.join(", ")
        ))
        .into()),
    }
}

/// A current-thread tokio runtime for the bank store.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Most thumbnails of matched ranges beyond each match's first, in one HTML report.
const MAX_RANGE_THUMBNAILS: usize = 200;

fn thumbnails(root: &Path, report: &ScanReport, banks: &Banks) -> Thumbnails {
    let mut t = Thumbnails::default();
    let mut range_thumbs = 0;
    for a in &banks.ledger {
        if let Some(bytes) = &a.thumbnail {
            t.ledger.insert(a.id, bytes.clone());
        }
    }
    for f in &report.files {
        let path = if root.is_dir() {
            root.join(&f.path)
        } else {
            root.to_path_buf()
        };
        for m in f.findings.iter().filter_map(|x| x.r#match.as_ref()) {
            // A frame for each matched range of a video (for the timecode table), at most
            // MAX_RANGE_THUMBNAILS in a report.
            for &(second, _) in m.time_ranges.iter().skip(1) {
                let key = report::range_key(&f.path, second);
                if range_thumbs >= MAX_RANGE_THUMBNAILS || t.delivered.contains_key(&key) {
                    continue;
                }
                if let Some(jpeg) = scan::delivered_thumbnail(
                    &path,
                    f.media_type.as_deref().unwrap_or(""),
                    Some(second),
                ) {
                    t.delivered.insert(key, jpeg);
                    range_thumbs += 1;
                }
            }
            let key = report::delivered_key(&f.path, m);
            if t.delivered.contains_key(&key) {
                continue;
            }
            let second = m.time_ranges.first().map(|r| r.0);
            if let Some(jpeg) =
                scan::delivered_thumbnail(&path, f.media_type.as_deref().unwrap_or(""), second)
            {
                t.delivered.insert(key, jpeg);
            }
        }
    }
    t
}

/// The progress bar: on stderr, only when stderr is a terminal; bytes, bytes/s, ETA and files.
struct Bar {
    bar: Option<indicatif::ProgressBar>,
    files: std::sync::atomic::AtomicU64,
    total_files: std::sync::atomic::AtomicU64,
}

impl Bar {
    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::with_draw_target(Some(0), indicatif::ProgressDrawTarget::stderr());
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} [{bar:24}] {msg} files {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            ) {
                b.set_style(style.progress_chars("=> "));
            }
            b
        });
        Self {
            bar,
            files: 0.into(),
            total_files: 0.into(),
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn start(&self, files: u64, bytes: u64) {
        self.total_files
            .store(files, std::sync::atomic::Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.set_length(bytes);
            b.set_message(format!("0/{files}"));
        }
    }

    fn file_done(&self, bytes: u64) {
        let n = self
            .files
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        if let Some(b) = &self.bar {
            b.set_message(format!(
                "{n}/{}",
                self.total_files.load(std::sync::atomic::Ordering::Relaxed)
            ));
            b.inc(bytes);
        }
    }
}
