//! `greenlight admin`: create the first admin of a studio, generate the audit signing key.

use std::path::PathBuf;

use anyhow::Context;

use super::UsageError;
use super::serve::{DEFAULT_DATABASE_URL, block_on, open_store, resolve_audit_files};

/// Subcommands of `greenlight admin` (exit codes: 0 done, 2 usage error, 4 I/O or database error).
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a studio organisation and its first admin; prints a one-time API token.
    Create(CreateArgs),
    /// Generate an Ed25519 audit signing key (PKCS#8 PEM, file mode 0600).
    Keygen(KeygenArgs),
}

/// Arguments of `greenlight admin create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The admin's email address.
    #[arg(long)]
    pub email: String,
    /// The studio's name.
    #[arg(long)]
    pub org: String,
    /// The admin's display name.
    #[arg(long, default_value = "")]
    pub name: String,
    #[arg(long, env = "GREENLIGHT_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// The audit signing key (see `greenlight serve --help`).
    #[arg(long, env = "GREENLIGHT_AUDIT_KEY")]
    pub audit_key: Option<PathBuf>,
    /// The checkpoint log (see `greenlight serve --help`).
    #[arg(long, env = "GREENLIGHT_CHECKPOINT_LOG")]
    pub checkpoint_log: Option<PathBuf>,
}

/// Arguments of `greenlight admin keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the key (refuses to overwrite).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the public key (SPKI PEM) here, for auditors to keep away from the server
    /// (`greenlight audit verify --public-key FILE`).
    #[arg(long)]
    pub public_out: Option<PathBuf>,
}

/// Runs the command.
pub fn run(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Keygen(a) => {
            if a.out.exists() {
                return Err(UsageError(format!(
                    "{} exists; refusing to overwrite a key",
                    a.out.display()
                ))
                .into());
            }
            if a.public_out.as_ref() == Some(&a.out) {
                return Err(
                    UsageError("--public-out must name another file than --out".into()).into(),
                );
            }
            let key = greenlight_store::SigningKey::generate();
            key.write_new_file(&a.out)
                .with_context(|| format!("writing {}", a.out.display()))?;
            println!(
                "Wrote the audit signing key {} (mode 0600)",
                a.out.display()
            );
            println!("Public key: {}", key.public_hex());
            match &a.public_out {
                Some(p) => {
                    std::fs::write(p, key.public_pem())
                        .with_context(|| format!("writing {}", p.display()))?;
                    println!(
                        "Wrote the public key to {}: give it to your auditors, who keep it away from the server and verify with `greenlight audit verify --public-key {}`",
                        p.display(),
                        p.display()
                    );
                }
                None => println!(
                    "Give your auditors the public key (`greenlight audit public-key --audit-key {} --out FILE` writes it); they verify with `greenlight audit verify --public-key FILE`",
                    a.out.display()
                ),
            }
            Ok(0)
        }
        Command::Create(a) => {
            let files = resolve_audit_files(
                &a.database_url,
                a.audit_key.as_deref(),
                a.checkpoint_log.as_deref(),
                true,
            )?;
            block_on(async move {
                let store = open_store(&a.database_url, &files, 16).await?;
                let result = store.bootstrap_admin(&a.org, &a.email, &a.name).await;
                store.close().await;
                let b = match result {
                    Ok(b) => b,
                    Err(greenlight_store::StoreError::Conflict { message, .. }) => {
                        return Err(UsageError(message).into());
                    }
                    Err(greenlight_store::StoreError::Invalid { summary, .. }) => {
                        return Err(UsageError(summary).into());
                    }
                    Err(e) => return Err(anyhow::Error::new(e).context("creating the admin")),
                };
                println!(
                    "Created studio {:?} ({}) and admin {} ({}).",
                    b.org.name, b.org.id, b.user.email, b.user.id
                );
                println!(
                    "One-time API token (stored only as a hash; keep it now; it expires in {} days):",
                    greenlight_store::TOKEN_DAYS
                );
                println!("{}", b.token);
                Ok(0)
            })?
        }
    }
}
