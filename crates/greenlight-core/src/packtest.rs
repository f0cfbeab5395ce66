//! Pack tests: the `tests:` of a pack file, and the runner `greenlight policy test` calls.
//!
//! A test gives a declaration (inline, or a path relative to the pack file) or, for aggregate
//! rules, a production's `declarations`, and what a check with the pack alone must give. The
//! runner is pure: the caller reads the files the tests name ([`declaration_paths`]) and passes
//! their bytes in, with the date to use when a test gives no `as_of`.
//!
//! ```
//! use greenlight_core::{pack::Pack, packtest};
//! use std::collections::BTreeMap;
//!
//! let pack = Pack::builtin("netflix-genai").unwrap();
//! let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
//! let results = packtest::run(&pack, &BTreeMap::new(), today).unwrap();
//! assert!(!results.is_empty() && results.iter().all(|t| t.passed()));
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Value, json};

use crate::diff::Summary;
use crate::eval::{EvalError, LiveDeclaration, check_with, production_with};
use crate::format::{self, SourceKind};
use crate::pack::{LoadOptions, Pack, PackError, TestDeclaration, TestDef};
use crate::wire::CheckResult;

/// Why the tests of a pack could not be run (as opposed to a test that fails).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TestError {
    /// A test's declaration is missing, does not parse or is not valid.
    #[error("pack {pack}, test `{test}` (line {line}), {declaration}: {message}")]
    Declaration {
        pack: String,
        test: String,
        line: u64,
        /// The path as written, or `inline declaration` (with its position in `declarations`).
        declaration: String,
        message: String,
    },
    /// An expression failed while evaluating the test.
    #[error("pack {pack}, test `{test}` (line {line}): {error}")]
    Evaluation {
        pack: String,
        test: String,
        line: u64,
        error: EvalError,
    },
}

/// One field where a test's expectation and the check differ.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// `outcome`, `rules`, `blockers`, `obligations`, `principles.p1` or `production_findings`.
    pub field: String,
    pub expected: Value,
    pub actual: Value,
}

/// The result of one test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestResult {
    pub name: String,
    /// The line of the test's `name` in the pack file.
    pub line: u64,
    /// Empty when the test passed.
    pub differences: Vec<Difference>,
}

impl TestResult {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.differences.is_empty()
    }
}

fn line_of(test: &TestDef) -> u64 {
    test.name.referenced.line()
}

