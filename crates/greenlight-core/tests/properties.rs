//! Properties of the evaluator and the parser over generated declarations.

mod builders;

use builders::*;
use greenlight_core::Outcome;
use greenlight_core::declaration::*;
use greenlight_core::format::{SourceKind, parse};
use proptest::prelude::*;
use proptest::sample::select;

fn date_strategy() -> impl Strategy<Value = chrono::NaiveDate> {
    (2024i32..2028, 1u32..13, 1u32..29).prop_map(|(y, m, d)| {
        chrono::NaiveDate::from_ymd_opt(y, m, d).expect("day < 29 exists in every month")
    })
}

fn text() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9 '-]{0,12}"
}

fn tool_strategy() -> impl Strategy<Value = Tool> {
    (
        text(),
        proptest::option::of(text()),
        any::<bool>(),
        select(DataUse::ALLOWED),
        proptest::option::of(date_strategy()),
    )
        .prop_map(
            |(name, vendor, enterprise_agreement, data_use, terms_reviewed)| Tool {
                name,
                vendor,
                enterprise_agreement,
                data_use: DataUse::parse(data_use).expect("allowed"),
                terms_reviewed,
            },
        )
}

fn input_strategy() -> impl Strategy<Value = Input> {
    let mention = (
        select(MentionType::ALLOWED),
        text(),
        select(Feature::ALLOWED),
    )
        .prop_map(|(t, name, feature)| Mention {
            kind: MentionType::parse(t).expect("allowed"),
            name,
            feature: Feature::parse(feature).expect("allowed"),
        });
    (
        select(InputKind::ALLOWED),
        select(Owner::ALLOWED),
        any::<bool>(),
        proptest::collection::vec(mention, 0..3),
    )
        .prop_map(|(kind, owner, cleared, mentions)| Input {
            kind: InputKind::parse(kind).expect("allowed"),
            owner: Owner::parse(owner).expect("allowed"),
            cleared,
            description: None,
            mentions,
        })
}

/// A capture session whose notice and engagement fall a few days either side of it, so that
/// both sides of the 48-hour boundary come up.
fn scan_strategy() -> impl Strategy<Value = Scan> {
    (
        date_strategy(),
        proptest::option::of(-2i64..5),
        proptest::option::of(-2i64..5),
    )
        .prop_map(|(date, notice, engaged)| Scan {
            date,
            notice: notice.map(|d| date - chrono::TimeDelta::days(d)),
            engaged: engaged.map(|d| date - chrono::TimeDelta::days(d)),
        })
}

/// Performer names the talent entries and the mentions share, so that a mention can name a
/// listed performer.
fn performer_name() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec!["Ana Ruiz", " ana ruiz", "Tom Harlow"]).prop_map(str::to_owned),
        text()
    ]
}

fn talent_strategy() -> impl Strategy<Value = Talent> {
    let consent = (
        text(),
        text(),
        date_strategy(),
        select(ConsentBy::ALLOWED),
        any::<bool>(),
    )
        .prop_map(|(document, scope, signed, by, separately_signed)| Consent {
            document,
            scope,
            signed,
            by: ConsentBy::parse(by).expect("allowed"),
            separately_signed,
        });
    (
        performer_name(),
        select(Treatment::ALLOWED),
        any::<bool>(),
        select(TalentException::ALLOWED),
        any::<bool>(),
        any::<bool>(),
        select(Role::ALLOWED),
        select(ReplicaOrigin::ALLOWED),
        proptest::option::of(scan_strategy()),
        any::<bool>(),
        proptest::option::of(consent),
    )
        .prop_map(
            |(
                performer,
                treatment,
                changes_performance,
                exception,
                deceased,
                model_reused_elsewhere,
                role,
                replica_origin,
                scan,
                replaces_human_role,
                consent,
            )| Talent {
                performer,
                treatment: Treatment::parse(treatment).expect("allowed"),
                changes_performance,
                exception: TalentException::parse(exception).expect("allowed"),
                deceased,
                model_reused_elsewhere,
                role: Role::parse(role).expect("allowed"),
                replica_origin: ReplicaOrigin::parse(replica_origin).expect("allowed"),
                scan,
                replaces_human_role,
                consent,
            },
        )
}

