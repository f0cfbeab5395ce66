//! Audio made here with ffmpeg: the raw Chromaprint fingerprint equals `fpcalc`'s on 11,025 Hz
//! mono; a registered temp track is found in a longer mix cut in straight, under dialogue at
//! equal level, re-encoded to AAC 128k and played 3 % faster, each at its range and timecode;
//! a track of the same style is not; an MXF sound track file is read; hostile WAVs give
//! findings or clear errors and the scan goes on. Tests that need ffmpeg or fpcalc say they
//! skip when the tool is missing.

mod imf_package;

use std::path::Path;
use std::process::Command;

use chrono::NaiveDate;
use greenlight_scan::audio;
use greenlight_scan::credentials::CredentialReader;
use greenlight_scan::declarations::Declarations;
use greenlight_scan::report::{FileReport, FindingReport, ScanReport};
use greenlight_scan::scan::{
    self, BankKind, Banks, NoProgress, ScanInputs, ScanOptions, fingerprint,
};
use greenlight_scan::verdict::{Code, Policy};
use greenlight_scan::waiver::Waivers;
use greenlight_store::banks::{Asset, AudioReference};

const RATE: u32 = 44_100;

fn tool(name: &str) -> bool {
    let ok = Command::new(name)
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success() || !o.stdout.is_empty());
    if !ok {
        eprintln!("skipped: {name} is not installed");
    }
    ok
}

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
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

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn freq(midi: i32) -> f64 {
    440.0 * 2f64.powf(f64::from(midi - 69) / 12.0)
}

/// Synthetic music (an arpeggio with a decaying envelope over a four-chord progression, a
/// bass and a pad), as `scripts/audio_recall.py` makes it: an `aevalsrc` expression.
fn music(progression: [[i32; 3]; 4], rate: f64, pattern: [usize; 4], chord_seconds: f64) -> String {
    let (mut lead, mut bass, mut pad) = ("0".to_string(), "0".to_string(), "0".to_string());
    for (ci, notes) in progression.iter().enumerate().rev() {
        let mut arp = "0".to_string();
        for (k, &p) in pattern.iter().enumerate().rev() {
            arp = format!("if(eq(ld(1),{k}),{:.4},{arp})", freq(notes[p] + 12));
        }
        lead = format!("if(eq(ld(0),{ci}),{arp},{lead})");
        bass = format!("if(eq(ld(0),{ci}),{:.4},{bass})", freq(notes[0] - 12));
        let tones: Vec<String> = notes
            .iter()
            .map(|&n| format!("sin(2*PI*{:.4}*t)", freq(n)))
            .collect();
        pad = format!("if(eq(ld(0),{ci}),{},{pad})", tones.join("+"));
    }
    format!(
        "st(0,mod(floor(t/{chord_seconds}),4));st(1,mod(floor(t*{rate}),4));st(2,{lead});\
         0.32*exp(-6*(t*{rate}-floor(t*{rate}))/{rate}*{rate}/2)*(sin(2*PI*ld(2)*t)+0.4*sin(4*PI*ld(2)*t))\
         +0.22*sin(2*PI*({bass})*t)+0.06*({pad})"
    )
}

/// A voice-like sound (harmonics of a gliding pitch, syllables, pauses) as loud as the music.
const VOICE: &str = "st(0,150+40*sin(2*PI*0.7*t)+25*sin(2*PI*1.9*t));\
    (0.5+0.5*sin(2*PI*3.3*t))*(0.6+0.4*sin(2*PI*0.9*t))*gt(mod(t,4.1),0.6)*\
    0.56*(sin(2*PI*ld(0)*t)+0.7*sin(4*PI*ld(0)*t)+0.5*sin(6*PI*ld(0)*t)+0.3*sin(8*PI*ld(0)*t)\
    +0.2*sin(10*PI*ld(0)*t))";

fn synth(out: &Path, expr: &str, seconds: f64, rate: u32, channels: u32) {
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("aevalsrc='{expr}':s={rate}:d={seconds}"),
        "-ac",
        &channels.to_string(),
        "-c:a",
        "pcm_s16le",
        s(out),
    ]);
}

