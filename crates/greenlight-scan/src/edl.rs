//! Edit lists: which edit event (shot) of a programme covers a given record frame, read from a
//! CMX 3600 EDL or an OpenTimelineIO (`.otio`) JSON file.
//!
//! A finding in a delivered file speaks in frames or timecode of that file; an editor and a
//! streamer's QC speak in shots. With an edit list a finding can name the event number, the clip,
//! the reel and the source in/out of the shot it falls in.
//!
//! Record frames count from `00:00:00:00` at the rate the caller gives, so a programme whose
//! record timecode starts at `01:00:00:00` at 24 fps has its first frame at record frame 86 400.
//! Out points are exclusive, as CMX 3600 writes them.
//!
//! - **CMX 3600**: `TITLE:`, `FCM: DROP FRAME` / `FCM: NON-DROP FRAME`, event lines
//!   `001  REEL  V  C  src_in src_out rec_in rec_out` (a transition is `D 030`, a wipe `W001 030`,
//!   a key `K`), and `* FROM CLIP NAME:`, `* TO CLIP NAME:`, `* SOURCE FILE:` comments. Audio-only
//!   events are skipped; `M2` (speed changes) and other lines are ignored. A dissolve is written
//!   as a zero-length line for the outgoing clip followed by the `D` line of the incoming clip;
//!   the incoming clip becomes the event that covers the dissolve.
//! - **OTIO**: the `Timeline`'s `global_start_time`, then each `Video` track of its `Stack`,
//!   whose `Clip`s and `Gap`s follow one another and whose `Transition`s overlap their neighbours
//!   (they take no time of their own). A nested `Stack` or `Track` inside a track is one event
//!   (named after it) spanning its duration. Where video tracks overlap, the upper track (later
//!   in the stack) is the one seen, and [`EditList::event_at`] returns its event.
//!
//! Files are limited to [`MAX_FILE_BYTES`] and [`MAX_EVENTS`] events. Every problem found is
//! reported at once, each with its line (CMX 3600, and JSON syntax) or JSON path (OTIO).
//!
//! ```
//! use std::path::Path;
//! use greenlight_scan::edl::EditList;
//!
//! let text = "TITLE: DEMO\nFCM: NON-DROP FRAME\n\n\
//! 001  A001  V  C  00:00:10:00 00:00:12:00 01:00:00:00 01:00:02:00\n\
//! * FROM CLIP NAME: opening.mov\n";
//! let list = EditList::from_cmx3600(text, Path::new("demo.edl"), 24, 1).unwrap();
//! let event = list.event_at(86_400 + 30).unwrap();
//! assert_eq!(event.number, 1);
//! assert_eq!(event.clip.as_deref(), Some("opening.mov"));
//! assert!(list.event_at(86_400 + 48).is_none()); // the out point is exclusive
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Largest edit list file read: 8 MiB (a feature film's EDL is well under 1 MiB).
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Most events kept from one edit list.
pub const MAX_EVENTS: usize = 100_000;

/// Most problems listed in one error; further ones are counted, not listed.
const MAX_PROBLEMS: usize = 50;

/// Longest piece of input quoted in an error message.
const MAX_QUOTE: usize = 60;

/// Which syntax an edit list was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EditListFormat {
    /// CMX 3600 EDL text.
    Cmx3600,
    /// OpenTimelineIO JSON.
    Otio,
}

/// How an event begins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Transition {
    /// A cut.
    Cut,
    /// A dissolve from the previous event lasting `frames`.
    Dissolve {
        /// Length of the dissolve in frames.
        frames: u32,
    },
    /// A wipe (SMPTE wipe code as written, e.g. `W001`) lasting `frames`.
    Wipe {
        /// The wipe code as written.
        code: String,
        /// Length of the wipe in frames.
        frames: u32,
    },
    /// A key (`K`, `KB`, `KO`) as written, with its length when given.
    Key {
        /// The key code as written.
        code: String,
        /// Its length in frames, when written.
        frames: Option<u32>,
    },
    /// Another transition (an OTIO `transition_type` other than a dissolve).
    Other {
        /// Its type as written.
        kind: String,
        /// Its length in frames.
        frames: u32,
    },
}

/// One edit event (a shot) of the programme: which source material fills which record frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// The event number as written in the EDL; for OTIO, the clip's position (1-based, in track
    /// order, counting clips of all video tracks).
    pub number: u32,
    /// The clip name (`* FROM CLIP NAME:` / `* TO CLIP NAME:`, or the OTIO clip's name).
    pub clip: Option<String>,
    /// The reel (or tape) name; for OTIO, `metadata.cmx_3600.reel` when present.
    pub reel: Option<String>,
    /// First record frame of the event, counted from `00:00:00:00` at the list's rate.
    pub record_in: u64,
    /// Record frame just after the event (exclusive).
    pub record_out: u64,
    /// Source in timecode as written (for OTIO, computed at the source's rate).
    pub source_in: String,
    /// Source out timecode as written, exclusive (for OTIO, computed at the source's rate).
    pub source_out: String,
    /// The source file (`* SOURCE FILE:`, or the OTIO media reference's `target_url`).
    pub source_file: Option<String>,
    /// How the event begins.
    pub transition: Transition,
    /// The video track, 1-based (always 1 for CMX 3600); upper tracks have higher numbers.
    pub track: u32,
}

