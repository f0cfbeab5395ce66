//! Hash banks: the production's **asset ledger** (its own registered AI-generated assets, with
//! the declaration they belong to) and **reference banks** (protected works that must not be
//! recreated: hashes and metadata only, never images).
//!
//! Stored with `sqlx` in SQLite (a local file by default) or PostgreSQL, chosen by the URL
//! scheme. When the URL is the server's database, the bank tables sit beside the server's: they
//! are prefixed `bank_`, their migrations are numbered from 5000, and the migrator ignores the
//! server's migrations it does not know (both share `_sqlx_migrations`). SQLite runs in WAL
//! mode with `synchronous=FULL`: an acknowledged `assets add` survives a power cut.
//!
//! Import and export use the hash files of ThreatExchange tools: their CSV columns
//! (`signal_type,signal_str,collab,category,tags`) with Greenlight's `id,title` after them, or
//! their `TYPE SIGNAL` lines (see `docs/decisions/0256-threatexchange-hash-files.md`).

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// Default store: a SQLite file in the working directory, created when missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://greenlight-banks.db?mode=rwc";

/// Errors of the bank store; sqlx stays behind this type.
#[derive(Debug, thiserror::Error)]
pub enum BankError {
    /// The URL names no supported backend.
    #[error("unsupported database URL {0:?}: use sqlite://FILE or postgres://...")]
    UnsupportedUrl(String),
    /// The database could not be opened or migrated.
    #[error("cannot open the bank store {url}: {message}")]
    Open {
        /// The URL, without its password.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A query failed.
    #[error("bank store: {0}")]
    Backend(String),
    /// A CSV file could not be read.
    #[error("line {line}: {message}")]
    Csv {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A request that cannot be carried out as given.
    #[error("{0}")]
    Invalid(String),
    /// A command that only reads named an SQLite file that does not exist.
    #[error("the bank store {} does not exist (commands that only read never create one: register assets with `greenlight assets add` or name another store with --database-url)", .0.display())]
    Missing(std::path::PathBuf),
    /// The file is already in the production's ledger under another declaration's use.
    #[error(
        "{file} is already registered in production {production} under use {use_ref} (ledger entry #{id}); one file belongs to one use"
    )]
    OtherUse {
        /// The file given.
        file: String,
        /// The production.
        production: String,
        /// The use it is registered under.
        use_ref: String,
        /// The existing entry.
        id: i64,
    },
}

impl From<sqlx::Error> for BankError {
    fn from(e: sqlx::Error) -> Self {
        BankError::Backend(e.to_string())
    }
}

/// The kind of a bank hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HashType {
    /// PDQ perceptual hash (64 hex digits), matched within a Hamming distance.
    Pdq,
    /// BLAKE3 of the exact bytes (64 hex digits).
    Blake3,
}

impl HashType {
    /// `pdq` or `blake3`.
    pub fn as_str(self) -> &'static str {
        match self {
            HashType::Pdq => "pdq",
            HashType::Blake3 => "blake3",
        }
    }
}

impl FromStr for HashType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pdq" => Ok(HashType::Pdq),
            "blake3" => Ok(HashType::Blake3),
            other => Err(format!("unknown signal type {other:?} (pdq or blake3)")),
        }
    }
}

/// A PDQ hash of one video frame, taken at `millis`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// Milliseconds from the start (ledger videos are hashed four times a second; entries
    /// registered before that, once a second, have whole seconds here).
    pub millis: u32,
    /// PDQ hash, 64 hex digits.
    pub pdq: String,
    /// PDQ quality, 0-100.
    pub quality: u8,
}

/// The Chromaprint fingerprint of a file's first audio stream (see `crate::audio`): one
/// 32-bit item every 1365 samples at 11,025 Hz (about 0.124 s), as `fpcalc -raw` prints them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioPrint {
    /// Milliseconds of audio fingerprinted (the decoded length, capped).
    pub millis: u64,
    /// The raw fingerprint.
    pub chromaprint: Vec<u32>,
}

impl AudioPrint {
    /// The fingerprint as little-endian bytes, as the store keeps it.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.chromaprint
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect()
    }

    /// The fingerprint stored as `bytes` (little-endian 32-bit items); a trailing partial
    /// item is dropped.
    pub fn from_bytes(millis: u64, bytes: &[u8]) -> Self {
        Self {
            millis,
            chromaprint: bytes
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        }
    }
}

/// An asset to register in a production's ledger.
#[derive(Debug, Clone, Default)]
pub struct NewAsset {
    /// The production.
    pub production: String,
    /// The `use.ref` of the declaration covering it.
    pub use_ref: String,
    /// The generating tool, when known.
    pub tool: Option<String>,
    /// The file's name as registered.
    pub file_name: String,
    /// BLAKE3, 64 hex digits.
    pub blake3: String,
    /// Sniffed media type.
    pub media_type: String,
    /// PDQ hash and quality of an image.
    pub pdq: Option<(String, u8)>,
    /// PDQ per frame of a video.
    pub frames: Vec<Frame>,
    /// A small JPEG thumbnail (the production's own file, so it may be kept).
    pub thumbnail: Option<Vec<u8>>,
    /// The Chromaprint fingerprint of its first audio stream (audio files, videos with sound).
    pub audio: Option<AudioPrint>,
}

/// A ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// Store id.
    pub id: i64,
    /// The production.
    pub production: String,
    /// The `use.ref` of the declaration covering it.
    pub use_ref: String,
    /// The generating tool.
    pub tool: Option<String>,
    /// When it was registered (RFC 3339, UTC).
    pub added_at: String,
    /// The registered file's name.
    pub file_name: String,
    /// BLAKE3.
    pub blake3: String,
    /// Media type.
    pub media_type: String,
    /// PDQ of an image.
    pub pdq: Option<String>,
    /// Its quality.
    pub pdq_quality: Option<u8>,
    /// PDQ per frame of a video.
    pub frames: Vec<Frame>,
    /// JPEG thumbnail.
    #[serde(skip)]
    pub thumbnail: Option<Vec<u8>>,
    /// The Chromaprint fingerprint of its first audio stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioPrint>,
}