const C: i32 = 60;
const D: i32 = 62;
const E: i32 = 64;
const F: i32 = 65;
const G: i32 = 55;
const A: i32 = 57;
const B: i32 = 59;

fn temp_track(out: &Path) {
    let expr = music(
        [
            [C, C + 4, C + 7],
            [F, F + 4, F + 7],
            [A, A + 3, A + 7],
            [G, G + 4, G + 7],
        ],
        6.0,
        [0, 1, 2, 1],
        2.0,
    );
    synth(out, &expr, 20.0, RATE, 2);
}

fn bed_a(out: &Path, seconds: f64) {
    let expr = music(
        [
            [F, F + 4, F + 7],
            [C, C + 4, C + 7],
            [D, D + 3, D + 7],
            [A - 2, A + 2, A + 5],
        ],
        5.5,
        [0, 2, 1, 0],
        1.8,
    );
    synth(out, &expr, seconds, RATE, 2);
}

fn bed_b(out: &Path, seconds: f64) {
    let expr = music(
        [
            [G, G + 4, G + 7],
            [E, E + 3, E + 7],
            [A, A + 3, A + 7],
            [D, D + 4, D + 7],
        ],
        4.5,
        [1, 0, 2, 1],
        2.2,
    );
    synth(out, &expr, seconds, RATE, 2);
}

/// Another track of the same style: the temp track's chords in another order and rhythm.
fn same_style(out: &Path, seconds: f64) {
    let expr = music(
        [
            [C, C + 4, C + 7],
            [A, A + 3, A + 7],
            [F, F + 4, F + 7],
            [G, G + 4, G + 7],
        ],
        6.5,
        [2, 0, 1, 0],
        2.6,
    );
    synth(out, &expr, seconds, RATE, 2);
}

/// `bed1 + clip (filtered) + bed2`, optionally under the voice at equal weights.
fn mix(
    out: &Path,
    bed1: &Path,
    clip: &Path,
    bed2: &Path,
    clip_filter: &str,
    voice: Option<&Path>,
    codec: &[&str],
) {
    let mut args: Vec<String> = vec![];
    for p in [bed1, clip, bed2].into_iter().chain(voice) {
        args.extend(["-i".to_string(), s(p).to_string()]);
    }
    let cf = if clip_filter.is_empty() {
        "anull"
    } else {
        clip_filter
    };
    let mut graph = format!("[1:a]{cf}[c];[0:a][c][2:a]concat=n=3:v=0:a=1[m]");
    let label = if voice.is_some() {
        graph.push_str(";[m][3:a]amix=inputs=2:duration=first:normalize=1[o]");
        "[o]"
    } else {
        "[m]"
    };
    args.extend(["-filter_complex".into(), graph, "-map".into(), label.into()]);
    args.extend(codec.iter().map(|c| c.to_string()));
    args.push(s(out).to_string());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ffmpeg(&refs);
}

fn options() -> ScanOptions {
    ScanOptions {
        sha256: false,
        max_distance: 31,
        use_cache: false,
        cache_path: None,
        policy: Policy::default(),
        as_of: NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"),
        ov: vec![],
        edit_list: None,
        sequence_rate: greenlight_scan::timecode::EditRate { num: 25, den: 1 },
    }
}

fn ledger_entry(path: &Path, use_ref: &str) -> Asset {
    let fp = fingerprint(path, BankKind::Ledger).expect("fingerprint");
    assert!(fp.audio.is_some(), "{} has sound", path.display());
    Asset {
        id: 7,
        production: "ep101".into(),
        use_ref: use_ref.into(),
        tool: None,
        added_at: "2026-11-01T00:00:00Z".into(),
        file_name: file_name(path),
        blake3: fp.digests.blake3,
        media_type: fp.media.mime,
        pdq: None,
        pdq_quality: None,
        frames: vec![],
        thumbnail: None,
        audio: fp.audio,
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned()
}

fn run(root: &Path, banks: &Banks, declarations: Option<&Declarations>) -> ScanReport {
    let credentials = CredentialReader::new(None).expect("reader");
    let inputs = ScanInputs {
        banks,
        declarations,
        waivers: &Waivers::default(),
        credentials: &credentials,
    };
    scan::scan(root, &options(), &inputs, &NoProgress).expect("scan runs")
}

fn file<'a>(report: &'a ScanReport, path: &str) -> &'a FileReport {
    report
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} is in the report"))
}