/// An edit list: its events and the rate its record frames are counted at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EditList {
    /// The file it was read from.
    pub path: PathBuf,
    /// Which syntax it was read from.
    pub format: EditListFormat,
    /// The `TITLE:` line, or the OTIO timeline's name.
    pub title: Option<String>,
    /// Record rate numerator (e.g. 24, or 30000 for 29.97).
    pub rate_num: u32,
    /// Record rate denominator (e.g. 1, or 1001 for 29.97).
    pub rate_den: u32,
    /// Whether record timecode is drop-frame (`FCM: DROP FRAME` or `;` in the timecodes).
    pub drop_frame: bool,
    /// Video events in the order written, audio-only events and zero-length lines left out.
    pub events: Vec<Event>,
}

/// One problem in an edit list: where (line, or JSON path for OTIO) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdlProblem {
    /// 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// JSON path of the problem in an OTIO file (e.g. `tracks.children[0].children[3]`).
    pub at: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for EdlProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.line, &self.at) {
            (Some(line), Some(at)) => write!(f, "line {line}, {at}: {}", self.message),
            (Some(line), None) => write!(f, "line {line}: {}", self.message),
            (None, Some(at)) => write!(f, "{at}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// Why an edit list could not be read. Each variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum EdlError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read the edit list: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("{path}: the edit list is larger than {limit} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// The rate given by the caller is not a usable frame rate.
    #[error("{path}: {rate_num}/{rate_den} is not a frame rate edit lists can be read at")]
    Rate {
        /// The file.
        path: PathBuf,
        /// The numerator given.
        rate_num: u32,
        /// The denominator given.
        rate_den: u32,
    },
    /// The file holds more than [`MAX_EVENTS`] events.
    #[error("{path}: more than {limit} events")]
    TooManyEvents {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: usize,
    },
    /// The file is not a valid edit list; every problem found is listed.
    #[error("{path}: {}", list_problems(problems, *more))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The problems, in file order (up to 50).
        problems: Vec<EdlProblem>,
        /// How many more problems were found but not listed.
        more: usize,
    },
}

fn list_problems(problems: &[EdlProblem], more: usize) -> String {
    let mut text = problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if more > 0 {
        text.push_str(&format!("; and {more} more problems"));
    }
    text
}

/// Collects problems, keeping the first [`MAX_PROBLEMS`].
#[derive(Default)]
struct Problems {
    list: Vec<EdlProblem>,
    more: usize,
}

impl Problems {
    fn push(&mut self, line: Option<usize>, at: Option<String>, message: String) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(EdlProblem { line, at, message });
        } else {
            self.more += 1;
        }
    }

    fn line(&mut self, line: usize, message: String) {
        self.push(Some(line), None, message);
    }

    fn at(&mut self, at: &str, message: String) {
        self.push(None, Some(at.to_string()), message);
    }

    fn into_result(self, path: &Path) -> Result<(), EdlError> {
        if self.list.is_empty() {
            Ok(())
        } else {
            Err(EdlError::Invalid {
                path: path.to_path_buf(),
                problems: self.list,
                more: self.more,
            })
        }
    }
}

/// An [`EdlError::Invalid`] with one problem.
fn invalid(path: &Path, line: Option<usize>, at: Option<&str>, message: String) -> EdlError {
    EdlError::Invalid {
        path: path.to_path_buf(),
        problems: vec![EdlProblem {
            line,
            at: at.map(str::to_string),
            message,
        }],
        more: 0,
    }
}

/// `text` quoted for an error message, cut to [`MAX_QUOTE`] characters.
fn quote(text: &str) -> String {
    let mut cut: String = text.chars().take(MAX_QUOTE).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

impl EditList {
    /// Reads an edit list from `path`: CMX 3600 for `.edl`, OTIO for `.otio`, otherwise by
    /// content (a JSON object is OTIO). Record frames are counted at `rate_num / rate_den`
    /// frames per second (e.g. `24, 1` or `30000, 1001`).
    pub fn read(path: &Path, rate_num: u32, rate_den: u32) -> Result<EditList, EdlError> {
        let io = |source| EdlError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Vec::new();
        // Read one byte past the limit rather than trusting the size reported beforehand.
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(EdlError::TooLarge {
                path: path.to_path_buf(),
                limit: MAX_FILE_BYTES,
            });
        }
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text,
            Err(e) => {
                let valid = &bytes[..e.valid_up_to()];
                let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
                return Err(invalid(
                    path,
                    Some(line),
                    None,
                    format!(
                        "not UTF-8 text (byte {}); an edit list is a text file",
                        e.valid_up_to()
                    ),
                ));
            }
        };
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let otio = match extension.as_deref() {
            Some("otio") => true,
            Some("edl") => false,
            _ => text
                .trim_start_matches('\u{feff}')
                .trim_start()
                .starts_with('{'),
        };
        if otio {
            Self::from_otio(text, path, rate_num, rate_den)
        } else {
            Self::from_cmx3600(text, path, rate_num, rate_den)
        }
    }

    /// Parses CMX 3600 text; `path` names the source in errors.
    pub fn from_cmx3600(
        text: &str,
        path: &Path,
        rate_num: u32,
        rate_den: u32,
    ) -> Result<EditList, EdlError> {
        let rate = Rate::new(rate_num, rate_den).ok_or_else(|| EdlError::Rate {
            path: path.to_path_buf(),
            rate_num,
            rate_den,
        })?;
        cmx::parse(text, path, rate)
    }

    /// Parses OTIO JSON text; `path` names the source in errors.
    pub fn from_otio(
        text: &str,
        path: &Path,
        rate_num: u32,
        rate_den: u32,
    ) -> Result<EditList, EdlError> {
        let rate = Rate::new(rate_num, rate_den).ok_or_else(|| EdlError::Rate {
            path: path.to_path_buf(),
            rate_num,
            rate_den,
        })?;
        otio::parse(text, path, rate)
    }

    /// The event seen at `record_frame` (counted from `00:00:00:00` at the list's rate), if
    /// any: the one whose `[record_in, record_out)` holds it, on the upper track where tracks
    /// overlap, and the later one written where events of one track overlap.
    pub fn event_at(&self, record_frame: u64) -> Option<&Event> {
        let mut best: Option<&Event> = None;
        for event in &self.events {
            if event.record_in <= record_frame
                && record_frame < event.record_out
                && best.is_none_or(|b| event.track >= b.track)
            {
                best = Some(event);
            }
        }
        best
    }
}