/// A hash of a protected work to add to a reference bank.
#[derive(Debug, Clone)]
pub struct NewReference {
    /// The bank's name (e.g. `studio-library`).
    pub bank: String,
    /// The work's id in the rights holder's catalogue.
    pub work_id: String,
    /// The work's title.
    pub title: String,
    /// Hash kind.
    pub hash_type: HashType,
    /// The hash, 64 hex digits.
    pub hash: String,
    /// PDQ quality, when known.
    pub quality: Option<u8>,
    /// The studio the bank belongs to, in a server's database that hosts several (its org
    /// id); `None` for a bank every studio's scans use.
    pub studio: Option<String>,
}

/// A reference-bank entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// Store id.
    pub id: i64,
    /// Bank name.
    pub bank: String,
    /// Work id.
    pub work_id: String,
    /// Work title.
    pub title: String,
    /// Hash kind.
    pub hash_type: HashType,
    /// The hash.
    pub hash: String,
    /// PDQ quality.
    pub quality: Option<u8>,
    /// When it was added.
    pub added_at: String,
    /// The studio the bank belongs to; `None` for a bank every studio's scans use.
    #[serde(default)]
    pub studio: Option<String>,
}

/// A recording of a protected work to add to a reference bank: its audio fingerprint.
#[derive(Debug, Clone)]
pub struct NewAudioReference {
    /// The bank's name.
    pub bank: String,
    /// The work's id in the rights holder's catalogue.
    pub work_id: String,
    /// The work's title.
    pub title: String,
    /// BLAKE3 of the file fingerprinted (one entry per file of a work).
    pub blake3: String,
    /// The fingerprint.
    pub audio: AudioPrint,
    /// The studio the bank belongs to; `None` for a bank every studio's scans use.
    pub studio: Option<String>,
}

