//! The union pack on the server: the production's agreements and the consent's separate
//! signature are facts of record, never what a partner typed; run on SQLite always and on a
//! freshly created PostgreSQL database when `GREENLIGHT_TEST_POSTGRES_URL` is set.

use greenlight_store::input::{
    DecisionInput, Document, NewConsent, NewProduction, ProductionUpdate,
};
use greenlight_store::*;
use sqlx::Connection;

mod backends;
use backends::{Db, member, with_each_backend};

const SAG_2023: &str = "sag-aftra-tv-theatrical-2023";

/// A replica of a principal performer made in this engagement, where the partner claims the
/// agreement and a separately signed consent.
const REPLICA: &str = "greenlight: declaration/v1
production:
  title: The Lighthouse Keeper
  agreements: [sag-aftra-tv-theatrical-2023]
use:
  ref: LK-020
  summary: Digital replica of the lead for the storm sequence
  stage: production
  purpose: talent
tools:
  - name: Acme Imagine Enterprise
    enterprise_agreement: true
    data_use: none
outputs:
  final: true
talent:
  - performer: Mara Quinn
    treatment: replica
    replica_origin: employment
    consent:
      document: TYPED-BY-PARTNER
      scope: storm sequence
      signed: 2026-05-04
      separately_signed: true
";

struct World {
    admin: Principal,
    partner: Principal,
    reviewer: Principal,
    legal: Principal,
    production: Production,
}