/// A frame rate given by the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rate {
    num: u32,
    den: u32,
    /// Frames per second of timecode: the rate rounded (24 for 23.976, 30 for 29.97).
    nominal: u32,
}

impl Rate {
    fn new(num: u32, den: u32) -> Option<Rate> {
        if num == 0 || den == 0 {
            return None;
        }
        let nominal = (u64::from(num) + u64::from(den) / 2) / u64::from(den);
        if !(1..=1000).contains(&nominal) {
            return None;
        }
        Some(Rate {
            num,
            den,
            nominal: nominal as u32,
        })
    }

    fn per_second(&self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }

    /// Frame numbers dropped per minute in drop-frame timecode, `None` when this rate has no
    /// drop-frame form (only the 1000/1001 rates of 30 and 60 do).
    fn drop_per_minute(&self) -> Option<u32> {
        let ntsc =
            u64::from(self.num) * 1001 == u64::from(self.nominal) * 1000 * u64::from(self.den);
        (ntsc && self.nominal.is_multiple_of(30)).then_some(self.nominal / 15)
    }
}

/// A timecode as written: `HH:MM:SS:FF`, drop-frame when the frames follow `;` (or `.`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Timecode {
    hours: u32,
    minutes: u32,
    seconds: u32,
    frames: u32,
    drop: bool,
}

impl Timecode {
    /// Parses the syntax only: four groups of two digits (three allowed for frames), minutes and
    /// seconds below 60.
    fn parse(text: &str) -> Result<Timecode, String> {
        let bad = || {
            format!(
                "{} is not a timecode (HH:MM:SS:FF, or HH:MM:SS;FF for drop-frame)",
                quote(text)
            )
        };
        let bytes = text.as_bytes();
        if !(11..=12).contains(&bytes.len()) {
            return Err(bad());
        }
        let mut groups = [0u32; 4];
        let mut separators = [b':'; 3];
        let mut group = 0;
        let mut digits = 0;
        for &b in bytes {
            match b {
                b'0'..=b'9' => {
                    groups[group] = groups[group] * 10 + u32::from(b - b'0');
                    digits += 1;
                    if digits > if group == 3 { 3 } else { 2 } {
                        return Err(bad());
                    }
                }
                b':' | b';' | b'.' | b',' if group < 3 && digits == 2 => {
                    separators[group] = b;
                    group += 1;
                    digits = 0;
                }
                _ => return Err(bad()),
            }
        }
        if group != 3 || digits < 2 {
            return Err(bad());
        }
        let [hours, minutes, seconds, frames] = groups;
        if minutes >= 60 || seconds >= 60 {
            return Err(format!(
                "{}: minutes and seconds must be below 60",
                quote(text)
            ));
        }
        Ok(Timecode {
            hours,
            minutes,
            seconds,
            frames,
            drop: separators
                .iter()
                .any(|&s| s == b';' || s == b'.' || s == b','),
        })
    }

    /// Frames from `00:00:00:00` at `rate`, drop-frame when `self.drop` or `drop`.
    fn to_frames(self, rate: Rate, drop: bool, text: &str) -> Result<u64, String> {
        if self.frames >= rate.nominal {
            return Err(format!(
                "{}: frame {} is not below {}, the frames per second of timecode at {}/{}",
                quote(text),
                self.frames,
                rate.nominal,
                rate.num,
                rate.den
            ));
        }
        let minutes = u64::from(self.hours) * 60 + u64::from(self.minutes);
        let nominal = u64::from(rate.nominal);
        let counted = (minutes * 60 + u64::from(self.seconds)) * nominal + u64::from(self.frames);
        if !(self.drop || drop) {
            return Ok(counted);
        }
        let Some(dropped) = rate.drop_per_minute() else {
            return Err(format!(
                "{}: drop-frame timecode needs a 30000/1001 or 60000/1001 rate, the edit list is \
                 read at {}/{}",
                quote(text),
                rate.num,
                rate.den
            ));
        };
        if self.seconds == 0 && !self.minutes.is_multiple_of(10) && self.frames < dropped {
            return Err(format!(
                "{}: there is no frame {:02} at the start of minute {} in drop-frame timecode",
                quote(text),
                self.frames,
                self.minutes
            ));
        }
        let dropped = u64::from(dropped);
        Ok(counted - dropped * (minutes - minutes / 10))
    }
}

