//! Video: PDQ hashes of frames taken by the system `ffmpeg` at exact frame positions, each
//! scaled to a fixed [`FRAME_SIDE`]² RGB frame (so memory per frame is bounded whatever the
//! source resolution). The scaling mirrors the image path, which resizes images larger than
//! 512 px to 512×512 before hashing, so a still registered as an image matches the frame that
//! uses it.
//!
//! **Which frames.** A delivery is sampled at [`DELIVERY_FRAMES_PER_SECOND`]: frame
//! `round(k × rate)` for each whole second `k`, a frame of the file itself, never an
//! interpolated or shifted one (the `fps` filter kept the last frame before `k + 0.5 s`, so the
//! frame labelled second `k` was half a second later). A ledger entry keeps **every** frame (up
//! to [`MAX_LEDGER_SECONDS`]): the same footage cut in at any offset then has a counterpart
//! within one frame, however fast it moves. Reference banks keep [`BANK_FRAMES_PER_SECOND`].
//! Each frame's time is its own presentation time, read from ffmpeg's `showinfo`.
//!
//! **Decode only what is kept.** For intra-only essences (JPEG 2000, ProRes, DNxHD/HR, image
//! codecs) the packets of frames not kept are dropped before decoding: one `ffmpeg` copies the
//! stream through the `noise` bitstream filter's `drop` expression into Matroska on a pipe
//! (NUT has no codec tag for DNxHR), a second
//! decodes what is left. JPEG 2000 is decoded at reduced resolution (`-lowres`) while the frame
//! stays at least [`MIN_DECODED_WIDTH`]×[`MIN_DECODED_HEIGHT`]; HTJ2K, which ffmpeg's own
//! decoder cannot read, goes to `libopenjpeg`. Long-GOP codecs must decode every frame; the
//! `select` filter then keeps the sampled ones before scaling, and ffmpeg uses every core.
//!
//! `ffmpeg` and `ffprobe` are run with `std::process::Command`, never through a shell; their
//! standard error is kept (bounded) to explain a failure.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::pdq::{self, PdqHash};

/// Side of the square frames handed to PDQ.
pub const FRAME_SIDE: u32 = 512;

/// Longest stretch of video hashed, in seconds: 6 hours. Longer videos are hashed up to here.
pub const MAX_SECONDS: u32 = 6 * 3600;

/// Most frames read from one video, whatever the sampling (about 10 MiB of hashes).
pub const MAX_FRAMES: u32 = 250_000;

/// Longest ledger entry hashed frame by frame, in seconds (20 minutes); the rest of a longer
/// file is not hashed, and `assets add` says so.
pub const MAX_LEDGER_SECONDS: u32 = 20 * 60;

/// Frames per second sampled from a delivered video.
pub const DELIVERY_FRAMES_PER_SECOND: u32 = 1;

/// Frames per second hashed from a video registered in a reference bank.
///
/// Four: a delivered sample of a work that starts at any offset is then at most 1/8 s from a
/// bank frame. Ledger entries keep every frame instead (see the module documentation).
pub const BANK_FRAMES_PER_SECOND: u32 = 4;

/// JPEG 2000 is decoded at reduced resolution only while the frame stays at least this wide
/// and [`MIN_DECODED_HEIGHT`] high: at 960×540 the PDQ of a frame stays within 2 bits of its
/// full-resolution hash (tested).
pub const MIN_DECODED_WIDTH: u32 = 960;
/// See [`MIN_DECODED_WIDTH`].
pub const MIN_DECODED_HEIGHT: u32 = 540;

/// How long `ffprobe` may take on one file.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// The PDQ hash of the frame at `millis`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameHash {
    /// Milliseconds from the start (the frame's presentation time).
    pub millis: u32,
    /// Its hash.
    pub hash: PdqHash,
    /// Its quality, 0-100.
    pub quality: u8,
    /// The frame's number in the file (0-based, at the file's frame rate); absent in hashes
    /// made before frames were numbered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<u64>,
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
    for tool in ["ffmpeg", "ffprobe"] {
        match Command::new(tool)
            .arg("-version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
        {
            Ok(s) if s.success() => {}
            Ok(s) => {
                return Err(VideoError::FfmpegMissing(format!(
                    "`{tool} -version` exited with {s}"
                )));
            }
            Err(e) => return Err(VideoError::FfmpegMissing(format!("{tool}: {e}"))),
        }
    }
    Ok(())
}

