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
    let mention = (select(MentionType::ALLOWED), text()).prop_map(|(t, name)| Mention {
        kind: MentionType::parse(t).expect("allowed"),
        name,
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

fn talent_strategy() -> impl Strategy<Value = Talent> {
    let consent = (text(), text(), date_strategy(), select(ConsentBy::ALLOWED)).prop_map(
        |(document, scope, signed, by)| Consent {
            document,
            scope,
            signed,
            by: ConsentBy::parse(by).expect("allowed"),
        },
    );
    (
        text(),
        select(Treatment::ALLOWED),
        any::<bool>(),
        select(TalentException::ALLOWED),
        any::<bool>(),
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
                consent,
            )| Talent {
                performer,
                treatment: Treatment::parse(treatment).expect("allowed"),
                changes_performance,
                exception: TalentException::parse(exception).expect("allowed"),
                deceased,
                model_reused_elsewhere,
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
        reference in text(), summary in text(), stage in select(Stage::ALLOWED), purpose in select(Purpose::ALLOWED),
        tools in proptest::collection::vec(tool_strategy(), 1..3),
        inputs in proptest::collection::vec(input_strategy(), 0..4),
        outputs in outputs_strategy(),
        talent in proptest::collection::vec(talent_strategy(), 0..3),
        affected in any::<bool>(), agreement in proptest::option::of(text()),
        answers in proptest::collection::vec(answer_strategy(), 5),
    ) -> Declaration {
        Declaration {
            greenlight: "declaration/v1".to_owned(),
            production: Production { title, kind: ProductionKind::parse(kind).expect("allowed"), eu_release, release_date },
            usage: Use { reference, summary, stage: Stage::parse(stage).expect("allowed"), purpose: Purpose::parse(purpose).expect("allowed") },
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

/// Turns one safe fact of `d` into a risky one, chosen by `pick`; `None` when nothing applies.
fn make_riskier(d: &mut Declaration, pick: usize) -> Option<&'static str> {
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
        let r = check_with(&d, &both());
        let strictest = r.findings.iter().map(|f| f.outcome).max().unwrap_or(Outcome::Notify);
        prop_assert_eq!(r.outcome, strictest);
        prop_assert!(r.findings.iter().any(|f| f.rule == "NFX-NOTIFY"));
    }

    #[test]
    fn yaml_and_json_give_the_same_result_and_round_trip(d in declaration_strategy()) {
        let expected = check_with(&d, &both());
        let json = serde_json::to_string(&d).unwrap();
        let from_json = parse(json.as_bytes(), SourceKind::Json).map_err(|e| TestCaseError::fail(format!("{e:?}\n{json}")))?;
        prop_assert_eq!(&from_json.declaration, &d);
        let yaml = serde_saphyr::to_string(&d).unwrap();
        let from_yaml = parse(yaml.as_bytes(), SourceKind::Yaml).map_err(|e| TestCaseError::fail(format!("{e:?}\n{yaml}")))?;
        prop_assert_eq!(&from_yaml.declaration, &d);
        prop_assert_eq!(check_with(&from_yaml.declaration, &both()), expected);
    }

    #[test]
    fn field_order_never_changes_a_result(d in declaration_strategy()) {
        let value = serde_json::to_value(&d).unwrap();
        let reordered = serde_json::to_string(&reorder(&value)).unwrap();
        let parsed = parse(reordered.as_bytes(), SourceKind::Json).unwrap();
        prop_assert_eq!(check_with(&parsed.declaration, &both()), check_with(&d, &both()));
    }

    #[test]
    fn turning_a_safe_fact_into_a_risky_one_never_lowers_the_outcome(d in declaration_strategy(), pick in 0usize..64) {
        let before = check_with(&d, &both());
        let mut riskier = d.clone();
        if let Some(what) = make_riskier(&mut riskier, pick) {
            let after = check_with(&riskier, &both());
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
