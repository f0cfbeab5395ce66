//! Audio fingerprints and matching, each against a baseline measured in the same run.
//!
//! 1. Fingerprinting a 10-minute 44.1 kHz stereo WAV (synthetic music made by ffmpeg) with
//!    [`audio::fingerprint_file`] (ffmpeg decodes and resamples, `rusty-chromaprint`
//!    fingerprints) against `fpcalc -raw -length 0` on the same file: wall time, median of
//!    `GREENLIGHT_BENCH_RUNS` runs (default 3); the ratio is fpcalc's time over ours.
//! 2. Matching a 20 s clip against a 2-hour mix's fingerprint (the 10-minute fingerprint
//!    repeated twelve times): [`audio::find`] for a clip that plays in it (found in every
//!    repeat) and for one that does not, against the plain search (every window of the mix at
//!    every alignment of the clip, no shortcuts) on the first 10 minutes, scaled to 2 hours.
//!    One thread; thread CPU time.
//!
//! Needs ffmpeg and fpcalc; says what it skips without them. Run with
//! `cargo bench -p greenlight-scan --bench audio`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use cpu_time::ThreadTime;
use greenlight_scan::audio;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn runs() -> usize {
    std::env::var("GREENLIGHT_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3)
        .max(1)
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success() || !o.stdout.is_empty())
}

fn make_music(path: &Path, seconds: u32, seed: u32) {
    let expr = format!(
        "0.3*sin(2*PI*({}+{}*mod(floor(t*5),4))*t)*exp(-3*(t*5-floor(t*5)))\
         +0.2*sin(2*PI*({}+55*mod(floor(t/2),4))*t)+0.1*sin(2*PI*{}*mod(floor(t*3),5)*t)",
        196 + 20 * seed,
        98 + 11 * seed,
        110 + 7 * seed,
        60 + seed
    );
    let out = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg(format!("aevalsrc='{expr}':s=44100:d={seconds}"))
        .args(["-ac", "2", "-c:a", "pcm_s16le"])
        .arg(path)
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The plain search: every window of the mix against every alignment of the clip.
fn plain_search(clip: &[u32], mix: &[u32]) -> usize {
    let w = audio::WINDOW.min(clip.len());
    let limit = (audio::MAX_BIT_ERROR_RATE * 32.0 * w as f64) as u32;
    let mut matched = 0;
    for s in (0..=mix.len() - w).step_by(audio::HOP) {
        let best = (0..=clip.len() - w)
            .map(|o| {
                mix[s..s + w]
                    .iter()
                    .zip(&clip[o..o + w])
                    .map(|(a, b)| (a ^ b).count_ones())
                    .sum::<u32>()
            })
            .min()
            .unwrap_or(u32::MAX);
        if best <= limit {
            matched += 1;
        }
    }
    matched
}

fn main() {
    if !have("ffmpeg") {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let wav = dir.path().join("ten-minutes.wav");
    make_music(&wav, 600, 1);
    let other = dir.path().join("other.wav");
    make_music(&other, 20, 4);

    println!(
        "## Fingerprinting a 10-minute 44.1 kHz stereo WAV (wall time, median of {})",
        runs()
    );
    let mut ours = Vec::new();
    let mut print = None;
    for _ in 0..runs() {
        let t = Instant::now();
        let (p, _) = audio::fingerprint_file(&wav, audio::MAX_SECONDS).expect("fingerprint");
        ours.push(t.elapsed());
        print = Some(p);
    }
    let print = print.expect("at least one run");
    let ours = median(ours);
    println!(
        "greenlight (ffmpeg + rusty-chromaprint): {:.3} s",
        ours.as_secs_f64()
    );
    if have("fpcalc") {
        let mut theirs = Vec::new();
        for _ in 0..runs() {
            let t = Instant::now();
            let out = Command::new("fpcalc")
                .args(["-raw", "-length", "0"])
                .arg(&wav)
                .output()
                .expect("fpcalc runs");
            theirs.push(t.elapsed());
            assert!(!out.stdout.is_empty());
        }
        let theirs = median(theirs);
        println!(
            "fpcalc -raw -length 0:                   {:.3} s",
            theirs.as_secs_f64()
        );
        println!(
            "ratio fpcalc / greenlight:               {:.2}x",
            theirs.as_secs_f64() / ours.as_secs_f64()
        );
    } else {
        println!("fpcalc: skipped (not installed)");
    }

    let mix: Vec<u32> = print.chromaprint.repeat(12);
    let start = print.chromaprint.len() / 3;
    let clip_in: Vec<u32> = print.chromaprint[start..start + 161].to_vec();
    let (clip_out, _) = audio::fingerprint_file(&other, 20).expect("fingerprint");
    println!(
        "\n## Matching a 20 s clip against a 2-hour mix ({} items; thread CPU time)",
        mix.len()
    );
    let time = |f: &dyn Fn() -> usize| {
        let t = ThreadTime::now();
        let n = f();
        (t.elapsed(), n)
    };
    let (found_t, found) = time(&|| audio::find(&clip_in, &mix).len());
    println!(
        "clip that plays in it: {:.3} s, {found} uses found",
        found_t.as_secs_f64()
    );
    let (none_t, none) = time(&|| audio::find(&clip_out.chromaprint, &mix).len());
    println!(
        "clip that does not:    {:.3} s, {none} uses found",
        none_t.as_secs_f64()
    );
    let tenth = &mix[..print.chromaprint.len()];
    let (plain_t, _) = time(&|| plain_search(&clip_out.chromaprint, tenth));
    let plain_2h = plain_t.as_secs_f64() * 12.0;
    println!("plain search, scaled from 10 minutes: {plain_2h:.3} s");
    println!(
        "ratio plain / find (clip not in the mix): {:.1}x",
        plain_2h / none_t.as_secs_f64()
    );
}
