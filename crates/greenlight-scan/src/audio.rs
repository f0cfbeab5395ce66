//! Audio: Chromaprint fingerprints of the first audio stream of a file, and finding a
//! registered clip inside a longer mix.
//!
//! **Fingerprints.** The system `ffmpeg` decodes every container and codec it reads (WAV/BWF,
//! MXF sound track files and OP-Atom, MP4/MOV, AAC, FLAC, MP3, ...) and converts the first
//! audio stream to 11,025 Hz mono signed 16-bit with libswresample in the settings
//! Chromaprint's own `fpcalc` uses ([`RESAMPLE_FILTER`]); the samples are streamed through
//! `rusty-chromaprint` (its default configuration, `fpcalc`'s), never held in memory. On
//! 11,025 Hz mono input nothing is resampled and the raw fingerprint equals
//! `fpcalc -raw -length 0`, value for value. Other input is resampled by ffmpeg, not by
//! `rusty-chromaprint`'s own resampler, which differs from `fpcalc` on 44.1 kHz stereo
//! (see `docs/decisions/0291-audio-fingerprints.md` for the agreement measured).
//!
//! **Bounded.** At most [`MAX_SECONDS`] of a delivered file and [`MAX_BANK_SECONDS`] of a bank
//! entry are decoded: a file claiming an absurd length (a lying WAV header) costs what its
//! real data holds, and never more than the cap. A fingerprint is 4 bytes per 0.124 s.
//!
//! **Matching** ([`find`]): the mix is cut into windows of [`WINDOW`] items (about 5 s) every
//! [`HOP`] items; each window is compared with the clip at every alignment, and matches when
//! the share of differing bits is at most [`MAX_BIT_ERROR_RATE`] (unrelated audio sits near
//! 0.5). Matching windows next to each other form one use, so a clip used three times in a
//! mix is reported three times, each with its range. The thresholds were measured on mixes
//! made with ffmpeg (`scripts/audio_recall.py`).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use rusty_chromaprint::{Configuration, Fingerprinter};
use serde::{Deserialize, Serialize};

use crate::report::{MatchReport, TimecodeRange};
use crate::timecode::{EditRate, TimecodeFormat};
use greenlight_store::banks::AudioPrint;

/// The sample rate Chromaprint works at.
pub const SAMPLE_RATE: u32 = 11_025;

/// Samples between two fingerprint items (Chromaprint's frame of 4096 with an overlap of
/// 4096 - 4096/3).
pub const ITEM_SAMPLES: u32 = 1365;

/// Longest stretch of a delivered file fingerprinted, in seconds (6 hours, as for video).
pub const MAX_SECONDS: u32 = 6 * 3600;

/// Longest stretch of a ledger or reference-bank entry fingerprinted, in seconds (30 minutes):
/// a temp track or a voice line is far shorter; the rest of a longer file is not registered.
pub const MAX_BANK_SECONDS: u32 = 30 * 60;

/// The resampling `fpcalc` (Chromaprint 1.5) asks of libswresample: 16-tap filters, 2^8
/// phases, linear interpolation between them, cut-off at 0.8 of Nyquist. With the output
/// asked as mono at 11,025 Hz, rate and layout are converted in one step, as `fpcalc` does.
pub const RESAMPLE_FILTER: &str =
    "aresample=11025:filter_size=16:phase_shift=8:linear_interp=1:cutoff=0.8";

/// Fingerprint items compared per window of the mix (about 5 s).
pub const WINDOW: usize = 40;

/// Items between the starts of two windows of the mix (about 0.5 s).
pub const HOP: usize = 4;

/// A use needs a window in which at most this share of the bits differ from the clip's at
/// the best alignment. Measured with `scripts/audio_recall.py` (see
/// `docs/decisions/0291-audio-fingerprints.md`): the best window of a clip cut in straight or
/// re-encoded to AAC 128k sits under 0.02, tempo +3 % under 0.05, under dialogue at equal
/// level under 0.15; tracks of the same style with other progressions never came below 0.21.
/// The threshold sits between the two.
pub const MAX_BIT_ERROR_RATE: f64 = 0.18;

