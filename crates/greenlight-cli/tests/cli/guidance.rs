//! What `check`, `new` and the docs tell a newcomer: which packs ran and which the server adds,
//! which gate tripped on which files, the value a mistyped one meant, and a format reference
//! that names every field the schema knows.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::util::Dir;

const EU_ADR: &str = "greenlight: declaration/v1
production:
  title: Harbour Lights
  eu_release: true
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

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_human_output_names_the_packs_and_the_eu_pack_the_server_adds() {
    // Before, `check` ran only netflix-genai and said nothing: an EU release looked as if no
    // disclosure were due, while the server applies eu-ai-act-art50 too.
    let dir = Dir::new();
    dir.write("eu.yaml", EU_ADR);
    dir.write(
        "home.yaml",
        EU_ADR.replace("eu_release: true", "eu_release: false"),
    );
    let out = dir.run(&["check", "eu.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Packs: netflix-genai"), "{stdout}");
    assert!(
        stdout.contains("the server also applies eu-ai-act-art50")
            && stdout.contains("--policy eu-ai-act-art50"),
        "{stdout}"
    );
    let out = dir.run(&["check", "home.yaml"]);
    assert!(
        !text(&out.stdout).contains("also applies"),
        "only for an EU release"
    );
    let out = dir.run(&[
        "check",
        "--policy",
        "netflix-genai",
        "--policy",
        "eu-ai-act-art50",
        "eu.yaml",
    ]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Packs: netflix-genai 2025.08, eu-ai-act-art50"),
        "{stdout}"
    );
    assert!(!stdout.contains("also applies"), "{stdout}");
}

#[test]
fn a_tripped_gate_names_itself_and_its_files_and_json_keeps_its_shape() {
    let dir = Dir::new();
    dir.write("adr.yaml", EU_ADR);
    dir.write(
        "safe.yaml",
        "greenlight: declaration/v1\nproduction: {title: T}\nuse: {ref: S-1, summary: Mood board}\ntools: [{name: X, enterprise_agreement: true, data_use: none}]\n",
    );
    let out = dir.run(&[
        "check",
        "--format",
        "json",
        "--fail-on",
        "escalate",
        "--fail-on-blockers",
        "safe.yaml",
        "adr.yaml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2, "stdout holds the results and nothing else");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("the --fail-on escalate gate tripped") && stderr.contains("adr.yaml"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the --fail-on-blockers gate tripped: adr.yaml (1 open blocker)"),
        "{stderr}"
    );
    assert!(!stderr.contains("safe.yaml"), "{stderr}");
    let out = dir.run(&["check", "--fail-on", "escalate", "safe.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).is_empty(), "no gate, no message");
}

#[test]
fn a_mistyped_value_is_answered_with_the_value_meant() {
    let dir = Dir::new();
    dir.write(
        "typo.yaml",
        EU_ADR.replace("treatment: alteration", "treatment: de-ageing"),
    );
    let out = dir.run(&["check", "typo.yaml"]);
    assert_eq!(out.status.code(), Some(3));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(r#"talent[0].treatment (line 17, col 16): "de-ageing" is not one of"#)
            && stdout.contains(r#"(did you mean "re-ageing"?)"#),
        "{stdout}"
    );
    let out = dir.run(&["check", "--format", "json", "typo.yaml"]);
    let line: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        line["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.ends_with(r#"(did you mean "re-ageing"?)"#)),
        "{line}"
    );
}

#[test]
fn the_template_says_how_to_get_its_schema() {
    let dir = Dir::new();
    let out = dir.run(&["new"]);
    let template = text(&out.stdout);
    let first_lines: String = template.lines().take(3).collect::<Vec<_>>().join("\n");
    assert!(
        first_lines.contains("$schema=declaration-v1.schema.json")
            && first_lines.contains("greenlight schema --out declaration-v1.schema.json"),
        "{first_lines}"
    );
}

/// Every field path of the JSON Schema (`tools[].data_use`), following `$ref`s, with the
/// allowed values of each closed set.
fn schema_paths(
    schema: &Value,
    node: &Value,
    path: &str,
    out: &mut BTreeSet<String>,
    values: &mut BTreeSet<String>,
    depth: usize,
) {
    assert!(depth < 20, "the schema nests too deep at {path}");
    let node = match node.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.trim_start_matches('#');
            schema
                .pointer(pointer)
                .unwrap_or_else(|| panic!("unresolved {r}"))
        }
        None => node,
    };
    for key in ["enum"] {
        for v in node
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(s) = v.as_str() {
                values.insert(s.to_owned());
            }
        }
    }
    if let Some(s) = node.get("const").and_then(Value::as_str) {
        values.insert(s.to_owned());
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        for sub in node
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            schema_paths(schema, sub, path, out, values, depth + 1);
        }
    }
    if let Some(items) = node.get("items") {
        schema_paths(schema, items, &format!("{path}[]"), out, values, depth + 1);
    }
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            let p = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            out.insert(p.clone());
            schema_paths(schema, sub, &p, out, values, depth + 1);
        }
    }
}

#[test]
fn the_format_reference_describes_every_field_and_value_the_schema_knows() {
    // The README used to send users to a spec they do not have; docs/declaration-format.md
    // is the reference now, and this keeps it from falling behind the code.
    let dir = Dir::new();
    let out = dir.run(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let schema: Value = serde_json::from_slice(&out.stdout).expect("the schema is JSON");
    let mut paths = BTreeSet::new();
    let mut values = BTreeSet::new();
    schema_paths(&schema, &schema, "", &mut paths, &mut values, 0);
    assert!(paths.contains("tools[].data_use"), "{paths:?}");
    assert!(values.contains("re-ageing"), "{values:?}");
    let doc_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/declaration-format.md");
    let doc = std::fs::read_to_string(&doc_path).expect("docs/declaration-format.md");
    let missing: Vec<&String> = paths
        .iter()
        .filter(|p| !doc.contains(&format!("`{p}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/declaration-format.md does not describe: {missing:?}"
    );
    let missing: Vec<&String> = values
        .iter()
        .filter(|v| !doc.contains(&format!("`{v}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/declaration-format.md does not list the values: {missing:?}"
    );
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
    )
    .expect("README.md");
    assert!(readme.contains("docs/declaration-format.md"));
    assert!(!readme.contains("of the shared specs"));
}
