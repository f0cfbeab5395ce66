//! Sound end to end: `hash --format json` prints the raw Chromaprint fingerprint (equal to
//! `fpcalc -raw -length 0` on 11,025 Hz mono) and its length; the sound of an MP4 registered
//! with `assets add` is found in a longer mix by `scan`, with its range and timecode.

use std::process::Command;

use serde_json::Value;

use crate::scan::db_url;
use crate::util::Dir;

/// Whether `name` runs here; says so when a test skips for want of it.
pub fn have(name: &str) -> bool {
    let ok = Command::new(name)
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success() || !o.stdout.is_empty());
    if !ok {
        eprintln!("skipped: {name} is not installed");
    }
    ok
}

pub fn ffmpeg(dir: &Dir, args: &[&str]) {
    let out = Command::new("ffmpeg")
        .current_dir(dir.path())
        .args(["-hide_banner", "-nostdin", "-v", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A tune: two sines stepping through pitches at two rates (`seed` changes both).
pub fn tune(seed: u32) -> String {
    let (a, b) = (4 + seed % 3, 3 + seed % 4);
    format!(
        "0.3*sin(2*PI*({}+{}*mod(floor(t*{a}),4))*t)+0.2*sin(2*PI*({}+55*mod(floor(t*{b}),5))*t)",
        196 + 20 * seed,
        98 + 11 * seed,
        330 + 17 * seed
    )
}

pub fn synth(dir: &Dir, out: &str, expr: &str, seconds: u32, extra: &[&str]) {
    let source = format!("aevalsrc='{expr}':s=44100:d={seconds}");
    let mut args = vec!["-f", "lavfi", "-i", &source];
    args.extend(extra);
    args.push(out);
    ffmpeg(dir, &args);
}

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn hash_prints_the_fingerprint_fpcalc_prints_on_11025_hz_mono() {
    if !have("ffmpeg") || !have("fpcalc") {
        return;
    }
    let dir = Dir::new();
    synth(
        &dir,
        "voice.wav",
        &tune(1),
        12,
        &["-ar", "11025", "-ac", "1"],
    );
    let out = dir.run(&["hash", "--format", "json", "voice.wav"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = &json_lines(&out.stdout)[0];
    assert_eq!(line["audio_seconds"], 12.0);
    let ours: Vec<u64> = line["chromaprint"]
        .as_array()
        .expect("chromaprint")
        .iter()
        .map(|v| v.as_u64().expect("u32"))
        .collect();
    let fpcalc = Command::new("fpcalc")
        .args(["-raw", "-length", "0"])
        .arg(dir.path().join("voice.wav"))
        .output()
        .expect("fpcalc runs");
    let text = String::from_utf8_lossy(&fpcalc.stdout);
    let theirs: Vec<u64> = text
        .lines()
        .find_map(|l| l.strip_prefix("FINGERPRINT="))
        .expect("fpcalc prints a fingerprint")
        .split(',')
        .map(|v| v.parse().expect("a number"))
        .collect();
    assert!(ours.len() > 60);
    assert_eq!(ours, theirs);
}

#[test]
fn the_sound_of_a_registered_mp4_is_found_in_a_longer_mix() {
    if !have("ffmpeg") {
        return;
    }
    let dir = Dir::new();
    // The registered clip: 12 s of picture and sound.
    ffmpeg(
        &dir,
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=25:d=12",
            "-f",
            "lavfi",
            "-i",
            &format!("aevalsrc='{}':s=44100:d=12", tune(2)),
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "160k",
            "-shortest",
            "voice-over.mp4",
        ],
    );
    let url = db_url(&dir);
    let out = dir.run(&[
        "assets",
        "add",
        "--database-url",
        &url,
        "--production",
        "ep101",
        "--use",
        "TEMP-VO",
        "voice-over.mp4",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("audio fingerprint of 12"), "{stdout}");
    // The mix: 10 s of another tune, the clip's sound, 9 s of a third, as FLAC.
    synth(&dir, "before.wav", &tune(5), 10, &[]);
    synth(&dir, "after.wav", &tune(7), 9, &[]);
    std::fs::create_dir_all(dir.path().join("delivery")).expect("mkdir");
    ffmpeg(
        &dir,
        &[
            "-i",
            "before.wav",
            "-i",
            "voice-over.mp4",
            "-i",
            "after.wav",
            "-filter_complex",
            "[1:a]aresample=44100[c];[0:a][c][2:a]concat=n=3:v=0:a=1[m]",
            "-map",
            "[m]",
            "-c:a",
            "flac",
            "delivery/final-mix.flac",
        ],
    );
    let out = dir.run(&[
        "scan",
        "delivery",
        "--format",
        "json",
        "--no-cache",
        "--database-url",
        &url,
        "--production",
        "ep101",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let file = &report["files"][0];
    assert_eq!(file["path"], "final-mix.flac");
    let finding = &file["findings"][0];
    assert_eq!(finding["code"], "UNAPPROVED-AI", "{finding}");
    let m = &finding["match"];
    assert_eq!(m["medium"], "audio", "{m}");
    assert_eq!(m["use_ref"], "TEMP-VO");
    let ranges = m["time_ranges"].as_array().expect("time_ranges");
    assert_eq!(ranges.len(), 1, "{m}");
    let (a, b) = (
        ranges[0][0].as_u64().expect("start"),
        ranges[0][1].as_u64().expect("end"),
    );
    assert!((9..=11).contains(&a) && (20..=23).contains(&b), "{m}");
    assert_eq!(m["timecode"][0]["rate"], "24/1", "{m}");
    assert!(
        finding["message"]
            .as_str()
            .is_some_and(|t| t.contains("its sound at 00:00:")),
        "{finding}"
    );
}
