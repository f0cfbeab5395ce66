//! The scan pipeline: walk, analyse each file (digests, media type, PDQ, credentials, XMP;
//! cached), match against the banks, turn what was found into findings and verdicts.
//!
//! Analysis runs on the rayon pool, one file per task; what a file holds never stops the scan:
//! a file that cannot be read or decoded, or that changes while it is read, becomes an
//! `UNREADABLE` finding. Memory stays bounded: images are decoded under the decoder's limits,
//! video frames are streamed one at a time at a fixed size.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cache::{Cache, CacheKey};
use crate::credentials::{Credential, CredentialReader, CredentialState};
use crate::declarations::Declarations;
use crate::digest::{Digests, digest_file};
use crate::index::PdqIndex;
use crate::media::{MediaKind, MediaType, pdq_decodable, sniff_file};
use crate::package::DeliveryPackages;
use crate::pdq::{self, LOW_QUALITY_THRESHOLD, PdqDihedral, PdqHash, PdqPath};
use crate::report::{FileReport, FindingReport, MatchReport, ScanReport, Summary, TimecodeRange};
use crate::timecode::{EditRate, TimecodeFormat};
use crate::timed_text;
use crate::verdict::{Code, Policy, Severity, Verdict, fails};
use crate::video::{self, FrameHash};
use crate::waiver::{WaiverMatch, Waivers};
use crate::walk::{FileStamp, WalkEntry, walk};
use crate::xmp;
use greenlight_store::banks::{Asset, HashType, Reference};

/// Largest image file decoded for PDQ; a bigger one is `UNREADABLE` (it is still hashed).
pub const MAX_IMAGE_FILE: u64 = 512 * 1024 * 1024;

/// Files of an unknown type at least this large are asked to `ffprobe` whether they are video.
const MIN_PROBED_SIZE: u64 = 1024;

/// A type the sniffer does not know may still be video to ffmpeg (MPEG-TS variants, raw
/// elementary streams, ...): anything ffprobe reads as video is video.
fn probe_unknown(path: &Path, sniffed: &MediaType) -> Option<(MediaType, video::VideoInfo)> {
    if sniffed.kind != MediaKind::Other
        || sniffed.mime != "application/octet-stream"
        || !ffprobe_runs()
    {
        return None;
    }
    let info = video::probe(path).ok()??;
    let media = MediaType {
        mime: crate::media::video_mime(&info.container),
        kind: MediaKind::Video,
    };
    Some((media, info))
}

/// Whether `ffprobe` runs here (asked once per process).
fn ffprobe_runs() -> bool {
    static RUNS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *RUNS.get_or_init(|| video::ffmpeg_available().is_ok())
}

/// Options of one scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Compute SHA-256 as well.
    pub sha256: bool,
    /// PDQ match threshold (Hamming distance, inclusive).
    pub max_distance: u32,
    /// Read and write the cache.
    pub use_cache: bool,
    /// Cache file; default `.greenlight-cache.jsonl` at the delivery root.
    pub cache_path: Option<PathBuf>,
    /// Severity options.
    pub policy: Policy,
    /// The date waivers and the EU pack are evaluated on.
    pub as_of: NaiveDate,
    /// Original-version IMF packages that supplemental packages in the delivery may play
    /// track files from (`--ov`).
    pub ov: Vec<PathBuf>,
    /// The frame rate of image sequences, for their timecode (`--sequence-rate`).
    pub sequence_rate: EditRate,
    /// An edit list (CMX 3600 EDL or OTIO) whose record timecode is the delivered files'
    /// timecode: each matched range is named by its edit event (`--edl`, `--otio`).
    pub edit_list: Option<PathBuf>,
}

/// What was learnt about one file, independent of banks and policy (so it can be cached).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileFacts {
    /// Digests.
    pub digests: Digests,
    /// Media type sniffed from content.
    pub media: MediaType,
    /// Size in bytes.
    pub size: u64,
    /// PDQ of an image: eight dihedral hashes and quality, and the decode path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq: Option<(PdqDihedral, PdqPath)>,
    /// PDQ of a video's sampled frames (one a second, at exact frame positions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<FrameHash>,
    /// A file whose data ends early, hashed from what decodes: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<String>,
    /// What ffprobe said of a video: codec, frame rate, start timecode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<video::VideoInfo>,
    /// The first audio stream and its Chromaprint fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<crate::audio::AudioFacts>,
    /// The content credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<Credential>,
    /// Digital source types in XMP.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub xmp_source_types: Vec<String>,
    /// IPTC 2025.1 AI properties in XMP (AI System Used, its version, the prompt, its writer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub xmp_ai: Vec<xmp::AiProperty>,
    /// Generator traces: prompts and graphs in metadata, the SD/SDXL watermark.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traces: Vec<crate::trace::Trace>,
    /// Why part of the file could not be analysed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// A problem that may be gone next time (the file changed while being read, or an I/O
    /// error): such facts are not cached. A decode error is not transient: the same bytes
    /// give it again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub transient: bool,
}

/// Why a scan could not run at all (exit 4).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The delivery path cannot be read.
    #[error(transparent)]
    Walk(#[from] crate::walk::WalkError),
    /// The edit list cannot be read.
    #[error(transparent)]
    EditList(#[from] crate::edl::EdlError),
    /// The delivery holds video or sound and `ffmpeg` is missing.
    #[error("{count} video or audio file(s) in the delivery (first: {first}), but {source}")]
    NoFfmpeg {
        /// How many videos.
        count: usize,
        /// The first one.
        first: String,
        /// Why ffmpeg cannot run.
        source: video::VideoError,
    },
}

/// Progress callbacks (files and bytes done), for a progress bar.
pub trait Progress: Sync {
    /// Called once with the totals, after the walk.
    fn start(&self, files: u64, bytes: u64);
    /// Called after each file.
    fn file_done(&self, bytes: u64);
}

/// No progress reporting.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: u64, _: u64) {}
    fn file_done(&self, _: u64) {}
}

/// The banks a scan matches against.
#[derive(Debug, Default)]
pub struct Banks {
    /// The production's ledger.
    pub ledger: Vec<Asset>,
    /// Reference-bank entries.
    pub references: Vec<Reference>,
    /// Reference-bank entries holding audio fingerprints of protected recordings.
    pub audio_references: Vec<greenlight_store::banks::AudioReference>,
}

/// Everything a scan needs besides the delivery.
pub struct ScanInputs<'a> {
    /// Banks.
    pub banks: &'a Banks,
    /// Declarations and decisions.
    pub declarations: Option<&'a Declarations>,
    /// Waivers.
    pub waivers: &'a Waivers,
    /// Credential reader (trust anchors).
    pub credentials: &'a CredentialReader,
}

