//! `greenlight audit`: export the tamper-evident audit log as a bundle, and verify the live
//! database or a bundle offline, without the private key.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use greenlight_store::audit::{self, AuditEntry, Checkpoint, VerifyReport};
use greenlight_store::{SigningKey, Store, StoreConfig};

use super::UsageError;
use super::serve::{DEFAULT_DATABASE_URL, block_on, default_log_path, sqlite_file};

/// Subcommands of `greenlight audit`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Write a bundle: entries.jsonl, checkpoints.jsonl, checkpoint-log.jsonl (when the log
    /// is found) and the public key (exit codes: 0 written, 2 usage, 4 I/O).
    Export(ExportArgs),
    /// Check the chain, every checkpoint signature and the checkpoint log; name the first
    /// bad entry (exit codes: 0 valid, 1 tampering found, 2 usage, 4 I/O).
    Verify(VerifyArgs),
}

/// Arguments of `greenlight audit export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The folder to write (created; existing bundle files are replaced).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, env = "GREENLIGHT_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// The audit key file, to export its public half (default: beside an SQLite database).
    #[arg(long, env = "GREENLIGHT_AUDIT_KEY")]
    pub audit_key: Option<PathBuf>,
    /// The checkpoint log to include (default: beside the key).
    #[arg(long, env = "GREENLIGHT_CHECKPOINT_LOG")]
    pub checkpoint_log: Option<PathBuf>,
}

/// Arguments of `greenlight audit verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Verify a live database (default when no --bundle is given; ignored with --bundle).
    #[arg(long, env = "GREENLIGHT_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Verify an exported bundle offline.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// The checkpoint log kept outside the database (default: beside the key, or the
    /// bundle's checkpoint-log.jsonl).
    #[arg(long)]
    pub checkpoints: Option<PathBuf>,
    /// The public key to trust (PEM or hex). Default: the bundle's public-key.pem, or the
    /// key file beside an SQLite database.
    #[arg(long)]
    pub public_key: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

fn key_beside(url: &str) -> Option<PathBuf> {
    let db = sqlite_file(url)?;
    let stem = db.file_stem()?.to_string_lossy().into_owned();
    Some(db.with_file_name(format!("{stem}.audit.key")))
}

async fn open_for_reading(url: &str) -> anyhow::Result<Store> {
    if let Some(f) = sqlite_file(url)
        && !f.exists()
    {
        anyhow::bail!("no database at {}", f.display());
    }
    Store::open(StoreConfig::new(url))
        .await
        .context("opening the database")
}

fn write_jsonl<T: serde::Serialize>(path: &Path, items: &[T]) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    for i in items {
        serde_json::to_writer(&mut f, i)?;
        f.write_all(b"\n")?;
    }
    f.flush()
        .with_context(|| format!("writing {}", path.display()))
}

fn read_jsonl<T: serde::de::DeserializeOwned>(
    path: &Path,
) -> anyhow::Result<Result<Vec<T>, String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(v) => out.push(v),
            Err(e) => return Ok(Err(format!("{} line {}: {e}", path.display(), i + 1))),
        }
    }
    Ok(Ok(out))
}

/// Runs the command.
pub fn run(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Export(a) => export(a),
        Command::Verify(a) => verify(a),
    }
}

fn export(a: ExportArgs) -> anyhow::Result<u8> {
    let (entries, checkpoints) = block_on(async {
        let store = open_for_reading(&a.database_url).await?;
        let chain = store.audit_chain().await.context("reading the audit log");
        store.close().await;
        chain
    })??;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    write_jsonl(&a.out.join("entries.jsonl"), &entries)?;
    write_jsonl(&a.out.join("checkpoints.jsonl"), &checkpoints)?;
    let key_path = a
        .audit_key
        .clone()
        .or_else(|| key_beside(&a.database_url))
        .filter(|p| p.exists());
    match &key_path {
        Some(k) => {
            let key = SigningKey::from_file(k).map_err(anyhow::Error::new)?;
            std::fs::write(a.out.join("public-key.pem"), key.public_pem())
                .context("writing public-key.pem")?;
        }
        None => eprintln!(
            "warning: no audit key file found; the bundle has no public key (give --audit-key)"
        ),
    }
    let log = a
        .checkpoint_log
        .clone()
        .or_else(|| key_path.as_deref().map(default_log_path));
    if let Some(log) = log.filter(|l| l.exists()) {
        std::fs::copy(&log, a.out.join("checkpoint-log.jsonl"))
            .with_context(|| format!("copying {}", log.display()))?;
    }
    println!(
        "Exported {} entries and {} checkpoints to {}",
        entries.len(),
        checkpoints.len(),
        a.out.display()
    );
    Ok(0)
}