/// Once a use is found, the windows next to it belong to it while at most this share of bits
/// differ (windows half over the clip, and under louder dialogue, sit between the two).
pub const EXTEND_BIT_ERROR_RATE: f64 = 0.22;

/// Clips shorter than this many items (about 2 s) are not matched perceptually: too little
/// sound to tell apart from any other.
pub const MIN_ITEMS: usize = 16;

/// How long `ffprobe` may take on one file.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Why audio could not be fingerprinted.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// `ffmpeg` is not installed or not on `PATH`.
    #[error(
        "ffmpeg is not available ({0}); install it (e.g. `apt-get install ffmpeg`) to fingerprint audio"
    )]
    FfmpegMissing(String),
    /// `ffmpeg` could not decode the audio.
    #[error("ffmpeg could not decode the audio: {0}")]
    Decode(String),
    /// Reading ffmpeg's output failed.
    #[error("reading audio from ffmpeg: {0}")]
    Io(#[from] std::io::Error),
}

/// What `ffprobe` says of a file's first audio stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioInfo {
    /// Codec (`pcm_s24le`, `aac`, `flac`, ...).
    pub codec: String,
    /// Samples per second.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u32,
    /// The start timecode from the stream's or the container's `timecode` tag (MXF, MOV).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timecode: Option<String>,
    /// A Broadcast WAV's `time_reference`: the first sample's count since midnight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_reference: Option<u64>,
}

/// What was learnt about a file's audio: its stream and its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioFacts {
    /// The first audio stream.
    pub info: AudioInfo,
    /// Its fingerprint.
    pub print: AudioPrint,
    /// Whether the cap on decoded seconds was reached (the rest was not fingerprinted).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub capped: bool,
}

/// The fingerprint of 11,025 Hz mono samples, as `fpcalc -raw` computes it.
pub fn fingerprint_samples(samples: &[i16]) -> Vec<u32> {
    let mut printer = Stream::new();
    printer.consume(samples);
    printer.finish()
}

/// A fingerprint computed as samples arrive.
struct Stream {
    printer: Fingerprinter,
    samples: u64,
}

impl Stream {
    fn new() -> Self {
        let mut printer = Fingerprinter::new(&Configuration::preset_test2());
        printer
            .start(SAMPLE_RATE, 1)
            .expect("11,025 Hz mono is a valid input: above the minimum rate, one channel");
        Self {
            printer,
            samples: 0,
        }
    }

    fn consume(&mut self, samples: &[i16]) {
        self.samples += samples.len() as u64;
        self.printer.consume(samples);
    }

    fn finish(mut self) -> Vec<u32> {
        self.printer.finish();
        self.printer.fingerprint().to_vec()
    }
}

/// Probes the first audio stream of `path`: `Ok(None)` when there is none ffprobe reads.
pub fn probe(path: &Path) -> Result<Option<AudioInfo>, AudioError> {
    let child = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=codec_name,sample_rate,channels:stream_tags=timecode:format_tags=timecode,time_reference",
            "-of",
            "json",
        ])
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| AudioError::FfmpegMissing(format!("ffprobe: {e}")))?;
    let out = match crate::video::wait_with_output(child, PROBE_TIMEOUT, 1 << 20) {
        Ok(Some(out)) => out,
        Ok(None) => {
            return Err(AudioError::Decode(format!(
                "ffprobe took longer than {} s",
                PROBE_TIMEOUT.as_secs()
            )));
        }
        Err(e) => return Err(AudioError::Decode(e.to_string())),
    };
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&out) else {
        return Ok(None);
    };
    let Some(stream) = json["streams"].as_array().and_then(|s| s.first()) else {
        return Ok(None);
    };
    let number = |v: &serde_json::Value| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
    };
    Ok(Some(AudioInfo {
        codec: stream["codec_name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        sample_rate: number(&stream["sample_rate"])
            .and_then(|r| u32::try_from(r).ok())
            .unwrap_or(0),
        channels: number(&stream["channels"])
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(0),
        timecode: stream["tags"]["timecode"]
            .as_str()
            .or_else(|| json["format"]["tags"]["timecode"].as_str())
            .map(str::to_string),
        time_reference: number(&json["format"]["tags"]["time_reference"]),
    }))
}

