//! Our PDQ on video frames against Meta's vPDQ.
//!
//! `tests/fixtures/vpdq/` holds a 3-second `testsrc2` H.264 video and the hashes Meta's vPDQ
//! (PyPI `vpdq` 0.2.5) gave for every one of its frames, made by `scripts/vpdq-fixture.py` (the
//! `.txt` beside them says how). vPDQ decodes every frame with libavcodec, converts it to RGB24
//! at the video's own size with libswscale (`SWS_AREA`, the default BT.601 limited-range
//! matrix, whatever the stream's tags), and hashes that RGB with PDQ; frame `n` is given the
//! time `n / frame rate` (computed in `float`). We decode the same frames with the `ffmpeg`
//! command, the same conversion asked for explicitly, and hash them with
//! [`greenlight_scan::pdq::hash_rgb_unscaled`] (vPDQ filters the full-size frame: it does not
//! take PDQ's 512 px resizing step). The aim is 0 bits apart on every frame; more than 2 fails.
//!
//! Two fixtures: 320×240 (72 frames), where [`greenlight_scan::pdq::hash_rgb`] is the same
//! function, and 1280×720 (12 frames), where the distances of `hash_rgb`, which resizes to
//! 512×512 first, are printed beside (measured: up to 10 bits). A third, tagged BT.709, holds
//! vPDQ's colour conversion: it ignores the tag, where ffmpeg's scaler by default follows it
//! (16–24 bits from vPDQ on those frames), so the test asks ffmpeg for BT.601 explicitly.
//!
//! Without `ffmpeg` the decoding test prints that it skipped; the fixture's format and the
//! signal form are checked either way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use greenlight_scan::pdq::{PdqHash, hash_rgb, hash_rgb_unscaled};
use greenlight_scan::vpdq::{
    VpdqFrame, VpdqSignalFrame, read_vpdq, read_vpdq_signal, write_vpdq, write_vpdq_signal,
};

const NAME: &str = "testsrc2-320x240-24fps-3s";
const HD_NAME: &str = "testsrc2-1280x720-24fps-12frames";
const BT709_NAME: &str = "testsrc2-320x240-24fps-bt709-12frames";
const RATE: f32 = 24.0;

fn fixture_of(name: &str, extension: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vpdq")
        .join(format!("{name}.{extension}"))
}

fn fixture(extension: &str) -> PathBuf {
    fixture_of(NAME, extension)
}

fn reference_of(name: &str) -> Vec<VpdqFrame> {
    let text =
        std::fs::read_to_string(fixture_of(name, "csv")).expect("the vPDQ fixture is checked in");
    read_vpdq(&text).expect("the vPDQ fixture is a valid hash file")
}

fn reference() -> Vec<VpdqFrame> {
    reference_of(NAME)
}

/// vPDQ's time of frame `n`: `float(n) / float(rate)`, widened to double.
fn vpdq_seconds(frame: u64) -> f64 {
    f64::from(frame as f32 / RATE)
}

#[test]
fn reference_hash_file_is_read_and_rewritten_identically() {
    let text = std::fs::read_to_string(fixture("csv")).expect("fixture");
    let frames = reference();
    assert_eq!(frames.len(), 72, "3 s at 24 fps, every frame");
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.frame, i as u64);
        assert!(
            (f.seconds - vpdq_seconds(f.frame)).abs() <= 0.0005,
            "frame {}: {}",
            f.frame,
            f.seconds
        );
    }
    assert_eq!(write_vpdq(&frames), text);
}

#[test]
fn our_signal_is_byte_for_byte_python_threatexchange_s() {
    // The frames with vPDQ's own (unrounded) times, written as an HMA signal, must equal the
    // string python-threatexchange's formatting gave for the same features.
    for name in [NAME, HD_NAME, BT709_NAME] {
        let python = std::fs::read_to_string(fixture_of(name, "signal.json")).expect("fixture");
        let signal: Vec<VpdqSignalFrame> = reference_of(name)
            .iter()
            .map(|f| VpdqSignalFrame {
                seconds: vpdq_seconds(f.frame),
                ..VpdqSignalFrame::from(f)
            })
            .collect();
        assert_eq!(write_vpdq_signal(&signal), python, "{name}");
        let read = read_vpdq_signal(&python).expect("python's signal reads");
        assert_eq!(read.len(), signal.len());
        assert!(
            read.iter()
                .zip(&signal)
                .all(|(a, b)| a.pdq == b.pdq && a.quality == b.quality)
        );
    }
}

