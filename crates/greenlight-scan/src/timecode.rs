//! Edit rates and SMPTE timecode (ST 12-1): frame counts to `HH:MM:SS:FF` and back, with
//! drop-frame labelling for 29.97 and 59.94.
//!
//! An [`EditRate`] is an exact rational (`30000/1001`), never a float, so frame positions
//! computed from it do not drift over an episode. A timecode is a label for a frame count at a
//! [`TimecodeFormat`]: a nominal whole number of frames per second (`ceil(num / den)`: 24 for
//! 23.976, 30 for 29.97) and whether drop-frame labelling is used.
//!
//! ```
//! use greenlight_scan::timecode::{EditRate, TimecodeFormat};
//!
//! let rate: EditRate = "30000 1001".parse().unwrap();
//! assert_eq!(rate.to_string(), "30000/1001");
//! let df = TimecodeFormat::from_rate(rate, true).unwrap();
//! // Drop-frame skips the labels ;00 and ;01 at each minute except every tenth.
//! assert_eq!(df.timecode(1800).to_string(), "00:01:00;02");
//! assert_eq!(df.parse("00:01:00;02").unwrap(), 1800);
//! ```

use std::fmt;
use std::str::FromStr;

/// Hours in a timecode day: labels wrap to 00:00:00:00 after 23:59:59:FF, as in ST 12-1.
const HOURS_PER_DAY: u64 = 24;

/// A problem with an edit rate or a timecode string; each names the value it refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimecodeError {
    /// An edit rate that is not `N D`, `N/D` or `N` with positive integers.
    #[error("edit rate {value:?}: {reason}")]
    Rate { value: String, reason: String },
    /// A timecode that is not `HH:MM:SS:FF` (or `;` before the frames) within range.
    #[error("timecode {value:?}: {reason}")]
    Timecode { value: String, reason: String },
}

/// A rational edit rate in frames (edit units) per second, as written in IMF (`24 1`,
/// `30000 1001`). Both parts are positive: get one from [`EditRate::new`] or by parsing (a
/// value built by hand with a zero part is a programming error and divides by zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EditRate {
    pub num: u32,
    pub den: u32,
}

impl EditRate {
    /// The rate `num/den`; `None` when either part is zero.
    pub fn new(num: u32, den: u32) -> Option<Self> {
        (num > 0 && den > 0).then_some(Self { num, den })
    }

    /// The nominal whole frames per second used to label timecode: `ceil(num / den)`.
    pub fn nominal_fps(&self) -> u32 {
        self.num.div_ceil(self.den)
    }

    /// Frame `round(seconds * rate)` for a whole second, rounding halves up, exactly.
    pub fn frame_at_second(&self, second: u64) -> u64 {
        let twice = 2 * u128::from(second) * u128::from(self.num) + u128::from(self.den);
        let frame = twice / (2 * u128::from(self.den));
        u64::try_from(frame).unwrap_or(u64::MAX)
    }

    /// The rate as a float, for display only (never for positions).
    pub fn as_f64(&self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }
}

impl fmt::Display for EditRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

impl FromStr for EditRate {
    type Err = TimecodeError;

    /// Accepts `24 1` (IMF's form), `24/1`, `30000/1001` and a bare `24` (denominator 1).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| TimecodeError::Rate {
            value: s.to_string(),
            reason: reason.to_string(),
        };
        let t = s.trim();
        let parts: Vec<&str> = if t.contains('/') {
            t.split('/').map(str::trim).collect()
        } else {
            t.split_whitespace().collect()
        };
        let (num, den) = match parts.as_slice() {
            [n] => (*n, "1"),
            [n, d] => (*n, *d),
            _ => return Err(err("expected \"NUM DEN\", \"NUM/DEN\" or \"NUM\"")),
        };
        let num: u32 = num
            .parse()
            .map_err(|_| err("the numerator is not a whole number"))?;
        let den: u32 = den
            .parse()
            .map_err(|_| err("the denominator is not a whole number"))?;
        EditRate::new(num, den).ok_or_else(|| err("both parts must be greater than zero"))
    }
}

