//! Every rule of `sag-aftra-2023` firing and staying silent where the spec's rule table says,
//! the terms behind them (valid consent, notice late), and the pack beside the others.

mod builders;

use builders::*;
use greenlight_core::declaration::*;
use greenlight_core::{CheckResult, Outcome};

/// A use on a production under the 2023 agreement, released 2027-03-05, no performer yet.
fn under_agreement() -> Declaration {
    let mut d = safe();
    d.production.agreements = vec![Agreement::SagAftraTvTheatrical2023];
    d.production.release_date = Some(date("2027-03-05"));
    d
}

/// A principal performer's replica (`treatment`) made with `origin`, no consent.
fn replica_of(treatment: Treatment, origin: ReplicaOrigin) -> Talent {
    Talent {
        performer: "Ana Ruiz".to_owned(),
        replica_origin: origin,
        ..talent(treatment)
    }
}

/// An employment-based digital replica with a consent that counts.
fn consented_ebdr() -> Talent {
    Talent {
        consent: signed_consent(ConsentBy::Performer),
        ..replica_of(Treatment::Replica, ReplicaOrigin::Employment)
    }
}

fn with_talent(entries: Vec<Talent>) -> Declaration {
    let mut d = under_agreement();
    d.talent = entries;
    d
}

fn run(d: &Declaration) -> CheckResult {
    check_with(d, &sag())
}

/// The rule ids in the order the findings were reported, repeats kept.
fn fired(r: &CheckResult) -> Vec<&str> {
    r.findings.iter().map(|f| f.rule.as_str()).collect()
}

#[test]
fn the_pack_applies_only_under_the_2023_agreement() {
    let entries = vec![replica_of(Treatment::Replica, ReplicaOrigin::Employment)];
    for agreements in [
        vec![],
        vec![Agreement::WgaMba2023],
        vec![Agreement::SagAftraTvTheatrical2026],
    ] {
        let mut d = with_talent(entries.clone());
        d.production.agreements = agreements.clone();
        let r = run(&d);
        assert_eq!(fired(&r), ["SAG-NOT-APPLICABLE"], "{agreements:?}");
        assert_eq!(r.outcome, Outcome::Notify);
        assert!(r.blockers.is_empty() && r.obligations.is_empty());
        assert_eq!(r.findings[0].source, "Scope");
        assert_eq!(r.findings[0].principle, None);
        assert_eq!(r.findings[0].fields, ["production.agreements"]);
    }
    let mut d = with_talent(entries);
    d.production.agreements = vec![Agreement::SagAftraTvTheatrical2026];
    assert!(run(&d).findings[0].message.contains("2026"));
    d.production.agreements = vec![Agreement::WgaMba2023, Agreement::SagAftraTvTheatrical2023];
    assert_eq!(fired(&run(&d)), ["SAG-EBDR"]);
    assert_eq!(run(&d).policy.version, "2023.1");
}

#[test]
fn no_performers_is_the_only_finding_even_with_a_featured_prompt() {
    let mut d = under_agreement();
    d.inputs[0]
        .mentions
        .push(mention(MentionType::Performer, "Ana Ruiz", Feature::Eyes));
    let r = run(&d);
    assert_eq!(fired(&r), ["SAG-NO-PERFORMERS"]);
    assert_eq!(r.outcome, Outcome::Notify);
    assert_eq!(r.findings[0].source, "Scope");
}

#[test]
fn a_principal_replica_of_unknown_origin_is_reviewed() {
    for treatment in [Treatment::Replica, Treatment::Voice, Treatment::ReAgeing] {
        let r = run(&with_talent(vec![replica_of(
            treatment,
            ReplicaOrigin::Unknown,
        )]));
        assert_eq!(fired(&r), ["SAG-ORIGIN-UNKNOWN"], "{treatment:?}");
        assert_eq!(r.outcome, Outcome::Review);
        assert!(r.blockers.is_empty() && r.obligations.is_empty());
        assert_eq!(
            r.findings[0].fields,
            ["talent[0].treatment", "talent[0].replica_origin"]
        );
    }
    // Not a replica, or a background actor's: the origin does not matter.
    let background = Talent {
        role: Role::Background,
        ..replica_of(Treatment::Replica, ReplicaOrigin::Unknown)
    };
    assert_eq!(
        fired(&run(&with_talent(vec![background]))),
        ["SAG-BACKGROUND"]
    );
    let altered = replica_of(Treatment::Alteration, ReplicaOrigin::Unknown);
    assert_eq!(fired(&run(&with_talent(vec![altered]))), ["SAG-ALTERATION"]);
}