/// A reference-bank entry holding the audio fingerprint of a protected recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioReference {
    /// Store id (numbered apart from [`Reference`] ids).
    pub id: i64,
    /// Bank name.
    pub bank: String,
    /// Work id.
    pub work_id: String,
    /// Work title.
    pub title: String,
    /// BLAKE3 of the file fingerprinted.
    pub blake3: String,
    /// The fingerprint.
    pub audio: AudioPrint,
    /// When it was added.
    pub added_at: String,
    /// The studio the bank belongs to; `None` for a bank every studio's scans use.
    #[serde(default)]
    pub studio: Option<String>,
}

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$p` bound to whichever pool is in use; the SQL is written once, with
/// `$N` placeholders, which both SQLite and PostgreSQL accept.
macro_rules! with_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            Pool::Sqlite($p) => $body,
            Pool::Postgres($p) => $body,
        }
    };
}

/// The bank store.
#[derive(Clone, Debug)]
pub struct BankStore {
    pool: Pool,
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    // postgres://user:secret@host/db -> postgres://user:***@host/db
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].find(':') {
            Some(c) => format!("{}:***{}", &url[..s + 3 + c], &url[at..]),
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}

fn valid_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What registering a file did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// A new ledger entry.
    New(i64),
    /// The file was already registered under the same use; nothing changed.
    Unchanged(i64),
    /// The file was already registered under the same use; its frame hashes were replaced by
    /// this version's (e.g. every frame of a video instead of a few per second).
    Refreshed(i64),
}

/// Whether opening a store may create a missing SQLite file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Creation {
    /// As the URL says (`mode=rwc` creates).
    AsUrlSays,
    /// Create the file and its folder when missing (commands that write).
    Create,
    /// Never create: a missing file is [`BankError::Missing`] (commands that only read).
    Existing,
}

impl BankStore {
    /// Opens (creating when the URL says so) and migrates the store at `url`.
    pub async fn connect(url: &str) -> Result<Self, BankError> {
        Self::open(url, Creation::AsUrlSays).await
    }

    /// Opens the store at `url` for writing: a missing SQLite file is created, with its
    /// folder, whatever the URL's `mode`.
    pub async fn connect_creating(url: &str) -> Result<Self, BankError> {
        Self::open(url, Creation::Create).await
    }

    /// Opens the store at `url` for reading: a missing SQLite file is
    /// [`BankError::Missing`], never created.
    pub async fn connect_existing(url: &str) -> Result<Self, BankError> {
        Self::open(url, Creation::Existing).await
    }

    async fn open(url: &str, creation: Creation) -> Result<Self, BankError> {
        let open = |e: &dyn std::fmt::Display| BankError::Open {
            url: redact(url),
            message: e.to_string(),
        };
        let pool = if url.starts_with("sqlite:") {
            let mut options = SqliteConnectOptions::from_str(url).map_err(|e| open(&e))?;
            let file = options.get_filename().to_path_buf();
            let in_memory = file.as_os_str().is_empty() || file.as_os_str() == ":memory:";
            if !in_memory {
                match creation {
                    Creation::AsUrlSays => {}
                    Creation::Create => {
                        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                            std::fs::create_dir_all(dir).map_err(|e| {
                                open(&format!("creating the folder {}: {e}", dir.display()))
                            })?;
                        }
                        options = options.create_if_missing(true);
                    }
                    Creation::Existing => {
                        if !file.exists() {
                            return Err(BankError::Missing(file));
                        }
                        options = options.create_if_missing(false);
                    }
                }
            }
            let options = options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(std::time::Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await
                .map_err(|e| open(&e))?;
            let mut migrator = sqlx::migrate!("./migrations/sqlite");
            migrator.set_ignore_missing(true);
            migrator.run(&pool).await.map_err(|e| open(&e))?;
            Pool::Sqlite(pool)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(4)
                .connect(url)
                .await
                .map_err(|e| open(&e))?;
            let mut migrator = sqlx::migrate!("./migrations/postgres");
            migrator.set_ignore_missing(true);
            migrator.run(&pool).await.map_err(|e| open(&e))?;
            Pool::Postgres(pool)
        } else {
            return Err(BankError::UnsupportedUrl(redact(url)));
        };
        Ok(Self { pool })
    }

    /// Closes the pool (waits for connections to finish).
    pub async fn close(&self) {
        with_pool!(&self.pool, p => p.close().await)
    }

    /// Registers an asset in a production's ledger, once: the same file (by BLAKE3) under the
    /// same use is the entry already there, its frame hashes brought up to what this
    /// version computes ([`Registered::Refreshed`] when they changed); under another use it is
    /// [`BankError::OtherUse`] and nothing is written.
    pub async fn register_asset(&self, asset: &NewAsset) -> Result<Registered, BankError> {
        let existing = self
            .find_asset(&asset.production, &asset.blake3.to_ascii_lowercase())
            .await?;
        let Some((id, use_ref)) = existing else {
            return Ok(Registered::New(self.add_asset(asset).await?));
        };
        if use_ref != asset.use_ref {
            return Err(BankError::OtherUse {
                file: asset.file_name.clone(),
                production: asset.production.clone(),
                use_ref,
                id,
            });
        }
        let stored: Vec<(i64, String)> = with_pool!(&self.pool, p => {
            sqlx::query("SELECT at_ms, pdq FROM bank_asset_frames WHERE asset_id = $1 ORDER BY at_ms")
                .bind(id)
                .fetch_all(p)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("at_ms")?, r.try_get("pdq")?)))
                .collect::<Result<_, sqlx::Error>>()?
        });
        let fresh: Vec<(i64, String)> = asset
            .frames
            .iter()
            .map(|f| (i64::from(f.millis), f.pdq.to_ascii_lowercase()))
            .collect();
        let stored_audio = self.asset_audio(id).await?;
        if stored == fresh && stored_audio == asset.audio {
            return Ok(Registered::Unchanged(id));
        }
        with_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM bank_asset_audio WHERE asset_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if let Some(a) = &asset.audio {
                sqlx::query("INSERT INTO bank_asset_audio (asset_id, millis, fingerprint) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(i64::try_from(a.millis).unwrap_or(i64::MAX))
                    .bind(a.to_bytes())
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("DELETE FROM bank_asset_frames WHERE asset_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            for f in &asset.frames {
                sqlx::query("INSERT INTO bank_asset_frames (asset_id, at_ms, pdq, quality) VALUES ($1, $2, $3, $4)")
                    .bind(id)
                    .bind(i64::from(f.millis))
                    .bind(f.pdq.to_ascii_lowercase())
                    .bind(i64::from(f.quality))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(Registered::Refreshed(id))
    }

    /// The audio fingerprint stored for ledger entry `id`.
    async fn asset_audio(&self, id: i64) -> Result<Option<AudioPrint>, BankError> {
        let row = with_pool!(&self.pool, p => {
            sqlx::query("SELECT millis, fingerprint FROM bank_asset_audio WHERE asset_id = $1")
                .bind(id)
                .fetch_optional(p)
                .await?
                .map(|r| {
                    let millis: i64 = r.try_get("millis")?;
                    let bytes: Vec<u8> = r.try_get("fingerprint")?;
                    Ok::<_, sqlx::Error>(AudioPrint::from_bytes(millis.max(0) as u64, &bytes))
                })
                .transpose()?
        });
        Ok(row)
    }

    /// The ledger entry of `production` holding the file with this BLAKE3, and its use.
    pub async fn find_asset(
        &self,
        production: &str,
        blake3: &str,
    ) -> Result<Option<(i64, String)>, BankError> {
        let row = with_pool!(&self.pool, p => {
            sqlx::query("SELECT id, use_ref FROM bank_assets WHERE production = $1 AND blake3 = $2 ORDER BY id LIMIT 1")
                .bind(production)
                .bind(blake3)
                .fetch_optional(p)
                .await?
                .map(|r| Ok::<_, sqlx::Error>((r.try_get("id")?, r.try_get("use_ref")?)))
                .transpose()?
        });
        Ok(row)
    }

    /// Adds an asset to a production's ledger as a new entry; returns its id. (Use
    /// [`BankStore::register_asset`] to register a file once.)
    pub async fn add_asset(&self, asset: &NewAsset) -> Result<i64, BankError> {
        if asset.production.trim().is_empty() || asset.use_ref.trim().is_empty() {
            return Err(BankError::Invalid(
                "an asset needs a production and a use reference".into(),
            ));
        }
        if !valid_hex64(&asset.blake3) {
            return Err(BankError::Invalid(format!(
                "{}: BLAKE3 must be 64 hex digits",
                asset.file_name
            )));
        }
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let (pdq, quality) = match &asset.pdq {
            Some((h, q)) => (Some(h.to_ascii_lowercase()), Some(i64::from(*q))),
            None => (None, None),
        };
        let id = with_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            let id: i64 = sqlx::query(
                "INSERT INTO bank_assets (production, use_ref, tool, added_at, file_name, blake3, media_type, pdq, pdq_quality, thumbnail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            )
            .bind(&asset.production)
            .bind(&asset.use_ref)
            .bind(&asset.tool)
            .bind(&now)
            .bind(&asset.file_name)
            .bind(asset.blake3.to_ascii_lowercase())
            .bind(&asset.media_type)
            .bind(&pdq)
            .bind(quality)
            .bind(&asset.thumbnail)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
            for f in &asset.frames {
                sqlx::query("INSERT INTO bank_asset_frames (asset_id, at_ms, pdq, quality) VALUES ($1, $2, $3, $4)")
                    .bind(id)
                    .bind(i64::from(f.millis))
                    .bind(f.pdq.to_ascii_lowercase())
                    .bind(i64::from(f.quality))
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some(a) = &asset.audio {
                sqlx::query("INSERT INTO bank_asset_audio (asset_id, millis, fingerprint) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(i64::try_from(a.millis).unwrap_or(i64::MAX))
                    .bind(a.to_bytes())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    /// The productions that have a ledger, sorted.
    pub async fn productions(&self) -> Result<Vec<String>, BankError> {
        let rows = with_pool!(&self.pool, p => {
            sqlx::query("SELECT DISTINCT production FROM bank_assets ORDER BY production").fetch_all(p).await?
                .iter().map(|r| r.try_get::<String, _>("production")).collect::<Result<Vec<_>, _>>()?
        });
        Ok(rows)
    }

    /// The ledger of `production` (all productions when `None`), frames included, in id order.
    pub async fn assets(&self, production: Option<&str>) -> Result<Vec<Asset>, BankError> {
        self.read_assets(production, true).await
    }

    /// As [`BankStore::assets`], without reading the thumbnails (a scan without a report needs
    /// none, and they are most of a ledger's bytes).
    pub async fn assets_without_thumbnails(
        &self,
        production: Option<&str>,
    ) -> Result<Vec<Asset>, BankError> {
        self.read_assets(production, false).await
    }

    async fn read_assets(
        &self,
        production: Option<&str>,
        thumbnails: bool,
    ) -> Result<Vec<Asset>, BankError> {
        let sql = if thumbnails {
            "SELECT id, production, use_ref, tool, added_at, file_name, blake3, media_type, pdq, pdq_quality, thumbnail \
             FROM bank_assets WHERE ($1 IS NULL OR production = $2) ORDER BY id"
        } else {
            "SELECT id, production, use_ref, tool, added_at, file_name, blake3, media_type, pdq, pdq_quality, NULL AS thumbnail \
             FROM bank_assets WHERE ($1 IS NULL OR production = $2) ORDER BY id"
        };
        let frames_sql = "SELECT f.asset_id, f.at_ms, f.pdq, f.quality FROM bank_asset_frames f \
                          JOIN bank_assets a ON a.id = f.asset_id WHERE ($1 IS NULL OR a.production = $2) \
                          ORDER BY f.asset_id, f.at_ms";
        let audio_sql = "SELECT x.asset_id, x.millis, x.fingerprint FROM bank_asset_audio x \
                         JOIN bank_assets a ON a.id = x.asset_id WHERE ($1 IS NULL OR a.production = $2) \
                         ORDER BY x.asset_id";
        let production = production.map(str::to_string);
        let audio: Vec<(i64, AudioPrint)> = with_pool!(&self.pool, p => {
            let rows = sqlx::query(audio_sql).bind(&production).bind(&production).fetch_all(p).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let millis: i64 = r.try_get("millis")?;
                let bytes: Vec<u8> = r.try_get("fingerprint")?;
                out.push((r.try_get("asset_id")?, AudioPrint::from_bytes(millis.max(0) as u64, &bytes)));
            }
            out
        });
        let (mut assets, frames) = with_pool!(&self.pool, p => {
            let rows = sqlx::query(sql).bind(&production).bind(&production).fetch_all(p).await?;
            let mut assets = Vec::with_capacity(rows.len());
            for r in &rows {
                assets.push(Asset {
                    id: r.try_get("id")?,
                    production: r.try_get("production")?,
                    use_ref: r.try_get("use_ref")?,
                    tool: r.try_get("tool")?,
                    added_at: r.try_get("added_at")?,
                    file_name: r.try_get("file_name")?,
                    blake3: r.try_get("blake3")?,
                    media_type: r.try_get("media_type")?,
                    pdq: r.try_get("pdq")?,
                    pdq_quality: r.try_get::<Option<i64>, _>("pdq_quality")?.map(clamp_quality),
                    frames: vec![],
                    thumbnail: r.try_get("thumbnail")?,
                    audio: None,
                });
            }
            let frows = sqlx::query(frames_sql).bind(&production).bind(&production).fetch_all(p).await?;
            let mut frames = Vec::with_capacity(frows.len());
            for r in &frows {
                let id: i64 = r.try_get("asset_id")?;
                let millis: i64 = r.try_get("at_ms")?;
                let quality: i64 = r.try_get("quality")?;
                frames.push((id, Frame { millis: millis.clamp(0, i64::from(u32::MAX)) as u32, pdq: r.try_get("pdq")?, quality: clamp_quality(quality) }));
            }
            (assets, frames)
        });
        let mut at = 0;
        for (id, frame) in frames {
            while at < assets.len() && assets[at].id < id {
                at += 1;
            }
            if let Some(a) = assets.get_mut(at).filter(|a| a.id == id) {
                a.frames.push(frame);
            }
        }
        for (id, print) in audio {
            if let Ok(i) = assets.binary_search_by_key(&id, |a| a.id) {
                assets[i].audio = Some(print);
            }
        }
        Ok(assets)
    }

    /// Adds hashes of protected works; returns how many were new (duplicates are skipped).
    pub async fn add_references(&self, refs: &[NewReference]) -> Result<usize, BankError> {
        for r in refs {
            if !valid_hex64(&r.hash) {
                return Err(BankError::Invalid(format!(
                    "{} ({}): a hash must be 64 hex digits",
                    r.title, r.work_id
                )));
            }
            if r.bank.trim().is_empty() || r.work_id.trim().is_empty() || r.title.trim().is_empty()
            {
                return Err(BankError::Invalid(
                    "a reference needs a bank, a work id and a title".into(),
                ));
            }
        }
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let added = with_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            let mut added = 0usize;
            for r in refs {
                let done = sqlx::query(
                    "INSERT INTO bank_references (bank, work_id, title, hash_type, hash, quality, added_at, studio) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                )
                .bind(&r.bank)
                .bind(&r.work_id)
                .bind(&r.title)
                .bind(r.hash_type.as_str())
                .bind(r.hash.to_ascii_lowercase())
                .bind(r.quality.map(i64::from))
                .bind(&now)
                .bind(&r.studio)
                .execute(&mut *tx)
                .await?;
                added += done.rows_affected() as usize;
            }
            tx.commit().await?;
            added
        });
        Ok(added)
    }

    /// Entries of reference bank `bank` (all banks when `None`), in id order.
    pub async fn references(&self, bank: Option<&str>) -> Result<Vec<Reference>, BankError> {
        self.read_references(bank, None).await
    }

    /// The reference entries a scan for `studio` uses: the banks of that studio and the
    /// banks that belong to no studio; never another studio's.
    pub async fn references_for_studio(&self, studio: &str) -> Result<Vec<Reference>, BankError> {
        self.read_references(None, Some(studio)).await
    }

    /// Adds audio fingerprints of protected recordings; returns how many were new (the same
    /// file of the same work in the same bank is skipped).
    pub async fn add_audio_references(
        &self,
        refs: &[NewAudioReference],
    ) -> Result<usize, BankError> {
        for r in refs {
            if r.bank.trim().is_empty() || r.work_id.trim().is_empty() || r.title.trim().is_empty()
            {
                return Err(BankError::Invalid(
                    "a reference needs a bank, a work id and a title".into(),
                ));
            }
            if !valid_hex64(&r.blake3) {
                return Err(BankError::Invalid(format!(
                    "{} ({}): BLAKE3 must be 64 hex digits",
                    r.title, r.work_id
                )));
            }
        }
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let added = with_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            let mut added = 0usize;
            for r in refs {
                let done = sqlx::query(
                    "INSERT INTO bank_reference_audio (bank, work_id, title, blake3, millis, fingerprint, added_at, studio) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                )
                .bind(&r.bank)
                .bind(&r.work_id)
                .bind(&r.title)
                .bind(r.blake3.to_ascii_lowercase())
                .bind(i64::try_from(r.audio.millis).unwrap_or(i64::MAX))
                .bind(r.audio.to_bytes())
                .bind(&now)
                .bind(&r.studio)
                .execute(&mut *tx)
                .await?;
                added += done.rows_affected() as usize;
            }
            tx.commit().await?;
            added
        });
        Ok(added)
    }

    /// Audio entries of reference bank `bank` (all banks when `None`), in id order.
    pub async fn audio_references(
        &self,
        bank: Option<&str>,
    ) -> Result<Vec<AudioReference>, BankError> {
        self.read_audio_references(bank, None).await
    }

    /// The audio reference entries a scan for `studio` uses: that studio's banks and the banks
    /// of no studio.
    pub async fn audio_references_for_studio(
        &self,
        studio: &str,
    ) -> Result<Vec<AudioReference>, BankError> {
        self.read_audio_references(None, Some(studio)).await
    }

    async fn read_audio_references(
        &self,
        bank: Option<&str>,
        studio: Option<&str>,
    ) -> Result<Vec<AudioReference>, BankError> {
        let sql = "SELECT id, bank, work_id, title, blake3, millis, fingerprint, added_at, studio FROM bank_reference_audio \
                   WHERE ($1 IS NULL OR bank = $2) AND ($3 IS NULL OR studio IS NULL OR studio = $4) ORDER BY id";
        let bank = bank.map(str::to_string);
        let studio = studio.map(str::to_string);
        let out = with_pool!(&self.pool, p => {
            let rows = sqlx::query(sql)
                .bind(&bank)
                .bind(&bank)
                .bind(&studio)
                .bind(&studio)
                .fetch_all(p)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let millis: i64 = r.try_get("millis")?;
                let bytes: Vec<u8> = r.try_get("fingerprint")?;
                out.push(AudioReference {
                    id: r.try_get("id")?,
                    bank: r.try_get("bank")?,
                    work_id: r.try_get("work_id")?,
                    title: r.try_get("title")?,
                    blake3: r.try_get("blake3")?,
                    audio: AudioPrint::from_bytes(millis.max(0) as u64, &bytes),
                    added_at: r.try_get("added_at")?,
                    studio: r.try_get("studio")?,
                });
            }
            out
        });
        Ok(out)
    }

    async fn read_references(
        &self,
        bank: Option<&str>,
        studio: Option<&str>,
    ) -> Result<Vec<Reference>, BankError> {
        let sql = "SELECT id, bank, work_id, title, hash_type, hash, quality, added_at, studio FROM bank_references \
                   WHERE ($1 IS NULL OR bank = $2) AND ($3 IS NULL OR studio IS NULL OR studio = $4) ORDER BY id";
        let bank = bank.map(str::to_string);
        let studio = studio.map(str::to_string);
        let out = with_pool!(&self.pool, p => {
            let rows = sqlx::query(sql)
                .bind(&bank)
                .bind(&bank)
                .bind(&studio)
                .bind(&studio)
                .fetch_all(p)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let t: String = r.try_get("hash_type")?;
                out.push(Reference {
                    id: r.try_get("id")?,
                    bank: r.try_get("bank")?,
                    work_id: r.try_get("work_id")?,
                    title: r.try_get("title")?,
                    hash_type: t.parse().map_err(BankError::Backend)?,
                    hash: r.try_get("hash")?,
                    quality: r.try_get::<Option<i64>, _>("quality")?.map(clamp_quality),
                    added_at: r.try_get("added_at")?,
                    studio: r.try_get("studio")?,
                });
            }
            out
        });
        Ok(out)
    }
}

fn clamp_quality(q: i64) -> u8 {
    q.clamp(0, 100) as u8
}

/// The `#t=` of a video frame's title, as in media fragment URIs.
const FRAME_MARK: &str = "#t=";