/// Scans the delivery at `root`.
pub fn scan(
    root: &Path,
    options: &ScanOptions,
    inputs: &ScanInputs<'_>,
    progress: &dyn Progress,
) -> Result<ScanReport, ScanError> {
    let walked = walk(root, 0)?;
    let packages = DeliveryPackages::find(&walked.files, &options.ov);
    let total_bytes: u64 = walked.files.iter().map(|f| f.stamp.size).sum();
    progress.start(walked.files.len() as u64, total_bytes);

    let cache_path = options
        .cache_path
        .clone()
        .or_else(|| crate::cache::default_path(root));
    let config = cache_config(options);
    let cache: Cache<FileFacts> = match (&cache_path, options.use_cache) {
        (Some(path), true) => Cache::open(path),
        _ => Cache::open(Path::new("")),
    };

    // Sniff first: a delivery with video needs ffmpeg, and that is known before any hashing.
    let kinds: Vec<Option<MediaType>> = walked
        .files
        .par_iter()
        .map(|f| sniff_file(&f.path).ok())
        .collect();
    let videos: Vec<&WalkEntry> = walked
        .files
        .iter()
        .zip(&kinds)
        .filter(|(_, k)| {
            k.as_ref().is_some_and(|k| {
                k.kind == MediaKind::Video
                    || k.kind == MediaKind::Audio
                    || matches!(k.mime.as_str(), "image/x-dpx" | "image/x-exr")
            })
        })
        .map(|(f, _)| f)
        .collect();
    if let Some(first) = videos.first() {
        video::ffmpeg_available().map_err(|source| ScanError::NoFfmpeg {
            count: videos.len(),
            first: first.rel.clone(),
            source,
        })?;
    }

    let cached = AtomicU64::new(0);
    let mut analysed: Vec<(FileFacts, bool)> = walked
        .files
        .par_iter()
        .map(|entry| {
            let key = CacheKey {
                rel: entry.rel.clone(),
                stamp: entry.stamp,
                config: config.clone(),
            };
            // A picture track file of an IMF package is sampled where its compositions need it:
            // that depends on the package's CPLs, not only on the file, so it is not cached.
            let extra = packages.extra_frames(&entry.path);
            if let Some(extra) = extra {
                let _span = tracing::info_span!("scan_file", path = %entry.rel).entered();
                let facts = analyse_with(entry, options, inputs.credentials, Some(extra));
                progress.file_done(entry.stamp.size);
                return (facts, false);
            }
            if options.use_cache
                && let Some(facts) = cache.get(&key)
            {
                cached.fetch_add(1, Ordering::Relaxed);
                progress.file_done(entry.stamp.size);
                return (facts.clone(), true);
            }
            let _span = tracing::info_span!("scan_file", path = %entry.rel).entered();
            let facts = analyse(entry, options, inputs.credentials);
            progress.file_done(entry.stamp.size);
            // Cache only what the same bytes would give again: not a file that changed while
            // being read, nor an I/O error that may be gone next time (a decode error stays).
            let stable = !facts.transient;
            (facts, stable)
        })
        .collect();

    if options.use_cache {
        let mut cache = cache;
        for (entry, (facts, stable)) in walked.files.iter().zip(&analysed) {
            if *stable {
                cache.put(
                    CacheKey {
                        rel: entry.rel.clone(),
                        stamp: entry.stamp,
                        config: config.clone(),
                    },
                    facts.clone(),
                );
            }
        }
        if let Some(path) = &cache_path
            && let Err(e) = cache.save()
        {
            tracing::warn!("cache {} not written: {e}", path.display());
        }
    }

    let sequences = {
        let listing: Vec<(&str, &str)> = walked
            .files
            .iter()
            .zip(&analysed)
            .map(|(e, (f, _))| (e.rel.as_str(), f.media.mime.as_str()))
            .collect();
        crate::sequence::find(&listing, |i| {
            crate::sequence::still_size(&walked.files[i].path)
        })
    };
    hash_sequence_frames(&sequences, &walked.files, &mut analysed, options);

    let matcher = Matcher::new(inputs.banks, options.max_distance);
    let mut files: Vec<FileReport> = walked
        .files
        .iter()
        .zip(&analysed)
        .map(|(entry, (facts, _))| {
            let mut f = judge(&entry.rel, facts, &matcher, inputs, options);
            for x in &mut f.findings {
                if let Some(m) = &mut x.r#match
                    && !m.frame_ranges.is_empty()
                {
                    // A sound track file counts in its own edit units (samples, mostly).
                    m.imf = match packages.edit_rate(&entry.path) {
                        Some(rate) if m.medium.as_deref() == Some("audio") => packages.placements(
                            &entry.path,
                            &crate::audio::edit_units(&m.audio_ranges, rate),
                        ),
                        _ => packages.placements(&entry.path, &m.frame_ranges),
                    };
                }
            }
            f
        })
        .collect();
    for p in packages.findings(root) {
        let at = match files.iter().position(|f| f.path == p.rel) {
            Some(i) => i,
            None => {
                files.push(FileReport {
                    path: p.rel.clone(),
                    blake3: None,
                    sha256: None,
                    media_type: None,
                    size: None,
                    pdq: None,
                    pdq_quality: None,
                    verdict: Verdict::Pass,
                    findings: vec![],
                });
                files.len() - 1
            }
        };
        push_finding(&mut files[at], p.code, p.message, None, inputs, options);
        finish(&mut files[at]);
    }
    let paths = crate::sequence::report_paths(&sequences);
    for (s, path) in sequences.iter().zip(paths) {
        let f = sequence_report(s, path, &files, &analysed, inputs, options);
        files.push(f);
    }
    for problem in &walked.problems {
        let mut f = FileReport {
            path: problem.rel.clone(),
            blake3: None,
            sha256: None,
            media_type: None,
            size: None,
            pdq: None,
            pdq_quality: None,
            verdict: Verdict::Pass,
            findings: vec![],
        };
        push_finding(
            &mut f,
            Code::Unreadable,
            format!("could not be read: {}", problem.message),
            None,
            inputs,
            options,
        );
        finish(&mut f);
        files.push(f);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));

    let mut by_code: BTreeMap<String, u64> = BTreeMap::new();
    for f in &files {
        for finding in &f.findings {
            *by_code
                .entry(finding.code.as_str().to_string())
                .or_default() += 1;
        }
    }
    let failed = files.iter().filter(|f| f.verdict == Verdict::Fail).count() as u64;
    let verdict = if failed > 0 {
        Verdict::Fail
    } else {
        Verdict::Pass
    };
    if let Some(path) = &options.edit_list {
        name_shots(&mut files, path)?;
    }
    let compositions = packages.compositions(root, &files);
    Ok(ScanReport {
        verdict,
        compositions,
        root: root.display().to_string(),
        as_of: options.as_of,
        summary: Summary {
            files: files.len() as u64,
            bytes: total_bytes,
            passed: files.len() as u64 - failed,
            failed,
            cached: cached.into_inner(),
            ledger_entries: inputs.banks.ledger.len() as u64,
            reference_entries: inputs.banks.references.len() as u64,
            by_code,
        },
        files,
    })
}

/// Matched time ranges, frames matched, frames hashed.
type FrameSpan = (
    Vec<(u32, u32)>,
    usize,
    usize,
    Vec<(u64, u64)>,
    Vec<TimecodeRange>,
);

const CHANGED: &str = "changed while being scanned";
const READ_FAILED: &str = "could not be read";

