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
//! Import and export use the ThreatExchange hash CSV shape: `signal_type,signal,id,title`
//! (see `docs/decisions/0252-bank-csv.md`).

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

/// A PDQ hash of one video frame, taken at `second`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// Seconds from the start.
    pub second: u32,
    /// PDQ hash, 64 hex digits.
    pub pdq: String,
    /// PDQ quality, 0-100.
    pub quality: u8,
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

fn redact(url: &str) -> String {
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

impl BankStore {
    /// Opens (creating when the URL says so) and migrates the store at `url`.
    pub async fn connect(url: &str) -> Result<Self, BankError> {
        let open = |e: &dyn std::fmt::Display| BankError::Open {
            url: redact(url),
            message: e.to_string(),
        };
        let pool = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| open(&e))?
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

    /// Registers an asset in a production's ledger; returns its id.
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
                sqlx::query("INSERT INTO bank_asset_frames (asset_id, second, pdq, quality) VALUES ($1, $2, $3, $4)")
                    .bind(id)
                    .bind(i64::from(f.second))
                    .bind(f.pdq.to_ascii_lowercase())
                    .bind(i64::from(f.quality))
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
        let sql = "SELECT id, production, use_ref, tool, added_at, file_name, blake3, media_type, pdq, pdq_quality, thumbnail \
                   FROM bank_assets WHERE ($1 IS NULL OR production = $2) ORDER BY id";
        let frames_sql = "SELECT f.asset_id, f.second, f.pdq, f.quality FROM bank_asset_frames f \
                          JOIN bank_assets a ON a.id = f.asset_id WHERE ($1 IS NULL OR a.production = $2) \
                          ORDER BY f.asset_id, f.second";
        let production = production.map(str::to_string);
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
                });
            }
            let frows = sqlx::query(frames_sql).bind(&production).bind(&production).fetch_all(p).await?;
            let mut frames = Vec::with_capacity(frows.len());
            for r in &frows {
                let id: i64 = r.try_get("asset_id")?;
                let second: i64 = r.try_get("second")?;
                let quality: i64 = r.try_get("quality")?;
                frames.push((id, Frame { second: second.clamp(0, i64::from(u32::MAX)) as u32, pdq: r.try_get("pdq")?, quality: clamp_quality(quality) }));
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
                    "INSERT INTO bank_references (bank, work_id, title, hash_type, hash, quality, added_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                )
                .bind(&r.bank)
                .bind(&r.work_id)
                .bind(&r.title)
                .bind(r.hash_type.as_str())
                .bind(r.hash.to_ascii_lowercase())
                .bind(r.quality.map(i64::from))
                .bind(&now)
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
        let sql = "SELECT id, bank, work_id, title, hash_type, hash, quality, added_at FROM bank_references \
                   WHERE ($1 IS NULL OR bank = $2) ORDER BY id";
        let bank = bank.map(str::to_string);
        let out = with_pool!(&self.pool, p => {
            let rows = sqlx::query(sql).bind(&bank).bind(&bank).fetch_all(p).await?;
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

/// One row of the ThreatExchange hash CSV: `signal_type,signal,id,title`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRow {
    /// `pdq` or `blake3`.
    pub signal_type: HashType,
    /// The hash.
    pub signal: String,
    /// The id: a work id for a reference bank, a `use.ref` for a ledger.
    pub id: String,
    /// The title: a work title, or a ledger file name (`clip.mov#t=12` for a video frame).
    pub title: String,
}

/// The CSV header written on export and skipped on import.
pub const CSV_HEADER: [&str; 4] = ["signal_type", "signal", "id", "title"];

/// Writes rows as CSV with a header.
pub fn write_csv<W: std::io::Write>(rows: &[CsvRow], out: W) -> Result<(), BankError> {
    let mut w = csv::Writer::from_writer(out);
    let err = |e: csv::Error| BankError::Backend(e.to_string());
    w.write_record(CSV_HEADER).map_err(err)?;
    for r in rows {
        w.write_record([r.signal_type.as_str(), &r.signal, &r.id, &r.title])
            .map_err(err)?;
    }
    w.flush().map_err(|e| BankError::Backend(e.to_string()))
}

/// Reads CSV rows (header optional, `#` comment lines skipped); every bad line is reported.
pub fn read_csv(text: &str) -> Result<Vec<CsvRow>, Vec<BankError>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(BankError::Csv {
                    line: e.position().map_or(line, |p| p.line() as usize),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let line = record.position().map_or(line, |p| p.line() as usize);
        let field = |k: usize| record.get(k).map(str::trim).unwrap_or_default();
        if i == 0 && field(0).eq_ignore_ascii_case("signal_type") {
            continue;
        }
        if record.len() < 3 {
            problems.push(BankError::Csv {
                line,
                message: "expected signal_type,signal,id[,title]".into(),
            });
            continue;
        }
        let signal_type = match field(0).parse::<HashType>() {
            Ok(t) => t,
            Err(message) => {
                problems.push(BankError::Csv { line, message });
                continue;
            }
        };
        let signal = field(1).to_ascii_lowercase();
        if !valid_hex64(&signal) {
            problems.push(BankError::Csv {
                line,
                message: format!("{signal:?} is not 64 hex digits"),
            });
            continue;
        }
        if field(2).is_empty() {
            problems.push(BankError::Csv {
                line,
                message: "the id is empty".into(),
            });
            continue;
        }
        let title = if field(3).is_empty() {
            field(2)
        } else {
            field(3)
        };
        rows.push(CsvRow {
            signal_type,
            signal,
            id: field(2).to_string(),
            title: title.to_string(),
        });
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips_with_quoting() {
        let rows = vec![
            CsvRow {
                signal_type: HashType::Pdq,
                signal: "ab".repeat(32),
                id: "W-1".into(),
                title: "Dawn, \"the\" film".into(),
            },
            CsvRow {
                signal_type: HashType::Blake3,
                signal: "01".repeat(32),
                id: "W-2".into(),
                title: "Poster".into(),
            },
        ];
        let mut out = Vec::new();
        write_csv(&rows, &mut out).expect("writes");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.starts_with("signal_type,signal,id,title\n"));
        assert_eq!(read_csv(&text).expect("reads"), rows);
    }

    proptest::proptest! {
        #[test]
        fn csv_export_then_import_round_trips(rows in proptest::collection::vec(
            (proptest::bool::ANY, "[0-9a-f]{64}", "[A-Za-z0-9-]{1,12}", "[^\\x00-\\x1f#]{1,40}"), 0..20)) {
            let rows: Vec<CsvRow> = rows
                .into_iter()
                .filter(|(_, _, _, title)| !title.trim().is_empty() && title.trim() == title)
                .map(|(pdq, signal, id, title)| CsvRow {
                    signal_type: if pdq { HashType::Pdq } else { HashType::Blake3 },
                    signal,
                    id,
                    title,
                })
                .collect();
            let mut out = Vec::new();
            write_csv(&rows, &mut out).expect("writes");
            let text = String::from_utf8(out).expect("utf-8");
            proptest::prop_assert_eq!(read_csv(&text).expect("reads"), rows);
        }
    }

    #[test]
    fn every_bad_csv_line_is_reported() {
        let text = format!(
            "# a comment\npdq,{h},W-1,ok\nmd5,{h},W-2,x\npdq,nothex,W-3,x\npdq,{h}\n",
            h = "cd".repeat(32)
        );
        let errs = read_csv(&text).expect_err("three bad lines");
        let lines: Vec<_> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with("line 3:"), "{lines:?}");
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