fn answer_strategy() -> impl Strategy<Value = Option<Answer>> {
    proptest::option::of(select(Answer::ALLOWED).prop_map(|a| Answer::parse(a).expect("allowed")))
}

prop_compose! {
    fn outputs_strategy()(flags in proptest::collection::vec(any::<bool>(), 9), prominence in select(Prominence::ALLOWED),
                          media in proptest::sample::subsequence(Media::ALLOWED.to_vec(), 0..=4)) -> Outputs {
        Outputs {
            is_final: flags[0],
            prominence: Prominence::parse(prominence).expect("allowed"),
            key_creative: flags[1],
            depicts_real_people: flags[2],
            presented_as_real: flags[3],
            media: media.into_iter().map(|m| Media::parse(m).expect("allowed")).collect(),
            realistic: flags[4],
            resembles_existing: flags[5],
            public_interest_text: flags[6],
            editorial_review: flags[7],
        }
    }
}

prop_compose! {
    fn declaration_strategy()(
        title in text(), kind in select(ProductionKind::ALLOWED), eu_release in any::<bool>(),
        release_date in proptest::option::of(date_strategy()),
        agreements in proptest::sample::subsequence(Agreement::ALLOWED.to_vec(), 0..=3),
        reference in text(), summary in text(), stage in select(Stage::ALLOWED), purpose in select(Purpose::ALLOWED),
        genre in select(Genre::ALLOWED),
        tools in proptest::collection::vec(tool_strategy(), 1..3),
        inputs in proptest::collection::vec(input_strategy(), 0..4),
        outputs in outputs_strategy(),
        talent in proptest::collection::vec(talent_strategy(), 0..3),
        affected in any::<bool>(), agreement in proptest::option::of(text()),
        answers in proptest::collection::vec(answer_strategy(), 5),
    ) -> Declaration {
        Declaration {
            greenlight: "declaration/v1".to_owned(),
            production: Production {
                title, kind: ProductionKind::parse(kind).expect("allowed"), eu_release, release_date,
                agreements: agreements.into_iter().map(|a| Agreement::parse(a).expect("allowed")).collect(),
            },
            usage: Use {
                reference, summary, stage: Stage::parse(stage).expect("allowed"),
                purpose: Purpose::parse(purpose).expect("allowed"), genre: Genre::parse(genre).expect("allowed"),
            },
            tools, inputs, outputs, talent,
            union_work: UnionWork { affected, agreement },
            self_assessment: SelfAssessment { p1: answers[0], p2: answers[1], p3: answers[2], p4: answers[3], p5: answers[4] },
        }
    }
}

/// Reverses the order of every mapping's keys, recursively.
fn reorder(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .rev()
                .map(|(k, v)| (k.clone(), reorder(v)))
                .collect(),
        ),
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(reorder).collect())
        }
        other => other.clone(),
    }
}

/// Whether turning this entry's replica origin to `independent` makes the use riskier.
///
/// From `unknown` it always does. From `employment` only without a genre exception: the spec
/// waives the consent of an independently created replica for a First Amendment genre, and not
/// that of an employment-based one, so under a genre exception the change closes the EBDR
/// consent blocker (`an_independent_origin_under_a_genre_exception_needs_no_consent`).
fn origin_independent_is_riskier(t: &Talent, genre: Genre) -> bool {
    match t.replica_origin {
        ReplicaOrigin::Unknown => true,
        ReplicaOrigin::Employment => genre == Genre::None,
        ReplicaOrigin::Independent => false,
    }
}

