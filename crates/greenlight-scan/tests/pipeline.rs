//! The scan pipeline end to end on media made here: ledger and reference matches (exact and
//! perceptual, after re-encoding, resizing, cropping and recolouring), credentials, XMP,
//! declarations and decisions, waivers, hostile files, video.

mod media;

use std::path::Path;

use chrono::NaiveDate;
use greenlight_scan::credentials::CredentialReader;
use greenlight_scan::declarations::Declarations;
use greenlight_scan::report::{FileReport, ScanReport};
use greenlight_scan::scan::{
    self, BankKind, Banks, NoProgress, ScanInputs, ScanOptions, fingerprint,
};
use greenlight_scan::verdict::{Code, Policy, Verdict};
use greenlight_scan::waiver::Waivers;
use greenlight_store::banks::{Asset, Frame, HashType, Reference};
use image::{ImageFormat, imageops};

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).expect("date")
}

fn options() -> ScanOptions {
    ScanOptions {
        sha256: false,
        max_distance: 31,
        use_cache: false,
        cache_path: None,
        policy: Policy::default(),
        as_of: as_of(),
        ov: vec![],
        edit_list: None,
        sequence_rate: greenlight_scan::timecode::EditRate { num: 24, den: 1 },
    }
}

fn ledger_asset(id: i64, path: &Path, use_ref: &str) -> Asset {
    let fp = fingerprint(path, BankKind::Ledger).expect("fingerprint");
    Asset {
        id,
        production: "ep101".into(),
        use_ref: use_ref.into(),
        tool: Some("Gen".into()),
        added_at: "2026-11-01T00:00:00Z".into(),
        file_name: path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned(),
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
        thumbnail: fp.thumbnail,
        audio: None,
    }
}

fn run(
    root: &Path,
    banks: &Banks,
    decls: Option<&Declarations>,
    waivers: &Waivers,
    options: &ScanOptions,
) -> ScanReport {
    let credentials = CredentialReader::new(None).expect("reader");
    let inputs = ScanInputs {
        banks,
        declarations: decls,
        waivers,
        credentials: &credentials,
    };
    scan::scan(root, options, &inputs, &NoProgress).expect("scan runs")
}

fn file<'a>(r: &'a ScanReport, path: &str) -> &'a FileReport {
    r.files.iter().find(|f| f.path == path).unwrap_or_else(|| {
        panic!(
            "{path} in report: {:?}",
            r.files.iter().map(|f| &f.path).collect::<Vec<_>>()
        )
    })
}

fn codes(f: &FileReport) -> Vec<Code> {
    f.findings.iter().map(|x| x.code).collect()
}

fn declaration(
    dir: &Path,
    stem: &str,
    reference: &str,
    is_final: bool,
    state: Option<&str>,
    media: &str,
) {
    let text = format!(
        "greenlight: declaration/v1\nproduction:\n  title: Harbour Lights\n  eu_release: true\n  release_date: 2026-12-01\n\
         use:\n  ref: {reference}\n  summary: Generated plate\ntools:\n  - name: Gen\noutputs:\n  final: {is_final}\n  media: [{media}]\n"
    );
    std::fs::write(dir.join(format!("{stem}.yaml")), text).expect("write");
    if let Some(s) = state {
        std::fs::write(
            dir.join(format!("{stem}.decision.yaml")),
            format!("state: {s}\nby: reviewer@example.com\nat: 2026-11-02\n"),
        )
        .expect("write");
    }
}

