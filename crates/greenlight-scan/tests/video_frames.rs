//! Ledger video frames finer than a second: a registered clip cut into a delivery at an offset
//! that is not a whole second is still found. (Frames stored in whole seconds by earlier
//! versions are read back in milliseconds: `greenlight-store`'s `tests/banks.rs`.)

mod media;

use std::path::Path;

use chrono::NaiveDate;
use greenlight_scan::credentials::CredentialReader;
use greenlight_scan::declarations::Declarations;
use greenlight_scan::scan::{
    self, BankKind, Banks, NoProgress, ScanInputs, ScanOptions, fingerprint,
};
use greenlight_scan::verdict::{Code, Policy, Verdict};
use greenlight_scan::video::BANK_FRAMES_PER_SECOND;
use greenlight_scan::waiver::Waivers;
use greenlight_store::banks::{Creation, Frame, NewAsset};

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).expect("date")
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("banks.db").display())
}

/// Runs ffmpeg with `args`; panics with its message when it fails.
fn ffmpeg(args: &[&str]) {
    let out = std::process::Command::new("ffmpeg")
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

/// Registers `clip` in a fresh SQLite ledger (as `assets add` does) and reads the ledger back.
async fn ledger_of(dir: &Path, clip: &Path) -> Vec<greenlight_store::banks::Asset> {
    let fp = fingerprint(clip, BankKind::Reference).expect("fingerprint");
    let store = greenlight_store::banks::Banks::open(&sqlite_url(dir), Creation::AsUrlSays)
        .await
        .expect("store opens");
    store
        .add_asset(&NewAsset {
            production: "ep101".into(),
            use_ref: "PREVIS-1".into(),
            tool: Some("Gen".into()),
            file_name: "previs.mp4".into(),
            blake3: fp.digests.blake3,
            media_type: fp.media.mime,
            pdq: None,
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
        })
        .await
        .expect("asset added");
    let ledger = store.assets(Some("ep101")).await.expect("ledger");
    store.close().await;
    ledger
}

// Before ledger videos were hashed four times a second, a delivered 1 fps sample of a clip
// cut in at 1.6 s or 2.4 s fell about half a second from every ledger frame; with motion that
// is beyond the match threshold (`mandelbrot` zooms steadily: PDQ distances 40-60 at half a
// second, 2-10 at the nearest quarter-second frame), and the temporary asset passed. Setting
// `BANK_FRAMES_PER_SECOND` back to 1 makes this test fail. (`testsrc2` is no use here: its
// consecutive frames, 40 ms apart, already differ by about 40 bits.)
#[tokio::test]
async fn a_clip_cut_in_at_a_fractional_second_is_found() {
    if !media::ffmpeg() {
        eprintln!("skipped: ffmpeg is not installed, so video matching cannot be tested");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let clip = dir.path().join("previs.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=size=320x240:rate=25",
        "-t",
        "4",
        "-pix_fmt",
        "yuv420p",
        clip.to_str().expect("utf-8 path"),
    ]);
    let ledger = ledger_of(dir.path(), &clip).await;
    assert_eq!(ledger.len(), 1);
    let frames = &ledger[0].frames;
    assert_eq!(
        frames.len(),
        4 * BANK_FRAMES_PER_SECOND as usize,
        "frames of a 4 s clip"
    );
    assert_eq!(
        frames[1].millis, 240,
        "times are kept below the second, each the frame's own: frame round(25 / 4) = 6 at 25 fps"
    );

    let decls = dir.path().join("decls");
    std::fs::create_dir_all(&decls).expect("mkdir");
    std::fs::write(
        decls.join("previs.yaml"),
        "greenlight: declaration/v1\nproduction:\n  title: Harbour Lights\n  eu_release: false\n  release_date: 2026-12-01\n\
         use:\n  ref: PREVIS-1\n  summary: Generated previs\ntools:\n  - name: Gen\noutputs:\n  final: false\n  media: [video]\n",
    )
    .expect("write");
    let declarations = Declarations::load(&decls, as_of()).expect("declarations load");
    let banks = Banks {
        ledger,
        references: vec![],
        audio_references: vec![],
    };
    let credentials = CredentialReader::new(None).expect("reader");
    let inputs = ScanInputs {
        banks: &banks,
        declarations: Some(&declarations),
        waivers: &Waivers::default(),
        credentials: &credentials,
    };
    let options = ScanOptions {
        sha256: false,
        max_distance: 31,
        use_cache: false,
        cache_path: None,
        policy: Policy::default(),
        as_of: as_of(),
        ov: vec![],
        edit_list: None,
        sequence_rate: greenlight_scan::timecode::EditRate { num: 24, den: 1 },
    };

    // (offset of the clip in the cut, the delivered seconds that show the clip)
    // The delivery is sampled once a second, each sample the frame shown at that second: the
    // 4 s clip at 1.6 s is on screen at seconds 2 to 5, at 2.4 s at seconds 3 to 6.
    for (offset, seconds) in [("1.6", (2, 5)), ("2.4", (3, 6))] {
        let root = dir.path().join(format!("delivery-{offset}"));
        std::fs::create_dir_all(&root).expect("mkdir");
        let cut = root.join("cut.mp4");
        // Other footage (colour bars) for `offset` seconds, then the clip, re-encoded at
        // another size.
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            &format!("smptebars=duration={offset}:size=320x240:rate=25"),
            "-i",
            clip.to_str().expect("utf-8 path"),
            "-filter_complex",
            "[0:v][1:v]concat=n=2:v=1:a=0,scale=640:480[v]",
            "-map",
            "[v]",
            "-pix_fmt",
            "yuv420p",
            cut.to_str().expect("utf-8 path"),
        ]);
        let report = scan::scan(&root, &options, &inputs, &NoProgress).expect("scan runs");
        let f = report
            .files
            .iter()
            .find(|f| f.path == "cut.mp4")
            .expect("cut.mp4 in the report");
        let finding = f
            .findings
            .iter()
            .find(|x| x.code == Code::TempAsset)
            .unwrap_or_else(|| {
                panic!(
                    "clip at {offset} s: no TEMP-ASSET finding: {:?}",
                    f.findings
                )
            });
        let m = finding.r#match.as_ref().expect("a match");
        eprintln!(
            "clip at {offset} s: ranges {:?}, {:?} of {:?} frames, ledger seconds {:?}",
            m.time_ranges, m.frames_matched, m.frames_total, m.bank_seconds
        );
        assert_eq!(f.verdict, Verdict::Fail);
        assert_eq!(
            m.time_ranges,
            [seconds],
            "clip at {offset} s: the delivered seconds that show it"
        );
        assert_eq!(
            m.bank_seconds,
            [0, 1, 2, 3],
            "clip at {offset} s: every second of the clip is found"
        );
    }
}
