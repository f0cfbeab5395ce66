//! Format v1 read strictly: each error class names the field, its position and what was expected.

mod builders;

use greenlight_core::format::{FormatError, MAX_INPUT_BYTES, SourceKind, parse};

fn yaml_err(text: &str) -> FormatError {
    parse(text.as_bytes(), SourceKind::Yaml).expect_err("the declaration is invalid")
}

/// The single problem at `path`, with its line.
fn problem_at(err: &FormatError, path: &str) -> (usize, String) {
    let p = err
        .problems
        .iter()
        .find(|p| p.path.as_deref() == Some(path))
        .unwrap_or_else(|| panic!("no problem at {path}: {err:#?}"));
    (p.line.expect("a line"), p.message.clone())
}

fn with(extra: &str) -> String {
    format!("{}{extra}", builders::SAFE)
}

#[test]
fn an_enum_error_names_the_field_the_line_and_the_allowed_values() {
    let text = builders::SAFE.replace("data_use: none", "data_use: sometimes");
    let err = yaml_err(&text);
    let p = &err.problems[0];
    assert_eq!(p.path.as_deref(), Some("tools[0].data_use"));
    assert_eq!((p.line, p.column), (Some(11), Some(15)));
    assert_eq!(
        p.message,
        r#""sometimes" is not one of none, stores, trains, unknown"#
    );
    assert_eq!(
        p.to_string(),
        r#"tools[0].data_use (line 11, col 15): "sometimes" is not one of none, stores, trains, unknown"#
    );
    assert_eq!(p.pointer().as_deref(), Some("/tools/0/data_use"));
}

