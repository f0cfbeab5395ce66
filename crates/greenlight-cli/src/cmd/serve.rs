//! `greenlight serve`: the HTTP server (API and web pages) on SQLite or PostgreSQL.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use greenlight_store::{SigningKey, Store, StoreConfig};

use super::UsageError;

/// Default database: an SQLite file in the working directory, created if missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://greenlight.db?mode=rwc";

/// Run the HTTP server: JSON API under /api/v1, OpenAPI at /api/openapi.json, web pages,
/// /healthz, /readyz and /metrics (exit codes: 0 stopped cleanly, 2 usage error, 4 could
/// not start: database, key or address unavailable).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address and port to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, env = "GREENLIGHT_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// `sqlite://FILE[?mode=rwc]` or `postgres://USER@HOST/DB`.
    #[arg(long, env = "GREENLIGHT_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// Seed demo organisations, people, a production and declarations (idempotent), and
    /// print how to sign in. Only on a loopback address.
    #[arg(long)]
    pub demo: bool,
    /// The Ed25519 key (PKCS#8 PEM, `greenlight admin keygen`) that signs audit
    /// checkpoints. Default with SQLite: `<database>.audit.key` beside the database,
    /// created on first start. Required with PostgreSQL.
    #[arg(long, env = "GREENLIGHT_AUDIT_KEY")]
    pub audit_key: Option<PathBuf>,
    /// The checkpoint log outside the database (default: `<key stem>.checkpoints.jsonl`
    /// beside the key). Give every instance of a deployment the same file.
    #[arg(long, env = "GREENLIGHT_CHECKPOINT_LOG")]
    pub checkpoint_log: Option<PathBuf>,
    /// The address people use to reach this server, e.g. `https://greenlight.example.com`:
    /// links in notifications use it, and cookies are `Secure` when it is `https`.
    #[arg(long, env = "GREENLIGHT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Believe `X-Forwarded-For` and `X-Forwarded-Proto` from the reverse proxy in front
    /// (the sign-in limits count the address the proxy saw). Only behind a proxy that sets
    /// them: otherwise clients could claim any address.
    #[arg(long, env = "GREENLIGHT_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// Largest number of write requests committed in one transaction (group commit).
    #[arg(long, default_value_t = 256, hide = true)]
    pub max_batch: usize,
    /// Send notification mail through this SMTP server: `smtp://USER:PASS@HOST:587`
    /// (STARTTLS), `smtps://USER:PASS@HOST:465` (TLS), or `smtp://127.0.0.1:25` (plain, only
    /// to this machine). Needs --mail-from; links in mail use --public-url.
    #[arg(long, env = "GREENLIGHT_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of notification mail, e.g. `Greenlight <greenlight@studio.example>`.
    #[arg(long, env = "GREENLIGHT_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Let webhooks reach plain http, loopback and private-range addresses (for tests and
    /// closed networks; otherwise only public https addresses are allowed).
    #[arg(long, env = "GREENLIGHT_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,
    /// Let single sign-on reach OpenID providers on loopback and private-range addresses
    /// (an on-premises provider; tests); otherwise only public https providers.
    #[arg(long, env = "GREENLIGHT_SSO_ALLOW_PRIVATE")]
    pub sso_allow_private: bool,
    /// The key that seals secrets Greenlight must use (webhook secrets, the single sign-on client secret, second-factor seeds) at rest: 32 random
    /// bytes, hex. Default: `<audit key stem>.secrets.key` beside the audit key, created on
    /// first start. Give every instance the same key (or GREENLIGHT_SECRETS_KEY_HEX).
    #[arg(long, env = "GREENLIGHT_SECRETS_KEY")]
    pub secrets_key: Option<PathBuf>,
    /// Notification retries: the first wait's cap in milliseconds (then doubling, at most an
    /// hour), and when a delivery is given up, in seconds. For tests.
    #[arg(long, default_value_t = 30_000, hide = true)]
    pub notify_backoff_ms: u64,
    #[arg(long, default_value_t = 24 * 60 * 60, hide = true)]
    pub notify_give_up_secs: u64,
    /// How often the dispatcher looks for due deliveries when idle, in milliseconds.
    #[arg(long, default_value_t = 500, hide = true)]
    pub notify_poll_ms: u64,
}

