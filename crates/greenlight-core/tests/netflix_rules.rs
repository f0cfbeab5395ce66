//! Every rule of `netflix-genai` firing, and staying silent, where the spec says.

mod builders;

use builders::*;
use greenlight_core::Outcome;
use greenlight_core::declaration::*;

#[test]
fn a_safe_use_only_notifies() {
    let r = check(&safe());
    assert_eq!(r.outcome, Outcome::Notify);
    assert_eq!(rules(&r), ["NFX-NOTIFY"]);
    for p in ["p1", "p2", "p3", "p4", "p5"] {
        assert_eq!(answer(&r, p), Answer::Met, "{p}");
    }
    assert!(r.blockers.is_empty() && r.obligations.is_empty());
    assert_eq!(r.policy.id, "netflix-genai");
    assert_eq!(r.policy.version, "2025.08");
    assert_eq!(r.findings[0].fields, Vec::<String>::new());
    assert_eq!(r.findings[0].principle, None);
}

#[test]
fn p1_is_not_met_for_an_uncleared_mention_and_unsure_for_a_third_party_reference_image() {
    let mut d = safe();
    d.inputs[0].mentions.push(Mention {
        kind: MentionType::PublicFigure,
        name: "A senator".into(),
        feature: Feature::None,
    });
    let r = check(&d);
    assert_eq!(answer(&r, "p1"), Answer::NotMet);
    assert_eq!(count(&r, "NFX-CREATIVE-REFERENCE"), 1);
    assert_eq!(r.outcome, Outcome::WrittenApproval);

    d.inputs[0].cleared = true;
    let r = check(&d);
    assert_eq!(answer(&r, "p1"), Answer::Met);
    assert_eq!(count(&r, "NFX-CREATIVE-REFERENCE"), 0);

    let mut d = safe();
    d.inputs
        .push(input(InputKind::ReferenceImage, Owner::Unknown));
    let r = check(&d);
    assert_eq!(answer(&r, "p1"), Answer::Unsure);
    assert_eq!(rules(&r), ["NFX-NOTIFY", "NFX-PRINCIPLE"]);
    assert_eq!(r.outcome, Outcome::Escalate);
    let principle = r
        .findings
        .iter()
        .find(|f| f.rule == "NFX-PRINCIPLE")
        .unwrap();
    assert_eq!(principle.principle.as_deref(), Some("p1"));
    assert!(
        principle.fields.contains(&"inputs[1].owner".to_owned()),
        "{:?}",
        principle.fields
    );

    d.inputs[1].owner = Owner::PublicDomain;
    assert_eq!(answer(&check(&d), "p1"), Answer::Met);
}

#[test]
fn creative_reference_fires_once_per_input() {
    let mut d = safe();
    for name in ["Work A", "Work B"] {
        let mut i = input(InputKind::Prompt, Owner::Own);
        i.mentions.push(Mention {
            kind: MentionType::CopyrightedWork,
            name: name.into(),
            feature: Feature::None,
        });
        d.inputs.push(i);
    }
    let r = check(&d);
    assert_eq!(count(&r, "NFX-CREATIVE-REFERENCE"), 2);
    let fields: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule == "NFX-CREATIVE-REFERENCE")
        .map(|f| f.fields[0].clone())
        .collect();
    assert_eq!(fields, ["inputs[1].mentions", "inputs[2].mentions"]);
    assert_eq!(
        count(&r, "NFX-PRINCIPLE"),
        1,
        "one finding per principle, not per input"
    );
}

#[test]
fn p2_follows_the_tools_data_terms() {
    let cases = [
        (tool(true, DataUse::Trains, false), Answer::Met),
        (tool(false, DataUse::None, true), Answer::Met),
        (tool(false, DataUse::None, false), Answer::Unsure),
        (tool(false, DataUse::Unknown, true), Answer::Unsure),
        (tool(false, DataUse::Stores, true), Answer::NotMet),
        (tool(false, DataUse::Trains, false), Answer::NotMet),
    ];
    for (t, expected) in cases {
        let mut d = safe();
        d.tools = vec![t.clone()];
        let r = check(&d);
        assert_eq!(answer(&r, "p2"), expected, "{t:?}");
        assert_eq!(
            count(&r, "NFX-PRINCIPLE"),
            usize::from(expected != Answer::Met)
        );
    }
}