/// Probes and fingerprints the first audio stream of `path`, at most `max_seconds` of it:
/// `Ok(None)` when the file holds no audio.
pub fn analyse(path: &Path, max_seconds: u32) -> Result<Option<AudioFacts>, AudioError> {
    let Some(info) = probe(path)? else {
        return Ok(None);
    };
    let (print, capped) = fingerprint_file(path, max_seconds)?;
    Ok(Some(AudioFacts {
        info,
        print,
        capped,
    }))
}

/// The fingerprint of the first audio stream of `path` (at most `max_seconds` of it, and
/// whether that cap was reached), decoded and resampled to 11,025 Hz mono by `ffmpeg`.
pub fn fingerprint_file(path: &Path, max_seconds: u32) -> Result<(AudioPrint, bool), AudioError> {
    let max_samples = u64::from(max_seconds) * u64::from(SAMPLE_RATE);
    let mut child = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-nostats", "-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:a:0", "-vn", "-sn", "-dn", "-af", RESAMPLE_FILTER])
        // The sink asks for mono at 11,025 Hz, so the one resampler above converts rate and
        // layout together.
        .args(["-ac", "1", "-ar", "11025"])
        .args(["-t", &max_seconds.to_string()])
        .args(["-f", "s16le", "-acodec", "pcm_s16le", "pipe:1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| AudioError::FfmpegMissing(e.to_string()))?;
    let stderr = child.stderr.take().expect("stderr was piped");
    let errors = std::thread::spawn(move || {
        let mut text = Vec::new();
        let mut s = stderr;
        let _ = (&mut s).take(64 * 1024).read_to_end(&mut text);
        let _ = std::io::copy(&mut s, &mut std::io::sink());
        String::from_utf8_lossy(&text).trim().to_string()
    });
    let mut stdout = child.stdout.take().expect("stdout was piped");
    let mut stream = Stream::new();
    let mut bytes = vec![0u8; 64 * 1024];
    let mut samples: Vec<i16> = Vec::with_capacity(bytes.len() / 2);
    let mut carry: Option<u8> = None;
    let mut capped = false;
    loop {
        let n = match stdout.read(&mut bytes) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e.into());
            }
        };
        samples.clear();
        let mut chunk = &bytes[..n];
        if let Some(low) = carry.take()
            && let Some((&high, rest)) = chunk.split_first()
        {
            samples.push(i16::from_le_bytes([low, high]));
            chunk = rest;
        }
        let pairs = chunk.chunks_exact(2);
        carry = pairs.remainder().first().copied();
        samples.extend(pairs.map(|p| i16::from_le_bytes([p[0], p[1]])));
        let room = max_samples.saturating_sub(stream.samples);
        if samples.len() as u64 >= room {
            samples.truncate(usize::try_from(room).unwrap_or(usize::MAX));
            stream.consume(&samples);
            capped = true;
            break;
        }
        stream.consume(&samples);
    }
    drop(stdout);
    if capped {
        let _ = child.kill();
    }
    let status = child.wait()?;
    let errors = errors.join().unwrap_or_default();
    let decoded = stream.samples;
    if decoded == 0 || (!status.success() && !capped) {
        return Err(AudioError::Decode(if errors.is_empty() {
            if status.success() {
                "no audio samples".to_string()
            } else {
                format!("ffmpeg exited with {status}")
            }
        } else {
            errors.chars().take(2000).collect()
        }));
    }
    // `-t` stops ffmpeg at the cap as well: reaching it exactly is being capped.
    let capped = capped || decoded >= max_samples;
    let millis = decoded * 1000 / u64::from(SAMPLE_RATE);
    Ok((
        AudioPrint {
            millis,
            chromaprint: stream.finish(),
        },
        capped,
    ))
}

/// Seconds from the start of the audio to fingerprint item `k`.
pub fn item_seconds(k: usize) -> f64 {
    k as f64 * f64::from(ITEM_SAMPLES) / f64::from(SAMPLE_RATE)
}