#[test]
fn a_mistyped_closed_value_gets_a_suggestion_and_stays_an_error() {
    // The form says "De-ageing"; a file written from it says `de-ageing`, which the format
    // spells `re-ageing`. Before, the error listed the values without naming the one meant.
    let text = with("talent:\n  - performer: Jane Doe\n    treatment: de-ageing\n");
    let err = yaml_err(&text);
    let (_, message) = problem_at(&err, "talent[0].treatment");
    assert_eq!(
        message,
        r#""de-ageing" is not one of replica, voice, re-ageing, alteration, synthetic-performer (did you mean "re-ageing"?)"#
    );
    let err = yaml_err(&builders::SAFE.replace("data_use: none", "data_use: Stores"));
    assert!(
        problem_at(&err, "tools[0].data_use")
            .1
            .ends_with(r#"(did you mean "stores"?)"#)
    );
}

#[test]
fn every_problem_is_reported_in_one_run() {
    let text = "greenlight: declaration/v1\nproduction:\n  title: T\n  kind: film\nuse:\n  ref: R\n  summary: S\n  stage: later\ntools:\n  - name: A\n    data_use: x\n";
    let err = yaml_err(text);
    let paths: Vec<_> = err
        .problems
        .iter()
        .map(|p| p.path.clone().unwrap())
        .collect();
    assert_eq!(paths, ["production.kind", "use.stage", "tools[0].data_use"]);
    assert_eq!(err.summary, "the declaration has 3 problems");
}

#[test]
fn unknown_fields_are_errors_with_a_suggestion() {
    let err = yaml_err(
        &builders::SAFE.replace("  purpose: ideation", "  purpose: ideation\n  purpse: vfx"),
    );
    let (line, message) = problem_at(&err, "use.purpse");
    assert_eq!(line, 8);
    assert!(
        message.contains("unknown field `purpse`") && message.contains("did you mean `purpose`"),
        "{message}"
    );
    let err = yaml_err(&with("extra: 1\n"));
    assert!(problem_at(&err, "extra").1.contains("unknown field"));
}

#[test]
fn missing_required_fields_and_empty_strings_are_errors() {
    let err = yaml_err(
        "greenlight: declaration/v1\nproduction:\n  title: '  '\nuse:\n  ref: R\ntools: []\n",
    );
    assert_eq!(problem_at(&err, "production.title").1, "must not be empty");
    // The path names the field; the message says what is wrong with it, once.
    assert_eq!(problem_at(&err, "use.summary").1, "this field is required");
    assert_eq!(problem_at(&err, "tools").1, "at least one tool is required");
    let err = yaml_err("production: {title: T}\nuse: {ref: R, summary: S}\ntools: [{name: A}]\n");
    assert_eq!(problem_at(&err, "greenlight").1, "this field is required");
    let err = yaml_err(&builders::SAFE.replace("declaration/v1", "declaration/v2"));
    assert!(problem_at(&err, "greenlight").1.contains("declaration/v1"));
}

#[test]
fn scalars_in_string_fields_are_kept_as_written() {
    let text = builders::SAFE
        .replace("title: Harbour Lights", "title: 1984")
        .replace("ref: HL-1", "ref: 007");
    let d = parse(text.as_bytes(), SourceKind::Yaml)
        .unwrap()
        .declaration;
    assert_eq!(d.production.title, "1984");
    assert_eq!(d.usage.reference, "007");
    let json = r#"{"greenlight":"declaration/v1","production":{"title":1984},"use":{"ref":7,"summary":true},"tools":[{"name":"A"}]}"#;
    let d = parse(json.as_bytes(), SourceKind::Json)
        .unwrap()
        .declaration;
    assert_eq!(
        (
            d.production.title.as_str(),
            d.usage.reference.as_str(),
            d.usage.summary.as_str()
        ),
        ("1984", "7", "true")
    );
}

#[test]
fn null_is_a_type_error_except_for_the_union_agreement() {
    for null in ["~", "null", "", "Null"] {
        let err =
            yaml_err(&builders::SAFE.replace("title: Harbour Lights", &format!("title: {null}")));
        assert!(
            problem_at(&err, "production.title").1.contains("null"),
            "{null}"
        );
    }
    let err = yaml_err(&with("outputs:\n  final: null\n"));
    assert!(problem_at(&err, "outputs.final").1.contains("null"));
    let d = parse(
        with("union_work:\n  affected: true\n  agreement: null\n").as_bytes(),
        SourceKind::Yaml,
    )
    .unwrap()
    .declaration;
    assert_eq!(d.union_work.agreement, None);
    let d = parse(
        with("union_work:\n  agreement: ~\n").as_bytes(),
        SourceKind::Yaml,
    )
    .unwrap()
    .declaration;
    assert_eq!(d.union_work.agreement, None);
}

#[test]
fn booleans_are_yaml_core_booleans_only() {
    for ok in ["true", "True", "TRUE", "false", "False", "FALSE"] {
        parse(
            with(&format!("outputs:\n  final: {ok}\n")).as_bytes(),
            SourceKind::Yaml,
        )
        .unwrap_or_else(|e| panic!("{ok}: {e:?}"));
    }
    for bad in ["yes", "no", "on", "off", "'true'", "1"] {
        let err = yaml_err(&with(&format!("outputs:\n  final: {bad}\n")));
        assert!(
            problem_at(&err, "outputs.final")
                .1
                .contains("expected true or false"),
            "{bad}"
        );
    }
}

#[test]
fn dates_are_real_dates_quoted_or_not() {
    let d = parse(with("talent:\n  - performer: P\n    treatment: voice\n    consent: {document: D, scope: S, signed: '2025-02-01'}\n").as_bytes(), SourceKind::Yaml)
        .unwrap()
        .declaration;
    assert_eq!(
        d.talent[0].consent.as_ref().unwrap().signed.to_string(),
        "2025-02-01"
    );
    for bad in [
        "2025-02-30",
        "2025-2-1",
        "01/02/2025",
        "2025-02-01T10:00:00Z",
    ] {
        let err = yaml_err(&builders::SAFE.replace(
            "title: Harbour Lights",
            &format!("title: Harbour Lights\n  release_date: {bad}"),
        ));
        assert!(
            problem_at(&err, "production.release_date")
                .1
                .contains("YYYY-MM-DD"),
            "{bad}"
        );
    }
}

#[test]
fn duplicate_keys_and_repeated_media_are_errors() {
    let err = yaml_err(
        &builders::SAFE.replace("  purpose: ideation", "  purpose: ideation\n  purpose: vfx"),
    );
    assert!(problem_at(&err, "use.purpose").1.contains("duplicate key"));
    let err = yaml_err(&with("outputs:\n  media: [video, image, video]\n"));
    assert!(
        problem_at(&err, "outputs.media")
            .1
            .contains("more than once")
    );
}

#[test]
fn the_root_must_be_a_mapping_and_hold_one_document() {
    let err = yaml_err("- a\n- b\n");
    assert!(err.problems[0].message.contains("root"), "{err:?}");
    let err = yaml_err(&format!("{}---\n{}", builders::SAFE, builders::SAFE));
    assert!(
        err.problems[0].message.contains("exactly one declaration"),
        "{err:?}"
    );
    assert_eq!(
        err.problems[0].line,
        Some(14),
        "the line of the second `---`"
    );
    let err = yaml_err("# only a comment\n");
    assert!(err.problems[0].message.contains("no declaration"));
}

#[test]
fn invalid_utf8_is_reported_with_its_byte_offset() {
    let mut bytes = builders::SAFE.as_bytes().to_vec();
    bytes.insert(40, 0xff);
    let err = parse(&bytes, SourceKind::Yaml).unwrap_err();
    assert_eq!(err.problems[0].offset, Some(40));
    assert_eq!(err.problems[0].line, None);
    assert!(err.summary.contains("UTF-8"));
}

#[test]
fn oversize_input_is_refused_before_parsing() {
    let big = vec![b'a'; MAX_INPUT_BYTES + 1];
    let err = parse(&big, SourceKind::Yaml).unwrap_err();
    assert!(err.summary.contains("too large"), "{err:?}");
}

#[test]
fn deep_nesting_and_alias_bombs_are_refused() {
    let deep = format!("greenlight: {}{}", "[".repeat(10_000), "]".repeat(10_000));
    let err = parse(deep.as_bytes(), SourceKind::Yaml).unwrap_err();
    assert!(err.problems[0].line.is_some(), "{err:?}");
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (i, name) in ["b", "c", "d", "e", "f", "g", "h"].iter().enumerate() {
        let prev = ["a", "b", "c", "d", "e", "f", "g"][i];
        bomb.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{prev}"); 10].join(", ")
        ));
    }
    let err = parse(bomb.as_bytes(), SourceKind::Yaml).unwrap_err();
    assert!(err.problems[0].message.contains("nodes"), "{err:?}");
}

