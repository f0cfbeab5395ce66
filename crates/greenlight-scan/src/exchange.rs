//! The hash files exchanged with ThreatExchange tools, apart from where the hashes are
//! stored: their CSV columns (`signal_type,signal_str,collab,category,tags`) with Greenlight's
//! `id,title` after them, and their `TYPE SIGNAL` lines (see
//! `docs/decisions/0256-threatexchange-hash-files.md`). The command line reads and writes the
//! ledger and the reference banks (`greenlight_store::banks`) through these.
//!
//! ```
//! use greenlight_scan::exchange::{SignalFormat, read_signals, write_signals, CsvRow};
//! use greenlight_store::banks::HashType;
//!
//! let row = CsvRow {
//!     signal_type: HashType::Pdq,
//!     signal: "ab".repeat(32),
//!     collab: "studio-library".into(),
//!     id: "W-1".into(),
//!     title: "Dawn".into(),
//! };
//! let mut out = Vec::new();
//! write_signals(&[row], SignalFormat::Lines, &mut out).unwrap();
//! let read = read_signals(std::str::from_utf8(&out).unwrap()).unwrap();
//! assert_eq!(read.rows[0].signal, "ab".repeat(32));
//! ```

use greenlight_store::banks::{HashType, is_hex64};

/// What is wrong with an exchange file, or why one could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// A line of a file that cannot be read.
    #[error("line {line}: {message}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Writing CSV failed.
    #[error(transparent)]
    Csv(#[from] csv::Error),
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
) -> Result<usize, ExchangeError> {
    match format {
        SignalFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(CSV_HEADER)?;
            for r in rows {
                w.write_record([
                    r.signal_type.as_str(),
                    &r.signal,
                    &r.collab,
                    POSITIVE_CLASS,
                    "",
                    &r.id,
                    &r.title,
                ])?;
            }
            w.flush()?;
            Ok(0)
        }
        SignalFormat::Lines => {
            let mut seen = std::collections::HashSet::new();
            let mut left_out = 0;
            for r in rows {
                if r.signal_type != HashType::Pdq {
                    left_out += 1;
                } else if seen.insert(r.signal.as_str()) {
                    writeln!(out, "pdq {}", r.signal)?;
                }
            }
            out.flush()?;
            Ok(left_out)
        }
    }
}

/// Writes rows as CSV ([`SignalFormat::Csv`]).
pub fn write_csv<W: std::io::Write>(rows: &[CsvRow], out: W) -> Result<(), ExchangeError> {
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
pub fn read_signals(text: &str) -> Result<SignalFile, Vec<ExchangeError>> {
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
    problems: &mut Vec<ExchangeError>,
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
            problems.push(ExchangeError::Line { line, message });
            return;
        }
    };
    let signal = signal.trim().to_ascii_lowercase();
    if !is_hex64(&signal) {
        problems.push(ExchangeError::Line {
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

fn read_lines(text: &str) -> Result<SignalFile, Vec<ExchangeError>> {
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
            _ => problems.push(ExchangeError::Line {
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

fn read_csv_text(text: &str) -> Result<SignalFile, Vec<ExchangeError>> {
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
                problems.push(ExchangeError::Line {
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
                        problems.push(ExchangeError::Line { line, message });
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
            problems.push(ExchangeError::Line {
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

    /// A row's type, signal, collab, id and title, as reading gives them back.
    type Seen = (
        HashType,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );

    /// What reading gives back for a written row.
    fn as_written(r: &CsvRow) -> Seen {
        (
            r.signal_type,
            r.signal.clone(),
            Some(r.collab.clone()),
            Some(r.id.clone()),
            Some(r.title.clone()),
        )
    }

    fn as_read(r: &SignalRow) -> Seen {
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
}
