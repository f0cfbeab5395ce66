//! A studio's packs as records: uploaded (refused when broken or when their own tests fail,
//! immutable under `id@version`), used by a production, recorded by digest in every triage
//! and replayed exactly; never seen by another studio. Run on SQLite always and on a fresh
//! PostgreSQL database when configured.

use greenlight_store::input::NewProduction;
use greenlight_store::*;

mod backends;
use backends::{Db, Northlight, northlight, with_each_backend};

/// Ideation with an enterprise tool that keeps no data: the streamer's pack only notifies.
const IDEATION: &str = "greenlight: declaration/v1
production:
  title: The Lighthouse Keeper
use:
  ref: LK-050
  summary: Mood board for the keeper's cottage
  stage: development
  purpose: ideation
tools:
  - name: Enterprise image model
    enterprise_agreement: true
    data_use: none
outputs:
  final: false
";

const STUDIO_PACK: &str = r#"pack: studio-extra
version: "1"
title: Studio additions
rules:
  - id: STUDIO-IDEATION-REVIEW
    title: Ideation is reviewed
    outcome: review
    source: "Studio policy 2.1: ideation"
    when: use.purpose == "ideation"
    message: The studio reviews every use of generative AI for ideation.
tests:
  - name: ideation goes to review
    as_of: 2026-12-01
    declaration:
      greenlight: declaration/v1
      production: {title: T}
      use: {ref: T-1, summary: Mood board, stage: development, purpose: ideation}
      tools: [{name: Enterprise image model, enterprise_agreement: true, data_use: none}]
      outputs: {final: false}
    expect:
      outcome: review
      rules: [STUDIO-IDEATION-REVIEW]
"#;

fn production_facts() -> ProductionFacts {
    ProductionFacts {
        title: "The Lighthouse Keeper".into(),
        kind: "scripted".into(),
        eu_release: false,
        release_date: None,
        agreements: vec![],
    }
}

