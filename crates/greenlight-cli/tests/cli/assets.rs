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
    assert!(csv.starts_with("signal_type,signal,id,title\n"), "{csv}");
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
    assert_eq!(String::from_utf8_lossy(&again.stdout), csv);
}

#[test]
fn the_production_may_be_left_out_only_when_the_store_has_one() {
    let dir = Dir::new();
    dir.write("a.png", picture(100, 100, 2));
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
            "a.png"
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