#[test]
fn studio_material_is_reviewed_inside_enterprise_tools_and_needs_approval_outside() {
    let mut d = safe();
    d.inputs.push(input(InputKind::Script, Owner::Studio));
    let r = check(&d);
    assert_eq!(rules(&r), ["NFX-DATA-STUDIO-SECURE", "NFX-NOTIFY"]);
    assert_eq!(r.outcome, Outcome::Review);
    assert_eq!(answer(&r, "p3"), Answer::Met);

    d.inputs
        .push(input(InputKind::UnreleasedAsset, Owner::Studio));
    let r = check(&d);
    assert_eq!(
        rules(&r),
        [
            "NFX-DATA-STUDIO-SECURE",
            "NFX-DATA-STUDIO-SENSITIVE",
            "NFX-NOTIFY"
        ]
    );
    assert_eq!(r.outcome, Outcome::Escalate);

    d.tools.push(tool(false, DataUse::None, true));
    let r = check(&d);
    assert_eq!(
        rules(&r),
        ["NFX-DATA-STUDIO-INSECURE", "NFX-NOTIFY", "NFX-PRINCIPLE"]
    );
    assert_eq!(answer(&r, "p3"), Answer::NotMet);
    assert_eq!(r.outcome, Outcome::WrittenApproval);
}

#[test]
fn personal_data_and_likeness_need_written_approval() {
    for (kind, rule) in [
        (InputKind::PersonalData, "NFX-DATA-PERSONAL"),
        (InputKind::Likeness, "NFX-DATA-LIKENESS"),
        (InputKind::Voice, "NFX-DATA-LIKENESS"),
    ] {
        let mut d = safe();
        d.inputs.push(input(kind, Owner::Own));
        let r = check(&d);
        assert_eq!(rules(&r), [rule, "NFX-NOTIFY"], "{kind:?}");
        assert_eq!(r.outcome, Outcome::WrittenApproval);
        let f = r.findings.iter().find(|f| f.rule == rule).unwrap();
        assert_eq!(f.fields, ["inputs[1].kind"]);
    }
}

#[test]
fn unowned_training_data_blocks_until_cleared() {
    let mut d = safe();
    d.inputs
        .push(input(InputKind::TrainingSet, Owner::ThirdParty));
    let r = check(&d);
    assert_eq!(blockers(&r), ["NFX-DATA-TRAINING"]);
    assert_eq!(answer(&r, "p1"), Answer::NotMet);
    d.inputs[1].cleared = true;
    let r = check(&d);
    assert!(!rules(&r).contains(&"NFX-DATA-TRAINING".to_owned()));
    assert!(r.blockers.is_empty());
    d.inputs[1] = input(InputKind::TrainingSet, Owner::Own);
    assert_eq!(rules(&check(&d)), ["NFX-NOTIFY"]);
}

#[test]
fn final_output_is_featured_unless_incidental_and_not_key_creative() {
    let mut d = safe();
    d.outputs.is_final = true;
    let r = check(&d);
    assert_eq!(
        rules(&r),
        ["NFX-FINAL-FEATURED", "NFX-NOTIFY", "NFX-PRINCIPLE"]
    );
    assert_eq!(answer(&r, "p4"), Answer::NotMet);

    d.outputs.prominence = Prominence::Incidental;
    let r = check(&d);
    assert_eq!(
        rules(&r),
        ["NFX-FINAL-INCIDENTAL", "NFX-NOTIFY", "NFX-PRINCIPLE"]
    );
    assert_eq!(
        r.outcome,
        Outcome::Escalate,
        "p4 escalates the incidental review"
    );

    d.outputs.key_creative = true;
    let r = check(&d);
    assert_eq!(
        rules(&r),
        [
            "NFX-CREATIVE-KEY",
            "NFX-FINAL-FEATURED",
            "NFX-NOTIFY",
            "NFX-PRINCIPLE"
        ]
    );

    let mut d = safe();
    d.outputs.prominence = Prominence::Incidental;
    assert_eq!(
        rules(&check(&d)),
        ["NFX-NOTIFY"],
        "prominence is read only when final"
    );
}