impl FrameHash {
    /// The whole second the frame falls in.
    pub fn second(&self) -> u32 {
        self.millis / 1000
    }
}

/// What `ffprobe` says of a file's first video stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoInfo {
    /// Container, as ffprobe names it (`mxf`, `mov,mp4,m4a,3gp,3g2,mj2`, `mpegts`, ...).
    pub container: String,
    /// Codec of the video stream (`jpeg2000`, `prores`, `h264`, ...).
    pub codec: String,
    /// Frame rate numerator.
    pub rate_num: u32,
    /// Frame rate denominator.
    pub rate_den: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The start timecode from the stream's or the container's `timecode` tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timecode: Option<String>,
}

impl VideoInfo {
    /// Whether every frame of this codec is coded on its own, so frames can be dropped before
    /// decoding.
    pub fn intra_only(&self) -> bool {
        matches!(
            self.codec.as_str(),
            "jpeg2000"
                | "prores"
                | "dnxhd"
                | "mjpeg"
                | "png"
                | "tiff"
                | "dpx"
                | "exr"
                | "v210"
                | "rawvideo"
                | "ffv1"
                | "cfhd"
                | "utvideo"
                | "huffyuv"
                | "ffvhuff"
                | "bmp"
        )
    }

    /// The frame rate as `num/den`.
    pub fn rate(&self) -> String {
        format!("{}/{}", self.rate_num, self.rate_den)
    }

    /// The number of the frame shown at `millis` (0-based).
    pub fn frame_at(&self, millis: u32) -> u64 {
        let n = u128::from(millis) * u128::from(self.rate_num);
        let d = 1000 * u128::from(self.rate_den);
        u64::try_from((2 * n + d) / (2 * d)).unwrap_or(u64::MAX)
    }

    /// The `-lowres` factor for JPEG 2000: halve while the frame stays at least
    /// [`MIN_DECODED_WIDTH`]×[`MIN_DECODED_HEIGHT`].
    pub fn lowres(&self) -> u32 {
        let mut l = 0;
        while l < 5
            && (self.width >> (l + 1)) >= MIN_DECODED_WIDTH
            && (self.height >> (l + 1)) >= MIN_DECODED_HEIGHT
        {
            l += 1;
        }
        l
    }
}

/// Most frames named one by one besides a regular sampling (the first and last frame of
/// each IMF resource); more are left out, and the regular samples still cover them.
pub const MAX_EXTRA_FRAMES: usize = 2000;

/// Which frames to hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sampling {
    /// Every frame (ledger entries).
    Every,
    /// Frame `round(k × rate / n)` for each `k`: `n` frames a second.
    PerSecond(u32),
    /// As `PerSecond`, plus these frames (sorted, at most [`MAX_EXTRA_FRAMES`]): the first and
    /// last frame of every resource of an IMF composition, which may be shorter than a second.
    PerSecondAnd(u32, Vec<u64>),
}

impl Sampling {
    /// Whether frame `n` of a video at `num/den` frames per second is kept.
    pub fn keeps(&self, n: u64, num: u32, den: u32) -> bool {
        match self {
            Sampling::Every => true,
            Sampling::PerSecondAnd(s, extra) => {
                extra.binary_search(&n).is_ok() || Sampling::PerSecond(*s).keeps(n, num, den)
            }
            &Sampling::PerSecond(s) => {
                // k = round(n × s / rate); kept when round(k × rate / s) == n. Integers only.
                let (s, num, den) = (u128::from(s), u128::from(num), u128::from(den));
                let n = u128::from(n);
                let k = (2 * n * s * den + num) / (2 * num);
                let back = (2 * k * num + s * den) / (2 * s * den);
                back == n
            }
        }
    }