#[test]
fn ledger_matches_survive_reencoding_resizing_cropping_and_recolouring() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bank_dir = dir.path().join("bank");
    let root = dir.path().join("delivery");
    std::fs::create_dir_all(&bank_dir).expect("mkdir");
    std::fs::create_dir_all(&root).expect("mkdir");
    let original = media::picture(800, 600, 11);
    std::fs::write(
        bank_dir.join("concept.png"),
        media::encode(&original, ImageFormat::Png),
    )
    .expect("write");
    let banks = Banks {
        ledger: vec![ledger_asset(1, &bank_dir.join("concept.png"), "BB-001")],
        references: vec![],
        audio_references: vec![],
    };

    std::fs::write(
        root.join("same.png"),
        media::encode(&original, ImageFormat::Png),
    )
    .expect("write");
    std::fs::write(
        root.join("reencoded.jpg"),
        media::encode(&original, ImageFormat::Jpeg),
    )
    .expect("write");
    let small = imageops::resize(&original, 400, 300, imageops::FilterType::Triangle);
    std::fs::write(
        root.join("resized.png"),
        media::encode(&small, ImageFormat::Png),
    )
    .expect("write");
    // PDQ is not built for crops: a border of 1.5% is what it tolerates well.
    let cropped = imageops::crop_imm(&original, 12, 9, 776, 582).to_image();
    std::fs::write(
        root.join("cropped.png"),
        media::encode(&cropped, ImageFormat::Png),
    )
    .expect("write");
    let mut warmer = original.clone();
    for p in warmer.pixels_mut() {
        p.0 = [p.0[0].saturating_add(20), p.0[1], p.0[2].saturating_sub(20)];
    }
    std::fs::write(
        root.join("recoloured.png"),
        media::encode(&warmer, ImageFormat::Png),
    )
    .expect("write");
    std::fs::write(root.join("unrelated.png"), media::png(800, 600, 99)).expect("write");

    let report = run(&root, &banks, None, &Waivers::default(), &options());
    let bank_hash =
        greenlight_scan::pdq::PdqHash::from_hex(banks.ledger[0].pdq.as_deref().expect("pdq"))
            .expect("hex");
    for name in [
        "same.png",
        "reencoded.jpg",
        "resized.png",
        "cropped.png",
        "recoloured.png",
        "unrelated.png",
    ] {
        let h = fingerprint(&root.join(name), BankKind::Reference)
            .expect("fp")
            .pdq
            .expect("pdq")
            .0;
        eprintln!(
            "{name}: PDQ distance {} to the ledger entry",
            h.distance(&bank_hash)
        );
    }
    let mut distances = Vec::new();
    for name in [
        "same.png",
        "reencoded.jpg",
        "resized.png",
        "cropped.png",
        "recoloured.png",
    ] {
        let f = file(&report, name);
        assert_eq!(codes(f), [Code::UnapprovedAi], "{name}: {:?}", f.findings);
        let m = f.findings[0].r#match.as_ref().expect("a match");
        assert_eq!(m.use_ref.as_deref(), Some("BB-001"));
        distances.push((name, m.distance));
    }
    eprintln!("PDQ distances to the ledger entry: {distances:?}");
    assert_eq!(
        file(&report, "same.png").findings[0]
            .r#match
            .as_ref()
            .expect("match")
            .method,
        "blake3"
    );
    assert!(codes(file(&report, "unrelated.png")).is_empty());
    assert_eq!(report.verdict, Verdict::Fail);
}