/// Formats `frames` from `00:00:00:00` as timecode with `nominal` frames per second, drop-frame
/// (`;` before the frames) when `drop` frame numbers are skipped per minute.
fn format_timecode(frames: u64, nominal: u32, drop: Option<u32>) -> String {
    let nominal = u64::from(nominal.max(1));
    let (mut frames, separator) = (frames, ':');
    let separator = match drop {
        Some(dropped) => {
            let dropped = u64::from(dropped);
            let per_minute = nominal * 60 - dropped;
            let per_ten = nominal * 600 - dropped * 9;
            let tens = frames / per_ten;
            let rest = frames % per_ten;
            frames += dropped * 9 * tens;
            if rest > dropped {
                frames += dropped * ((rest - dropped) / per_minute);
            }
            ';'
        }
        None => separator,
    };
    let ff = frames % nominal;
    let total_seconds = frames / nominal;
    format!(
        "{:02}:{:02}:{:02}{separator}{:02}",
        total_seconds / 3600,
        total_seconds / 60 % 60,
        total_seconds % 60,
        ff
    )
}

mod cmx {
    //! The CMX 3600 line parser.

    use super::*;

    /// An event line before comments are attached and zero-length lines dropped.
    struct Line {
        line: usize,
        event: Event,
        video: bool,
    }

    pub(super) fn parse(text: &str, path: &Path, rate: Rate) -> Result<EditList, EdlError> {
        let mut problems = Problems::default();
        let mut title = None;
        let mut fcm_drop = false;
        let mut any_drop = false;
        let mut recognised = false;
        let mut lines: Vec<Line> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let number = index + 1;
            let line = raw.trim_start_matches('\u{feff}').trim();
            if line.is_empty() {
                continue;
            }
            let upper = line.to_ascii_uppercase();
            if let Some(rest) = strip_prefix_ci(line, "TITLE:") {
                recognised = true;
                let rest = rest.trim();
                title = (!rest.is_empty()).then(|| rest.to_string());
            } else if let Some(rest) = strip_prefix_ci(line, "FCM:") {
                recognised = true;
                let mode = rest.trim().to_ascii_uppercase();
                fcm_drop = match mode.as_str() {
                    "DROP FRAME" | "DROP" | "DF" => true,
                    "NON-DROP FRAME" | "NON DROP FRAME" | "NON-DROP" | "NDF" => false,
                    _ => {
                        problems.line(
                            number,
                            format!(
                                "FCM is {}, expected DROP FRAME or NON-DROP FRAME",
                                quote(rest.trim())
                            ),
                        );
                        fcm_drop
                    }
                };
                any_drop |= fcm_drop;
            } else if let Some(comment) = line.strip_prefix('*') {
                comment_line(comment.trim(), &mut lines);
            } else if line.as_bytes()[0].is_ascii_digit() && !upper.starts_with("M2") {
                recognised = true;
                match event_line(line, rate, fcm_drop) {
                    Ok((event, video, drop)) => {
                        any_drop |= drop && video;
                        if lines.len() >= MAX_EVENTS {
                            return Err(EdlError::TooManyEvents {
                                path: path.to_path_buf(),
                                limit: MAX_EVENTS,
                            });
                        }
                        lines.push(Line {
                            line: number,
                            event,
                            video,
                        });
                    }
                    Err(message) => problems.line(number, message),
                }
            }
            // M2 (motion), SPLIT, >>> SOURCE and other lines do not change record times.
        }
        if !recognised {
            problems.push(
                None,
                None,
                "not a CMX 3600 EDL: no TITLE, FCM or event line".to_string(),
            );
        }
        for line in &lines {
            if line.event.record_out < line.event.record_in {
                problems.line(
                    line.line,
                    format!(
                        "record out is before record in (event {:03})",
                        line.event.number
                    ),
                );
            }
        }
        problems.into_result(path)?;
        let events = lines
            .into_iter()
            .filter(|l| l.video && l.event.record_out > l.event.record_in)
            .map(|l| l.event)
            .collect();
        Ok(EditList {
            path: path.to_path_buf(),
            format: EditListFormat::Cmx3600,
            title,
            rate_num: rate.num,
            rate_den: rate.den,
            drop_frame: any_drop,
            events,
        })
    }

    fn strip_prefix_ci<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
        let head = line.get(..prefix.len())?;
        head.eq_ignore_ascii_case(prefix)
            .then(|| &line[prefix.len()..])
    }

    /// Attaches a `* FROM CLIP NAME:` / `* TO CLIP NAME:` / `* SOURCE FILE:` comment. In a
    /// dissolve, FROM names the outgoing clip (the line before the `D` line with the same
    /// number) and TO the incoming one.
    fn comment_line(comment: &str, lines: &mut [Line]) {
        let (key, value) = match comment.split_once(':') {
            Some((key, value)) => (key.trim().to_ascii_uppercase(), value.trim()),
            None => return,
        };
        if value.is_empty() {
            return;
        }
        let count = lines.len();
        let Some(last) = count.checked_sub(1) else {
            return;
        };
        let outgoing = if count >= 2
            && lines[last].event.transition != Transition::Cut
            && lines[last - 1].event.number == lines[last].event.number
        {
            last - 1
        } else {
            last
        };
        match key.as_str() {
            "FROM CLIP NAME" | "FROM CLIP" => lines[outgoing].event.clip = Some(value.to_string()),
            "TO CLIP NAME" | "TO CLIP" => lines[last].event.clip = Some(value.to_string()),
            "SOURCE FILE" | "FROM FILE" => {
                lines[outgoing].event.source_file = Some(value.to_string())
            }
            "TO FILE" => lines[last].event.source_file = Some(value.to_string()),
            _ => {}
        }
    }

    /// Parses `NNN REEL CHANNELS TRANSITION [DURATION] SRC_IN SRC_OUT REC_IN REC_OUT`; returns
    /// the event, whether it carries video, and whether its record timecode is drop-frame.
    fn event_line(line: &str, rate: Rate, fcm_drop: bool) -> Result<(Event, bool, bool), String> {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        if tokens.len() < 8 {
            return Err(format!(
                "{} is not an event line (number, reel, channels, transition, source in/out, \
                 record in/out)",
                quote(line)
            ));
        }
        let number: u32 = tokens[0]
            .parse()
            .map_err(|_| format!("event number {} is not a number", quote(tokens[0])))?;
        let reel = tokens[1];
        let channels = tokens[2].to_ascii_uppercase();
        let video = channels.contains('V') || channels == "B";
        let times = &tokens[tokens.len() - 4..];
        let transition = transition(&tokens[3..tokens.len() - 4])?;
        let parsed = [
            Timecode::parse(times[0])?,
            Timecode::parse(times[1])?,
            Timecode::parse(times[2])?,
            Timecode::parse(times[3])?,
        ];
        let drop = fcm_drop || parsed[2].drop || parsed[3].drop;
        // Source timecodes may be at another rate than the record: only their syntax is checked.
        let (record_in, record_out) = if video {
            (
                parsed[2].to_frames(rate, drop, times[2])?,
                parsed[3].to_frames(rate, drop, times[3])?,
            )
        } else {
            (0, 0)
        };
        Ok((
            Event {
                number,
                clip: None,
                reel: Some(reel.to_string()),
                record_in,
                record_out,
                source_in: times[0].to_string(),
                source_out: times[1].to_string(),
                source_file: None,
                transition,
                track: 1,
            },
            video,
            drop,
        ))
    }

    fn transition(tokens: &[&str]) -> Result<Transition, String> {
        let frames = |text: &str| {
            text.parse::<u32>()
                .map_err(|_| format!("transition length {} is not a number", quote(text)))
        };
        let Some((&kind, rest)) = tokens.split_first() else {
            return Err("the transition (C, D, W### or K) is missing".to_string());
        };
        let upper = kind.to_ascii_uppercase();
        match (upper.as_str(), rest) {
            ("C", []) => Ok(Transition::Cut),
            ("D", [length]) => Ok(Transition::Dissolve {
                frames: frames(length)?,
            }),
            (w, [length]) if w.starts_with('W') && w[1..].bytes().all(|b| b.is_ascii_digit()) => {
                Ok(Transition::Wipe {
                    code: kind.to_string(),
                    frames: frames(length)?,
                })
            }
            ("K", _) | ("KB", _) | ("KO", _) if rest.len() <= 2 => {
                let length = rest.iter().find(|t| t.bytes().all(|b| b.is_ascii_digit()));
                let code = std::iter::once(kind)
                    .chain(rest.iter().copied().filter(|t| Some(t) != length))
                    .collect::<Vec<_>>()
                    .join(" ");
                Ok(Transition::Key {
                    code,
                    frames: length.map(|l| frames(l)).transpose()?,
                })
            }
            ("D", []) => Err("a dissolve (D) needs its length in frames".to_string()),
            _ => Err(format!(
                "{} is not a transition (C, D 030, W001 030 or K)",
                quote(&tokens.join(" "))
            )),
        }
    }
}

