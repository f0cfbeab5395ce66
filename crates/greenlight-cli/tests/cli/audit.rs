//! `greenlight audit export` and `verify`: a real database written by the real server, a
//! real bundle, and every kind of tampering detected with exit code 1.

use greenlight_store::audit::{AuditEntry, GENESIS};

use crate::serve::Server;
use crate::util::Dir;

fn seeded() -> Dir {
    let dir = Dir::new();
    let server = Server::start(&dir, &["--demo"]);
    drop(server);
    dir
}

fn read_entries(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("entries")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_entries(path: &std::path::Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").expect("write entries");
}

fn verify_bundle(dir: &Dir) -> (i32, String) {
    let out = dir.run(&["audit", "verify", "--bundle", "bundle"]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn an_exported_bundle_verifies_and_every_tampering_is_named() {
    let dir = seeded();
    let out = dir.run(&["audit", "export", "--out", "bundle"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "entries.jsonl",
        "checkpoints.jsonl",
        "checkpoint-log.jsonl",
        "public-key.pem",
    ] {
        assert!(
            dir.path().join("bundle").join(f).exists(),
            "{f} in the bundle"
        );
    }
    let (code, text) = verify_bundle(&dir);
    assert_eq!(code, 0, "{text}");
    // A database configured in the environment does not get in the way of a bundle.
    let out = dir
        .command()
        .args(["audit", "verify", "--bundle", "bundle"])
        .env("GREENLIGHT_DATABASE_URL", "sqlite://elsewhere.db")
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir.path().join("bundle/entries.jsonl");
    let original = read_entries(&path);
    assert!(original.len() > 10);

    // Edit: entry 5's action.
    let mut edited = original.clone();
    edited[4] = edited[4].replacen("\"action\":\"", "\"action\":\"forged.", 1);
    write_entries(&path, &edited);
    let (code, text) = verify_bundle(&dir);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("first bad entry 5"), "{text}");

    // Delete entry 5.
    let mut deleted = original.clone();
    deleted.remove(4);
    write_entries(&path, &deleted);
    let (code, text) = verify_bundle(&dir);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("first bad entry 5"), "{text}");

    // Reorder entries 5 and 6.
    let mut reordered = original.clone();
    reordered.swap(4, 5);
    write_entries(&path, &reordered);
    let (code, text) = verify_bundle(&dir);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("first bad entry 5"), "{text}");

    // Truncate the last three entries (and their checkpoints in the bundle's copy).
    let n = original.len();
    write_entries(&path, &original[..n - 3]);
    let cps = dir.path().join("bundle/checkpoints.jsonl");
    let cp_lines = read_entries(&cps);
    let kept: Vec<String> = cp_lines
        .iter()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v["seq"].as_i64())
                .is_some_and(|s| s <= (n - 3) as i64)
        })
        .cloned()
        .collect();
    write_entries(&cps, &kept);
    let (code, text) = verify_bundle(&dir);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains(&format!("first bad entry {}", n - 2)),
        "the checkpoint log outside the database catches truncation: {text}"
    );
    write_entries(&cps, &cp_lines);

    // Full re-hash after an edit: every hash is consistent again, the signatures are not.
    let mut prev = GENESIS.to_owned();
    let mut rehashed = Vec::new();
    for (i, line) in original.iter().enumerate() {
        let mut e: AuditEntry = serde_json::from_str(line).expect("entry");
        if i == 4 {
            e.action = "forged".into();
        }
        e.prev_hash = prev.clone();
        e.hash = e.compute_hash();
        prev = e.hash.clone();
        rehashed.push(serde_json::to_string(&e).expect("json"));
    }
    write_entries(&path, &rehashed);
    let (code, text) = verify_bundle(&dir);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("re-hashed"), "{text}");

    write_entries(&path, &original);
    assert_eq!(
        verify_bundle(&dir).0,
        0,
        "the untouched bundle still verifies"
    );
}

#[test]
fn editing_the_live_sqlite_database_is_detected() {
    if std::process::Command::new("sqlite3")
        .arg("-version")
        .output()
        .is_err()
    {
        eprintln!("skipped: the sqlite3 command is not installed");
        return;
    }
    let dir = seeded();
    assert_eq!(dir.run(&["audit", "verify"]).status.code(), Some(0));
    let status = std::process::Command::new("sqlite3")
        .arg(dir.path().join("greenlight.db"))
        .arg("UPDATE audit_entries SET actor = 'someone-else' WHERE seq = 7")
        .status()
        .expect("sqlite3 runs");
    assert!(status.success());
    let out = dir.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("first bad entry 7"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn verify_without_a_database_is_an_io_error_and_bad_flags_are_usage_errors() {
    let dir = Dir::new();
    assert_eq!(
        dir.run(&["audit", "verify", "--database-url", "sqlite://missing.db"])
            .status
            .code(),
        Some(4)
    );
    assert_eq!(
        dir.run(&["audit", "verify", "--bundle", "nowhere"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        dir.run(&["audit", "verify", "--bogus"]).status.code(),
        Some(2)
    );
}