#[test]
fn declarations_and_decisions_decide_between_temp_unapproved_and_approved() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (bank_dir, root, decls) = (
        dir.path().join("bank"),
        dir.path().join("delivery"),
        dir.path().join("decls"),
    );
    for d in [&bank_dir, &root, &decls] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    let mut ledger = Vec::new();
    for (i, r) in ["TEMP-1", "PENDING-1", "FINAL-1", "MISSING-1"]
        .iter()
        .enumerate()
    {
        let name = format!("{r}.png");
        std::fs::write(bank_dir.join(&name), media::png(320, 240, 20 + i as u32)).expect("write");
        std::fs::copy(bank_dir.join(&name), root.join(&name)).expect("copy");
        ledger.push(ledger_asset(i as i64 + 1, &bank_dir.join(&name), r));
    }
    declaration(&decls, "temp", "TEMP-1", false, Some("approved"), "image");
    declaration(
        &decls,
        "pending",
        "PENDING-1",
        true,
        Some("in_review"),
        "image",
    );
    declaration(&decls, "final", "FINAL-1", true, Some("approved"), "image");
    let declarations = Declarations::load(&decls, as_of()).expect("declarations load");
    let banks = Banks {
        ledger,
        references: vec![],
        audio_references: vec![],
    };
    let report = run(
        &root,
        &banks,
        Some(&declarations),
        &Waivers::default(),
        &options(),
    );
    assert_eq!(codes(file(&report, "TEMP-1.png")), [Code::TempAsset]);
    // Final and in the EU: the marking must be kept too, and this copy carries none.
    assert_eq!(
        codes(file(&report, "PENDING-1.png")),
        [Code::UnapprovedAi, Code::MarkingStripped]
    );
    assert_eq!(codes(file(&report, "MISSING-1.png")), [Code::UnapprovedAi]);
    // FINAL-1 is approved; the EU pack asks to keep its marking, and this copy has none.
    let fin = file(&report, "FINAL-1.png");
    assert_eq!(
        codes(fin),
        [Code::MarkingStripped, Code::ApprovedAi],
        "{:?}",
        fin.findings
    );
    assert_eq!(fin.verdict, Verdict::Fail);
}

#[test]
fn a_kept_marking_passes_and_a_stripped_one_can_be_waived() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (bank_dir, root, decls) = (
        dir.path().join("bank"),
        dir.path().join("delivery"),
        dir.path().join("decls"),
    );
    for d in [&bank_dir, &root, &decls] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    // The registered asset carries an AI credential; the delivered copy keeps it.
    let (signed, _) = media::sign(&media::png(320, 240, 31), "image/png", media::AI, None);
    std::fs::write(bank_dir.join("plate.png"), &signed).expect("write");
    std::fs::write(root.join("plate.png"), &signed).expect("write");
    // A second delivered copy, re-encoded: the credential is gone.
    let stripped = image::load_from_memory(&signed).expect("decodes").to_rgb8();
    std::fs::write(
        root.join("plate_regraded.jpg"),
        media::encode(&stripped, ImageFormat::Jpeg),
    )
    .expect("write");
    declaration(&decls, "plate", "PLATE-1", true, Some("approved"), "image");
    let declarations = Declarations::load(&decls, as_of()).expect("declarations");
    assert!(declarations.by_ref["PLATE-1"].keep_marking);
    let banks = Banks {
        ledger: vec![ledger_asset(1, &bank_dir.join("plate.png"), "PLATE-1")],
        references: vec![],
        audio_references: vec![],
    };

    let report = run(
        &root,
        &banks,
        Some(&declarations),
        &Waivers::default(),
        &options(),
    );
    let kept = file(&report, "plate.png");
    assert_eq!(
        codes(kept),
        [Code::CredentialUntrusted, Code::ApprovedAi],
        "{:?}",
        kept.findings
    );
    assert_eq!(kept.verdict, Verdict::Pass);
    let gone = file(&report, "plate_regraded.jpg");
    assert_eq!(codes(gone), [Code::MarkingStripped, Code::ApprovedAi]);
    assert_eq!(gone.verdict, Verdict::Fail);

    let waivers = Waivers::parse(
        "- code: MARKING-STRIPPED\n  file: plate_regraded.jpg\n  justification: marking re-applied at mastering\n  by: producer@example.com\n  expires: 2026-12-31\n",
        &Policy::default(),
    )
    .expect("waivers");
    let report = run(&root, &banks, Some(&declarations), &waivers, &options());
    let gone = file(&report, "plate_regraded.jpg");
    assert!(gone.findings[0].waived);
    assert_eq!(gone.verdict, Verdict::Pass);
    assert_eq!(report.verdict, Verdict::Pass);
}

