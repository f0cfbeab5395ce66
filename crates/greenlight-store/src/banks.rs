//! Hash banks: a production's **asset ledger** (its own registered AI-generated assets, with
//! the declaration they belong to) and **reference banks** (protected works that must not be
//! recreated: hashes and metadata only, never images).
//!
//! The tables (`bank_*`, migrations 5000 to 5003) live in the store's database and are
//! migrated with the rest of it, by the store's one migrator. A [`Banks`] handle reads and
//! writes them: [`Store::banks`] on a server's store (sharing its pool), or [`Banks::open`]
//! for the command line, on a server's database or on a file of its own
//! (`greenlight-banks.db` by default), which then holds the store's (empty) tables too.
//! SQLite runs with WAL and `synchronous=FULL`, as the store does: an acknowledged
//! `assets add` survives a power cut.
//!
//! The ledger and the banks are written here directly, each call in a transaction of its own,
//! not through the store's writer: they have no audit entries and no access rules (whoever can
//! open the database can register assets), as before they moved into the store.
//!
//! ```no_run
//! # async fn demo() -> Result<(), greenlight_store::banks::BankError> {
//! use greenlight_store::banks::{Banks, Creation};
//! let banks = Banks::open("sqlite://greenlight-banks.db", Creation::Existing).await?;
//! for reference in banks.references(Some("studio-library")).await? {
//!     println!("{} {}", reference.work_id, reference.hash);
//! }
//! banks.close().await;
//! # Ok(()) }
//! ```

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::db::{self, Db, redact_url};
use crate::{Store, StoreError};

/// Default bank store of the command line: a SQLite file in the working directory, created
/// when missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://greenlight-banks.db?mode=rwc";

/// Connections of a bank store opened by [`Banks::open`] (one command at a time uses it).
const MAX_CONNECTIONS: u32 = 4;

/// Rows per multi-row insert of frame hashes: 4 values a row stays far below SQLite's 32,766
/// and PostgreSQL's 65,535 bound parameters.
const FRAMES_PER_INSERT: usize = 1_000;

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