#[test]
fn json_is_held_to_json_syntax_with_positions() {
    let err = parse(
        b"{\"greenlight\": \"declaration/v1\",\n  \"production\": {\"title\": \"T\",}}",
        SourceKind::Json,
    )
    .unwrap_err();
    assert_eq!(err.summary, "the file is not valid JSON");
    assert_eq!(err.problems[0].line, Some(2));
    let err = parse(b"{\"greenlight\": \"declaration/v1\", \"production\": {\"title\": \"T\", \"kind\": \"film\"}, \"use\": {\"ref\": \"R\", \"summary\": \"S\"}, \"tools\": [{\"name\": \"A\"}]}", SourceKind::Json).unwrap_err();
    assert_eq!(err.problems[0].path.as_deref(), Some("production.kind"));
    assert_eq!(err.problems[0].line, Some(1));
}

#[test]
fn sniffing_tells_json_from_yaml() {
    let json = br#"  {"greenlight": "declaration/v1", "production": {"title": "T"}, "use": {"ref": "R", "summary": "S"}, "tools": [{"name": "A"}]}"#;
    assert!(parse(json, SourceKind::Sniff).is_ok());
    assert!(parse(builders::SAFE.as_bytes(), SourceKind::Sniff).is_ok());
    assert_eq!(SourceKind::from_path("a/b.JSON".as_ref()), SourceKind::Json);
    assert_eq!(SourceKind::from_path("a/b.yml".as_ref()), SourceKind::Yaml);
    assert_eq!(SourceKind::from_path("a/b".as_ref()), SourceKind::Sniff);
}

#[test]
fn yaml_tags_other_than_str_are_refused() {
    assert!(
        parse(
            with("outputs:\n  final: !!bool true\n").as_bytes(),
            SourceKind::Yaml
        )
        .is_err()
    );
    let d = parse(
        builders::SAFE
            .replace("ref: HL-1", "ref: !!str 12")
            .as_bytes(),
        SourceKind::Yaml,
    )
    .unwrap()
    .declaration;
    assert_eq!(d.usage.reference, "12");
}