/// The title of a video frame in an exchange file: `NAME#t=SECONDS`, as in media fragment
/// URIs, with up to three decimals when the frame is not on a whole second
/// (`clip.mp4#t=12`, `clip.mp4#t=2.25`).
pub fn frame_title(name: &str, millis: u32) -> String {
    let (s, ms) = (millis / 1000, millis % 1000);
    if ms == 0 {
        format!("{name}{FRAME_MARK}{s}")
    } else {
        let frac = format!("{ms:03}");
        format!("{name}{FRAME_MARK}{s}.{}", frac.trim_end_matches('0'))
    }
}

/// Splits a title written by [`frame_title`] into the file name and the frame's time in
/// milliseconds; `Ok(None)` when the title names no frame. Seconds may carry any number of
/// decimals (rounded to the millisecond); anything else after `#t=` is an error.
pub fn parse_frame_title(title: &str) -> Result<Option<(&str, u32)>, String> {
    let Some((name, t)) = title.rsplit_once(FRAME_MARK) else {
        return Ok(None);
    };
    let bad = || format!("{title:?}: the time after #t= must be seconds, e.g. 12 or 2.25");
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (t.contains('.') && frac.is_empty())
    {
        return Err(bad());
    }
    let seconds: u64 = whole.parse().map_err(|_| bad())?;
    // Milliseconds from the first four decimals, rounded half up.
    let digits: String = frac.chars().chain("0000".chars()).take(4).collect();
    let tenth_ms: u64 = digits.parse().map_err(|_| bad())?;
    let millis = seconds
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add((tenth_ms + 5) / 10))
        .and_then(|ms| u32::try_from(ms).ok())
        .ok_or_else(bad)?;
    Ok(Some((name, millis)))
}