#[test]
fn an_employment_based_replica_needs_a_separately_signed_consent_and_is_paid() {
    for treatment in [Treatment::Replica, Treatment::Voice, Treatment::ReAgeing] {
        let entry = replica_of(treatment, ReplicaOrigin::Employment);
        let r = run(&with_talent(vec![entry.clone()]));
        assert_eq!(fired(&r), ["SAG-EBDR"], "{treatment:?}");
        assert_eq!(r.outcome, Outcome::WrittenApproval);
        assert_eq!(blockers(&r), ["SAG-EBDR"]);
        assert_eq!(r.blockers[0].fields, ["talent[0].consent"]);
        assert!(
            r.blockers[0].message.contains("none is on file"),
            "{}",
            r.blockers[0].message
        );
        assert_eq!(kinds(&r), ["compensate"]);
        assert_eq!(r.findings[0].source, "Digital replicas (employment-based)");

        // A consent on file that is not signed separately from other terms does not count.
        let typed = Talent {
            consent: consent(ConsentBy::Performer),
            ..entry.clone()
        };
        let r = run(&with_talent(vec![typed]));
        assert_eq!(blockers(&r), ["SAG-EBDR"]);
        assert!(r.blockers[0].message.contains("not signed separately"));

        let signed = Talent {
            consent: signed_consent(ConsentBy::Performer),
            ..entry
        };
        let r = run(&with_talent(vec![signed]));
        assert_eq!(fired(&r), ["SAG-EBDR"]);
        assert!(r.blockers.is_empty());
        assert_eq!(kinds(&r), ["compensate"], "the capture is paid either way");
    }
}

#[test]
fn used_as_scripted_an_employment_based_replica_needs_no_new_consent_but_is_still_paid() {
    let entry = Talent {
        exception: TalentException::AsScripted,
        ..replica_of(Treatment::Replica, ReplicaOrigin::Employment)
    };
    let r = run(&with_talent(vec![entry]));
    assert_eq!(fired(&r), ["SAG-EBDR"]);
    assert_eq!(r.outcome, Outcome::WrittenApproval);
    assert!(r.blockers.is_empty());
    assert_eq!(kinds(&r), ["compensate"]);
    // Only as-scripted waives it.
    for exception in [
        TalentException::Unsafe,
        TalentException::Unrecognizable,
        TalentException::Customary,
        TalentException::Dubbing,
    ] {
        let entry = Talent {
            exception,
            ..replica_of(Treatment::Replica, ReplicaOrigin::Employment)
        };
        assert_eq!(
            blockers(&run(&with_talent(vec![entry]))),
            ["SAG-EBDR"],
            "{exception:?}"
        );
    }
}

#[test]
fn every_employment_based_replica_gives_its_own_finding_blocker_and_obligation() {
    let second = Talent {
        performer: "Tom Harlow".to_owned(),
        ..replica_of(Treatment::Voice, ReplicaOrigin::Employment)
    };
    let r = run(&with_talent(vec![consented_ebdr(), second]));
    assert_eq!(fired(&r), ["SAG-EBDR", "SAG-EBDR"]);
    assert_eq!(kinds(&r), ["compensate", "compensate"]);
    assert_eq!(r.blockers.len(), 1);
    assert_eq!(r.blockers[0].fields, ["talent[1].consent"]);
    assert!(r.blockers[0].message.contains("Tom Harlow"));
}