async fn world(store: &Store) -> World {
    let b = store
        .bootstrap_admin("Northlight Studios", "admin@northlight.example", "Admin")
        .await
        .expect("bootstrap");
    let admin = store
        .principal_by_secret(&b.token)
        .await
        .expect("lookup")
        .expect("the one-time token works");
    let production = store
        .create_production(
            &admin,
            &b.org.id,
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
        .expect("create production");
    let partner = member(
        store,
        &admin,
        &b.org.id,
        "producer@northlight.example",
        &[Role::Partner],
    )
    .await;
    let reviewer = member(
        store,
        &admin,
        &b.org.id,
        "reviewer@northlight.example",
        &[Role::Reviewer],
    )
    .await;
    let legal = member(
        store,
        &admin,
        &b.org.id,
        "legal@northlight.example",
        &[Role::Legal],
    )
    .await;
    World {
        admin,
        partner,
        reviewer,
        legal,
        production,
    }
}

fn consent(separately_signed: bool, document: &str) -> NewConsent {
    NewConsent {
        production_id: None,
        performer: "Mara Quinn".into(),
        by: ConsentBy::Performer,
        treatment: Treatment::Replica,
        scope: "Digital replica in the storm sequence of The Lighthouse Keeper only".into(),
        separately_signed,
        signed: chrono::NaiveDate::from_ymd_opt(2026, 5, 4).expect("date"),
        expires: None,
        document: Document {
            name: document.into(),
            bytes: document.as_bytes().to_vec(),
        },
    }
}

/// The rules that fired on the current triage, and the open blockers' rules.
async fn rules(store: &Store, who: &Principal, id: &DeclarationId) -> (Vec<String>, Vec<String>) {
    let d = store.declaration(who, id).await.expect("read");
    let t = d.current.triages.last().expect("a triage");
    (
        t.result.findings.iter().map(|f| f.rule.clone()).collect(),
        t.result.blockers.iter().map(|b| b.rule.clone()).collect(),
    )
}

async fn union_story(db: Db) {
    let store = db.store().await;
    let w = world(&store).await;
    assert_eq!(
        w.production.packs,
        vec!["netflix-genai", "eu-ai-act-art50", "sag-aftra-2023"],
        "new productions enable the union pack too"
    );
    assert!(w.production.facts.agreements.is_empty());

    // The partner claims the agreement and a separately signed consent: neither counts.
    let d = store
        .submit(&w.partner, &w.production.id, REPLICA.as_bytes())
        .await
        .expect("submit");
    let (findings, _) = rules(&store, &w.reviewer, &d.id).await;
    assert!(
        findings.contains(&"SAG-NOT-APPLICABLE".to_owned()),
        "the production records no agreement, whatever the declaration says: {findings:?}"
    );
    let detail = store.declaration(&w.reviewer, &d.id).await.expect("read");
    let triage = detail.current.triages.last().expect("a triage");
    assert!(
        triage
            .differences
            .iter()
            .any(|x| x.path == "production.agreements" && x.source == "production record"),
        "the claimed agreement is shown as a difference: {:?}",
        triage.differences
    );
    assert_eq!(
        triage.effective["production"]["agreements"],
        serde_json::json!([])
    );

    // A value that is not an agreement is refused, naming the field.
    match store
        .update_production(
            &w.admin,
            &w.production.id,
            ProductionUpdate {
                agreements: Some(vec!["sag-2023".into()]),
                ..Default::default()
            },
        )
        .await
    {
        Err(StoreError::Invalid { problems, .. }) => {
            assert_eq!(problems[0].path.as_deref(), Some("agreements[0]"));
            assert!(problems[0].message.contains(SAG_2023), "{problems:?}");
        }
        other => panic!("expected an invalid agreement, got {other:?}"),
    }
    // Partners do not record agreements.
    assert!(matches!(
        store
            .update_production(
                &w.partner,
                &w.production.id,
                ProductionUpdate {
                    agreements: Some(vec![SAG_2023.into()]),
                    ..Default::default()
                },
            )
            .await,
        Err(StoreError::Forbidden(_))
    ));

    // The studio records the agreement: the declaration is triaged again under the pack.
    let p = store
        .update_production(
            &w.admin,
            &w.production.id,
            ProductionUpdate {
                agreements: Some(vec![SAG_2023.into()]),
                ..Default::default()
            },
        )
        .await
        .expect("record the agreement");
    assert_eq!(p.facts.agreements, vec![SAG_2023]);
    let (findings, blockers) = rules(&store, &w.reviewer, &d.id).await;
    assert!(findings.contains(&"SAG-EBDR".to_owned()), "{findings:?}");
    assert!(
        blockers.contains(&"SAG-EBDR".to_owned()),
        "the typed, separately signed consent does not count: {blockers:?}"
    );

    // A consent on record that is not separately signed does not clear the union blocker.
    let plain = store
        .record_consent(&w.legal, None, consent(false, "consent-plain.pdf"))
        .await
        .expect("record consent");
    assert!(!plain.separately_signed);
    assert_eq!(
        plain.union_problems(false),
        vec!["not signed separately from other terms"]
    );
    store
        .link_consent(&w.legal, &d.id, "Mara Quinn", &plain.id)
        .await
        .expect("link");
    let (_, blockers) = rules(&store, &w.reviewer, &d.id).await;
    assert!(blockers.contains(&"SAG-EBDR".to_owned()), "{blockers:?}");
    let detail = store.declaration(&w.reviewer, &d.id).await.expect("read");
    let eff = &detail.current.triages.last().expect("triage").effective;
    assert_eq!(eff["talent"][0]["consent"]["separately_signed"], false);
    assert_eq!(
        eff["talent"][0]["consent"]["scope"],
        "Digital replica in the storm sequence of The Lighthouse Keeper only",
        "the description of use comes from the registry"
    );
    assert!(
        store
            .consent_deceased_uses(&w.legal, &plain.id)
            .await
            .expect("uses")
            .is_empty()
    );

    // Legal records the consent as separately signed: the blocker clears.
    let signed = store
        .record_consent(&w.legal, None, consent(true, "consent-separate.pdf"))
        .await
        .expect("record consent");
    assert!(signed.separately_signed);
    assert!(signed.union_problems(false).is_empty());
    assert_eq!(
        signed.union_problems(true).len(),
        1,
        "a performer's consent for a deceased performer"
    );
    let d = store
        .link_consent(&w.legal, &d.id, "Mara Quinn", &signed.id)
        .await
        .expect("link");
    let (findings, blockers) = rules(&store, &w.reviewer, &d.id).await;
    assert!(findings.contains(&"SAG-EBDR".to_owned()));
    assert!(!blockers.contains(&"SAG-EBDR".to_owned()), "{blockers:?}");
    let detail = store.declaration(&w.reviewer, &d.id).await.expect("read");
    assert!(
        detail
            .obligations
            .iter()
            .any(|o| o.kind == "compensate" && o.rule == "SAG-EBDR"),
        "{:?}",
        detail.obligations
    );

    // The plain consent, recorded later as separately signed, clears it too once linked;
    // taking the signature back re-triages the use it covers and opens the blocker again.
    assert!(matches!(
        store
            .set_consent_separately_signed(&w.partner, &plain.id, true)
            .await,
        Err(StoreError::Forbidden(_) | StoreError::NotFound(_))
    ));
    let plain = store
        .set_consent_separately_signed(&w.legal, &plain.id, true)
        .await
        .expect("record the separate signature");
    assert!(plain.separately_signed);
    store
        .link_consent(&w.legal, &d.id, "Mara Quinn", &plain.id)
        .await
        .expect("link");
    let (_, blockers) = rules(&store, &w.reviewer, &d.id).await;
    assert!(!blockers.contains(&"SAG-EBDR".to_owned()), "{blockers:?}");
    store
        .set_consent_separately_signed(&w.legal, &plain.id, false)
        .await
        .expect("take it back");
    let (_, blockers) = rules(&store, &w.reviewer, &d.id).await;
    assert!(
        blockers.contains(&"SAG-EBDR".to_owned()),
        "the linked use was triaged again: {blockers:?}"
    );

    // Changing the record is audited, and the audited states verify, old digests included.
    assert!(store.verify_audit(&w.admin).await.expect("verify").valid);
    let trust = audit::Trust::anchored(&db.key.public_hex(), "the test's key");
    let report = store.verify_database(&trust).await.expect("verify");
    assert!(report.valid, "{report:#?}");
    store.close().await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agreements_and_separate_signatures_come_from_the_record_on_every_backend() {
    with_each_backend("union", |db| Box::pin(union_story(db))).await;
}

/// A use that goes to review without a blocker: a consumer tool whose terms are unknown.
const REVIEW: &str = "greenlight: declaration/v1
production:
  title: The Lighthouse Keeper
use:
  ref: LK-003
  summary: Mood board
  purpose: ideation
tools:
  - name: Free Generator
    data_use: unknown
inputs:
  - kind: prompt
outputs:
  final: false
";

/// Removes the union fields from an effective declaration, as one stored before they
/// joined the format reads.
fn strip_union_fields(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for k in [
                "agreements",
                "genre",
                "role",
                "replica_origin",
                "replaces_human_role",
                "separately_signed",
                "feature",
            ] {
                map.remove(k);
            }
            for (_, child) in map.iter_mut() {
                strip_union_fields(child);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_union_fields),
        _ => {}
    }
}

async fn old_approval_story(db: Db) {
    let store = db.store().await;
    let w = world(&store).await;
    let d = store
        .submit(&w.partner, &w.production.id, REVIEW.as_bytes())
        .await
        .expect("submit");
    assert_eq!((d.state, d.open_blockers), (State::InReview, 0));
    let d = store
        .decide(
            &w.reviewer,
            &d.id,
            Some(&d.etag()),
            DecisionInput {
                action: DecisionAction::Approve,
                reason: None,
                conditions: vec![],
                expires: None,
            },
        )
        .await
        .expect("approve");
    assert_eq!(d.state, State::Approved);

    // The effective declaration as it was stored before the union fields existed.
    let mut conn = sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("connect");
    let row = sqlx::query("SELECT effective FROM triages WHERE declaration_id = $1")
        .bind(d.id.0.clone())
        .fetch_one(&mut conn)
        .await
        .expect("the triage");
    let text: String = sqlx::Row::try_get(&row, "effective").expect("text");
    let mut eff: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert!(
        eff["production"].get("agreements").is_some(),
        "stored today with the field"
    );
    strip_union_fields(&mut eff);
    sqlx::query("UPDATE triages SET effective = $1 WHERE declaration_id = $2")
        .bind(eff.to_string())
        .bind(d.id.0.clone())
        .execute(&mut conn)
        .await
        .expect("rewrite");
    conn.close().await.expect("close");

    // A revision that changes only the summary keeps the approval: the fields the old
    // record lacks are at their defaults in the new one, which is no change.
    let revised = REVIEW.replace("Mood board", "Mood board for act two");
    let after = store
        .revise(&w.partner, &d.id, Some(&d.etag()), revised.as_bytes())
        .await
        .expect("revise");
    assert_eq!(after.state, State::Approved, "the approval still stands");

    // A material change still voids it.
    let material = revised.replace("kind: prompt", "kind: script");
    let after = store
        .revise(&w.partner, &d.id, Some(&after.etag()), material.as_bytes())
        .await
        .expect("revise");
    assert_ne!(after.state, State::Approved);
    store.close().await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_stored_before_the_union_fields_survives_an_immaterial_revision() {
    with_each_backend("old_approval", |db| Box::pin(old_approval_story(db))).await;
}

/// Applies the migrations numbered below 0120 only: the database as the release before the
/// union pack left it.
async fn migrate_before_union(db: &Db) {
    let mut conn = backends::migrated_with(&db.url, |v| v < 120).await;
    for sql in [
        "INSERT INTO orgs (id, name, kind, parent_id, salt, created_at) VALUES ('s1', 'Old Studio', 'studio', NULL, 'salt', '2026-01-01T00:00:00Z')",
        "INSERT INTO productions (id, studio_id, title, kind, eu_release, release_date, packs, salt, version, created_at) \
         VALUES ('p1', 's1', 'Old Show', 'scripted', 0, NULL, '[\"netflix-genai\",\"eu-ai-act-art50\"]', 'salt', 1, '2026-01-01T00:00:00Z')",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .expect("old rows");
    }
    conn.close().await.expect("close");
}

async fn migration_story(db: Db) {
    migrate_before_union(&db).await;
    let store = db.store().await;
    let mut conn = sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("connect");
    let row = sqlx::query("SELECT packs, agreements FROM productions WHERE id = 'p1'")
        .fetch_one(&mut conn)
        .await
        .expect("the old production");
    let packs: String = sqlx::Row::try_get(&row, "packs").expect("packs");
    let agreements: String = sqlx::Row::try_get(&row, "agreements").expect("agreements");
    let packs: Vec<String> = serde_json::from_str(&packs).expect("json");
    assert_eq!(
        packs,
        vec!["netflix-genai", "eu-ai-act-art50"],
        "an existing production keeps its packs"
    );
    assert_eq!(agreements, "[]", "and works under no agreement");
    conn.close().await.expect("close");
    // A production created after the migration gets the union pack.
    let w = world(&store).await;
    assert!(w.production.packs.contains(&"sag-aftra-2023".to_owned()));
    store.close().await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_productions_keep_their_packs_through_the_migration() {
    migration_story(backends::sqlite()).await;
    match backends::postgres("migration").await {
        Some(db) => migration_story(db).await,
        None => eprintln!(
            "skipped the PostgreSQL run of `migration`: GREENLIGHT_TEST_POSTGRES_URL is not set"
        ),
    }
}