/// Signal type names that ThreatExchange tools use and Greenlight does not match: rows of these
/// types are skipped (and counted), never read as PDQ. The names of python-threatexchange's
/// signal types and extensions (`get_name()`), and the indicator types of the ThreatExchange
/// API.
const FOREIGN_SIGNAL_TYPES: &[&str] = &[
    "video_md5",
    "video_sha256",
    "url",
    "url_md5",
    "raw_text",
    "trend_query",
    "vpdq",
    "pdq_ocr",
    "text_tlsh",
    "hash_md5",
    "hash_video_md5",
    "hash_sha256",
    "hash_video_sha256",
    "hash_url_md5",
    "hash_pdq_ocr",
    "hash_text_tlsh",
    "hash_tmk",
    "uri",
    "raw_uri",
    "text_string",
];

/// What a file's signal type name means here.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SignalKind {
    /// A type Greenlight matches.
    Ours(HashType),
    /// A ThreatExchange type Greenlight does not match: skipped with a count.
    Foreign(String),
}

fn signal_kind(name: &str) -> Result<SignalKind, String> {
    let lower = name.trim().to_ascii_lowercase();
    match lower.as_str() {
        // `HASH_PDQ` is the ThreatExchange API's indicator type for the same hash.
        "pdq" | "hash_pdq" => Ok(SignalKind::Ours(HashType::Pdq)),
        "blake3" => Ok(SignalKind::Ours(HashType::Blake3)),
        other if FOREIGN_SIGNAL_TYPES.contains(&other) => Ok(SignalKind::Foreign(other.into())),
        _ => Err(format!(
            "unknown signal type {:?}: Greenlight reads pdq and blake3, and skips ThreatExchange types such as video_md5",
            name.trim()
        )),
    }
}

