//! `greenlight assets`: the production's asset ledger of registered AI-generated assets.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use greenlight_scan::exchange::{self, CsvRow, SignalFormat};
use greenlight_scan::scan::{BankKind, fingerprint};
use greenlight_store::banks::{
    Asset, Banks, Creation, DEFAULT_DATABASE_URL, Frame, HashType, NewAsset, Registered,
};

use crate::cmd::UsageError;
use crate::cmd::scan::{resolve_production, runtime};

/// Output formats of `assets list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// A table for people.
    Human,
    /// One JSON object per line.
    Json,
}

/// Formats of `export` (both read back by `import`, which tells them apart by content).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// CSV: `signal_type,signal_str,collab,category,tags` as python-threatexchange's
    /// `dataset --csv` writes, then `id,title`.
    Csv,
    /// `pdq HASH` lines, which python-threatexchange's `local_file` collaboration reads (PDQ
    /// only, no ids or titles).
    Lines,
}

impl From<ExportFormat> for SignalFormat {
    fn from(f: ExportFormat) -> Self {
        match f {
            ExportFormat::Csv => SignalFormat::Csv,
            ExportFormat::Lines => SignalFormat::Lines,
        }
    }
}

/// Writes `rows` to `out` (stdout when `None`) and says on stderr what the format left out.
pub fn write_export(
    rows: &[CsvRow],
    format: ExportFormat,
    out: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let left_out = match out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("writing {}", path.display()))?;
            exchange::write_signals(rows, format.into(), std::io::BufWriter::new(file))
                .with_context(|| format!("writing {}", path.display()))?
        }
        None => exchange::write_signals(rows, format.into(), std::io::stdout().lock())?,
    };
    if left_out > 0 {
        eprintln!(
            "note: {left_out} BLAKE3 hash(es) left out: ThreatExchange tools have no such signal type (use --format csv to keep them)"
        );
    }
    Ok(())
}

