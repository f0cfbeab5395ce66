//! The scan report: wire types (the JSON shape fixed by the product decisions) and the
//! renderers that turn one report into a terminal summary, JSON, JUnit XML or a
//! self-contained HTML page a producer can open. Every renderer says the same thing.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use base64::Engine;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::verdict::{Code, Severity, Verdict};

/// A whole scan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanReport {
    /// `pass` or `fail`.
    pub verdict: Verdict,
    /// The delivery scanned.
    pub root: String,
    /// The date waivers and packs were evaluated on.
    pub as_of: NaiveDate,
    /// One entry per file, sorted by path.
    pub files: Vec<FileReport>,
    /// A verdict per IMF composition (CPL) in the delivery.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compositions: Vec<CompositionReport>,
    /// Counts.
    pub summary: Summary,
}

/// The verdict of one IMF composition (CPL): the findings on its CPL, on the track files it
/// plays and on its package's ASSETMAP and packing lists.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompositionReport {
    /// The CPL's id (`urn:uuid:...`).
    pub cpl: String,
    /// Its `ContentTitle`.
    pub title: String,
    /// Its `EditRate`, `num/den`.
    pub edit_rate: String,
    /// `fail` when any of those files fails.
    pub verdict: Verdict,
    /// The findings, each by file and code.
    pub findings: Vec<CompositionFinding>,
}

/// A finding that counts for a composition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompositionFinding {
    /// The file, relative to the delivery root.
    pub path: String,
    /// Its code.
    pub code: String,
}

/// The edit event a matched range falls in (from `--edl` or `--otio`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShotReport {
    /// The index of the matched range (in `time_ranges` and `timecode`) in this shot.
    pub range: usize,
    /// Event number.
    pub event: u32,
    /// Clip name.
    pub clip: Option<String>,
    /// Reel (tape) name.
    pub reel: Option<String>,
    /// Source timecode in, as the list writes it.
    pub source_in: String,
    /// Source timecode out.
    pub source_out: String,
}

/// Where a matched range of an IMF track file plays.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImfMatch {
    /// The track file's asset id.
    pub asset_id: String,
    /// One element per matched range and composition.
    pub compositions: Vec<ImfPlacement>,
}

/// One matched range in one composition, in composition timecode at the CPL's rate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImfPlacement {
    /// The CPL's id.
    pub cpl: String,
    /// Its `ContentTitle`.
    pub title: String,
    /// The segment's id.
    pub segment: String,
    /// The resource's id.
    pub resource: String,
    /// Composition timecode of the first matched frame.
    #[serde(rename = "in")]
    pub r#in: String,
    /// Composition timecode of the last matched frame.
    pub out: String,
}

/// Counts over a scan.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Files scanned.
    pub files: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// Files that pass.
    pub passed: u64,
    /// Files that fail.
    pub failed: u64,
    /// Files whose analysis came from the cache.
    pub cached: u64,
    /// Ledger entries matched against.
    pub ledger_entries: u64,
    /// Reference-bank entries matched against.
    pub reference_entries: u64,
    /// Findings per code.
    pub by_code: BTreeMap<String, u64>,
}

/// One file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileReport {
    /// Relative to the delivery root.
    pub path: String,
    /// BLAKE3 (absent when the file could not be read).
    pub blake3: Option<String>,
    /// SHA-256, with `--sha256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Media type sniffed from content.
    pub media_type: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// PDQ of an image (64 hex digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq: Option<String>,
    /// Its quality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq_quality: Option<u8>,
    /// `pass` or `fail`: the worst of its findings.
    pub verdict: Verdict,
    /// Every finding that applies, worst first.
    pub findings: Vec<FindingReport>,
}

/// One finding.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FindingReport {
    /// The code.
    pub code: Code,
    /// `fail`, `overridable` or `note`.
    pub severity: Severity,
    /// Whether a waiver in force covers it.
    pub waived: bool,
    /// What was found, in words.
    pub message: String,
    /// The waiver that covers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<WaiverReport>,
    /// The bank entry matched, for match findings.
    #[serde(rename = "match", default, skip_serializing_if = "Option::is_none")]
    pub r#match: Option<MatchReport>,
    /// The generator trace, for `GENERATOR-TRACE` findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceReport>,
}

