//! `greenlight audit`: export the tamper-evident audit log as a bundle, print the public
//! key auditors keep, and verify the live database or a bundle offline, without the
//! private key.

use std::path::{Path, PathBuf};

use anyhow::Context;
use greenlight_store::audit::{self, Bundle, BundleError, Trust, VerifyReport};
use greenlight_store::{SigningKey, Store, StoreConfig};

use super::UsageError;
use super::serve::{DEFAULT_DATABASE_URL, block_on, default_log_path, sqlite_file};

/// Subcommands of `greenlight audit`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Write a bundle: a folder (entries.jsonl, checkpoints.jsonl, checkpoint-log.jsonl,
    /// public-key.pem) or, when --out ends in .json, the same as one file (exit codes: 0
    /// written, 2 usage, 4 I/O).
    Export(ExportArgs),
    /// Check the chain, every checkpoint signature, the checkpoint logs and, for a
    /// database, every current row of the audited tables against its last entry; name the
    /// first bad entry (exit codes: 0 valid, 1 tampering found or, with --require-anchor,
    /// not anchored, 2 usage, 4 I/O).
    Verify(VerifyArgs),
    /// Print (or write) the public half of the audit signing key, for auditors to keep away
    /// from the server (exit codes: 0 done, 2 usage, 4 I/O).
    PublicKey(PublicKeyArgs),
}

/// Arguments of `greenlight audit export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Where to write: a folder (created; existing bundle files are replaced), or a single
    /// file when the name ends in `.json`.
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
    /// Never creates one: a missing SQLite file is an I/O error.
    #[arg(long, env = "GREENLIGHT_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Verify an exported bundle offline: a folder or a single .json file.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// The public key you hold (PEM or hex; `greenlight admin keygen --public-out`,
    /// `greenlight audit public-key`): signatures are checked against it, and the report is
    /// anchored. Without it, verification checks against the key found beside the
    /// database (or in the bundle) and says it is not anchored.
    #[arg(long)]
    pub public_key: Option<PathBuf>,
    /// Exit 1 when no --public-key anchors the check.
    #[arg(long)]
    pub require_anchor: bool,
    /// A copy of the checkpoint log kept away from the server (repeatable); checked in
    /// addition to the deployment's own log.
    #[arg(long)]
    pub checkpoints: Vec<PathBuf>,
    /// Where the deployment keeps its checkpoint log (with a database; default beside the
    /// audit key). Missing there is tampering.
    #[arg(long, env = "GREENLIGHT_CHECKPOINT_LOG")]
    pub checkpoint_log: Option<PathBuf>,
    /// Where the deployment's audit key is (with a database; default beside an SQLite
    /// database). Used, unanchored, when no --public-key is given.
    #[arg(long, env = "GREENLIGHT_AUDIT_KEY")]
    pub audit_key: Option<PathBuf>,
    /// This deployment keeps no checkpoint log: do not treat a missing one as tampering.
    #[arg(long)]
    pub no_checkpoint_log: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `greenlight audit public-key`.
#[derive(Debug, clap::Args)]
pub struct PublicKeyArgs {
    /// The audit key file (default: beside an SQLite database, or GREENLIGHT_AUDIT_KEY_PEM).
    #[arg(long, env = "GREENLIGHT_AUDIT_KEY")]
    pub audit_key: Option<PathBuf>,
    #[arg(long, env = "GREENLIGHT_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// Write the public key (SPKI PEM) to this file instead of printing it.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn key_beside(url: &str) -> Option<PathBuf> {
    let db = sqlite_file(url)?;
    let stem = db.file_stem()?.to_string_lossy().into_owned();
    Some(db.with_file_name(format!("{stem}.audit.key")))
}

/// The URL with SQLite's `mode` set to `rw`: reading must never create a database.
fn no_create(url: &str) -> String {
    if sqlite_file(url).is_none() {
        return url.to_owned();
    }
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("mode="))
        .collect();
    params.push("mode=rw");
    format!("{base}?{}", params.join("&"))
}

async fn open_for_reading(url: &str) -> anyhow::Result<Store> {
    if let Some(f) = sqlite_file(url)
        && !f.is_file()
    {
        anyhow::bail!("no database at {} (nothing was created)", f.display());
    }
    let what = sqlite_file(url)
        .map(|f| f.display().to_string())
        .unwrap_or_else(|| "the database".to_owned());
    Store::open(StoreConfig::new(no_create(url)))
        .await
        .with_context(|| format!("opening {what}"))
}

