//! Every rule of `eu-ai-act-art50` firing and not firing, the worked examples of the spec, the
//! boundary dates, and both packs on one declaration.

mod builders;

use builders::*;
use greenlight_core::Outcome;
use greenlight_core::declaration::*;

/// A final, realistic, EU-released video use in a scripted work, release date unknown.
fn eu_final_video() -> Declaration {
    let mut d = safe();
    d.production.eu_release = true;
    d.outputs.is_final = true;
    d.outputs.media = vec![Media::Video];
    d
}

#[test]
fn not_applicable_names_the_first_reason_that_holds() {
    let mut d = safe();
    d.outputs.is_final = true;
    let r = check_with(&d, &eu());
    assert_eq!(rules(&r), ["EU-NOT-APPLICABLE"]);
    assert!(
        r.findings[0].message.starts_with("Not released in the EU"),
        "{}",
        r.findings[0].message
    );
    assert_eq!(r.principles, None, "the EU pack defines no principles");
    assert_eq!(r.findings[0].principle, None);

    d.production.eu_release = true;
    d.outputs.is_final = false;
    let r = check_with(&d, &eu());
    assert!(
        r.findings[0]
            .message
            .starts_with("Not made available to the public"),
        "{}",
        r.findings[0].message
    );

    d.outputs.is_final = true;
    d.production.release_date = Some(date("2026-08-01"));
    let r = check_with(&d, &eu());
    assert_eq!(rules(&r), ["EU-NOT-APPLICABLE"]);
    assert!(
        r.findings[0]
            .message
            .starts_with("Released before 2 August 2026"),
        "{}",
        r.findings[0].message
    );
}

#[test]
fn article_50_applies_from_the_second_of_august_2026() {
    let mut d = eu_final_video();
    d.production.release_date = Some(date("2026-08-01"));
    assert_eq!(rules(&check_with(&d, &eu())), ["EU-NOT-APPLICABLE"]);
    d.production.release_date = Some(date("2026-08-02"));
    let r = check_with(&d, &eu());
    assert_eq!(rules(&r), ["EU-50-2-MARKING"]);
    assert_eq!(r.obligations[0].due, "2026-08-02");
    d.production.release_date = None;
    let r = check_with(&d, &eu());
    assert_eq!(rules(&r), ["EU-50-2-MARKING"]);
    assert_eq!(r.obligations[0].due, "first exposure");
}

#[test]
fn marketing_material_is_public_even_when_not_final() {
    let mut d = eu_final_video();
    d.outputs.is_final = false;
    assert_eq!(rules(&check_with(&d, &eu())), ["EU-NOT-APPLICABLE"]);
    d.usage.stage = Stage::Marketing;
    assert_eq!(rules(&check_with(&d, &eu())), ["EU-50-2-MARKING"]);
}

#[test]
fn media_unstated_asks_for_review() {
    let mut d = eu_final_video();
    d.outputs.media.clear();
    let r = check_with(&d, &eu());
    assert_eq!(rules(&r), ["EU-MEDIA-UNSTATED"]);
    assert_eq!(r.outcome, Outcome::Review);
    assert!(r.obligations.is_empty());
}

#[test]
fn a_realistic_resemblance_is_a_deep_fake_disclosed_in_artistic_works_and_labelled_elsewhere() {
    for (kind, rule, obligation, outcome) in [
        (
            ProductionKind::Scripted,
            "EU-50-4-DEEPFAKE-ARTISTIC",
            "disclose-existence",
            Outcome::Notify,
        ),
        (
            ProductionKind::Animation,
            "EU-50-4-DEEPFAKE-ARTISTIC",
            "disclose-existence",
            Outcome::Notify,
        ),
        (
            ProductionKind::Documentary,
            "EU-50-4-DEEPFAKE",
            "label",
            Outcome::Review,
        ),
        (
            ProductionKind::Unscripted,
            "EU-50-4-DEEPFAKE",
            "label",
            Outcome::Review,
        ),
    ] {
        let mut d = eu_final_video();
        d.production.kind = kind;
        d.outputs.resembles_existing = true;
        let r = check_with(&d, &eu());
        assert_eq!(rules(&r), ["EU-50-2-MARKING", rule], "{kind:?}");
        assert_eq!(kinds(&r), {
            let mut k = vec!["keep-marking".to_owned(), obligation.to_owned()];
            k.sort();
            k
        });
        assert_eq!(r.outcome, outcome);
    }
}

#[test]
fn what_counts_as_resembling() {
    let resembles: [fn(&mut Declaration); 6] = [
        |d| d.outputs.depicts_real_people = true,
        |d| d.outputs.resembles_existing = true,
        |d| d.talent.push(talent(Treatment::Replica)),
        |d| d.talent.push(talent(Treatment::Voice)),
        |d| d.talent.push(talent(Treatment::ReAgeing)),
        |d| {
            let mut t = talent(Treatment::Alteration);
            t.exception = TalentException::Customary;
            d.talent.push(t)
        },
    ];
    for (i, change) in resembles.iter().enumerate() {
        let mut d = eu_final_video();
        change(&mut d);
        assert!(
            rules(&check_with(&d, &eu())).contains(&"EU-50-4-DEEPFAKE-ARTISTIC".to_owned()),
            "case {i}"
        );
    }
    let mut d = eu_final_video();
    d.talent.push(talent(Treatment::SyntheticPerformer));
    assert_eq!(
        rules(&check_with(&d, &eu())),
        ["EU-50-2-MARKING"],
        "a synthetic performer resembles no one"
    );
    let mut d = eu_final_video();
    d.outputs.resembles_existing = true;
    d.outputs.realistic = false;
    assert_eq!(
        rules(&check_with(&d, &eu())),
        ["EU-50-2-MARKING"],
        "stylised output is no deep fake"
    );
    let mut d = eu_final_video();
    d.outputs.resembles_existing = true;
    d.outputs.media = vec![Media::Text];
    assert_eq!(
        rules(&check_with(&d, &eu())),
        ["EU-NO-DUTY"],
        "text is not audiovisual"
    );
}

