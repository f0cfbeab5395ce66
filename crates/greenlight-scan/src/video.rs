//! Video: frames at a fixed rate from the system `ffmpeg`, each scaled to a fixed
//! [`FRAME_SIDE`]² RGB frame (so memory per frame is bounded whatever the source resolution)
//! and PDQ-hashed. The scaling mirrors the image path, which resizes images larger than 512 px
//! to 512×512 before hashing, so a still registered as an image matches the frame that uses it.
//!
//! A delivery is sampled at [`DELIVERY_FRAMES_PER_SECOND`] (one per second, as the spec says);
//! a file registered in a bank at [`BANK_FRAMES_PER_SECOND`], so that a clip cut into a delivery
//! at any offset, whole seconds or not, has a bank frame within 1/8 s of every delivered sample.
//! Frame times are kept in milliseconds.
//!
//! `ffmpeg` is run with `std::process::Command`, never through a shell; its standard error is
//! kept (bounded) to explain a failure.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::pdq::{self, PdqHash};

/// Side of the square frames handed to PDQ.
pub const FRAME_SIDE: u32 = 512;

/// Longest stretch of video hashed, in seconds: 6 hours. Longer videos are hashed up to here.
pub const MAX_SECONDS: u32 = 6 * 3600;

/// Most frames read from one video: [`MAX_SECONDS`] at the bank rate (86 400 hashes, about
/// 4 MiB), whatever the rate asked for.
pub const MAX_FRAMES: u32 = MAX_SECONDS * BANK_FRAMES_PER_SECOND;

/// Frames per second sampled from a delivered video.
pub const DELIVERY_FRAMES_PER_SECOND: u32 = 1;

/// Frames per second hashed from a video registered in a bank (ledger or reference bank).
///
/// Four: a delivered sample of a clip that starts at any offset is then at most 1/8 s from a
/// bank frame. At one per second it could be 1/2 s away, and with motion that is far more than
/// the match threshold (a `testsrc2` clip cut in at 2.5 s matched none of its frames).
pub const BANK_FRAMES_PER_SECOND: u32 = 4;

/// The PDQ hash of the frame at `millis`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameHash {
    /// Milliseconds from the start.
    pub millis: u32,
    /// Its hash.
    pub hash: PdqHash,
    /// Its quality, 0-100.
    pub quality: u8,
}

/// Why a video could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// `ffmpeg` is not installed or not on `PATH`.
    #[error(
        "ffmpeg is not available ({0}); install it (e.g. `apt-get install ffmpeg`) to scan video"
    )]
    FfmpegMissing(String),
    /// `ffmpeg` could not decode the file.
    #[error("ffmpeg could not decode the video: {0}")]
    Decode(String),
    /// Reading ffmpeg's output failed.
    #[error("reading frames from ffmpeg: {0}")]
    Io(#[from] std::io::Error),
}

/// Whether `ffmpeg` runs; `Err` says why not.
pub fn ffmpeg_available() -> Result<(), VideoError> {
    match Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(VideoError::FfmpegMissing(format!(
            "`ffmpeg -version` exited with {s}"
        ))),
        Err(e) => Err(VideoError::FfmpegMissing(e.to_string())),
    }
}

impl FrameHash {
    /// The whole second the frame falls in.
    pub fn second(&self) -> u32 {
        self.millis / 1000
    }
}