async fn story(db: Db) {
    let store = db.store().await;
    let Northlight {
        org,
        admin,
        legal,
        reviewer,
        partner,
    } = northlight(&store).await;
    let production = store
        .create_production(
            &admin,
            &org,
            NewProduction {
                facts: production_facts(),
                packs: Some(vec!["netflix-genai".into()]),
            },
        )
        .await
        .expect("production");
    let use_ = store
        .submit(&partner, &production.id, IDEATION.as_bytes())
        .await
        .expect("submit");
    assert_eq!(use_.outcome, greenlight_core::Outcome::Notify);

    // The built-in packs are records of every studio, stored with their text.
    let listed = store.packs(&admin, None).await.expect("list");
    let builtin = listed
        .iter()
        .find(|r| r.id == "netflix-genai")
        .expect("the built-in is listed");
    assert!(builtin.builtin);
    assert_eq!(
        builtin.digest,
        greenlight_core::pack::Pack::builtin("netflix-genai")
            .expect("built in")
            .digest()
    );

    // Upload: stored once, the same text again is the same record, other text is a conflict.
    let (record, created) = store
        .upload_pack(&legal, None, STUDIO_PACK)
        .await
        .expect("upload");
    assert!(created);
    assert_eq!(record.name(), "studio-extra@1");
    assert_eq!(record.digest, greenlight_core::pack::digest(STUDIO_PACK));
    assert_eq!(record.tests.len(), 1);
    assert!(record.tests[0].passed);
    let (again, created) = store
        .upload_pack(&legal, None, STUDIO_PACK)
        .await
        .expect("the same text again");
    assert!(!created);
    assert_eq!(again.digest, record.digest);
    let other_text = STUDIO_PACK.replace(
        "outcome: review\n    source",
        "outcome: escalate\n    source",
    );
    assert!(matches!(
        store.upload_pack(&legal, None, &other_text).await,
        Err(StoreError::Conflict { .. })
    ));
    // Built-in ids are reserved.
    let taken = STUDIO_PACK.replace("pack: studio-extra", "pack: netflix-genai");
    let err = store
        .upload_pack(&legal, None, &taken)
        .await
        .expect_err("reserved");
    assert!(err.to_string().contains("built-in"), "{err}");
    // A broken rule is named with its line.
    let broken = STUDIO_PACK
        .replace("version: \"1\"", "version: \"2\"")
        .replace("when: use.purpose == \"ideation\"", "when: use.purpose ==");
    match store.upload_pack(&legal, None, &broken).await {
        Err(StoreError::Invalid { problems, .. }) => {
            let p = &problems[0];
            assert_eq!(
                p.path.as_deref(),
                Some("rule/STUDIO-IDEATION-REVIEW"),
                "{p:?}"
            );
            assert_eq!(p.line, Some(5), "{p:?}");
        }
        other => panic!("a broken rule is refused: {other:?}"),
    }
    // A pack whose own test fails is refused, naming the test.
    let failing = STUDIO_PACK
        .replace("version: \"1\"", "version: \"3\"")
        .replace(
            "      outcome: review\n      rules",
            "      outcome: escalate\n      rules",
        );
    match store.upload_pack(&legal, None, &failing).await {
        Err(StoreError::Invalid { problems, .. }) => {
            assert_eq!(problems.len(), 1);
            assert_eq!(
                problems[0].path.as_deref(),
                Some("tests/ideation goes to review")
            );
            assert!(problems[0].message.contains("outcome"), "{:?}", problems[0]);
        }
        other => panic!("a failing test is refused: {other:?}"),
    }
    // A test declaration given as a path has nothing beside it on the server.
    let by_path = STUDIO_PACK.replace("version: \"1\"", "version: \"4\"").replace(
        "    declaration:\n      greenlight: declaration/v1\n      production: {title: T}\n      use: {ref: T-1, summary: Mood board, stage: development, purpose: ideation}\n      tools: [{name: Enterprise image model, enterprise_agreement: true, data_use: none}]\n      outputs: {final: false}\n",
        "    declaration: tests/ideation.yaml\n",
    );
    assert!(matches!(
        store.upload_pack(&legal, None, &by_path).await,
        Err(StoreError::Invalid { .. })
    ));
    // Only legal and admins upload.
    assert!(matches!(
        store.upload_pack(&reviewer, None, STUDIO_PACK).await,
        Err(StoreError::Forbidden(_))
    ));
    // Before a production uses it, the partner does not see the studio's pack.
    assert!(
        !store
            .packs(&partner, None)
            .await
            .expect("list")
            .iter()
            .any(|r| r.id == "studio-extra")
    );

    // Adopting it: the ideation use goes to review, recorded with the pack's digest.
    let proposed = vec!["netflix-genai".to_string(), "studio-extra@1".to_string()];
    let preview = store
        .preview_packs(&legal, &production.id, &proposed)
        .await
        .expect("preview");
    assert_eq!(preview.changes.len(), 1, "{preview:?}");
    assert_eq!(
        preview.changes[0].after.outcome,
        greenlight_core::Outcome::Review
    );
    assert!(
        preview.changes[0]
            .after
            .rules
            .contains(&"STUDIO-IDEATION-REVIEW".to_string()),
        "{preview:?}"
    );
    let etag = production_etag_of(
        store
            .production(&legal, &production.id)
            .await
            .expect("read")
            .version,
    );
    let adopted = store
        .adopt_packs(&legal, &production.id, Some(&etag), proposed.clone())
        .await
        .expect("adopt");
    assert_eq!(adopted, preview);
    let after = store
        .declaration(&admin, &use_.id)
        .await
        .expect("read")
        .summary;
    assert_eq!(after.outcome, greenlight_core::Outcome::Review);
    assert_eq!(after.state, State::InReview);

    // The triage replays exactly, with the digests it recorded.
    let replay = store
        .replay_triage(&partner, &use_.id, None)
        .await
        .expect("replay");
    assert!(replay.same, "{replay:?}");
    assert_eq!(replay.replayed.outcome, greenlight_core::Outcome::Review);
    let names: Vec<&str> = replay.basis.packs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names[1], "studio-extra@1");
    assert_eq!(replay.basis.packs[1].digest, record.digest);
    // The first triage (with the streamer's pack alone) replays too.
    let first = store
        .replay_triage(&partner, &use_.id, Some(1))
        .await
        .expect("replay the first triage");
    assert!(first.same);
    assert_eq!(first.replayed.outcome, greenlight_core::Outcome::Notify);
    assert_eq!(first.basis.packs.len(), 1);

    // Now the partner reads the rules of the pack their production uses.
    let (seen, text) = store
        .pack(&partner, "studio-extra", "1", None)
        .await
        .expect("the partner reads the pack their production uses");
    assert_eq!(seen.digest, record.digest);
    assert_eq!(text, STUDIO_PACK);

    // The studio's default set for new productions.
    store
        .set_default_packs(&legal, &org, proposed.clone())
        .await
        .expect("default packs");
    assert!(matches!(
        store
            .set_default_packs(&partner, &org, proposed.clone())
            .await,
        Err(StoreError::Forbidden(_))
    ));
    let err = store
        .set_default_packs(&legal, &org, vec!["studio-extra@9".into()])
        .await
        .expect_err("an unknown version");
    assert!(err.to_string().contains("packs[0]"), "{err}");
    let second = store
        .create_production(
            &admin,
            &org,
            NewProduction {
                facts: ProductionFacts {
                    title: "Second Unit".into(),
                    ..production_facts()
                },
                packs: None,
            },
        )
        .await
        .expect("a second production");
    assert_eq!(second.packs, proposed);

    // Another studio sees none of it and cannot act for this one.
    let b2 = store
        .bootstrap_admin("Rival Pictures", "admin@rival.example", "Admin")
        .await
        .expect("a second studio");
    let rival = store
        .principal_by_secret(&b2.token)
        .await
        .expect("lookup")
        .expect("token");
    assert!(
        !store
            .packs(&rival, None)
            .await
            .expect("list")
            .iter()
            .any(|r| r.id == "studio-extra")
    );
    assert!(matches!(
        store.pack(&rival, "studio-extra", "1", None).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.packs(&rival, Some(&org)).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.upload_pack(&rival, Some(&org), STUDIO_PACK).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.replay_triage(&rival, &use_.id, None).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.default_packs(&rival, &org).await,
        Err(StoreError::NotFound(_))
    ));
    // The rival's own pack of the same name is theirs alone, and resolves only for them.
    store
        .upload_pack(
            &rival,
            None,
            &STUDIO_PACK.replace("title: Studio additions", "title: Rival additions"),
        )
        .await
        .expect("the same name in another studio");
    let mine = store
        .pack(&legal, "studio-extra", "1", None)
        .await
        .expect("own");
    assert_eq!(mine.0.digest, record.digest);

    let verified = store.verify_audit(&admin).await.expect("verify");
    assert!(verified.valid, "{verified:?}");
    db.drop().await;
}

#[tokio::test]
async fn studio_packs_are_uploaded_adopted_replayed_and_kept_to_their_studio() {
    with_each_backend("pack_records", |db| Box::pin(story(db))).await;
}
