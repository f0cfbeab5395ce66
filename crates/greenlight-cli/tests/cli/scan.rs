//! `greenlight scan` end to end: verdicts, codes, waivers, formats and exit codes, with media
//! written by the test itself.

use std::path::Path;

use serde_json::Value;

use crate::util::Dir;

/// A PNG written by hand (stored deflate blocks), so these tests need no image library.
pub fn png(w: u32, h: u32, pixel: impl Fn(f32, f32) -> [u8; 3]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(((w * 3 + 1) * h) as usize);
    for y in 0..h {
        raw.push(0);
        for x in 0..w {
            raw.extend_from_slice(&pixel(x as f32 / w as f32, y as f32 / h as f32));
        }
    }
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    for (kind, data) in [(b"IHDR", ihdr), (b"IDAT", z), (b"IEND", vec![])] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(&data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A smooth picture, the same continuous function at any size (so a smaller one is a resize).
pub fn picture(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let s = 1.0 + (seed % 7) as f32 * 0.35;
    let phase = seed as f32 * 0.9;
    png(w, h, move |fx, fy| {
        let a =
            ((fx * 5.0 * s + phase).sin() * (fy * 3.0 + phase * 0.5).cos() * 110.0 + 128.0) as u8;
        let b = (((fx - 0.3).hypot(fy - 0.6) * 9.0 * s + phase).sin() * 110.0 + 128.0) as u8;
        let c = if ((fx * 4.0 + phase) as u32 + (fy * 3.0) as u32 + seed).is_multiple_of(2) {
            210
        } else {
            40
        };
        [a, b, c]
    })
}

const AI: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";

/// A picture with an XMP packet declaring `source_type` (in an iTXt chunk after IHDR).
pub fn picture_with_xmp(seed: u32, source_type: &str) -> Vec<u8> {
    let png = picture(160, 120, seed);
    let packet = format!(
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
         <rdf:Description xmlns:Iptc4xmpExt=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\" \
         Iptc4xmpExt:DigitalSourceType=\"{source_type}\"/></rdf:RDF></x:xmpmeta>"
    );
    let mut data = b"XML:com.adobe.xmp\0\0\0\0\0".to_vec();
    data.extend_from_slice(packet.as_bytes());
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = b"iTXt".to_vec();
    body.extend_from_slice(&data);
    chunk.extend_from_slice(&body);
    chunk.extend_from_slice(&crc32(&body).to_be_bytes());
    let at = 8 + 8 + 13 + 4;
    [&png[..at], &chunk[..], &png[at..]].concat()
}

pub fn db_url(dir: &Dir) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("banks.db").display()
    )
}

fn declaration(
    dir: &Dir,
    stem: &str,
    reference: &str,
    is_final: bool,
    eu: bool,
    state: Option<&str>,
) {
    dir.write(
        &format!("decls/{stem}.yaml"),
        format!(
            "greenlight: declaration/v1\nproduction:\n  title: Harbour Lights\n  eu_release: {eu}\n  release_date: 2026-12-01\n\
             use:\n  ref: {reference}\n  summary: Generated plate\ntools:\n  - name: Gen\noutputs:\n  final: {is_final}\n  media: [image]\n"
        ),
    );
    if let Some(s) = state {
        dir.write(
            &format!("decls/{stem}.decision.yaml"),
            format!("state: {s}\nby: reviewer@example.com\nat: 2026-11-02\n"),
        );
    }
}

/// `assets add` of `files` under `reference` in production ep101 of the test's store.
fn assets_add(dir: &Dir, reference: &str, files: &[&str]) -> std::process::Output {
    let url = db_url(dir);
    let mut args = vec![
        "assets",
        "add",
        "--database-url",
        &url,
        "--production",
        "ep101",
        "--use",
        reference,
    ];
    args.extend_from_slice(files);
    dir.run(&args)
}