/// Checks the tests' shape when the pack is loaded; every error names the test and its line.
pub(crate) fn validate(pack: &Pack, options: LoadOptions) -> Result<(), PackError> {
    let mut seen: HashMap<&str, u64> = HashMap::new();
    for test in &pack.file().tests {
        let name = test.name.value.as_str();
        let line = line_of(test);
        let error = |message: String| PackError::Test {
            pack: pack.id().to_owned(),
            test: name.to_owned(),
            line,
            message,
        };
        if name.trim().is_empty() {
            return Err(error("`name` must not be empty".to_owned()));
        }
        if let Some(first) = seen.insert(name, line) {
            return Err(error(format!(
                "the name is used twice in the pack, by the tests at lines {first} and {line}"
            )));
        }
        let sources: Vec<&TestDeclaration> = match (&test.declaration, &test.declarations) {
            (Some(_), Some(_)) => {
                return Err(error(
                    "give either `declaration` or `declarations`, not both".to_owned(),
                ));
            }
            (None, None) => {
                return Err(error(
                    "give a `declaration` (or `declarations` for aggregate rules)".to_owned(),
                ));
            }
            (Some(d), None) => {
                if test.expect.outcome.is_none() {
                    return Err(error("`expect.outcome` is required".to_owned()));
                }
                vec![d]
            }
            (None, Some(list)) => {
                if list.is_empty() {
                    return Err(error("`declarations` must not be empty".to_owned()));
                }
                let e = &test.expect;
                let per_use = [
                    ("outcome", e.outcome.is_some()),
                    ("rules", e.rules.is_some()),
                    ("blockers", e.blockers.is_some()),
                    ("obligations", e.obligations.is_some()),
                    ("principles", e.principles.is_some()),
                ];
                if let Some((key, _)) = per_use.iter().find(|(_, given)| *given) {
                    return Err(error(format!(
                        "`expect.{key}` is about one declaration; a test with `declarations` \
                         expects only `production_findings`"
                    )));
                }
                if e.production_findings.is_none() {
                    return Err(error(
                        "`expect.production_findings` is required with `declarations`".to_owned(),
                    ));
                }
                list.iter().collect()
            }
        };
        if let Some(as_of) = &test.as_of
            && NaiveDate::parse_from_str(as_of, "%Y-%m-%d").is_err()
        {
            return Err(error(format!(
                "`as_of`: `{as_of}` is not a date; expected YYYY-MM-DD"
            )));
        }
        for source in sources {
            let Some((source, _)) = source.parts() else {
                return Err(error(
                    "a declaration given with its `organisation` cannot carry another".to_owned(),
                ));
            };
            if let TestDeclaration::Path(path) = source {
                if path.trim().is_empty() {
                    return Err(error("the declaration path is empty".to_owned()));
                }
                if options.inline_tests_only {
                    return Err(error(format!(
                        "the declaration is a path (`{path}`); this pack must carry its test \
                         declarations inline"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The declaration files the pack's tests name, as `(test name, path as written)`, in order.
/// Paths are relative to the pack file; the caller reads them for [`run`].
pub fn declaration_paths(pack: &Pack) -> Vec<(&str, &str)> {
    let mut paths = Vec::new();
    for test in &pack.file().tests {
        let sources = test
            .declaration
            .iter()
            .chain(test.declarations.iter().flatten());
        for source in sources {
            if let Some((TestDeclaration::Path(path), _)) = source.parts() {
                paths.push((test.name.value.as_str(), path.as_str()));
            }
        }
    }
    paths
}

/// Runs every test of `pack` with the pack alone. `files` holds the bytes of each path of
/// [`declaration_paths`]; `today` is the date of a test without `as_of`.
pub fn run(
    pack: &Pack,
    files: &BTreeMap<String, Vec<u8>>,
    today: NaiveDate,
) -> Result<Vec<TestResult>, TestError> {
    pack.file()
        .tests
        .iter()
        .map(|test| run_one(pack, test, files, today))
        .collect()
}

fn run_one(
    pack: &Pack,
    test: &TestDef,
    files: &BTreeMap<String, Vec<u8>>,
    today: NaiveDate,
) -> Result<TestResult, TestError> {
    let name = test.name.value.clone();
    let line = line_of(test);
    let as_of = test
        .as_of
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .unwrap_or(today);
    let decl_error = |declaration: String, message: String| TestError::Declaration {
        pack: pack.id().to_owned(),
        test: name.clone(),
        line,
        declaration,
        message,
    };
    let eval_error = |error: EvalError| TestError::Evaluation {
        pack: pack.id().to_owned(),
        test: name.clone(),
        line,
        error,
    };
    let several = test.declarations.is_some();
    let sources: Vec<&TestDeclaration> = test
        .declaration
        .iter()
        .chain(test.declarations.iter().flatten())
        .collect();
    let mut parsed = Vec::with_capacity(sources.len());
    let mut organisations = Vec::with_capacity(sources.len());
    for (index, source) in sources.iter().enumerate() {
        // Nesting is refused when the pack loads.
        let Some((source, organisation)) = source.parts() else {
            continue;
        };
        organisations.push(organisation);
        let (label, result) = match source {
            TestDeclaration::Path(path) => {
                let Some(bytes) = files.get(path) else {
                    return Err(decl_error(
                        format!("declaration `{path}`"),
                        "the file was not given to the test runner".to_owned(),
                    ));
                };
                (
                    format!("declaration `{path}`"),
                    format::parse(bytes, SourceKind::from_path(Path::new(path))),
                )
            }
            TestDeclaration::Inline(map) => {
                let label = if several {
                    format!("inline declaration {}", index + 1)
                } else {
                    "inline declaration".to_owned()
                };
                // A mapping of JSON values always serializes.
                let bytes = serde_json::to_vec(map).unwrap_or_default();
                (label, format::parse(&bytes, SourceKind::Json))
            }
            // `parts` never returns a declaration with an organisation.
            TestDeclaration::Declared(_) => continue,
        };
        match result {
            Ok(p) => parsed.push(p),
            Err(e) => {
                let problems: Vec<String> = e.problems.iter().map(ToString::to_string).collect();
                let message = if problems.is_empty() {
                    e.summary.clone()
                } else {
                    format!("{}: {}", e.summary, problems.join("; "))
                };
                return Err(decl_error(label, message));
            }
        }
    }
    let results: Vec<CheckResult> = parsed
        .iter()
        .map(|p| check_with(&p.declaration, [pack], as_of))
        .collect::<Result<_, _>>()
        .map_err(eval_error)?;

    let expect = &test.expect;
    let mut differences = Vec::new();
    if !several && let Some(result) = results.first() {
        let summary = Summary::of(result);
        let d = &mut differences;
        compare_set(d, "rules", &expect.rules, summary.rules);
        compare_set(d, "blockers", &expect.blockers, summary.blockers);
        compare_set(d, "obligations", &expect.obligations, summary.obligations);
        if let Some(outcome) = expect.outcome
            && outcome != result.outcome
        {
            differences.insert(
                0,
                Difference {
                    field: "outcome".to_owned(),
                    expected: json!(outcome),
                    actual: json!(result.outcome),
                },
            );
        }
        if let Some(principles) = &expect.principles {
            for (id, answer) in principles {
                let actual = result.principles.as_ref().and_then(|p| p.get(id));
                if actual != Some(answer) {
                    differences.push(Difference {
                        field: format!("principles.{id}"),
                        expected: json!(answer),
                        actual: json!(actual),
                    });
                }
            }
        }
    }
    if expect.production_findings.is_some() {
        let live: Vec<LiveDeclaration> = parsed
            .iter()
            .zip(&results)
            .zip(&organisations)
            .map(|((p, r), organisation)| LiveDeclaration {
                reference: &p.declaration.usage.reference,
                organisation: *organisation,
                declaration: &p.declaration,
                result: r,
            })
            .collect();
        let findings = production_with(&live, [pack], as_of).map_err(eval_error)?;
        let actual: Vec<String> = findings
            .iter()
            .map(|f| f.rule.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(str::to_owned)
            .collect();
        compare_set(
            &mut differences,
            "production_findings",
            &expect.production_findings,
            actual,
        );
    }
    Ok(TestResult {
        name,
        line,
        differences,
    })
}

/// Adds a difference when `expected` is given and, as a set, is not `actual` (sorted, unique).
fn compare_set(
    differences: &mut Vec<Difference>,
    field: &str,
    expected: &Option<Vec<String>>,
    actual: Vec<String>,
) {
    let Some(expected) = expected else {
        return;
    };
    let expected: Vec<&String> = expected
        .iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if expected.iter().copied().ne(actual.iter()) {
        differences.push(Difference {
            field: field.to_owned(),
            expected: json!(expected),
            actual: json!(actual),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECL: &str = "{greenlight: declaration/v1, production: {title: T}, \
        use: {ref: R-1, summary: S, purpose: ideation}, \
        tools: [{name: M, enterprise_agreement: true, data_use: none}]}";

    fn pack(tests: &str) -> String {
        format!(
            "pack: t\nversion: '1'\nrules:\n  - {{id: ALL, outcome: review, source: s, message: m, when: 'true'}}\ntests:\n{tests}"
        )
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date")
    }

    #[test]
    fn a_repeated_test_name_names_both_lines() {
        let text = pack(&format!(
            "  - name: same\n    declaration: {DECL}\n    expect: {{outcome: review}}\n  - name: same\n    declaration: {DECL}\n    expect: {{outcome: review}}\n"
        ));
        let err = Pack::from_yaml(&text).unwrap_err().to_string();
        assert!(
            err.contains("`same`") && err.contains("lines 6 and 9"),
            "{err}"
        );
    }

    #[test]
    fn inline_only_refuses_a_path_naming_the_test() {
        let text = pack(
            "  - name: from a file\n    declaration: tests/one.yaml\n    expect: {outcome: review}\n",
        );
        assert!(Pack::from_yaml(&text).is_ok());
        let err = Pack::from_yaml_with(
            &text,
            LoadOptions {
                inline_tests_only: true,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`from a file`")
                && err.contains("tests/one.yaml")
                && err.contains("line 6"),
            "{err}"
        );
    }

    #[test]
    fn a_production_test_expects_only_production_findings_and_inline_only_covers_it() {
        let text = pack(&format!(
            "  - name: production\n    declarations: [{DECL}, cases/two.yaml]\n    expect: {{outcome: review, production_findings: []}}\n"
        ));
        let err = Pack::from_yaml(&text).unwrap_err().to_string();
        assert!(
            err.contains("`production`") && err.contains("expect.outcome"),
            "{err}"
        );
        let text = text.replace(
            "{outcome: review, production_findings",
            "{production_findings",
        );
        if let Err(e) = Pack::from_yaml(&text) {
            panic!("{e}");
        }
        let err = Pack::from_yaml_with(
            &text,
            LoadOptions {
                inline_tests_only: true,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("cases/two.yaml"), "{err}");
    }

    #[test]
    fn production_tests_give_each_declaration_its_organisation() {
        let aggregate = "aggregates:\n  - id: SHARED-TOOL\n    outcome: escalate\n    source: s\n    message: m\n    when: declarations.map(d, d.organisation).distinct().size() >= 3\n";
        let vendors = |names: [&str; 3]| {
            names
                .iter()
                .map(|n| format!("{{organisation: {n}, declaration: {DECL}}}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let text = pack(&format!(
            "  - name: three vendors\n    declarations: [{}]\n    expect: {{production_findings: [SHARED-TOOL]}}\n  - name: one vendor\n    declarations: [{}]\n    expect: {{production_findings: []}}\n",
            vendors(["A", "B", "C"]),
            vendors(["A", "A", "A"]),
        ))
        .replace("tests:\n", &format!("{aggregate}tests:\n"));
        let pack = Pack::from_yaml(&text).expect("loads");
        let results = run(&pack, &BTreeMap::new(), today()).expect("runs");
        assert!(results.iter().all(TestResult::passed), "{results:?}");

        // Without organisations every one is null: one distinct value, so the first test fails.
        let text = text
            .replace("{organisation: A, declaration: ", "")
            .replace("{organisation: B, declaration: ", "")
            .replace("{organisation: C, declaration: ", "")
            .replace("}}, ", "}, ")
            .replace("}}]", "}]");
        let pack = Pack::from_yaml(&text).expect("loads");
        let results = run(&pack, &BTreeMap::new(), today()).expect("runs");
        assert!(!results[0].passed() && results[1].passed(), "{results:?}");
    }

    #[test]
    fn an_outcome_is_required_for_one_declaration() {
        let text = pack(&format!(
            "  - name: no outcome\n    declaration: {DECL}\n    expect: {{rules: [ALL]}}\n"
        ));
        let err = Pack::from_yaml(&text).unwrap_err().to_string();
        assert!(
            err.contains("no outcome") && err.contains("expect.outcome"),
            "{err}"
        );
    }

    #[test]
    fn a_wrong_expectation_reports_expected_and_actual() {
        let text = pack(&format!(
            "  - name: wrong\n    declaration: {DECL}\n    expect: {{outcome: notify, rules: [ALL, OTHER], blockers: []}}\n"
        ));
        let pack = Pack::from_yaml(&text).expect("loads");
        let results = run(&pack, &BTreeMap::new(), today()).expect("runs");
        let diffs = &results[0].differences;
        assert_eq!(diffs.len(), 2, "{diffs:?}");
        assert_eq!(diffs[0].field, "outcome");
        assert_eq!(diffs[0].expected, json!("notify"));
        assert_eq!(diffs[0].actual, json!("review"));
        assert_eq!(diffs[1].field, "rules");
        assert_eq!(diffs[1].actual, json!(["ALL"]));
    }

    #[test]
    fn a_path_declaration_is_read_from_the_files_given() {
        let text =
            pack("  - name: file\n    declaration: one.yaml\n    expect: {outcome: review}\n");
        let pack = Pack::from_yaml(&text).expect("loads");
        assert_eq!(declaration_paths(&pack), [("file", "one.yaml")]);
        let err = run(&pack, &BTreeMap::new(), today())
            .unwrap_err()
            .to_string();
        assert!(err.contains("one.yaml") && err.contains("`file`"), "{err}");
        let files = BTreeMap::from([("one.yaml".to_owned(), DECL.as_bytes().to_vec())]);
        assert!(run(&pack, &files, today()).expect("runs")[0].passed());
    }

    #[test]
    fn an_invalid_test_declaration_names_the_test_and_the_field() {
        let text = pack(
            "  - name: broken\n    declaration: {greenlight: declaration/v1, production: {title: T}, use: {ref: R, summary: S}, tools: [{name: M, data_use: sometimes}]}\n    expect: {outcome: review}\n",
        );
        let pack = Pack::from_yaml(&text).expect("loads");
        let err = run(&pack, &BTreeMap::new(), today())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`broken`") && err.contains("data_use"),
            "{err}"
        );
    }
}