/// Turns one safe fact of `d` into a risky one, chosen by `pick`; `None` when nothing applies.
fn make_riskier(d: &mut Declaration, pick: usize) -> Option<&'static str> {
    let genre = d.usage.genre;
    let o = &mut d.outputs;
    let choices: Vec<(&'static str, bool)> = vec![
        ("outputs.final", !o.is_final),
        ("outputs.key_creative", !o.key_creative),
        ("outputs.depicts_real_people", !o.depicts_real_people),
        ("outputs.presented_as_real", !o.presented_as_real),
        ("outputs.prominence", o.prominence == Prominence::Incidental),
        ("outputs.realistic", !o.realistic),
        ("outputs.resembles_existing", !o.resembles_existing),
        ("production.eu_release", !d.production.eu_release),
        (
            "tools.enterprise_agreement",
            d.tools.iter().any(|t| t.enterprise_agreement),
        ),
        (
            "tools.data_use",
            d.tools.iter().any(|t| t.data_use == DataUse::None),
        ),
        (
            "tools.terms_reviewed",
            d.tools.iter().any(|t| t.terms_reviewed.is_some()),
        ),
        ("inputs.cleared", d.inputs.iter().any(|i| i.cleared)),
        (
            "talent.consent",
            d.talent.iter().any(|t| t.consent.is_some()),
        ),
        ("talent.deceased", d.talent.iter().any(|t| !t.deceased)),
        (
            "talent.model_reused_elsewhere",
            d.talent.iter().any(|t| !t.model_reused_elsewhere),
        ),
        (
            "talent.changes_performance",
            d.talent.iter().any(|t| !t.changes_performance),
        ),
        (
            "talent.consent.separately_signed",
            d.talent
                .iter()
                .any(|t| t.consent.as_ref().is_some_and(|c| c.separately_signed)),
        ),
        (
            "talent.replica_origin",
            d.talent
                .iter()
                .any(|t| origin_independent_is_riskier(t, genre)),
        ),
        (
            "talent.replaces_human_role",
            d.talent.iter().any(|t| !t.replaces_human_role),
        ),
        ("union_work.affected", !d.union_work.affected),
        ("union_work.agreement", d.union_work.agreement.is_some()),
        (
            "self_assessment",
            d.self_assessment.p1 != Some(Answer::NotMet),
        ),
    ];
    let applicable: Vec<_> = choices
        .into_iter()
        .filter(|(_, ok)| *ok)
        .map(|(name, _)| name)
        .collect();
    let name = *applicable.get(pick % applicable.len().max(1))?;
    match name {
        "outputs.final" => d.outputs.is_final = true,
        "outputs.key_creative" => d.outputs.key_creative = true,
        "outputs.depicts_real_people" => d.outputs.depicts_real_people = true,
        "outputs.presented_as_real" => d.outputs.presented_as_real = true,
        "outputs.prominence" => d.outputs.prominence = Prominence::Featured,
        "outputs.realistic" => d.outputs.realistic = true,
        "outputs.resembles_existing" => d.outputs.resembles_existing = true,
        "production.eu_release" => d.production.eu_release = true,
        "tools.enterprise_agreement" => d
            .tools
            .iter_mut()
            .filter(|t| t.enterprise_agreement)
            .take(1)
            .for_each(|t| t.enterprise_agreement = false),
        "tools.data_use" => d
            .tools
            .iter_mut()
            .filter(|t| t.data_use == DataUse::None)
            .take(1)
            .for_each(|t| t.data_use = DataUse::Trains),
        "tools.terms_reviewed" => d
            .tools
            .iter_mut()
            .filter(|t| t.terms_reviewed.is_some())
            .take(1)
            .for_each(|t| t.terms_reviewed = None),
        "inputs.cleared" => d
            .inputs
            .iter_mut()
            .filter(|i| i.cleared)
            .take(1)
            .for_each(|i| i.cleared = false),
        "talent.consent" => d
            .talent
            .iter_mut()
            .filter(|t| t.consent.is_some())
            .take(1)
            .for_each(|t| t.consent = None),
        "talent.deceased" => d
            .talent
            .iter_mut()
            .filter(|t| !t.deceased)
            .take(1)
            .for_each(|t| t.deceased = true),
        "talent.model_reused_elsewhere" => d
            .talent
            .iter_mut()
            .filter(|t| !t.model_reused_elsewhere)
            .take(1)
            .for_each(|t| t.model_reused_elsewhere = true),
        "talent.changes_performance" => d
            .talent
            .iter_mut()
            .filter(|t| !t.changes_performance)
            .take(1)
            .for_each(|t| t.changes_performance = true),
        "talent.consent.separately_signed" => d
            .talent
            .iter_mut()
            .filter_map(|t| t.consent.as_mut())
            .filter(|c| c.separately_signed)
            .take(1)
            .for_each(|c| c.separately_signed = false),
        "talent.replica_origin" => d
            .talent
            .iter_mut()
            .filter(|t| origin_independent_is_riskier(t, genre))
            .take(1)
            .for_each(|t| t.replica_origin = ReplicaOrigin::Independent),
        "talent.replaces_human_role" => d
            .talent
            .iter_mut()
            .filter(|t| !t.replaces_human_role)
            .take(1)
            .for_each(|t| t.replaces_human_role = true),
        "union_work.affected" => d.union_work.affected = true,
        "union_work.agreement" => d.union_work.agreement = None,
        "self_assessment" => d.self_assessment.p1 = Some(Answer::NotMet),
        _ => unreachable!("every choice is handled"),
    }
    Some(name)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn outcome_is_the_strictest_finding(d in declaration_strategy()) {
        let r = check_with(&d, &all_packs());
        let strictest = r.findings.iter().map(|f| f.outcome).max().unwrap_or(Outcome::Notify);
        prop_assert_eq!(r.outcome, strictest);
        prop_assert!(r.findings.iter().any(|f| f.rule == "NFX-NOTIFY"));
    }

    #[test]
    fn yaml_and_json_give_the_same_result_and_round_trip(d in declaration_strategy()) {
        let expected = check_with(&d, &all_packs());
        let json = serde_json::to_string(&d).unwrap();
        let from_json = parse(json.as_bytes(), SourceKind::Json).map_err(|e| TestCaseError::fail(format!("{e:?}\n{json}")))?;
        prop_assert_eq!(&from_json.declaration, &d);
        let yaml = serde_saphyr::to_string(&d).unwrap();
        let from_yaml = parse(yaml.as_bytes(), SourceKind::Yaml).map_err(|e| TestCaseError::fail(format!("{e:?}\n{yaml}")))?;
        prop_assert_eq!(&from_yaml.declaration, &d);
        prop_assert_eq!(check_with(&from_yaml.declaration, &all_packs()), expected);
    }

    #[test]
    fn field_order_never_changes_a_result(d in declaration_strategy()) {
        let value = serde_json::to_value(&d).unwrap();
        let reordered = serde_json::to_string(&reorder(&value)).unwrap();
        let parsed = parse(reordered.as_bytes(), SourceKind::Json).unwrap();
        prop_assert_eq!(check_with(&parsed.declaration, &all_packs()), check_with(&d, &all_packs()));
    }

    #[test]
    fn turning_a_safe_fact_into_a_risky_one_never_lowers_the_outcome(d in declaration_strategy(), pick in 0usize..64) {
        let before = check_with(&d, &all_packs());
        let mut riskier = d.clone();
        if let Some(what) = make_riskier(&mut riskier, pick) {
            let after = check_with(&riskier, &all_packs());
            prop_assert!(after.outcome >= before.outcome, "{} lowered {:?} to {:?}", what, before.outcome, after.outcome);
            prop_assert!(after.blockers.len() >= before.blockers.len(), "{} closed a blocker", what);
        }
    }

    #[test]
    fn hostile_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse(&bytes, SourceKind::Yaml);
        let _ = parse(&bytes, SourceKind::Json);
    }

    #[test]
    fn mangled_declarations_never_panic(cut in 0usize..400, junk in "[\\[\\]{}:,&*!|>'\"#\n -]{0,8}") {
        let mut text = builders::SAFE.to_owned();
        let at = cut.min(text.len());
        text.insert_str(at, &junk);
        let _ = parse(text.as_bytes(), SourceKind::Yaml);
    }
}

