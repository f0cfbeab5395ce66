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

/// A hash list as python-threatexchange 1.2's `threatexchange dataset -P --csv` writes it
/// (written here by hand): its columns, a collab, categories, a type Greenlight does not match.
fn threatexchange_dataset_csv() -> String {
    format!(
        "signal_type,signal_str,collab,category,tags\n\
         pdq,{a},Partner Library,POSITIVE_CLASS,\n\
         video_md5,d41d8cd98f00b204e9800998ecf8427e,Partner Library,INVESTIGATION_SEED,\n\
         pdq,{b},Partner Library,INVESTIGATION_SEED,poster key-art\n\
         pdq,{c},Partner Library,NEGATIVE_CLASS,\n\
         url,https://example.com/a,Partner Library,POSITIVE_CLASS,\n",
        a = "f8".repeat(32),
        b = "0f".repeat(32),
        c = "33".repeat(32),
    )
}

#[test]
fn a_threatexchange_dataset_csv_imports_its_pdq_rows_and_counts_the_rest() {
    let dir = Dir::new();
    dir.write("partner.csv", threatexchange_dataset_csv());
    let url = db_url(&dir);
    let out = dir.run(&[
        "bank",
        "import",
        "--database-url",
        &url,
        "--bank",
        "partner",
        "partner.csv",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("2 new hash(es) of 2"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "3 row(s) skipped: category NEGATIVE_CLASS (1), signal type url (1), signal type video_md5 (1)"
        ),
        "{stderr}"
    );
    let list = dir.run(&["bank", "list", "--database-url", &url, "--format", "json"]);
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter().all(|r| r["hash_type"] == "pdq"
            && r["work_id"] == "Partner Library"
            && r["title"] == "Partner Library"),
        "the collab names the work when the file names none: {rows:?}"
    );
}

#[test]
fn threatexchange_signal_lines_import_with_a_named_work_and_export_back() {
    let dir = Dir::new();
    let (a, b) = ("f8".repeat(32), "0f".repeat(32));
    // What `threatexchange hash photo` and `dataset -P -S` print, and `local_file` reads.
    dir.write(
        "hashes.txt",
        format!("pdq {a}\nvideo_md5 d41d8cd98f00b204e9800998ecf8427e\npdq {b}\n"),
    );
    let url = db_url(&dir);
    let import = |extra: &[&str]| {
        let mut args = vec![
            "bank",
            "import",
            "--database-url",
            &url,
            "--bank",
            "library",
            "hashes.txt",
        ];
        args.extend_from_slice(extra);
        dir.run(&args)
    };
    let unnamed = import(&[]);
    assert_eq!(unnamed.status.code(), Some(2), "no id, no title, no collab");
    let stderr = String::from_utf8_lossy(&unnamed.stderr);
    assert!(
        stderr.contains("line(s) 1, 3") && stderr.contains("--id"),
        "{stderr}"
    );
    let named = import(&["--id", "SL-7", "--title", "The Lighthouse Keeper"]);
    assert!(
        named.status.success(),
        "{}",
        String::from_utf8_lossy(&named.stderr)
    );
    dir.write("extra.png", picture(120, 90, 5));
    let add = dir.run(&[
        "bank",
        "add",
        "--database-url",
        &url,
        "--bank",
        "library",
        "--id",
        "SL-8",
        "--title",
        "Dawn",
        "extra.png",
    ]);
    assert!(add.status.success());

    let lines = dir.run(&[
        "bank",
        "export",
        "--database-url",
        &url,
        "--format",
        "lines",
    ]);
    assert!(lines.status.success());
    let text = String::from_utf8_lossy(&lines.stdout).into_owned();
    let got: Vec<&str> = text.lines().collect();
    assert_eq!(
        got.len(),
        3,
        "two imported PDQ hashes and the still's: {text}"
    );
    assert_eq!(got[0], format!("pdq {a}"));
    assert_eq!(got[1], format!("pdq {b}"));
    assert!(
        got.iter()
            .all(|l| l.starts_with("pdq ") && l.len() == 4 + 64)
    );
    assert!(
        String::from_utf8_lossy(&lines.stderr).contains("1 BLAKE3 hash(es) left out"),
        "{}",
        String::from_utf8_lossy(&lines.stderr)
    );
    // The lines read back as they were written.
    dir.write("back.txt", &text);
    let other = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("other.db").display()
    );
    let back = dir.run(&[
        "bank",
        "import",
        "--database-url",
        &other,
        "--bank",
        "library",
        "--id",
        "X",
        "--title",
        "X",
        "back.txt",
    ]);
    assert!(String::from_utf8_lossy(&back.stdout).starts_with("3 new hash(es) of 3"));
}

#[test]
fn greenlights_first_csv_layout_still_imports() {
    let dir = Dir::new();
    let h = "ab".repeat(32);
    dir.write(
        "old.csv",
        format!("signal_type,signal,id,title\npdq,{h},SL-1,\"Dawn, the film\"\nblake3,{h},SL-1,\"Dawn, the film\"\n"),
    );
    let url = db_url(&dir);
    let out = dir.run(&[
        "bank",
        "import",
        "--database-url",
        &url,
        "--bank",
        "library",
        "old.csv",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let export = dir.run(&["bank", "export", "--database-url", &url]);
    assert_eq!(
        String::from_utf8_lossy(&export.stdout),
        format!(
            "signal_type,signal_str,collab,category,tags,id,title\n\
             pdq,{h},library,POSITIVE_CLASS,,SL-1,\"Dawn, the film\"\n\
             blake3,{h},library,POSITIVE_CLASS,,SL-1,\"Dawn, the film\"\n"
        )
    );
}

/// Greenlight's first layout allowed a row with an id and no title: the id titles it. A bank
/// imported for one studio of a shared server database says so.
#[test]
fn a_row_with_an_id_and_no_title_is_titled_by_its_id() {
    let dir = Dir::new();
    let h = "cd".repeat(32);
    dir.write("untitled.csv", format!("pdq,{h},W-7\n"));
    let url = db_url(&dir);
    let out = dir.run(&[
        "bank",
        "import",
        "--database-url",
        &url,
        "--bank",
        "library",
        "--studio",
        "org-northlight",
        "untitled.csv",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = dir.run(&["bank", "list", "--database-url", &url, "--format", "json"]);
    let row: serde_json::Value =
        serde_json::from_slice(&list.stdout).expect("one JSON line per entry");
    assert_eq!(row["work_id"], "W-7");
    assert_eq!(row["title"], "W-7");
    assert_eq!(row["studio"], "org-northlight");
}
