//! `greenlight bank`: reference banks of protected works.

use crate::scan::{db_url, picture};
use crate::util::Dir;

#[test]
fn a_bank_keeps_hashes_and_titles_and_round_trips_through_csv() {
    let dir = Dir::new();
    dir.write("still.png", picture(300, 200, 4));
    let url = db_url(&dir);
    let add = dir.run(&[
        "bank",
        "add",
        "--database-url",
        &url,
        "--bank",
        "library",
        "--id",
        "SL-1",
        "--title",
        "Dawn, the film",
        "still.png",
    ]);
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let list = dir.run(&["bank", "list", "--database-url", &url, "--format", "json"]);
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(rows.len(), 2, "BLAKE3 and PDQ");
    assert!(
        rows.iter()
            .all(|r| r["title"] == "Dawn, the film" && r["work_id"] == "SL-1")
    );
    let export = dir.run(&[
        "bank",
        "export",
        "--database-url",
        &url,
        "--bank",
        "library",
    ]);
    let csv = String::from_utf8_lossy(&export.stdout).into_owned();
    assert!(csv.contains("\"Dawn, the film\""), "{csv}");
    dir.write("library.csv", &csv);
    let other = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("other.db").display()
    );
    let import = dir.run(&[
        "bank",
        "import",
        "--database-url",
        &other,
        "--bank",
        "library",
        "library.csv",
    ]);
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let again = dir.run(&["bank", "export", "--database-url", &other]);
    assert_eq!(String::from_utf8_lossy(&again.stdout), csv);
    // Importing the same file twice adds nothing new.
    let twice = dir.run(&[
        "bank",
        "import",
        "--database-url",
        &other,
        "--bank",
        "library",
        "library.csv",
    ]);
    assert!(String::from_utf8_lossy(&twice.stdout).starts_with("0 new"));
}

#[test]
fn a_bad_csv_names_every_bad_line_and_imports_nothing() {
    let dir = Dir::new();
    let h = "ab".repeat(32);
    dir.write(
        "bad.csv",
        format!("signal_type,signal,id,title\npdq,{h},W-1,ok\nmd5,{h},W-2,x\npdq,zz,W-3,x\n"),
    );
    let url = db_url(&dir);
    let out = dir.run(&[
        "bank",
        "import",
        "--database-url",
        &url,
        "--bank",
        "b",
        "bad.csv",
    ]);
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 3") && stderr.contains("line 4"),
        "{stderr}"
    );
    let list = dir.run(&["bank", "list", "--database-url", &url, "--format", "json"]);
    assert!(list.stdout.is_empty());
}