/// PDQ hashes of `per_second` frames per second (1 to 1000) of the video at `path`, for at
/// most [`MAX_SECONDS`].
pub fn frame_hashes(path: &Path, per_second: u32) -> Result<Vec<FrameHash>, VideoError> {
    let per_second = per_second.clamp(1, 1000);
    let max_frames = MAX_SECONDS.saturating_mul(per_second).min(MAX_FRAMES);
    let mut child = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:v:0", "-an", "-sn", "-dn", "-vf"])
        .arg(format!(
            "fps={per_second},scale={FRAME_SIDE}:{FRAME_SIDE}:flags=area"
        ))
        .args([
            "-frames:v",
            &max_frames.to_string(),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "pipe:1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| VideoError::FfmpegMissing(e.to_string()))?;
    // Drain stderr on its own thread so a chatty ffmpeg never blocks on a full pipe.
    let mut stderr = child.stderr.take().expect("stderr was piped");
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stderr).take(64 * 1024).read_to_end(&mut buf);
        let _ = std::io::copy(&mut stderr, &mut std::io::sink());
        String::from_utf8_lossy(&buf).trim().to_string()
    });
    let mut stdout = child.stdout.take().expect("stdout was piped");
    let frame_len = (FRAME_SIDE * FRAME_SIDE * 3) as usize;
    let mut frame = vec![0u8; frame_len];
    let mut out = Vec::new();
    let mut index = 0u32;
    loop {
        match read_full(&mut stdout, &mut frame)? {
            0 => break,
            n if n < frame_len => break, // a torn last frame: ffmpeg stopped mid-frame
            _ => {}
        }
        let r = pdq::hash_rgb(FRAME_SIDE, FRAME_SIDE, &frame);
        // Frame i of the `fps` filter is taken from the interval that starts at i / per_second;
        // it keeps that start (to the millisecond), as a delivered frame keeps its second.
        let millis = (u64::from(index) * 1000 + u64::from(per_second) / 2) / u64::from(per_second);
        out.push(FrameHash {
            millis: u32::try_from(millis).unwrap_or(u32::MAX),
            hash: r.hash,
            quality: r.quality,
        });
        index += 1;
    }
    drop(stdout);
    let status = child.wait()?;
    let message = err_reader.join().unwrap_or_default();
    if !status.success() || (out.is_empty() && !message.is_empty()) {
        return Err(VideoError::Decode(if message.is_empty() {
            format!("ffmpeg exited with {status}")
        } else {
            message
        }));
    }
    if out.is_empty() {
        return Err(VideoError::Decode("no video frames".into()));
    }
    Ok(out)
}

/// One frame at `second`, as a JPEG thumbnail at most `max_side` pixels wide (for reports).
pub fn thumbnail_at(path: &Path, second: u32, max_side: u32) -> Option<Vec<u8>> {
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-ss", &second.to_string(), "-i"])
        .arg(path)
        .args(["-frames:v", "1", "-vf"])
        .arg(format!("scale='min({max_side},iw)':-2"))
        .args(["-f", "image2pipe", "-vcodec", "mjpeg", "pipe:1"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    (output.status.success() && !output.stdout.is_empty()).then_some(output.stdout)
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Merges matched seconds into inclusive `[start, end]` ranges.
pub fn ranges(seconds: &[u32]) -> Vec<(u32, u32)> {
    let mut s: Vec<u32> = seconds.to_vec();
    s.sort_unstable();
    s.dedup();
    let mut out: Vec<(u32, u32)> = Vec::new();
    for t in s {
        match out.last_mut() {
            Some((_, end)) if *end + 1 == t => *end = t,
            _ => out.push((t, t)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn ranges_cover_each_second_once_and_never_touch(seconds in proptest::collection::vec(0u32..200, 0..80)) {
            let r = ranges(&seconds);
            for w in r.windows(2) {
                proptest::prop_assert!(w[0].1 + 1 < w[1].0, "sorted, disjoint and not adjacent: {:?}", r);
            }
            for &(a, b) in &r {
                proptest::prop_assert!(a <= b);
                for t in a..=b {
                    proptest::prop_assert!(seconds.contains(&t));
                }
            }
            for t in &seconds {
                proptest::prop_assert_eq!(r.iter().filter(|(a, b)| a <= t && t <= b).count(), 1);
            }
        }
    }

    #[test]
    fn consecutive_seconds_merge_into_ranges() {
        assert_eq!(ranges(&[5, 1, 2, 3, 9, 10, 2]), [(1, 3), (5, 5), (9, 10)]);
        assert!(ranges(&[]).is_empty());
    }
}