#[test]
fn public_interest_text_without_editorial_review_is_labelled() {
    let mut d = eu_final_video();
    d.outputs.media = vec![Media::Text];
    d.outputs.public_interest_text = true;
    let r = check_with(&d, &eu());
    assert_eq!(rules(&r), ["EU-50-4-TEXT"]);
    assert_eq!(kinds(&r), ["label-text"]);
    d.outputs.editorial_review = true;
    let r = check_with(&d, &eu());
    assert_eq!(rules(&r), ["EU-NO-DUTY"]);
    assert_eq!(r.outcome, Outcome::Notify);
    d.outputs.media = vec![Media::Text, Media::Audio];
    d.outputs.editorial_review = false;
    assert_eq!(
        rules(&check_with(&d, &eu())),
        ["EU-50-2-MARKING", "EU-50-4-TEXT"]
    );
}

#[test]
fn every_evaluation_yields_at_least_one_finding() {
    for media in [vec![], vec![Media::Text], vec![Media::Image]] {
        for eu_release in [false, true] {
            let mut d = eu_final_video();
            d.outputs.media = media.clone();
            d.production.eu_release = eu_release;
            assert!(!check_with(&d, &eu()).findings.is_empty());
        }
    }
}

/// The worked examples of `policy-eu-ai-act-art50.md`.
#[test]
fn worked_examples_of_the_eu_spec() {
    // 1. De-ageing a lead in a scripted comedy, final video, EU release 2026-09-01.
    let mut d = eu_final_video();
    d.production.release_date = Some(date("2026-09-01"));
    d.talent.push(talent(Treatment::ReAgeing));
    let r = check_with(&d, &eu());
    assert_eq!(rules(&r), ["EU-50-2-MARKING", "EU-50-4-DEEPFAKE-ARTISTIC"]);
    assert!(r.obligations.iter().all(|o| o.due == "2026-09-01"));
    assert_eq!(r.outcome, Outcome::Notify);
    // 2. The same in a documentary.
    d.production.kind = ProductionKind::Documentary;
    let r = check_with(&d, &eu());
    assert_eq!(rules(&r), ["EU-50-2-MARKING", "EU-50-4-DEEPFAKE"]);
    assert_eq!(r.outcome, Outcome::Review);
    // 3. A mood board, not final, pre-production.
    let mut d = safe();
    d.production.eu_release = true;
    d.outputs.media = vec![Media::Image];
    assert_eq!(rules(&check_with(&d, &eu())), ["EU-NOT-APPLICABLE"]);
    // 4. AI-written recap on the news page.
    let mut d = safe();
    d.production.eu_release = true;
    d.usage.stage = Stage::Marketing;
    d.outputs.media = vec![Media::Text];
    d.outputs.public_interest_text = true;
    let r = check_with(&d, &eu());
    assert_eq!(rules(&r), ["EU-50-4-TEXT"]);
    assert_eq!(r.outcome, Outcome::Review);
    // 5. A collapsing building in a real city, released 2026-05-01.
    let mut d = eu_final_video();
    d.outputs.resembles_existing = true;
    d.production.release_date = Some(date("2026-05-01"));
    assert_eq!(rules(&check_with(&d, &eu())), ["EU-NOT-APPLICABLE"]);
    // 6. A stylised animated crowd.
    let mut d = eu_final_video();
    d.production.kind = ProductionKind::Animation;
    d.outputs.realistic = false;
    let r = check_with(&d, &eu());
    assert_eq!(rules(&r), ["EU-50-2-MARKING"]);
    assert_eq!(r.outcome, Outcome::Notify);
}

#[test]
fn both_packs_report_under_their_own_ids_and_the_outcome_is_the_strictest_of_all() {
    let mut d = eu_final_video();
    d.production.kind = ProductionKind::Documentary;
    d.outputs.resembles_existing = true;
    let r = check_with(&d, &both());
    assert_eq!(
        r.policies.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["netflix-genai", "eu-ai-act-art50"]
    );
    assert_eq!(r.policy.id, "netflix-genai");
    assert!(r.principles.is_some());
    let first_eu = r
        .findings
        .iter()
        .position(|f| f.pack == "eu-ai-act-art50")
        .unwrap();
    assert!(
        r.findings[..first_eu]
            .iter()
            .all(|f| f.pack == "netflix-genai")
    );
    assert!(
        r.findings[first_eu..]
            .iter()
            .all(|f| f.pack == "eu-ai-act-art50")
    );
    assert_eq!(r.outcome, Outcome::WrittenApproval);
    assert!(r.obligations.iter().all(|o| o.pack == "eu-ai-act-art50"));

    let netflix_alone = check(&d);
    let netflix_part: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.pack == "netflix-genai")
        .cloned()
        .collect();
    assert_eq!(
        netflix_part, netflix_alone.findings,
        "adding a pack changes no finding of another"
    );

    let twice = check_with(&d, &[both(), both()].concat());
    assert_eq!(twice, r, "a pack named twice is evaluated once");

    let eu_first = check_with(&d, &[eu(), netflix()].concat());
    assert_eq!(eu_first.policy.id, "eu-ai-act-art50");
    assert_eq!(eu_first.findings[0].pack, "eu-ai-act-art50");
}