/// Seconds from the start of the last matching item of a use to the end of the sound it
/// describes. An item is computed from about 2.7 s of sound (Chromaprint's frame and filter
/// widths), but one that straddles the end of a clip still agrees with it for a while:
/// measured on the mixes of `scripts/audio_recall.py`, ends fell closest at this value.
pub const END_SECONDS: f64 = 1.4;

/// Seconds from the first matching item of a use to where the clip starts: an item that
/// begins a little before the clip already hears mostly the clip (measured as above).
pub const START_SECONDS: f64 = 0.6;

/// One use of a clip found in a mix.
#[derive(Debug, Clone, PartialEq)]
pub struct Use {
    /// Where it plays in the mix, in seconds from the start of the mix's audio.
    pub start: f64,
    /// Where it stops playing.
    pub end: f64,
    /// The part of the clip heard, in seconds from the start of the clip.
    pub clip_start: f64,
    /// See `clip_start`.
    pub clip_end: f64,
    /// The smallest share of differing bits of a matched window (0 is identical).
    pub bit_error_rate: f64,
    /// Windows of the mix that matched.
    pub windows: usize,
}

/// A matched window: its first mix item, the clip item it aligns with, the bits that differ.
#[derive(Debug, Clone, Copy)]
struct Window {
    mix: usize,
    clip: usize,
    errors: u32,
}

/// Every use of `clip` in `mix` (both raw fingerprints), in order of time.
pub fn find(clip: &[u32], mix: &[u32]) -> Vec<Use> {
    find_with(clip, mix, MAX_BIT_ERROR_RATE, EXTEND_BIT_ERROR_RATE)
}

/// As [`find`], with the thresholds given (for measuring): a use has a window within `seed`
/// and extends over the windows next to it within `extend`.
pub fn find_with(clip: &[u32], mix: &[u32], seed: f64, extend: f64) -> Vec<Use> {
    let w = clip.len().min(WINDOW);
    let windows = matched_windows(clip, mix, extend.max(seed));
    let seed_limit = (seed * 32.0 * w as f64).floor() as u32;
    group(clip, mix, &windows, w, extend.max(seed))
        .into_iter()
        .filter(|(best, _)| *best <= seed_limit)
        .map(|(_, u)| u)
        .collect()
}

/// The best (smallest) share of differing bits of each window of the mix against the clip at
/// any alignment: `(window start, rate)`, for measuring thresholds.
pub fn window_rates(clip: &[u32], mix: &[u32]) -> Vec<(f64, f64)> {
    let w = WINDOW.min(clip.len());
    matched_windows(clip, mix, 1.0)
        .into_iter()
        .map(|x| (item_seconds(x.mix), f64::from(x.errors) / (32.0 * w as f64)))
        .collect()
}

fn matched_windows(clip: &[u32], mix: &[u32], max_bit_error_rate: f64) -> Vec<Window> {
    let w = WINDOW.min(clip.len());
    if clip.len() < MIN_ITEMS || mix.len() < w {
        return vec![];
    }
    let limit = (max_bit_error_rate * 32.0 * w as f64).floor() as u32;
    // A first pass over every fourth item rules out most alignments at a quarter of the cost:
    // unrelated audio differs in about half its bits there too.
    let coarse: Vec<usize> = (0..w).step_by(4).collect();
    let coarse_limit =
        ((max_bit_error_rate + 0.1).min(1.0) * 32.0 * coarse.len() as f64).ceil() as u32;
    let mut starts: Vec<usize> = (0..=mix.len() - w).step_by(HOP).collect();
    if starts.last() != Some(&(mix.len() - w)) {
        starts.push(mix.len() - w);
    }
    let mut out = Vec::new();
    for s in starts {
        let m = &mix[s..s + w];
        let mut best: Option<Window> = None;
        for o in 0..=clip.len() - w {
            let c = &clip[o..o + w];
            let rough: u32 = coarse.iter().map(|&i| (m[i] ^ c[i]).count_ones()).sum();
            if rough > coarse_limit {
                continue;
            }
            let bound = best.map_or(limit, |b| b.errors.min(limit));
            let mut errors = 0u32;
            for (a, b) in m.iter().zip(c) {
                errors += (a ^ b).count_ones();
                if errors > bound {
                    break;
                }
            }
            if errors <= bound && best.is_none_or(|b| errors < b.errors) {
                best = Some(Window {
                    mix: s,
                    clip: o,
                    errors,
                });
            }
        }
        out.extend(best);
    }
    out
}

