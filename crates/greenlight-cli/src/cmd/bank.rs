//! `greenlight bank`: reference banks of protected works (hashes and metadata only, never
//! images).

use std::path::PathBuf;

use anyhow::Context;
use greenlight_scan::bank::{self, BankStore, CsvRow, HashType, NewReference};
use greenlight_scan::scan::fingerprint;

use crate::cmd::UsageError;
use crate::cmd::assets::{ListFormat, Store};
use crate::cmd::scan::runtime;

/// Subcommands of `greenlight bank` (exit codes: 0 done, 2 usage error, 4 a file or the store
/// could not be read).
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Hash files of a protected work into a bank: BLAKE3 always, PDQ for images, PDQ per
    /// second for video. The files themselves are not kept.
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
        /// Files of the work (stills, clips).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        store: Store,
    },
    /// Import hashes from ThreatExchange signal CSV (`signal_type,signal,id,title`).
    Import {
        /// The bank's name.
        #[arg(long, value_name = "NAME")]
        bank: String,
        /// The CSV file.
        file: PathBuf,
        #[command(flatten)]
        store: Store,
    },
    /// Export a bank (or all) as ThreatExchange signal CSV.
    Export {
        /// Only this bank.
        #[arg(long, value_name = "NAME")]
        bank: Option<String>,
        /// Write here instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
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

/// Runs the command.
pub fn run(command: Command) -> anyhow::Result<u8> {
    runtime()?.block_on(async move {
        match command {
            Command::Add {
                bank,
                id,
                title,
                files,
                store,
            } => add(&store.database_url, bank, id, title, files).await,
            Command::Import { bank, file, store } => import(&store.database_url, bank, file).await,
            Command::Export { bank, out, store } => export(&store.database_url, bank, out).await,
            Command::List {
                bank,
                format,
                store,
            } => list(&store.database_url, bank, format).await,
        }
    })
}

async fn add(
    url: &str,
    bank: String,
    id: String,
    title: String,
    files: Vec<PathBuf>,
) -> anyhow::Result<u8> {
    if bank.trim().is_empty() || id.trim().is_empty() || title.trim().is_empty() {
        return Err(UsageError("--bank, --id and --title must not be empty".into()).into());
    }
    let mut refs = Vec::new();
    let mut skipped_low = 0;
    for path in &files {
        let fp =
            fingerprint(path, false).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let r = |hash_type, hash: String, quality| NewReference {
            bank: bank.clone(),
            work_id: id.clone(),
            title: title.clone(),
            hash_type,
            hash,
            quality,
        };
        refs.push(r(HashType::Blake3, fp.digests.blake3.clone(), None));
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
    let store = BankStore::connect(url).await?;
    let added = store.add_references(&refs).await?;
    store.close().await;
    println!("{added} hash(es) of {title:?} ({id}) added to bank {bank}");
    if skipped_low > 0 {
        eprintln!("note: {skipped_low} low-quality frame hash(es) left out (quality below 50)");
    }
    Ok(0)
}

async fn import(url: &str, bank: String, file: PathBuf) -> anyhow::Result<u8> {
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let rows = bank::read_csv(&text).map_err(|errs| {
        anyhow::anyhow!(
            "{}:\n{}",
            file.display(),
            errs.iter()
                .map(|e| format!("  {e}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    })?;
    let refs: Vec<NewReference> = rows
        .into_iter()
        .map(|r| NewReference {
            bank: bank.clone(),
            work_id: r.id,
            title: r.title,
            hash_type: r.signal_type,
            hash: r.signal,
            quality: None,
        })
        .collect();
    let store = BankStore::connect(url).await?;
    let added = store.add_references(&refs).await?;
    store.close().await;
    println!(
        "{added} new hash(es) of {} imported into bank {bank}",
        refs.len()
    );
    Ok(0)
}

async fn export(url: &str, bank: Option<String>, out: Option<PathBuf>) -> anyhow::Result<u8> {
    let store = BankStore::connect(url).await?;
    let refs = store.references(bank.as_deref()).await?;
    store.close().await;
    let rows: Vec<CsvRow> = refs
        .into_iter()
        .map(|r| CsvRow {
            signal_type: r.hash_type,
            signal: r.hash,
            id: r.work_id,
            title: r.title,
        })
        .collect();
    match out {
        Some(path) => {
            let file = std::fs::File::create(&path)
                .with_context(|| format!("writing {}", path.display()))?;
            bank::write_csv(&rows, file)?;
        }
        None => bank::write_csv(&rows, std::io::stdout().lock())?,
    }
    Ok(0)
}

async fn list(url: &str, bank: Option<String>, format: ListFormat) -> anyhow::Result<u8> {
    let store = BankStore::connect(url).await?;
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
