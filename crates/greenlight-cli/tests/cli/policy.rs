//! `greenlight policy test` and `policy diff`, and pack names (`id@version`), run as a user
//! runs them.

use std::path::PathBuf;

use serde_json::Value;

use crate::util::Dir;

/// A pack whose one rule always fires with outcome `review`, and the tests given.
fn pack_with_tests(tests: &str) -> String {
    format!(
        "pack: studio\nversion: '1'\nrules:\n  - id: STUDIO-ALL\n    outcome: review\n    source: s\n    message: m\n    when: 'true'\ntests:\n{tests}"
    )
}

const INLINE: &str = "{greenlight: declaration/v1, production: {title: T}, use: {ref: R-1, summary: S, purpose: ideation}, tools: [{name: M, enterprise_agreement: true, data_use: none}]}";

fn sample_pack() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../greenlight-core/packs/samples/studio-extra.yaml")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_builtin_pack_passes_its_own_tests() {
    let dir = Dir::new();
    let out = dir.run(&[
        "policy",
        "test",
        "netflix-genai",
        "eu-ai-act-art50",
        "sag-aftra-2023@2023.1",
        "--as-of",
        "2026-12-01",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passed"], true);
    let packs = report["packs"].as_array().unwrap();
    assert_eq!(packs.len(), 3);
    for pack in packs {
        let tests = pack["tests"].as_array().unwrap();
        assert!(tests.len() >= 5, "{}: {} tests", pack["pack"], tests.len());
        assert!(tests.iter().all(|t| t["passed"] == true), "{pack}");
        assert_eq!(pack["digest"].as_str().unwrap().len(), 64);
    }
    // The human output says the same: one `ok` line per test.
    let out = dir.run(&["policy", "test", "netflix-genai", "--as-of", "2026-12-01"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    let ok = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("ok"))
        .count();
    assert_eq!(ok, packs[0]["tests"].as_array().unwrap().len(), "{stdout}");
}

#[test]
fn a_wrong_expectation_fails_naming_the_test_and_the_difference() {
    let dir = Dir::new();
    dir.write(
        "studio.yaml",
        pack_with_tests(&format!(
            "  - name: right\n    declaration: {INLINE}\n    expect: {{outcome: review}}\n  - name: ideation is only notified\n    declaration: {INLINE}\n    expect: {{outcome: notify, rules: [STUDIO-ALL]}}\n"
        )),
    );
    let out = dir.run(&["policy", "test", "studio.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("FAIL  ideation is only notified (line 13)")
            && stdout.contains("outcome: expected notify, got review")
            && stdout.contains("ok    right"),
        "{stdout}"
    );
    let out = dir.run(&["policy", "test", "studio.yaml", "--format", "junit"]);
    assert_eq!(out.status.code(), Some(1));
    let xml = text(&out.stdout);
    assert!(
        xml.contains(r#"<testsuite name="studio@1" tests="2" failures="1""#)
            && xml.contains(r#"<testcase name="ideation is only notified" classname="studio@1">"#)
            && xml.contains(r#"<failure message="outcome: expected notify, got review""#)
            && xml.contains(r#"<testcase name="right" classname="studio@1"/>"#),
        "{xml}"
    );
    let out = dir.run(&["policy", "test", "studio.yaml", "--format", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passed"], false);
    let failed = &report["packs"][0]["tests"][1];
    assert_eq!(failed["name"], "ideation is only notified");
    assert_eq!(failed["differences"][0]["field"], "outcome");
    assert_eq!(failed["differences"][0]["expected"], "notify");
    assert_eq!(failed["differences"][0]["actual"], "review");
}

#[test]
fn a_pack_or_a_test_declaration_that_does_not_load_exits_2_saying_which() {
    let dir = Dir::new();
    let test =
        format!("  - name: twice\n    declaration: {INLINE}\n    expect: {{outcome: review}}\n");
    dir.write("twice.yaml", pack_with_tests(&format!("{test}{test}")));
    let out = dir.run(&["policy", "test", "twice.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("`twice`") && err.contains("lines 10 and 13"),
        "{err}"
    );

    dir.write(
        "packs/missing.yaml",
        pack_with_tests("  - name: from a file\n    declaration: cases/none.yaml\n    expect: {outcome: review}\n"),
    );
    let out = dir.run(&["policy", "test", "packs/missing.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("`from a file`") && err.contains("none.yaml"),
        "{err}"
    );
    // The path is relative to the pack file, not to the working directory.
    dir.write("packs/cases/none.yaml", "greenlight: declaration/v1\nproduction: {title: T}\nuse: {ref: R, summary: S}\ntools: [{name: M, data_use: sometimes}]\n");
    let out = dir.run(&["policy", "test", "packs/missing.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("`from a file`") && err.contains("data_use") && err.contains("sometimes"),
        "{err}"
    );

    let out = dir.run(&["policy", "test", "no-such-file.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no-such-file.yaml"));
}

#[test]
fn the_sample_studio_pack_passes_its_tests_with_an_aggregate_rule() {
    let dir = Dir::new();
    let pack = sample_pack();
    let out = dir.run(&["policy", "test", pack.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = report["packs"][0]["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"a third replica use needs an executive sign-off"),
        "{names:?}"
    );
}

#[test]
fn a_value_with_an_at_sign_names_a_pack_never_a_file() {
    let dir = Dir::new();
    dir.write("safe.yaml", format!("{INLINE}\n"));
    let out = dir.run(&[
        "check",
        "--policy",
        "netflix-genai@2025.08",
        "--format",
        "json",
        "safe.yaml",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["policy"]["version"], "2025.08");

    let out = dir.run(&["check", "--policy", "netflix-genai@2024.01", "safe.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("2024.01") && err.contains("versions known: 2025.08"),
        "{err}"
    );

    // A pack file whose name has an `@` is not read: the value is a pack name.
    dir.write("studio@1.yaml", pack_with_tests(""));
    let out = dir.run(&["check", "--policy", "studio@1.yaml", "safe.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown pack `studio@1.yaml`"));
}

const IDEATION: &str = "greenlight: declaration/v1
production: {title: Harbour Lights}
use: {ref: HL-MOOD-01, summary: Mood board, stage: development, purpose: ideation}
tools: [{name: Enterprise image model, enterprise_agreement: true, data_use: none}]
";

fn replica(n: u32) -> String {
    format!(
        "greenlight: declaration/v1
production: {{title: Harbour Lights}}
use: {{ref: HL-REPLICA-0{n}, summary: Replica for a stunt, stage: production, purpose: talent}}
tools: [{{name: Studio Replica Suite, enterprise_agreement: true, data_use: none}}]
outputs: {{final: true, prominence: featured}}
talent: [{{performer: Performer A, treatment: replica}}]
"
    )
}

#[test]
fn diff_reports_the_declarations_that_change_and_the_counts() {
    let dir = Dir::new();
    dir.write("decls/a-ideation.yaml", IDEATION);
    for n in 1..=3 {
        dir.write(&format!("decls/replica-{n}.yaml"), replica(n));
    }
    let pack = sample_pack();
    let pack = pack.to_str().unwrap();
    let args = [
        "policy",
        "diff",
        "--from",
        "netflix-genai",
        "--to",
        "netflix-genai@2025.08",
        "--to",
        pack,
        "--as-of",
        "2026-12-01",
        "--format",
        "json",
        "decls",
    ];
    let out = dir.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let diff: Value = serde_json::from_slice(&out.stdout).unwrap();
    let changes = diff["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{diff:#}");
    let change = &changes[0];
    assert_eq!(change["file"], "decls/a-ideation.yaml");
    assert_eq!(change["use_ref"], "HL-MOOD-01");
    assert_eq!(change["before"]["outcome"], "notify");
    assert_eq!(change["after"]["outcome"], "review");
    assert_eq!(change["before"]["rules"], serde_json::json!(["NFX-NOTIFY"]));
    assert_eq!(
        change["after"]["rules"],
        serde_json::json!(["NFX-NOTIFY", "STUDIO-IDEATION-REVIEW"])
    );
    assert_eq!(change["after"]["blockers"], serde_json::json!([]));
    assert_eq!(change["after"]["obligations"], serde_json::json!([]));
    assert_eq!(diff["counts"]["before"]["notify"], 1);
    assert_eq!(diff["counts"]["after"]["notify"], 0);
    assert_eq!(diff["counts"]["after"]["review"], 1);
    let before = diff["counts"]["before"].as_object().unwrap();
    let total: u64 = before.values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(total, 4);
    assert_eq!(diff["production_findings"]["before"], serde_json::json!([]));
    let after = &diff["production_findings"]["after"][0];
    assert_eq!(after["rule"], "STUDIO-REPLICA-COUNT");
    assert_eq!(after["pack"], "studio-extra");
    assert_eq!(
        after["declarations"],
        serde_json::json!(["HL-REPLICA-01", "HL-REPLICA-02", "HL-REPLICA-03"])
    );

    // The same pack set on both sides changes nothing, and still exits 0.
    let out = dir.run(&[
        "policy",
        "diff",
        "--from",
        pack,
        "--to",
        pack,
        "--as-of",
        "2026-12-01",
        "decls",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("0 of 4 declarations change"), "{stdout}");

    // The human output says what the JSON says.
    let human: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| *a != "--format" && *a != "json")
        .collect();
    let out = dir.run(&human);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("1 of 4 declarations changes")
            && stdout.contains("decls/a-ideation.yaml (HL-MOOD-01)")
            && stdout.contains("before: notify")
            && stdout.contains("after:  review")
            && stdout.contains("STUDIO-REPLICA-COUNT (escalate)"),
        "{stdout}"
    );
}

#[test]
fn diff_exits_4_on_an_unreadable_file_3_on_an_invalid_one_and_2_on_a_usage_error() {
    let dir = Dir::new();
    dir.write("a.yaml", IDEATION);
    let out = dir.run(&[
        "policy",
        "diff",
        "--from",
        "netflix-genai",
        "--to",
        "eu-ai-act-art50",
        "a.yaml",
        "missing.yaml",
    ]);
    assert_eq!(out.status.code(), Some(4));
    assert!(text(&out.stderr).contains("missing.yaml"));
    let out = dir.run(&["policy", "diff", "--from", "netflix-genai", "a.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    dir.write(
        "bad.yaml",
        "greenlight: declaration/v1\nproduction: {title: T}\n",
    );
    let out = dir.run(&[
        "policy",
        "diff",
        "--from",
        "netflix-genai",
        "--to",
        "eu-ai-act-art50",
        "a.yaml",
        "bad.yaml",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("bad.yaml"),
        "{}",
        text(&out.stderr)
    );
    let out = dir.run(&[
        "policy",
        "diff",
        "--from",
        "netflix-genai",
        "--to",
        "nope",
        "a.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2));
}