/// The field paths of the union pack's open blockers, sorted: what must be recorded.
fn sag_blocker_fields(r: &greenlight_core::CheckResult) -> Vec<String> {
    let mut fields: Vec<String> = r
        .blockers
        .iter()
        .filter(|b| b.pack == "sag-aftra-2023")
        .flat_map(|b| b.fields.iter().cloned())
        .collect();
    fields.sort();
    fields
}

/// Whether every element of `small` is in `large`, counting repeats (both sorted).
fn contained(small: &[String], large: &[String]) -> bool {
    let mut rest = large.iter();
    small.iter().all(|s| rest.any(|l| l == s))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// The union pack always answers, and its scope findings stand alone: SAG-NOT-APPLICABLE and
    /// SAG-NO-PERFORMERS are the only findings when they fire, SAG-NO-DUTY only when nothing
    /// else does.
    #[test]
    fn the_union_pack_always_answers_and_its_scope_findings_stand_alone(d in declaration_strategy()) {
        let r = check_with(&d, &sag());
        let ids: Vec<&str> = r.findings.iter().map(|f| f.rule.as_str()).collect();
        prop_assert!(!ids.is_empty());
        for alone in ["SAG-NOT-APPLICABLE", "SAG-NO-PERFORMERS", "SAG-NO-DUTY"] {
            if ids.contains(&alone) {
                prop_assert_eq!(&ids, &vec![alone]);
            }
        }
        let strictest = r.findings.iter().map(|f| f.outcome).max().unwrap_or(Outcome::Notify);
        prop_assert_eq!(r.outcome, strictest);
        let with_obligation = ["SAG-EBDR", "SAG-SCAN-NOTICE", "SAG-ICDR", "SAG-REUSE", "SAG-SYNTHETIC"];
        prop_assert_eq!(
            r.obligations.len(),
            ids.iter().filter(|id| with_obligation.contains(id)).count(),
            "one obligation per finding of a rule that has one"
        );
    }

    /// Turning a safe fact into a risky one never lowers the union pack's outcome, and every
    /// consent it asked for is still asked for.
    #[test]
    fn a_riskier_fact_never_lowers_the_union_outcome_or_closes_its_blockers(d in declaration_strategy(), pick in 0usize..64) {
        let before = check_with(&d, &sag());
        let mut riskier = d.clone();
        if let Some(what) = make_riskier(&mut riskier, pick) {
            let after = check_with(&riskier, &sag());
            prop_assert!(after.outcome >= before.outcome, "{} lowered {:?} to {:?}", what, before.outcome, after.outcome);
            prop_assert!(
                contained(&sag_blocker_fields(&before), &sag_blocker_fields(&after)),
                "{} closed a blocker: {:?} became {:?}", what, before.blockers, after.blockers
            );
        }
    }
}