fn cache_config(options: &ScanOptions) -> String {
    // `frames=...@Nfps,exact`: the frame sampling (exact frame positions, numbered frames
    // and the video's probe; older entries sampled with the `fps` filter).
    format!(
        "{};{};pdq=exact;frames={}x{}@{}fps,exact;traces=1,iptc2025;audio=chromaprint",
        env!("CARGO_PKG_VERSION"),
        if options.sha256 {
            "blake3+sha256"
        } else {
            "blake3"
        },
        video::FRAME_SIDE,
        video::FRAME_SIDE,
        video::DELIVERY_FRAMES_PER_SECOND
    )
}

/// Analyses one file: never fails, problems are recorded in the facts.
pub fn analyse(
    entry: &WalkEntry,
    options: &ScanOptions,
    credentials: &CredentialReader,
) -> FileFacts {
    analyse_with(entry, options, credentials, None)
}

/// As [`analyse`]; a video also gets the frames `extra` hashed besides one a second.
pub fn analyse_with(
    entry: &WalkEntry,
    options: &ScanOptions,
    credentials: &CredentialReader,
    extra: Option<Vec<u64>>,
) -> FileFacts {
    let path = &entry.path;
    let mut problems = Vec::new();
    let media = sniff_file(path).unwrap_or_else(|e| {
        problems.push(format!("{READ_FAILED}: {e}"));
        MediaType {
            mime: "application/octet-stream".into(),
            kind: MediaKind::Other,
        }
    });
    let digests = match digest_file(path, options.sha256) {
        Ok(d) => d,
        Err(e) => {
            problems.push(format!("{READ_FAILED}: {e}"));
            Digests {
                blake3: String::new(),
                sha256: None,
            }
        }
    };
    let mut facts = FileFacts {
        digests,
        media: media.clone(),
        size: entry.stamp.size,
        pdq: None,
        frames: vec![],
        video: None,
        audio: None,
        truncated: None,
        credential: None,
        xmp_source_types: vec![],
        xmp_ai: vec![],
        traces: vec![],
        transient: !problems.is_empty(),
        problems,
    };
    if !facts.problems.is_empty() {
        return facts;
    }
    if entry.stamp.size >= MIN_PROBED_SIZE
        && let Some((media, info)) = probe_unknown(path, &facts.media)
    {
        facts.media = media;
        facts.video = Some(info);
    }
    let media = facts.media.clone();
    match media.kind {
        MediaKind::Image if pdq_decodable(&media.mime) => {
            if entry.stamp.size > MAX_IMAGE_FILE {
                facts.problems.push(format!(
                    "image file larger than {} MiB is not decoded",
                    MAX_IMAGE_FILE >> 20
                ));
            } else {
                match std::fs::read(path) {
                    // One decode for PDQ (the exact path) and the watermark.
                    Ok(bytes) => match crate::decode::decode_with_limits(
                        &bytes,
                        &crate::decode::Limits::default(),
                    ) {
                        Ok(image) => {
                            facts.pdq = Some((pdq::hash_decoded_dihedral(&image), PdqPath::Exact));
                            facts
                                .traces
                                .extend(crate::trace_scan::watermark_in_image(&image));
                        }
                        // A JPEG that ends early is hashed from what decodes, as Meta's hasher
                        // does, so it still meets perceptual matching (TRUNCATED says so).
                        Err(e @ crate::decode::DecodeError::Truncated { .. }) => {
                            match crate::decode::decode_truncated_jpeg(
                                &bytes,
                                &crate::decode::Limits::default(),
                            ) {
                                Ok(image) => {
                                    facts.pdq =
                                        Some((pdq::hash_decoded_dihedral(&image), PdqPath::Exact));
                                    facts
                                        .traces
                                        .extend(crate::trace_scan::watermark_in_image(&image));
                                    facts.truncated = Some(e.to_string());
                                }
                                Err(_) => facts
                                    .problems
                                    .push(format!("image could not be decoded: {e}")),
                            }
                        }
                        Err(e) => facts
                            .problems
                            .push(format!("image could not be decoded: {e}")),
                    },
                    Err(e) => {
                        facts.problems.push(format!("{READ_FAILED}: {e}"));
                        facts.transient = true;
                    }
                }
            }
        }
        MediaKind::Video => {
            let info = match facts.video.clone() {
                Some(info) => Ok(Some(info)),
                None => video::probe(path),
            };
            match info {
                Ok(Some(info)) => {
                    match video::frame_hashes(
                        path,
                        &info,
                        match extra {
                            Some(extra) => video::Sampling::PerSecondAnd(
                                video::DELIVERY_FRAMES_PER_SECOND,
                                extra,
                            ),
                            None => video::Sampling::PerSecond(video::DELIVERY_FRAMES_PER_SECOND),
                        },
                        video::MAX_SECONDS,
                    ) {
                        Ok(frames) => {
                            facts.frames = frames;
                            facts
                                .traces
                                .extend(crate::trace_scan::watermark_in_video(path, &info));
                        }
                        Err(e) => facts.problems.push(e.to_string()),
                    }
                    facts.video = Some(info);
                }
                // A file of sound alone (an IMF audio track file, an MP4 of audio) is audio,
                // not a video whose pictures cannot be read.
                Ok(None) if video::has_audio(path) => {
                    facts.media.kind = MediaKind::Audio;
                }
                // An IMF subtitle or caption track file: its images are hashed as pictures.
                Ok(None) if media.mime == "application/mxf" => match timed_text::read(path) {
                    Ok(Some(tt)) => hash_subtitle_images(&tt, &mut facts),
                    Ok(None) => facts.problems.push(
                        "application/mxf holds neither video, sound nor timed text ffmpeg or Greenlight can read: its content cannot be checked"
                            .into(),
                    ),
                    Err(e) => facts.problems.push(format!("timed text: {e}")),
                },
                Ok(None) => facts.problems.push(format!(
                    "{} holds no video stream ffmpeg can read: its pictures cannot be checked",
                    media.mime
                )),
                // ffprobe may refuse an MXF holding only timed text.
                Err(e) if media.mime == "application/mxf" => match timed_text::read(path) {
                    Ok(Some(tt)) => hash_subtitle_images(&tt, &mut facts),
                    _ => facts.problems.push(e.to_string()),
                },
                Err(e) => facts.problems.push(e.to_string()),
            }
        }
        _ => {}
    }
    if matches!(facts.media.kind, MediaKind::Video | MediaKind::Audio) {
        crate::audio::analyse_into(path, &mut facts);
    }
    if matches!(
        media.kind,
        MediaKind::Image | MediaKind::Video | MediaKind::Audio
    ) {
        match credentials.read(path, &media.mime) {
            Ok(c) => facts.credential = c,
            Err(e) => facts
                .problems
                .push(format!("content credential could not be read: {e}")),
        }
        match xmp::read_file(path) {
            Ok(x) => {
                facts.xmp_source_types = x.source_types;
                facts.xmp_ai = x.ai;
            }
            Err(e) => {
                facts.problems.push(format!("{READ_FAILED}: {e}"));
                facts.transient = true;
            }
        }
        crate::trace_scan::metadata_traces(path, &mut facts);
    }
    match FileStamp::of(path) {
        Ok(after) if after.size == entry.stamp.size && after.mtime_ns == entry.stamp.mtime_ns => {}
        Ok(_) => {
            facts.problems.push(format!(
                "{CHANGED} (size or modification time differs before and after)"
            ));
            facts.transient = true;
        }
        Err(e) => {
            facts.problems.push(format!("{CHANGED}: {e}"));
            facts.transient = true;
        }
    }
    facts
}