#[test]
fn ethics_rules_follow_the_outputs_and_the_documentary_kind() {
    let mut d = safe();
    d.outputs.presented_as_real = true;
    assert_eq!(rules(&check(&d)), ["NFX-ETHICS-REAL", "NFX-NOTIFY"]);
    let mut d = safe();
    d.outputs.depicts_real_people = true;
    assert_eq!(rules(&check(&d)), ["NFX-ETHICS-PEOPLE", "NFX-NOTIFY"]);

    let mut d = safe();
    d.production.kind = ProductionKind::Documentary;
    assert_eq!(
        rules(&check(&d)),
        ["NFX-NOTIFY"],
        "a documentary alone fires nothing"
    );
    d.talent.push(talent(Treatment::Alteration));
    d.talent[0].exception = TalentException::Customary;
    assert_eq!(
        rules(&check(&d)),
        ["NFX-ETHICS-DOCUMENTARY", "NFX-NOTIFY"],
        "any talent entry counts"
    );
}

#[test]
fn a_replica_needs_consent_unless_an_exception_applies() {
    for treatment in [Treatment::Replica, Treatment::Voice, Treatment::ReAgeing] {
        let mut d = safe();
        d.talent.push(talent(treatment));
        let r = check(&d);
        assert_eq!(blockers(&r), ["NFX-TALENT-REPLICA"], "{treatment:?}");
        assert_eq!(answer(&r, "p5"), Answer::NotMet);
        assert_eq!(r.blockers[0].fields, ["talent[0].consent"]);
        assert!(r.blockers[0].message.contains("Jane Doe"));

        d.talent[0].consent = consent(ConsentBy::Performer);
        let r = check(&d);
        assert!(r.blockers.is_empty());
        assert_eq!(answer(&r, "p5"), Answer::Met);
        assert_eq!(rules(&r), ["NFX-NOTIFY", "NFX-TALENT-REPLICA"]);
    }
    for exception in [
        TalentException::AsScripted,
        TalentException::Unsafe,
        TalentException::Unrecognizable,
    ] {
        let mut d = safe();
        d.talent.push(talent(Treatment::Replica));
        d.talent[0].exception = exception;
        let r = check(&d);
        assert_eq!(rules(&r), ["NFX-NOTIFY", "NFX-TALENT-REPLICA"]);
        assert!(r.blockers.is_empty(), "{exception:?}");
        assert_eq!(answer(&r, "p5"), Answer::Met);
    }
}

#[test]
fn replica_fires_once_per_talent_entry() {
    let mut d = safe();
    d.talent.push(talent(Treatment::ReAgeing));
    d.talent.push(talent(Treatment::ReAgeing));
    d.talent[1].performer = "John Roe".into();
    let r = check(&d);
    assert_eq!(count(&r, "NFX-TALENT-REPLICA"), 2);
    assert_eq!(r.blockers.len(), 2);
}

#[test]
fn an_alteration_needs_consent_unless_customary_dubbing_or_as_scripted_and_the_performance_is_unchanged()
 {
    for exception in [
        TalentException::Customary,
        TalentException::Dubbing,
        TalentException::AsScripted,
    ] {
        let mut d = safe();
        d.talent.push(talent(Treatment::Alteration));
        d.talent[0].exception = exception;
        assert_eq!(rules(&check(&d)), ["NFX-NOTIFY"], "{exception:?}");
        d.talent[0].changes_performance = true;
        let r = check(&d);
        assert_eq!(
            blockers(&r),
            ["NFX-TALENT-ALTERATION"],
            "{exception:?} with a changed performance"
        );
    }
    for exception in [
        TalentException::None,
        TalentException::Unsafe,
        TalentException::Unrecognizable,
    ] {
        let mut d = safe();
        d.talent.push(talent(Treatment::Alteration));
        d.talent[0].exception = exception;
        let r = check(&d);
        assert_eq!(blockers(&r), ["NFX-TALENT-ALTERATION"], "{exception:?}");
        assert_eq!(answer(&r, "p5"), Answer::NotMet);
        d.talent[0].consent = consent(ConsentBy::Performer);
        let r = check(&d);
        assert!(r.blockers.is_empty());
        assert_eq!(rules(&r), ["NFX-NOTIFY", "NFX-TALENT-ALTERATION"]);
    }
}

#[test]
fn alteration_gives_one_finding_per_declaration_and_a_blocker_per_entry() {
    let mut d = safe();
    d.talent.push(talent(Treatment::Alteration));
    d.talent.push(talent(Treatment::Alteration));
    d.talent[1].performer = "John Roe".into();
    let r = check(&d);
    assert_eq!(count(&r, "NFX-TALENT-ALTERATION"), 1);
    assert_eq!(r.blockers.len(), 2);
    assert_eq!(r.blockers[1].fields, ["talent[1].consent"]);
}