#[test]
fn credentials_and_xmp_say_ai_without_a_ledger_entry() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let (signed, _) = media::sign(&media::png(128, 96, 41), "image/png", media::AI, None);
    std::fs::write(root.join("c2pa_ai.png"), &signed).expect("write");
    let mut tampered = signed.clone();
    let at = tampered.len() - 20;
    tampered[at] ^= 0xff;
    std::fs::write(root.join("tampered.png"), &tampered).expect("write");
    std::fs::write(
        root.join("xmp_ai.png"),
        media::png_with_xmp(128, 96, 42, media::AI),
    )
    .expect("write");
    std::fs::write(
        root.join("xmp_capture.png"),
        media::png_with_xmp(128, 96, 43, media::CAPTURE),
    )
    .expect("write");
    let report = run(
        root,
        &Banks::default(),
        None,
        &Waivers::default(),
        &options(),
    );
    assert_eq!(
        codes(file(&report, "c2pa_ai.png")),
        [Code::UndeclaredAi, Code::CredentialUntrusted]
    );
    assert!(codes(file(&report, "tampered.png")).contains(&Code::CredentialInvalid));
    assert_eq!(codes(file(&report, "xmp_ai.png")), [Code::UndeclaredAi]);
    assert!(codes(file(&report, "xmp_capture.png")).is_empty());

    let strict = ScanOptions {
        policy: Policy {
            require_trusted: true,
        },
        ..options()
    };
    let report = run(root, &Banks::default(), None, &Waivers::default(), &strict);
    let f = file(&report, "c2pa_ai.png");
    assert_eq!(
        f.findings
            .iter()
            .find(|x| x.code == Code::CredentialUntrusted)
            .expect("untrusted")
            .severity,
        greenlight_scan::verdict::Severity::Overridable
    );
}

#[test]
fn reference_bank_matches_name_the_work_and_low_quality_hashes_are_not_matched() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let work = media::picture(640, 360, 51);
    std::fs::write(
        root.join("lookalike.jpg"),
        media::encode(&work, ImageFormat::Jpeg),
    )
    .expect("write");
    let flat = image::RgbImage::from_pixel(256, 256, image::Rgb([128, 128, 128]));
    std::fs::write(
        root.join("flat.png"),
        media::encode(&flat, ImageFormat::Png),
    )
    .expect("write");
    let work_path = dir.path().join("work.png");
    std::fs::write(&work_path, media::encode(&work, ImageFormat::Png)).expect("write");
    let fp = fingerprint(&work_path, BankKind::Reference).expect("fingerprint");
    std::fs::remove_file(&work_path).expect("rm");
    let flat_fp = greenlight_scan::pdq::hash_image_bytes(&media::encode(&flat, ImageFormat::Png))
        .expect("hash");
    let reference = |id, work_id: &str, hash: String, quality| Reference {
        id,
        bank: "studio-library".into(),
        work_id: work_id.into(),
        title: "The Lighthouse Keeper".into(),
        hash_type: HashType::Pdq,
        hash,
        quality: Some(quality),
        added_at: "2026-01-01T00:00:00Z".into(),
        studio: None,
    };
    let banks = Banks {
        ledger: vec![],
        references: vec![
            reference(1, "SL-0042", fp.pdq.expect("pdq").0.to_hex(), 100),
            reference(2, "SL-0099", flat_fp.hash.to_hex(), 100),
        ],
        audio_references: vec![],
    };
    let report = run(root, &banks, None, &Waivers::default(), &options());
    let f = file(&report, "lookalike.jpg");
    assert_eq!(codes(f), [Code::ReferenceMatch]);
    let m = f.findings[0].r#match.as_ref().expect("match");
    assert_eq!(
        (m.title.as_deref(), m.work_id.as_deref(), m.bank.as_str()),
        (
            Some("The Lighthouse Keeper"),
            Some("SL-0042"),
            "studio-library"
        )
    );
    assert_eq!(
        codes(file(&report, "flat.png")),
        [Code::LowQualityHash],
        "a flat image is flagged, not matched"
    );
}