/// A generator trace: where it was found and what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceReport {
    /// e.g. `png-text:parameters`, `exif:UserComment`, `mp4:udta:prompt`, `watermark:sdxl`.
    pub signal: String,
    /// The first 200 characters of the prompt, or the watermark's matching bit count.
    pub detail: String,
}

/// The waiver applied to a finding.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WaiverReport {
    /// Who accepted it.
    pub by: String,
    /// Why.
    pub justification: String,
    /// Until when.
    pub expires: NaiveDate,
}

/// A bank entry a file matched.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatchReport {
    /// `ledger`, or the reference bank's name.
    pub bank: String,
    /// The entry's id in the store.
    pub entry_id: i64,
    /// For a ledger entry: the declaration's `use.ref`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_ref: Option<String>,
    /// For a reference entry: the work's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// For a reference entry: the work's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_id: Option<String>,
    /// For a ledger entry: the registered file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// `blake3` (byte-identical) or `pdq` (perceptual).
    pub method: String,
    /// Smallest PDQ distance (0 for an exact match).
    pub distance: Option<u32>,
    /// `audio` for a match of sound (Chromaprint); absent for pictures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    /// For audio: each range of `time_ranges` in seconds, to the millisecond.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audio_ranges: Vec<(f64, f64)>,
    /// For audio: the smallest share of fingerprint bits that differ in a matched window
    /// (0 is identical, unrelated sound is near 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bit_error_rate: Option<f64>,
    /// For a video: matched seconds as inclusive `[start, end]` ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub time_ranges: Vec<(u32, u32)>,
    /// For a video: the timecode of each range in `time_ranges` (its first and last matched
    /// frame, at the file's rate, from its start timecode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timecode: Vec<TimecodeRange>,
    /// For a video: the frame numbers (in the file, first and last matched) of each range in
    /// `time_ranges`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frame_ranges: Vec<(u64, u64)>,
    /// With `--edl` or `--otio`: the edit event of each range in `time_ranges`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shots: Vec<ShotReport>,
    /// For a track file of an IMF package: where the matched ranges play.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imf: Option<ImfMatch>,
    /// For a video: frames that matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames_matched: Option<u64>,
    /// For a video: frames hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames_total: Option<u64>,
    /// For a video: `frames_matched / frames_total`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// For a ledger video: the seconds of the ledger entry that matched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bank_seconds: Vec<u32>,
}

impl MatchReport {
    /// What matched, for tables: `ledger #3 (PREVIS-1)` or `library #7 (The Keeper)`.
    pub fn entry_label(&self) -> String {
        match (&self.use_ref, &self.title) {
            (Some(u), _) => format!("ledger #{} ({u})", self.entry_id),
            (None, Some(t)) => format!("{} #{} ({t})", self.bank, self.entry_id),
            _ => format!("{} #{}", self.bank, self.entry_id),
        }
    }
}

/// A matched range in timecode: `HH:MM:SS:FF` (`;` before the frames for drop-frame).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimecodeRange {
    /// First matched frame.
    #[serde(rename = "in")]
    pub r#in: String,
    /// Last matched frame.
    pub out: String,
    /// The rate the labels count at, `num/den`.
    pub rate: String,
}

/// The JSON report (one object, pretty-printed).
pub fn json(report: &ScanReport) -> String {
    serde_json::to_string_pretty(report)
        .expect("the report serializes: it holds only strings, numbers and maps with string keys")
}