/// The secrets key: the given file, `GREENLIGHT_SECRETS_KEY_HEX`, or a file beside the audit
/// key (created on first start).
fn resolve_secrets_key(
    given: Option<&Path>,
    files: &AuditFiles,
) -> anyhow::Result<greenlight_notify::seal::SealKey> {
    use greenlight_notify::seal::SealKey;
    if let Some(path) = given {
        return SealKey::from_file(path)
            .map_err(|e| UsageError(format!("--secrets-key {}: {e}", path.display())).into());
    }
    if let Ok(hex) = std::env::var("GREENLIGHT_SECRETS_KEY_HEX") {
        return SealKey::from_text(&hex, "GREENLIGHT_SECRETS_KEY_HEX")
            .map_err(|e| UsageError(e.to_string()).into());
    }
    let beside = files
        .key_path
        .as_ref()
        .map(|k| {
            let name = k
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let stem = name
                .strip_suffix(".audit.key")
                .or_else(|| name.strip_suffix(".key"))
                .unwrap_or(&name)
                .to_owned();
            k.with_file_name(format!("{stem}.secrets.key"))
        })
        .ok_or_else(|| {
            UsageError(
                "with the audit key in GREENLIGHT_AUDIT_KEY_PEM, give --secrets-key FILE or GREENLIGHT_SECRETS_KEY_HEX".into(),
            )
        })?;
    if beside.exists() {
        return SealKey::from_file(&beside)
            .map_err(|e| anyhow::anyhow!("{}: {e}", beside.display()));
    }
    let key = SealKey::generate();
    key.write_new_file(&beside)
        .with_context(|| format!("writing the secrets key {}", beside.display()))?;
    eprintln!(
        "Created the secrets key {} (it seals webhook secrets, single sign-on client secrets and second-factor seeds; keep it safe, every instance needs it)",
        beside.display()
    );
    Ok(key)
}

/// Mail settings from --smtp-url and --mail-from, checked before anything starts.
fn resolve_mail(
    smtp_url: Option<&str>,
    mail_from: Option<&str>,
    public_url: Option<&url::Url>,
) -> anyhow::Result<Option<greenlight_notify::mail::SmtpSettings>> {
    use greenlight_notify::mail::SmtpSettings;
    let Some(smtp) = smtp_url.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let from = mail_from
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            UsageError("--smtp-url needs --mail-from (the sender of notification mail)".into())
        })?;
    if public_url.is_none() {
        return Err(UsageError(
            "--smtp-url needs --public-url: notification mail links to the pages there".into(),
        )
        .into());
    }
    Ok(Some(
        SmtpSettings::parse(smtp, from).map_err(|e| UsageError(e.to_string()))?,
    ))
}

/// The SQLite file a URL names, if it is an SQLite URL.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Where the audit key and checkpoint log live, and whether the key was just created.
pub struct AuditFiles {
    pub key: SigningKey,
    pub key_path: Option<PathBuf>,
    pub checkpoint_log: PathBuf,
    pub created: bool,
}

fn default_key_path(db: &Path) -> PathBuf {
    let stem = db
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "greenlight".into());
    db.with_file_name(format!("{stem}.audit.key"))
}

/// The checkpoint log path beside a key file.
pub fn default_log_path(key: &Path) -> PathBuf {
    let name = key
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".audit.key")
        .or_else(|| name.strip_suffix(".key"))
        .unwrap_or(&name)
        .to_owned();
    key.with_file_name(format!("{stem}.checkpoints.jsonl"))
}