fn tool_missing(tool: &str) -> bool {
    Command::new(tool).arg("-version").output().is_err()
}

/// Width and height of the first video stream.
fn probe_size(video: &Path) -> (u32, u32) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(video)
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text
        .trim()
        .split(',')
        .map(|p| p.parse::<u32>().expect("a number"));
    (parts.next().expect("width"), parts.next().expect("height"))
}

/// Every decoded frame as RGB24 at the video's own size, converted as vPDQ converts it.
fn decode_every_frame(video: &Path, width: u32, height: u32) -> Vec<Vec<u8>> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(video)
        .args([
            "-map",
            "0:v:0",
            // Every decoded frame once, in order: no frame-rate conversion.
            "-fps_mode",
            "passthrough",
            "-vf",
            "scale=flags=area:in_color_matrix=bt601:in_range=tv,format=rgb24",
            "-f",
            "rawvideo",
            "-",
        ])
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size = (width * height * 3) as usize;
    assert_eq!(out.stdout.len() % size, 0, "whole frames");
    out.stdout.chunks(size).map(<[u8]>::to_vec).collect()
}

/// Hashes every frame of fixture `name` and compares with vPDQ's; returns the worst distance.
fn compare_with_vpdq(name: &str, size: (u32, u32), frame_count: usize) -> Option<u32> {
    if tool_missing("ffmpeg") || tool_missing("ffprobe") {
        eprintln!(
            "skipped: ffmpeg or ffprobe is not installed, so the fixture video cannot be decoded"
        );
        return None;
    }
    let video = fixture_of(name, "mp4");
    let (width, height) = probe_size(&video);
    assert_eq!((width, height), size);
    let frames = decode_every_frame(&video, width, height);
    let reference = reference_of(name);
    assert_eq!(reference.len(), frame_count);
    assert_eq!(
        frames.len(),
        reference.len(),
        "the same frames as vPDQ decoded"
    );

    let mut distances: BTreeMap<u32, usize> = BTreeMap::new();
    let mut resized: BTreeMap<u32, usize> = BTreeMap::new();
    let mut quality_differs = 0;
    let mut worst = (0, 0);
    for (rgb, expected) in frames.iter().zip(&reference) {
        let theirs = PdqHash::from_hex(&expected.pdq).expect("a valid hash in the fixture");
        let ours = hash_rgb_unscaled(width, height, rgb);
        let distance = ours.hash.distance(&theirs);
        *distances.entry(distance).or_default() += 1;
        *resized
            .entry(hash_rgb(width, height, rgb).hash.distance(&theirs))
            .or_default() += 1;
        if ours.quality != expected.quality {
            quality_differs += 1;
        }
        if distance > worst.1 {
            worst = (expected.frame, distance);
        }
    }
    eprintln!(
        "{name}: vPDQ vs ours over {} frames, Hamming distance -> frames: {distances:?}; \
         quality differs on {quality_differs}; worst frame {} at {} bits; \
         with the 512 px step (hash_rgb): {resized:?}",
        reference.len(),
        worst.0,
        worst.1
    );
    assert_eq!(
        quality_differs, 0,
        "{name}: PDQ quality differs from vPDQ's"
    );
    Some(worst.1)
}

#[test]
fn our_pdq_of_every_frame_is_within_two_bits_of_vpdq() {
    if let Some(worst) = compare_with_vpdq(NAME, (320, 240), 72) {
        assert!(worst <= 2, "a frame is {worst} bits from vPDQ's hash");
    }
}

#[test]
fn our_pdq_of_every_hd_frame_is_within_two_bits_of_vpdq() {
    if let Some(worst) = compare_with_vpdq(HD_NAME, (1280, 720), 12) {
        assert!(worst <= 2, "a frame is {worst} bits from vPDQ's hash");
    }
}

#[test]
fn vpdq_converts_a_bt709_tagged_stream_with_bt601_and_so_do_we() {
    if let Some(worst) = compare_with_vpdq(BT709_NAME, (320, 240), 12) {
        assert!(worst <= 2, "a frame is {worst} bits from vPDQ's hash");
    }
}