/// Windows no more than two hops apart form one use; its edges are then found item by item.
fn group(
    clip: &[u32],
    mix: &[u32],
    windows: &[Window],
    w: usize,
    max_rate: f64,
) -> Vec<(u32, Use)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < windows.len() {
        let mut next = at + 1;
        while next < windows.len() && windows[next].mix <= windows[next - 1].mix + 2 * HOP {
            next += 1;
        }
        let best = windows[at..next]
            .iter()
            .map(|x| x.errors)
            .min()
            .unwrap_or(u32::MAX);
        out.extend(refine(clip, mix, &windows[at..next], w, max_rate).map(|u| (best, u)));
        at = next;
    }
    out
}

/// Items whose mean share of differing bits decides where a use starts and ends (1 s).
const EDGE_RUN: usize = 8;

/// The use a run of matched windows makes: each item of the mix is compared with the clip at
/// the alignment of the best window that covers it, and the use runs from the first to the
/// last [`EDGE_RUN`] items that agree within the threshold (a window straddling the start of a
/// clip still matches when most of it is the clip; the items tell where the clip begins).
fn refine(clip: &[u32], mix: &[u32], group: &[Window], w: usize, max_rate: f64) -> Option<Use> {
    let first = group.first()?.mix;
    let end = group.last()?.mix + w;
    // The best window over each item of the mix (fewest differing bits).
    let mut best_over: Vec<Option<&Window>> = vec![None; end - first];
    for x in group {
        for slot in &mut best_over[x.mix - first..x.mix - first + w] {
            if slot.is_none_or(|b| x.errors < b.errors) {
                *slot = Some(x);
            }
        }
    }
    // The clip item that mix item `k` meets at that window's alignment.
    let clip_index = |k: usize| best_over[k - first].map(|x| k - x.mix + x.clip);
    let errors: Vec<u32> = (first..end)
        .map(|k| clip_index(k).map_or(32, |c| (mix[k] ^ clip[c]).count_ones()))
        .collect();
    let run = EDGE_RUN.min(errors.len());
    let limit = (max_rate * 32.0 * run as f64).floor() as u32;
    let sums: Vec<u32> = errors.windows(run).map(|r| r.iter().sum()).collect();
    let a = sums.iter().position(|&e| e <= limit)?;
    let b = sums.iter().rposition(|&e| e <= limit)?;
    let (start_item, last_item) = (first + a, first + b + run - 1);
    let best = group.iter().map(|x| x.errors).min().unwrap_or(0);
    Some(Use {
        start: item_seconds(start_item) + START_SECONDS,
        end: item_seconds(last_item) + END_SECONDS,
        clip_start: clip_index(start_item).map_or(0.0, |c| item_seconds(c) + START_SECONDS),
        clip_end: clip_index(last_item).map_or(0.0, |c| item_seconds(c) + END_SECONDS),
        bit_error_rate: f64::from(best) / (32.0 * w as f64),
        windows: group.len(),
    })
}

/// Fingerprints the sound of the file at `path` into `facts`: a file of sound alone that holds
/// none ffmpeg reads, or sound that cannot be decoded, is a problem (`UNREADABLE`); a video
/// without sound is not.
pub fn analyse_into(path: &Path, facts: &mut crate::scan::FileFacts) {
    match analyse(path, MAX_SECONDS) {
        Ok(Some(a)) => facts.audio = Some(a),
        Ok(None) if facts.media.kind == crate::media::MediaKind::Audio => {
            facts.problems.push(format!(
                "{} holds no audio stream ffmpeg can read: its sound cannot be checked",
                facts.media.mime
            ))
        }
        Ok(None) => {}
        Err(e) => facts.problems.push(e.to_string()),
    }
}