#[test]
fn a_synthetic_performer_needs_a_union_agreement_but_does_not_fail_p5_by_itself() {
    let mut d = safe();
    d.talent.push(talent(Treatment::SyntheticPerformer));
    let r = check(&d);
    assert_eq!(rules(&r), ["NFX-NOTIFY", "NFX-TALENT-SYNTHETIC"]);
    assert_eq!(blockers(&r), ["NFX-TALENT-SYNTHETIC"]);
    assert_eq!(answer(&r, "p5"), Answer::Met);
    d.union_work.agreement = Some("SAG-2026-1".into());
    assert!(check(&d).blockers.is_empty());
}

#[test]
fn a_deceased_performer_needs_the_estate_or_a_union_and_a_performer_consent_keeps_every_blocker_open()
 {
    let mut d = safe();
    let mut t = talent(Treatment::Replica);
    t.deceased = true;
    t.model_reused_elsewhere = true;
    t.consent = consent(ConsentBy::Performer);
    d.talent.push(t);
    let r = check(&d);
    assert_eq!(
        blockers(&r),
        [
            "NFX-TALENT-DECEASED",
            "NFX-TALENT-MODEL-REUSE",
            "NFX-TALENT-REPLICA"
        ]
    );
    assert_eq!(answer(&r, "p5"), Answer::NotMet);

    for by in [ConsentBy::Estate, ConsentBy::Union] {
        d.talent[0].consent = consent(by);
        let r = check(&d);
        assert!(r.blockers.is_empty(), "{by:?}");
        assert_eq!(answer(&r, "p5"), Answer::Met);
        assert_eq!(
            rules(&r),
            [
                "NFX-NOTIFY",
                "NFX-TALENT-DECEASED",
                "NFX-TALENT-MODEL-REUSE",
                "NFX-TALENT-REPLICA"
            ]
        );
    }
}

#[test]
fn deceased_and_model_reuse_fire_whatever_the_treatment() {
    let mut d = safe();
    let mut t = talent(Treatment::Alteration);
    t.exception = TalentException::Customary;
    t.deceased = true;
    d.talent.push(t);
    let r = check(&d);
    assert_eq!(
        rules(&r),
        ["NFX-NOTIFY", "NFX-PRINCIPLE", "NFX-TALENT-DECEASED"]
    );
    assert_eq!(blockers(&r), ["NFX-TALENT-DECEASED"]);

    let mut d = safe();
    let mut t = talent(Treatment::SyntheticPerformer);
    t.model_reused_elsewhere = true;
    d.talent.push(t);
    d.union_work.agreement = Some("U-1".into());
    let r = check(&d);
    assert_eq!(blockers(&r), ["NFX-TALENT-MODEL-REUSE"]);
    assert_eq!(answer(&r, "p5"), Answer::NotMet);
}

#[test]
fn union_work_blocks_until_an_agreement_is_recorded() {
    let mut d = safe();
    d.union_work.affected = true;
    let r = check(&d);
    assert_eq!(rules(&r), ["NFX-NOTIFY", "NFX-PRINCIPLE", "NFX-UNION"]);
    assert_eq!(blockers(&r), ["NFX-UNION"]);
    assert_eq!(answer(&r, "p5"), Answer::NotMet);
    d.union_work.agreement = Some("SAG-AFTRA side letter 12".into());
    let r = check(&d);
    assert_eq!(rules(&r), ["NFX-NOTIFY", "NFX-UNION"]);
    assert!(r.blockers.is_empty());
    assert_eq!(answer(&r, "p5"), Answer::Met);
}

#[test]
fn self_assessment_doubts_escalate_even_when_the_facts_are_fine() {
    let mut d = safe();
    d.self_assessment.p2 = Some(Answer::Unsure);
    d.self_assessment.p3 = Some(Answer::Met);
    d.self_assessment.p5 = Some(Answer::NotMet);
    let r = check(&d);
    assert_eq!(rules(&r), ["NFX-NOTIFY", "NFX-SELF"]);
    let selfs: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule == "NFX-SELF")
        .map(|f| f.principle.clone().unwrap())
        .collect();
    assert_eq!(selfs, ["p2", "p5"]);
    assert_eq!(
        answer(&r, "p2"),
        Answer::Met,
        "self-assessment never changes the derived answer"
    );
    assert_eq!(r.outcome, Outcome::Escalate);
}