    /// The same test as an ffmpeg expression over the frame or packet number `n`.
    fn expression(&self, num: u32, den: u32) -> Option<String> {
        match self {
            Sampling::Every => None,
            Sampling::PerSecondAnd(s, extra) => {
                let mut e = Sampling::PerSecond(*s).expression(num, den)?;
                for n in extra.iter().take(MAX_EXTRA_FRAMES) {
                    e.push_str(&format!("+eq(n\\,{n})"));
                }
                Some(e)
            }
            &Sampling::PerSecond(s) => Some(format!(
                "eq(n\\,round(round(n*{}/{num})*{num}/{}))",
                u64::from(s) * u64::from(den),
                u64::from(s) * u64::from(den)
            )),
        }
    }
}

/// Probes `path` with `ffprobe`: `Ok(None)` when it holds no video stream (or ffprobe cannot
/// read it as media at all).
pub fn probe(path: &Path) -> Result<Option<VideoInfo>, VideoError> {
    let child = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,r_frame_rate,avg_frame_rate,width,height:stream_tags=timecode:stream_disposition=attached_pic:format=format_name:format_tags=timecode",
            "-of",
            "json",
        ])
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| VideoError::FfmpegMissing(format!("ffprobe: {e}")))?;
    let Some(out) = wait_with_output(child, PROBE_TIMEOUT, 1 << 20)? else {
        return Err(VideoError::Decode(format!(
            "ffprobe took longer than {} s",
            PROBE_TIMEOUT.as_secs()
        )));
    };
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&out) else {
        return Ok(None);
    };
    let Some(stream) = json["streams"].as_array().and_then(|s| s.first()) else {
        return Ok(None);
    };
    if stream["disposition"]["attached_pic"].as_i64() == Some(1) {
        return Ok(None); // cover art of an audio file
    }
    let rate = |key: &str| {
        stream[key].as_str().and_then(|r| {
            let (n, d) = r.split_once('/')?;
            let (n, d) = (n.parse::<u32>().ok()?, d.parse::<u32>().ok()?);
            (n > 0 && d > 0 && n / d <= 1000).then_some((n, d))
        })
    };
    let (rate_num, rate_den) = rate("r_frame_rate")
        .or_else(|| rate("avg_frame_rate"))
        .unwrap_or((24, 1));
    let timecode = stream["tags"]["timecode"]
        .as_str()
        .or_else(|| json["format"]["tags"]["timecode"].as_str())
        .map(str::to_string);
    Ok(Some(VideoInfo {
        container: json["format"]["format_name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        codec: stream["codec_name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        rate_num,
        rate_den,
        width: stream["width"]
            .as_u64()
            .and_then(|w| u32::try_from(w).ok())
            .unwrap_or(0),
        height: stream["height"]
            .as_u64()
            .and_then(|h| u32::try_from(h).ok())
            .unwrap_or(0),
        timecode,
    }))
}

/// The PDQ hashes (eight orientations) of a single picture ffmpeg decodes (a DPX or EXR
/// frame), scaled as video frames are.
pub fn still_hash(path: &Path) -> Result<crate::pdq::PdqDihedral, VideoError> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-frames:v", "1", "-vf"])
        .arg(format!("scale={FRAME_SIDE}:{FRAME_SIDE}:flags=area"))
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| VideoError::FfmpegMissing(e.to_string()))?;
    let len = (FRAME_SIDE * FRAME_SIDE * 3) as usize;
    if !out.status.success() || out.stdout.len() < len {
        let message = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(VideoError::Decode(if message.is_empty() {
            "no picture".into()
        } else {
            message.chars().take(2000).collect()
        }));
    }
    Ok(pdq::hash_rgb_dihedral(
        FRAME_SIDE,
        FRAME_SIDE,
        &out.stdout[..len],
    ))
}

/// Whether `path` holds an audio stream ffprobe can read (an MXF may hold only sound).
pub fn has_audio(path: &Path) -> bool {
    let Ok(child) = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=codec_type",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    matches!(
        wait_with_output(child, PROBE_TIMEOUT, 4096),
        Ok(Some(out)) if String::from_utf8_lossy(&out).contains("audio")
    )
}

/// Waits for `child` at most `timeout`, reading at most `limit` bytes of its stdout; `None`
/// when it was killed for taking too long.
pub(crate) fn wait_with_output(
    mut child: Child,
    timeout: Duration,
    limit: u64,
) -> Result<Option<Vec<u8>>, VideoError> {
    let stdout = child.stdout.take().expect("stdout was piped");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut s = stdout;
        let _ = (&mut s).take(limit).read_to_end(&mut buf);
        let _ = std::io::copy(&mut s, &mut std::io::sink());
        buf
    });
    let start = Instant::now();
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            let _ = reader.join();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(Some(reader.join().unwrap_or_default()))
}