/// Every built-in pack and the sample studio pack, which has an aggregate rule.
fn packs_with_aggregates() -> Vec<std::sync::Arc<greenlight_core::pack::Pack>> {
    let studio =
        greenlight_core::pack::Pack::from_yaml(include_str!("../packs/samples/studio-extra.yaml"))
            .expect("the sample studio pack loads");
    let mut packs = all_packs();
    packs.push(std::sync::Arc::new(studio));
    packs
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Comparing a pack set with itself reports no change, the same counts before and after
    /// (one per declaration) and the same production-level findings.
    #[test]
    fn diff_of_a_pack_set_against_itself_reports_no_change(
        decls in proptest::collection::vec(declaration_strategy(), 0..6)
    ) {
        use greenlight_core::diff::{compare, Subject};
        let packs = packs_with_aggregates();
        let subjects: Vec<Subject<usize>> = decls
            .iter()
            .enumerate()
            .map(|(i, d)| Subject { key: i, declaration: d, organisation: None })
            .collect();
        let diff = compare(&subjects, &packs, &packs, as_of()).expect("evaluates");
        prop_assert!(diff.changes.is_empty());
        prop_assert_eq!(diff.counts.before, diff.counts.after);
        let total: usize = Outcome::ALL.iter().map(|o| diff.counts.before.get(*o)).sum();
        prop_assert_eq!(total, decls.len());
        prop_assert_eq!(&diff.production_findings.before, &diff.production_findings.after);
    }

    /// Adding packs never lowers an outcome: every change goes up or stays (when only
    /// blockers or obligations change).
    #[test]
    fn adding_packs_never_lowers_an_outcome_in_a_diff(
        decls in proptest::collection::vec(declaration_strategy(), 1..6)
    ) {
        use greenlight_core::diff::{compare, Subject};
        let subjects: Vec<Subject<usize>> = decls
            .iter()
            .enumerate()
            .map(|(i, d)| Subject { key: i, declaration: d, organisation: None })
            .collect();
        let diff = compare(&subjects, &netflix(), &packs_with_aggregates(), as_of())
            .expect("evaluates");
        for change in &diff.changes {
            prop_assert!(change.after.outcome >= change.before.outcome, "{:?}", change);
        }
    }
}