/// How matched seconds of a file are labelled in timecode: at the rate and from the start
/// timecode of its video when it has pictures; a file of sound alone at the scan's
/// `--sequence-rate`, from its `timecode` tag (MXF, MOV) or its Broadcast WAV
/// `time_reference`, else from 00:00:00:00.
#[derive(Debug, Clone, Copy)]
pub struct Labels {
    format: Option<TimecodeFormat>,
    rate: EditRate,
    start: u64,
}

impl Labels {
    /// The labels of a file with this video (if any) and this sound.
    pub fn of(
        video: Option<&crate::video::VideoInfo>,
        audio: &AudioInfo,
        sound_rate: EditRate,
    ) -> Self {
        let (rate, tag) =
            match video.and_then(|v| Some((EditRate::new(v.rate_num, v.rate_den)?, v))) {
                Some((rate, v)) => (rate, v.timecode.clone()),
                None => (sound_rate, audio.timecode.clone()),
            };
        let drop_frame = tag.as_deref().is_some_and(|t| t.contains(';'))
            || (tag.is_none() && rate.den == 1001 && rate.nominal_fps().is_multiple_of(30));
        let format = TimecodeFormat::from_rate(rate, drop_frame)
            .or_else(|_| TimecodeFormat::from_rate(rate, false))
            .ok();
        let start = match (&tag, format, audio.time_reference) {
            (Some(t), Some(f), _) => f.parse(t).unwrap_or(0),
            (None, Some(_), Some(samples)) if video.is_none() && audio.sample_rate > 0 => {
                let frames = u128::from(samples) * u128::from(rate.num)
                    / (u128::from(audio.sample_rate) * u128::from(rate.den));
                u64::try_from(frames).unwrap_or(0)
            }
            _ => 0,
        };
        Self {
            format,
            rate,
            start,
        }
    }

    /// The frame (at the labels' rate, from the start of the file) shown at `seconds`.
    fn frame(&self, seconds: f64) -> u64 {
        (seconds.max(0.0) * self.rate.as_f64()).floor() as u64
    }
}

/// Where a bank entry's sound plays in a file's sound.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioHit {
    /// Each use, in order of time.
    pub uses: Vec<Use>,
    /// Whole seconds of each use, inclusive.
    pub time_ranges: Vec<(u32, u32)>,
    /// The frames (at the labels' rate) of each use: first and last.
    pub frame_ranges: Vec<(u64, u64)>,
    /// The timecode of each use.
    pub timecode: Vec<TimecodeRange>,
}

/// Finds every use of the sound `clip` in the sound `mix` and labels each; `None` when there
/// is none.
pub fn locate(clip: &[u32], mix: &[u32], labels: &Labels) -> Option<AudioHit> {
    let uses = find(clip, mix);
    if uses.is_empty() {
        return None;
    }
    let time_ranges = uses
        .iter()
        .map(|u| {
            let a = u.start.max(0.0).floor() as u32;
            let b = (u.end.ceil() as u32).saturating_sub(1).max(a);
            (a, b)
        })
        .collect();
    let frame_ranges: Vec<(u64, u64)> = uses
        .iter()
        .map(|u| {
            let a = labels.frame(u.start);
            let b = labels.frame(u.end).saturating_sub(1).max(a);
            (a, b)
        })
        .collect();
    let timecode = match labels.format {
        Some(format) => frame_ranges
            .iter()
            .map(|&(a, b)| TimecodeRange {
                r#in: format.timecode(labels.start + a).to_string(),
                out: format.timecode(labels.start + b).to_string(),
                rate: labels.rate.to_string(),
            })
            .collect(),
        None => vec![],
    };
    Some(AudioHit {
        uses,
        time_ranges,
        frame_ranges,
        timecode,
    })
}

