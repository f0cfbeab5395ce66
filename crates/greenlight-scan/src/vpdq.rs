//! Meta's vPDQ video hashes, read and written in the two forms Meta's tools exchange, so a
//! delivery can be checked against hashes made by Meta's hasher or a Hasher-Matcher-Actioner
//! (HMA) bank, and our own hashes can be handed to them.
//!
//! vPDQ is PDQ applied to the frames of a video: each frame keeps its frame number, the PDQ
//! quality (0–100), the 256-bit hash and its time in seconds.
//!
//! 1. **Hash files**, as written by Meta's `vpdq-hash-video` (and read back by its matchers):
//!    one frame a line, `frame_number,quality,pdq_hex,seconds`, the seconds with three
//!    decimals, e.g. `24,100,e271017837246aac…c8d055c,1.000`. See [`read_vpdq`] and
//!    [`write_vpdq`].
//! 2. **Signals**, the `vpdq` signal type of python-threatexchange and HMA: a JSON array of
//!    strings `"pdq_hex,quality,seconds"` (no frame number), the seconds formatted as Python's
//!    `format(seconds, ".3")` does: three significant digits, so `0.0417`, `12.3`, and from
//!    99.95 s on, `1e+02` or `1.23e+02`. [`write_vpdq_signal`] writes them byte for byte as
//!    python-threatexchange does (a bank that compares signal strings sees the same string);
//!    [`read_vpdq_signal`] accepts any number form Python's `float` would give there.
//!
//! Every problem is reported at once, each with its line (hash file) or entry (signal).
//! Input is limited to [`MAX_TEXT_BYTES`] and [`MAX_FRAMES`] frames.
//!
//! ```
//! use greenlight_scan::vpdq::{read_vpdq, write_vpdq, write_vpdq_signal, VpdqSignalFrame};
//!
//! let hex = "e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c";
//! let frames = read_vpdq(&format!("0,100,{hex},0.000\n120,87,{hex},5.005\n")).unwrap();
//! assert_eq!(frames[1].frame, 120);
//! assert_eq!(frames[1].seconds, 5.005);
//! assert_eq!(write_vpdq(&frames), format!("0,100,{hex},0.000\n120,87,{hex},5.005\n"));
//!
//! let signal: Vec<VpdqSignalFrame> = frames.iter().map(VpdqSignalFrame::from).collect();
//! assert_eq!(write_vpdq_signal(&signal), format!("[\"{hex},100,0.0\", \"{hex},87,5.0\"]"));
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

/// Largest text read: 64 MiB (an hour of 60 fps video hashed at every frame is about 20 MiB).
pub const MAX_TEXT_BYTES: usize = 64 * 1024 * 1024;

/// Most frames read from one hash file or signal: over four hours at 60 frames a second.
pub const MAX_FRAMES: usize = 1_000_000;

/// Most problems listed in one error; further ones are counted, not listed.
const MAX_PROBLEMS: usize = 50;

/// Longest piece of input quoted in an error message.
const MAX_QUOTE: usize = 80;

/// One hashed frame of a video, as in a `vpdq-hash-video` hash file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VpdqFrame {
    /// Frame number from 0, in decoding order.
    pub frame: u64,
    /// PDQ quality, 0–100.
    pub quality: u8,
    /// The PDQ hash: 64 lowercase hexadecimal digits.
    pub pdq: String,
    /// The frame's time in seconds (finite, not negative).
    pub seconds: f64,
}

/// One entry of an HMA / python-threatexchange `vpdq` signal: a frame without its number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VpdqSignalFrame {
    /// PDQ quality, 0–100.
    pub quality: u8,
    /// The PDQ hash: 64 lowercase hexadecimal digits.
    pub pdq: String,
    /// The frame's time in seconds (finite, not negative).
    pub seconds: f64,
}

impl From<&VpdqFrame> for VpdqSignalFrame {
    fn from(frame: &VpdqFrame) -> Self {
        VpdqSignalFrame {
            quality: frame.quality,
            pdq: frame.pdq.clone(),
            seconds: frame.seconds,
        }
    }
}

/// Where a problem is: a line of a hash file or an entry of a signal (both counted from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A line of a hash file (or of a signal's JSON text, for a syntax error).
    Line(usize),
    /// An entry of a signal's JSON array.
    Entry(usize),
}

/// One problem in vPDQ input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpdqProblem {
    /// Where it is.
    pub location: Location,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for VpdqProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Location::Line(n) => write!(f, "line {n}: {}", self.message),
            Location::Entry(n) => write!(f, "entry {n}: {}", self.message),
        }
    }
}