mod otio {
    //! The OpenTimelineIO JSON reader: typed structs for the schemas used, told apart by their
    //! `OTIO_SCHEMA` field, unknown fields ignored. The structs are flat (one for every kind of
    //! track item) rather than a serde-tagged enum: a tagged enum buffers its content, and
    //! serde_json then loses the line of a type error.

    use super::*;

    #[derive(Deserialize)]
    struct Timeline {
        #[serde(rename = "OTIO_SCHEMA")]
        schema: String,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        global_start_time: Option<RationalTime>,
        #[serde(default)]
        tracks: Option<Item>,
    }

    #[derive(Deserialize, Clone, Copy)]
    struct RationalTime {
        value: f64,
        rate: f64,
    }

    impl RationalTime {
        /// The time in seconds, when it is one (finite, non-negative, at a positive rate).
        fn seconds(&self) -> Option<f64> {
            let seconds = self.value / self.rate;
            (self.rate > 0.0 && seconds.is_finite() && seconds >= 0.0).then_some(seconds)
        }
    }

    #[derive(Deserialize, Clone, Copy)]
    struct TimeRange {
        start_time: RationalTime,
        duration: RationalTime,
    }

    /// A `Stack`, `Track`, `Clip`, `Gap` or `Transition` (or another composable, refused).
    #[derive(Deserialize)]
    struct Item {
        #[serde(rename = "OTIO_SCHEMA")]
        schema: String,
        #[serde(default)]
        name: Option<String>,
        /// Track: `Video` or `Audio`.
        #[serde(default)]
        kind: Option<String>,
        /// Stack and Track.
        #[serde(default)]
        children: Vec<Item>,
        #[serde(default)]
        source_range: Option<TimeRange>,
        /// Clip (schema 1).
        #[serde(default)]
        media_reference: Option<MediaReference>,
        /// Clip (schema 2).
        #[serde(default)]
        media_references: Option<BTreeMap<String, MediaReference>>,
        #[serde(default)]
        active_media_reference_key: Option<String>,
        #[serde(default)]
        metadata: Option<serde_json::Value>,
        /// Transition.
        #[serde(default)]
        transition_type: Option<String>,
        #[serde(default)]
        in_offset: Option<RationalTime>,
        #[serde(default)]
        out_offset: Option<RationalTime>,
    }