impl AudioHit {
    /// The finding's words: `its sound at 00:00:10:00-00:00:29:23 (0:10-0:29) matches`.
    pub fn describe(&self) -> String {
        let at: Vec<String> = self
            .time_ranges
            .iter()
            .enumerate()
            .map(|(i, &(a, b))| {
                let secs = format!("{}-{}", crate::scan::fmt_time(a), crate::scan::fmt_time(b));
                match self.timecode.get(i) {
                    Some(t) => format!("{}-{} ({secs})", t.r#in, t.out),
                    None => secs,
                }
            })
            .collect();
        format!("its sound at {} matches", at.join(", "))
    }

    /// The match of a finding.
    pub fn report(
        &self,
        bank: String,
        entry_id: i64,
        use_ref: Option<String>,
        title: Option<String>,
        work_id: Option<String>,
        file_name: Option<String>,
    ) -> MatchReport {
        let ms = |x: f64| (x * 1000.0).round() / 1000.0;
        let mut clip_seconds: Vec<u32> = self
            .uses
            .iter()
            .flat_map(|u| (u.clip_start.floor() as u32)..=(u.clip_end.floor() as u32))
            .collect();
        clip_seconds.sort_unstable();
        clip_seconds.dedup();
        MatchReport {
            bank,
            entry_id,
            use_ref,
            title,
            work_id,
            file_name,
            method: "chromaprint".into(),
            distance: None,
            medium: Some("audio".into()),
            audio_ranges: self.uses.iter().map(|u| (ms(u.start), ms(u.end))).collect(),
            bit_error_rate: self
                .uses
                .iter()
                .map(|u| u.bit_error_rate)
                .reduce(f64::min)
                .map(|r| (r * 1000.0).round() / 1000.0),
            time_ranges: self.time_ranges.clone(),
            timecode: self.timecode.clone(),
            frame_ranges: self.frame_ranges.clone(),
            shots: vec![],
            imf: None,
            frames_matched: None,
            frames_total: None,
            share: None,
            bank_seconds: clip_seconds,
        }
    }
}

/// Seconds ranges as inclusive ranges of edit units at `rate` (an IMF sound track file's
/// samples), for placing them in compositions.
pub fn edit_units(ranges: &[(f64, f64)], rate: EditRate) -> Vec<(u64, u64)> {
    ranges
        .iter()
        .map(|&(a, b)| {
            let first = (a.max(0.0) * rate.as_f64()).floor() as u64;
            let last = ((b.max(0.0) * rate.as_f64()).ceil() as u64)
                .saturating_sub(1)
                .max(first);
            (first, last)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pseudo-random fingerprint (xorshift), for matching tests that need no audio.
    fn noise(seed: u32, n: usize) -> Vec<u32> {
        let mut x = seed.max(1);
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x
            })
            .collect()
    }

    #[test]
    fn a_clip_used_twice_is_found_twice_with_its_ranges() {
        let clip = noise(7, 200);
        let mut mix = noise(99, 300);
        mix.extend(&clip);
        mix.extend(noise(5, 400));
        mix.extend(&clip[50..]);
        mix.extend(noise(6, 300));
        let uses = find(&clip, &mix);
        assert_eq!(uses.len(), 2, "{uses:?}");
        // Edges within half a second (runs of 8 items that are mostly the clip still agree),
        // moved by the measured offsets.
        let at = |k: usize| item_seconds(k) + START_SECONDS;
        assert!((uses[0].start - at(300)).abs() < 0.5, "{uses:?}");
        assert!((uses[1].start - at(900)).abs() < 0.5, "{uses:?}");
        assert!((uses[1].clip_start - at(50)).abs() < 0.5, "{uses:?}");
        assert!((uses[1].end - (item_seconds(1049) + END_SECONDS)).abs() < 0.5);
        assert_eq!(uses[0].bit_error_rate, 0.0);
    }

    #[test]
    fn unrelated_fingerprints_do_not_match() {
        assert!(find(&noise(1, 300), &noise(2, 3000)).is_empty());
    }

    #[test]
    fn a_clip_too_short_to_tell_apart_is_not_matched() {
        let clip = noise(3, MIN_ITEMS - 1);
        let mut mix = noise(4, 100);
        mix.extend(&clip);
        assert!(find(&clip, &mix).is_empty());
    }

    #[test]
    fn stored_bytes_round_trip() {
        let p = AudioPrint {
            millis: 1234,
            chromaprint: vec![0, 1, u32::MAX, 0xdead_beef],
        };
        assert_eq!(AudioPrint::from_bytes(1234, &p.to_bytes()), p);
    }
}