/// `notice late` of the spec, case by case: (capture, notice, engaged) and whether it is late.
#[test]
fn capture_notice_is_late_as_the_spec_counts_calendar_days() {
    let cases: &[(&str, Option<&str>, Option<&str>, bool)] = &[
        // No engagement date: at least 2 calendar days before the capture.
        ("2026-11-10", Some("2026-11-08"), None, false),
        ("2026-11-10", Some("2026-11-01"), None, false),
        ("2026-11-10", Some("2026-11-09"), None, true),
        ("2026-11-10", Some("2026-11-10"), None, true),
        ("2026-11-10", Some("2026-11-12"), None, true),
        ("2026-11-10", None, None, true),
        // Engaged 2 days or more before: the same 2-day rule.
        ("2026-11-10", Some("2026-11-08"), Some("2026-11-08"), false),
        ("2026-11-10", Some("2026-11-09"), Some("2026-11-08"), true),
        ("2026-11-10", Some("2026-11-05"), Some("2026-10-01"), false),
        ("2026-11-10", None, Some("2026-10-01"), true),
        // Engaged less than 2 days before, on the day or after: told at engagement or earlier.
        ("2026-11-10", Some("2026-11-09"), Some("2026-11-09"), false),
        ("2026-11-10", Some("2026-11-10"), Some("2026-11-09"), true),
        ("2026-11-10", Some("2026-11-10"), Some("2026-11-10"), false),
        ("2026-11-10", Some("2026-11-12"), Some("2026-11-12"), false),
        ("2026-11-10", Some("2026-11-11"), Some("2026-11-12"), false),
        ("2026-11-10", Some("2026-11-13"), Some("2026-11-12"), true),
        ("2026-11-10", None, Some("2026-11-09"), true),
        // Across a month, a year and a leap day.
        ("2026-12-01", Some("2026-11-29"), None, false),
        ("2026-12-01", Some("2026-11-30"), None, true),
        ("2027-01-01", Some("2026-12-30"), None, false),
        ("2027-01-01", Some("2026-12-31"), None, true),
        ("2028-03-01", Some("2028-02-28"), None, false),
        ("2028-03-01", Some("2028-02-29"), None, true),
        ("2027-03-01", Some("2027-02-27"), None, false),
        ("2027-03-01", Some("2027-02-28"), None, true),
    ];
    for &(capture, notice, engaged, late) in cases {
        let entry = Talent {
            scan: Some(Scan {
                date: date(capture),
                notice: notice.map(date),
                engaged: engaged.map(date),
            }),
            ..consented_ebdr()
        };
        let r = run(&with_talent(vec![entry]));
        let case = format!("capture {capture}, notice {notice:?}, engaged {engaged:?}");
        if late {
            assert_eq!(fired(&r), ["SAG-EBDR", "SAG-SCAN-NOTICE"], "{case}");
            assert_eq!(kinds(&r), ["compensate", "notice-48h"], "{case}");
            let finding = &r.findings[1];
            assert_eq!(finding.outcome, Outcome::Escalate);
            assert_eq!(finding.source, "Digital replicas (employment-based)");
            assert_eq!(finding.fields[0], "talent[0].scan.date", "{case}");
        } else {
            assert_eq!(fired(&r), ["SAG-EBDR"], "{case}");
        }
        assert!(r.blockers.is_empty(), "{case}");
    }
}

#[test]
fn capture_notice_is_asked_of_employment_based_replicas_only() {
    let late = Some(Scan {
        date: date("2026-11-10"),
        notice: None,
        engaged: None,
    });
    let icdr = Talent {
        scan: late.clone(),
        ..replica_of(Treatment::Replica, ReplicaOrigin::Independent)
    };
    assert_eq!(fired(&run(&with_talent(vec![icdr]))), ["SAG-ICDR"]);
    let background = Talent {
        scan: late.clone(),
        role: Role::Background,
        ..replica_of(Treatment::Replica, ReplicaOrigin::Employment)
    };
    assert_eq!(
        fired(&run(&with_talent(vec![background]))),
        ["SAG-BACKGROUND"]
    );
    let unknown = Talent {
        scan: late,
        ..replica_of(Treatment::Replica, ReplicaOrigin::Unknown)
    };
    assert_eq!(
        fired(&run(&with_talent(vec![unknown]))),
        ["SAG-ORIGIN-UNKNOWN"]
    );
    // An employment-based replica without a declared capture: nothing to be late for.
    assert_eq!(
        fired(&run(&with_talent(vec![consented_ebdr()]))),
        ["SAG-EBDR"]
    );
}

