//! `greenlight bank`: reference banks of protected works (hashes and metadata only, never
//! images).

use std::path::PathBuf;

use greenlight_scan::exchange::CsvRow;
use greenlight_scan::scan::{BankKind, fingerprint};
use greenlight_store::banks::{Banks, Creation, HashType, NewAudioReference, NewReference};

use crate::cmd::UsageError;
use crate::cmd::assets::{ExportFormat, ListFormat, Store, read_exchange_file, write_export};
use crate::cmd::scan::runtime;

/// Subcommands of `greenlight bank` (exit codes: 0 done, 2 usage error, 4 a file or the store
/// could not be read).
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Hash files of a protected work into a bank: BLAKE3 always, PDQ for images, PDQ four
    /// times a second for video, a Chromaprint audio fingerprint for sound (audio files and
    /// the sound of videos, up to 30 minutes). The files themselves are not kept.
    Add {
        /// The bank's name.
        #[arg(long, value_name = "NAME")]
        bank: String,
        /// The work's id in the rights holder's catalogue.
        #[arg(long, value_name = "ID")]
        id: String,
        /// The work's title.
        #[arg(long)]
        title: String,
        /// The studio (its org id on the server) the bank belongs to, when the store is a
        /// server's database hosting several studios: only that studio's scans use it. Without
        /// it, every studio's scans do.
        #[arg(long, value_name = "ORG")]
        studio: Option<String>,
        /// Files of the work (stills, clips).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        store: Store,
    },
    /// Import hashes from a ThreatExchange hash file: CSV (python-threatexchange's
    /// `dataset --csv`, or an export of this command) or `TYPE SIGNAL` lines (`threatexchange
    /// hash`, `dataset -P -S`). Signal types other than pdq and blake3, and rows of category
    /// NEGATIVE_CLASS, are skipped and counted.
    Import {
        /// The bank's name.
        #[arg(long, value_name = "NAME")]
        bank: String,
        /// The work id of rows that carry none (default: the row's collab).
        #[arg(long, value_name = "ID")]
        id: Option<String>,
        /// The work title of rows that carry none (default: the row's collab).
        #[arg(long)]
        title: Option<String>,
        /// The studio (its org id on the server) the bank belongs to, when the store is a
        /// server's database hosting several studios: only that studio's scans use it. Without
        /// it, every studio's scans do.
        #[arg(long, value_name = "ORG")]
        studio: Option<String>,
        /// The CSV file.
        file: PathBuf,
        #[command(flatten)]
        store: Store,
    },
    /// Export a bank (or all) in a ThreatExchange hash file (see `--format`).
    Export {
        /// Only this bank.
        #[arg(long, value_name = "NAME")]
        bank: Option<String>,
        /// Write here instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// File format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        #[command(flatten)]
        store: Store,
    },
    /// List bank entries.
    List {
        /// Only this bank.
        #[arg(long, value_name = "NAME")]
        bank: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Human)]
        format: ListFormat,
        #[command(flatten)]
        store: Store,
    },
}

/// The work `bank add` hashes files of, and the bank it goes into.
struct Work {
    bank: String,
    id: String,
    title: String,
    studio: Option<String>,
}

/// Runs the command.
pub fn run(command: Command) -> anyhow::Result<u8> {
    runtime()?.block_on(async move {
        match command {
            Command::Add {
                bank,
                id,
                title,
                studio,
                files,
                store,
            } => {
                let work = Work {
                    bank,
                    id,
                    title,
                    studio,
                };
                add(&store.database_url, work, files).await
            }
            Command::Import {
                bank,
                id,
                title,
                studio,
                file,
                store,
            } => import(&store.database_url, bank, id, title, studio, file).await,
            Command::Export {
                bank,
                out,
                format,
                store,
            } => export(&store.database_url, bank, out, format).await,
            Command::List {
                bank,
                format,
                store,
            } => list(&store.database_url, bank, format).await,
        }
    })
}