/// Hashes every image of an IMSC image-profile track as a frame shown at its begin time.
fn hash_subtitle_images(tt: &timed_text::TimedText, facts: &mut FileFacts) {
    for (i, image) in tt.images.iter().enumerate() {
        match pdq::hash_image_bytes_dihedral_with(tt.png(image), &pdq::PdqOptions::default()) {
            Ok((d, _)) => facts.frames.push(video::FrameHash {
                millis: image.begin_ms,
                hash: d.original(),
                quality: d.quality,
                frame: None,
            }),
            Err(e) => facts.problems.push(format!(
                "subtitle image {} could not be decoded: {e}",
                i + 1
            )),
        }
    }
}

/// What a bank hit points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Target {
    Ledger(usize),
    Reference(usize),
    AudioReference(usize),
}

/// The banks, indexed for matching.
pub struct Matcher<'a> {
    banks: &'a Banks,
    max_distance: u32,
    exact: HashMap<String, Vec<Target>>,
    index: PdqIndex,
    // index id -> (target, ledger frame time in milliseconds)
    ids: Vec<(Target, Option<u32>)>,
}

#[derive(Debug, Default)]
struct Hit {
    exact: bool,
    distance: Option<u32>,
    delivered_seconds: Vec<u32>,
    // Frame numbers of the delivered frames that matched (when the frames are numbered).
    delivered_frames: Vec<(u32, u64)>,
    // Whole seconds of the bank entry's matched frames (its frames are finer than a second).
    bank_seconds: Vec<u32>,
    // Where the entry's sound plays in the file's sound (audio matches only).
    audio: Option<crate::audio::AudioHit>,
}

impl<'a> Matcher<'a> {
    /// Indexes the banks: exact BLAKE3, and PDQ hashes of quality at least 50.
    pub fn new(banks: &'a Banks, max_distance: u32) -> Self {
        let mut exact: HashMap<String, Vec<Target>> = HashMap::new();
        let mut index = PdqIndex::new(max_distance);
        let mut ids = Vec::new();
        let mut add = |hash: &str, target: Target, millis: Option<u32>, index: &mut PdqIndex| {
            if let Ok(h) = PdqHash::from_hex(hash) {
                index.insert(ids.len() as u64, h);
                ids.push((target, millis));
            }
        };
        for (i, a) in banks.ledger.iter().enumerate() {
            exact
                .entry(a.blake3.to_ascii_lowercase())
                .or_default()
                .push(Target::Ledger(i));
            if let (Some(h), Some(q)) = (&a.pdq, a.pdq_quality)
                && q >= LOW_QUALITY_THRESHOLD
            {
                add(h, Target::Ledger(i), None, &mut index);
            }
            for f in a
                .frames
                .iter()
                .filter(|f| f.quality >= LOW_QUALITY_THRESHOLD)
            {
                add(&f.pdq, Target::Ledger(i), Some(f.millis), &mut index);
            }
        }
        for (i, r) in banks.references.iter().enumerate() {
            match r.hash_type {
                HashType::Blake3 => exact
                    .entry(r.hash.to_ascii_lowercase())
                    .or_default()
                    .push(Target::Reference(i)),
                HashType::Pdq if r.quality.is_none_or(|q| q >= LOW_QUALITY_THRESHOLD) => {
                    add(&r.hash, Target::Reference(i), None, &mut index)
                }
                HashType::Pdq => {}
            }
        }
        // Fold the last additions into the tables: left pending, up to an eighth of the bank
        // would be searched by a linear scan on every query.
        index.rebuild();
        Self {
            banks,
            max_distance,
            exact,
            index,
            ids,
        }
    }

    fn hits(&self, facts: &FileFacts) -> BTreeMap<Target, Hit> {
        let mut hits: BTreeMap<Target, Hit> = BTreeMap::new();
        for t in self.exact.get(&facts.digests.blake3).into_iter().flatten() {
            let h = hits.entry(*t).or_default();
            h.exact = true;
            h.distance = Some(0);
        }
        if let Some((d, _)) = &facts.pdq
            && d.quality >= LOW_QUALITY_THRESHOLD
        {
            for (id, dist) in self.index.query_dihedral(d, self.max_distance) {
                let (t, millis) = self.ids[id as usize];
                let h = hits.entry(t).or_default();
                h.distance = Some(h.distance.map_or(dist, |x| x.min(dist)));
                h.bank_seconds.extend(millis.map(|ms| ms / 1000));
            }
        }
        for f in facts
            .frames
            .iter()
            .filter(|f| f.quality >= LOW_QUALITY_THRESHOLD)
        {
            for (id, dist) in self.index.query(&f.hash, self.max_distance) {
                let (t, millis) = self.ids[id as usize];
                let h = hits.entry(t).or_default();
                h.distance = Some(h.distance.map_or(dist, |x| x.min(dist)));
                // Several bank frames (a quarter second apart) may match one delivered frame:
                // the delivered second is counted once when the hit is reported.
                h.delivered_seconds.push(f.second());
                if let Some(n) = f.frame {
                    h.delivered_frames.push((f.second(), n));
                }
                h.bank_seconds.extend(millis.map(|ms| ms / 1000));
            }
        }
        hits
    }
}