#[test]
fn an_independently_created_replica_needs_consent_unless_first_amendment_and_compensation_is_bargained()
 {
    let entry = replica_of(Treatment::Replica, ReplicaOrigin::Independent);
    let r = run(&with_talent(vec![entry.clone()]));
    assert_eq!(fired(&r), ["SAG-ICDR"]);
    assert_eq!(r.outcome, Outcome::WrittenApproval);
    assert_eq!(blockers(&r), ["SAG-ICDR"]);
    assert_eq!(kinds(&r), ["bargain-compensation"]);
    assert_eq!(
        r.findings[0].source,
        "Digital replicas (independently created)"
    );

    for genre in Genre::ALLOWED.iter().filter(|g| **g != "none") {
        let mut d = with_talent(vec![entry.clone()]);
        d.usage.genre = Genre::parse(genre).expect("allowed");
        let r = run(&d);
        assert_eq!(fired(&r), ["SAG-ICDR"], "{genre}");
        assert_eq!(r.outcome, Outcome::WrittenApproval, "{genre}");
        assert!(r.blockers.is_empty(), "{genre} waives the consent");
        assert_eq!(
            kinds(&r),
            ["bargain-compensation"],
            "{genre} waives no payment"
        );
    }

    let signed = Talent {
        consent: signed_consent(ConsentBy::Performer),
        ..entry
    };
    let r = run(&with_talent(vec![signed]));
    assert!(r.blockers.is_empty());
    assert_eq!(kinds(&r), ["bargain-compensation"]);
}

/// The spec ties the First Amendment carve-out to independently created replicas only: under a
/// genre exception an employment-based replica still needs consent, an independently created
/// one does not. (So, there, declaring the origin independent closes a consent blocker.)
#[test]
fn a_genre_exception_waives_only_the_independent_replica_consent() {
    let mut d = with_talent(vec![replica_of(
        Treatment::Replica,
        ReplicaOrigin::Employment,
    )]);
    d.usage.genre = Genre::Docudrama;
    assert_eq!(blockers(&run(&d)), ["SAG-EBDR"]);
    d.talent[0].replica_origin = ReplicaOrigin::Independent;
    assert!(run(&d).blockers.is_empty());
}

#[test]
fn a_background_actors_replica_is_reviewed_in_the_same_picture() {
    for origin in [
        ReplicaOrigin::Employment,
        ReplicaOrigin::Independent,
        ReplicaOrigin::Unknown,
    ] {
        let entry = Talent {
            role: Role::Background,
            ..replica_of(Treatment::Replica, origin)
        };
        let r = run(&with_talent(vec![entry]));
        assert_eq!(fired(&r), ["SAG-BACKGROUND"], "{origin:?}");
        assert_eq!(r.outcome, Outcome::Review);
        assert!(r.blockers.is_empty() && r.obligations.is_empty());
        assert_eq!(r.findings[0].source, "Background actor digital replicas");
    }
    // A background actor's altered performance is not a replica.
    let altered = Talent {
        role: Role::Background,
        exception: TalentException::Customary,
        ..talent(Treatment::Alteration)
    };
    assert_eq!(fired(&run(&with_talent(vec![altered]))), ["SAG-NO-DUTY"]);
}

#[test]
fn a_replica_used_elsewhere_needs_consent_and_is_paid() {
    let background = Talent {
        role: Role::Background,
        model_reused_elsewhere: true,
        ..replica_of(Treatment::Replica, ReplicaOrigin::Employment)
    };
    let r = run(&with_talent(vec![background.clone()]));
    assert_eq!(
        fired(&r),
        ["SAG-REUSE"],
        "reuse replaces the same-picture review"
    );
    assert_eq!(r.outcome, Outcome::WrittenApproval);
    assert_eq!(blockers(&r), ["SAG-REUSE"]);
    assert_eq!(kinds(&r), ["compensate"]);
    let signed = Talent {
        consent: signed_consent(ConsentBy::Performer),
        ..background
    };
    assert!(run(&with_talent(vec![signed])).blockers.is_empty());

    let principal = Talent {
        model_reused_elsewhere: true,
        ..replica_of(Treatment::Voice, ReplicaOrigin::Employment)
    };
    let r = run(&with_talent(vec![principal]));
    assert_eq!(fired(&r), ["SAG-EBDR", "SAG-REUSE"]);
    assert_eq!(blockers(&r), ["SAG-EBDR", "SAG-REUSE"]);
    assert_eq!(kinds(&r), ["compensate", "compensate"]);

    // Reuse is about replicas: a synthetic performer or an alteration is not one.
    let synthetic = Talent {
        model_reused_elsewhere: true,
        ..talent(Treatment::SyntheticPerformer)
    };
    assert_eq!(fired(&run(&with_talent(vec![synthetic]))), ["SAG-NO-DUTY"]);
}