#[test]
fn defaults_are_those_of_the_spec() {
    let d = parse(b"greenlight: declaration/v1\nproduction: {title: T}\nuse: {ref: R, summary: S}\ntools: [{name: A}]\ninputs: [{kind: prompt}]\ntalent: [{performer: P, treatment: voice, consent: {document: D, scope: S, signed: 2025-01-01}}]\n", SourceKind::Yaml)
        .unwrap()
        .declaration;
    use greenlight_core::declaration::*;
    assert_eq!(d.production.kind, ProductionKind::Scripted);
    assert!(!d.production.eu_release && d.production.release_date.is_none());
    assert_eq!(
        (d.usage.stage, d.usage.purpose),
        (Stage::PreProduction, Purpose::Other)
    );
    assert_eq!(
        (
            d.tools[0].enterprise_agreement,
            d.tools[0].data_use,
            d.tools[0].terms_reviewed
        ),
        (false, DataUse::Unknown, None)
    );
    assert_eq!(
        (d.inputs[0].owner, d.inputs[0].cleared),
        (Owner::Own, false)
    );
    assert_eq!(d.outputs, Outputs::default());
    assert!(
        d.outputs.realistic
            && d.outputs.prominence == Prominence::Featured
            && d.outputs.media.is_empty()
    );
    assert_eq!(d.talent[0].exception, TalentException::None);
    assert_eq!(
        d.talent[0].consent.as_ref().unwrap().by,
        ConsentBy::Performer
    );
    assert_eq!(d.union_work, UnionWork::default());
    // The union pack's fields.
    assert!(d.production.agreements.is_empty());
    assert_eq!(d.usage.genre, Genre::None);
    assert_eq!(
        (
            d.talent[0].role,
            d.talent[0].replica_origin,
            d.talent[0].replaces_human_role,
            d.talent[0].scan.as_ref()
        ),
        (Role::Principal, ReplicaOrigin::Unknown, false, None)
    );
    assert!(!d.talent[0].consent.as_ref().unwrap().separately_signed);
}

#[test]
fn the_source_map_gives_lines_of_fields_and_of_their_parents_for_defaults() {
    let parsed = parse(builders::SAFE.as_bytes(), SourceKind::Yaml).unwrap();
    assert_eq!(parsed.source_map.line("tools[0].data_use"), Some(11));
    assert_eq!(parsed.source_map.line("inputs[0].kind"), Some(13));
    assert_eq!(
        parsed.source_map.line("inputs[0].owner"),
        Some(13),
        "a defaulted field points at its entry"
    );
    assert_eq!(
        parsed.source_map.line("outputs.final"),
        None,
        "no outputs section at all"
    );
}

#[test]
fn a_flood_of_problems_is_listed_up_to_a_limit() {
    let mut text = builders::SAFE.to_owned();
    for i in 0..5000 {
        text.push_str(&format!("junk{i}: 1\n"));
    }
    let err = yaml_err(&text);
    assert_eq!(err.problems.len(), 200);
    assert!(
        err.summary
            .contains("5000 problems (the first 200 are listed)"),
        "{}",
        err.summary
    );
}

/// A declaration using every field the union pack reads.
const UNION: &str = "greenlight: declaration/v1
production:
  title: The Lighthouse Keeper
  agreements: [sag-aftra-tv-theatrical-2023, wga-mba-2023]
use:
  ref: SG-1
  summary: Digital double
  genre: docudrama
tools:
  - name: Studio Replica Suite
inputs:
  - kind: prompt
    mentions:
      - type: performer
        name: Ana Ruiz
        feature: eyes
talent:
  - performer: Ana Ruiz
    treatment: replica
    role: background
    replica_origin: employment
    replaces_human_role: true
    scan:
      date: 2026-11-10
      notice: '2026-11-07'
      engaged: 2026-10-01
    consent:
      document: C-1
      scope: the flashback scenes
      signed: 2026-10-01
      separately_signed: true
";

