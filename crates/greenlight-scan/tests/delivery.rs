//! The formats a streamer receives, made here with ffmpeg: a registered clip with motion is found
//! after any re-encode (H.264, HEVC, ProRes, DNxHR, JPEG 2000 in MXF, MPEG-TS), at exact frame
//! positions with timecode; an IMF package holding it fails its composition, says where the
//! clip plays, and a broken or incomplete package is a finding; garbage in an MXF is
//! `UNREADABLE`; reduced-resolution JPEG 2000 decoding stays within 2 bits of full size.

mod imf_package;
mod media;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use greenlight_scan::credentials::CredentialReader;
use greenlight_scan::pdq;
use greenlight_scan::report::{FileReport, ScanReport};
use greenlight_scan::scan::{
    self, BankKind, Banks, NoProgress, ScanInputs, ScanOptions, fingerprint,
};
use greenlight_scan::verdict::{Code, Policy, Verdict};
use greenlight_scan::video::{self, Sampling};
use greenlight_scan::waiver::Waivers;
use greenlight_store::banks::{Asset, Frame};
use imf_package::{Imp, cpl, resource, timecode, uuid};

fn ffmpeg_with(codec: &str) -> bool {
    Command::new("ffmpeg")
        .args(["-hide_banner", "-encoders"])
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains(codec))
}

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
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

fn options() -> ScanOptions {
    ScanOptions {
        sha256: false,
        max_distance: 31,
        use_cache: false,
        cache_path: None,
        policy: Policy::default(),
        as_of: NaiveDate::from_ymd_opt(2026, 11, 23).expect("date"),
        ov: vec![],
        edit_list: None,
        sequence_rate: greenlight_scan::timecode::EditRate { num: 24, den: 1 },
    }
}

/// A ledger of one entry registered from `path` (a video's frames, or a picture's hash), under
/// a declaration the scan is not given (so a match is `UNAPPROVED-AI`).
fn ledger(path: &Path) -> Banks {
    let fp = fingerprint(path, BankKind::Ledger).expect("fingerprint");
    Banks {
        ledger: vec![Asset {
            id: 1,
            production: "ep101".into(),
            use_ref: "PREVIS-1".into(),
            tool: None,
            added_at: "2026-11-01T00:00:00Z".into(),
            file_name: file_name_of(path),
            blake3: fp.digests.blake3,
            media_type: fp.media.mime,
            pdq: fp.pdq.map(|(h, _)| h.to_hex()),
            pdq_quality: fp.pdq.map(|(_, q)| q),
            frames: fp
                .frames
                .iter()
                .map(|f| Frame {
                    millis: f.millis,
                    pdq: f.hash.to_hex(),
                    quality: f.quality,
                })
                .collect(),
            thumbnail: None,
            audio: None,
        }],
        references: vec![],
        audio_references: vec![],
    }
}

fn file_name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn scan_with(root: &Path, banks: &Banks, options: &ScanOptions) -> ScanReport {
    let credentials = CredentialReader::new(None).expect("reader");
    let inputs = ScanInputs {
        banks,
        declarations: None,
        waivers: &Waivers::default(),
        credentials: &credentials,
    };
    scan::scan(root, options, &inputs, &NoProgress).expect("scan runs")
}

fn file<'a>(report: &'a ScanReport, path: &str) -> &'a FileReport {
    report
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| {
            panic!(
                "{path} in {:?}",
                report.files.iter().map(|f| &f.path).collect::<Vec<_>>()
            )
        })
}

fn codes(f: &FileReport) -> Vec<Code> {
    f.findings.iter().map(|x| x.code).collect()
}

/// A 4 s 24 fps `testsrc2` clip: fast motion, consecutive frames tens of bits apart.
fn previs(dir: &Path) -> PathBuf {
    let clip = dir.join("previs.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=24",
        "-t",
        "4",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        s(&clip),
    ]);
    clip
}

