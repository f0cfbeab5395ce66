//! `greenlight assets`: register, list, export and import the ledger.

use crate::scan::{db_url, picture};
use crate::util::Dir;

#[test]
fn assets_round_trip_through_threatexchange_csv() {
    let dir = Dir::new();
    dir.write("a.png", picture(200, 150, 1));
    dir.write("voice.wav", b"RIFF\x24\x00\x00\x00WAVEfmt not really audio");
    let url = db_url(&dir);
    let add = dir.run(&[
        "assets",
        "add",
        "--database-url",
        &url,
        "--production",
        "ep101",
        "--use",
        "BB-001",
        "--tool",
        "Gen",
        "a.png",
        "voice.wav",
    ]);
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let list = dir.run(&["assets", "list", "--database-url", &url, "--format", "json"]);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["use_ref"], "BB-001");
    assert_eq!(lines[0]["tool"], "Gen");
    assert!(lines[0]["pdq"].as_str().is_some_and(|h| h.len() == 64));
    assert!(
        lines[1]["pdq"].is_null(),
        "audio is matched by exact hash only"
    );

    let export = dir.run(&[
        "assets",
        "export",
        "--database-url",
        &url,
        "--out",
        "ledger.csv",
    ]);
    assert!(export.status.success());
    let csv = std::fs::read_to_string(dir.path().join("ledger.csv")).expect("csv");
    assert!(
        csv.starts_with("signal_type,signal_str,collab,category,tags,id,title\n"),
        "{csv}"
    );
    assert!(
        csv.contains(",ep101,POSITIVE_CLASS,,BB-001,a.png\n"),
        "{csv}"
    );
    assert_eq!(
        csv.lines().count(),
        1 + 3,
        "blake3 + pdq of the image, blake3 of the audio: {csv}"
    );

    let other = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("other.db").display()
    );
    let import = dir.run(&[
        "assets",
        "import",
        "--database-url",
        &other,
        "--production",
        "ep102",
        "ledger.csv",
    ]);
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let again = dir.run(&["assets", "export", "--database-url", &other]);
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        csv.replace(",ep101,", ",ep102,")
    );
}

fn ffmpeg() -> bool {
    std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn video_frames_round_trip_at_every_frame() {
    if !ffmpeg() {
        eprintln!("skipped: ffmpeg is not installed, so video registration cannot be tested");
        return;
    }
    let dir = Dir::new();
    let made = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("mandelbrot=size=320x240:rate=25")
        .args(["-t", "2", "-pix_fmt", "yuv420p"])
        .arg(dir.path().join("previs.mp4"))
        .status()
        .expect("ffmpeg runs");
    assert!(made.success());
    let url = db_url(&dir);
    let add = dir.run(&[
        "assets",
        "add",
        "--database-url",
        &url,
        "--production",
        "ep101",
        "--use",
        "PREVIS-1",
        "previs.mp4",
    ]);
    assert!(
        String::from_utf8_lossy(&add.stdout).contains("(50 frame hashes)"),
        "every frame of 2 s at 25 fps: {}",
        String::from_utf8_lossy(&add.stdout)
    );
    let export = dir.run(&["assets", "export", "--database-url", &url]);
    let csv = String::from_utf8_lossy(&export.stdout).into_owned();
    let titles: Vec<&str> = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.rsplit(',').next())
        .collect();
    assert_eq!(
        titles.len(),
        51,
        "the BLAKE3 row and a row per frame: {csv}"
    );
    assert_eq!(
        titles[..5],
        [
            "previs.mp4",
            "previs.mp4#t=0",
            "previs.mp4#t=0.04",
            "previs.mp4#t=0.08",
            "previs.mp4#t=0.12",
        ],
        "{csv}"
    );
    assert_eq!(titles[50], "previs.mp4#t=1.96", "{csv}");
    dir.write("ledger.csv", &csv);
    let other = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("other.db").display()
    );
    let import = dir.run(&[
        "assets",
        "import",
        "--database-url",
        &other,
        "--production",
        "ep101",
        "ledger.csv",
    ]);
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let list = dir.run(&[
        "assets",
        "list",
        "--database-url",
        &other,
        "--format",
        "json",
    ]);
    let entry: serde_json::Value = serde_json::from_slice(&list.stdout).expect("one JSON line");
    assert_eq!(entry["frames"][2]["millis"], 80);
    let again = dir.run(&["assets", "export", "--database-url", &other]);
    assert_eq!(String::from_utf8_lossy(&again.stdout), csv);
}