/// Reads an exchange file (any form `exchange::read_signals` knows) and says on stderr what was
/// skipped.
pub fn read_exchange_file(file: &std::path::Path) -> anyhow::Result<exchange::SignalFile> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let read = exchange::read_signals(&text).map_err(|errs| {
        anyhow::anyhow!(
            "{}:\n{}",
            file.display(),
            errs.iter()
                .map(|e| format!("  {e}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    })?;
    if let Some(s) = read.skipped_summary() {
        eprintln!("note: {}: {s}", file.display());
    }
    Ok(read)
}

/// The bank store flag shared by the subcommands.
#[derive(Debug, clap::Args)]
pub struct Store {
    /// Bank store (`sqlite://FILE` or `postgres://...`); a server's database works too.
    #[arg(long, value_name = "URL", env = "GREENLIGHT_BANKS_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

/// Subcommands of `greenlight assets` (exit codes: 0 done, 2 usage error, 4 a file or the store
/// could not be read).
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Register files (images, video, audio, anything) under a declaration's `use.ref`.
    Add {
        /// The production (may be left out when the store has exactly one).
        #[arg(long, value_name = "P")]
        production: Option<String>,
        /// The `use.ref` of the declaration covering these files.
        #[arg(long = "use", value_name = "REF")]
        use_ref: String,
        /// The generating tool.
        #[arg(long, value_name = "T")]
        tool: Option<String>,
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        store: Store,
    },
    /// List the ledger.
    List {
        /// Only this production.
        #[arg(long, value_name = "P")]
        production: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Human)]
        format: ListFormat,
        #[command(flatten)]
        store: Store,
    },
    /// Export the ledger's hashes in a ThreatExchange hash file (see `--format`).
    Export {
        /// Only this production.
        #[arg(long, value_name = "P")]
        production: Option<String>,
        /// Write here instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// File format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        #[command(flatten)]
        store: Store,
    },
    /// Import ledger hashes from a ThreatExchange hash file: CSV (the id column is the
    /// `use.ref`) or `TYPE SIGNAL` lines. Signal types other than pdq and blake3 are skipped
    /// and counted.
    Import {
        /// The production to import into.
        #[arg(long, value_name = "P")]
        production: String,
        /// The `use.ref` of rows that carry no id (e.g. `TYPE SIGNAL` lines).
        #[arg(long = "use", value_name = "REF")]
        use_ref: Option<String>,
        /// The generating tool, if the same for every row.
        #[arg(long, value_name = "T")]
        tool: Option<String>,
        /// The CSV file.
        file: PathBuf,
        #[command(flatten)]
        store: Store,
    },
}

/// Runs the command.
pub fn run(command: Command) -> anyhow::Result<u8> {
    runtime()?.block_on(async move {
        match command {
            Command::Add {
                production,
                use_ref,
                tool,
                files,
                store,
            } => add(&store.database_url, production, use_ref, tool, files).await,
            Command::List {
                production,
                format,
                store,
            } => list(&store.database_url, production, format).await,
            Command::Export {
                production,
                out,
                format,
                store,
            } => export(&store.database_url, production, out, format).await,
            Command::Import {
                production,
                use_ref,
                tool,
                file,
                store,
            } => import(&store.database_url, production, use_ref, tool, file).await,
        }
    })
}

async fn add(
    url: &str,
    production: Option<String>,
    use_ref: String,
    tool: Option<String>,
    files: Vec<PathBuf>,
) -> anyhow::Result<u8> {
    if use_ref.trim().is_empty() {
        return Err(UsageError("--use must not be empty".into()).into());
    }
    // Fingerprint everything before writing anything: one unreadable file adds nothing.
    let mut assets = Vec::new();
    for path in &files {
        let fp = fingerprint(path, BankKind::Ledger)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if let Some(why) = &fp.audio_problem {
            eprintln!(
                "note: {}: its sound could not be fingerprinted ({why}); it is registered by exact hash",
                path.display()
            );
        }
        if let Some(seconds) = fp.audio_seconds_cap {
            eprintln!(
                "note: {}: only its first {} minutes of sound are fingerprinted",
                path.display(),
                seconds / 60
            );
        }
        if let Some(seconds) = fp.hashed_seconds_cap {
            eprintln!(
                "note: {}: only its first {} minutes are hashed frame by frame; later frames are not in the ledger",
                path.display(),
                seconds / 60
            );
        }
        let file_name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        assets.push((
            path,
            NewAsset {
                production: String::new(),
                use_ref: use_ref.clone(),
                tool: tool.clone(),
                file_name,
                blake3: fp.digests.blake3,
                media_type: fp.media.mime,
                pdq: fp.pdq.map(|(h, q)| (h.to_hex(), q)),
                frames: fp
                    .frames
                    .iter()
                    .map(|f| Frame {
                        millis: f.millis,
                        pdq: f.hash.to_hex(),
                        quality: f.quality,
                    })
                    .collect(),
                thumbnail: fp.thumbnail,
                audio: fp.audio,
            },
        ));
    }
    let store = Banks::open(url, Creation::Create).await?;
    let production = match resolve_production(&store, production.as_deref()).await? {
        Some(p) => p,
        None => {
            return Err(UsageError(
                "the bank store has no production yet: name one with --production".into(),
            )
            .into());
        }
    };
    // A file belongs to one use: refuse the whole command, before writing anything, when a
    // file is already registered under another.
    let mut elsewhere = Vec::new();
    for (path, asset) in &assets {
        if let Some((id, other)) = store.find_asset(&production, &asset.blake3).await?
            && other != use_ref
        {
            elsewhere.push(format!(
                "{} is already registered under use {other} (ledger entry #{id})",
                path.display()
            ));
        }
    }
    if !elsewhere.is_empty() {
        store.close().await;
        return Err(UsageError(format!(
            "{}; nothing was registered (one file belongs to one use)",
            elsewhere.join("; ")
        ))
        .into());
    }
    for (path, mut asset) in assets {
        asset.production = production.clone();
        let low = asset
            .pdq
            .as_ref()
            .is_some_and(|(_, q)| *q < greenlight_scan::pdq::LOW_QUALITY_THRESHOLD);
        let registered = store.register_asset(&asset).await?;
        let mut what = match (&asset.pdq, asset.frames.len()) {
            (Some((h, q)), _) => format!("PDQ {h} quality {q}"),
            (None, n) if n > 0 => format!("{n} frame hashes"),
            _ if asset.audio.is_some() => String::new(),
            _ => "exact hash only".to_string(),
        };
        if let Some(a) = &asset.audio {
            let sound = format!("audio fingerprint of {:.1} s", a.millis as f64 / 1000.0);
            what = if what.is_empty() {
                sound
            } else {
                format!("{what}, {sound}")
            };
        }
        match registered {
            Registered::New(id) => println!(
                "#{id} {} -> {production} / {use_ref} ({what})",
                path.display()
            ),
            Registered::Unchanged(id) => println!(
                "#{id} {} is already registered under {production} / {use_ref}: nothing added",
                path.display()
            ),
            Registered::Refreshed(id) => println!(
                "#{id} {} is already registered under {production} / {use_ref}: its hashes were brought up to date ({what})",
                path.display()
            ),
        }
        if low {
            eprintln!(
                "warning: {}: PDQ quality below 50, so it will be matched by exact hash only",
                path.display()
            );
        }
    }
    store.close().await;
    Ok(0)
}

async fn list(url: &str, production: Option<String>, format: ListFormat) -> anyhow::Result<u8> {
    let store = Banks::open(url, Creation::Existing).await?;
    let assets = store.assets(production.as_deref()).await?;
    store.close().await;
    for a in &assets {
        match format {
            ListFormat::Json => println!("{}", serde_json::to_string(a)?),
            ListFormat::Human => println!(
                "#{:<4} {:<12} {:<10} {:<28} {:<16} {}  {}",
                a.id,
                a.production,
                a.use_ref,
                a.file_name,
                a.tool.as_deref().unwrap_or("-"),
                &a.added_at[..a.added_at.len().min(10)],
                match (&a.pdq, a.frames.len(), &a.audio) {
                    (Some(_), _, _) => format!("image, PDQ q{}", a.pdq_quality.unwrap_or(0)),
                    (None, n, Some(_)) if n > 0 => format!("video, {n} frames, sound"),
                    (None, n, None) if n > 0 => format!("video, {n} frames"),
                    (None, _, Some(s)) => format!("audio, {:.1} s", s.millis as f64 / 1000.0),
                    _ => a.media_type.clone(),
                }
            ),
        }
    }
    if format == ListFormat::Human && assets.is_empty() {
        eprintln!("the ledger is empty");
    }
    Ok(0)
}

/// The ledger as CSV rows: BLAKE3 of every asset, PDQ of images, PDQ per frame of videos
/// (title `NAME#t=SECONDS`, as in media fragment URIs, e.g. `clip.mp4#t=2.25`).
fn ledger_rows(assets: &[Asset]) -> Vec<CsvRow> {
    let mut rows = Vec::new();
    for a in assets {
        rows.push(CsvRow {
            signal_type: HashType::Blake3,
            signal: a.blake3.clone(),
            collab: a.production.clone(),
            id: a.use_ref.clone(),
            title: a.file_name.clone(),
        });
        if let Some(h) = &a.pdq {
            rows.push(CsvRow {
                signal_type: HashType::Pdq,
                signal: h.clone(),
                collab: a.production.clone(),
                id: a.use_ref.clone(),
                title: a.file_name.clone(),
            });
        }
        for f in &a.frames {
            rows.push(CsvRow {
                signal_type: HashType::Pdq,
                signal: f.pdq.clone(),
                collab: a.production.clone(),
                id: a.use_ref.clone(),
                title: exchange::frame_title(&a.file_name, f.millis),
            });
        }
    }
    rows
}

async fn export(
    url: &str,
    production: Option<String>,
    out: Option<PathBuf>,
    format: ExportFormat,
) -> anyhow::Result<u8> {
    let store = Banks::open(url, Creation::Existing).await?;
    let production = resolve_production(&store, production.as_deref()).await?;
    let assets = match &production {
        Some(p) => store.assets(Some(p)).await?,
        None => vec![],
    };
    store.close().await;
    write_export(&ledger_rows(&assets), format, out.as_deref())?;
    Ok(0)
}

async fn import(
    url: &str,
    production: String,
    use_ref: Option<String>,
    tool: Option<String>,
    file: PathBuf,
) -> anyhow::Result<u8> {
    let read = read_exchange_file(&file)?;
    let source = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    // Rows of one asset share (use.ref, file name); `NAME#t=S` rows are frames of NAME. A row
    // with an id but no title (Greenlight's first layout, `blake3,H,W-1` and `pdq,H,W-1`) is
    // named by its id, so the rows of one id stay one asset. A row with neither (a
    // ThreatExchange list) is an asset of its own, named after the file and line it came from.
    if use_ref.is_none() {
        let missing: Vec<String> = read
            .rows
            .iter()
            .filter(|r| r.id.is_none())
            .map(|r| r.line.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(UsageError(format!(
                "{}: line(s) {} name no use.ref: give --use REF",
                file.display(),
                missing.join(", ")
            ))
            .into());
        }
    }
    let mut grouped: BTreeMap<(String, String), NewAsset> = BTreeMap::new();
    let mut problems = Vec::new();
    for r in read.rows {
        let Some(id) = r.id.clone().or_else(|| use_ref.clone()) else {
            continue; // refused above
        };
        let title = r
            .title
            .clone()
            .or_else(|| r.id.clone())
            .unwrap_or_else(|| format!("{source}:{}", r.line));
        let (name, millis) = match exchange::parse_frame_title(&title) {
            Ok(Some((n, ms))) => (n.to_string(), Some(ms)),
            Ok(None) => (title.clone(), None),
            Err(e) => {
                problems.push(format!("  line {}: {e}", r.line));
                continue;
            }
        };
        let a = grouped
            .entry((id.clone(), name.clone()))
            .or_insert_with(|| NewAsset {
                production: production.clone(),
                use_ref: id.clone(),
                tool: tool.clone(),
                file_name: name.clone(),
                media_type: "application/octet-stream".into(),
                ..Default::default()
            });
        match (r.signal_type, millis) {
            (HashType::Blake3, _) => a.blake3 = r.signal,
            (HashType::Pdq, Some(ms)) => {
                a.media_type = "video/*".into();
                a.frames.push(Frame {
                    millis: ms,
                    pdq: r.signal,
                    quality: 100,
                });
            }
            (HashType::Pdq, None) => {
                a.media_type = "image/*".into();
                a.pdq = Some((r.signal, 100));
            }
        }
    }
    if !problems.is_empty() {
        anyhow::bail!("{}:\n{}", file.display(), problems.join("\n"));
    }
    let store = Banks::open(url, Creation::Create).await?;
    let mut n = 0;
    for ((use_ref, name), mut a) in grouped {
        if a.blake3.is_empty() {
            // A row set without an exact hash still matches perceptually; the ledger needs a
            // BLAKE3, so the all-zero digest stands for "unknown".
            a.blake3 = "0".repeat(64);
        }
        store
            .add_asset(&a)
            .await
            .with_context(|| format!("{use_ref} {name}"))?;
        n += 1;
    }
    store.close().await;
    println!("imported {n} asset(s) into {production}");
    Ok(0)
}