fn judge(
    rel: &str,
    facts: &FileFacts,
    matcher: &Matcher<'_>,
    inputs: &ScanInputs<'_>,
    options: &ScanOptions,
) -> FileReport {
    let mut f = FileReport {
        path: rel.to_string(),
        blake3: (!facts.digests.blake3.is_empty()).then(|| facts.digests.blake3.clone()),
        sha256: facts.digests.sha256.clone(),
        media_type: Some(facts.media.mime.clone()),
        size: Some(facts.size),
        pdq: facts.pdq.as_ref().map(|(d, _)| d.original().to_hex()),
        pdq_quality: facts.pdq.as_ref().map(|(d, _)| d.quality),
        verdict: Verdict::Pass,
        findings: vec![],
    };
    for p in &facts.problems {
        push_finding(&mut f, Code::Unreadable, p.clone(), None, inputs, options);
    }
    if let Some(why) = &facts.truncated {
        push_finding(
            &mut f,
            Code::Truncated,
            format!("the file ends early ({why}): it was hashed and matched from what decodes"),
            None,
            inputs,
            options,
        );
    }
    if let Some(c) = &facts.credential {
        match c.state {
            CredentialState::Invalid => {
                let why = if c.failures.is_empty() {
                    "validation failed".to_string()
                } else {
                    c.failures.join("; ")
                };
                push_finding(
                    &mut f,
                    Code::CredentialInvalid,
                    format!(
                        "content credential ({}) is invalid: {why}",
                        match c.source {
                            crate::credentials::CredentialSource::Embedded => "embedded",
                            crate::credentials::CredentialSource::Sidecar => "sidecar",
                        }
                    ),
                    None,
                    inputs,
                    options,
                );
            }
            CredentialState::Valid => push_finding(
                &mut f,
                Code::CredentialUntrusted,
                format!(
                    "content credential is valid but its signer is not on a configured trust list{}",
                    c.claim_generator
                        .as_deref()
                        .map(|g| format!(" (claim generator: {g})"))
                        .unwrap_or_default()
                ),
                None,
                inputs,
                options,
            ),
            CredentialState::Trusted => {}
            CredentialState::Remote => push_finding(
                &mut f,
                Code::CredentialRemote,
                format!(
                    "content credential is only referenced remotely ({}): it cannot be checked offline",
                    c.failures.first().map_or("no address", String::as_str)
                ),
                None,
                inputs,
                options,
            ),
        }
    }
    let frames_total = facts.frames.len();
    let frames_usable = facts
        .frames
        .iter()
        .filter(|x| x.quality >= LOW_QUALITY_THRESHOLD)
        .count();
    if let Some((d, _)) = &facts.pdq
        && d.quality < LOW_QUALITY_THRESHOLD
    {
        push_finding(
            &mut f,
            Code::LowQualityHash,
            format!(
                "PDQ quality {} is below {LOW_QUALITY_THRESHOLD}: matched by exact hash only",
                d.quality
            ),
            None,
            inputs,
            options,
        );
    }
    if frames_total > 0 && frames_usable == 0 {
        push_finding(
            &mut f,
            Code::LowQualityHash,
            format!(
                "all {frames_total} frame hashes are below quality {LOW_QUALITY_THRESHOLD}: matched by exact hash only"
            ),
            None,
            inputs,
            options,
        );
    }

    let ai_marked = facts.credential.as_ref().is_some_and(|c| c.declares_ai())
        || facts
            .xmp_source_types
            .iter()
            .any(|t| xmp::is_generative_ai(t))
        || !facts.xmp_ai.is_empty();
    let mut hits: Vec<(Target, Hit)> = merge_works(matcher, matcher.hits(facts))
        .into_iter()
        .collect();
    // A file byte-identical to an entry is reported as such, not again by its sound.
    let exact: std::collections::HashSet<Target> = hits
        .iter()
        .filter(|(_, h)| h.exact)
        .map(|(t, _)| *t)
        .collect();
    hits.extend(
        audio_hits(matcher, facts, options)
            .into_iter()
            .filter(|(t, _)| !exact.contains(t)),
    );
    let mut ledger_matched = false;
    let mut approved_final = false;
    let mut refs_seen = std::collections::HashSet::new();
    for (target, hit) in &hits {
        let frames = (!hit.delivered_seconds.is_empty()).then(|| {
            let mut secs = hit.delivered_seconds.clone();
            secs.sort_unstable();
            secs.dedup();
            let ranges = video::ranges(&secs);
            let frame_ranges = frame_ranges(&ranges, &hit.delivered_frames);
            let timecode = facts
                .video
                .as_ref()
                .map(|info| timecode_ranges(&frame_ranges, info))
                .unwrap_or_default();
            (ranges, secs.len(), frames_total, frame_ranges, timecode)
        });
        match *target {
            Target::Ledger(i) => {
                ledger_matched = true;
                let a = &matcher.banks.ledger[i];
                let m = match_report(hit, frames.clone(), MatchKind::Ledger(a));
                let how = describe(hit, &frames);
                let decl = inputs.declarations.and_then(|d| d.by_ref.get(&a.use_ref));
                let entry = format!(
                    "ledger entry #{} ({}, use {})",
                    a.id, a.file_name, a.use_ref
                );
                match decl {
                    None => push_finding(
                        &mut f,
                        Code::UnapprovedAi,
                        format!(
                            "{how} {entry}, but no declaration with use.ref {:?} was given",
                            a.use_ref
                        ),
                        Some(m.clone()),
                        inputs,
                        options,
                    ),
                    Some(d) if !d.is_final() => push_finding(
                        &mut f,
                        Code::TempAsset,
                        format!(
                            "{how} {entry}, declared temporary (outputs.final: false) in {}",
                            file_name(&d.file)
                        ),
                        Some(m.clone()),
                        inputs,
                        options,
                    ),
                    Some(d) if !d.approved() => push_finding(
                        &mut f,
                        Code::UnapprovedAi,
                        format!(
                            "{how} {entry}, whose declaration is {} in {}",
                            d.state_name(),
                            file_name(&d.file)
                        ),
                        Some(m.clone()),
                        inputs,
                        options,
                    ),
                    Some(d) => {
                        approved_final = true;
                        push_finding(
                            &mut f,
                            Code::ApprovedAi,
                            format!(
                                "{how} {entry}, approved for final use in {}",
                                file_name(&d.file)
                            ),
                            Some(m.clone()),
                            inputs,
                            options,
                        )
                    }
                }
                if let Some(d) = decl
                    && d.keep_marking
                    && !ai_marked
                {
                    push_finding(
                        &mut f,
                        Code::MarkingStripped,
                        format!(
                            "{how} {entry}, whose declaration must keep its AI marking (keep-marking, EU AI Act Art. 50(2)), but this file's credential no longer declares AI generation"
                        ),
                        Some(m),
                        inputs,
                        options,
                    );
                }
            }
            Target::AudioReference(i) => {
                let r = &matcher.banks.audio_references[i];
                let m = match_report(hit, None, MatchKind::AudioReference(r));
                push_finding(
                    &mut f,
                    Code::ReferenceMatch,
                    format!(
                        "{} protected work {:?} (id {}) in reference bank {}",
                        describe(hit, &None),
                        r.title,
                        r.work_id,
                        r.bank
                    ),
                    Some(m),
                    inputs,
                    options,
                );
            }
            Target::Reference(i) => {
                let r = &matcher.banks.references[i];
                if !refs_seen.insert((r.bank.clone(), r.work_id.clone())) {
                    continue;
                }
                let m = match_report(hit, frames.clone(), MatchKind::Reference(r));
                let how = describe(hit, &frames);
                push_finding(
                    &mut f,
                    Code::ReferenceMatch,
                    format!(
                        "{how} protected work {:?} (id {}) in reference bank {}",
                        r.title, r.work_id, r.bank
                    ),
                    Some(m),
                    inputs,
                    options,
                );
            }
        }
    }
    for (code, severity, message, trace) in
        crate::trace_scan::trace_findings(facts, approved_final, &options.policy)
    {
        push_finding_as(&mut f, code, severity, message, trace, inputs, options);
    }
    if let Some(why) = crate::trace_scan::undeclared(facts, ai_marked, ledger_matched) {
        push_finding(
            &mut f,
            Code::UndeclaredAi,
            format!("{why}, and it matches no ledger entry"),
            None,
            inputs,
            options,
        );
    }
    finish(&mut f);
    f
}

/// The uses of the ledger's and the reference banks' sounds in the file's sound.
fn audio_hits(
    matcher: &Matcher<'_>,
    facts: &FileFacts,
    options: &ScanOptions,
) -> Vec<(Target, Hit)> {
    let Some(audio) = &facts.audio else {
        return vec![];
    };
    let labels = crate::audio::Labels::of(facts.video.as_ref(), &audio.info, options.sequence_rate);
    let entries = matcher
        .banks
        .ledger
        .iter()
        .enumerate()
        .filter_map(|(i, a)| Some((Target::Ledger(i), a.audio.as_ref()?)))
        .chain(
            matcher
                .banks
                .audio_references
                .iter()
                .enumerate()
                .map(|(i, r)| (Target::AudioReference(i), &r.audio)),
        );
    entries
        .filter_map(|(target, clip)| {
            let hit = crate::audio::locate(&clip.chromaprint, &audio.print.chromaprint, &labels)?;
            Some((
                target,
                Hit {
                    audio: Some(hit),
                    ..Hit::default()
                },
            ))
        })
        .collect()
}