/// The store's own message, without the `storage error:` its `Display` puts before it (a
/// bank error says `bank store:` or `cannot open the bank store` instead).
fn message_of(e: StoreError) -> String {
    match e {
        StoreError::Backend(m) => m,
        other => other.to_string(),
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

impl TryFrom<String> for HashType {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

/// True for 64 hex digits: a PDQ or BLAKE3 hash as the banks keep them.
pub fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
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

/// The Chromaprint fingerprint of a file's first audio stream (see `greenlight_scan::audio`):
/// one 32-bit item every 1365 samples at 11,025 Hz (about 0.124 s), as `fpcalc -raw` prints
/// them.
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

    /// The length as the store keeps it (BIGINT).
    fn stored_millis(&self) -> i64 {
        i64::try_from(self.millis).unwrap_or(i64::MAX)
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
pub enum Creation {
    /// As the URL says (`mode=rwc` creates).
    AsUrlSays,
    /// Create the file and its folder when missing (commands that write).
    Create,
    /// Never create: a missing file is [`BankError::Missing`] (commands that only read).
    Existing,
}

/// The ledger and the reference banks of one database: a cheap handle (clone it freely).
#[derive(Clone)]
pub struct Banks {
    db: Db,
    /// Opened by [`Banks::open`], so [`Banks::close`] closes the pool; a handle from
    /// [`Store::banks`] leaves the pool to the store.
    owns_pool: bool,
}

impl std::fmt::Debug for Banks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Banks")
            .field("database_url", &redact_url(&self.db.url))
            .field("owns_pool", &self.owns_pool)
            .finish()
    }
}

impl Store {
    /// The ledger and reference banks in the store's database, on the store's pool.
    pub fn banks(&self) -> Banks {
        Banks {
            db: self.inner.db.clone(),
            owns_pool: false,
        }
    }
}

// The rows as the tables hold them; the conversions below make them the records above.

#[derive(sqlx::FromRow)]
struct AssetRow {
    id: i64,
    production: String,
    use_ref: String,
    tool: Option<String>,
    added_at: String,
    file_name: String,
    blake3: String,
    media_type: String,
    pdq: Option<String>,
    pdq_quality: Option<i64>,
    thumbnail: Option<Vec<u8>>,
}

#[derive(sqlx::FromRow)]
struct FrameRow {
    asset_id: i64,
    at_ms: i64,
    pdq: String,
    quality: i64,
}

#[derive(sqlx::FromRow)]
struct AssetAudioRow {
    asset_id: i64,
    millis: i64,
    fingerprint: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct ReferenceRow {
    id: i64,
    bank: String,
    work_id: String,
    title: String,
    #[sqlx(try_from = "String")]
    hash_type: HashType,
    hash: String,
    quality: Option<i64>,
    added_at: String,
    studio: Option<String>,
}

#[derive(sqlx::FromRow)]
struct AudioReferenceRow {
    id: i64,
    bank: String,
    work_id: String,
    title: String,
    blake3: String,
    millis: i64,
    fingerprint: Vec<u8>,
    added_at: String,
    studio: Option<String>,
}

/// A quality as stored (BIGINT) back in its 0-100 range.
fn quality_of(q: i64) -> u8 {
    q.clamp(0, 100) as u8
}

fn print_of(millis: i64, fingerprint: &[u8]) -> AudioPrint {
    AudioPrint::from_bytes(millis.max(0) as u64, fingerprint)
}

impl From<AssetRow> for Asset {
    fn from(r: AssetRow) -> Self {
        Asset {
            id: r.id,
            production: r.production,
            use_ref: r.use_ref,
            tool: r.tool,
            added_at: r.added_at,
            file_name: r.file_name,
            blake3: r.blake3,
            media_type: r.media_type,
            pdq: r.pdq,
            pdq_quality: r.pdq_quality.map(quality_of),
            frames: vec![],
            thumbnail: r.thumbnail,
            audio: None,
        }
    }
}

impl From<FrameRow> for Frame {
    fn from(r: FrameRow) -> Self {
        Frame {
            millis: r.at_ms.clamp(0, i64::from(u32::MAX)) as u32,
            pdq: r.pdq,
            quality: quality_of(r.quality),
        }
    }
}

impl From<ReferenceRow> for Reference {
    fn from(r: ReferenceRow) -> Self {
        Reference {
            id: r.id,
            bank: r.bank,
            work_id: r.work_id,
            title: r.title,
            hash_type: r.hash_type,
            hash: r.hash,
            quality: r.quality.map(quality_of),
            added_at: r.added_at,
            studio: r.studio,
        }
    }
}

impl From<AudioReferenceRow> for AudioReference {
    fn from(r: AudioReferenceRow) -> Self {
        AudioReference {
            id: r.id,
            bank: r.bank,
            work_id: r.work_id,
            title: r.title,
            blake3: r.blake3,
            audio: print_of(r.millis, &r.fingerprint),
            added_at: r.added_at,
            studio: r.studio,
        }
    }
}

/// Now, as the bank tables keep it (RFC 3339 to the second, UTC).
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;
type AnyQuery = sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>;

/// Inserts the frame hashes of ledger entry `id`, many rows a statement.
async fn insert_frames(tx: &mut Tx, id: i64, frames: &[Frame]) -> Result<(), BankError> {
    for chunk in frames.chunks(FRAMES_PER_INSERT) {
        let sql = format!(
            "INSERT INTO bank_asset_frames (asset_id, at_ms, pdq, quality) VALUES {}",
            db::values_list(chunk.len(), 4)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for f in chunk {
            q = q
                .bind(id)
                .bind(i64::from(f.millis))
                .bind(f.pdq.to_ascii_lowercase())
                .bind(i64::from(f.quality));
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn insert_audio(tx: &mut Tx, id: i64, audio: &AudioPrint) -> Result<(), BankError> {
    sqlx::query("INSERT INTO bank_asset_audio (asset_id, millis, fingerprint) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(audio.stored_millis())
        .bind(audio.to_bytes())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Refuses a reference without a bank, a work id or a title.
fn require_work(bank: &str, work_id: &str, title: &str) -> Result<(), BankError> {
    if bank.trim().is_empty() || work_id.trim().is_empty() || title.trim().is_empty() {
        return Err(BankError::Invalid(
            "a reference needs a bank, a work id and a title".into(),
        ));
    }
    Ok(())
}

impl Banks {
    /// Opens the database at `url` (creating a SQLite file as `creation` says) and applies
    /// the store's migrations, bank tables included.
    pub async fn open(url: &str, creation: Creation) -> Result<Banks, BankError> {
        if db::backend_of(url).is_err() {
            return Err(BankError::UnsupportedUrl(redact_url(url)));
        }
        let open = |e: StoreError| BankError::Open {
            url: redact_url(url),
            message: message_of(e),
        };
        let url = match creation {
            Creation::AsUrlSays => url.to_owned(),
            Creation::Create => db::creating(url).map_err(open)?,
            Creation::Existing => {
                if let Some(file) = db::sqlite_file(url)
                    && !file.exists()
                {
                    return Err(BankError::Missing(file));
                }
                url.to_owned()
            }
        };
        let db = Db::connect(&url, MAX_CONNECTIONS).await.map_err(open)?;
        db.migrate().await.map_err(open)?;
        Ok(Banks {
            db,
            owns_pool: true,
        })
    }

    /// Closes the pool (waits for connections to finish) when this handle opened it; a
    /// handle from [`Store::banks`] leaves that to [`Store::close`].
    pub async fn close(&self) {
        if self.owns_pool {
            self.db.pool.close().await;
        }
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
        let stored: Vec<(i64, String)> = sqlx::query_as(
            "SELECT at_ms, pdq FROM bank_asset_frames WHERE asset_id = $1 ORDER BY at_ms",
        )
        .bind(id)
        .fetch_all(&self.db.pool)
        .await?;
        let fresh: Vec<(i64, String)> = asset
            .frames
            .iter()
            .map(|f| (i64::from(f.millis), f.pdq.to_ascii_lowercase()))
            .collect();
        let stored_audio = self.asset_audio(id).await?;
        if stored == fresh && stored_audio == asset.audio {
            return Ok(Registered::Unchanged(id));
        }
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("DELETE FROM bank_asset_audio WHERE asset_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if let Some(a) = &asset.audio {
            insert_audio(&mut tx, id, a).await?;
        }
        sqlx::query("DELETE FROM bank_asset_frames WHERE asset_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        insert_frames(&mut tx, id, &asset.frames).await?;
        tx.commit().await?;
        Ok(Registered::Refreshed(id))
    }

    /// The audio fingerprint stored for ledger entry `id`.
    async fn asset_audio(&self, id: i64) -> Result<Option<AudioPrint>, BankError> {
        let row: Option<AssetAudioRow> = sqlx::query_as(
            "SELECT asset_id, millis, fingerprint FROM bank_asset_audio WHERE asset_id = $1",
        )
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?;
        Ok(row.map(|r| print_of(r.millis, &r.fingerprint)))
    }

    /// The ledger entry of `production` holding the file with this BLAKE3, and its use.
    pub async fn find_asset(
        &self,
        production: &str,
        blake3: &str,
    ) -> Result<Option<(i64, String)>, BankError> {
        Ok(sqlx::query_as(
            "SELECT id, use_ref FROM bank_assets WHERE production = $1 AND blake3 = $2 ORDER BY id LIMIT 1",
        )
        .bind(production.to_owned())
        .bind(blake3.to_owned())
        .fetch_optional(&self.db.pool)
        .await?)
    }

    /// Adds an asset to a production's ledger as a new entry; returns its id. (Use
    /// [`Banks::register_asset`] to register a file once.)
    pub async fn add_asset(&self, asset: &NewAsset) -> Result<i64, BankError> {
        if asset.production.trim().is_empty() || asset.use_ref.trim().is_empty() {
            return Err(BankError::Invalid(
                "an asset needs a production and a use reference".into(),
            ));
        }
        if !is_hex64(&asset.blake3) {
            return Err(BankError::Invalid(format!(
                "{}: BLAKE3 must be 64 hex digits",
                asset.file_name
            )));
        }
        let (pdq, quality) = match &asset.pdq {
            Some((h, q)) => (Some(h.to_ascii_lowercase()), Some(i64::from(*q))),
            None => (None, None),
        };
        let mut tx = self.db.pool.begin().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO bank_assets (production, use_ref, tool, added_at, file_name, blake3, media_type, pdq, pdq_quality, thumbnail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(asset.production.clone())
        .bind(asset.use_ref.clone())
        .bind(asset.tool.clone())
        .bind(now())
        .bind(asset.file_name.clone())
        .bind(asset.blake3.to_ascii_lowercase())
        .bind(asset.media_type.clone())
        .bind(pdq)
        .bind(quality)
        .bind(asset.thumbnail.clone())
        .fetch_one(&mut *tx)
        .await?;
        insert_frames(&mut tx, id, &asset.frames).await?;
        if let Some(a) = &asset.audio {
            insert_audio(&mut tx, id, a).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// The productions that have a ledger, sorted.
    pub async fn productions(&self) -> Result<Vec<String>, BankError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT DISTINCT production FROM bank_assets ORDER BY production")
                .fetch_all(&self.db.pool)
                .await?;
        Ok(rows.into_iter().map(|(p,)| p).collect())
    }

    /// The ledger of `production` (all productions when `None`), frames included, in id order.
    pub async fn assets(&self, production: Option<&str>) -> Result<Vec<Asset>, BankError> {
        self.read_assets(production, true).await
    }

    /// As [`Banks::assets`], without reading the thumbnails (a scan without a report needs
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
        let production = production.map(str::to_owned);
        let audio: Vec<AssetAudioRow> = sqlx::query_as(audio_sql)
            .bind(production.clone())
            .bind(production.clone())
            .fetch_all(&self.db.pool)
            .await?;
        let rows: Vec<AssetRow> = sqlx::query_as(sql)
            .bind(production.clone())
            .bind(production.clone())
            .fetch_all(&self.db.pool)
            .await?;
        let frames: Vec<FrameRow> = sqlx::query_as(frames_sql)
            .bind(production.clone())
            .bind(production)
            .fetch_all(&self.db.pool)
            .await?;
        let mut assets: Vec<Asset> = rows.into_iter().map(Asset::from).collect();
        // Both lists are in id order: walk them together.
        let mut at = 0;
        for row in frames {
            while at < assets.len() && assets[at].id < row.asset_id {
                at += 1;
            }
            if let Some(a) = assets.get_mut(at).filter(|a| a.id == row.asset_id) {
                a.frames.push(Frame::from(row));
            }
        }
        for row in audio {
            if let Ok(i) = assets.binary_search_by_key(&row.asset_id, |a| a.id) {
                assets[i].audio = Some(print_of(row.millis, &row.fingerprint));
            }
        }
        Ok(assets)
    }

    /// Adds hashes of protected works; returns how many were new (duplicates are skipped).
    pub async fn add_references(&self, refs: &[NewReference]) -> Result<usize, BankError> {
        for r in refs {
            if !is_hex64(&r.hash) {
                return Err(BankError::Invalid(format!(
                    "{} ({}): a hash must be 64 hex digits",
                    r.title, r.work_id
                )));
            }
            require_work(&r.bank, &r.work_id, &r.title)?;
        }
        let now = now();
        self.insert_new(
            "INSERT INTO bank_references (bank, work_id, title, hash_type, hash, quality, added_at, studio) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            refs,
            |q, r| {
                q.bind(r.bank.clone())
                    .bind(r.work_id.clone())
                    .bind(r.title.clone())
                    .bind(r.hash_type.as_str())
                    .bind(r.hash.to_ascii_lowercase())
                    .bind(r.quality.map(i64::from))
                    .bind(now.clone())
                    .bind(r.studio.clone())
            },
        )
        .await
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
            require_work(&r.bank, &r.work_id, &r.title)?;
            if !is_hex64(&r.blake3) {
                return Err(BankError::Invalid(format!(
                    "{} ({}): BLAKE3 must be 64 hex digits",
                    r.title, r.work_id
                )));
            }
        }
        let now = now();
        self.insert_new(
            "INSERT INTO bank_reference_audio (bank, work_id, title, blake3, millis, fingerprint, added_at, studio) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            refs,
            |q, r| {
                q.bind(r.bank.clone())
                    .bind(r.work_id.clone())
                    .bind(r.title.clone())
                    .bind(r.blake3.to_ascii_lowercase())
                    .bind(r.audio.stored_millis())
                    .bind(r.audio.to_bytes())
                    .bind(now.clone())
                    .bind(r.studio.clone())
            },
        )
        .await
    }

    /// Runs `sql` (an insert that skips a row already there, `ON CONFLICT DO NOTHING`) for
    /// each of `rows`, bound by `bind`, in one transaction; returns how many were new.
    async fn insert_new<T>(
        &self,
        sql: &'static str,
        rows: &[T],
        bind: impl Fn(AnyQuery, &T) -> AnyQuery,
    ) -> Result<usize, BankError> {
        let mut tx = self.db.pool.begin().await?;
        let mut added = 0;
        for r in rows {
            let done = bind(sqlx::query(sql), r).execute(&mut *tx).await?;
            added += done.rows_affected() as usize;
        }
        tx.commit().await?;
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
        let rows: Vec<AudioReferenceRow> = self.filtered(sql, bank, studio).await?;
        Ok(rows.into_iter().map(AudioReference::from).collect())
    }

    async fn read_references(
        &self,
        bank: Option<&str>,
        studio: Option<&str>,
    ) -> Result<Vec<Reference>, BankError> {
        let sql = "SELECT id, bank, work_id, title, hash_type, hash, quality, added_at, studio FROM bank_references \
                   WHERE ($1 IS NULL OR bank = $2) AND ($3 IS NULL OR studio IS NULL OR studio = $4) ORDER BY id";
        let rows: Vec<ReferenceRow> = self.filtered(sql, bank, studio).await?;
        Ok(rows.into_iter().map(Reference::from).collect())
    }

    /// The rows of `sql`, whose `$1`/`$2` are the bank and `$3`/`$4` the studio filter.
    async fn filtered<T>(
        &self,
        sql: &'static str,
        bank: Option<&str>,
        studio: Option<&str>,
    ) -> Result<Vec<T>, BankError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        let bank = bank.map(str::to_owned);
        let studio = studio.map(str::to_owned);
        Ok(sqlx::query_as(sql)
            .bind(bank.clone())
            .bind(bank)
            .bind(studio.clone())
            .bind(studio)
            .fetch_all(&self.db.pool)
            .await?)
    }
}

/// The file names of `production`'s ledger entries by `use.ref` (for the disclosure report),
/// read on `conn` with the rest of the report.
pub(crate) async fn file_names_by_use(
    conn: &mut sqlx::AnyConnection,
    production: &str,
) -> crate::Result<std::collections::HashMap<String, Vec<String>>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT use_ref, file_name FROM bank_assets WHERE production = $1 ORDER BY file_name",
    )
    .bind(production.to_owned())
    .fetch_all(&mut *conn)
    .await?;
    let mut out: std::collections::HashMap<String, Vec<String>> = Default::default();
    for (use_ref, file_name) in rows {
        out.entry(use_ref).or_default().push(file_name);
    }
    Ok(out)
}