#[test]
fn hostile_files_are_unreadable_findings_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let png = media::png(200, 200, 61);
    std::fs::write(root.join("truncated.png"), &png[..png.len() / 2]).expect("write");
    let mut corrupt = png.clone();
    for b in corrupt.iter_mut().skip(60).take(400) {
        *b = 0x5a;
    }
    std::fs::write(root.join("corrupt.png"), &corrupt).expect("write");
    // A PNG header claiming 100000 x 100000 pixels: a decompression bomb's promise.
    let mut bomb = png[..16].to_vec();
    bomb.extend_from_slice(&100_000u32.to_be_bytes());
    bomb.extend_from_slice(&100_000u32.to_be_bytes());
    bomb.extend_from_slice(&png[24..]);
    std::fs::write(root.join("bomb.png"), &bomb).expect("write");
    std::fs::write(root.join("fine.png"), &png).expect("write");
    std::fs::write(
        root.join("not_really.mp4"),
        b"\x00\x00\x00\x18ftypisomgarbage garbage garbage",
    )
    .expect("write");
    if !media::ffmpeg() {
        std::fs::remove_file(root.join("not_really.mp4")).expect("rm");
        eprintln!("ffmpeg missing: the corrupt-video case is skipped");
    }
    let report = run(
        root,
        &Banks::default(),
        None,
        &Waivers::default(),
        &options(),
    );
    // Regression: a truncated PNG without any manifest was reported CREDENTIAL-INVALID (the
    // C2PA reader's parse error) as well as UNREADABLE; it has no credential to be invalid.
    for name in ["truncated.png", "corrupt.png", "bomb.png"] {
        let f = file(&report, name);
        assert_eq!(codes(f), [Code::Unreadable], "{name}: {:?}", f.findings);
        assert_eq!(f.verdict, Verdict::Fail);
    }
    if media::ffmpeg() {
        assert_eq!(codes(file(&report, "not_really.mp4")), [Code::Unreadable]);
    }
    assert!(codes(file(&report, "fine.png")).is_empty());
}

#[test]
fn video_matches_are_reported_as_time_ranges_and_shares() {
    if !media::ffmpeg() {
        eprintln!("skipped: ffmpeg is not installed, so video matching cannot be tested");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let bank_dir = dir.path().join("bank");
    let root = dir.path().join("delivery");
    std::fs::create_dir_all(&bank_dir).expect("mkdir");
    std::fs::create_dir_all(&root).expect("mkdir");
    media::testsrc(&bank_dir.join("previs.mp4"), 4, "testsrc");
    // The delivered cut: 3 s of something else, then the previs (re-encoded), then more.
    media::testsrc(&dir.path().join("other.mp4"), 3, "smptebars");
    let list = dir.path().join("list.txt");
    std::fs::write(
        &list,
        format!(
            "file '{}'\nfile '{}'\n",
            dir.path().join("other.mp4").display(),
            bank_dir.join("previs.mp4").display()
        ),
    )
    .expect("write");
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "concat", "-safe", "0", "-i"])
        .arg(&list)
        .args(["-vf", "scale=640:480", "-pix_fmt", "yuv420p"])
        .arg(root.join("cut.mp4"))
        .status()
        .expect("ffmpeg");
    assert!(status.success());
    let banks = Banks {
        ledger: vec![ledger_asset(7, &bank_dir.join("previs.mp4"), "PREVIS-7")],
        references: vec![],
        audio_references: vec![],
    };
    let report = run(&root, &banks, None, &Waivers::default(), &options());
    let f = file(&report, "cut.mp4");
    let m = f
        .findings
        .iter()
        .find_map(|x| x.r#match.as_ref())
        .expect("a match");
    eprintln!(
        "matched ranges {:?}, {:?} of {:?}",
        m.time_ranges, m.frames_matched, m.frames_total
    );
    assert_eq!(m.frames_total, Some(7));
    assert!(
        m.time_ranges.iter().any(|(a, b)| *a <= 4 && *b >= 5),
        "{:?}",
        m.time_ranges
    );
    assert!(
        m.time_ranges.iter().all(|(a, _)| *a >= 3),
        "smptebars must not match testsrc: {:?}",
        m.time_ranges
    );
    assert!(m.share.expect("share") > 0.4);
}

