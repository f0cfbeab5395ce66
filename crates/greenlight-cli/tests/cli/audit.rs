//! `greenlight audit export` and `verify`: a real database written by the real server, a
//! real bundle, and every kind of tampering detected with exit code 1.

use greenlight_store::audit::{AuditEntry, GENESIS};

use crate::serve::Server;
use crate::util::Dir;

fn seeded() -> Dir {
    let dir = Dir::new();
    let server = Server::start(&dir, &["--demo"]);
    stop_cleanly(server);
    dir
}

/// Stops the server with SIGTERM once it serves requests (its shutdown handler is then in
/// place), so the last checkpoints are in the log when verification reads it.
fn stop_cleanly(server: Server) {
    let r = crate::serve::request(&server.addr(), "GET", "/healthz", None, &[], b"")
        .expect("the server answers");
    assert_eq!(r.status, 200);
    assert!(server.stop().success());
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

/// A seeded deployment an attacker has write access to: its database (SQLite file or
/// PostgreSQL database), the audit key file and the checkpoint log, as `serve` keeps them.
struct Deployment {
    dir: Dir,
    pg: Option<crate::serve::PgDb>,
    key: std::path::PathBuf,
    log: std::path::PathBuf,
}

impl Deployment {
    /// SQLite with the defaults: key and checkpoint log beside `greenlight.db`.
    fn sqlite() -> Option<Deployment> {
        if std::process::Command::new("sqlite3")
            .arg("-version")
            .output()
            .is_err()
        {
            eprintln!("skipped: the sqlite3 command is not installed");
            return None;
        }
        let dir = seeded();
        let (key, log) = (
            dir.path().join("greenlight.audit.key"),
            dir.path().join("greenlight.checkpoints.jsonl"),
        );
        Some(Deployment {
            dir,
            pg: None,
            key,
            log,
        })
    }

    /// PostgreSQL, with a key file and a checkpoint log beside each other.
    fn postgres(label: &str) -> Option<Deployment> {
        let pg = crate::serve::PgDb::create(label)?;
        let dir = Dir::new();
        assert_eq!(
            dir.run(&["admin", "keygen", "--out", "audit.key"])
                .status
                .code(),
            Some(0)
        );
        let server = Server::start(
            &dir,
            &[
                "--demo",
                "--database-url",
                &pg.url,
                "--audit-key",
                "audit.key",
            ],
        );
        stop_cleanly(server);
        let (key, log) = (
            dir.path().join("audit.key"),
            dir.path().join("audit.checkpoints.jsonl"),
        );
        Some(Deployment {
            dir,
            pg: Some(pg),
            key,
            log,
        })
    }

    /// Where the deployment is, as `audit` subcommands take it.
    fn args(&self) -> Vec<String> {
        match &self.pg {
            Some(pg) => vec![
                "--database-url".into(),
                pg.url.clone(),
                "--audit-key".into(),
                "audit.key".into(),
            ],
            None => vec![],
        }
    }

    /// Runs SQL on the database the way an attacker would, with the database's own client.
    fn sql(&self, sql: &str) -> String {
        let out = match &self.pg {
            Some(pg) => std::process::Command::new("psql")
                .arg(&pg.url)
                .args(["-v", "ON_ERROR_STOP=1", "-qtA", "-f", "-"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn(),
            None => std::process::Command::new("sqlite3")
                .args(["-bail", "greenlight.db"])
                .current_dir(self.dir.path())
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn(),
        }
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("piped stdin")
                .write_all(sql.as_bytes())?;
            child.wait_with_output()
        })
        .expect("the database client runs");
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// `audit SUB ARGS...` against this deployment.
    fn audit(&self, sub: &str, extra: &[&str]) -> (i32, String) {
        let mut args = vec!["audit".to_owned(), sub.to_owned()];
        args.extend(self.args());
        args.extend(extra.iter().map(|s| s.to_string()));
        let out = self.dir.command().args(&args).output().expect("runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    /// What an auditor takes away before anything happens: the public key and a copy of
    /// the checkpoint log.
    fn auditor_copies(&self) {
        let (code, text) = self.audit("public-key", &["--out", "auditor.pem"]);
        assert_eq!(code, 0, "{text}");
        std::fs::copy(&self.log, self.dir.path().join("auditor-log.jsonl"))
            .expect("a copy of the checkpoint log");
        let (code, text) = self.audit("verify", &["--public-key", "auditor.pem"]);
        assert_eq!(code, 0, "the untouched deployment verifies: {text}");
        assert!(
            text.contains("Anchored: the public key in auditor.pem"),
            "{text}"
        );
    }

    /// The entries as stored (read through an export, as anyone with the database can).
    fn entries(&self) -> Vec<AuditEntry> {
        let (code, text) = self.audit("export", &["--out", "stolen.json"]);
        assert_eq!(code, 0, "{text}");
        let bundle = greenlight_store::audit::Bundle::read(&self.dir.path().join("stolen.json"))
            .expect("the export reads");
        bundle.entries
    }

    /// Edits entry 3, re-hashes every entry after it, replaces all checkpoints with one
    /// signed by `key`, and rewrites the checkpoint log to match.
    fn rehash_and_resign(&self, key: &greenlight_store::SigningKey) {
        let mut entries = self.entries();
        let mut prev = GENESIS.to_owned();
        let mut sql = String::from("BEGIN;\n");
        for e in entries.iter_mut() {
            if e.seq == 3 {
                e.action = "org.delete".into();
            }
            e.prev_hash = prev.clone();
            e.hash = e.compute_hash();
            prev = e.hash.clone();
            sql.push_str(&format!(
                "UPDATE audit_entries SET action = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {};\n",
                e.action.replace('\'', "''"),
                e.prev_hash,
                e.hash,
                e.seq
            ));
        }
        let head = entries.last().expect("entries");
        let cp = key.checkpoint(head.seq, &head.hash, &head.at);
        sql.push_str(&format!(
            "DELETE FROM audit_checkpoints;\nINSERT INTO audit_checkpoints (seq, hash, at, public_key, signature) VALUES ({}, '{}', '{}', '{}', '{}');\nCOMMIT;\n",
            cp.seq, cp.hash, cp.at, cp.public_key, cp.signature
        ));
        self.sql(&sql);
        std::fs::write(&self.log, serde_json::to_string(&cp).expect("json") + "\n")
            .expect("the log rewritten");
    }
}

/// Truncating the log together with its checkpoints and deleting the checkpoint log beside
/// the database used to verify as valid. The missing log is tampering now, and the
/// auditor's copy of the log names the first missing entry.
fn truncation_and_a_deleted_log(d: Deployment) {
    d.auditor_copies();
    let cut: i64 = d
        .sql("SELECT seq FROM audit_checkpoints ORDER BY seq DESC LIMIT 1 OFFSET 1;")
        .parse()
        .expect("a second-to-last checkpoint");
    d.sql(&format!(
        "DELETE FROM audit_entries WHERE seq > {cut}; DELETE FROM audit_checkpoints WHERE seq > {cut};"
    ));
    std::fs::remove_file(&d.log).expect("the log deleted");

    let (code, text) = d.audit("verify", &["--public-key", "auditor.pem"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("checkpoint log") && text.contains("is missing"),
        "{text}"
    );
    // Even told that the deployment keeps no log, the check finds rows whose entries are
    // gone; the auditor's copy of the log names the first missing entry.
    let (code, text) = d.audit(
        "verify",
        &["--public-key", "auditor.pem", "--no-checkpoint-log"],
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("no audit entry records"), "{text}");
    let (code, text) = d.audit(
        "verify",
        &[
            "--public-key",
            "auditor.pem",
            "--no-checkpoint-log",
            "--checkpoints",
            "auditor-log.jsonl",
        ],
    );
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains(&format!("first bad entry {}", cut + 1)),
        "{text}"
    );
    assert!(text.contains("truncated"), "{text}");
}

/// Re-hashing the chain and re-signing it with a key put in the key file's place used to
/// verify as valid. Without the auditor's key the check now says it is not anchored (and
/// --require-anchor refuses it); with it, the forged signatures are named.
fn rehashed_and_resigned_with_a_new_key_file(d: Deployment) {
    d.auditor_copies();
    let forger = greenlight_store::SigningKey::generate();
    std::fs::remove_file(&d.key).expect("the key file replaced");
    forger
        .write_new_file(&d.key)
        .expect("the forger's key written");
    d.rehash_and_resign(&forger);

    let (code, text) = d.audit("verify", &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("not anchored: checked against"), "{text}");
    if d.pg.is_none() {
        assert!(
            text.contains("not anchored: checked against the key found beside the database"),
            "{text}"
        );
    }
    let (code, text) = d.audit("verify", &["--json"]);
    assert_eq!(code, 0, "{text}");
    let json: serde_json::Value =
        serde_json::from_str(text.lines().next().unwrap_or_default()).expect("JSON");
    assert_eq!(json["anchored"], false, "{json}");
    assert_eq!(d.audit("verify", &["--require-anchor"]).0, 1);

    let (code, text) = d.audit("verify", &["--public-key", "auditor.pem"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("signed by an unknown key"), "{text}");
}

/// Re-signing with the genuine key (it sits beside the database) passes the key check:
/// the auditor's copy of the checkpoint log is what names the re-hashed entries.
fn rehashed_and_resigned_with_the_genuine_key(d: Deployment) {
    d.auditor_copies();
    let genuine = greenlight_store::SigningKey::from_file(&d.key).expect("the key file");
    d.rehash_and_resign(&genuine);
    let (code, text) = d.audit("verify", &["--public-key", "auditor.pem"]);
    assert_eq!(code, 0, "the key alone cannot tell: {text}");
    let (code, text) = d.audit(
        "verify",
        &[
            "--public-key",
            "auditor.pem",
            "--checkpoints",
            "auditor-log.jsonl",
        ],
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("re-hashed"), "{text}");
}

/// Setting a declaration's state in the table (approved, blockers or not) used to leave
/// the audit log valid. Its row no longer digests to what its last entry recorded; an
/// erased consent (salt gone) is reported as erased, not as tampering.
fn a_declaration_approved_in_the_table(d: Deployment) {
    d.auditor_copies();
    let consent = d.sql("SELECT id FROM consents ORDER BY id LIMIT 1;");
    assert!(!consent.is_empty(), "the demo records a consent");
    d.sql(&format!(
        "UPDATE consents SET performer = '', scope = '', salt = '' WHERE id = '{consent}';"
    ));
    let (code, text) = d.audit("verify", &["--public-key", "auditor.pem"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!("erased: consent {consent}")),
        "{text}"
    );

    let id = d.sql(
        "SELECT id FROM declarations WHERE state <> 'approved' ORDER BY open_blockers DESC, id LIMIT 1;",
    );
    assert!(!id.is_empty(), "the demo has a declaration not approved");
    d.sql(&format!(
        "UPDATE declarations SET state = 'approved' WHERE id = '{id}';"
    ));
    let (code, text) = d.audit("verify", &["--public-key", "auditor.pem"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains(&format!(
            "declaration {id}: the row does not match the state entry"
        )),
        "{text}"
    );
    let (code, text) = d.audit("verify", &[]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("not anchored"), "{text}");
}

#[test]
fn sqlite_truncation_and_a_deleted_checkpoint_log_are_tampering() {
    if let Some(d) = Deployment::sqlite() {
        truncation_and_a_deleted_log(d);
    }
}

#[test]
fn postgres_truncation_and_a_deleted_checkpoint_log_are_tampering() {
    if let Some(d) = Deployment::postgres("truncate") {
        truncation_and_a_deleted_log(d);
    }
}

#[test]
fn sqlite_a_chain_resigned_with_a_new_key_file_fails_the_auditors_key() {
    if let Some(d) = Deployment::sqlite() {
        rehashed_and_resigned_with_a_new_key_file(d);
    }
}

#[test]
fn postgres_a_chain_resigned_with_a_new_key_file_fails_the_auditors_key() {
    if let Some(d) = Deployment::postgres("newkey") {
        rehashed_and_resigned_with_a_new_key_file(d);
    }
}

#[test]
fn sqlite_a_chain_resigned_with_the_genuine_key_fails_the_auditors_log() {
    if let Some(d) = Deployment::sqlite() {
        rehashed_and_resigned_with_the_genuine_key(d);
    }
}

#[test]
fn postgres_a_chain_resigned_with_the_genuine_key_fails_the_auditors_log() {
    if let Some(d) = Deployment::postgres("genuine") {
        rehashed_and_resigned_with_the_genuine_key(d);
    }
}

#[test]
fn sqlite_a_declaration_approved_in_the_table_is_named() {
    if let Some(d) = Deployment::sqlite() {
        a_declaration_approved_in_the_table(d);
    }
}

#[test]
fn postgres_a_declaration_approved_in_the_table_is_named() {
    if let Some(d) = Deployment::postgres("state") {
        a_declaration_approved_in_the_table(d);
    }
}

/// `--database-url sqlite:///missing/path.db` must not create the file (nor its folder):
/// exit 4, naming the path.
#[test]
fn verifying_a_missing_database_creates_nothing() {
    let dir = Dir::new();
    let missing = dir.path().join("missing/path.db");
    let url = format!("sqlite://{}", missing.display());
    let out = dir.run(&["audit", "verify", "--database-url", &url]);
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&missing.display().to_string()), "{err}");
    assert!(!missing.exists() && !missing.parent().is_some_and(|p| p.exists()));
    // The default URL (`mode=rwc` in the working directory) is not created either.
    let out = dir.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(!dir.path().join("greenlight.db").exists());
}

/// The key is generated with its public half beside it for auditors, and `audit
/// public-key` gives the same key again.
#[test]
fn keygen_writes_the_public_key_auditors_keep() {
    let dir = Dir::new();
    let out = dir.run(&[
        "admin",
        "keygen",
        "--out",
        "audit.key",
        "--public-out",
        "audit-public.pem",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("audit-public.pem"), "{text}");
    let public = std::fs::read_to_string(dir.path().join("audit-public.pem")).expect("written");
    assert!(public.contains("BEGIN PUBLIC KEY"), "{public}");
    let out = dir.run(&["audit", "public-key", "--audit-key", "audit.key"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), public);
}

/// The first `serve` creates the key beside the database and prints its public half.
#[test]
fn the_first_serve_prints_the_public_key_it_created() {
    let dir = Dir::new();
    let mut cmd = dir.command();
    cmd.args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("serve starts");
    let mut err = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut text = String::new();
    let mut line = String::new();
    while std::io::BufRead::read_line(&mut err, &mut line).unwrap_or(0) > 0 {
        text.push_str(&line);
        if line.contains("Audit public key") {
            break;
        }
        line.clear();
    }
    let _ = child.kill();
    let _ = child.wait();
    let key = greenlight_store::SigningKey::from_file(&dir.path().join("greenlight.audit.key"))
        .expect("the key beside the database");
    assert!(text.contains("greenlight.audit.key"), "{text}");
    assert!(text.contains(&key.public_hex()), "{text}");
}

/// The single-file bundle (the web page's download) and the folder are one format:
/// `verify --bundle` takes either, and the bundle's own key is no anchor.
#[test]
fn a_single_file_bundle_verifies_like_the_folder() {
    let dir = seeded();
    assert_eq!(
        dir.run(&["audit", "export", "--out", "bundle.json"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        dir.run(&["audit", "public-key", "--out", "auditor.pem"])
            .status
            .code(),
        Some(0)
    );
    let out = dir.run(&["audit", "verify", "--bundle", "bundle.json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("not anchored: checked against the key the bundle carries"),
        "{text}"
    );
    let out = dir.run(&[
        "audit",
        "verify",
        "--bundle",
        "bundle.json",
        "--public-key",
        "auditor.pem",
        "--require-anchor",
    ]);
    assert_eq!(out.status.code(), Some(0));
    // Without its checkpoint log a bundle is missing it, unless its deployment keeps none.
    let mut bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("bundle.json")).expect("read"))
            .expect("JSON");
    bundle["checkpoint_log"] = serde_json::Value::Null;
    std::fs::write(dir.path().join("nolog.json"), bundle.to_string()).expect("write");
    let out = dir.run(&["audit", "verify", "--bundle", "nolog.json"]);
    assert_eq!(out.status.code(), Some(1), "a bundle without its log");
    let out = dir.run(&[
        "audit",
        "verify",
        "--bundle",
        "nolog.json",
        "--no-checkpoint-log",
    ]);
    assert_eq!(out.status.code(), Some(0));
}
