//! `greenlight check`, `policy show`, `schema` and `new`, run as a user runs them.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::util::{Dir, shared_dir};

const SAFE: &str = "greenlight: declaration/v1
production:
  title: Harbour Lights
use:
  ref: HL-1
  summary: Mood board for the lighthouse
tools:
  - name: Enterprise image model
    enterprise_agreement: true
    data_use: none
";

const ADR: &str = "greenlight: declaration/v1
production:
  title: Harbour Lights
use:
  ref: HL-ADR-07
  summary: Re-sync the lead's lips to a new line
  stage: post-production
tools:
  - name: Enterprise face re-animation tool
    enterprise_agreement: true
    data_use: none
outputs:
  final: true
talent:
  - performer: Lead Actor
    treatment: alteration
    changes_performance: true
";

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn sorted_set(values: &Value, key: &str) -> Vec<String> {
    let mut ids: Vec<String> = values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[key].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[test]
fn json_mode_prints_one_line_per_file_in_order_and_keeps_going_past_errors() {
    let dir = Dir::new();
    dir.write("a.yaml", SAFE);
    dir.write(
        "b.yaml",
        SAFE.replace("data_use: none", "data_use: sometimes"),
    );
    dir.write("c.yaml", ADR);
    let out = dir.run(&[
        "check",
        "--format",
        "json",
        "a.yaml",
        "b.yaml",
        "missing.yaml",
        "c.yaml",
    ]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "an unreadable file wins over an invalid one"
    );
    let lines = json_lines(&out.stdout);
    let files: Vec<_> = lines.iter().map(|l| l["file"].as_str().unwrap()).collect();
    assert_eq!(files, ["a.yaml", "b.yaml", "missing.yaml", "c.yaml"]);
    assert_eq!(lines[0]["outcome"], "notify");
    assert_eq!(lines[0]["policy"]["id"], "netflix-genai");
    assert_eq!(lines[0]["policies"][0]["version"], "2025.08");
    assert_eq!(lines[0]["obligations"], serde_json::json!([]));
    assert_eq!(lines[0]["findings"][0]["pack"], "netflix-genai");
    assert_eq!(lines[1]["errors"][0]["path"], "tools[0].data_use");
    assert_eq!(lines[1]["errors"][0]["line"], 10);
    assert!(lines[1]["error"].is_string());
    assert!(lines[2]["error"].as_str().unwrap().contains("missing.yaml"));
    assert!(lines[2]["errors"][0].get("line").is_none());
    assert_eq!(lines[3]["outcome"], "written_approval");
    assert_eq!(lines[3]["blockers"][0]["rule"], "NFX-TALENT-ALTERATION");
    assert_eq!(lines[3]["blockers"][0]["fields"][0], "talent[0].consent");
    assert_eq!(lines[3]["principles"]["p5"], "not-met");
}

#[test]
fn exit_codes_follow_the_documented_table() {
    let dir = Dir::new();
    dir.write("safe.yaml", SAFE);
    dir.write("adr.yaml", ADR);
    dir.write("bad.yaml", "greenlight: declaration/v1\n");
    let code = |args: &[&str]| dir.run(args).status.code();
    assert_eq!(code(&["check", "safe.yaml"]), Some(0));
    assert_eq!(
        code(&["check", "adr.yaml"]),
        Some(0),
        "without a gate every outcome exits 0"
    );
    assert_eq!(
        code(&["check", "--fail-on", "written_approval", "adr.yaml"]),
        Some(1)
    );
    assert_eq!(
        code(&["check", "--fail-on", "written-approval", "safe.yaml"]),
        Some(0)
    );
    assert_eq!(
        code(&["check", "--fail-on", "notify", "safe.yaml"]),
        Some(1),
        "at or above"
    );
    assert_eq!(code(&["check", "--fail-on-blockers", "adr.yaml"]), Some(1));
    assert_eq!(code(&["check", "--fail-on-blockers", "safe.yaml"]), Some(0));
    assert_eq!(
        code(&[
            "check",
            "--fail-on",
            "written_approval",
            "adr.yaml",
            "bad.yaml"
        ]),
        Some(3),
        "the highest code wins"
    );
    assert_eq!(code(&["check", "bad.yaml"]), Some(3));
    assert_eq!(code(&["check", "nope.yaml"]), Some(4));
    assert_eq!(
        code(&["check", "--fail-on", "sometimes", "safe.yaml"]),
        Some(2)
    );
    assert_eq!(
        code(&["check", "--policy", "no-such-pack", "safe.yaml"]),
        Some(2)
    );
    assert_eq!(code(&["check"]), Some(2));
}

#[test]
fn an_oversize_file_is_an_invalid_declaration() {
    let dir = Dir::new();
    dir.write("big.yaml", vec![b'#'; 2 * 1024 * 1024]);
    let out = dir.run(&["check", "--format", "json", "big.yaml"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        json_lines(&out.stdout)[0]["error"]
            .as_str()
            .unwrap()
            .contains("too large")
    );
}

#[test]
fn standard_input_is_read_with_a_dash() {
    use std::io::Write;
    let dir = Dir::new();
    let mut child = dir
        .command()
        .args(["check", "--format", "json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ADR.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(json_lines(&out.stdout)[0]["outcome"], "written_approval");
}

#[test]
fn human_output_groups_by_principle_shows_lines_and_uses_no_colour_off_a_terminal() {
    let dir = Dir::new();
    dir.write("adr.yaml", ADR);
    let out = dir.run(&["check", "adr.yaml"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.contains('\u{1b}'),
        "no escape codes when stdout is not a terminal"
    );
    assert!(text.contains("Outcome: WRITTEN APPROVAL"), "{text}");
    assert!(text.contains("p5 no talent performance"), "{text}");
    assert!(
        text.contains("NFX-TALENT-ALTERATION written approval  line 16"),
        "{text}"
    );
    assert!(text.contains("Blockers"), "{text}");
    assert!(text.contains("To clear:"), "{text}");
    let p4 = text.find("p4 generated material").unwrap();
    let p5 = text.find("p5 no talent").unwrap();
    assert!(p4 < p5);
}

#[test]
fn human_output_of_an_invalid_file_points_at_the_line() {
    let dir = Dir::new();
    dir.write(
        "bad.yaml",
        SAFE.replace("data_use: none", "data_use: sometimes"),
    );
    let out = dir.run(&["check", "bad.yaml"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("tools[0].data_use (line 10, col 15)"),
        "{text}"
    );
    assert!(text.contains("  10 |     data_use: sometimes"), "{text}");
}

#[test]
fn several_packs_report_under_their_own_ids_with_obligations() {
    let dir = Dir::new();
    let eu = ADR
        .replace(
            "  title: Harbour Lights",
            "  title: Harbour Lights\n  eu_release: true\n  release_date: 2026-09-01",
        )
        .replace("  final: true", "  final: true\n  media: [video]");
    dir.write("eu.yaml", eu);
    let out = dir.run(&[
        "check",
        "--format",
        "json",
        "--policy",
        "netflix-genai",
        "--policy",
        "eu-ai-act-art50",
        "eu.yaml",
    ]);
    let line = &json_lines(&out.stdout)[0];
    assert_eq!(line["policies"].as_array().unwrap().len(), 2);
    assert!(line["principles"].is_object());
    let kinds = sorted_set(&line["obligations"], "kind");
    assert_eq!(kinds, ["disclose-existence", "keep-marking"]);
    assert_eq!(line["obligations"][0]["due"], "2026-09-01");
    assert_eq!(line["obligations"][0]["pack"], "eu-ai-act-art50");

    let out = dir.run(&[
        "check",
        "--format",
        "json",
        "--policy",
        "eu-ai-act-art50",
        "eu.yaml",
    ]);
    let line = &json_lines(&out.stdout)[0];
    assert!(
        line.get("principles").is_none(),
        "no pack with principles was evaluated"
    );
    assert_eq!(line["policy"]["id"], "eu-ai-act-art50");
}

#[test]
fn a_pack_file_can_be_given_and_a_broken_one_names_its_rule() {
    let dir = Dir::new();
    dir.write("safe.yaml", SAFE);
    dir.write("studio.yaml", "pack: studio-extra\nversion: '1'\nrules:\n  - id: STUDIO-PROMPTS\n    outcome: review\n    source: Studio policy 4.2\n    message: Prompts are reviewed.\n    when: inputs.exists(i, i.kind == 'prompt') || true\n");
    dir.write("broken.yaml", "pack: broken\nversion: '1'\nrules:\n  - id: BROKEN-1\n    outcome: review\n    source: s\n    message: m\n    when: outputs.finall\n");
    let out = dir.run(&[
        "check",
        "--format",
        "json",
        "--policy",
        "./studio.yaml",
        "safe.yaml",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let line = &json_lines(&out.stdout)[0];
    assert_eq!(line["findings"][0]["rule"], "STUDIO-PROMPTS");
    assert_eq!(line["outcome"], "review");
    let out = dir.run(&["check", "--policy", "broken.yaml", "safe.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("BROKEN-1"), "{err}");
}

#[test]
fn sarif_output_carries_findings_with_line_regions_and_obligations_as_notes() {
    let dir = Dir::new();
    dir.write("adr.yaml", ADR);
    dir.write(
        "bad.yaml",
        SAFE.replace("data_use: none", "data_use: sometimes"),
    );
    let out = dir.run(&[
        "check",
        "--format",
        "sarif",
        "--policy",
        "netflix-genai",
        "--policy",
        "eu-ai-act-art50",
        "adr.yaml",
        "bad.yaml",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let results = log["runs"][0]["results"].as_array().unwrap();
    let alteration = results
        .iter()
        .find(|r| r["ruleId"] == "NFX-TALENT-ALTERATION" && r["properties"]["blocker"].is_null())
        .unwrap();
    assert_eq!(alteration["level"], "error");
    assert_eq!(
        alteration["locations"][0]["physicalLocation"]["region"]["startLine"],
        16
    );
    assert_eq!(
        alteration["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "adr.yaml"
    );
    let invalid = results
        .iter()
        .find(|r| r["ruleId"] == "GL-INVALID")
        .unwrap();
    assert_eq!(
        invalid["locations"][0]["physicalLocation"]["region"]["startLine"],
        10
    );
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert!(rules.iter().any(|r| r["id"] == "NFX-NOTIFY"));
}

#[test]
fn policy_show_lists_every_built_in_pack() {
    let dir = Dir::new();
    let out = dir.run(&["policy", "show"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for id in [
        "netflix-genai 2025.08",
        "eu-ai-act-art50 2026.1",
        "sag-aftra-2023 2023.1",
        "NFX-TALENT-DECEASED",
        "EU-50-4-DEEPFAKE-ARTISTIC",
        "SAG-SYNTHETIC-FEATURE",
        "keep-marking",
        "bargain-compensation",
    ] {
        assert!(text.contains(id), "{id} missing from:\n{text}");
    }
    let out = dir.run(&[
        "policy",
        "show",
        "--format",
        "json",
        "--policy",
        "netflix-genai",
    ]);
    let packs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(packs[0]["pack"], "netflix-genai");
    assert_eq!(packs[0]["rules"].as_array().unwrap().len(), 22);
}

#[test]
fn check_help_names_every_built_in_pack() {
    let out = Dir::new().run(&["check", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    for id in greenlight_core::pack::Pack::builtin_ids() {
        assert!(help.contains(id), "{id} missing from:\n{help}");
    }
}

#[test]
fn the_union_pack_runs_from_the_command_line() {
    let dir = Dir::new();
    dir.write(
        "double.yaml",
        format!(
            "{}talent:\n  - performer: Ana Ruiz\n    treatment: replica\n    replica_origin: employment\n",
            SAFE.replace(
                "  title: Harbour Lights\n",
                "  title: Harbour Lights\n  agreements: [sag-aftra-tv-theatrical-2023]\n"
            )
        ),
    );
    let out = dir.run(&[
        "check",
        "--format",
        "json",
        "--policy",
        "netflix-genai",
        "--policy",
        "sag-aftra-2023",
        "--fail-on-blockers",
        "double.yaml",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the consent blocker trips the gate"
    );
    let got = &json_lines(&out.stdout)[0];
    assert_eq!(got["policies"][1]["id"], "sag-aftra-2023");
    assert_eq!(got["policies"][1]["version"], "2023.1");
    let sag: Vec<_> = got["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["pack"] == "sag-aftra-2023")
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(sag, ["SAG-EBDR"]);
    assert_eq!(got["obligations"][0]["kind"], "compensate");
    assert_eq!(got["obligations"][0]["due"], "before use");
    assert!(
        got["blockers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["rule"] == "SAG-EBDR" && b["fields"][0] == "talent[0].consent")
    );
    // Without the agreement the pack has nothing to say, and no field is unknown to the format.
    dir.write(
        "plain.yaml",
        format!("{SAFE}talent:\n  - performer: Ana Ruiz\n    treatment: replica\n"),
    );
    let out = dir.run(&[
        "check",
        "--format",
        "json",
        "--policy",
        "sag-aftra-2023",
        "plain.yaml",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        sorted_set(&json_lines(&out.stdout)[0]["findings"], "rule"),
        ["SAG-NOT-APPLICABLE"]
    );
}

#[test]
fn schema_is_json_schema_of_the_format() {
    let dir = Dir::new();
    let out = dir.run(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        schema["$schema"]
            .as_str()
            .unwrap()
            .contains("json-schema.org")
    );
    assert_eq!(
        schema["properties"]["greenlight"]["const"],
        "declaration/v1"
    );
    let required: Vec<_> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for field in ["greenlight", "production", "use", "tools"] {
        assert!(required.contains(&field), "{field}");
    }
    let text = out.stdout.clone();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("\"trains\"") && text.contains("\"re-ageing\""),
        "enums list their values"
    );
    // The union pack's fields, with their values and constraints.
    for value in [
        "\"sag-aftra-tv-theatrical-2023\"",
        "\"historical-biographical\"",
        "\"background\"",
        "\"independent\"",
        "\"ears\"",
    ] {
        assert!(text.contains(value), "{value}");
    }
    let defs = &schema["definitions"];
    assert_eq!(
        defs["Production"]["properties"]["agreements"]["uniqueItems"],
        true
    );
    assert_eq!(defs["Scan"]["required"], serde_json::json!(["date"]));
    assert_eq!(
        defs["Talent"]["properties"]["replaces_human_role"]["default"],
        false
    );
    assert_eq!(
        defs["Consent"]["properties"]["separately_signed"]["type"],
        "boolean"
    );
    assert!(defs["Mention"]["properties"]["feature"].is_object());
    assert!(defs["Use"]["properties"]["genre"].is_object());
}

#[test]
fn new_writes_a_template_that_checks_and_never_overwrites_by_accident() {
    let dir = Dir::new();
    let out = dir.run(&["new", "use.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    let out = dir.run(&["check", "--format", "json", "use.yaml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(json_lines(&out.stdout)[0]["outcome"].is_string());
    assert_eq!(dir.run(&["new", "use.yaml"]).status.code(), Some(2));
    assert_eq!(
        dir.run(&["new", "--force", "use.yaml"]).status.code(),
        Some(0)
    );
}

/// What a scenario folder's `expected.json` holds besides the outcome and the rules.
#[derive(Clone, Copy)]
struct Expects {
    principles: bool,
    blockers: bool,
    obligations: bool,
}

/// Runs every declaration of `../shared/<folder>` with `--policy <policy>` and returns how
/// each differs from its `expected.json`: the outcome, the rule set, and what `expects` names
/// (the principles, the set of rules with an open blocker, the sorted obligation kinds).
fn scenario_differences(
    shared: &std::path::Path,
    folder: &str,
    policy: &str,
    expects: Expects,
) -> Vec<String> {
    let dir = shared.join(folder);
    let expected: BTreeMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    assert!(!expected.is_empty());
    let mut differences = Vec::new();
    for (name, want) in &expected {
        let out = Dir::new().run(&[
            "check",
            "--format",
            "json",
            "--policy",
            policy,
            dir.join(name).to_str().unwrap(),
        ]);
        let got = &json_lines(&out.stdout)[0];
        let mut compare = |what: &str, g: Value, w: &Value| {
            if &g != w {
                differences.push(format!("{folder}/{name}: {what}: got {g}, expected {w}"));
            }
        };
        compare("outcome", got["outcome"].clone(), &want["outcome"]);
        compare(
            "rules",
            serde_json::json!(sorted_set(&got["findings"], "rule")),
            &want["rules"],
        );
        if expects.principles {
            compare("principles", got["principles"].clone(), &want["principles"]);
        }
        if expects.blockers {
            compare(
                "blockers",
                serde_json::json!(sorted_set(&got["blockers"], "rule")),
                &want["blockers"],
            );
        }
        if expects.obligations {
            let mut kinds: Vec<String> = got["obligations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["kind"].as_str().unwrap().to_owned())
                .collect();
            kinds.sort();
            compare(
                "obligations",
                serde_json::json!(kinds),
                &want["obligations"],
            );
        }
    }
    differences
}

/// Every public scenario of `../shared/scenarios/public` gives its expected outcome, principles,
/// rule set and blocker set (and the EU ones theirs with `--policy eu-ai-act-art50`).
#[test]
fn public_scenarios_match_their_expected_results() {
    let Some(shared) = shared_dir() else {
        eprintln!(
            "skipped: ../shared is not beside the project, so the public scenarios are not available"
        );
        return;
    };
    let mut differences = scenario_differences(
        &shared,
        "scenarios/public",
        "netflix-genai",
        Expects {
            principles: true,
            blockers: true,
            obligations: false,
        },
    );
    differences.extend(scenario_differences(
        &shared,
        "scenarios/eu-public",
        "eu-ai-act-art50",
        Expects {
            principles: false,
            blockers: false,
            obligations: true,
        },
    ));
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// Every scenario of `../shared/scenarios/sag-public` gives its expected outcome, rule set,
/// blocker set and obligation kinds with `--policy sag-aftra-2023`.
#[test]
fn union_scenarios_match_their_expected_results() {
    let Some(shared) =
        shared_dir().filter(|s| s.join("scenarios/sag-public/expected.json").is_file())
    else {
        eprintln!(
            "skipped: ../shared/scenarios/sag-public is not beside the project, so the union pack's public scenarios are not available"
        );
        return;
    };
    let differences = scenario_differences(
        &shared,
        "scenarios/sag-public",
        "sag-aftra-2023",
        Expects {
            principles: false,
            blockers: true,
            obligations: true,
        },
    );
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn colour_can_be_forced_and_no_color_turns_it_off() {
    let dir = Dir::new();
    dir.write("adr.yaml", ADR);
    let forced = dir
        .command()
        .args(["check", "adr.yaml"])
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&forced.stdout).contains('\u{1b}'),
        "CLICOLOR_FORCE gives colour"
    );
    let off = dir
        .command()
        .args(["check", "adr.yaml"])
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&off.stdout).contains('\u{1b}'),
        "NO_COLOR wins"
    );
}

#[test]
fn a_folder_stands_for_its_declaration_files_in_name_order() {
    let dir = Dir::new();
    dir.write("decls/b.yaml", ADR);
    dir.write("decls/a.json", r#"{"greenlight": "declaration/v1", "production": {"title": "T"}, "use": {"ref": "R", "summary": "S"}, "tools": [{"name": "A", "enterprise_agreement": true, "data_use": "none"}]}"#);
    dir.write("decls/notes.txt", "not a declaration");
    let out = dir.run(&["check", "--format", "json", "decls"]);
    assert_eq!(out.status.code(), Some(0));
    let files: Vec<String> = json_lines(&out.stdout)
        .iter()
        .map(|l| l["file"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(files, ["decls/a.json", "decls/b.yaml"]);
}