/// Why vPDQ input could not be read. The caller adds the file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VpdqError {
    /// The text is longer than [`MAX_TEXT_BYTES`].
    #[error("vPDQ input larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// More than [`MAX_FRAMES`] frames.
    #[error("vPDQ input with more than {limit} frames")]
    TooManyFrames {
        /// The limit.
        limit: usize,
    },
    /// The input is malformed; every problem found is listed.
    #[error("{}", list_problems(problems, *more))]
    Invalid {
        /// The problems, in input order (up to 50).
        problems: Vec<VpdqProblem>,
        /// How many more were found but not listed.
        more: usize,
    },
}

fn list_problems(problems: &[VpdqProblem], more: usize) -> String {
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

#[derive(Default)]
struct Problems {
    list: Vec<VpdqProblem>,
    more: usize,
}

impl Problems {
    fn push(&mut self, location: Location, message: String) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(VpdqProblem { location, message });
        } else {
            self.more += 1;
        }
    }

    fn into_result(self) -> Result<(), VpdqError> {
        if self.list.is_empty() {
            Ok(())
        } else {
            Err(VpdqError::Invalid {
                problems: self.list,
                more: self.more,
            })
        }
    }
}

fn quote(text: &str) -> String {
    let mut cut: String = text.chars().take(MAX_QUOTE).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

/// Reads a `vpdq-hash-video` hash file: `frame_number,quality,pdq_hex,seconds` a line. Blank
/// lines are skipped; spaces around fields and CRLF line ends are allowed.
pub fn read_vpdq(text: &str) -> Result<Vec<VpdqFrame>, VpdqError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(VpdqError::TooLarge {
            limit: MAX_TEXT_BYTES,
        });
    }
    let mut problems = Problems::default();
    let mut frames = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if frames.len() >= MAX_FRAMES {
            return Err(VpdqError::TooManyFrames { limit: MAX_FRAMES });
        }
        match frame_line(line) {
            Ok(frame) => frames.push(frame),
            Err(message) => problems.push(Location::Line(index + 1), message),
        }
    }
    problems.into_result()?;
    Ok(frames)
}

fn frame_line(line: &str) -> Result<VpdqFrame, String> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    let [frame, quality, pdq, seconds] = fields[..] else {
        return Err(format!(
            "{} has {} fields, expected 4: frame_number,quality,pdq_hex,seconds",
            quote(line),
            fields.len()
        ));
    };
    let frame = frame.parse::<u64>().map_err(|_| {
        format!(
            "frame number {} is not a whole number of at least 0",
            quote(frame)
        )
    })?;
    Ok(VpdqFrame {
        frame,
        quality: parse_quality(quality)?,
        pdq: parse_pdq(pdq)?,
        seconds: parse_seconds(seconds)?,
    })
}

fn parse_quality(text: &str) -> Result<u8, String> {
    match text.parse::<u8>() {
        Ok(q) if q <= 100 => Ok(q),
        _ => Err(format!(
            "quality {} is not a whole number from 0 to 100",
            quote(text)
        )),
    }
}

fn parse_pdq(text: &str) -> Result<String, String> {
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(format!(
            "PDQ hash {} is not 64 hexadecimal digits",
            quote(text)
        ))
    }
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(s),
        _ => Err(format!(
            "time {} is not a number of seconds of at least 0",
            quote(text)
        )),
    }
}

/// Writes frames as `vpdq-hash-video` does: `frame_number,quality,pdq_hex,seconds` with the
/// seconds to three decimals, one line each, every line ending in `\n`.
pub fn write_vpdq(frames: &[VpdqFrame]) -> String {
    let mut text = String::with_capacity(frames.len() * 84);
    for f in frames {
        text.push_str(&format!(
            "{},{},{},{:.3}\n",
            f.frame, f.quality, f.pdq, f.seconds
        ));
    }
    text
}

/// Reads an HMA / python-threatexchange `vpdq` signal: a JSON array of `"pdq_hex,quality,seconds"`
/// strings. Empty (or blank) text is an empty signal, as python-threatexchange reads it.
pub fn read_vpdq_signal(text: &str) -> Result<Vec<VpdqSignalFrame>, VpdqError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(VpdqError::TooLarge {
            limit: MAX_TEXT_BYTES,
        });
    }
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let entries: Vec<String> = serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        let message = match message.rfind(" at line ") {
            Some(i) => &message[..i],
            None => &message,
        };
        VpdqError::Invalid {
            problems: vec![VpdqProblem {
                location: Location::Line(e.line()),
                message: format!(
                    "column {}: not a vpdq signal (a JSON array of \"pdq_hex,quality,seconds\" \
                     strings): {message}",
                    e.column()
                ),
            }],
            more: 0,
        }
    })?;
    if entries.len() > MAX_FRAMES {
        return Err(VpdqError::TooManyFrames { limit: MAX_FRAMES });
    }
    let mut problems = Problems::default();
    let mut frames = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        match signal_entry(entry) {
            Ok(frame) => frames.push(frame),
            Err(message) => problems.push(Location::Entry(index + 1), message),
        }
    }
    problems.into_result()?;
    Ok(frames)
}