#[test]
fn a_digital_alteration_needs_consent_unless_customary() {
    for exception in [
        TalentException::AsScripted,
        TalentException::Customary,
        TalentException::Dubbing,
    ] {
        let entry = Talent {
            exception,
            ..talent(Treatment::Alteration)
        };
        assert_eq!(
            fired(&run(&with_talent(vec![entry.clone()]))),
            ["SAG-NO-DUTY"],
            "{exception:?}"
        );
        let changed = Talent {
            changes_performance: true,
            ..entry
        };
        let r = run(&with_talent(vec![changed]));
        assert_eq!(
            fired(&r),
            ["SAG-ALTERATION"],
            "{exception:?}, performance changed"
        );
        assert_eq!(
            r.findings[0].fields,
            ["talent[0].treatment", "talent[0].changes_performance"]
        );
    }
    for exception in [
        TalentException::None,
        TalentException::Unsafe,
        TalentException::Unrecognizable,
    ] {
        let entry = Talent {
            exception,
            ..talent(Treatment::Alteration)
        };
        let r = run(&with_talent(vec![entry.clone()]));
        assert_eq!(fired(&r), ["SAG-ALTERATION"], "{exception:?}");
        assert_eq!(r.outcome, Outcome::WrittenApproval);
        assert_eq!(blockers(&r), ["SAG-ALTERATION"]);
        assert!(r.obligations.is_empty());
        assert_eq!(r.findings[0].source, "Digital alteration");
        let signed = Talent {
            consent: signed_consent(ConsentBy::Performer),
            ..entry
        };
        assert!(run(&with_talent(vec![signed])).blockers.is_empty());
    }
}

#[test]
fn a_deceased_performer_needs_the_estate_or_the_union() {
    for treatment in [
        Treatment::Replica,
        Treatment::Voice,
        Treatment::ReAgeing,
        Treatment::Alteration,
    ] {
        let entry = Talent {
            deceased: true,
            ..talent(treatment)
        };
        let r = run(&with_talent(vec![entry.clone()]));
        assert!(fired(&r).contains(&"SAG-DECEASED"), "{treatment:?}");
        assert!(blockers(&r).contains(&"SAG-DECEASED".to_owned()));
        assert_eq!(r.outcome, Outcome::WrittenApproval);
    }
    let deceased = Talent {
        deceased: true,
        ..replica_of(Treatment::Replica, ReplicaOrigin::Independent)
    };
    // The performer's own consent, even separately signed, counts for neither rule.
    let by_performer = Talent {
        consent: signed_consent(ConsentBy::Performer),
        ..deceased.clone()
    };
    let r = run(&with_talent(vec![by_performer]));
    assert_eq!(fired(&r), ["SAG-ICDR", "SAG-DECEASED"]);
    assert_eq!(blockers(&r), ["SAG-DECEASED", "SAG-ICDR"]);
    assert!(
        r.blockers
            .iter()
            .all(|b| b.message.contains("deceased") || b.message.contains("does not count here"))
    );
    let deceased_finding = r
        .findings
        .iter()
        .find(|f| f.rule == "SAG-DECEASED")
        .unwrap();
    assert_eq!(deceased_finding.source, "Deceased performers");
    assert_eq!(deceased_finding.fields, ["talent[0].deceased"]);
    for by in [ConsentBy::Estate, ConsentBy::Union] {
        // SAG-DECEASED asks only who consented; the replica rule asks a consent that counts.
        let typed = Talent {
            consent: consent(by),
            ..deceased.clone()
        };
        assert_eq!(
            blockers(&run(&with_talent(vec![typed]))),
            ["SAG-ICDR"],
            "{by:?}"
        );
        let signed = Talent {
            consent: signed_consent(by),
            ..deceased.clone()
        };
        assert!(
            run(&with_talent(vec![signed])).blockers.is_empty(),
            "{by:?}"
        );
    }
    // A synthetic performer is nobody's likeness.
    let synthetic = Talent {
        deceased: true,
        ..talent(Treatment::SyntheticPerformer)
    };
    assert_eq!(fired(&run(&with_talent(vec![synthetic]))), ["SAG-NO-DUTY"]);
}