#[test]
fn a_moving_clip_is_found_after_any_re_encode_with_its_timecode() {
    if !ffmpeg_with("libx264") {
        eprintln!("skipped: ffmpeg with libx264 is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let clip = previs(dir.path());
    let banks = ledger(&clip);
    assert_eq!(
        banks.ledger[0].frames.len(),
        96,
        "every frame of the ledger clip"
    );
    let root = dir.path().join("delivery");
    std::fs::create_dir_all(&root).expect("mkdir");
    // Other footage for 1.3 s (31 frames), then the clip from its frame 5: the clip's frames
    // land on delivered frames at an offset that is no whole second.
    let cut = |name: &str, codec: &[&str]| {
        let mut args = vec![
            "-f",
            "lavfi",
            "-i",
            "mandelbrot=size=640x360:rate=24",
            "-i",
            s(&clip),
            "-filter_complex",
            "[0:v]trim=end_frame=31,setpts=PTS-STARTPTS[a];[1:v]trim=start_frame=5,setpts=PTS-STARTPTS,scale=480:270[b];[a]scale=480:270[a2];[a2][b]concat=n=2:v=1[v]",
            "-map",
            "[v]",
            "-timecode",
            "01:00:00:00",
        ];
        args.extend_from_slice(codec);
        let path = root.join(name);
        args.push(s(&path));
        ffmpeg(&args);
    };
    cut(
        "cut-h264.mp4",
        &["-c:v", "libx264", "-crf", "28", "-pix_fmt", "yuv420p"],
    );
    cut("cut-prores.mov", &["-c:v", "prores_ks"]);
    cut(
        "cut-dnxhr.mxf",
        &[
            "-c:v",
            "dnxhd",
            "-profile:v",
            "dnxhr_sq",
            "-pix_fmt",
            "yuv422p",
        ],
    );
    cut("cut-j2k.mxf", &["-c:v", "libopenjpeg", "-f", "mxf"]);
    cut(
        "cut.ts",
        &["-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mpegts"],
    );
    if ffmpeg_with("libx265") {
        cut(
            "cut.hevc",
            &["-c:v", "libx265", "-pix_fmt", "yuv420p", "-f", "hevc"],
        );
    }
    // Unrelated footage must not match.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "life=size=640x360:rate=24:seed=7",
        "-t",
        "3",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        s(&root.join("other.mp4")),
    ]);

    let report = scan_with(&root, &banks, &options());
    for f in &report.files {
        if f.path == "other.mp4" {
            assert!(
                codes(f).is_empty(),
                "unrelated footage matched: {:?}",
                f.findings
            );
            continue;
        }
        let finding = f
            .findings
            .iter()
            .find(|x| x.code == Code::UnapprovedAi)
            .unwrap_or_else(|| panic!("{}: the clip is not found: {:?}", f.path, f.findings));
        let m = finding.r#match.as_ref().expect("a match");
        // The clip is on screen from 1.29 s to 5.08 s: the samples of seconds 2 to 5.
        assert_eq!(m.time_ranges, [(2, 5)], "{}", f.path);
        let tc = &m.timecode[0];
        if f.path != "cut.hevc" && f.path != "cut.ts" {
            // Raw HEVC and MPEG-TS carry no timecode tag: they count from 00:00:00:00.
            assert_eq!(
                (tc.r#in.as_str(), tc.out.as_str()),
                ("01:00:02:00", "01:00:05:00"),
                "{}",
                f.path
            );
        }
        assert_eq!(tc.rate, "24/1");
        assert_eq!(
            m.frame_ranges,
            [(48, 120)],
            "{}: frames at exact positions",
            f.path
        );
        assert_eq!(f.verdict, Verdict::Fail);
    }
    assert_eq!(
        file(&report, "cut-j2k.mxf").media_type.as_deref(),
        Some("application/mxf")
    );
    assert_eq!(
        file(&report, "cut.ts").media_type.as_deref(),
        Some("video/mp2t")
    );
}

#[test]
fn garbage_in_an_mxf_is_unreadable_not_a_pass() {
    if !ffmpeg_with("mpeg4") {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut bytes = vec![
        0x06, 0x0E, 0x2B, 0x34, 0x02, 0x05, 0x01, 0x01, 0x0D, 0x01, 0x02, 0x01, 0x01, 0x02, 0x04,
        0x00,
    ];
    bytes.extend((0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(dir.path().join("essence.mxf"), &bytes).expect("write");
    let report = scan_with(dir.path(), &Banks::default(), &options());
    let f = file(&report, "essence.mxf");
    assert_eq!(f.media_type.as_deref(), Some("application/mxf"));
    assert_eq!(codes(f), [Code::Unreadable], "{:?}", f.findings);
    assert_eq!(report.verdict, Verdict::Fail);
}

#[test]
fn jpeg_2000_at_reduced_resolution_stays_within_2_bits_of_full_size() {
    if !ffmpeg_with("libopenjpeg") {
        eprintln!("skipped: ffmpeg with libopenjpeg is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mxf = dir.path().join("uhd.mxf");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1920x1080:rate=24",
        "-t",
        "2",
        "-c:v",
        "libopenjpeg",
        "-f",
        "mxf",
        s(&mxf),
    ]);
    let info = video::probe(&mxf).expect("probe").expect("video");
    assert_eq!(info.lowres(), 1, "1920x1080 decodes at 960x540");
    let ours = video::frame_hashes(&mxf, &info, Sampling::PerSecond(1), 60).expect("frames");
    assert_eq!(ours.len(), 2);
    for f in &ours {
        let n = f.frame.expect("numbered");
        // The same frame decoded at full size, scaled the same way, hashed.
        let out = Command::new("ffmpeg")
            .args(["-v", "error", "-i", s(&mxf), "-vf"])
            .arg(format!("select=eq(n\\,{n}),scale=512:512:flags=area"))
            .args([
                "-frames:v",
                "1",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "rgb24",
                "pipe:1",
            ])
            .output()
            .expect("ffmpeg runs");
        let full = pdq::hash_rgb(512, 512, &out.stdout);
        let d = f.hash.distance(&full.hash);
        eprintln!("frame {n}: {d} bits from full resolution");
        assert!(d <= 2, "frame {n}: {d} bits from full resolution");
    }
}

/// An IMF package: the registered clip as a JPEG 2000 track file, played by a CPL from
/// 01:00:00:00 after 2 s of other footage.
fn package_with_clip(dir: &Path, clip: &Path, corrupt: bool, missing_track: bool) -> PathBuf {
    let work = dir.join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    let (a, b) = (work.join("a.mxf"), work.join("b.mxf"));
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=size=640x360:rate=24",
        "-t",
        "2",
        "-c:v",
        "libopenjpeg",
        "-f",
        "mxf",
        s(&a),
    ]);
    ffmpeg(&["-i", s(clip), "-c:v", "libopenjpeg", "-f", "mxf", s(&b)]);
    let root = dir.join("IMP");
    let mut imp = Imp::new(&root);
    imp.file(1, "a.mxf", &std::fs::read(&a).expect("a"));
    let mut clip_bytes = std::fs::read(&b).expect("b");
    let listed = clip_bytes.clone();
    let rate = "<EditRate>24 1</EditRate>";
    let mut resources = resource(
        11,
        1,
        &format!("{rate}<IntrinsicDuration>48</IntrinsicDuration>"),
    ) + &resource(
        12,
        2,
        &format!("{rate}<IntrinsicDuration>96</IntrinsicDuration>"),
    );
    if missing_track {
        resources += &resource(
            13,
            3,
            &format!("{rate}<IntrinsicDuration>24</IntrinsicDuration>"),
        );
    }
    let xml = cpl(
        100,
        "Harbour Lights EP101",
        "24 1",
        &timecode(false, 24, "01:00:00:00"),
        &[vec![("MainImageSequence", resources)]],
    );
    imp.file(100, "CPL.xml", xml.as_bytes());
    imp.file(2, "b.mxf", &listed);
    let root = imp.finish();
    if corrupt {
        // One byte changed after the PKL was written: its hash no longer matches.
        let last = clip_bytes.len() - 100;
        clip_bytes[last] ^= 0xFF;
        std::fs::write(root.join("b.mxf"), &clip_bytes).expect("write");
    }
    root
}

#[test]
fn an_imf_package_holding_a_temporary_clip_fails_its_composition_and_says_where() {
    if !ffmpeg_with("libopenjpeg") || !ffmpeg_with("libx264") {
        eprintln!("skipped: ffmpeg with libopenjpeg and libx264 is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let clip = previs(dir.path());
    let banks = ledger(&clip);
    let root = package_with_clip(dir.path(), &clip, false, false);
    let report = scan_with(&root, &banks, &options());
    let b = file(&report, "b.mxf");
    let m = b
        .findings
        .iter()
        .find(|x| x.code == Code::UnapprovedAi)
        .and_then(|x| x.r#match.as_ref())
        .unwrap_or_else(|| panic!("the clip in the package is found: {:?}", b.findings));
    let imf = m.imf.as_ref().expect("where it plays");
    assert_eq!(imf.asset_id, uuid(2));
    let place = &imf.compositions[0];
    assert_eq!(place.cpl, uuid(100));
    assert_eq!(place.resource, uuid(12));
    // The clip starts at composition frame 48 (2 s after 01:00:00:00); its samples are its
    // frames 0 and 95 (first and last of the resource) and 24, 48, 72.
    assert_eq!(place.r#in, "01:00:02:00");
    assert_eq!(place.out, "01:00:05:23");
    assert!(
        codes(file(&report, "a.mxf")).is_empty(),
        "{:?}",
        file(&report, "a.mxf").findings
    );
    assert_eq!(report.compositions.len(), 1);
    let c = &report.compositions[0];
    assert_eq!(
        (c.title.as_str(), c.edit_rate.as_str()),
        ("Harbour Lights EP101", "24/1")
    );
    assert_eq!(c.verdict, Verdict::Fail);
    assert!(
        c.findings
            .iter()
            .any(|f| f.path == "b.mxf" && f.code == "UNAPPROVED-AI")
    );

    // A changed byte is PACKAGE-INVALID on that file; a resource whose track file is nowhere
    // is PACKAGE-INCOMPLETE on the CPL.
    let dir = tempfile::tempdir().expect("temp dir");
    let root = package_with_clip(dir.path(), &clip, true, true);
    let report = scan_with(&root, &Banks::default(), &options());
    assert!(
        codes(file(&report, "b.mxf")).contains(&Code::PackageInvalid),
        "{:?}",
        file(&report, "b.mxf").findings
    );
    assert!(
        codes(file(&report, "CPL.xml")).contains(&Code::PackageIncomplete),
        "{:?}",
        file(&report, "CPL.xml").findings
    );
    assert_eq!(report.compositions[0].verdict, Verdict::Fail);
    assert_eq!(report.verdict, Verdict::Fail);
}

#[test]
fn the_real_packages_scan_clean_with_a_verdict_per_composition() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/imf");
    if !shared.is_dir() || !ffmpeg_with("libopenjpeg") {
        eprintln!("skipped: ../shared/data/imf or ffmpeg with libopenjpeg is not here");
        return;
    }
    for name in ["HT", "PHDR"] {
        let report = scan_with(&shared.join(name), &Banks::default(), &options());
        assert_eq!(report.verdict, Verdict::Pass, "{name}: {:?}", report.files);
        assert_eq!(report.compositions.len(), 1, "{name}");
        assert_eq!(report.compositions[0].verdict, Verdict::Pass);
        let picture = report
            .files
            .iter()
            .find(|f| f.path.starts_with("VIDEO_"))
            .expect("picture track file");
        assert_eq!(picture.media_type.as_deref(), Some("application/mxf"));
        assert!(
            picture.findings.is_empty(),
            "{name}: {:?}",
            picture.findings
        );
    }
}

#[test]
fn a_truncated_jpeg_is_hashed_from_what_decodes_and_still_matched() {
    let dir = tempfile::tempdir().expect("temp dir");
    let still = dir.path().join("still.jpg");
    std::fs::write(
        &still,
        media::encode(&media::picture(640, 480, 3), image::ImageFormat::Jpeg),
    )
    .expect("write");
    let banks = ledger(&still);
    let root = dir.path().join("delivery");
    std::fs::create_dir_all(&root).expect("mkdir");
    let bytes = std::fs::read(&still).expect("read");
    // The end of the data is gone: the bottom rows decode grey (PDQ is sensitive to that: at
    // 0.2 % missing this picture is 22 bits away, at 0.5 % 32, past the threshold).
    std::fs::write(
        root.join("cut-short.jpg"),
        &bytes[..bytes.len() * 998 / 1000],
    )
    .expect("write");
    let report = scan_with(&root, &banks, &options());
    let f = file(&report, "cut-short.jpg");
    let found = codes(f);
    assert!(found.contains(&Code::Truncated), "{:?}", f.findings);
    assert!(
        found.contains(&Code::UnapprovedAi),
        "matched despite the missing tail: {:?}",
        f.findings
    );
    assert!(!found.contains(&Code::Unreadable), "{:?}", f.findings);
}

#[test]
fn a_credential_only_referenced_remotely_is_credential_remote() {
    let dir = tempfile::tempdir().expect("temp dir");
    let signer = c2pa::EphemeralSigner::new("greenlight-test.local").expect("ephemeral signer");
    let mut builder = media::builder(&serde_json::json!({
        "title": "remote",
        "claim_generator_info": [{"name": "greenlight-test", "version": "1"}],
    }));
    builder
        .set_remote_url("https://credentials.example/manifests/abc.c2pa")
        .set_no_embed(true);
    let source = media::encode(&media::picture(320, 240, 5), image::ImageFormat::Jpeg);
    let mut dest = std::io::Cursor::new(Vec::new());
    builder
        .sign(
            &signer,
            "image/jpeg",
            &mut std::io::Cursor::new(source),
            &mut dest,
        )
        .expect("signs");
    std::fs::write(dir.path().join("remote.jpg"), dest.into_inner()).expect("write");
    let report = scan_with(dir.path(), &Banks::default(), &options());
    let f = file(&report, "remote.jpg");
    assert_eq!(codes(f), [Code::CredentialRemote], "{:?}", f.findings);
    assert!(
        f.findings[0]
            .message
            .contains("https://credentials.example/manifests/abc.c2pa")
    );
    assert_eq!(
        report.verdict,
        Verdict::Fail,
        "overridable: fails unless waived"
    );
}

#[test]
fn a_dpx_sequence_is_one_shot_whose_frames_match_with_timecode() {
    if !ffmpeg_with("dpx") || !ffmpeg_with("libx264") {
        eprintln!("skipped: ffmpeg with dpx and libx264 is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let clip = previs(dir.path());
    let banks = ledger(&clip);
    let root = dir.path().join("delivery");
    std::fs::create_dir_all(root.join("plates")).expect("mkdir");
    // The clip's frames 24 to 71 as DPX frames numbered from 86424 (01:00:01:00 at 24 fps).
    ffmpeg(&[
        "-i",
        s(&clip),
        "-vf",
        "trim=start_frame=24:end_frame=72,scale=480:270",
        "-start_number",
        "86424",
        s(&root.join("plates/sh010_%06d.dpx")),
    ]);
    let report = scan_with(&root, &banks, &options());
    let seq = file(&report, "plates");
    assert_eq!(seq.media_type.as_deref(), Some("video/x-image-sequence"));
    let m = seq
        .findings
        .iter()
        .find(|x| x.code == Code::UnapprovedAi)
        .and_then(|x| x.r#match.as_ref())
        .unwrap_or_else(|| panic!("the sequence matches the clip: {:?}", seq.findings));
    assert_eq!(m.frames_total, Some(48));
    assert!(
        m.frames_matched.unwrap_or(0) >= 46,
        "{:?}",
        m.frames_matched
    );
    assert_eq!(m.timecode[0].r#in, "01:00:01:00");
    assert_eq!(m.timecode[0].out, "01:00:02:23");
    // Every frame file keeps its own digest and its own finding.
    let frame = file(&report, "plates/sh010_086430.dpx");
    assert_eq!(frame.media_type.as_deref(), Some("image/x-dpx"));
    assert!(
        codes(frame).contains(&Code::UnapprovedAi),
        "{:?}",
        frame.findings
    );

    // A frame missing from the middle is named.
    std::fs::remove_file(root.join("plates/sh010_086440.dpx")).expect("remove");
    let report = scan_with(&root, &banks, &options());
    let seq = file(&report, "plates");
    let missing = seq
        .findings
        .iter()
        .find(|x| x.code == Code::Unreadable)
        .unwrap_or_else(|| panic!("a missing frame is a finding: {:?}", seq.findings));
    assert!(missing.message.contains("86440"), "{}", missing.message);
}

#[test]
fn numbered_stills_are_a_sequence_only_from_24_frames() {
    let dir = tempfile::tempdir().expect("temp dir");
    for n in 1..=23 {
        std::fs::write(
            dir.path().join(format!("board_{n:03}.png")),
            media::encode(&media::picture(64, 48, n), image::ImageFormat::Png),
        )
        .expect("write");
    }
    let report = scan_with(dir.path(), &Banks::default(), &options());
    assert!(
        report
            .files
            .iter()
            .all(|f| f.media_type.as_deref() != Some("video/x-image-sequence")),
        "23 numbered stills are stills"
    );
    std::fs::write(
        dir.path().join("board_024.png"),
        media::encode(&media::picture(64, 48, 24), image::ImageFormat::Png),
    )
    .expect("write");
    let report = scan_with(dir.path(), &Banks::default(), &options());
    let seq = file(&report, ".");
    assert_eq!(seq.media_type.as_deref(), Some("video/x-image-sequence"));
    assert_eq!(report.files.len(), 25, "24 frames and the sequence");
}

/// An IMF timed-text track file as packaging tools write one for the IMSC image profile: an
/// MXF whose header partition is followed by the TTML document and, in generic-stream
/// partitions, the PNG images it shows.
fn timed_text_mxf(begins_and_images: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut bytes = vec![
        0x06, 0x0E, 0x2B, 0x34, 0x02, 0x05, 0x01, 0x01, 0x0D, 0x01, 0x02, 0x01, 0x01, 0x02, 0x04,
        0x00, 0x83, 0x00, 0x00, 0x58,
    ];
    bytes.extend(std::iter::repeat_n(0u8, 0x58));
    let divs: String = begins_and_images
        .iter()
        .enumerate()
        .map(|(i, (begin, _))| {
            format!(r##"<div begin="{begin}" end="01:00:00:00" smpte:backgroundImage="#img{i}"/>"##)
        })
        .collect();
    bytes.extend(
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttp="http://www.w3.org/ns/ttml#parameter" xmlns:smpte="http://www.smpte-ra.org/schemas/2052-1/2010/smpte-tt" ttp:frameRate="24"><body>{divs}</body></tt>"#
        )
        .as_bytes(),
    );
    for (_, png) in begins_and_images {
        // A generic-stream partition pack key, then the image.
        bytes.extend([
            0x06, 0x0E, 0x2B, 0x34, 0x02, 0x05, 0x01, 0x01, 0x0D, 0x01, 0x02, 0x01, 0x01, 0x03,
            0x11, 0x00,
        ]);
        bytes.extend(png);
    }
    bytes
}

#[test]
fn a_temporary_still_shown_as_a_subtitle_image_is_found_at_its_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let still = dir.path().join("still.png");
    let ai = media::encode(&media::picture(640, 360, 11), image::ImageFormat::Png);
    std::fs::write(&still, &ai).expect("write");
    let banks = ledger(&still);
    let root = dir.path().join("delivery");
    std::fs::create_dir_all(&root).expect("mkdir");
    let other = media::encode(&media::picture(640, 360, 12), image::ImageFormat::Png);
    std::fs::write(
        root.join("SUB_en.mxf"),
        timed_text_mxf(&[("00:00:05:00", other.clone()), ("00:00:12:12", ai)]),
    )
    .expect("write");
    // Text-profile subtitles: nothing to hash, and nothing unreadable either.
    std::fs::write(root.join("SUB_fr.mxf"), timed_text_mxf(&[])).expect("write");
    let report = scan_with(&root, &banks, &options());
    let f = file(&report, "SUB_en.mxf");
    let found = f
        .findings
        .iter()
        .find(|x| x.code == Code::UnapprovedAi)
        .unwrap_or_else(|| panic!("the subtitle image is matched: {:?}", f.findings));
    let m = found.r#match.as_ref().expect("match details");
    assert_eq!(m.time_ranges, vec![(12, 12)], "{found:?}");
    assert!(!codes(f).contains(&Code::Unreadable), "{:?}", f.findings);
    let text = file(&report, "SUB_fr.mxf");
    assert!(text.findings.is_empty(), "{:?}", text.findings);
}