#[test]
fn key_creative_needs_written_approval_without_a_principle() {
    let mut d = safe();
    d.outputs.key_creative = true;
    let r = check(&d);
    assert_eq!(rules(&r), ["NFX-CREATIVE-KEY", "NFX-NOTIFY"]);
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "NFX-CREATIVE-KEY")
        .unwrap();
    assert_eq!(f.principle, None);
    assert_eq!(f.fields, ["outputs.key_creative"]);
}

#[test]
fn findings_follow_the_rule_table_order() {
    let mut d = safe();
    d.outputs.is_final = true;
    d.outputs.key_creative = true;
    d.outputs.depicts_real_people = true;
    d.inputs.push(input(InputKind::PersonalData, Owner::Studio));
    d.talent.push(talent(Treatment::Replica));
    d.union_work.affected = true;
    d.self_assessment.p1 = Some(Answer::Unsure);
    let r = check(&d);
    let order: Vec<_> = r.findings.iter().map(|f| f.rule.as_str()).collect();
    let table = [
        "NFX-NOTIFY",
        "NFX-PRINCIPLE",
        "NFX-SELF",
        "NFX-DATA-PERSONAL",
        "NFX-DATA-LIKENESS",
        "NFX-DATA-STUDIO-SECURE",
        "NFX-DATA-STUDIO-SENSITIVE",
        "NFX-DATA-STUDIO-INSECURE",
        "NFX-DATA-TRAINING",
        "NFX-CREATIVE-REFERENCE",
        "NFX-CREATIVE-KEY",
        "NFX-FINAL-FEATURED",
        "NFX-FINAL-INCIDENTAL",
        "NFX-ETHICS-REAL",
        "NFX-ETHICS-PEOPLE",
        "NFX-ETHICS-DOCUMENTARY",
        "NFX-TALENT-REPLICA",
        "NFX-TALENT-ALTERATION",
        "NFX-TALENT-SYNTHETIC",
        "NFX-TALENT-DECEASED",
        "NFX-TALENT-MODEL-REUSE",
        "NFX-UNION",
    ];
    let positions: Vec<_> = order
        .iter()
        .map(|id| table.iter().position(|t| t == id).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] <= w[1]), "{order:?}");
    let principles: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule == "NFX-PRINCIPLE")
        .map(|f| f.principle.clone().unwrap())
        .collect();
    assert_eq!(principles, ["p4", "p5"]);
}

/// The worked examples of the policy spec ("the publicly reported cases").
#[test]
fn worked_examples_of_the_policy_spec() {
    // Billionaires' Bunker: ideation in pre-production, enterprise tool, own prompts, temporary.
    let r = check(&safe());
    assert_eq!(r.outcome, Outcome::Notify);

    // The Eternaut: a building-collapse VFX shot in the final episode.
    let mut d = safe();
    d.usage.purpose = Purpose::Vfx;
    d.usage.stage = Stage::PostProduction;
    d.inputs = vec![input(InputKind::Footage, Owner::Studio)];
    d.outputs.is_final = true;
    assert_eq!(check(&d).outcome, Outcome::WrittenApproval);

    // Happy Gilmore 2: de-ageing performers for a flashback, consent on file.
    let mut d = safe();
    d.outputs.is_final = true;
    for name in ["Performer A", "Performer B"] {
        let mut t = talent(Treatment::ReAgeing);
        t.performer = name.into();
        t.consent = consent(ConsentBy::Performer);
        d.talent.push(t);
    }
    let r = check(&d);
    assert_eq!(r.outcome, Outcome::WrittenApproval);
    assert!(r.blockers.is_empty());

    // What Jennifer Did: altered photos of a real person presented as archival in a documentary.
    let mut d = safe();
    d.production.kind = ProductionKind::Documentary;
    d.inputs = vec![input(InputKind::ReferenceImage, Owner::ThirdParty)];
    d.outputs.is_final = true;
    d.outputs.depicts_real_people = true;
    d.outputs.presented_as_real = true;
    let r = check(&d);
    assert_eq!(r.outcome, Outcome::WrittenApproval);
    assert!(rules(&r).contains(&"NFX-ETHICS-DOCUMENTARY".to_owned()));
}