#[test]
fn a_threatexchange_list_needs_a_use_ref_and_a_bad_frame_time_is_named() {
    let dir = Dir::new();
    let url = db_url(&dir);
    // `TYPE SIGNAL` lines, as `threatexchange hash` prints them: no ids, no titles.
    dir.write(
        "hashes.txt",
        format!(
            "pdq {}\nvideo_md5 d41d8cd98f00b204e9800998ecf8427e\npdq {}\n",
            "ab".repeat(32),
            "cd".repeat(32)
        ),
    );
    let args = |extra: &[&'static str]| {
        let mut a = vec!["assets", "import", "--production", "p", "hashes.txt"];
        a.extend_from_slice(extra);
        a
    };
    let mut no_ref = args(&[]);
    no_ref.extend(["--database-url", url.as_str()]);
    let out = dir.run(&no_ref);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line(s) 1, 3") && stderr.contains("--use"),
        "{stderr}"
    );
    let mut with_ref = args(&["--use", "BB-9"]);
    with_ref.extend(["--database-url", url.as_str()]);
    let out = dir.run(&with_ref);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("1 row(s) skipped: signal type video_md5 (1)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = dir.run(&["assets", "list", "--database-url", &url, "--format", "json"]);
    let names: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            assert_eq!(v["use_ref"], "BB-9");
            v["file_name"].as_str().expect("name").to_string()
        })
        .collect();
    assert_eq!(names, ["hashes.txt:1", "hashes.txt:3"], "an asset per hash");

    dir.write(
        "bad.csv",
        format!(
            "signal_type,signal_str,collab,category,tags,id,title\npdq,{},p,POSITIVE_CLASS,,R,clip.mp4#t=1.x\n",
            "ab".repeat(32)
        ),
    );
    let out = dir.run(&[
        "assets",
        "import",
        "--database-url",
        &url,
        "--production",
        "p",
        "bad.csv",
    ]);
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 2") && stderr.contains("#t="),
        "{stderr}"
    );
}

#[test]
fn the_production_may_be_left_out_only_when_the_store_has_one() {
    let dir = Dir::new();
    dir.write("a.png", picture(100, 100, 2));
    dir.write("b.png", picture(100, 100, 3));
    let url = db_url(&dir);
    let first = dir.run(&[
        "assets",
        "add",
        "--database-url",
        &url,
        "--use",
        "R-1",
        "a.png",
    ]);
    assert_eq!(first.status.code(), Some(2), "no production yet");
    assert!(
        dir.run(&[
            "assets",
            "add",
            "--database-url",
            &url,
            "--production",
            "p1",
            "--use",
            "R-1",
            "a.png"
        ])
        .status
        .success()
    );
    assert!(
        dir.run(&[
            "assets",
            "add",
            "--database-url",
            &url,
            "--use",
            "R-2",
            "b.png"
        ])
        .status
        .success(),
        "the only production"
    );
    assert!(
        dir.run(&[
            "assets",
            "add",
            "--database-url",
            &url,
            "--production",
            "p2",
            "--use",
            "R-3",
            "a.png"
        ])
        .status
        .success()
    );
    let ambiguous = dir.run(&[
        "assets",
        "add",
        "--database-url",
        &url,
        "--use",
        "R-4",
        "a.png",
    ]);
    assert_eq!(ambiguous.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&ambiguous.stderr).contains("p1, p2"));
}

#[test]
fn an_unreadable_file_adds_nothing() {
    let dir = Dir::new();
    dir.write("a.png", picture(100, 100, 3));
    dir.write("broken.png", &picture(100, 100, 3)[..60]);
    let url = db_url(&dir);
    let out = dir.run(&[
        "assets",
        "add",
        "--database-url",
        &url,
        "--production",
        "p",
        "--use",
        "R",
        "a.png",
        "broken.png",
    ]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.png"));
    let list = dir.run(&["assets", "list", "--database-url", &url, "--format", "json"]);
    assert!(list.stdout.is_empty());
}

/// Regression: rows of Greenlight's first layout with an id but no title (`blake3,H,W-1`,
/// `pdq,H,W-1`) were each imported as an asset of their own named `FILE:LINE`, the PDQ one
/// with an all-zero BLAKE3, so the exact hash and the perceptual hash of one asset parted.
/// Such rows are grouped and named by their id, as before ThreatExchange lists were read.
#[test]
fn rows_with_an_id_and_no_title_are_one_asset_named_by_the_id() {
    let dir = Dir::new();
    let url = db_url(&dir);
    let blake3 = "1f".repeat(32);
    let pdq = "e3".repeat(32);
    dir.write(
        "first-layout.csv",
        format!("blake3,{blake3},W-1\npdq,{pdq},W-1\n"),
    );
    let out = dir.run(&[
        "assets",
        "import",
        "--database-url",
        &url,
        "--production",
        "p",
        "first-layout.csv",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = dir.run(&["assets", "list", "--database-url", &url, "--format", "json"]);
    let assets: Vec<serde_json::Value> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(assets.len(), 1, "one asset for one id: {assets:?}");
    let a = &assets[0];
    assert_eq!(a["use_ref"], "W-1", "{a}");
    assert_eq!(a["file_name"], "W-1", "named by the id: {a}");
    assert_eq!(a["blake3"], blake3, "{a}");
    assert_eq!(a["pdq"], pdq, "{a}");
}