/// PDQ hashes of the frames of `path` that `sampling` keeps, for at most [`MAX_SECONDS`] (or
/// `max_seconds`, if lower).
pub fn frame_hashes(
    path: &Path,
    info: &VideoInfo,
    sampling: Sampling,
    max_seconds: u32,
) -> Result<Vec<FrameHash>, VideoError> {
    let lowres = if info.codec == "jpeg2000" {
        info.lowres()
    } else {
        0
    };
    match decode(
        path,
        info,
        &sampling,
        max_seconds,
        Decoder::Native { lowres },
    ) {
        Ok(frames) if !frames.is_empty() => Ok(frames),
        // HTJ2K (and J2K profiles ffmpeg's own decoder refuses): OpenJPEG reads them.
        first if info.codec == "jpeg2000" => {
            match decode(path, info, &sampling, max_seconds, Decoder::OpenJpeg) {
                Ok(frames) if !frames.is_empty() => Ok(frames),
                Ok(_) => first,
                Err(e) => first.and(Err(e)),
            }
        }
        // Packets that cannot be copied out for dropping: decode them all instead.
        first if info.intra_only() && sampling != Sampling::Every => {
            match decode(path, info, &sampling, max_seconds, Decoder::NativeAll) {
                Ok(frames) if !frames.is_empty() => Ok(frames),
                _ => first,
            }
        }
        other => other,
    }
}

#[derive(Debug, Clone, Copy)]
enum Decoder {
    Native {
        lowres: u32,
    },
    OpenJpeg,
    /// ffmpeg's own decoder on every packet, the sampled frames kept by the filter graph: the
    /// fallback when dropping packets before decoding fails for a file.
    NativeAll,
}

impl Decoder {
    fn decode_all(self) -> bool {
        matches!(self, Decoder::NativeAll)
    }
}

