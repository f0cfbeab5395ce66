//! `greenlight scan` and generator traces end to end: the JSON finding shape of
//! `GENERATOR-TRACE`, exit 1 until a waiver covers it, and a note on an approved final asset.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::util::Dir;

const PROMPT: &str = "a lighthouse on a cliff at dusk, oil painting, dramatic sky";

/// A fixture of the scan crate, written by AUTOMATIC1111's own writer (Pillow's PngInfo).
fn a1111_png() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../greenlight-scan/tests/fixtures/traces/a1111.png");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn scan_json(dir: &Dir, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "scan",
        "delivery",
        "--format",
        "json",
        "--as-of",
        "2026-11-23",
    ];
    args.extend_from_slice(extra);
    let out = dir.run(&args);
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "JSON on stdout ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().expect("exit code"), json)
}

fn findings(report: &Value) -> Vec<Value> {
    report["files"][0]["findings"]
        .as_array()
        .expect("findings")
        .clone()
}

#[test]
fn a_prompt_in_png_text_fails_with_its_trace_until_waived() {
    let dir = Dir::new();
    dir.write("delivery/render.png", a1111_png());
    let (code, report) = scan_json(&dir, &[]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["verdict"], "fail");
    let found = findings(&report);
    let codes: Vec<&str> = found.iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["UNDECLARED-AI", "GENERATOR-TRACE"]);
    let trace = &found[1];
    assert_eq!(trace["severity"], "overridable");
    assert_eq!(trace["waived"], false);
    assert_eq!(
        trace["trace"],
        json!({"signal": "png-text:parameters", "detail": PROMPT})
    );
    assert!(trace["message"].as_str().unwrap().contains(PROMPT));
    assert_eq!(report["summary"]["by_code"]["GENERATOR-TRACE"], 1);

    dir.write(
        "waivers.yaml",
        "- code: GENERATOR-TRACE\n  file: render.png\n  justification: concept art, cleared\n  by: producer@example.com\n  expires: 2026-12-31\n\
         - code: UNDECLARED-AI\n  file: render.png\n  justification: concept art, cleared\n  by: producer@example.com\n  expires: 2026-12-31\n",
    );
    let (code, report) = scan_json(&dir, &["--waivers", "waivers.yaml"]);
    assert_eq!(code, 0, "{report}");
    assert!(findings(&report).iter().all(|f| f["waived"] == true));
}

#[test]
fn a_trace_on_an_approved_final_asset_is_a_note_and_passes() {
    let dir = Dir::new();
    dir.write("bank/render.png", a1111_png());
    dir.write("delivery/render.png", a1111_png());
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("banks.db").display()
    );
    let out = dir.run(&[
        "assets",
        "add",
        "--database-url",
        &url,
        "--production",
        "ep101",
        "--use",
        "PLATE-1",
        "bank/render.png",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.write(
        "decls/plate.yaml",
        "greenlight: declaration/v1\nproduction:\n  title: Harbour Lights\n  eu_release: false\n  release_date: 2026-12-01\n\
         use:\n  ref: PLATE-1\n  summary: Generated plate\ntools:\n  - name: Gen\noutputs:\n  final: true\n  media: [image]\n",
    );
    dir.write(
        "decls/plate.decision.yaml",
        "state: approved\nby: reviewer@example.com\nat: 2026-11-02\n",
    );
    let (code, report) = scan_json(&dir, &["--database-url", &url, "--declarations", "decls"]);
    assert_eq!(code, 0, "{report}");
    let found = findings(&report);
    let got: Vec<(&str, &str)> = found
        .iter()
        .map(|f| (f["code"].as_str().unwrap(), f["severity"].as_str().unwrap()))
        .collect();
    assert_eq!(got, [("APPROVED-AI", "note"), ("GENERATOR-TRACE", "note")]);
    assert_eq!(found[1]["trace"]["signal"], "png-text:parameters");
}