/// The deployment's signing key: a key file, or the PEM in the environment.
fn deployment_key(file: Option<&Path>) -> anyhow::Result<Option<(SigningKey, String)>> {
    if let Some(p) = file.filter(|p| p.exists()) {
        let key = SigningKey::from_file(p).map_err(anyhow::Error::new)?;
        return Ok(Some((key, p.display().to_string())));
    }
    if let Ok(pem) = std::env::var("GREENLIGHT_AUDIT_KEY_PEM") {
        let key = SigningKey::from_pem(&pem)
            .map_err(|e| anyhow::anyhow!("GREENLIGHT_AUDIT_KEY_PEM: {e}"))?;
        return Ok(Some((key, "GREENLIGHT_AUDIT_KEY_PEM".to_owned())));
    }
    Ok(None)
}

/// Runs the command.
pub fn run(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Export(a) => export(a),
        Command::Verify(a) => verify(a),
        Command::PublicKey(a) => public_key(a),
    }
}

fn export(a: ExportArgs) -> anyhow::Result<u8> {
    let (entries, checkpoints) = block_on(async {
        let store = open_for_reading(&a.database_url).await?;
        let chain = store.audit_chain().await.context("reading the audit log");
        store.close().await;
        chain
    })??;
    let key_path = a.audit_key.clone().or_else(|| key_beside(&a.database_url));
    let key = deployment_key(key_path.as_deref())?;
    if key.is_none() {
        eprintln!(
            "warning: no audit key file found; the bundle has no public key (give --audit-key)"
        );
    }
    let log_path = a
        .checkpoint_log
        .clone()
        .or_else(|| key_path.as_deref().map(default_log_path));
    let log = match log_path.as_deref().filter(|l| l.exists()) {
        Some(l) => match audit::read_checkpoint_log(l)
            .with_context(|| format!("reading {}", l.display()))?
        {
            Ok(c) => Some(c),
            Err(msg) => anyhow::bail!("{msg}"),
        },
        None => {
            if !checkpoints.is_empty() {
                eprintln!(
                    "warning: no checkpoint log found{}; the bundle has none, and verifying it will report the log missing (give --checkpoint-log)",
                    log_path
                        .map(|l| format!(" at {}", l.display()))
                        .unwrap_or_default()
                );
            }
            None
        }
    };
    let bundle = Bundle::new(entries, checkpoints, log, key.map(|(k, _)| k.public_pem()));
    let single = a.out.extension().is_some_and(|e| e == "json");
    if single {
        if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        bundle.write_file(&a.out)
    } else {
        bundle.write_dir(&a.out)
    }
    .with_context(|| format!("writing the bundle {}", a.out.display()))?;
    println!(
        "Exported {} entries and {} checkpoints to {}",
        bundle.entries.len(),
        bundle.checkpoints.len(),
        a.out.display()
    );
    Ok(0)
}

/// Reads a public key file: SPKI PEM, hex, or a private key file (its public half).
fn read_public_key(p: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
    if text.contains("PRIVATE KEY") {
        SigningKey::from_pem(&text)
            .map(|k| k.public_hex())
            .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
    } else {
        audit::public_key_hex(&text).map_err(|e| UsageError(format!("{}: {e}", p.display())).into())
    }
}

fn read_log(p: &Path) -> anyhow::Result<Result<Vec<audit::Checkpoint>, String>> {
    audit::read_checkpoint_log(p)
        .with_context(|| format!("reading the checkpoint log {}", p.display()))
}

fn verify(a: VerifyArgs) -> anyhow::Result<u8> {
    let mut trust = Trust::default();
    if let Some(p) = &a.public_key {
        trust.anchor = Some((read_public_key(p)?, p.display().to_string()));
    }
    for p in &a.checkpoints {
        match read_log(p)? {
            Ok(l) => trust.logs.push((p.display().to_string(), l)),
            Err(msg) => return report_broken(&msg, &a),
        }
    }
    let report = match &a.bundle {
        Some(path) => {
            if !path.exists() {
                return Err(UsageError(format!(
                    "--bundle {}: no such folder or file",
                    path.display()
                ))
                .into());
            }
            let bundle = match Bundle::read(path) {
                Ok(b) => b,
                Err(BundleError::Malformed(msg)) => return report_broken(&msg, &a),
                Err(e) => return Err(anyhow::Error::new(e).context("reading the bundle")),
            };
            bundle.verify(trust, !a.no_checkpoint_log)
        }
        None => {
            let url = a
                .database_url
                .clone()
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
            let key_path = a.audit_key.clone().or_else(|| key_beside(&url));
            if trust.anchor.is_none()
                && let Some((key, _)) = deployment_key(key_path.as_deref())?
            {
                let whence = if a.audit_key.is_none() && sqlite_file(&url).is_some() {
                    "the key found beside the database".to_owned()
                } else {
                    "the deployment's own key".to_owned()
                };
                trust.found = Some((key.public_hex(), whence));
            }
            let log_path = a
                .checkpoint_log
                .clone()
                .or_else(|| key_path.as_deref().map(default_log_path));
            match (&log_path, a.no_checkpoint_log) {
                (_, true) => {}
                (Some(p), false) if p.exists() => match read_log(p)? {
                    Ok(l) => trust.logs.insert(0, (p.display().to_string(), l)),
                    Err(msg) => return report_broken(&msg, &a),
                },
                (Some(p), false) => trust.missing_logs.push(p.display().to_string()),
                (None, false) if a.checkpoints.is_empty() => {
                    return Err(UsageError(
                        "say where the deployment keeps its checkpoint log: --checkpoint-log FILE (or GREENLIGHT_CHECKPOINT_LOG), --checkpoints FILE for your copy, or --no-checkpoint-log".into(),
                    )
                    .into());
                }
                (None, false) => {}
            }
            block_on(async {
                let store = open_for_reading(&url).await?;
                let report = store
                    .verify_database(&trust)
                    .await
                    .context("reading the audit log and the audited tables");
                store.close().await;
                report
            })??
        }
    };
    print_report(&report, a.json);
    let unanchored = a.require_anchor && !report.anchored;
    if unanchored && !a.json {
        println!("Refused: --require-anchor, and no --public-key anchors this check");
    }
    Ok(if report.valid && !unanchored { 0 } else { 1 })
}