#[test]
fn a_synthetic_performer_in_place_of_a_human_one_needs_notice_to_the_union() {
    let entry = Talent {
        replaces_human_role: true,
        ..talent(Treatment::SyntheticPerformer)
    };
    let r = run(&with_talent(vec![entry]));
    assert_eq!(fired(&r), ["SAG-SYNTHETIC"]);
    assert_eq!(r.outcome, Outcome::Escalate);
    assert!(r.blockers.is_empty());
    assert_eq!(kinds(&r), ["notify-union"]);
    assert_eq!(r.findings[0].source, "Synthetic performers");
    assert_eq!(r.obligations[0].due, "2027-03-05");

    let replaces_no_one = talent(Treatment::SyntheticPerformer);
    let r = run(&with_talent(vec![replaces_no_one]));
    assert_eq!(fired(&r), ["SAG-NO-DUTY"]);
    assert_eq!(r.outcome, Outcome::Notify);
    // Only a synthetic performer replaces a role.
    let replica = Talent {
        replaces_human_role: true,
        ..consented_ebdr()
    };
    assert_eq!(fired(&run(&with_talent(vec![replica]))), ["SAG-EBDR"]);
}

/// A use with a synthetic performer and a prompt naming `name`'s `feature`.
fn synthetic_prompted(name: &str, feature: Feature) -> Declaration {
    let mut d = with_talent(vec![talent(Treatment::SyntheticPerformer)]);
    d.inputs[0]
        .mentions
        .push(mention(MentionType::Performer, name, feature));
    d
}

#[test]
fn a_performers_facial_feature_in_a_synthetic_performers_prompt_needs_that_performers_consent() {
    let d = synthetic_prompted("Ana Ruiz", Feature::Eyes);
    let r = run(&d);
    assert_eq!(fired(&r), ["SAG-SYNTHETIC-FEATURE"]);
    assert_eq!(r.outcome, Outcome::WrittenApproval);
    assert_eq!(blockers(&r), ["SAG-SYNTHETIC-FEATURE"]);
    assert!(r.obligations.is_empty());
    assert_eq!(r.findings[0].fields, ["inputs[0].mentions[0].feature"]);
    assert_eq!(r.blockers[0].fields, ["inputs[0].mentions[0].name"]);
    assert_eq!(r.findings[0].source, "Synthetic performers");

    for feature in [Feature::Nose, Feature::Mouth, Feature::Ears] {
        assert_eq!(
            fired(&run(&synthetic_prompted("Ana Ruiz", feature))),
            ["SAG-SYNTHETIC-FEATURE"]
        );
    }
    // No feature named, not a performer, not a prompt, or no synthetic performer: silent.
    assert_eq!(
        fired(&run(&synthetic_prompted("Ana Ruiz", Feature::None))),
        ["SAG-NO-DUTY"]
    );
    let mut d = with_talent(vec![talent(Treatment::SyntheticPerformer)]);
    d.inputs[0].mentions.push(mention(
        MentionType::PublicFigure,
        "Ana Ruiz",
        Feature::Eyes,
    ));
    assert_eq!(fired(&run(&d)), ["SAG-NO-DUTY"]);
    let mut d = synthetic_prompted("Ana Ruiz", Feature::Eyes);
    d.inputs[0].kind = InputKind::ReferenceImage;
    assert_eq!(fired(&run(&d)), ["SAG-NO-DUTY"]);
    let mut d = synthetic_prompted("Ana Ruiz", Feature::Eyes);
    d.talent[0] = consented_ebdr();
    assert_eq!(fired(&run(&d)), ["SAG-EBDR"]);
}