async fn add(url: &str, work: Work, files: Vec<PathBuf>) -> anyhow::Result<u8> {
    let Work {
        bank,
        id,
        title,
        studio,
    } = work;
    if bank.trim().is_empty() || id.trim().is_empty() || title.trim().is_empty() {
        return Err(UsageError("--bank, --id and --title must not be empty".into()).into());
    }
    let mut refs = Vec::new();
    let mut sounds = Vec::new();
    let mut skipped_low = 0;
    for path in &files {
        let fp = fingerprint(path, BankKind::Reference)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let r = |hash_type, hash: String, quality| NewReference {
            bank: bank.clone(),
            work_id: id.clone(),
            title: title.clone(),
            hash_type,
            hash,
            quality,
            studio: studio.clone(),
        };
        refs.push(r(HashType::Blake3, fp.digests.blake3.clone(), None));
        if let Some(why) = &fp.audio_problem {
            eprintln!(
                "note: {}: its sound could not be fingerprinted ({why}); only its hashes are added",
                path.display()
            );
        }
        if let Some(audio) = fp.audio.clone() {
            sounds.push(NewAudioReference {
                bank: bank.clone(),
                work_id: id.clone(),
                title: title.clone(),
                blake3: fp.digests.blake3.clone(),
                audio,
                studio: studio.clone(),
            });
        }
        if let Some((h, q)) = fp.pdq {
            refs.push(r(HashType::Pdq, h.to_hex(), Some(q)));
        }
        for f in &fp.frames {
            if f.quality < greenlight_scan::pdq::LOW_QUALITY_THRESHOLD {
                skipped_low += 1;
                continue;
            }
            refs.push(r(HashType::Pdq, f.hash.to_hex(), Some(f.quality)));
        }
    }
    let store = Banks::open(url, Creation::Create).await?;
    let added = store.add_references(&refs).await?;
    let added_sounds = store.add_audio_references(&sounds).await?;
    store.close().await;
    println!("{added} hash(es) of {title:?} ({id}) added to bank {bank}");
    if !sounds.is_empty() {
        println!("{added_sounds} audio fingerprint(s) of {title:?} ({id}) added to bank {bank}");
    }
    if skipped_low > 0 {
        eprintln!("note: {skipped_low} low-quality frame hash(es) left out (quality below 50)");
    }
    Ok(0)
}

async fn import(
    url: &str,
    bank: String,
    id: Option<String>,
    title: Option<String>,
    studio: Option<String>,
    file: PathBuf,
) -> anyhow::Result<u8> {
    // A video hashed by Meta's vPDQ (`vpdq-hash-video` output, or an HMA `vpdq` signal): the
    // frames of one work, named by --id and --title.
    if let Some(frames) = read_vpdq_file(&file)? {
        let (Some(work_id), Some(title)) = (id.clone(), title.clone()) else {
            return Err(UsageError(format!(
                "{}: a vPDQ file holds the frames of one video: name the work with --id and --title",
                file.display()
            ))
            .into());
        };
        let refs: Vec<NewReference> = frames
            .into_iter()
            .map(|(pdq, quality)| NewReference {
                bank: bank.clone(),
                work_id: work_id.clone(),
                title: title.clone(),
                hash_type: HashType::Pdq,
                hash: pdq,
                quality: Some(quality),
                studio: studio.clone(),
            })
            .collect();
        let store = Banks::open(url, Creation::Create).await?;
        let added = store.add_references(&refs).await?;
        store.close().await;
        println!(
            "{added} new frame hash(es) of {} (vPDQ) imported into bank {bank} as {work_id}",
            refs.len()
        );
        return Ok(0);
    }
    let read = read_exchange_file(&file)?;
    let mut refs = Vec::with_capacity(read.rows.len());
    let mut missing = Vec::new();
    for r in read.rows {
        // The row's own id and title, else the flags, else ThreatExchange's collab (the list
        // it came from): a ThreatExchange list names no works. A row with an id and no title
        // (Greenlight's first layout allowed it) is titled by its id.
        let work_id = r.id.or_else(|| id.clone()).or_else(|| r.collab.clone());
        let work_title = r
            .title
            .or_else(|| title.clone())
            .or(r.collab)
            .or_else(|| work_id.clone());
        match (work_id, work_title) {
            (Some(work_id), Some(title)) => refs.push(NewReference {
                bank: bank.clone(),
                work_id,
                title,
                hash_type: r.signal_type,
                hash: r.signal,
                quality: None,
                studio: studio.clone(),
            }),
            _ => missing.push(r.line.to_string()),
        }
    }
    if !missing.is_empty() {
        return Err(UsageError(format!(
            "{}: line(s) {} name no work: give --id and --title",
            file.display(),
            missing.join(", ")
        ))
        .into());
    }
    let store = Banks::open(url, Creation::Create).await?;
    let added = store.add_references(&refs).await?;
    store.close().await;
    println!(
        "{added} new hash(es) of {} imported into bank {bank}",
        refs.len()
    );
    Ok(0)
}