/// Formats of the hash files exchanged with ThreatExchange tools (see `docs/scan.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignalFormat {
    /// CSV with a header: `signal_type,signal_str,collab,category,tags`, the columns of
    /// python-threatexchange's `threatexchange dataset -P --csv`, then Greenlight's `id,title`.
    #[default]
    Csv,
    /// `TYPE SIGNAL` lines (`pdq 64HEX`): what `threatexchange hash` and `dataset -P -S` print
    /// and what its `local_file` collaboration reads. PDQ rows only (ThreatExchange tools have
    /// no BLAKE3 type); no ids or titles.
    Lines,
}

/// One hash to write to an exchange file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRow {
    /// `pdq` or `blake3`.
    pub signal_type: HashType,
    /// The hash.
    pub signal: String,
    /// Where it comes from, ThreatExchange's `collab`: the bank's name, or the production of a
    /// ledger.
    pub collab: String,
    /// The id: a work id for a reference bank, a `use.ref` for a ledger.
    pub id: String,
    /// The title: a work title, or a ledger file name (`clip.mov#t=12.25` for a video frame).
    pub title: String,
}

/// The CSV header written on export: ThreatExchange's `dataset --csv` columns, then ours.
pub const CSV_HEADER: [&str; 7] = [
    "signal_type",
    "signal_str",
    "collab",
    "category",
    "tags",
    "id",
    "title",
];

/// ThreatExchange's opinion category of a signal we export: every bank entry is a positive of
/// its bank.
const POSITIVE_CLASS: &str = "POSITIVE_CLASS";

/// Writes rows in `format`; returns how many rows that format cannot hold were left out (BLAKE3
/// rows in [`SignalFormat::Lines`]).
pub fn write_signals<W: std::io::Write>(
    rows: &[CsvRow],
    format: SignalFormat,
    mut out: W,
) -> Result<usize, BankError> {
    let io = |e: std::io::Error| BankError::Backend(e.to_string());
    match format {
        SignalFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            let err = |e: csv::Error| BankError::Backend(e.to_string());
            w.write_record(CSV_HEADER).map_err(err)?;
            for r in rows {
                w.write_record([
                    r.signal_type.as_str(),
                    &r.signal,
                    &r.collab,
                    POSITIVE_CLASS,
                    "",
                    &r.id,
                    &r.title,
                ])
                .map_err(err)?;
            }
            w.flush().map_err(io)?;
            Ok(0)
        }
        SignalFormat::Lines => {
            let mut seen = std::collections::HashSet::new();
            let mut left_out = 0;
            for r in rows {
                if r.signal_type != HashType::Pdq {
                    left_out += 1;
                } else if seen.insert(r.signal.as_str()) {
                    writeln!(out, "pdq {}", r.signal).map_err(io)?;
                }
            }
            out.flush().map_err(io)?;
            Ok(left_out)
        }
    }
}

/// Writes rows as CSV ([`SignalFormat::Csv`]).
pub fn write_csv<W: std::io::Write>(rows: &[CsvRow], out: W) -> Result<(), BankError> {
    write_signals(rows, SignalFormat::Csv, out).map(|_| ())
}

/// One hash read from an exchange file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalRow {
    /// 1-based line number in the file.
    pub line: usize,
    /// `pdq` or `blake3`.
    pub signal_type: HashType,
    /// The hash, lower-case hex.
    pub signal: String,
    /// The `id` column, when the file has one and it is not empty.
    pub id: Option<String>,
    /// The `title` column, when the file has one and it is not empty.
    pub title: Option<String>,
    /// ThreatExchange's `collab` column, when present and not empty.
    pub collab: Option<String>,
}

/// What an exchange file held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignalFile {
    /// The hashes Greenlight matches.
    pub rows: Vec<SignalRow>,
    /// Rows left out, by reason (`signal type video_md5`, `category NEGATIVE_CLASS`): how many.
    pub skipped: std::collections::BTreeMap<String, usize>,
}

impl SignalFile {
    /// `3 row(s) skipped: signal type video_md5 (2), category NEGATIVE_CLASS (1)`, or `None`.
    pub fn skipped_summary(&self) -> Option<String> {
        let n: usize = self.skipped.values().sum();
        (n > 0).then(|| {
            let parts: Vec<String> = self
                .skipped
                .iter()
                .map(|(why, k)| format!("{why} ({k})"))
                .collect();
            format!("{n} row(s) skipped: {}", parts.join(", "))
        })
    }
}

/// Column positions of a CSV file.
struct Columns {
    signal_type: usize,
    signal: usize,
    id: Option<usize>,
    title: Option<usize>,
    collab: Option<usize>,
    category: Option<usize>,
}

impl Columns {
    /// Greenlight's first layout, without a header: `signal_type,signal,id[,title]`.
    const OLD: Columns = Columns {
        signal_type: 0,
        signal: 1,
        id: Some(2),
        title: Some(3),
        collab: None,
        category: None,
    };

    fn from_header(header: &csv::StringRecord) -> Result<Columns, String> {
        let find = |names: &[&str]| {
            header
                .iter()
                .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
        };
        Ok(Columns {
            signal_type: find(&["signal_type"]).ok_or("the header has no signal_type column")?,
            signal: find(&["signal_str", "signal"])
                .ok_or("the header has no signal_str (or signal) column")?,
            id: find(&["id"]),
            title: find(&["title"]),
            collab: find(&["collab"]),
            category: find(&["category"]),
        })
    }
}