#[test]
fn the_feature_blocker_clears_with_a_consent_of_the_named_performer_under_any_treatment() {
    // The talent entry's name differs in case and surrounding spaces only.
    let listed = |consent: Option<Consent>, performer: &str| Talent {
        performer: performer.to_owned(),
        consent,
        exception: TalentException::Customary,
        ..talent(Treatment::Alteration)
    };
    let mut d = synthetic_prompted("  ana RUIZ ", Feature::Mouth);
    d.talent
        .push(listed(signed_consent(ConsentBy::Performer), "Ana Ruiz"));
    let r = run(&d);
    assert_eq!(fired(&r), ["SAG-SYNTHETIC-FEATURE"]);
    assert!(r.blockers.is_empty());

    for (consent, performer) in [
        (consent(ConsentBy::Performer), "Ana Ruiz"),
        (None, "Ana Ruiz"),
        (signed_consent(ConsentBy::Performer), "Ana Ruíz"),
        (signed_consent(ConsentBy::Performer), "Ana"),
    ] {
        let mut d = synthetic_prompted("Ana Ruiz", Feature::Mouth);
        d.talent.push(listed(consent.clone(), performer));
        assert_eq!(
            blockers(&run(&d)),
            ["SAG-SYNTHETIC-FEATURE"],
            "{performer}, {consent:?}"
        );
    }
    // A deceased performer's own consent does not count.
    let mut d = synthetic_prompted("Ana Ruiz", Feature::Mouth);
    let mut entry = listed(signed_consent(ConsentBy::Performer), "Ana Ruiz");
    entry.deceased = true;
    d.talent.push(entry);
    assert!(blockers(&run(&d)).contains(&"SAG-SYNTHETIC-FEATURE".to_owned()));
}

#[test]
fn the_feature_rule_fires_once_per_mention() {
    let mut d = synthetic_prompted("Ana Ruiz", Feature::Eyes);
    d.inputs[0]
        .mentions
        .push(mention(MentionType::Artist, "A painter", Feature::None));
    d.inputs[0]
        .mentions
        .push(mention(MentionType::Performer, "Tom Harlow", Feature::Nose));
    let mut second = input(InputKind::Prompt, Owner::Own);
    second
        .mentions
        .push(mention(MentionType::Performer, "Ana Ruiz", Feature::Ears));
    d.inputs.push(second);
    d.talent.push(Talent {
        performer: "Tom Harlow".to_owned(),
        consent: signed_consent(ConsentBy::Performer),
        ..talent(Treatment::Voice)
    });
    let r = run(&d);
    let features: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule == "SAG-SYNTHETIC-FEATURE")
        .map(|f| f.fields[0].as_str())
        .collect();
    assert_eq!(
        features,
        [
            "inputs[0].mentions[0].feature",
            "inputs[0].mentions[2].feature",
            "inputs[1].mentions[0].feature"
        ]
    );
    let open: Vec<_> = r
        .blockers
        .iter()
        .filter(|b| b.rule == "SAG-SYNTHETIC-FEATURE")
        .map(|b| b.fields[0].as_str())
        .collect();
    assert_eq!(
        open,
        ["inputs[0].mentions[0].name", "inputs[1].mentions[0].name"],
        "Tom Harlow's consent is on file"
    );
}

#[test]
fn no_duty_is_added_only_when_no_other_rule_fires() {
    let customary = Talent {
        exception: TalentException::Dubbing,
        ..talent(Treatment::Alteration)
    };
    let r = run(&with_talent(vec![customary.clone()]));
    assert_eq!(fired(&r), ["SAG-NO-DUTY"]);
    assert_eq!(r.findings[0].source, "Scope");
    assert_eq!(r.outcome, Outcome::Notify);
    let r = run(&with_talent(vec![customary, consented_ebdr()]));
    assert_eq!(fired(&r), ["SAG-EBDR"]);
}

#[test]
fn obligations_are_due_on_the_release_date_or_before_use() {
    let mut d = with_talent(vec![consented_ebdr()]);
    let r = run(&d);
    assert_eq!(r.obligations[0].due, "2027-03-05");
    assert_eq!(r.obligations[0].pack, "sag-aftra-2023");
    assert_eq!(r.obligations[0].rule, "SAG-EBDR");
    assert_eq!(
        r.obligations[0].source,
        "Digital replicas (employment-based)"
    );
    assert!(r.obligations[0].text.contains("Ana Ruiz"));
    d.production.release_date = None;
    assert_eq!(run(&d).obligations[0].due, "before use");
}