fn decode(
    path: &Path,
    info: &VideoInfo,
    sampling: &Sampling,
    max_seconds: u32,
    decoder: Decoder,
) -> Result<Vec<FrameHash>, VideoError> {
    let (num, den) = (info.rate_num, info.rate_den);
    let seconds = max_seconds.min(MAX_SECONDS);
    let max_frames =
        (u64::from(seconds) * u64::from(num) / u64::from(den)).clamp(1, u64::from(MAX_FRAMES));
    let expression = sampling.expression(num, den);
    // Frames kept before decoding (intra-only) or by the filter graph (long-GOP).
    let drop_packets = info.intra_only() && expression.is_some() && !decoder.decode_all();
    let mut feeder: Option<Child> = None;
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-nostdin", "-nostats", "-loglevel", "info"]);
    match decoder {
        Decoder::Native { lowres } if lowres > 0 => {
            cmd.args(["-lowres", &lowres.to_string()]);
        }
        Decoder::Native { .. } | Decoder::NativeAll => {}
        Decoder::OpenJpeg => {
            cmd.args(["-c:v", "libopenjpeg"]);
        }
    }
    cmd.args(["-threads", "0"]);
    if drop_packets {
        let keep = expression.clone().unwrap_or_default();
        let mut copy = Command::new("ffmpeg")
            .args(["-hide_banner", "-nostdin", "-nostats", "-v", "error", "-i"])
            .arg(path)
            .args(["-map", "0:v:0", "-c", "copy", "-bsf:v"])
            .arg(format!("noise=drop=not({keep})"))
            .args(["-f", "matroska", "pipe:1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| VideoError::FfmpegMissing(e.to_string()))?;
        let stdout = copy.stdout.take().expect("stdout was piped");
        cmd.args(["-i", "pipe:0"]).stdin(Stdio::from(stdout));
        feeder = Some(copy);
    } else {
        cmd.arg("-i").arg(path).stdin(Stdio::null());
    }
    let select = match (&expression, drop_packets) {
        (Some(e), false) => format!("select={e},"),
        _ => String::new(),
    };
    cmd.args(["-map", "0:v:0", "-an", "-sn", "-dn", "-vf"])
        .arg(format!(
            "{select}showinfo,scale={FRAME_SIDE}:{FRAME_SIDE}:flags=area"
        ))
        .args([
            "-fps_mode",
            "passthrough",
            "-frames:v",
            &max_frames.to_string(),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "pipe:1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| VideoError::FfmpegMissing(e.to_string()))?;
    // Read stderr on its own thread: the frames' presentation times (showinfo), and the rest
    // (bounded) to explain a failure.
    let stderr = child.stderr.take().expect("stderr was piped");
    let err_reader = std::thread::spawn(move || read_showinfo(stderr));
    let mut stdout = child.stdout.take().expect("stdout was piped");
    let frame_len = (FRAME_SIDE * FRAME_SIDE * 3) as usize;
    let mut frame = vec![0u8; frame_len];
    let mut hashes = Vec::new();
    loop {
        match read_full(&mut stdout, &mut frame)? {
            0 => break,
            n if n < frame_len => break, // a torn last frame: ffmpeg stopped mid-frame
            _ => {}
        }
        let r = pdq::hash_rgb(FRAME_SIDE, FRAME_SIDE, &frame);
        hashes.push((r.hash, r.quality));
    }
    drop(stdout);
    let status = child.wait()?;
    if let Some(mut f) = feeder {
        let _ = f.kill();
        let _ = f.wait();
    }
    let (times, errors) = err_reader.join().unwrap_or_default();
    let decoder_failed = matches!(decoder, Decoder::Native { .. })
        && info.codec == "jpeg2000"
        && errors.contains("[jpeg2000 @");
    if !status.success() || hashes.is_empty() || decoder_failed {
        let message = if errors.is_empty() {
            format!("ffmpeg exited with {status}")
        } else {
            errors
        };
        if hashes.is_empty() || decoder_failed {
            return Err(VideoError::Decode(
                if hashes.is_empty() && status.success() {
                    "no video frames".into()
                } else {
                    message
                },
            ));
        }
        if !status.success() {
            return Err(VideoError::Decode(message));
        }
    }
    // Each frame's own time; when showinfo's lines and the frames disagree in number (they
    // should not), the sampling's frame numbers stand in.
    let start = times.first().copied().unwrap_or(0.0);
    let expected: Vec<u64> = (0u64..)
        .filter(|&n| sampling.keeps(n, num, den))
        .take(hashes.len())
        .collect();
    let out = hashes
        .into_iter()
        .enumerate()
        .map(|(i, (hash, quality))| {
            let frame = match times.get(i) {
                Some(&t) if times.len() == expected.len() => {
                    let n = (t - start) * f64::from(num) / f64::from(den);
                    n.round().max(0.0) as u64
                }
                _ => expected[i],
            };
            let millis = (u128::from(frame) * 1000 * u128::from(den) / u128::from(num)) as u64;
            FrameHash {
                millis: u32::try_from(millis).unwrap_or(u32::MAX),
                hash,
                quality,
                frame: Some(frame),
            }
        })
        .collect();
    Ok(out)
}

/// Reads ffmpeg's log: `pts_time` of each `showinfo` line, and up to 64 KiB of the other lines.
fn read_showinfo(stderr: impl Read) -> (Vec<f64>, String) {
    let mut times = Vec::new();
    let mut other = String::new();
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        if text.contains("Parsed_showinfo") {
            if let Some(rest) = text.split("pts_time:").nth(1)
                && let Some(t) = rest.split_whitespace().next().and_then(|t| t.parse().ok())
            {
                times.push(t);
            }
            continue;
        }
        if is_noise(&text) || other.len() > 64 * 1024 {
            continue;
        }
        other.push_str(text.trim_end());
        other.push('\n');
    }
    (times, other.trim().to_string())
}

/// Informational lines of `-loglevel info` that explain nothing about a failure.
fn is_noise(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty()
        || t.starts_with("Input #")
        || t.starts_with("Output #")
        || t.starts_with("Stream")
        || t.starts_with("Duration")
        || t.starts_with("Metadata")
        || t.starts_with("Press [q]")
        || t.starts_with("video:")
        || t.starts_with("frame=")
        || line.starts_with("    ")
        || line.starts_with("  ")
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