/// One hit per protected work: a work imported as many rows (the frames of a vPDQ file, a
/// BLAKE3 and a PDQ) is reported once, with every frame that matched any of its rows.
fn merge_works(matcher: &Matcher<'_>, hits: BTreeMap<Target, Hit>) -> BTreeMap<Target, Hit> {
    let mut out: BTreeMap<Target, Hit> = BTreeMap::new();
    let mut first_of: HashMap<(&str, &str), Target> = HashMap::new();
    for (target, hit) in hits {
        let Target::Reference(i) = target else {
            out.insert(target, hit);
            continue;
        };
        let r = &matcher.banks.references[i];
        let key = *first_of
            .entry((r.bank.as_str(), r.work_id.as_str()))
            .or_insert(target);
        let merged = out.entry(key).or_default();
        merged.exact |= hit.exact;
        merged.distance = match (merged.distance, hit.distance) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        merged.delivered_seconds.extend(hit.delivered_seconds);
        merged.delivered_frames.extend(hit.delivered_frames);
        merged.bank_seconds.extend(hit.bank_seconds);
    }
    for hit in out.values_mut() {
        hit.delivered_frames.sort_unstable();
        hit.delivered_frames.dedup();
    }
    out
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn describe(hit: &Hit, frames: &Option<FrameSpan>) -> String {
    if let Some(a) = &hit.audio {
        return a.describe();
    }
    if let Some((ranges, n, total, _, timecode)) = frames {
        let r: Vec<String> = ranges
            .iter()
            .enumerate()
            .map(|(i, (a, b))| {
                let seconds = if a == b {
                    fmt_time(*a)
                } else {
                    format!("{}-{}", fmt_time(*a), fmt_time(*b))
                };
                match timecode.get(i) {
                    Some(t) if t.r#in == t.out => format!("{} ({seconds})", t.r#in),
                    Some(t) => format!("{}-{} ({seconds})", t.r#in, t.out),
                    None => seconds,
                }
            })
            .collect();
        let pct = 100.0 * *n as f64 / (*total).max(1) as f64;
        return format!(
            "{n} of {total} frames ({pct:.0}%, at {}) match",
            r.join(", ")
        );
    }
    if hit.exact {
        "is byte-identical to".into()
    } else {
        format!("looks like (PDQ distance {})", hit.distance.unwrap_or(0))
    }
}

/// `h:mm:ss` or `m:ss`.
pub fn fmt_time(s: u32) -> String {
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

enum MatchKind<'a> {
    Ledger(&'a Asset),
    Reference(&'a Reference),
    AudioReference(&'a greenlight_store::banks::AudioReference),
}

fn match_report(hit: &Hit, frames: Option<FrameSpan>, kind: MatchKind<'_>) -> MatchReport {
    let (bank, entry_id, use_ref, title, work_id, file_name) = match kind {
        MatchKind::Ledger(a) => (
            "ledger".to_string(),
            a.id,
            Some(a.use_ref.clone()),
            None,
            None,
            Some(a.file_name.clone()),
        ),
        MatchKind::Reference(r) => (
            r.bank.clone(),
            r.id,
            None,
            Some(r.title.clone()),
            Some(r.work_id.clone()),
            None,
        ),
        MatchKind::AudioReference(r) => (
            r.bank.clone(),
            r.id,
            None,
            Some(r.title.clone()),
            Some(r.work_id.clone()),
            None,
        ),
    };
    if let Some(a) = &hit.audio {
        return a.report(bank, entry_id, use_ref, title, work_id, file_name);
    }
    let mut bank_seconds = hit.bank_seconds.clone();
    bank_seconds.sort_unstable();
    bank_seconds.dedup();
    MatchReport {
        bank,
        entry_id,
        use_ref,
        title,
        work_id,
        file_name,
        method: if hit.exact {
            "blake3".into()
        } else {
            "pdq".into()
        },
        distance: hit.distance,
        medium: None,
        audio_ranges: vec![],
        bit_error_rate: None,
        time_ranges: frames.as_ref().map(|(r, ..)| r.clone()).unwrap_or_default(),
        timecode: frames.as_ref().map(|(.., t)| t.clone()).unwrap_or_default(),
        frame_ranges: frames
            .as_ref()
            .map(|(_, _, _, f, _)| f.clone())
            .unwrap_or_default(),
        imf: None,
        shots: vec![],
        frames_matched: frames.as_ref().map(|(_, n, ..)| *n as u64),
        frames_total: frames.as_ref().map(|(_, _, t, ..)| *t as u64),
        share: frames
            .as_ref()
            .map(|(_, n, t, ..)| *n as f64 / (*t).max(1) as f64),
        bank_seconds,
    }
}

/// The PDQ of the frames of DPX and EXR sequences (ffmpeg decodes them; stills are hashed
/// as images already), for at most [`crate::sequence::MAX_HASHED_FRAMES`] frames a sequence
/// (longer ones are sampled once a second).
fn hash_sequence_frames(
    sequences: &[crate::sequence::Sequence],
    files: &[WalkEntry],
    analysed: &mut [(FileFacts, bool)],
    options: &ScanOptions,
) {
    let rate = options.sequence_rate;
    let wanted: Vec<usize> = sequences
        .iter()
        .filter(|s| s.needs_ffmpeg())
        .flat_map(|s| {
            s.hashed(rate.num, rate.den)
                .into_iter()
                .map(|k| s.frames[k].1)
                .collect::<Vec<_>>()
        })
        .filter(|&i| analysed[i].0.problems.is_empty() && analysed[i].0.pdq.is_none())
        .collect();
    let hashes: Vec<(usize, Result<pdq::PdqDihedral, video::VideoError>)> = wanted
        .par_iter()
        .map(|&i| (i, video::still_hash(&files[i].path)))
        .collect();
    for (i, r) in hashes {
        match r {
            Ok(d) => analysed[i].0.pdq = Some((d, PdqPath::Exact)),
            Err(e) => analysed[i].0.problems.push(e.to_string()),
        }
    }
}

/// The report entry of a sequence: its frames' digests, a missing frame, and what its frames
/// matched, per bank entry, as time ranges and timecode of the shot.
fn sequence_report(
    s: &crate::sequence::Sequence,
    path: String,
    files: &[FileReport],
    analysed: &[(FileFacts, bool)],
    inputs: &ScanInputs<'_>,
    options: &ScanOptions,
) -> FileReport {
    let digests: Vec<&str> = s
        .frames
        .iter()
        .map(|&(_, i)| analysed[i].0.digests.blake3.as_str())
        .collect();
    let mut f = FileReport {
        path,
        blake3: Some(crate::sequence::digest_of(&digests)),
        sha256: None,
        media_type: Some("video/x-image-sequence".into()),
        size: Some(s.frames.iter().map(|&(_, i)| analysed[i].0.size).sum()),
        pdq: None,
        pdq_quality: None,
        verdict: Verdict::Pass,
        findings: vec![],
    };
    if !s.missing.is_empty() {
        let shown: Vec<String> = s.missing.iter().take(20).map(u64::to_string).collect();
        push_finding(
            &mut f,
            Code::Unreadable,
            format!(
                "{} frame(s) of {} are missing from the sequence: {}{}",
                s.missing.len(),
                s.pattern,
                shown.join(", "),
                if s.missing.len() > 20 { ", ..." } else { "" }
            ),
            None,
            inputs,
            options,
        );
    }
    let rate = options.sequence_rate;
    // (code, bank, entry) -> (first match, seconds of the shot, (second, frame number))
    type Matched = (MatchReport, Vec<u32>, Vec<(u32, u64)>);
    let mut by_entry: BTreeMap<(Code, String, i64), Matched> = BTreeMap::new();
    for (k, &(number, i)) in s.frames.iter().enumerate() {
        for x in &files[i].findings {
            let Some(m) = &x.r#match else { continue };
            let millis = (k as u64 * 1000 * u64::from(rate.den)) / u64::from(rate.num);
            let second = u32::try_from(millis / 1000).unwrap_or(u32::MAX);
            let e = by_entry
                .entry((x.code, m.bank.clone(), m.entry_id))
                .or_insert_with(|| (m.clone(), vec![], vec![]));
            e.1.push(second);
            e.2.push((second, number));
        }
    }
    let info = video::VideoInfo {
        container: "image2".into(),
        codec: s.mime.clone(),
        rate_num: rate.num,
        rate_den: rate.den,
        width: 0,
        height: 0,
        timecode: None,
    };
    let total = s.frames.len();
    for ((code, _, _), (mut m, mut seconds, numbers)) in by_entry {
        let matched = numbers.len();
        seconds.sort_unstable();
        seconds.dedup();
        let ranges = video::ranges(&seconds);
        let frame_ranges = frame_ranges(&ranges, &numbers);
        m.timecode = timecode_ranges(&frame_ranges, &info);
        m.time_ranges = ranges;
        m.frame_ranges = frame_ranges;
        m.frames_matched = Some(matched as u64);
        m.frames_total = Some(total as u64);
        m.share = Some(matched as f64 / total.max(1) as f64);
        m.imf = None;
        let what = m.entry_label();
        let at: Vec<String> = m
            .timecode
            .iter()
            .map(|t| format!("{}-{}", t.r#in, t.out))
            .collect();
        let message = format!(
            "{matched} of {total} frames of {} (at {}) match {what}",
            s.pattern,
            at.join(", ")
        );
        push_finding(&mut f, code, message, Some(m), inputs, options);
    }
    finish(&mut f);
    f
}

/// Names the edit event of every matched range with a timecode, from the edit list at `path`
/// read at each range's rate.
fn name_shots(files: &mut [FileReport], path: &Path) -> Result<(), ScanError> {
    let mut lists: HashMap<String, crate::edl::EditList> = HashMap::new();
    for f in files.iter_mut() {
        for x in &mut f.findings {
            let Some(m) = &mut x.r#match else { continue };
            let mut shots = Vec::new();
            for (range, t) in m.timecode.iter().enumerate() {
                let Ok(rate) = t.rate.parse::<EditRate>() else {
                    continue;
                };
                if !lists.contains_key(&t.rate) {
                    let list = crate::edl::EditList::read(path, rate.num, rate.den)?;
                    lists.insert(t.rate.clone(), list);
                }
                let list = &lists[&t.rate];
                let Ok(format) = TimecodeFormat::from_rate(rate, t.r#in.contains(';'))
                    .or_else(|_| TimecodeFormat::from_rate(rate, false))
                else {
                    continue;
                };
                let Ok(frame) = format.parse(&t.r#in) else {
                    continue;
                };
                if let Some(e) = list.event_at(frame) {
                    shots.push(crate::report::ShotReport {
                        range,
                        event: e.number,
                        clip: e.clip.clone(),
                        reel: e.reel.clone(),
                        source_in: e.source_in.clone(),
                        source_out: e.source_out.clone(),
                    });
                }
            }
            m.shots = shots;
        }
    }
    Ok(())
}

/// The first and last matched frame of each range of seconds (ranges without numbered
/// frames are left out).
fn frame_ranges(ranges: &[(u32, u32)], matched: &[(u32, u64)]) -> Vec<(u64, u64)> {
    ranges
        .iter()
        .filter_map(|&(a, b)| {
            let frames = matched
                .iter()
                .filter(|(s, _)| (a..=b).contains(s))
                .map(|(_, n)| *n);
            Some((frames.clone().min()?, frames.max()?))
        })
        .collect()
}

/// The timecode of each matched frame range, labelled at the file's rate from its start
/// timecode (`timecode` tag, else 00:00:00:00).
fn timecode_ranges(frame_ranges: &[(u64, u64)], info: &video::VideoInfo) -> Vec<TimecodeRange> {
    let Some(rate) = EditRate::new(info.rate_num, info.rate_den) else {
        return vec![];
    };
    let drop_frame = info.timecode.as_deref().is_some_and(|t| t.contains(';'))
        || (info.timecode.is_none()
            && info.rate_den == 1001
            && rate.nominal_fps().is_multiple_of(30));
    let Ok(format) = TimecodeFormat::from_rate(rate, drop_frame)
        .or_else(|_| TimecodeFormat::from_rate(rate, false))
    else {
        return vec![];
    };
    let start = info
        .timecode
        .as_deref()
        .and_then(|t| format.parse(t).ok())
        .unwrap_or(0);
    frame_ranges
        .iter()
        .map(|&(first, last)| TimecodeRange {
            r#in: format.timecode(start + first).to_string(),
            out: format.timecode(start + last).to_string(),
            rate: rate.to_string(),
        })
        .collect()
}

fn push_finding(
    f: &mut FileReport,
    code: Code,
    message: String,
    m: Option<MatchReport>,
    inputs: &ScanInputs<'_>,
    options: &ScanOptions,
) {
    let severity = code.severity(&options.policy);
    push_with(f, code, severity, message, m, None, inputs, options);
}

/// A finding whose severity depends on more than its code (a generator trace is a note on a
/// file approved for final use), carrying its trace.
fn push_finding_as(
    f: &mut FileReport,
    code: Code,
    severity: Severity,
    message: String,
    trace: Option<crate::report::TraceReport>,
    inputs: &ScanInputs<'_>,
    options: &ScanOptions,
) {
    push_with(f, code, severity, message, None, trace, inputs, options);
}

#[allow(clippy::too_many_arguments)]
fn push_with(
    f: &mut FileReport,
    code: Code,
    severity: Severity,
    message: String,
    m: Option<MatchReport>,
    trace: Option<crate::report::TraceReport>,
    inputs: &ScanInputs<'_>,
    options: &ScanOptions,
) {
    let mut waived = false;
    let mut waiver = None;
    let mut message = message;
    if severity == Severity::Overridable {
        match inputs.waivers.find(
            code,
            &f.path,
            f.blake3.as_deref().unwrap_or_default(),
            options.as_of,
        ) {
            WaiverMatch::Active(w) => {
                waived = true;
                waiver = Some(crate::report::WaiverReport {
                    by: w.by.clone(),
                    justification: w.justification.clone(),
                    expires: w.expires,
                });
            }
            WaiverMatch::Expired(w) => {
                message.push_str(&format!(" (a waiver by {} expired on {})", w.by, w.expires))
            }
            WaiverMatch::None => {}
        }
    }
    f.findings.push(FindingReport {
        code,
        severity,
        waived,
        message,
        waiver,
        r#match: m,
        trace,
    });
}

fn finish(f: &mut FileReport) {
    f.findings
        .sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(&b.code)));
    f.verdict = if f.findings.iter().any(|x| fails(x.severity, x.waived)) {
        Verdict::Fail
    } else {
        Verdict::Pass
    };
}

/// Side of thumbnails in reports and in the ledger.
pub const THUMBNAIL_SIDE: u32 = 192;

/// A small JPEG thumbnail of an image file's bytes (decoded under the decoder's limits).
pub fn image_thumbnail(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(crate::decode::MAX_DIMENSION);
    limits.max_image_height = Some(crate::decode::MAX_DIMENSION);
    limits.max_alloc = Some(crate::decode::MAX_DECODED_BYTES);
    reader.limits(limits);
    let img = reader
        .decode()
        .ok()?
        .thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
        .to_rgb8();
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).ok()?;
    Some(out.into_inner())
}

/// A thumbnail of a delivered file for the report: the image itself, or the video frame at
/// `second`.
pub fn delivered_thumbnail(path: &Path, media: &str, second: Option<u32>) -> Option<Vec<u8>> {
    if media.starts_with("video/") {
        video::thumbnail_at(path, second.unwrap_or(0), THUMBNAIL_SIDE)
    } else if media.starts_with("image/") && std::fs::metadata(path).ok()?.len() <= MAX_IMAGE_FILE {
        image_thumbnail(&std::fs::read(path).ok()?)
    } else {
        None
    }
}
/// What registering a file in a bank needs: digests, type, PDQ (image) or frame hashes
/// (video), and for the ledger a thumbnail.
#[derive(Debug, Clone)]
pub struct Fingerprint {
    /// Digests.
    pub digests: Digests,
    /// Media type.
    pub media: MediaType,
    /// PDQ of an image (original orientation).
    pub pdq: Option<(PdqHash, u8)>,
    /// PDQ of a video's frames: every frame for the ledger, [`video::BANK_FRAMES_PER_SECOND`]
    /// a second for a reference bank.
    pub frames: Vec<FrameHash>,
    /// A JPEG thumbnail (image, or the first frame of a video), for the ledger.
    pub thumbnail: Option<Vec<u8>>,
    /// For a video longer than the ledger's limit: the seconds hashed
    /// ([`video::MAX_LEDGER_SECONDS`]); the rest is not.
    pub hashed_seconds_cap: Option<u32>,
    /// The Chromaprint fingerprint of its first audio stream (at most
    /// [`crate::audio::MAX_BANK_SECONDS`] of it).
    pub audio: Option<greenlight_store::banks::AudioPrint>,
    /// For sound longer than that: the seconds fingerprinted.
    pub audio_seconds_cap: Option<u32>,
    /// Why its sound could not be fingerprinted (it is then registered by exact hash).
    pub audio_problem: Option<String>,
}

/// Which bank a file is fingerprinted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BankKind {
    /// The production's ledger: every frame of a video, and a thumbnail.
    Ledger,
    /// A reference bank of protected works: [`video::BANK_FRAMES_PER_SECOND`] frames a
    /// second, no thumbnail (banks keep hashes, never pictures).
    Reference,
}

/// Fingerprints a file for a bank. Errors say why in words (the caller adds the path).
pub fn fingerprint(path: &Path, bank: BankKind) -> Result<Fingerprint, String> {
    let with_thumbnail = bank == BankKind::Ledger;
    let mut media = sniff_file(path).map_err(|e| e.to_string())?;
    let mut probed = None;
    if let Some((m, info)) = probe_unknown(path, &media) {
        media = m;
        probed = Some(info);
    }
    let digests = digest_file(path, false).map_err(|e| e.to_string())?;
    let mut fp = Fingerprint {
        digests,
        media: media.clone(),
        pdq: None,
        frames: vec![],
        thumbnail: None,
        hashed_seconds_cap: None,
        audio: None,
        audio_seconds_cap: None,
        audio_problem: None,
    };
    match media.kind {
        MediaKind::Image if pdq_decodable(&media.mime) => {
            if std::fs::metadata(path).map_err(|e| e.to_string())?.len() > MAX_IMAGE_FILE {
                return Err(format!(
                    "image file larger than {} MiB",
                    MAX_IMAGE_FILE >> 20
                ));
            }
            let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
            let r = pdq::hash_image_bytes(&bytes)
                .map_err(|e| format!("image could not be decoded: {e}"))?;
            fp.pdq = Some((r.hash, r.quality));
            if with_thumbnail {
                fp.thumbnail = image_thumbnail(&bytes);
            }
        }
        MediaKind::Video => {
            let info = match probed {
                Some(info) => Some(info),
                None => video::probe(path).map_err(|e| e.to_string())?,
            };
            // Sound alone in a video container (an IMF audio track file, an MP4 of audio).
            let info = match info {
                Some(info) => info,
                None if video::has_audio(path) => {
                    fingerprint_audio(path, &mut fp);
                    return Ok(fp);
                }
                None => return Err("holds no video stream ffmpeg can read".to_string()),
            };
            let (sampling, seconds) = match bank {
                BankKind::Ledger => (video::Sampling::Every, video::MAX_LEDGER_SECONDS),
                BankKind::Reference => (
                    video::Sampling::PerSecond(video::BANK_FRAMES_PER_SECOND),
                    video::MAX_SECONDS,
                ),
            };
            fp.frames =
                video::frame_hashes(path, &info, sampling, seconds).map_err(|e| e.to_string())?;
            let cap = u64::from(seconds) * u64::from(info.rate_num) / u64::from(info.rate_den);
            if bank == BankKind::Ledger && fp.frames.len() as u64 >= cap {
                fp.hashed_seconds_cap = Some(seconds);
            }
            if with_thumbnail {
                fp.thumbnail = video::thumbnail_at(path, 0, THUMBNAIL_SIDE);
            }
            fingerprint_audio(path, &mut fp);
        }
        MediaKind::Audio => fingerprint_audio(path, &mut fp),
        _ => {}
    }
    Ok(fp)
}

/// Adds the fingerprint of the sound of `path`, if it has any, to `fp`; sound that cannot be
/// decoded leaves the file to its exact hash, and says why.
fn fingerprint_audio(path: &Path, fp: &mut Fingerprint) {
    let cap = crate::audio::MAX_BANK_SECONDS;
    match crate::audio::analyse(path, cap) {
        Ok(Some(a)) => {
            if a.capped {
                fp.audio_seconds_cap = Some(cap);
            }
            fp.audio = Some(a.print);
        }
        Ok(None) if fp.media.kind == MediaKind::Audio => {
            fp.audio_problem = Some("holds no audio stream ffmpeg can read".into())
        }
        Ok(None) => {}
        Err(e) => fp.audio_problem = Some(e.to_string()),
    }
}