fn audio_findings(f: &FileReport) -> Vec<&FindingReport> {
    f.findings
        .iter()
        .filter(|x| {
            x.r#match
                .as_ref()
                .is_some_and(|m| m.medium.as_deref() == Some("audio"))
        })
        .collect()
}

/// The one audio finding of `f`, with one range near `[start, end]` seconds (within 1.5 s).
fn assert_found_at(f: &FileReport, code: Code, start: f64, end: f64) {
    let found = audio_findings(f);
    assert_eq!(found.len(), 1, "{}: {:#?}", f.path, f.findings);
    let x = found[0];
    assert_eq!(x.code, code, "{}: {}", f.path, x.message);
    let m = x.r#match.as_ref().expect("match");
    assert_eq!(
        m.audio_ranges.len(),
        1,
        "{}: one use: {:?}",
        f.path,
        m.audio_ranges
    );
    let (a, b) = m.audio_ranges[0];
    assert!(
        (a - start).abs() <= 1.5 && (b - end).abs() <= 1.5,
        "{}: found at {a}-{b}, played at {start}-{end}",
        f.path
    );
    assert_eq!(m.time_ranges.len(), 1);
    assert_eq!(m.timecode.len(), 1);
    assert_eq!(
        m.timecode[0].rate, "25/1",
        "audio alone is labelled at --sequence-rate"
    );
    assert_eq!(m.method, "chromaprint");
}