fn register(dir: &Dir, file: &str, reference: &str) {
    let out = assets_add(dir, reference, &[file]);
    assert!(
        out.status.success(),
        "assets add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn scan_json(dir: &Dir, extra: &[&str]) -> (i32, Value, String) {
    let url = db_url(dir);
    let mut args = vec![
        "scan",
        "delivery",
        "--format",
        "json",
        "--as-of",
        "2026-11-23",
    ];
    // A scan never creates a bank store: name it only once something was registered.
    if dir.path().join("banks.db").exists() {
        args.extend(["--database-url", &url]);
    }
    args.extend_from_slice(extra);
    let out = dir.run(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON on stdout ({e}); stderr: {stderr}"));
    (out.status.code().expect("exit code"), json, stderr)
}

fn finding_codes(report: &Value, path: &str) -> Vec<String> {
    let file = report["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("{path} in {report}"));
    file["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|x| x["code"].as_str().expect("code").to_string())
        .collect()
}

#[test]
fn a_clean_delivery_passes_with_exit_0_and_leaves_no_bank_file() {
    let dir = Dir::new();
    dir.write("delivery/shot.png", picture(320, 240, 1));
    dir.write("delivery/notes/readme.txt", "hello");
    let out = dir.run(&["scan", "delivery"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("verdict: PASS"), "{stdout}");
    assert!(
        !dir.path().join("greenlight-banks.db").exists(),
        "a scan does not create the default store"
    );
}

#[test]
fn temp_unapproved_and_approved_ledger_matches_get_their_codes() {
    let dir = Dir::new();
    for (i, r) in ["TEMP-1", "PEND-1", "FINAL-1"].iter().enumerate() {
        let name = format!("bank/{r}.png");
        dir.write(&name, picture(640, 480, 10 + i as u32));
        register(&dir, &name, r);
        // Delivered at half size: a perceptual, not an exact, match.
        dir.write(
            &format!("delivery/{r}.png"),
            picture(320, 240, 10 + i as u32),
        );
    }
    declaration(&dir, "temp", "TEMP-1", false, false, Some("approved"));
    declaration(&dir, "pend", "PEND-1", true, false, Some("in_review"));
    declaration(&dir, "final", "FINAL-1", true, false, Some("approved"));
    let (code, report, stderr) = scan_json(&dir, &["--declarations", "decls"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(report["verdict"], "fail");
    assert_eq!(finding_codes(&report, "TEMP-1.png"), ["TEMP-ASSET"]);
    assert_eq!(finding_codes(&report, "PEND-1.png"), ["UNAPPROVED-AI"]);
    assert_eq!(finding_codes(&report, "FINAL-1.png"), ["APPROVED-AI"]);
    let temp = report["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["path"] == "TEMP-1.png")
        .expect("file");
    let finding = &temp["findings"][0];
    assert_eq!(finding["severity"], "fail");
    assert_eq!(finding["match"]["use_ref"], "TEMP-1");
    assert_eq!(finding["match"]["method"], "pdq");
    let fin = report["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["path"] == "FINAL-1.png")
        .expect("file");
    assert_eq!(fin["verdict"], "pass");
    assert_eq!(fin["findings"][0]["severity"], "note");
}

#[test]
fn an_approved_final_asset_alone_passes_with_a_note() {
    let dir = Dir::new();
    dir.write("bank/a.png", picture(320, 240, 5));
    register(&dir, "bank/a.png", "OK-1");
    dir.write("delivery/a.png", picture(320, 240, 5));
    declaration(&dir, "ok", "OK-1", true, false, Some("approved"));
    let (code, report, stderr) = scan_json(&dir, &["--declarations", "decls"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["verdict"], "pass");
    assert_eq!(finding_codes(&report, "a.png"), ["APPROVED-AI"]);
}

#[test]
fn undeclared_ai_fails_until_a_waiver_covers_it() {
    let dir = Dir::new();
    dir.write("delivery/gen.png", picture_with_xmp(7, AI));
    let (code, report, _) = scan_json(&dir, &[]);
    assert_eq!(code, 1);
    assert_eq!(finding_codes(&report, "gen.png"), ["UNDECLARED-AI"]);
    dir.write(
        "delivery/greenlight-waivers.yaml",
        "- code: UNDECLARED-AI\n  file: gen.png\n  justification: stock plate licensed for AI use\n  by: producer@example.com\n  expires: 2026-12-31\n",
    );
    let (code, report, _) = scan_json(&dir, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["files"][0]["findings"][0]["waived"], true);
    assert_eq!(
        report["files"].as_array().expect("files").len(),
        1,
        "the waivers file is not scanned"
    );
    // After the expiry date the waiver no longer applies.
    let out = dir.run(&["scan", "delivery", "--as-of", "2027-01-01"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("expired on 2026-12-31"));
}

#[test]
fn a_reference_bank_match_fails_and_names_the_work() {
    let dir = Dir::new();
    dir.write("work/still.png", picture(800, 450, 3));
    let url = db_url(&dir);
    let out = dir.run(&[
        "bank",
        "add",
        "--database-url",
        &url,
        "--bank",
        "library",
        "--id",
        "SL-42",
        "--title",
        "The Keeper",
        "work/still.png",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.write("delivery/poster.png", picture(400, 225, 3));
    let (code, report, _) = scan_json(&dir, &[]);
    assert_eq!(code, 1);
    assert_eq!(finding_codes(&report, "poster.png"), ["REFERENCE-MATCH"]);
    let m = &report["files"][0]["findings"][0]["match"];
    assert_eq!(
        (
            m["title"].as_str(),
            m["work_id"].as_str(),
            m["bank"].as_str()
        ),
        (Some("The Keeper"), Some("SL-42"), Some("library"))
    );
}

#[test]
fn junit_and_html_reports_say_the_same_thing() {
    let dir = Dir::new();
    dir.write("bank/a.png", picture(320, 240, 8));
    register(&dir, "bank/a.png", "T-1");
    dir.write("delivery/a.png", picture(320, 240, 8));
    dir.write("delivery/b.txt", "b");
    let url = db_url(&dir);
    let out = dir.run(&[
        "scan",
        "delivery",
        "--database-url",
        &url,
        "--format",
        "junit",
        "--report",
        "scan.html",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let junit = String::from_utf8_lossy(&out.stdout);
    assert!(
        junit.contains("<testcase classname=\"greenlight.scan\" name=\"a.png\">"),
        "{junit}"
    );
    assert!(junit.contains("<failure type=\"UNAPPROVED-AI\""), "{junit}");
    assert!(junit.contains("name=\"b.txt\"/>"), "{junit}");
    let html = std::fs::read_to_string(dir.path().join("scan.html")).expect("html written");
    assert!(html.contains("Delivery FAIL") && html.contains("UNAPPROVED-AI"));
    assert_eq!(
        html.matches("data:image/jpeg;base64,").count(),
        2,
        "delivered and ledger thumbnails side by side"
    );
}

#[test]
fn exit_codes_for_usage_errors_and_what_cannot_be_scanned() {
    let dir = Dir::new();
    dir.write("delivery/a.txt", "a");
    assert_eq!(
        dir.run(&["scan", "delivery", "--max-distance", "999"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        dir.run(&["scan", "delivery", "--format", "xml"])
            .status
            .code(),
        Some(2)
    );
    let missing = dir.run(&["scan", "no-such-delivery"]);
    assert_eq!(missing.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such-delivery"));
    dir.write(
        "bad-waivers.yaml",
        "- code: TEMP-ASSET\n  file: a.txt\n  justification: x\n  by: y\n  expires: 2026-12-31\n",
    );
    let bad = dir.run(&["scan", "delivery", "--waivers", "bad-waivers.yaml"]);
    assert_eq!(bad.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("TEMP-ASSET cannot be waived"));
    dir.write("bank/a.png", picture(64, 64, 1));
    register(&dir, "bank/a.png", "R-1");
    let url = db_url(&dir);
    let typo = dir.run(&[
        "scan",
        "delivery",
        "--database-url",
        &url,
        "--production",
        "ep110",
    ]);
    assert_eq!(
        typo.status.code(),
        Some(2),
        "an unknown production is a usage error"
    );
    assert!(String::from_utf8_lossy(&typo.stderr).contains("ep101"));
    dir.write("decls/x.decision.yaml", "state: maybe\n");
    dir.write("decls/x.yaml", "greenlight: declaration/v1\nproduction:\n  title: T\nuse:\n  ref: X\n  summary: s\ntools:\n  - name: t\n");
    assert_eq!(
        dir.run(&["scan", "delivery", "--declarations", "decls"])
            .status
            .code(),
        Some(4)
    );
}

#[test]
fn a_delivery_with_video_cannot_be_scanned_without_ffmpeg() {
    let dir = Dir::new();
    // An MP4 signature is enough to make it video; ffmpeg is hidden by an empty PATH.
    dir.write(
        "delivery/clip.mp4",
        b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2mp41",
    );
    let empty = dir.path().join("empty-path");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let out = dir
        .command()
        .args(["scan", "delivery"])
        .env("PATH", &empty)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(4));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ffmpeg"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_registered_video_is_found_in_a_delivered_cut_as_time_ranges() {
    if !ffmpeg() {
        eprintln!("skipped: ffmpeg is not installed, so video scanning cannot be tested");
        return;
    }
    let dir = Dir::new();
    make_video(
        &dir.path().join("previs.mp4"),
        "testsrc=duration=4:size=320x240:rate=25",
        &[],
    );
    register(&dir, "previs.mp4", "PREVIS-1");
    std::fs::create_dir_all(dir.path().join("delivery")).expect("mkdir");
    make_video(
        &dir.path().join("delivery/cut.mp4"),
        "testsrc=duration=4:size=320x240:rate=25",
        &["-vf", "scale=640:480"],
    );
    let (code, report, stderr) = scan_json(&dir, &[]);
    assert_eq!(code, 1, "{stderr}");
    let m = &report["files"][0]["findings"][0]["match"];
    assert_eq!(m["use_ref"], "PREVIS-1");
    assert_eq!(m["frames_total"], 4);
    assert_eq!(m["time_ranges"], serde_json::json!([[0, 3]]));
    assert_eq!(m["share"], 1.0);
}

fn ffmpeg() -> bool {
    std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn make_video(path: &Path, source: &str, extra: &[&str]) {
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-v", "error", "-y", "-f", "lavfi", "-i", source, "-pix_fmt", "yuv420p",
        ])
        .args(extra)
        .arg(path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
}

#[test]
fn the_cache_stays_outside_the_delivery_and_a_second_scan_uses_it() {
    let dir = Dir::new();
    dir.write("delivery/shot.png", picture(320, 240, 1));
    dir.write("delivery/notes.txt", "hello");
    let (code, first, _) = scan_json(&dir, &[]);
    assert_eq!(code, 0);
    assert_eq!(first["summary"]["cached"], 0);
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("delivery"))
        .expect("delivery")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["notes.txt", "shot.png"],
        "the scan wrote nothing into the delivery"
    );
    let (_, second, _) = scan_json(&dir, &[]);
    assert_eq!(second["summary"]["cached"], 2, "{second}");
}

#[test]
fn read_only_commands_never_create_a_named_store_and_exit_4() {
    let dir = Dir::new();
    dir.write("delivery/a.txt", "a");
    let missing = dir.path().join("stores/none/banks.db");
    let url = format!("sqlite://{}", missing.display());
    for args in [
        vec!["scan", "delivery", "--database-url", &url],
        vec!["assets", "list", "--database-url", &url],
        vec!["bank", "list", "--database-url", &url],
    ] {
        let out = dir.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&missing.display().to_string()),
            "{args:?} names the missing file: {stderr}"
        );
        assert!(!missing.exists(), "{args:?} created {}", missing.display());
    }
    // A command that writes creates it, folder included, whatever the URL's mode.
    dir.write("bank/a.png", picture(64, 64, 1));
    let out = dir.run(&[
        "assets",
        "add",
        "--database-url",
        &url,
        "--production",
        "ep1",
        "--use",
        "R-1",
        "bank/a.png",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(missing.is_file());
}

#[test]
fn the_same_file_is_registered_once_and_under_one_use() {
    let dir = Dir::new();
    dir.write("bank/a.png", picture(64, 64, 1));
    dir.write("bank/b.png", picture(64, 64, 2));
    register(&dir, "bank/a.png", "R-1");
    let url = db_url(&dir);
    let again = assets_add(&dir, "R-1", &["bank/a.png"]);
    assert_eq!(again.status.code(), Some(0));
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(said.contains("already registered"), "{said}");
    let other = assets_add(&dir, "R-2", &["bank/b.png", "bank/a.png"]);
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert_eq!(other.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("already registered under use R-1"),
        "{stderr}"
    );
    let list = dir.run(&["assets", "list", "--database-url", &url, "--format", "json"]);
    let entries = String::from_utf8_lossy(&list.stdout).lines().count();
    assert_eq!(
        entries, 1,
        "one entry, and nothing from the refused command"
    );
}

#[test]
fn the_human_summary_says_what_was_checked_and_file_errors_name_the_file() {
    let dir = Dir::new();
    dir.write("delivery/a.txt", "a");
    dir.write("bank/a.png", picture(64, 64, 1));
    register(&dir, "bank/a.png", "R-1");
    let url = db_url(&dir);
    let out = dir.run(&["scan", "delivery", "--database-url", &url]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("checked against 1 ledger entry and 0 reference work entries"),
        "{stdout}"
    );
    dir.write("waivers.yaml", "- code: [nonsense\n");
    let bad = dir.run(&["scan", "delivery", "--waivers", "waivers.yaml"]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(4));
    assert!(stderr.contains("waivers.yaml"), "{stderr}");
    assert!(!stderr.contains("<input>"), "{stderr}");
    dir.write("decls/x.decision.yaml", "state: [maybe\n");
    dir.write(
        "decls/x.yaml",
        "greenlight: declaration/v1\nproduction:\n  title: T\nuse:\n  ref: X\n  summary: s\ntools:\n  - name: t\n",
    );
    let bad = dir.run(&["scan", "delivery", "--declarations", "decls"]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(4));
    assert!(stderr.contains("x.decision.yaml"), "{stderr}");
    assert!(!stderr.contains("<input>"), "{stderr}");
}

#[test]
fn an_edit_list_names_the_shot_and_csv_gives_a_row_per_range_with_timecode() {
    if !ffmpeg() {
        eprintln!("skipped: ffmpeg is not installed, so video matching cannot be tested");
        return;
    }
    let dir = Dir::new();
    make_video(
        &dir.path().join("previs.mp4"),
        "testsrc2=duration=3:size=320x240:rate=24",
        &[],
    );
    register(&dir, "previs.mp4", "PREVIS-1");
    std::fs::create_dir_all(dir.path().join("delivery")).expect("mkdir");
    make_video(
        &dir.path().join("delivery/master.mov"),
        "testsrc2=duration=3:size=320x240:rate=24",
        &["-vf", "scale=480:360", "-timecode", "10:00:00:00"],
    );
    dir.write(
        "cut.edl",
        "TITLE: EP101\nFCM: NON-DROP FRAME\n\n\
         001  PREVIS1  V     C        00:00:00:00 00:00:03:00 10:00:00:00 10:00:03:00\n\
         * FROM CLIP NAME: previs_v3.mp4\n",
    );
    let (code, report, stderr) = scan_json(&dir, &["--edl", "cut.edl"]);
    assert_eq!(code, 1, "{stderr}");
    let m = &report["files"][0]["findings"][0]["match"];
    assert_eq!(m["timecode"][0]["in"], "10:00:00:00", "{m}");
    assert_eq!(m["timecode"][0]["out"], "10:00:02:00", "{m}");
    assert_eq!(m["shots"][0]["event"], 1, "{m}");
    assert_eq!(m["shots"][0]["clip"], "previs_v3.mp4");
    assert_eq!(m["shots"][0]["reel"], "PREVIS1");
    let url = db_url(&dir);
    let out = dir.run(&[
        "scan",
        "delivery",
        "--database-url",
        &url,
        "--format",
        "csv",
        "--edl",
        "cut.edl",
    ]);
    let csv = String::from_utf8_lossy(&out.stdout);
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .is_some_and(|h| h.starts_with("file,code,severity,waived,timecode_in,timecode_out")),
        "{csv}"
    );
    let row = lines.next().expect("a row");
    assert!(
        row.starts_with(
            "master.mov,UNAPPROVED-AI,fail,false,10:00:00:00,10:00:02:00,24/1,0,2,1 previs_v3.mp4,"
        ),
        "{row}"
    );
    // The HTML report lists the matches by timecode, with the shot and a frame.
    let out = dir.run(&[
        "scan",
        "delivery",
        "--database-url",
        &url,
        "--edl",
        "cut.edl",
        "--report",
        "r.html",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let html = std::fs::read_to_string(dir.path().join("r.html")).expect("report written");
    let table = &html[html.find("Matches by timecode").expect("a timecode table")..];
    let table = &table[..table.find("</table>").expect("table end")];
    assert!(table.contains("<code>10:00:00:00</code>"), "{table}");
    assert!(table.contains("1 previs_v3.mp4"), "{table}");
    assert!(
        table.contains("data:image/jpeg;base64,"),
        "a frame per range: {table}"
    );
    // A malformed list stops the scan before anything is hashed, naming the line.
    dir.write(
        "bad.edl",
        "001  R  V  C  00:00:00:00 00:00:03:00 xx:00:00:00 10:00:03:00\n",
    );
    let bad = dir.run(&["scan", "delivery", "--edl", "bad.edl"]);
    assert_eq!(bad.status.code(), Some(4));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("line 1"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[test]
fn a_vpdq_file_from_meta_is_one_work_whose_matched_frames_are_reported_together() {
    if !ffmpeg() {
        eprintln!("skipped: ffmpeg is not installed, so video matching cannot be tested");
        return;
    }
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../greenlight-scan/tests/fixtures/vpdq");
    let dir = Dir::new();
    let url = db_url(&dir);
    // `vpdq-hash-video` output for a 3 s testsrc2 clip, every frame.
    let hashes = fixtures.join("testsrc2-320x240-24fps-3s.csv");
    let out = dir.run(&[
        "bank",
        "import",
        "--database-url",
        &url,
        "--bank",
        "meta",
        "--id",
        "W-1",
        "--title",
        "Test Card",
        hashes.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("72 new frame hash(es)"));
    // Without a work name it is refused, naming what to give.
    let out = dir.run(&[
        "bank",
        "import",
        "--database-url",
        &url,
        "--bank",
        "meta",
        hashes.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--id and --title"));
    std::fs::create_dir_all(dir.path().join("delivery")).expect("mkdir");
    make_video(
        &dir.path().join("delivery/cut.mp4"),
        "testsrc2=duration=3:size=320x240:rate=24",
        &["-vf", "scale=640:480"],
    );
    let (code, report, stderr) = scan_json(&dir, &[]);
    assert_eq!(code, 1, "{stderr}");
    let findings = report["files"][0]["findings"].as_array().expect("findings");
    let refs: Vec<&Value> = findings
        .iter()
        .filter(|x| x["code"] == "REFERENCE-MATCH")
        .collect();
    assert_eq!(refs.len(), 1, "one finding for the work: {findings:?}");
    assert_eq!(refs[0]["match"]["work_id"], "W-1");
    assert_eq!(refs[0]["match"]["frames_matched"], 3, "{}", refs[0]);
    assert_eq!(refs[0]["match"]["time_ranges"], serde_json::json!([[0, 2]]));
}