#[test]
fn the_union_packs_fields_are_read_with_their_values() {
    use greenlight_core::declaration::*;
    let parsed = parse(UNION.as_bytes(), SourceKind::Yaml).unwrap();
    let d = &parsed.declaration;
    assert_eq!(
        d.production.agreements,
        [Agreement::SagAftraTvTheatrical2023, Agreement::WgaMba2023]
    );
    assert_eq!(d.usage.genre, Genre::Docudrama);
    assert_eq!(d.inputs[0].mentions[0].feature, Feature::Eyes);
    let t = &d.talent[0];
    assert_eq!(
        (t.role, t.replica_origin, t.replaces_human_role),
        (Role::Background, ReplicaOrigin::Employment, true)
    );
    let scan = t.scan.as_ref().unwrap();
    assert_eq!(
        (
            scan.date.to_string(),
            scan.notice.map(|d| d.to_string()),
            scan.engaged.map(|d| d.to_string())
        ),
        (
            "2026-11-10".to_owned(),
            Some("2026-11-07".to_owned()),
            Some("2026-10-01".to_owned())
        )
    );
    assert!(t.consent.as_ref().unwrap().separately_signed);
    assert_eq!(parsed.source_map.line("talent[0].scan.notice"), Some(25));

    // The JSON form carries them and reads back the same.
    let json = serde_json::to_string(d).unwrap();
    for key in [
        "\"agreements\":[\"sag-aftra-tv-theatrical-2023\",\"wga-mba-2023\"]",
        "\"genre\":\"docudrama\"",
        "\"feature\":\"eyes\"",
        "\"scan\":{\"date\":\"2026-11-10\",\"notice\":\"2026-11-07\",\"engaged\":\"2026-10-01\"}",
        "\"separately_signed\":true",
    ] {
        assert!(json.contains(key), "{key} in {json}");
    }
    assert_eq!(
        &parse(json.as_bytes(), SourceKind::Json)
            .unwrap()
            .declaration,
        d
    );
}

#[test]
fn the_union_packs_fields_are_validated_like_every_other() {
    let cases = [
        (
            UNION.replace("wga-mba-2023]", "sag-aftra-2024]"),
            "production.agreements[1]",
            (4, 46),
            r#""sag-aftra-2024" is not one of sag-aftra-tv-theatrical-2023, sag-aftra-tv-theatrical-2026, wga-mba-2023"#,
        ),
        (
            UNION.replace("genre: docudrama", "genre: biopic"),
            "use.genre",
            (8, 10),
            r#""biopic" is not one of none, comment, criticism, scholarship, satire-parody, docudrama, historical-biographical"#,
        ),
        (
            UNION.replace("feature: eyes", "feature: chin"),
            "inputs[0].mentions[0].feature",
            (16, 18),
            r#""chin" is not one of none, eyes, nose, mouth, ears"#,
        ),
        (
            UNION.replace("role: background", "role: lead"),
            "talent[0].role",
            (20, 11),
            r#""lead" is not one of principal, background"#,
        ),
        (
            UNION.replace("replica_origin: employment", "replica_origin: archive"),
            "talent[0].replica_origin",
            (21, 21),
            r#""archive" is not one of employment, independent, unknown"#,
        ),
        (
            UNION.replace("replaces_human_role: true", "replaces_human_role: yes"),
            "talent[0].replaces_human_role",
            (22, 26),
            "expected true or false, found \"yes\"",
        ),
        (
            UNION.replace("date: 2026-11-10", "date: 2026-11-31"),
            "talent[0].scan.date",
            (24, 13),
            r#""2026-11-31" is not a date; expected YYYY-MM-DD (a real calendar date)"#,
        ),
        (
            UNION.replace("engaged: 2026-10-01", "engaged: null"),
            "talent[0].scan.engaged",
            (26, 16),
            "expected a date YYYY-MM-DD, found null",
        ),
        (
            UNION.replace("      date: 2026-11-10\n", ""),
            "talent[0].scan.date",
            (24, 7),
            "this field is required",
        ),
        (
            UNION.replace("engaged: 2026-10-01", "engagd: 2026-10-01"),
            "talent[0].scan.engagd",
            (26, 7),
            "unknown field `engagd` (did you mean `engaged`?); expected one of: date, notice, engaged",
        ),
        (
            UNION.replace("separately_signed: true", "separately_signed: 1"),
            "talent[0].consent.separately_signed",
            (31, 26),
            "expected true or false, found \"1\"",
        ),
        (
            UNION.replace("wga-mba-2023]", "sag-aftra-tv-theatrical-2023]"),
            "production.agreements",
            (4, 15),
            r#""sag-aftra-tv-theatrical-2023" is listed more than once"#,
        ),
    ];
    for (text, path, (line, column), message) in cases {
        let err = yaml_err(&text);
        let p = err
            .problems
            .iter()
            .find(|p| p.path.as_deref() == Some(path))
            .unwrap_or_else(|| panic!("no problem at {path}: {err:#?}"));
        assert_eq!(p.message, message, "{path}");
        assert_eq!((p.line, p.column), (Some(line), Some(column)), "{path}");
        assert_eq!(err.problems.len(), 1, "{path}: {err:#?}");
    }
}