impl serde::Serialize for EditRate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A timecode label. `drop_frame` only changes how it is written (`;` before the frames).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Timecode {
    pub hours: u32,
    pub minutes: u32,
    pub seconds: u32,
    pub frames: u32,
    pub drop_frame: bool,
}

impl fmt::Display for Timecode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = if self.drop_frame { ';' } else { ':' };
        write!(
            f,
            "{:02}:{:02}:{:02}{sep}{:02}",
            self.hours, self.minutes, self.seconds, self.frames
        )
    }
}

impl serde::Serialize for Timecode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// How frame counts are labelled: nominal frames per second and drop-frame or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimecodeFormat {
    fps: u32,
    drop_frame: bool,
}

impl TimecodeFormat {
    /// A format of `fps` nominal frames per second. Drop-frame needs a multiple of 30
    /// (29.97 drops 2 labels a minute, 59.94 drops 4).
    pub fn new(fps: u32, drop_frame: bool) -> Result<Self, TimecodeError> {
        let err = |reason: &str| TimecodeError::Rate {
            value: fps.to_string(),
            reason: reason.to_string(),
        };
        if fps == 0 {
            return Err(err("a timecode rate must be greater than zero"));
        }
        if fps > 1000 {
            return Err(err(
                "a timecode rate above 1000 frames per second is refused",
            ));
        }
        if drop_frame && !fps.is_multiple_of(30) {
            return Err(err(
                "drop-frame timecode needs a rate of 30 or a multiple of it",
            ));
        }
        Ok(Self { fps, drop_frame })
    }

    /// The format for an edit rate: its nominal fps (`ceil(num / den)`).
    pub fn from_rate(rate: EditRate, drop_frame: bool) -> Result<Self, TimecodeError> {
        Self::new(rate.nominal_fps(), drop_frame)
    }

    /// Nominal frames per second.
    pub fn fps(&self) -> u32 {
        self.fps
    }

    /// Whether labels skip drop-frame numbers.
    pub fn drop_frame(&self) -> bool {
        self.drop_frame
    }

    /// Labels dropped at each minute not divisible by ten (2 at 30 fps, 4 at 60).
    fn dropped_per_minute(&self) -> u64 {
        if self.drop_frame {
            u64::from(self.fps / 15)
        } else {
            0
        }
    }

    /// Frames counted in a timecode day (24 hours of labels).
    pub fn frames_per_day(&self) -> u64 {
        let fps = u64::from(self.fps);
        HOURS_PER_DAY * (fps * 3600 - self.dropped_per_minute() * 54)
    }

    /// The label of frame `frame` counted from 00:00:00:00; wraps after 24 hours.
    pub fn timecode(&self, frame: u64) -> Timecode {
        let fps = u64::from(self.fps);
        let mut n = frame % self.frames_per_day();
        let d = self.dropped_per_minute();
        if d > 0 {
            // Each ten minutes hold 9 minutes missing `d` labels and one complete minute.
            let per_ten = fps * 600 - 9 * d;
            let per_minute = fps * 60 - d;
            let tens = n / per_ten;
            let rem = n % per_ten;
            n += 9 * d * tens;
            if rem >= d {
                n += d * ((rem - d) / per_minute);
            }
        }
        let frames = n % fps;
        let secs = n / fps;
        Timecode {
            hours: (secs / 3600) as u32,
            minutes: ((secs / 60) % 60) as u32,
            seconds: (secs % 60) as u32,
            frames: frames as u32,
            drop_frame: self.drop_frame,
        }
    }

    /// The frame count a label stands for, refusing labels out of range and, in drop-frame,
    /// the labels that are skipped (`;00` and `;01` at minutes not divisible by ten).
    pub fn frames(&self, tc: &Timecode) -> Result<u64, TimecodeError> {
        let err = |reason: String| TimecodeError::Timecode {
            value: tc.to_string(),
            reason,
        };
        if u64::from(tc.hours) >= HOURS_PER_DAY || tc.minutes >= 60 || tc.seconds >= 60 {
            return Err(err(
                "hours must be below 24, minutes and seconds below 60".into()
            ));
        }
        if tc.frames >= self.fps {
            return Err(err(format!("frames must be below {}", self.fps)));
        }
        let d = self.dropped_per_minute();
        if d > 0 && tc.seconds == 0 && u64::from(tc.frames) < d && !tc.minutes.is_multiple_of(10) {
            return Err(err(format!(
                "drop-frame timecode skips frames 00 to {:02} at minute {}",
                d - 1,
                tc.minutes
            )));
        }
        let fps = u64::from(self.fps);
        let minutes = 60 * u64::from(tc.hours) + u64::from(tc.minutes);
        let labels = (minutes * 60 + u64::from(tc.seconds)) * fps + u64::from(tc.frames);
        Ok(labels - d * (minutes - minutes / 10))
    }