#[test]
fn every_finding_names_its_provision() {
    let expected = [
        ("SAG-NOT-APPLICABLE", "Scope"),
        ("SAG-NO-PERFORMERS", "Scope"),
        ("SAG-EBDR", "Digital replicas (employment-based)"),
        ("SAG-SCAN-NOTICE", "Digital replicas (employment-based)"),
        ("SAG-ICDR", "Digital replicas (independently created)"),
        ("SAG-BACKGROUND", "Background actor digital replicas"),
        ("SAG-ALTERATION", "Digital alteration"),
        ("SAG-DECEASED", "Deceased performers"),
        ("SAG-SYNTHETIC", "Synthetic performers"),
        ("SAG-SYNTHETIC-FEATURE", "Synthetic performers"),
        ("SAG-NO-DUTY", "Scope"),
    ];
    let pack = &sag()[0];
    let rules = &pack.file().rules;
    for (id, source) in expected {
        let rule = rules.iter().find(|r| r.id == id).expect("the rule exists");
        assert_eq!(rule.source, source, "{id}");
        assert_eq!(rule.principle, None, "{id}");
    }
    // The spec's table, in its order, and SAG-NO-DUTY last.
    let ids: Vec<_> = rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "SAG-NOT-APPLICABLE",
            "SAG-NO-PERFORMERS",
            "SAG-ORIGIN-UNKNOWN",
            "SAG-EBDR",
            "SAG-SCAN-NOTICE",
            "SAG-ICDR",
            "SAG-BACKGROUND",
            "SAG-REUSE",
            "SAG-ALTERATION",
            "SAG-DECEASED",
            "SAG-SYNTHETIC",
            "SAG-SYNTHETIC-FEATURE",
            "SAG-NO-DUTY"
        ]
    );
}

#[test]
fn the_union_pack_and_the_streamers_guidance_both_fire_on_one_use() {
    let mut d = with_talent(vec![replica_of(
        Treatment::Replica,
        ReplicaOrigin::Employment,
    )]);
    d.talent[0].consent = consent(ConsentBy::Performer);
    let packs = [netflix(), sag()].concat();
    let r = check_with(&d, &packs);
    // The guidance takes the typed consent; the agreement asks it be signed separately.
    assert!(r.findings.iter().any(|f| f.rule == "NFX-TALENT-REPLICA"));
    assert!(r.blockers.iter().all(|b| b.pack == "sag-aftra-2023"));
    assert_eq!(blockers(&r), ["SAG-EBDR"]);
    let netflix_alone = check(&d);
    let netflix_part: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.pack == "netflix-genai")
        .cloned()
        .collect();
    assert_eq!(netflix_part, netflix_alone.findings);
    assert_eq!(
        r.policies.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["netflix-genai", "sag-aftra-2023"]
    );
}

/// The union pack's fields, written out at their defaults, change nothing in any pack.
#[test]
fn the_new_fields_at_their_defaults_change_no_result() {
    let plain = format!(
        "{}outputs:\n  final: true\n  media: [video]\ntalent:\n  - performer: Ana Ruiz\n    treatment: replica\n    consent: {{document: C-1, scope: flashbacks, signed: 2026-01-01}}\n",
        SAFE.replace(
            "  title: Harbour Lights\n",
            "  title: Harbour Lights\n  eu_release: true\n"
        )
        .replace(
            "inputs:\n  - kind: prompt\n",
            "inputs:\n  - kind: prompt\n    mentions: [{type: performer, name: Ana Ruiz}]\n"
        )
    );
    let explicit = plain
        .replace("  eu_release: true\n", "  eu_release: true\n  agreements: []\n")
        .replace("  purpose: ideation\n", "  purpose: ideation\n  genre: none\n")
        .replace("name: Ana Ruiz}]", "name: Ana Ruiz, feature: none}]")
        .replace(
            "    treatment: replica\n",
            "    treatment: replica\n    role: principal\n    replica_origin: unknown\n    replaces_human_role: false\n",
        )
        .replace("signed: 2026-01-01}", "signed: 2026-01-01, separately_signed: false}");
    assert_ne!(plain, explicit);
    let parse = |text: &str| {
        greenlight_core::format::parse(text.as_bytes(), greenlight_core::format::SourceKind::Yaml)
            .unwrap_or_else(|e| panic!("{e:?}\n{text}"))
            .declaration
    };
    let (a, b) = (parse(&plain), parse(&explicit));
    assert_eq!(a, b);
    assert_eq!(check_with(&a, &all_packs()), check_with(&b, &all_packs()));
}