/// The (PDQ, quality) of each frame of a vPDQ file, when `file` is one: `vpdq-hash-video`
/// lines (`frame,quality,hash,seconds`) or an HMA `vpdq` signal (a JSON list).
fn read_vpdq_file(file: &std::path::Path) -> anyhow::Result<Option<Vec<(String, u8)>>> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        return match greenlight_scan::vpdq::read_vpdq_signal(&text) {
            Ok(frames) => Ok(Some(
                frames.into_iter().map(|f| (f.pdq, f.quality)).collect(),
            )),
            Err(e) => Err(anyhow::anyhow!("{}: {e}", file.display())),
        };
    }
    // Four comma-separated fields with a 64-digit hash third: vpdq-hash-video's lines.
    let first = trimmed.lines().next().unwrap_or_default();
    let fields: Vec<&str> = first.split(',').collect();
    let looks_vpdq = fields.len() == 4
        && fields[2].len() == 64
        && fields[2].bytes().all(|b| b.is_ascii_hexdigit())
        && fields[0].bytes().all(|b| b.is_ascii_digit());
    if !looks_vpdq {
        return Ok(None);
    }
    match greenlight_scan::vpdq::read_vpdq(&text) {
        Ok(frames) => Ok(Some(
            frames.into_iter().map(|f| (f.pdq, f.quality)).collect(),
        )),
        Err(e) => Err(anyhow::anyhow!("{}: {e}", file.display())),
    }
}

async fn export(
    url: &str,
    bank: Option<String>,
    out: Option<PathBuf>,
    format: ExportFormat,
) -> anyhow::Result<u8> {
    let store = Banks::open(url, Creation::Existing).await?;
    let refs = store.references(bank.as_deref()).await?;
    store.close().await;
    let rows: Vec<CsvRow> = refs
        .into_iter()
        .map(|r| CsvRow {
            signal_type: r.hash_type,
            signal: r.hash,
            collab: r.bank,
            id: r.work_id,
            title: r.title,
        })
        .collect();
    write_export(&rows, format, out.as_deref())?;
    Ok(0)
}

async fn list(url: &str, bank: Option<String>, format: ListFormat) -> anyhow::Result<u8> {
    let store = Banks::open(url, Creation::Existing).await?;
    let refs = store.references(bank.as_deref()).await?;
    store.close().await;
    for r in &refs {
        match format {
            ListFormat::Json => println!("{}", serde_json::to_string(r)?),
            ListFormat::Human => {
                println!(
                    "{:<16} {:<12} {:<30} {:<6} {}",
                    r.bank,
                    r.work_id,
                    r.title,
                    r.hash_type.as_str(),
                    r.hash
                )
            }
        }
    }
    if format == ListFormat::Human && refs.is_empty() {
        eprintln!("no reference bank entries");
    }
    Ok(0)
}