    /// Parses `HH:MM:SS:FF` (or `;`, `,` or `.` before the frames) to a frame count at this
    /// format. The separator does not choose drop-frame: the format does (a CPL states
    /// `TimecodeDropFrame` apart from its start address).
    pub fn parse(&self, s: &str) -> Result<u64, TimecodeError> {
        let err = |reason: &str| TimecodeError::Timecode {
            value: s.to_string(),
            reason: reason.to_string(),
        };
        let t = s.trim();
        let parts: Vec<&str> = t.split([':', ';', ',', '.']).collect();
        let [h, m, sec, f] = parts.as_slice() else {
            return Err(err("expected HH:MM:SS:FF"));
        };
        let field = |v: &str, name: &str| -> Result<u32, TimecodeError> {
            if v.is_empty() || v.len() > 4 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(&format!("{name} is not a number")));
            }
            v.parse()
                .map_err(|_| err(&format!("{name} is not a number")))
        };
        let tc = Timecode {
            hours: field(h, "hours")?,
            minutes: field(m, "minutes")?,
            seconds: field(sec, "seconds")?,
            frames: field(f, "frames")?,
            drop_frame: self.drop_frame,
        };
        self.frames(&tc).map_err(|e| match e {
            TimecodeError::Timecode { reason, .. } => err(&reason),
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rate(s: &str) -> EditRate {
        s.parse().expect("rate parses")
    }

    #[test]
    fn edit_rates_parse_in_every_written_form() {
        assert_eq!(rate("24 1"), EditRate { num: 24, den: 1 });
        assert_eq!(rate("24/1"), EditRate { num: 24, den: 1 });
        assert_eq!(
            rate(" 30000 / 1001 "),
            EditRate {
                num: 30000,
                den: 1001
            }
        );
        assert_eq!(rate("60"), EditRate { num: 60, den: 1 });
        assert_eq!(rate("60000 1001").to_string(), "60000/1001");
        for bad in ["", "24 0", "0/1", "24 1 1", "x/1", "-24 1", "24.5"] {
            let e = bad.parse::<EditRate>().expect_err(bad);
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn nominal_fps_is_the_ceiling_of_the_rate() {
        assert_eq!(rate("24000 1001").nominal_fps(), 24);
        assert_eq!(rate("30000 1001").nominal_fps(), 30);
        assert_eq!(rate("60000 1001").nominal_fps(), 60);
        assert_eq!(rate("25 1").nominal_fps(), 25);
        assert_eq!(rate("48000 1").nominal_fps(), 48000);
    }

    #[test]
    fn frame_at_second_rounds_the_exact_position() {
        let ntsc = rate("30000 1001");
        // 29.97 * 1 = 29.97 -> 30; * 10 = 299.7 -> 300; * 1001 = 30000 exactly.
        assert_eq!(ntsc.frame_at_second(1), 30);
        assert_eq!(ntsc.frame_at_second(10), 300);
        assert_eq!(ntsc.frame_at_second(1001), 30000);
        // 23.976 * 2 = 47.952 -> 48; halves round up: 12.5/1 * 1 = 12.5 -> 13.
        assert_eq!(rate("24000 1001").frame_at_second(2), 48);
        assert_eq!(rate("25/2").frame_at_second(1), 13);
    }

    #[test]
    fn non_drop_timecode_counts_plainly() {
        let f = TimecodeFormat::new(24, false).expect("format");
        assert_eq!(f.timecode(0).to_string(), "00:00:00:00");
        assert_eq!(f.timecode(24 * 3600).to_string(), "01:00:00:00");
        assert_eq!(f.timecode(24 * 3600 - 1).to_string(), "00:59:59:23");
        assert_eq!(f.parse("01:00:00:00").expect("parses"), 86_400);
        // Wraps after a day.
        assert_eq!(
            f.timecode(f.frames_per_day() + 5).to_string(),
            "00:00:00:05"
        );
    }

    #[test]
    fn drop_frame_matches_hand_computed_labels() {
        let df = TimecodeFormat::new(30, true).expect("format");
        for (frame, label) in [
            (0, "00:00:00;00"),
            (1799, "00:00:59;29"),
            (1800, "00:01:00;02"),
            (1801, "00:01:00;03"),
            (3597, "00:01:59;29"),
            (3598, "00:02:00;02"),
            (17_981, "00:09:59;29"),
            (17_982, "00:10:00;00"),
            (17_983, "00:10:00;01"),
            (107_892, "01:00:00;00"),
        ] {
            assert_eq!(df.timecode(frame).to_string(), label, "frame {frame}");
            assert_eq!(df.parse(label).expect(label), frame, "{label}");
        }
        let df60 = TimecodeFormat::new(60, true).expect("format");
        assert_eq!(df60.timecode(3600).to_string(), "00:01:00;04");
        assert_eq!(df60.timecode(215_784).to_string(), "01:00:00;00");
    }

    #[test]
    fn skipped_drop_frame_labels_and_bad_strings_are_refused() {
        let df = TimecodeFormat::new(30, true).expect("format");
        for bad in [
            "00:01:00;00",
            "00:01:00;01",
            "24:00:00;00",
            "00:60:00;00",
            "00:00:00;30",
            "00:00:00",
            "aa:00:00;00",
            "00:00:00;+1",
        ] {
            let e = df.parse(bad).expect_err(bad);
            assert!(e.to_string().contains(bad), "{e}");
        }
        assert!(TimecodeFormat::new(25, true).is_err());
        assert!(TimecodeFormat::new(0, false).is_err());
    }

    proptest! {
        #[test]
        fn frames_to_timecode_to_frames_round_trips(
            fps in prop::sample::select(vec![24u32, 25, 30, 48, 50, 60]),
            drop in any::<bool>(),
            frame in 0u64..(24 * 3600 * 60),
        ) {
            let drop = drop && fps.is_multiple_of(30);
            let f = TimecodeFormat::new(fps, drop).expect("format");
            let frame = frame % f.frames_per_day();
            let tc = f.timecode(frame);
            prop_assert_eq!(f.frames(&tc).expect("a label we made is valid"), frame);
            prop_assert_eq!(f.parse(&tc.to_string()).expect("parses"), frame);
        }

        #[test]
        fn drop_frame_skips_the_first_labels_of_each_minute_but_every_tenth(
            fps in prop::sample::select(vec![30u32, 60]),
            frame in 0u64..(24 * 3600 * 30),
        ) {
            let f = TimecodeFormat::new(fps, true).expect("format");
            let frame = frame % f.frames_per_day();
            let d = fps / 15;
            let tc = f.timecode(frame);
            prop_assert!(
                !(tc.seconds == 0 && tc.frames < d && !tc.minutes.is_multiple_of(10)),
                "frame {} labelled {}", frame, tc
            );
            // The next frame's label is the next label, or skips exactly the dropped ones.
            let next = f.timecode((frame + 1) % f.frames_per_day());
            if next.seconds == 0 && next.frames == d {
                prop_assert!(!next.minutes.is_multiple_of(10));
                prop_assert_eq!(tc.frames, fps - 1);
            }
            if next.seconds == 0 && next.frames == 0 {
                prop_assert!(next.minutes.is_multiple_of(10));
            }
        }

        #[test]
        fn edit_rate_display_then_parse_round_trips(num in 1u32.., den in 1u32..) {
            let r = EditRate { num, den };
            prop_assert_eq!(r.to_string().parse::<EditRate>().expect("parses"), r);
            prop_assert_eq!(format!("{num} {den}").parse::<EditRate>().expect("parses"), r);
        }
    }
}