/// Reads an exchange file, in any of the forms ThreatExchange tools or Greenlight write:
///
/// - CSV with a header naming its columns: `signal_type` and `signal_str` (or `signal`), and
///   any of `collab`, `category`, `tags`, `id`, `title` (python-threatexchange's
///   `dataset --csv`, Greenlight's export, Greenlight's first layout with its header);
/// - CSV without a header in Greenlight's first layout, `signal_type,signal,id[,title]`;
/// - `TYPE SIGNAL` lines, as `threatexchange hash` prints and its `local_file` reads.
///
/// `#` lines are comments. Rows of ThreatExchange types Greenlight does not match, and rows of
/// category `NEGATIVE_CLASS` (known not to be what the list is about), are skipped and
/// counted. Every bad line is reported, with its number. A byte-order mark (as spreadsheet
/// programs write) is ignored.
pub fn read_signals(text: &str) -> Result<SignalFile, Vec<BankError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    match first {
        Some(l) if !l.contains(',') => read_lines(text),
        _ => read_csv_text(text),
    }
}

/// Checks a signal and files it: a row, a skipped count, or a problem.
fn accept(
    out: &mut SignalFile,
    problems: &mut Vec<BankError>,
    line: usize,
    type_name: &str,
    signal: &str,
    meta: (Option<String>, Option<String>, Option<String>),
) {
    let signal_type = match signal_kind(type_name) {
        Ok(SignalKind::Ours(t)) => t,
        Ok(SignalKind::Foreign(name)) => {
            *out.skipped
                .entry(format!("signal type {name}"))
                .or_default() += 1;
            return;
        }
        Err(message) => {
            problems.push(BankError::Csv { line, message });
            return;
        }
    };
    let signal = signal.trim().to_ascii_lowercase();
    if !valid_hex64(&signal) {
        problems.push(BankError::Csv {
            line,
            message: format!(
                "{signal:?} is not a {} hash (64 hex digits)",
                signal_type.as_str()
            ),
        });
        return;
    }
    let (id, title, collab) = meta;
    out.rows.push(SignalRow {
        line,
        signal_type,
        signal,
        id,
        title,
        collab,
    });
}