fn signal_entry(entry: &str) -> Result<VpdqSignalFrame, String> {
    let fields: Vec<&str> = entry.split(',').map(str::trim).collect();
    let [pdq, quality, seconds] = fields[..] else {
        return Err(format!(
            "{} has {} fields, expected 3: pdq_hex,quality,seconds",
            quote(entry),
            fields.len()
        ));
    };
    Ok(VpdqSignalFrame {
        quality: parse_quality(quality)?,
        pdq: parse_pdq(pdq)?,
        seconds: parse_seconds(seconds)?,
    })
}

/// Writes an HMA / python-threatexchange `vpdq` signal, byte for byte as python-threatexchange
/// writes it: `["pdq_hex,quality,seconds", ...]` with `", "` between entries and the seconds as
/// Python's `format(seconds, ".3")`.
pub fn write_vpdq_signal(frames: &[VpdqSignalFrame]) -> String {
    let entries: Vec<String> = frames
        .iter()
        .map(|f| format!("\"{},{},{}\"", f.pdq, f.quality, python_format_3(f.seconds)))
        .collect();
    format!("[{}]", entries.join(", "))
}

/// `format(x, ".3")` in Python: three significant digits; fixed-point (with at least one digit
/// after the point, trailing zeros dropped) when the decimal exponent is from -4 to 1, otherwise
/// scientific (`1e+02`, `1.23e-05`).
fn python_format_3(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.to_string();
    }
    // Rounding to three significant digits first gives the exponent Python decides by.
    let scientific = format!("{x:.2e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("Rust's {:e} output always has an exponent");
    let exponent: i32 = exponent
        .parse()
        .expect("Rust's {:e} exponent is an integer");
    if (-4..2).contains(&exponent) {
        let decimals = (2 - exponent) as usize;
        let fixed = format!("{x:.decimals$}");
        let trimmed = fixed.trim_end_matches('0');
        if trimmed.ends_with('.') {
            format!("{trimmed}0")
        } else {
            trimmed.to_string()
        }
    } else {
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEX: &str = "e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c";

    #[test]
    fn seconds_are_formatted_as_python_formats_them() {
        // Printed by Python 3.11: f"{x:.3}" for each x.
        let table = [
            (0.0, "0.0"),
            (0.5, "0.5"),
            (1.0, "1.0"),
            (0.041666668, "0.0417"),
            (0.125, "0.125"),
            (1.125, "1.12"),
            (12.25, "12.2"),
            (12.35, "12.3"),
            (99.94, "99.9"),
            (99.95, "1e+02"),
            (99.96, "1e+02"),
            (100.0, "1e+02"),
            (123.456, "1.23e+02"),
            (999.5, "1e+03"),
            (1e-4, "0.0001"),
            (9.999e-5, "0.0001"),
            (0.00012345, "0.000123"),
            (1e-5, "1e-05"),
            (2.675, "2.67"),
            (0.3, "0.3"),
            (1.0 / 3.0, "0.333"),
            (7.0, "7.0"),
            (10.0, "10.0"),
            (59.99, "60.0"),
            (1234567.0, "1.23e+06"),
            (3600.0, "3.6e+03"),
            (0.0005, "0.0005"),
        ];
        for (x, python) in table {
            assert_eq!(python_format_3(x), python, "format({x}, \".3\")");
        }
    }

    #[test]
    fn hash_file_problems_are_each_named_by_line() {
        let text = format!(
            "0,100,{HEX},0.000\n\
             1,101,{HEX},0.042\n\
             \n\
             2,100,{},0.083\n\
             x,100,{HEX},0.125\n\
             4,100,{HEX},-1\n\
             5,100,{HEX}\n\
             6,100,{HEX},NaN\n",
            &HEX[..63]
        );
        let err = read_vpdq(&text).expect_err("malformed lines").to_string();
        assert!(err.contains("line 2: quality \"101\" is not"), "{err}");
        assert!(err.contains("line 4: PDQ hash"), "{err}");
        assert!(err.contains("line 5: frame number \"x\""), "{err}");
        assert!(err.contains("line 6: time \"-1\""), "{err}");
        assert!(
            err.contains("line 7:") && err.contains("has 3 fields, expected 4"),
            "{err}"
        );
        assert!(err.contains("line 8: time \"NaN\""), "{err}");
        assert!(
            !err.contains("line 1:") && !err.contains("line 3:"),
            "{err}"
        );
    }

    #[test]
    fn signal_problems_are_each_named_by_entry() {
        let text = format!("[\"{HEX},100,0.0\", \"{HEX},100\", \"{HEX},x,1.0\", \"zz,100,1.0\"]");
        let err = read_vpdq_signal(&text)
            .expect_err("malformed entries")
            .to_string();
        assert!(
            err.contains("entry 2:") && err.contains("expected 3"),
            "{err}"
        );
        assert!(err.contains("entry 3: quality \"x\""), "{err}");
        assert!(err.contains("entry 4: PDQ hash \"zz\""), "{err}");
        assert!(!err.contains("entry 1:"), "{err}");
    }

    #[test]
    fn a_signal_that_is_not_a_json_array_of_strings_names_the_line() {
        let err = read_vpdq_signal("[\n\"a,1,0.0\",\n 7]").expect_err("a number entry");
        assert!(err.to_string().starts_with("line 3: column"), "{err}");
    }

    #[test]
    fn python_number_forms_in_signals_are_read() {
        let signal = format!("[\"{HEX},100,1e+02\", \"{HEX},50,1.23e+02\", \"{HEX},0,0.0417\"]");
        let frames = read_vpdq_signal(&signal).expect("valid signal");
        let seconds: Vec<f64> = frames.iter().map(|f| f.seconds).collect();
        assert_eq!(seconds, [100.0, 123.0, 0.0417]);
        assert_eq!(write_vpdq_signal(&frames), signal);
    }

    #[test]
    fn an_empty_signal_is_no_frames() {
        assert_eq!(read_vpdq_signal(""), Ok(Vec::new()));
        assert_eq!(read_vpdq_signal("[]"), Ok(Vec::new()));
        assert_eq!(write_vpdq_signal(&[]), "[]");
    }

    #[test]
    fn uppercase_hashes_are_read_as_lowercase() {
        let frames = read_vpdq(&format!("3,90,{},0.125\r\n", HEX.to_uppercase())).expect("valid");
        assert_eq!(frames[0].pdq, HEX);
    }

    #[test]
    fn oversized_input_is_refused() {
        let big = "\n".repeat(MAX_TEXT_BYTES + 1);
        assert_eq!(
            read_vpdq(&big),
            Err(VpdqError::TooLarge {
                limit: MAX_TEXT_BYTES
            })
        );
        assert_eq!(
            read_vpdq_signal(&big),
            Err(VpdqError::TooLarge {
                limit: MAX_TEXT_BYTES
            })
        );
    }

    fn frame_strategy() -> impl Strategy<Value = VpdqFrame> {
        (
            any::<u32>(),
            0u8..=100,
            proptest::array::uniform32(any::<u8>()),
            0u64..100_000_000,
        )
            .prop_map(|(frame, quality, bytes, millis)| VpdqFrame {
                frame: u64::from(frame),
                quality,
                pdq: hex::encode(bytes),
                seconds: millis as f64 / 1000.0,
            })
    }

    proptest! {
        #[test]
        fn hash_file_write_then_read_round_trips(frames in proptest::collection::vec(frame_strategy(), 0..40)) {
            let text = write_vpdq(&frames);
            prop_assert_eq!(read_vpdq(&text), Ok(frames));
        }

        #[test]
        fn signal_write_then_read_keeps_hash_and_quality_and_rewrites_identically(
            frames in proptest::collection::vec(frame_strategy(), 0..40)
        ) {
            let signal: Vec<VpdqSignalFrame> = frames.iter().map(VpdqSignalFrame::from).collect();
            let text = write_vpdq_signal(&signal);
            let back = read_vpdq_signal(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(back.len(), signal.len());
            for (a, b) in back.iter().zip(&signal) {
                prop_assert_eq!(&a.pdq, &b.pdq);
                prop_assert_eq!(a.quality, b.quality);
                // Three significant digits: within half a unit of the third digit.
                prop_assert!((a.seconds - b.seconds).abs() <= b.seconds * 0.005 + 1e-12);
            }
            prop_assert_eq!(write_vpdq_signal(&back), text);
        }

        #[test]
        fn readers_never_panic(text in "\\PC{0,200}") {
            let _ = read_vpdq(&text);
            let _ = read_vpdq_signal(&text);
        }
    }
}