    impl Item {
        /// The schema name without its version (`Clip` for `Clip.2`).
        fn schema_name(&self) -> &str {
            self.schema.split('.').next().unwrap_or_default()
        }

        fn media(&self) -> Option<&MediaReference> {
            self.media_reference.as_ref().or_else(|| {
                let refs = self.media_references.as_ref()?;
                let key = self
                    .active_media_reference_key
                    .as_deref()
                    .unwrap_or("DEFAULT_MEDIA");
                refs.get(key)
            })
        }

        fn reel(&self) -> Option<String> {
            self.metadata
                .as_ref()
                .and_then(|m| m.get("cmx_3600"))
                .and_then(|m| m.get("reel"))
                .and_then(|r| r.as_str())
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_string)
        }
    }

    #[derive(Deserialize)]
    struct MediaReference {
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        target_url: Option<String>,
        #[serde(default)]
        available_range: Option<TimeRange>,
    }

    fn non_empty(text: &Option<String>) -> Option<String> {
        text.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    }

    pub(super) fn parse(text: &str, path: &Path, rate: Rate) -> Result<EditList, EdlError> {
        let timeline: Timeline = serde_json::from_str(text.trim_start_matches('\u{feff}'))
            .map_err(|e| {
                invalid(
                    path,
                    Some(e.line()),
                    None,
                    format!(
                        "column {}: not valid OTIO JSON: {}",
                        e.column(),
                        strip_position(&e)
                    ),
                )
            })?;
        if timeline.schema.split('.').next() != Some("Timeline") {
            return Err(invalid(
                path,
                None,
                Some("OTIO_SCHEMA"),
                format!(
                    "the top-level object is {}, not an OTIO Timeline",
                    quote(&timeline.schema)
                ),
            ));
        }
        let mut problems = Problems::default();
        let start = match timeline.global_start_time {
            None => 0.0,
            Some(t) => t.seconds().unwrap_or_else(|| {
                problems.at("global_start_time", NOT_A_TIME.to_string());
                0.0
            }),
        };
        let mut reader = Reader {
            rate,
            start,
            problems,
            events: Vec::new(),
            clips: 0,
        };
        let stack = match &timeline.tracks {
            Some(stack) if stack.schema_name() == "Stack" => stack,
            _ => {
                return Err(invalid(
                    path,
                    None,
                    Some("tracks"),
                    "the timeline has no Stack of tracks".to_string(),
                ));
            }
        };
        let mut track_number = 0;
        for (t, item) in stack.children.iter().enumerate() {
            let at = format!("tracks.children[{t}]");
            if item.schema_name() != "Track" {
                reader.problems.at(
                    &at,
                    format!(
                        "the timeline's stack holds a {}, expected a Track",
                        quote(&item.schema)
                    ),
                );
                continue;
            }
            if !item
                .kind
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case("video"))
            {
                continue;
            }
            track_number += 1;
            if reader.track(item, track_number, &at).is_err() {
                return Err(EdlError::TooManyEvents {
                    path: path.to_path_buf(),
                    limit: MAX_EVENTS,
                });
            }
        }
        reader.problems.into_result(path)?;
        Ok(EditList {
            path: path.to_path_buf(),
            format: EditListFormat::Otio,
            title: non_empty(&timeline.name),
            rate_num: rate.num,
            rate_den: rate.den,
            drop_frame: rate.drop_per_minute().is_some(),
            events: reader.events,
        })
    }

    const NOT_A_TIME: &str = "not a time (a finite, non-negative value at a positive rate)";

    /// serde_json's message without its trailing " at line L column C" (given separately).
    fn strip_position(e: &serde_json::Error) -> String {
        let text = e.to_string();
        match text.rfind(" at line ") {
            Some(i) => text[..i].to_string(),
            None => text,
        }
    }

    struct Reader {
        rate: Rate,
        /// The timeline's global start, in seconds.
        start: f64,
        problems: Problems,
        events: Vec<Event>,
        clips: u32,
    }

    struct TooMany;

    impl Reader {
        /// Record frame at `seconds` into the track.
        fn record_frame(&self, seconds: f64) -> u64 {
            ((self.start + seconds) * self.rate.per_second()).round() as u64
        }

        /// The length of an item in seconds, or a problem when it has none.
        fn duration(&mut self, range: Option<&TimeRange>, at: &str) -> Option<f64> {
            let Some(range) = range else {
                self.problems.at(
                    at,
                    "has no source_range (nor a media reference's available_range), so its \
                     length is unknown"
                        .to_string(),
                );
                return None;
            };
            let seconds = range.duration.seconds();
            if seconds.is_none() {
                self.problems.at(
                    &format!("{at}.source_range.duration"),
                    "not a duration (a finite, non-negative value at a positive rate)".to_string(),
                );
            }
            seconds
        }

        fn track(&mut self, track: &Item, number: u32, at: &str) -> Result<(), TooMany> {
            if track.source_range.is_some() {
                self.problems.at(
                    &format!("{at}.source_range"),
                    "a trimmed track is not supported; its record times would be shifted"
                        .to_string(),
                );
            }
            let mut position = 0.0;
            let mut pending: Option<Transition> = None;
            for (i, item) in track.children.iter().enumerate() {
                let at = format!("{at}.children[{i}]");
                match item.schema_name() {
                    "Gap" => {
                        if let Some(d) = self.duration(item.source_range.as_ref(), &at) {
                            position += d;
                        }
                        pending = None;
                    }
                    "Transition" => pending = Some(self.transition(item, &at)),
                    kind @ ("Clip" | "Stack" | "Track") => {
                        // A nested Stack or Track is one event spanning it, named after it.
                        let media = (kind == "Clip").then(|| item.media()).flatten();
                        let range = item
                            .source_range
                            .or_else(|| media.and_then(|m| m.available_range));
                        let Some(d) = self.duration(range.as_ref(), &at) else {
                            continue;
                        };
                        let (source_in, source_out) =
                            range.map(|r| source_timecodes(&r)).unwrap_or_default();
                        self.clips += 1;
                        let event = Event {
                            number: self.clips,
                            clip: non_empty(&item.name)
                                .or_else(|| media.and_then(|m| non_empty(&m.name))),
                            reel: item.reel(),
                            record_in: self.record_frame(position),
                            record_out: self.record_frame(position + d),
                            source_in,
                            source_out,
                            source_file: media.and_then(|m| non_empty(&m.target_url)),
                            transition: pending.take().unwrap_or(Transition::Cut),
                            track: number,
                        };
                        self.push(event)?;
                        position += d;
                    }
                    _ => self.problems.at(
                        &at,
                        format!(
                            "OTIO_SCHEMA {} is not a Clip, Gap, Transition, Stack or Track: its \
                             length is unknown",
                            quote(&item.schema)
                        ),
                    ),
                }
            }
            Ok(())
        }

        fn push(&mut self, event: Event) -> Result<(), TooMany> {
            if self.events.len() >= MAX_EVENTS {
                return Err(TooMany);
            }
            if event.record_out > event.record_in {
                self.events.push(event);
            }
            Ok(())
        }

        fn transition(&mut self, t: &Item, at: &str) -> Transition {
            let mut frames = 0.0;
            for (name, offset) in [("in_offset", t.in_offset), ("out_offset", t.out_offset)] {
                match offset.map(|o| o.seconds()) {
                    None => {}
                    Some(Some(s)) => frames += s * self.rate.per_second(),
                    Some(None) => self
                        .problems
                        .at(&format!("{at}.{name}"), NOT_A_TIME.to_string()),
                }
            }
            let frames = frames.round().min(f64::from(u32::MAX)) as u32;
            match t.transition_type.as_deref() {
                None | Some("SMPTE_Dissolve") => Transition::Dissolve { frames },
                Some(kind) => Transition::Other {
                    kind: kind.to_string(),
                    frames,
                },
            }
        }
    }

    /// Source in and out (exclusive) timecode of a range, at the start time's own rate.
    fn source_timecodes(range: &TimeRange) -> (String, String) {
        let rate = range.start_time.rate;
        if !(rate > 0.0 && rate.is_finite() && rate <= 1000.0) {
            return (String::new(), String::new());
        }
        let nominal = rate.round().max(1.0) as u32;
        // 29.97 and 59.94 are shown drop-frame, as OpenTimelineIO does by default.
        let ntsc = (rate - f64::from(nominal) * 1000.0 / 1001.0).abs() < 0.001;
        let drop = (ntsc && nominal.is_multiple_of(30)).then_some(nominal / 15);
        let start = range.start_time.value.round().max(0.0);
        let duration = range
            .duration
            .seconds()
            .map(|s| (s * rate).round())
            .unwrap_or(0.0);
        (
            format_timecode(start as u64, nominal, drop),
            format_timecode((start + duration) as u64, nominal, drop),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rate(num: u32, den: u32) -> Rate {
        Rate::new(num, den).expect("a valid test rate")
    }

    #[test]
    fn non_drop_timecode_counts_every_frame() {
        let tc = Timecode::parse("01:00:00:00").expect("valid");
        assert_eq!(tc.to_frames(rate(24, 1), false, ""), Ok(86_400));
        let tc = Timecode::parse("00:01:00:05").expect("valid");
        assert_eq!(tc.to_frames(rate(25, 1), false, ""), Ok(60 * 25 + 5));
        // Non-drop at 29.97 counts 30 frame numbers a second.
        let tc = Timecode::parse("00:10:00:00").expect("valid");
        assert_eq!(tc.to_frames(rate(30000, 1001), false, ""), Ok(18_000));
    }

    #[test]
    fn drop_frame_timecode_skips_two_frame_numbers_a_minute_except_every_tenth() {
        let r = rate(30000, 1001);
        let frames = |text: &str| {
            Timecode::parse(text)
                .expect("valid")
                .to_frames(r, false, text)
                .expect("exists")
        };
        assert_eq!(frames("00:00:59;29"), 1799);
        assert_eq!(frames("00:01:00;02"), 1800);
        assert_eq!(frames("00:10:00;00"), 17_982);
        assert_eq!(frames("01:00:00;00"), 107_892);
        let missing = Timecode::parse("00:01:00;00")
            .expect("valid syntax")
            .to_frames(r, false, "00:01:00;00");
        assert!(missing.is_err_and(|e| e.contains("no frame 00")));
    }

    #[test]
    fn drop_frame_is_refused_at_a_rate_without_one() {
        let err = Timecode::parse("01:00:00;00")
            .expect("valid syntax")
            .to_frames(rate(24, 1), false, "01:00:00;00")
            .expect_err("24 fps has no drop-frame timecode");
        assert!(err.contains("30000/1001"), "{err}");
    }

    #[test]
    fn malformed_timecodes_are_refused() {
        for text in [
            "1:00:00:00",
            "01:00:00",
            "01:60:00:00",
            "01:00:00:0x",
            "01-00-00-00",
            "",
        ] {
            assert!(Timecode::parse(text).is_err(), "{text:?} was accepted");
        }
        let err = Timecode::parse("00:00:00:30")
            .expect("syntax")
            .to_frames(rate(30, 1), false, "00:00:00:30")
            .expect_err("frame 30 at 30 fps");
        assert!(err.contains("not below 30"), "{err}");
    }

    #[test]
    fn formats_drop_frame_timecode() {
        assert_eq!(format_timecode(1800, 30, Some(2)), "00:01:00;02");
        assert_eq!(format_timecode(17_982, 30, Some(2)), "00:10:00;00");
        assert_eq!(format_timecode(86_400, 24, None), "01:00:00:00");
    }

    proptest! {
        #[test]
        fn drop_frame_format_then_parse_round_trips(frames in 0u64..(24 * 107_892), sixty in any::<bool>()) {
            let (r, nominal, drop) = if sixty { (rate(60000, 1001), 60, 4) } else { (rate(30000, 1001), 30, 2) };
            let text = format_timecode(frames, nominal, Some(drop));
            let back = Timecode::parse(&text).map_err(TestCaseError::fail)?
                .to_frames(r, false, &text).map_err(TestCaseError::fail)?;
            prop_assert_eq!(back, frames, "{}", text);
        }

        #[test]
        fn written_events_are_read_back_at_their_record_frames(
            start in 0u64..2_000_000,
            shots in proptest::collection::vec((1u64..600, 0u64..50, proptest::option::of(1u32..60), any::<bool>()), 1..30),
            drop in any::<bool>(),
        ) {
            let (r, nominal, dropped) = if drop { (rate(30000, 1001), 30, Some(2)) } else { (rate(25, 1), 25, None) };
            let tc = |f: u64| format_timecode(f, nominal, dropped);
            let mut text = format!("TITLE: GENERATED\nFCM: {}\n", if drop { "DROP FRAME" } else { "NON-DROP FRAME" });
            let mut expected = Vec::new();
            let mut at = start;
            for (i, &(length, gap, dissolve, audio)) in shots.iter().enumerate() {
                at += gap;
                let number = i + 1;
                let channels = if audio { "AA" } else { "V" };
                let transition = match dissolve {
                    Some(frames) => {
                        // The outgoing zero-length line, then the incoming D line.
                        text.push_str(&format!("{number:03}  PREV  V  C  00:00:00:00 00:00:00:00 {} {}\n", tc(at), tc(at)));
                        format!("D {frames:03}")
                    }
                    None => "C".to_string(),
                };
                text.push_str(&format!(
                    "{number:03}  R{number}  {channels}  {transition}  00:00:10:00 00:00:12:00 {} {}\n* FROM CLIP NAME: clip {number}\n",
                    tc(at), tc(at + length)
                ));
                if !audio {
                    expected.push((number as u32, at, at + length));
                }
                at += length;
            }
            let list = EditList::from_cmx3600(&text, Path::new("generated.edl"), r.num, r.den)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            let got: Vec<(u32, u64, u64)> = list.events.iter().map(|e| (e.number, e.record_in, e.record_out)).collect();
            prop_assert_eq!(&got, &expected, "{}", text);
            for &(number, record_in, record_out) in &expected {
                prop_assert_eq!(list.event_at(record_in).map(|e| e.number), Some(number));
                prop_assert_eq!(list.event_at(record_out - 1).map(|e| e.number), Some(number));
            }
            prop_assert_eq!(list.event_at(start.saturating_sub(1)).filter(|_| start > 0).map(|e| e.number), None);
        }

        #[test]
        fn event_line_parser_never_panics(line in "[0-9A-Z :;.*-]{0,80}") {
            let _ = EditList::from_cmx3600(&line, Path::new("x.edl"), 24, 1);
        }
    }

    #[test]
    fn later_track_wins_where_tracks_overlap() {
        let event = |number, track, record_in, record_out| Event {
            number,
            clip: None,
            reel: None,
            record_in,
            record_out,
            source_in: String::new(),
            source_out: String::new(),
            source_file: None,
            transition: Transition::Cut,
            track,
        };
        let list = EditList {
            path: PathBuf::from("x.otio"),
            format: EditListFormat::Otio,
            title: None,
            rate_num: 24,
            rate_den: 1,
            drop_frame: false,
            events: vec![event(1, 1, 0, 100), event(2, 2, 40, 60)],
        };
        assert_eq!(list.event_at(39).map(|e| e.number), Some(1));
        assert_eq!(list.event_at(40).map(|e| e.number), Some(2));
        assert_eq!(list.event_at(60).map(|e| e.number), Some(1));
        assert_eq!(list.event_at(100), None);
    }
}