#[test]
fn a_rescan_comes_from_the_cache_and_a_changed_file_is_analysed_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("d");
    std::fs::create_dir_all(&root).expect("mkdir");
    std::fs::write(root.join("a.png"), media::png(64, 64, 71)).expect("write");
    std::fs::write(root.join("b.txt"), "b").expect("write");
    let cached = ScanOptions {
        use_cache: true,
        ..options()
    };
    let first = run(&root, &Banks::default(), None, &Waivers::default(), &cached);
    assert_eq!(first.summary.cached, 0);
    let second = run(&root, &Banks::default(), None, &Waivers::default(), &cached);
    assert_eq!(second.summary.cached, 2);
    assert_eq!(file(&first, "a.png").pdq, file(&second, "a.png").pdq);
    std::fs::write(root.join("b.txt"), "changed").expect("write");
    let third = run(&root, &Banks::default(), None, &Waivers::default(), &cached);
    assert_eq!(third.summary.cached, 1);
    let sha = ScanOptions {
        sha256: true,
        ..cached
    };
    let fourth = run(&root, &Banks::default(), None, &Waivers::default(), &sha);
    assert_eq!(
        fourth.summary.cached, 0,
        "a result-changing option misses the cache"
    );
    assert!(file(&fourth, "b.txt").sha256.is_some());
}

#[test]
fn a_file_that_changes_between_walk_and_analysis_is_reported_not_crashed_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("growing.mov.part");
    std::fs::write(&path, b"first bytes").expect("write");
    let walked = greenlight_scan::walk::walk(dir.path(), 1).expect("walk");
    let entry = walked
        .files
        .iter()
        .find(|f| f.rel == "growing.mov.part")
        .expect("found");
    // A render still writing to the file after the walk saw it.
    std::fs::write(&path, b"first bytes and then some more").expect("append");
    let credentials = CredentialReader::new(None).expect("reader");
    let facts = scan::analyse(entry, &options(), &credentials);
    assert!(
        facts
            .problems
            .iter()
            .any(|p| p.contains("changed while being scanned")),
        "{:?}",
        facts.problems
    );
}

/// Only facts the same bytes would give again are cached: a file gone or changed while being
/// read is transient, a picture that does not decode is not. (Deciding this by matching the
/// problem's message text broke whenever a message was reworded.)
#[test]
fn a_read_failure_is_transient_and_a_decode_failure_is_not() {
    use greenlight_scan::walk::{FileStamp, WalkEntry};
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = dir.path().join("broken.png");
    std::fs::write(
        &broken,
        b"\x89PNG\r\n\x1a\nnot a picture at all, just bytes",
    )
    .expect("write");
    let stamp = FileStamp::of(&broken).expect("stamp");
    let credentials = CredentialReader::new(None).expect("reader");
    let entry = |path: &Path| WalkEntry {
        path: path.to_path_buf(),
        rel: "x".into(),
        stamp,
    };
    let facts = greenlight_scan::scan::analyse(&entry(&broken), &options(), &credentials);
    assert!(!facts.problems.is_empty(), "the picture does not decode");
    assert!(!facts.transient, "{:?}", facts.problems);
    let gone = dir.path().join("gone.png");
    let facts = greenlight_scan::scan::analyse(&entry(&gone), &options(), &credentials);
    assert!(!facts.problems.is_empty());
    assert!(facts.transient, "{:?}", facts.problems);
}