/// The terminal summary: failing files with their findings, then notes, then the verdict.
pub fn human(report: &ScanReport, color: bool) -> String {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    for f in &report.files {
        if f.findings.is_empty() {
            continue;
        }
        let head = match f.verdict {
            Verdict::Fail => paint("1;31", "FAIL"),
            Verdict::Pass => paint("32", "pass"),
        };
        let _ = writeln!(out, "{head} {}", f.path);
        for x in &f.findings {
            let sev = match (x.severity, x.waived) {
                (_, true) => paint("33", "waived"),
                (Severity::Fail, _) => paint("31", "fail"),
                (Severity::Overridable, _) => paint("31", "fail*"),
                (Severity::Note, _) => paint("2", "note"),
            };
            let _ = writeln!(out, "  {sev:>6} {} {}", x.code, x.message);
            if let Some(m) = &x.r#match {
                for shot in &m.shots {
                    let at = m
                        .timecode
                        .get(shot.range)
                        .map(|t| format!("{}-{}", t.r#in, t.out))
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "         {at} is in shot {} {}{}(source {}-{})",
                        shot.event,
                        shot.clip.as_deref().unwrap_or(""),
                        shot.reel
                            .as_deref()
                            .map(|r| format!(" reel {r} "))
                            .unwrap_or_else(|| " ".into()),
                        shot.source_in,
                        shot.source_out
                    );
                }
                if let Some(imf) = &m.imf {
                    for c in &imf.compositions {
                        let _ = writeln!(
                            out,
                            "         plays in {} ({}) at {}-{}",
                            c.title, c.cpl, c.r#in, c.out
                        );
                    }
                }
            }
            if let Some(w) = &x.waiver {
                let _ = writeln!(
                    out,
                    "         waived by {} until {}: {}",
                    w.by, w.expires, w.justification
                );
            }
        }
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "{} files ({}), {} pass, {} fail{}",
        s.files,
        human_bytes(s.bytes),
        s.passed,
        s.failed,
        if s.cached > 0 {
            format!(", {} from cache", s.cached)
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        out,
        "checked against {} ledger entr{} and {} reference work entr{}{}",
        s.ledger_entries,
        if s.ledger_entries == 1 { "y" } else { "ies" },
        s.reference_entries,
        if s.reference_entries == 1 { "y" } else { "ies" },
        if s.ledger_entries == 0 && s.reference_entries == 0 {
            " (nothing registered: only credentials and AI markings were checked)"
        } else {
            ""
        }
    );
    if !s.by_code.is_empty() {
        let codes: Vec<String> = s.by_code.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let _ = writeln!(out, "findings: {}", codes.join(", "));
    }
    let verdict = match report.verdict {
        Verdict::Pass => paint("1;32", "PASS"),
        Verdict::Fail => paint("1;31", "FAIL"),
    };
    let _ = writeln!(out, "verdict: {verdict}");
    out
}

/// JUnit XML: one test case per file, failed when its verdict is fail.
/// The CSV report for QC tools: a header, then one row per finding (a video match: one row
/// per matched range), with timecode in/out, code, severity, file and shot.
pub fn csv(report: &ScanReport) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "file",
        "code",
        "severity",
        "waived",
        "timecode_in",
        "timecode_out",
        "rate",
        "seconds_in",
        "seconds_out",
        "shot",
        "entry",
        "message",
    ]);
    for f in &report.files {
        for x in &f.findings {
            let severity = match x.severity {
                Severity::Fail => "fail",
                Severity::Overridable => "overridable",
                Severity::Note => "note",
            };
            let entry = x
                .r#match
                .as_ref()
                .map(MatchReport::entry_label)
                .unwrap_or_default();
            let ranges = x.r#match.as_ref().map(|m| m.time_ranges.len()).unwrap_or(0);
            let row = |i: Option<usize>| {
                let m = x.r#match.as_ref();
                let tc = i.and_then(|i| m.and_then(|m| m.timecode.get(i)));
                let secs = i.and_then(|i| m.and_then(|m| m.time_ranges.get(i)));
                let shot = i
                    .and_then(|i| m.and_then(|m| m.shots.iter().find(|s| s.range == i)))
                    .map(|s| {
                        format!(
                            "{} {}",
                            s.event,
                            s.clip.as_deref().or(s.reel.as_deref()).unwrap_or("")
                        )
                        .trim()
                        .to_string()
                    })
                    .unwrap_or_default();
                vec![
                    greenlight_core::disclosure::formula_safe(&f.path),
                    x.code.as_str().to_string(),
                    severity.to_string(),
                    x.waived.to_string(),
                    tc.map(|t| t.r#in.clone()).unwrap_or_default(),
                    tc.map(|t| t.out.clone()).unwrap_or_default(),
                    tc.map(|t| t.rate.clone()).unwrap_or_default(),
                    secs.map(|s| s.0.to_string()).unwrap_or_default(),
                    secs.map(|s| s.1.to_string()).unwrap_or_default(),
                    greenlight_core::disclosure::formula_safe(&shot),
                    greenlight_core::disclosure::formula_safe(&entry),
                    greenlight_core::disclosure::formula_safe(&x.message),
                ]
            };
            if ranges == 0 {
                let _ = w.write_record(row(None));
            } else {
                for i in 0..ranges {
                    let _ = w.write_record(row(Some(i)));
                }
            }
        }
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

pub fn junit(report: &ScanReport) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"greenlight scan\" tests=\"{}\" failures=\"{}\">\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">",
        report.summary.files,
        report.summary.failed,
        esc(&report.root),
        report.summary.files,
        report.summary.failed
    );
    for f in &report.files {
        let _ = write!(
            out,
            "    <testcase classname=\"greenlight.scan\" name=\"{}\"",
            esc(&f.path)
        );
        let failing: Vec<_> = f
            .findings
            .iter()
            .filter(|x| crate::verdict::fails(x.severity, x.waived))
            .collect();
        let others: Vec<_> = f
            .findings
            .iter()
            .filter(|x| !crate::verdict::fails(x.severity, x.waived))
            .collect();
        if failing.is_empty() && others.is_empty() {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        if let Some(first) = failing.first() {
            let body: Vec<String> = failing
                .iter()
                .map(|x| format!("{}: {}", x.code, x.message))
                .collect();
            let _ = writeln!(
                out,
                "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                first.code,
                esc(&first.message),
                esc(&body.join("\n"))
            );
        }
        if !others.is_empty() {
            let body: Vec<String> = others
                .iter()
                .map(|x| {
                    format!(
                        "{}{}: {}",
                        x.code,
                        if x.waived { " (waived)" } else { "" },
                        x.message
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "      <system-out>{}</system-out>",
                esc(&body.join("\n"))
            );
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Thumbnails for the HTML report: delivered files by path (the matched frame for a video),
/// and ledger entries by id. Reference banks have none: they hold no images.
#[derive(Debug, Default)]
pub struct Thumbnails {
    /// JPEG of the delivered file (or matched frame), by [`delivered_key`].
    pub delivered: HashMap<String, Vec<u8>>,
    /// JPEG of the ledger entry, by entry id.
    pub ledger: HashMap<i64, Vec<u8>>,
}

/// The key of a delivered thumbnail: the path, and for a video the first matched second.
pub fn delivered_key(path: &str, m: &MatchReport) -> String {
    match m.time_ranges.first() {
        Some((start, _)) => range_key(path, *start),
        None => path.to_string(),
    }
}

/// The key of the delivered thumbnail of the matched range that starts at `second`.
pub fn range_key(path: &str, second: u32) -> String {
    format!("{path}#t={second}")
}

/// Rows of the timecode table: every matched video range with a timecode, sorted by
/// timecode, then file.
fn timecode_rows(report: &ScanReport, thumbs: &Thumbnails) -> String {
    let mut rows: Vec<(String, String)> = Vec::new();
    for f in &report.files {
        for x in &f.findings {
            let Some(m) = &x.r#match else { continue };
            for (i, t) in m.timecode.iter().enumerate() {
                let second = m.time_ranges.get(i).map_or(0, |r| r.0);
                let shot = m
                    .shots
                    .iter()
                    .find(|s| s.range == i)
                    .map(|s| {
                        format!(
                            "{} {}",
                            s.event,
                            s.clip.as_deref().or(s.reel.as_deref()).unwrap_or("")
                        )
                    })
                    .unwrap_or_default();
                let entry = m.entry_label();
                let thumb = thumbs
                    .delivered
                    .get(&range_key(&f.path, second))
                    .map(|b| {
                        format!(
                            "<img alt=\"frame\" src=\"data:image/jpeg;base64,{}\">",
                            base64::engine::general_purpose::STANDARD.encode(b)
                        )
                    })
                    .unwrap_or_default();
                let sev = if x.waived {
                    "waived"
                } else {
                    sev_name(x.severity)
                };
                rows.push((
                    format!("{}\u{0}{}", t.r#in, f.path),
                    format!(
                        "<tr class=\"{sev}\"><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td><b>{}</b> {sev}</td><td>{}</td><td>{}</td><td>{thumb}</td></tr>\n",
                        esc(&t.r#in),
                        esc(&t.out),
                        esc(&t.rate),
                        esc(&f.path),
                        x.code,
                        esc(&entry),
                        esc(&shot)
                    ),
                ));
            }
        }
    }
    rows.sort();
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<section class=\"timecodes\"><h2>Matches by timecode</h2><table><thead><tr><th>In</th><th>Out</th><th>Rate</th><th>File</th><th>Finding</th><th>Matches</th><th>Shot</th><th>Frame</th></tr></thead><tbody>\n",
    );
    for (_, row) in rows {
        out.push_str(&row);
    }
    out.push_str("</tbody></table></section>\n");
    out
}

/// A self-contained HTML page (inline CSS and `data:` images, no scripts, no external
/// requests) for a producer: the verdict, then each file with findings, matched thumbnails
/// side by side.
pub fn html(report: &ScanReport, thumbs: &Thumbnails) -> String {
    let mut out = String::new();
    let verdict_class = if report.verdict == Verdict::Fail {
        "fail"
    } else {
        "pass"
    };
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Delivery scan: {verdict}</title>\n<style>{CSS}</style></head><body>\n\
         <header class=\"{verdict_class}\"><h1>Delivery {verdict}</h1><p>{root} &middot; scanned as of {as_of} &middot; {files} files, {bytes}, {passed} pass, {failed} fail</p></header>\n<main>\n",
        verdict = report.verdict.as_str().to_uppercase(),
        root = esc(&report.root),
        as_of = report.as_of,
        files = report.summary.files,
        bytes = human_bytes(report.summary.bytes),
        passed = report.summary.passed,
        failed = report.summary.failed,
    );
    out.push_str(&timecode_rows(report, thumbs));
    let mut listed = 0;
    for f in report.files.iter().filter(|f| !f.findings.is_empty()) {
        listed += 1;
        let _ = write!(
            out,
            "<section class=\"file {v}\"><h2><span class=\"badge {v}\">{V}</span> {path}</h2><p class=\"meta\">{media} &middot; BLAKE3 <code>{b3}</code></p>\n<ul>",
            v = f.verdict.as_str(),
            V = f.verdict.as_str().to_uppercase(),
            path = esc(&f.path),
            media = esc(f.media_type.as_deref().unwrap_or("unknown")),
            b3 = esc(f.blake3.as_deref().unwrap_or("-")),
        );
        for x in &f.findings {
            let sev = if x.waived {
                "waived"
            } else {
                sev_name(x.severity)
            };
            let _ = write!(
                out,
                "<li class=\"{sev}\"><b>{}</b> <span class=\"sev\">{sev}</span> {}",
                x.code,
                esc(&x.message)
            );
            if let Some(w) = &x.waiver {
                let _ = write!(
                    out,
                    "<br><small>Waived by {} until {}: {}</small>",
                    esc(&w.by),
                    w.expires,
                    esc(&w.justification)
                );
            }
            if let Some(m) = &x.r#match {
                out.push_str("<div class=\"pair\">");
                let key = delivered_key(&f.path, m);
                let shown = key
                    .strip_prefix(&f.path)
                    .map(|t| format!("{}{t}", f.path))
                    .unwrap_or_else(|| f.path.clone());
                out.push_str(&figure(thumbs.delivered.get(&key), "Delivered", &shown));
                if m.bank == "ledger" {
                    let caption = format!(
                        "#{} {} (use {})",
                        m.entry_id,
                        m.file_name.as_deref().unwrap_or(""),
                        m.use_ref.as_deref().unwrap_or("")
                    );
                    out.push_str(&figure(
                        thumbs.ledger.get(&m.entry_id),
                        "Ledger entry",
                        &caption,
                    ));
                } else {
                    let _ = write!(
                        out,
                        "<figure class=\"ref\"><div class=\"noimg\">Reference bank <b>{}</b><br>{}<br>id {}</div><figcaption>Protected work (no image kept)</figcaption></figure>",
                        esc(&m.bank),
                        esc(m.title.as_deref().unwrap_or("")),
                        esc(m.work_id.as_deref().unwrap_or(""))
                    );
                }
                out.push_str("</div>");
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ul></section>\n");
    }
    if listed == 0 {
        out.push_str("<p>No findings: every file passes.</p>\n");
    }
    let clean = report
        .files
        .iter()
        .filter(|f| f.findings.is_empty())
        .count();
    let _ = write!(
        out,
        "<p class=\"meta\">{clean} other file(s) without findings.</p>\n</main></body></html>\n"
    );
    out
}

const CSS: &str = "table{border-collapse:collapse;margin:1em 2em}td,th{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:middle}td img{max-height:60px}body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#222}header{padding:1em 2em;color:#fff}\
header.pass{background:#1b7a3a}header.fail{background:#b3261e}main{padding:1em 2em}h1{margin:.2em 0}\
section.file{border:1px solid #ddd;border-radius:6px;margin:1em 0;padding:.5em 1em}h2{font-size:1.05em}\
.badge{display:inline-block;padding:0 .5em;border-radius:3px;color:#fff;font-size:.85em}.badge.pass{background:#1b7a3a}\
.badge.fail{background:#b3261e}.meta{color:#666;font-size:.9em}code{font-size:.85em;word-break:break-all}\
li{margin:.5em 0}.sev{font-size:.8em;color:#666;text-transform:uppercase}li.fail b,li.overridable b{color:#b3261e}\
li.waived b{color:#8a6d00}.pair{display:flex;gap:1em;margin:.5em 0}figure{margin:0}figure img{max-width:192px;border:1px solid #ccc}\
.noimg{width:192px;min-height:100px;border:1px dashed #999;display:flex;flex-direction:column;justify-content:center;text-align:center;font-size:.85em}\
figcaption{font-size:.8em;color:#555;max-width:192px}";

fn sev_name(s: Severity) -> &'static str {
    match s {
        Severity::Fail => "fail",
        Severity::Overridable => "overridable",
        Severity::Note => "note",
    }
}

fn figure(jpeg: Option<&Vec<u8>>, label: &str, caption: &str) -> String {
    match jpeg {
        Some(bytes) => format!(
            "<figure><img alt=\"{label}\" src=\"data:image/jpeg;base64,{}\"><figcaption>{label}: {}</figcaption></figure>",
            base64::engine::general_purpose::STANDARD.encode(bytes),
            esc(caption)
        ),
        None => format!(
            "<figure><div class=\"noimg\">no preview</div><figcaption>{label}: {}</figcaption></figure>",
            esc(caption)
        ),
    }
}

/// Escapes text for HTML and XML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> ScanReport {
        ScanReport {
            verdict: Verdict::Fail,
            root: "/d".into(),
            as_of: "2026-11-23".parse().expect("date"),
            files: vec![FileReport {
                path: "a <b>.png".into(),
                blake3: Some("00".repeat(32)),
                sha256: None,
                media_type: Some("image/png".into()),
                size: Some(3),
                pdq: None,
                pdq_quality: None,
                verdict: Verdict::Fail,
                findings: vec![FindingReport {
                    code: Code::TempAsset,
                    severity: Severity::Fail,
                    waived: false,
                    message: "matches \"x\" & y".into(),
                    waiver: None,
                    r#match: None,
                    trace: None,
                }],
            }],
            compositions: vec![],
            summary: Summary {
                files: 1,
                failed: 1,
                ..Default::default()
            },
        }
    }

    #[test]
    fn json_has_the_decided_shape() {
        let v: serde_json::Value = serde_json::from_str(&json(&report())).expect("json");
        assert_eq!(v["verdict"], "fail");
        let f = &v["files"][0];
        for k in ["path", "blake3", "media_type", "verdict", "findings"] {
            assert!(f.get(k).is_some(), "{k}");
        }
        let x = &f["findings"][0];
        assert_eq!(
            (
                x["code"].as_str(),
                x["severity"].as_str(),
                x["waived"].as_bool()
            ),
            (Some("TEMP-ASSET"), Some("fail"), Some(false))
        );
        assert!(v["summary"].is_object());
    }

    #[test]
    fn junit_and_html_escape_what_they_quote() {
        let j = junit(&report());
        assert!(j.contains("name=\"a &lt;b&gt;.png\""));
        assert!(j.contains("<failure type=\"TEMP-ASSET\""));
        let h = html(&report(), &Thumbnails::default());
        assert!(h.contains("a &lt;b&gt;.png") && !h.contains("a <b>.png"));
        assert!(!h.contains("<script"));
    }
}