/// Resolves the audit signing key: the given file, `GREENLIGHT_AUDIT_KEY_PEM`, or (SQLite
/// only, when `create`) a new key file beside the database.
pub fn resolve_audit_files(
    url: &str,
    key: Option<&Path>,
    log: Option<&Path>,
    create: bool,
) -> anyhow::Result<AuditFiles> {
    let (signing, key_path, created) = if let Some(path) = key {
        (
            SigningKey::from_file(path).map_err(anyhow::Error::new)?,
            Some(path.to_owned()),
            false,
        )
    } else if let Ok(pem) = std::env::var("GREENLIGHT_AUDIT_KEY_PEM") {
        (
            SigningKey::from_pem(&pem)
                .map_err(|e| anyhow::anyhow!("GREENLIGHT_AUDIT_KEY_PEM: {e}"))?,
            None,
            false,
        )
    } else if let Some(db) = sqlite_file(url) {
        let path = default_key_path(&db);
        if path.exists() {
            (
                SigningKey::from_file(&path).map_err(anyhow::Error::new)?,
                Some(path),
                false,
            )
        } else if create {
            let k = SigningKey::generate();
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            k.write_new_file(&path)
                .with_context(|| format!("writing the audit key {}", path.display()))?;
            (k, Some(path), true)
        } else {
            anyhow::bail!("no audit key at {} (give --audit-key)", path.display());
        }
    } else {
        return Err(UsageError(
            "PostgreSQL needs an audit signing key: give --audit-key FILE (create one with `greenlight admin keygen --out FILE`) or set GREENLIGHT_AUDIT_KEY_PEM".into(),
        )
        .into());
    };
    let checkpoint_log = match (log, &key_path) {
        (Some(l), _) => l.to_owned(),
        (None, Some(k)) => default_log_path(k),
        (None, None) => {
            return Err(UsageError(
                "with the key in GREENLIGHT_AUDIT_KEY_PEM, give --checkpoint-log FILE".into(),
            )
            .into());
        }
    };
    Ok(AuditFiles {
        key: signing,
        key_path,
        checkpoint_log,
        created,
    })
}

/// Opens the store with the audit key and checkpoint log.
pub async fn open_store(url: &str, files: &AuditFiles, max_batch: usize) -> anyhow::Result<Store> {
    open_store_with(url, files, max_batch, |_| {}).await
}

/// Opens the store as [`open_store`], with `adjust` applied to its configuration first.
pub async fn open_store_with(
    url: &str,
    files: &AuditFiles,
    max_batch: usize,
    adjust: impl FnOnce(&mut StoreConfig),
) -> anyhow::Result<Store> {
    let mut config = StoreConfig::new(url);
    adjust(&mut config);
    config.signing_key = Some(files.key.clone());
    config.checkpoint_log = Some(files.checkpoint_log.clone());
    config.max_batch = max_batch;
    // `serve` and `admin create` write: they create a missing SQLite file, as the default
    // URL does.
    config.create_if_missing = true;
    Store::open(config)
        .await
        .with_context(|| format!("opening the database {}", greenlight_store::redact_url(url)))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Checks `--public-url`: an absolute `http(s)` URL without credentials, query or fragment.
fn public_url(text: &str) -> anyhow::Result<url::Url> {
    let bad = |why: &str| UsageError(format!("--public-url {text:?}: {why}"));
    let u = url::Url::parse(text).map_err(|e| {
        bad(&format!(
            "{e} (expected e.g. https://greenlight.example.com)"
        ))
    })?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(bad("use an http:// or https:// address").into());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad("must not carry a user name or password").into());
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(bad("must not carry a query or fragment").into());
    }
    // Pages, cookies and redirects live at the site's root, so every link is made by joining
    // a root-relative path to this address; a path here would be lost or doubled.
    if u.path() != "/" {
        return Err(bad(&format!(
            "must be the site's root (e.g. {}://{}/): Greenlight is served at /, not under {}",
            u.scheme(),
            u.host_str().unwrap_or_default(),
            u.path()
        ))
        .into());
    }
    Ok(u)
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<u8> {
    let addr: SocketAddr = args.bind.parse().map_err(|e| {
        UsageError(format!(
            "--bind {:?}: {e} (expected ADDRESS:PORT, e.g. 127.0.0.1:8080)",
            args.bind
        ))
    })?;
    if args.demo && !addr.ip().is_loopback() {
        return Err(UsageError(format!(
            "--demo serves fixed demo passwords; it only binds to a loopback address, not {addr}"
        ))
        .into());
    }
    let public_url = match args.public_url.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(u) => Some(public_url(u)?),
    };
    if args.max_batch == 0 {
        return Err(UsageError("--max-batch must be at least 1".into()).into());
    }
    let files = resolve_audit_files(
        &args.database_url,
        args.audit_key.as_deref(),
        args.checkpoint_log.as_deref(),
        true,
    )?;
    let mail_settings = resolve_mail(
        args.smtp_url.as_deref(),
        args.mail_from.as_deref(),
        public_url.as_ref(),
    )?;
    let seal = resolve_secrets_key(args.secrets_key.as_deref(), &files)?;
    let rt = runtime()?;
    rt.block_on(async move {
        // The SMTP client needs the runtime it will run on.
        let mailer = mail_settings
            .map(|s| greenlight_notify::mail::Mailer::new(&s))
            .transpose()
            .map_err(|e| UsageError(e.to_string()))?;
        let mail = mailer.is_some();
        let links = public_url.as_ref().map(|u| u.as_str().trim_end_matches('/').to_owned());
        let store = open_store_with(&args.database_url, &files, args.max_batch, |c| {
            c.mail_notifications = mail;
            c.public_url = links;
        })
        .await?;
        if files.created
            && let Some(p) = &files.key_path
        {
            eprintln!("Created the audit signing key {} (keep it safe; every instance needs it)", p.display());
            eprintln!(
                "Audit public key: {} (give it to your auditors: `greenlight audit public-key --audit-key {} --out FILE` writes it; they verify with `greenlight audit verify --public-key FILE`)",
                files.key.public_hex(),
                p.display()
            );
        }
        tracing::info!(database = %greenlight_store::redact_url(&args.database_url), checkpoint_log = %files.checkpoint_log.display(), "store open");
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
        let local = listener.local_addr().context("reading the bound address")?;
        let base = format!("http://{local}");
        if args.demo {
            greenlight_server::demo::seed(&store).await.context("seeding the demo data")?;
            println!("{}", greenlight_server::demo::credentials(&base));
        }
        let notifications = greenlight_server::notify::Notifications {
            mailer: mailer.map(std::sync::Arc::new),
            seal: std::sync::Arc::new(seal),
            allow_private: args.webhook_allow_private,
            backoff: greenlight_notify::retry::Backoff {
                base: std::time::Duration::from_millis(args.notify_backoff_ms.max(1)),
                give_up_after: std::time::Duration::from_secs(args.notify_give_up_secs),
                ..Default::default()
            },
            poll: std::time::Duration::from_millis(args.notify_poll_ms.max(10)),
            ..Default::default()
        };
        let config = greenlight_server::ServerConfig {
            demo: args.demo,
            public_url,
            trust_proxy: args.trust_proxy,
            audit_public_key: Some(files.key.public_hex()),
            notifications,
            sso_allow_private: args.sso_allow_private,
            ..Default::default()
        };
        let state = greenlight_server::AppState::new(store, config);
        let shutdown = shutdown_signal();
        println!("Greenlight listening on {base}");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        greenlight_server::serve(listener, state, shutdown).await.context("serving HTTP")?;
        eprintln!("Greenlight stopped");
        Ok(0)
    })
}