fn fpcalc(path: &Path) -> Vec<u32> {
    // Debian's fpcalc exits 3 at the end of the file while printing a valid fingerprint.
    let out = Command::new("fpcalc")
        .args(["-raw", "-length", "0"])
        .arg(path)
        .output()
        .expect("fpcalc runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("FINGERPRINT="))
        .unwrap_or_else(|| panic!("fpcalc printed a fingerprint: {text} {out:?}"));
    line.split(',')
        .map(|v| v.trim().parse().expect("a number"))
        .collect()
}

#[test]
fn raw_fingerprint_equals_fpcalc_on_11025_hz_mono() {
    if !tool("ffmpeg") || !tool("fpcalc") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let wav = dir.path().join("mono.wav");
    let expr = music(
        [
            [D, D + 4, D + 7],
            [G, G + 4, G + 7],
            [B, B + 3, B + 7],
            [A, A + 4, A + 7],
        ],
        7.0,
        [2, 1, 0, 1],
        1.6,
    );
    synth(
        &wav,
        &format!("{expr}+0.05*sin(2*PI*97*t*t)"),
        25.0,
        11_025,
        1,
    );
    let (ours, capped) = audio::fingerprint_file(&wav, audio::MAX_SECONDS).expect("fingerprint");
    assert!(!capped);
    assert_eq!(ours.millis, 25_000);
    let theirs = fpcalc(&wav);
    assert!(theirs.len() > 150, "{} items", theirs.len());
    assert_eq!(ours.chromaprint, theirs, "value for value");
}

#[test]
fn a_temp_track_is_found_cut_in_under_dialogue_reencoded_and_faster_but_not_a_track_of_its_style() {
    if !tool("ffmpeg") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("src");
    let root = dir.path().join("delivery");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::create_dir_all(&root).expect("mkdir");
    let temp = src.join("temp-score.wav");
    temp_track(&temp);
    let (a, b, other, voice) = (
        src.join("a.wav"),
        src.join("b.wav"),
        src.join("other.wav"),
        src.join("voice.wav"),
    );
    bed_a(&a, 10.0);
    bed_b(&b, 20.0);
    same_style(&other, 20.0);
    synth(&voice, VOICE, 60.0, RATE, 2);
    let pcm: &[&str] = &["-c:a", "pcm_s16le"];
    mix(&root.join("straight.wav"), &a, &temp, &b, "", None, pcm);
    mix(
        &root.join("dialogue.wav"),
        &a,
        &temp,
        &b,
        "",
        Some(&voice),
        pcm,
    );
    mix(
        &root.join("aac.mp4"),
        &a,
        &temp,
        &b,
        "",
        None,
        &["-c:a", "aac", "-b:a", "128k"],
    );
    mix(
        &root.join("tempo.wav"),
        &a,
        &temp,
        &b,
        "atempo=1.03",
        None,
        pcm,
    );
    mix(
        &root.join("unrelated.wav"),
        &a,
        &other,
        &b,
        "",
        Some(&voice),
        pcm,
    );

    // Declared temporary: a match is TEMP-ASSET.
    let decls = dir.path().join("declarations");
    std::fs::create_dir_all(&decls).expect("mkdir");
    std::fs::write(
        decls.join("temp.yaml"),
        "greenlight: declaration/v1\nproduction:\n  title: Harbour Lights\n  eu_release: true\n  release_date: 2026-12-01\n\
         use:\n  ref: TEMP-MUSIC\n  summary: Temp score\ntools:\n  - name: Gen\noutputs:\n  final: false\n  media: [audio]\n",
    )
    .expect("write");
    let declarations =
        Declarations::load(&decls, NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"))
            .expect("declarations load");
    let banks = Banks {
        ledger: vec![ledger_entry(&temp, "TEMP-MUSIC")],
        ..Banks::default()
    };
    let report = run(&root, &banks, Some(&declarations));
    assert_found_at(file(&report, "straight.wav"), Code::TempAsset, 10.0, 30.0);
    assert_found_at(file(&report, "dialogue.wav"), Code::TempAsset, 10.0, 30.0);
    assert_found_at(file(&report, "aac.mp4"), Code::TempAsset, 10.0, 30.0);
    assert_found_at(
        file(&report, "tempo.wav"),
        Code::TempAsset,
        10.0,
        10.0 + 20.0 / 1.03,
    );
    let straight = file(&report, "straight.wav");
    let m = audio_findings(straight)[0].r#match.as_ref().expect("match");
    assert_eq!(m.use_ref.as_deref(), Some("TEMP-MUSIC"));
    // Labelled at --sequence-rate (25) from 00:00:00:00: the frame where the use starts.
    let frame = (m.audio_ranges[0].0 * 25.0).floor() as u64;
    assert_eq!(
        m.timecode[0].r#in,
        format!("00:00:{:02}:{:02}", frame / 25, frame % 25)
    );
    let unrelated = file(&report, "unrelated.wav");
    assert!(
        audio_findings(unrelated).is_empty(),
        "a track of the same style is not the temp track: {:#?}",
        unrelated.findings
    );

    // The same recording in a reference bank is a REFERENCE-MATCH.
    let fp = fingerprint(&temp, BankKind::Reference).expect("fingerprint");
    let banks = Banks {
        audio_references: vec![AudioReference {
            id: 3,
            bank: "library".into(),
            work_id: "LIB-77".into(),
            title: "Harbour Theme".into(),
            blake3: fp.digests.blake3,
            audio: fp.audio.expect("sound"),
            added_at: "2026-11-01T00:00:00Z".into(),
            studio: None,
        }],
        ..Banks::default()
    };
    let report = run(&root, &banks, None);
    let f = file(&report, "dialogue.wav");
    assert_found_at(f, Code::ReferenceMatch, 10.0, 30.0);
    let m = audio_findings(f)[0].r#match.as_ref().expect("match");
    assert_eq!(
        (m.bank.as_str(), m.work_id.as_deref()),
        ("library", Some("LIB-77"))
    );
}

#[test]
fn every_use_of_a_clip_is_found_and_an_mxf_sound_track_file_is_read() {
    if !tool("ffmpeg") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("src");
    let root = dir.path().join("delivery");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::create_dir_all(&root).expect("mkdir");
    let temp = src.join("temp.wav");
    temp_track(&temp);
    let (a, b) = (src.join("a.wav"), src.join("b.wav"));
    bed_a(&a, 8.0);
    bed_b(&b, 12.0);
    // a (8 s), temp (20 s), b (12 s), temp again (20 s), as 48 kHz 24-bit PCM in MXF
    // (OP-Atom: ffmpeg's OP1a muxer wants a picture track first).
    let mxf = root.join("sound.mxf");
    ffmpeg(&[
        "-i",
        s(&a),
        "-i",
        s(&temp),
        "-i",
        s(&b),
        "-i",
        s(&temp),
        "-filter_complex",
        "[0:a][1:a][2:a][3:a]concat=n=4:v=0:a=1,aresample=48000[m]",
        "-map",
        "[m]",
        "-ac",
        "1",
        "-c:a",
        "pcm_s24le",
        "-f",
        "mxf_opatom",
        s(&mxf),
    ]);
    let banks = Banks {
        ledger: vec![ledger_entry(&temp, "SCORE-1")],
        ..Banks::default()
    };
    let report = run(&root, &banks, None);
    let f = file(&report, "sound.mxf");
    assert_eq!(f.media_type.as_deref(), Some("application/mxf"));
    let found = audio_findings(f);
    assert_eq!(found.len(), 1, "{:#?}", f.findings);
    assert_eq!(found[0].code, Code::UnapprovedAi);
    let m = found[0].r#match.as_ref().expect("match");
    assert_eq!(m.audio_ranges.len(), 2, "both uses: {:?}", m.audio_ranges);
    for (&(a, b), start) in m.audio_ranges.iter().zip([8.0, 40.0]) {
        assert!(
            (a - start).abs() <= 1.5 && (b - start - 20.0).abs() <= 1.5,
            "{a}-{b} for {start}"
        );
    }
}

#[test]
fn hostile_audio_files_give_findings_or_errors_and_the_scan_goes_on() {
    if !tool("ffmpeg") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("delivery");
    std::fs::create_dir_all(&root).expect("mkdir");
    let good = root.join("good.wav");
    synth(&good, "0.4*sin(2*PI*440*t)*sin(2*PI*0.5*t)", 3.0, 11_025, 1);
    let bytes = std::fs::read(&good).expect("read");
    // A header claiming about 4 GiB of samples (RIFF and data sizes) over 3 s of data.
    let mut lying = bytes.clone();
    lying[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    let data = lying
        .windows(4)
        .position(|w| w == b"data")
        .expect("a data chunk");
    lying[data + 4..data + 8].copy_from_slice(&(u32::MAX - 64).to_le_bytes());
    std::fs::write(root.join("lying.wav"), &lying).expect("write");
    // A header claiming 0 channels and an absurd sample rate.
    let mut absurd = bytes.clone();
    let fmt = absurd
        .windows(4)
        .position(|w| w == b"fmt ")
        .expect("a fmt chunk");
    absurd[fmt + 10..fmt + 12].copy_from_slice(&0u16.to_le_bytes());
    absurd[fmt + 12..fmt + 16].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(root.join("absurd.wav"), &absurd).expect("write");
    // Noise after a WAV header.
    let mut noise = bytes[..44].to_vec();
    noise.extend((0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(root.join("noise.wav"), &noise).expect("write");

    let report = run(&root, &Banks::default(), None);
    assert_eq!(report.files.len(), 4, "every file is reported");
    // The lying header costs only what its data holds.
    let (print, capped) =
        audio::fingerprint_file(&root.join("lying.wav"), audio::MAX_SECONDS).expect("decodes");
    assert!(!capped);
    assert!(print.millis <= 3_100, "{} ms", print.millis);
    let absurd = file(&report, "absurd.wav");
    assert!(
        absurd.findings.iter().any(|x| x.code == Code::Unreadable),
        "{:#?}",
        absurd.findings
    );
    // The cap bounds what is decoded from a file.
    let (capped_print, capped) = audio::fingerprint_file(&good, 1).expect("decodes");
    assert!(capped);
    assert_eq!(capped_print.millis, 1_000);
}

#[test]
fn broadcast_wave_time_reference_sets_the_start_timecode() {
    let info = audio::AudioInfo {
        codec: "pcm_s24le".into(),
        sample_rate: 48_000,
        channels: 2,
        timecode: None,
        // 10:00:00:00 at 48 kHz.
        time_reference: Some(36_000 * 48_000),
    };
    let labels = audio::Labels::of(
        None,
        &info,
        greenlight_scan::timecode::EditRate { num: 25, den: 1 },
    );
    let clip: Vec<u32> = (0..200u32).map(|i| i.wrapping_mul(2_654_435_761)).collect();
    let mut mix: Vec<u32> = (0..300u32)
        .map(|i| i.wrapping_mul(40_503) ^ 0x5555_aaaa)
        .collect();
    mix.extend(&clip);
    let hit = audio::locate(&clip, &mix, &labels).expect("found");
    let start = audio::item_seconds(300) + audio::START_SECONDS;
    let frame = (start * 25.0).floor() as u64;
    let expected = format!("10:00:{:02}:{:02}", frame / 25, frame % 25);
    assert_eq!(hit.timecode[0].r#in, expected);
}

#[test]
fn a_match_in_an_imf_sound_track_file_is_placed_in_composition_timecode() {
    if !tool("ffmpeg") {
        return;
    }
    use imf_package::{Imp, cpl, resource, timecode};
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    let temp = src.join("temp.wav");
    temp_track(&temp);
    let a = src.join("a.wav");
    bed_a(&a, 10.0);
    // 10 s of bed, then the temp track: 30 s of 48 kHz sound in an OP-Atom track file.
    let mxf = src.join("sound.mxf");
    ffmpeg(&[
        "-i",
        s(&a),
        "-i",
        s(&temp),
        "-filter_complex",
        "[0:a][1:a]concat=n=2:v=0:a=1,aresample=48000[m]",
        "-map",
        "[m]",
        "-ac",
        "1",
        "-c:a",
        "pcm_s24le",
        "-f",
        "mxf_opatom",
        s(&mxf),
    ]);
    let root = dir.path().join("imp");
    let mut imp = Imp::new(&root);
    imp.file(1, "sound.mxf", &std::fs::read(&mxf).expect("mxf"));
    // The composition plays the track file's second 5 to 30 from 01:00:00:00 at 24 fps: the
    // temp track (second 10 of the file) plays from 01:00:05:00.
    let samples = 30 * 48_000;
    let fields = format!(
        "<EditRate>48000 1</EditRate><IntrinsicDuration>{samples}</IntrinsicDuration>\
         <EntryPoint>{}</EntryPoint><SourceDuration>{}</SourceDuration>",
        5 * 48_000,
        25 * 48_000
    );
    let xml = cpl(
        100,
        "Harbour Lights EP101",
        "24 1",
        &timecode(false, 24, "01:00:00:00"),
        &[vec![("MainAudioSequence", resource(11, 1, &fields))]],
    );
    imp.file(100, "CPL.xml", xml.as_bytes());
    let root = imp.finish();
    let banks = Banks {
        ledger: vec![ledger_entry(&temp, "SCORE-1")],
        ..Banks::default()
    };
    let report = run(&root, &banks, None);
    let f = file(&report, "sound.mxf");
    let found = audio_findings(f);
    assert_eq!(found.len(), 1, "{:#?}", f.findings);
    let m = found[0].r#match.as_ref().expect("match");
    let imf = m.imf.as_ref().expect("placed in the composition");
    assert_eq!(imf.compositions.len(), 1, "{imf:?}");
    let place = &imf.compositions[0];
    assert_eq!(place.title, "Harbour Lights EP101");
    let seconds = |tc: &str| {
        let p: Vec<u64> = tc
            .split([':', ';'])
            .map(|x| x.parse().expect("number"))
            .collect();
        (p[0] * 3600 + p[1] * 60 + p[2]) as f64 + p[3] as f64 / 24.0 - 3600.0
    };
    assert!((seconds(&place.r#in) - 5.0).abs() <= 1.5, "{place:?}");
    assert!((seconds(&place.out) - 25.0).abs() <= 1.5, "{place:?}");
}