fn verify(a: VerifyArgs) -> anyhow::Result<u8> {
    let (entries, checkpoints, default_log, default_key): (
        Vec<AuditEntry>,
        Vec<Checkpoint>,
        Option<PathBuf>,
        Option<PathBuf>,
    ) = match &a.bundle {
        Some(dir) => {
            if !dir.is_dir() {
                return Err(UsageError(format!("--bundle {}: not a folder", dir.display())).into());
            }
            let entries = match read_jsonl(&dir.join("entries.jsonl"))? {
                Ok(e) => e,
                Err(msg) => return report_broken(&msg, a.json),
            };
            let checkpoints = match read_jsonl(&dir.join("checkpoints.jsonl"))? {
                Ok(c) => c,
                Err(msg) => return report_broken(&msg, a.json),
            };
            (
                entries,
                checkpoints,
                Some(dir.join("checkpoint-log.jsonl")),
                Some(dir.join("public-key.pem")),
            )
        }
        None => {
            let url = a
                .database_url
                .clone()
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
            let (entries, checkpoints) = block_on(async {
                let store = open_for_reading(&url).await?;
                let chain = store.audit_chain().await.context("reading the audit log");
                store.close().await;
                chain
            })??;
            let key = key_beside(&url);
            (
                entries,
                checkpoints,
                key.as_deref().map(default_log_path),
                key,
            )
        }
    };
    let log_path = a.checkpoints.clone().or(default_log.filter(|p| p.exists()));
    let logged = match &log_path {
        Some(p) => match audit::read_checkpoint_log(p)
            .with_context(|| format!("reading {}", p.display()))?
        {
            Ok(l) => Some(l),
            Err(msg) => return report_broken(&msg, a.json),
        },
        None => None,
    };
    let trusted = match a.public_key.clone().or(default_key.filter(|p| p.exists())) {
        Some(p) => {
            let text =
                std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
            let hex = if text.contains("PRIVATE KEY") {
                SigningKey::from_pem(&text)
                    .map(|k| k.public_hex())
                    .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
            } else {
                audit::public_key_hex(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
            };
            Some(hex)
        }
        None => None,
    };
    let report = audit::verify(
        &entries,
        &checkpoints,
        logged.as_deref(),
        trusted.as_deref(),
    );
    print_report(&report, log_path.as_deref(), trusted.is_some(), a.json);
    Ok(if report.valid { 0 } else { 1 })
}

fn report_broken(msg: &str, json: bool) -> anyhow::Result<u8> {
    if json {
        println!("{}", serde_json::json!({"valid": false, "problems": [msg]}));
    } else {
        println!("TAMPERED: {msg}");
    }
    Ok(1)
}

fn print_report(r: &VerifyReport, log: Option<&Path>, pinned: bool, json: bool) {
    if json {
        println!("{}", serde_json::to_string(r).unwrap_or_default());
        return;
    }
    if r.valid {
        println!(
            "Audit log valid: {} entries, {} signed checkpoints, head at entry {}{}{}",
            r.entries,
            r.checkpoints,
            r.head_seq,
            match log {
                Some(p) => format!("; {} checkpoints in {} agree", r.logged_checkpoints, p.display()),
                None => "; no checkpoint log given (truncation after the last checkpoint cannot be ruled out)".into(),
            },
            if pinned { "" } else { "; no public key given, signatures checked against the key they name" }
        );
    } else {
        println!(
            "TAMPERED: first bad entry {}",
            r.first_bad_seq
                .map(|s| s.to_string())
                .unwrap_or_else(|| "?".into())
        );
        for p in &r.problems {
            println!("  {p}");
        }
    }
}
