//! Switching a production's packs: the preview writes nothing and names the declarations that
//! change and the approvals that would be suspended; adoption (with the production's ETag)
//! does exactly that and answers the same list. Run on SQLite always and on a fresh
//! PostgreSQL database when configured.

use greenlight_store::input::{DecisionInput, NewProduction};
use greenlight_store::*;

mod backends;
use backends::{Db, Northlight, northlight, with_each_backend};

/// A tool outside any enterprise agreement with unknown data use: the streamer's pack
/// escalates it (principle 2 is unsure), with no blocker, so a reviewer can approve it.
const MOOD_BOARD: &str = "greenlight: declaration/v1
production:
  title: The Lighthouse Keeper
use:
  ref: LK-040
  summary: Mood board for the keeper's cottage
  stage: development
  purpose: ideation
tools:
  - name: Free web image generator
    enterprise_agreement: false
    data_use: unknown
outputs:
  final: false
";

async fn audit_count(store: &Store, who: &Principal) -> i64 {
    store
        .audit_entries(
            who,
            0,
            PageRequest {
                offset: 0,
                limit: 1,
            },
        )
        .await
        .expect("audit")
        .total
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
                facts: ProductionFacts {
                    title: "The Lighthouse Keeper".into(),
                    kind: "scripted".into(),
                    eu_release: false,
                    release_date: None,
                    agreements: vec![],
                },
                packs: None,
            },
        )
        .await
        .expect("production");
    let approved = store
        .submit(&partner, &production.id, MOOD_BOARD.as_bytes())
        .await
        .expect("submit");
    assert_eq!(approved.state, State::InReview);
    store
        .decide(
            &reviewer,
            &approved.id,
            Some(&approved.etag()),
            DecisionInput {
                action: DecisionAction::Approve,
                reason: None,
                conditions: vec![],
                expires: None,
            },
        )
        .await
        .expect("approve");
    let other = store
        .submit(
            &partner,
            &production.id,
            MOOD_BOARD.replace("LK-040", "LK-041").as_bytes(),
        )
        .await
        .expect("submit");

    // The same packs by exact version: nothing changes.
    let same: Vec<String> = production
        .packs
        .iter()
        .map(|id| {
            let p = greenlight_core::pack::Pack::builtin(id).expect("built in");
            p.name()
        })
        .collect();
    let unchanged = store
        .preview_packs(&legal, &production.id, &same)
        .await
        .expect("preview");
    assert!(unchanged.changes.is_empty(), "{unchanged:?}");
    assert_eq!(unchanged.counts.before, unchanged.counts.after);

    // Dropping the streamer's pack: both uses stop escalating; the approval rests on a result
    // that no longer holds.
    let proposed = vec!["eu-ai-act-art50".to_string()];
    let before_audit = audit_count(&store, &admin).await;
    let preview = store
        .preview_packs(&legal, &production.id, &proposed)
        .await
        .expect("preview");
    assert_eq!(
        audit_count(&store, &admin).await,
        before_audit,
        "a preview writes nothing"
    );
    assert_eq!(
        store
            .production(&admin, &production.id)
            .await
            .expect("read")
            .packs,
        production.packs,
        "a preview writes nothing"
    );
    assert_eq!(preview.changes.len(), 2, "{preview:?}");
    let first = preview
        .changes
        .iter()
        .find(|c| c.declaration_id == approved.id)
        .expect("the approved use changes");
    assert_eq!(first.use_ref, "LK-040");
    assert_eq!(first.before.outcome, greenlight_core::Outcome::Escalate);
    assert_eq!(first.after.outcome, greenlight_core::Outcome::Notify);
    assert!(first.approval_suspended);
    let second = preview
        .changes
        .iter()
        .find(|c| c.declaration_id == other.id)
        .expect("the other use changes");
    assert!(!second.approval_suspended, "it was never approved");
    assert_eq!(preview.counts.before.escalate, 2);
    assert_eq!(preview.counts.after.notify, 2);

    // Only legal and admins of the studio; a partner is refused, a stale ETag too.
    assert!(matches!(
        store
            .preview_packs(&partner, &production.id, &proposed)
            .await,
        Err(StoreError::Forbidden(_))
    ));
    let stale = store
        .adopt_packs(&legal, &production.id, Some("\"p0\""), proposed.clone())
        .await;
    assert!(matches!(stale, Err(StoreError::Stale { .. })), "{stale:?}");
    // An unknown pack or version names the entry.
    let err = store
        .preview_packs(&legal, &production.id, &["netflix-genai@1999.01".into()])
        .await
        .expect_err("unknown version");
    assert!(err.to_string().contains("packs[0]"), "{err}");

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
    assert_eq!(
        adopted, preview,
        "adoption answers the preview's change list"
    );
    assert_eq!(
        store
            .production(&admin, &production.id)
            .await
            .expect("read")
            .packs,
        proposed
    );
    let after = store
        .declaration(&admin, &approved.id)
        .await
        .expect("read")
        .summary;
    assert_eq!(
        after.state,
        State::Suspended,
        "suspended exactly where the preview said"
    );
    let after_other = store
        .declaration(&admin, &other.id)
        .await
        .expect("read")
        .summary;
    assert_eq!(after_other.state, State::InReview);
    assert_eq!(after_other.outcome, greenlight_core::Outcome::Notify);
    // The switch and each re-triage are in the history and the audit log, naming the digest.
    let history = store
        .declaration(&admin, &approved.id)
        .await
        .expect("read")
        .history;
    assert!(
        history.iter().any(|h| h.action == "retriage"
            && h.detail.contains("eu-ai-act-art50@")
            && h.detail.contains("sha256:")),
        "{history:?}"
    );
    assert!(audit_count(&store, &admin).await > before_audit);
    let verified = store.verify_audit(&admin).await.expect("verify");
    assert!(verified.valid, "{verified:?}");

    // Another studio sees nothing of it.
    let b2 = store
        .bootstrap_admin("Rival Pictures", "admin@rival.example", "Admin")
        .await
        .expect("a second studio");
    let rival = store
        .principal_by_secret(&b2.token)
        .await
        .expect("lookup")
        .expect("token");
    assert!(matches!(
        store.preview_packs(&rival, &production.id, &proposed).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .adopt_packs(&rival, &production.id, Some(&etag), proposed.clone())
            .await,
        Err(StoreError::NotFound(_))
    ));
    db.drop().await;
}

#[tokio::test]
async fn a_pack_switch_is_previewed_without_writing_and_adopted_as_previewed() {
    with_each_backend("packs", |db| Box::pin(story(db))).await;
}