fn report_broken(msg: &str, a: &VerifyArgs) -> anyhow::Result<u8> {
    if a.json {
        println!(
            "{}",
            serde_json::json!({"valid": false, "problems": [msg], "anchored": a.public_key.is_some()})
        );
    } else {
        println!("TAMPERED: {msg}");
    }
    Ok(1)
}

fn print_report(r: &VerifyReport, json: bool) {
    if json {
        println!("{}", serde_json::to_string(r).unwrap_or_default());
        return;
    }
    if r.valid {
        let logs = if r.checkpoint_logs.is_empty() {
            "; no checkpoint log (truncation after the last checkpoint cannot be ruled out)"
                .to_owned()
        } else {
            format!(
                "; {} checkpoints in {} agree",
                r.logged_checkpoints,
                r.checkpoint_logs.join(", ")
            )
        };
        let rows = match r.records_checked {
            Some(n) if r.erased.is_empty() => {
                format!("; {n} current rows agree with their audit entries")
            }
            Some(n) => format!(
                "; {} current rows agree with their audit entries, {} erased",
                n - r.erased.len(),
                r.erased.len()
            ),
            None => String::new(),
        };
        println!(
            "Audit log valid: {} entries, {} signed checkpoints, head at entry {}{logs}{rows}",
            r.entries, r.checkpoints, r.head_seq,
        );
    } else {
        match r.first_bad_seq {
            Some(s) => println!("TAMPERED: first bad entry {s}"),
            None => println!(
                "TAMPERED: {}",
                r.problems.first().map(String::as_str).unwrap_or("?")
            ),
        }
        for p in &r.problems {
            println!("  {p}");
        }
    }
    for e in &r.erased {
        println!("  erased: {e} (its salt is gone; not compared)");
    }
    if r.anchored {
        println!(
            "Anchored: {}",
            r.anchor.strip_prefix("anchored to ").unwrap_or(&r.anchor)
        );
    } else {
        println!(
            "{} (give --public-key FILE with the key you hold)",
            r.anchor
        );
    }
}

fn public_key(a: PublicKeyArgs) -> anyhow::Result<u8> {
    let path = a.audit_key.clone().or_else(|| key_beside(&a.database_url));
    let Some((key, from)) = deployment_key(path.as_deref())? else {
        return Err(UsageError(format!(
            "no audit key found{}: give --audit-key FILE",
            path.map(|p| format!(" at {}", p.display()))
                .unwrap_or_default()
        ))
        .into());
    };
    match &a.out {
        Some(out) => {
            std::fs::write(out, key.public_pem())
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "Wrote the public key of {from} to {} ({})",
                out.display(),
                key.public_hex()
            );
        }
        None => print!("{}", key.public_pem()),
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_a_database_never_asks_sqlite_to_create_it() {
        assert_eq!(
            no_create("sqlite://greenlight.db?mode=rwc"),
            "sqlite://greenlight.db?mode=rw"
        );
        assert_eq!(
            no_create("sqlite:///srv/gl.db"),
            "sqlite:///srv/gl.db?mode=rw"
        );
        assert_eq!(
            no_create("sqlite://x.db?cache=shared&mode=rwc"),
            "sqlite://x.db?cache=shared&mode=rw"
        );
        assert_eq!(no_create("postgres://u@h/db"), "postgres://u@h/db");
    }
}