/// Registers the handlers of SIGTERM and Ctrl-C now, before the server answers anyone, and
/// returns the future that ends with either. (An `async fn` would register them only when
/// first polled: a SIGTERM arriving before that, on a busy machine, killed the server
/// without a clean shutdown.)
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let (mut term, mut interrupt) = signals;
            let term = async {
                match term.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let interrupt = async {
                match interrupt.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = term => {},
                _ = interrupt => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down: finishing requests in flight");
    }
}

/// A runtime for the other server commands (admin, audit).
pub fn block_on<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    Ok(runtime()?.block_on(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_url_is_the_sites_root() {
        assert_eq!(
            public_url("https://greenlight.example.com")
                .expect("a root address")
                .as_str(),
            "https://greenlight.example.com/"
        );
        assert!(public_url("https://greenlight.example.com/").is_ok());
        let e = public_url("https://tools.example.com/greenlight")
            .expect_err("a path")
            .to_string();
        assert!(e.contains("--public-url") && e.contains("root"), "{e}");
    }

    #[test]
    fn the_sqlite_file_is_read_from_the_url() {
        assert_eq!(
            sqlite_file("sqlite://greenlight.db?mode=rwc"),
            Some(PathBuf::from("greenlight.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:/tmp/x.db"),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }

    #[test]
    fn the_key_and_log_sit_beside_the_database() {
        let k = default_key_path(Path::new("/srv/gl/greenlight.db"));
        assert_eq!(k, PathBuf::from("/srv/gl/greenlight.audit.key"));
        assert_eq!(
            default_log_path(&k),
            PathBuf::from("/srv/gl/greenlight.checkpoints.jsonl")
        );
    }
}