fn read_lines(text: &str) -> Result<SignalFile, Vec<BankError>> {
    let mut out = SignalFile::default();
    let mut problems = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let line = i + 1;
        let words: Vec<&str> = l.split_whitespace().collect();
        match words[..] {
            [t, signal] => accept(&mut out, &mut problems, line, t, signal, (None, None, None)),
            _ => problems.push(BankError::Csv {
                line,
                message: "expected `TYPE SIGNAL`, e.g. `pdq` and 64 hex digits".into(),
            }),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn read_csv_text(text: &str) -> Result<SignalFile, Vec<BankError>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut out = SignalFile::default();
    let mut problems = Vec::new();
    let mut columns: Option<Columns> = None;
    for (i, record) in reader.records().enumerate() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(BankError::Csv {
                    line: e.position().map_or(i + 1, |p| p.line() as usize),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let line = record.position().map_or(i + 1, |p| p.line() as usize);
        if columns.is_none() {
            let is_header = record
                .get(0)
                .is_some_and(|f| f.trim().eq_ignore_ascii_case("signal_type"));
            if is_header {
                match Columns::from_header(&record) {
                    Ok(c) => columns = Some(c),
                    Err(message) => {
                        problems.push(BankError::Csv { line, message });
                        break;
                    }
                }
                continue;
            }
        }
        // No header: Greenlight's first layout.
        let cols = &*columns.get_or_insert(Columns::OLD);
        let field = |k: Option<usize>| {
            k.and_then(|k| record.get(k))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let (Some(t), Some(signal)) = (field(Some(cols.signal_type)), field(Some(cols.signal)))
        else {
            problems.push(BankError::Csv {
                line,
                message: "a row needs a signal type and a signal".into(),
            });
            continue;
        };
        if let Some(c) = field(cols.category)
            && c.eq_ignore_ascii_case("NEGATIVE_CLASS")
        {
            *out.skipped
                .entry("category NEGATIVE_CLASS".into())
                .or_default() += 1;
            continue;
        }
        let meta = (field(cols.id), field(cols.title), field(cols.collab));
        accept(&mut out, &mut problems, line, &t, &signal, meta);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: HashType, signal: String, id: &str, title: &str) -> CsvRow {
        CsvRow {
            signal_type: t,
            signal,
            collab: "library".into(),
            id: id.into(),
            title: title.into(),
        }
    }

    /// What reading gives back for a written row.
    fn as_written(
        r: &CsvRow,
    ) -> (
        HashType,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    ) {
        (
            r.signal_type,
            r.signal.clone(),
            Some(r.collab.clone()),
            Some(r.id.clone()),
            Some(r.title.clone()),
        )
    }

    fn as_read(
        r: &SignalRow,
    ) -> (
        HashType,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    ) {
        (
            r.signal_type,
            r.signal.clone(),
            r.collab.clone(),
            r.id.clone(),
            r.title.clone(),
        )
    }

    #[test]
    fn a_byte_order_mark_is_ignored() {
        let h = "ab".repeat(32);
        let text = format!("\u{feff}signal_type,signal_str,collab\npdq,{h},library\n");
        let read = read_signals(&text).expect("reads");
        assert_eq!(read.rows.len(), 1);
        assert_eq!(read.rows[0].signal, h);
    }

    #[test]
    fn csv_round_trips_with_quoting() {
        let rows = vec![
            row(HashType::Pdq, "ab".repeat(32), "W-1", "Dawn, \"the\" film"),
            row(HashType::Blake3, "01".repeat(32), "W-2", "Poster"),
        ];
        let mut out = Vec::new();
        write_csv(&rows, &mut out).expect("writes");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(
            text.starts_with("signal_type,signal_str,collab,category,tags,id,title\n"),
            "{text}"
        );
        let read = read_signals(&text).expect("reads");
        assert_eq!(
            read.rows.iter().map(as_read).collect::<Vec<_>>(),
            rows.iter().map(as_written).collect::<Vec<_>>()
        );
        assert_eq!(read.rows[1].line, 3);
    }

    proptest::proptest! {
        #[test]
        fn csv_export_then_import_round_trips(rows in proptest::collection::vec(
            (proptest::bool::ANY, "[0-9a-f]{64}", "[A-Za-z0-9-]{1,12}", "[^\\x00-\\x1f#]{1,40}"), 0..20)) {
            let rows: Vec<CsvRow> = rows
                .into_iter()
                .filter(|(_, _, _, title)| !title.trim().is_empty() && title.trim() == title)
                .map(|(pdq, signal, id, title)| {
                    row(if pdq { HashType::Pdq } else { HashType::Blake3 }, signal, &id, &title)
                })
                .collect();
            let mut out = Vec::new();
            write_csv(&rows, &mut out).expect("writes");
            let text = String::from_utf8(out).expect("utf-8");
            let read = read_signals(&text).expect("reads");
            proptest::prop_assert_eq!(
                read.rows.iter().map(as_read).collect::<Vec<_>>(),
                rows.iter().map(as_written).collect::<Vec<_>>()
            );
        }

        #[test]
        fn frame_titles_round_trip_to_the_millisecond(ms in 0u32..200_000_000, name in "[a-z_. ]{1,20}") {
            let title = frame_title(&name, ms);
            proptest::prop_assert_eq!(parse_frame_title(&title), Ok(Some((name.as_str(), ms))));
        }
    }

    #[test]
    fn frame_titles_read_whole_and_decimal_seconds() {
        assert_eq!(frame_title("clip.mp4", 12_000), "clip.mp4#t=12");
        assert_eq!(frame_title("clip.mp4", 2_250), "clip.mp4#t=2.25");
        assert_eq!(frame_title("clip.mp4", 500), "clip.mp4#t=0.5");
        // Titles written before frames were finer than a second.
        assert_eq!(
            parse_frame_title("clip.mp4#t=12"),
            Ok(Some(("clip.mp4", 12_000)))
        );
        assert_eq!(
            parse_frame_title("a#t=1#t=0.3333"),
            Ok(Some(("a#t=1", 333)))
        );
        assert_eq!(parse_frame_title("still.png"), Ok(None));
        for bad in [
            "c#t=",
            "c#t=x",
            "c#t=1.",
            "c#t=-1",
            "c#t=1,2",
            "c#t=99999999",
        ] {
            assert!(parse_frame_title(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_bad_csv_line_is_reported() {
        let text = format!(
            "# a comment\npdq,{h},W-1,ok\nmd5,{h},W-2,x\npdq,nothex,W-3,x\npdq\n",
            h = "cd".repeat(32)
        );
        let errs = read_signals(&text).expect_err("three bad lines");
        let lines: Vec<_> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with("line 3:"), "{lines:?}");
        assert!(lines[0].contains("\"md5\""), "{lines:?}");
    }

    #[test]
    fn greenlights_first_layout_still_reads() {
        let h = "ab".repeat(32);
        for text in [
            format!("signal_type,signal,id,title\npdq,{h},W-1,Dawn\nblake3,{h},W-1,\n"),
            format!("pdq,{h},W-1,Dawn\nblake3,{h},W-1\n"),
        ] {
            let read = read_signals(&text).expect("reads");
            assert_eq!(read.rows.len(), 2, "{text}");
            assert_eq!(read.rows[0].id.as_deref(), Some("W-1"));
            assert_eq!(read.rows[0].title.as_deref(), Some("Dawn"));
            assert_eq!(read.rows[1].signal_type, HashType::Blake3);
            assert_eq!(read.rows[1].title, None);
            assert_eq!(read.rows[0].collab, None);
        }
    }

    #[test]
    fn lines_format_holds_pdq_only_and_reads_back() {
        let rows = vec![
            row(HashType::Pdq, "ab".repeat(32), "W-1", "a"),
            row(HashType::Blake3, "01".repeat(32), "W-1", "a"),
            row(HashType::Pdq, "ab".repeat(32), "W-2", "b"),
            row(HashType::Pdq, "cd".repeat(32), "W-2", "b"),
        ];
        let mut out = Vec::new();
        let left_out = write_signals(&rows, SignalFormat::Lines, &mut out).expect("writes");
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(left_out, 1, "the BLAKE3 row");
        assert_eq!(
            text,
            format!("pdq {}\npdq {}\n", "ab".repeat(32), "cd".repeat(32))
        );
        let read = read_signals(&text).expect("reads");
        assert_eq!(read.rows.len(), 2);
        assert!(
            read.rows
                .iter()
                .all(|r| r.id.is_none() && r.title.is_none())
        );
    }

    #[test]
    fn threatexchange_types_we_do_not_match_are_skipped_and_counted() {
        let h = "ab".repeat(32);
        let csv = format!(
            "signal_type,signal_str,collab,category,tags\n\
             pdq,{h},Studio Library,POSITIVE_CLASS,\n\
             video_md5,d41d8cd98f00b204e9800998ecf8427e,Studio Library,INVESTIGATION_SEED,\n\
             url,https://example.com/x,Studio Library,POSITIVE_CLASS,a b\n\
             pdq,{c},Studio Library,NEGATIVE_CLASS,\n\
             video_md5,0cc175b9c0f1b6a831c399e269772661,Studio Library,POSITIVE_CLASS,\n",
            c = "cd".repeat(32)
        );
        let read = read_signals(&csv).expect("reads");
        assert_eq!(read.rows.len(), 1);
        assert_eq!(read.rows[0].signal_type, HashType::Pdq);
        assert_eq!(read.rows[0].collab.as_deref(), Some("Studio Library"));
        assert_eq!(read.rows[0].line, 2);
        assert_eq!(
            read.skipped_summary().as_deref(),
            Some(
                "4 row(s) skipped: category NEGATIVE_CLASS (1), signal type url (1), signal type video_md5 (2)"
            )
        );
        let lines = format!("pdq {h}\nvideo_md5 d41d8cd98f00b204e9800998ecf8427e\n\nPDQ {h}\n");
        let read = read_signals(&lines).expect("reads");
        assert_eq!(read.rows.len(), 2, "the type name is case-insensitive");
        assert_eq!(read.skipped["signal type video_md5"], 1);
        let bad = format!("pdq {h} extra\nmd5 {h}\npdq {}\n", "AB".repeat(31));
        let errs: Vec<String> = read_signals(&bad)
            .expect_err("three bad lines")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(
            errs[0].starts_with("line 1:") && errs[2].starts_with("line 3:"),
            "{errs:?}"
        );
    }

    #[test]
    fn passwords_are_kept_out_of_messages() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("sqlite://x.db?mode=rwc"), "sqlite://x.db?mode=rwc");
    }
}
