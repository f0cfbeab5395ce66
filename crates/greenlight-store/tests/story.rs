//! Storage stories, written once and run on SQLite always and on a freshly created
//! PostgreSQL database when `GREENLIGHT_TEST_POSTGRES_URL` is set.

use greenlight_store::input::{
    ConfirmationInput, DecisionInput, Document, NewConsent, NewProduction, NewTool,
    ProductionUpdate,
};
use greenlight_store::*;

mod backends;
use backends::{Db, member, with_each_backend};

const NOTIFY: &str = "greenlight: declaration/v1
production:
  title: The Lighthouse Keeper
use:
  ref: LK-001
  summary: Storyboard ideas
  purpose: ideation
tools:
  - name: Acme Imagine Enterprise
    enterprise_agreement: true
    data_use: none
inputs:
  - kind: prompt
outputs:
  final: false
";

const DE_AGEING: &str = "greenlight: declaration/v1
production:
  title: The Lighthouse Keeper
use:
  ref: LK-004
  summary: De-age the lead for the flashback
  stage: post-production
  purpose: talent
tools:
  - name: Acme Imagine Enterprise
    enterprise_agreement: true
    data_use: none
outputs:
  final: true
  prominence: featured
talent:
  - performer: Mara Quinn
    treatment: re-ageing
    consent:
      document: TYPED-BY-PARTNER
      scope: flashback only
      signed: 2026-05-04
";

const CONSUMER_TOOL: &str = "greenlight: declaration/v1
production:
  title: The Lighthouse Keeper
use:
  ref: LK-003
  summary: Mood board
  purpose: ideation
tools:
  - name: Free Generator
    data_use: unknown
outputs:
  final: false
";

struct World {
    admin: Principal,
    partner: Principal,
    reviewer: Principal,
    legal: Principal,
    auditor: Principal,
    studio: Org,
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
    let company = store
        .create_org(&admin, "Harbour Films", OrgKind::ProductionCompany)
        .await
        .expect("create company");
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
    assert_eq!(
        production.packs,
        vec!["netflix-genai", "eu-ai-act-art50", "sag-aftra-2023"],
        "new productions enable the default packs"
    );
    let production = store
        .link_org(&admin, &production.id, &company.id)
        .await
        .expect("link");
    let partner = member(
        store,
        &admin,
        &company.id,
        "producer@harbour.example",
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
    let auditor = member(
        store,
        &admin,
        &b.org.id,
        "auditor@northlight.example",
        &[Role::Auditor],
    )
    .await;
    World {
        admin,
        partner,
        reviewer,
        legal,
        auditor,
        studio: b.org,
        production,
    }
}

/// The batched disclosure report says exactly what loading each use's record one at a
/// time says: same uses in the same order, decisions, tools, consents and obligations.
async fn same_report_as_one_by_one(store: &Store, who: &Principal, production: &ProductionId) {
    let batched = store.disclosure(who, production).await.expect("report");
    let mut slow = store
        .disclosure_one_by_one(who, production)
        .await
        .expect("report one by one");
    assert!(!batched.uses.is_empty());
    assert!(batched.uses.iter().any(|u| u.decision.is_some()));
    assert!(batched.uses.iter().any(|u| !u.consents.is_empty()));
    assert!(batched.uses.iter().any(|u| !u.tools.is_empty()));
    slow.generated_at = batched.generated_at;
    assert_eq!(
        serde_json::to_value(&batched).expect("json"),
        serde_json::to_value(&slow).expect("json")
    );
    assert_eq!(batched.to_csv(), slow.to_csv());
}

fn approve() -> DecisionInput {
    DecisionInput {
        action: DecisionAction::Approve,
        reason: None,
        conditions: vec!["Credit the vendor".into()],
        expires: None,
    }
}

async fn workflow_story(db: Db) {
    let store = db.store().await;
    let w = world(&store).await;

    // A notify outcome is acknowledged at once.
    let d1 = store
        .submit(&w.partner, &w.production.id, NOTIFY.as_bytes())
        .await
        .expect("submit");
    assert_eq!(
        (d1.state, d1.outcome.as_str()),
        (State::Acknowledged, "notify")
    );

    // The same ref twice is a conflict about `use.ref`; an invalid body stores nothing.
    assert!(matches!(
        store
            .submit(&w.partner, &w.production.id, NOTIFY.as_bytes())
            .await,
        Err(StoreError::DuplicateReference { .. })
    ));
    let bad = NOTIFY.replace("data_use: none", "data_use: sometimes");
    match store
        .submit(&w.partner, &w.production.id, bad.as_bytes())
        .await
    {
        Err(StoreError::InvalidDeclaration { problems, .. }) => {
            assert!(
                problems
                    .iter()
                    .any(|p| p.path.as_deref() == Some("tools[0].data_use")),
                "{problems:?}"
            )
        }
        other => panic!("expected an invalid declaration, got {other:?}"),
    }
    let all = store
        .declarations(
            &w.reviewer,
            &DeclarationFilter::default(),
            PageRequest::default(),
        )
        .await
        .expect("list");
    assert_eq!(all.total, 1, "the invalid declaration left nothing behind");

    // A typed consent is only claimed: the blocker stays open and approval is refused.
    let d4 = store
        .submit(&w.partner, &w.production.id, DE_AGEING.as_bytes())
        .await
        .expect("submit");
    assert_eq!(d4.state, State::InReview);
    assert!(
        d4.open_blockers > 0,
        "a claimed consent does not clear the blocker"
    );
    let detail = store.declaration(&w.reviewer, &d4.id).await.expect("read");
    let diff = &detail.current.triages[0].differences;
    assert!(
        diff.iter().any(|d| d.path == "talent[0].consent"),
        "the claimed consent is shown as a difference: {diff:?}"
    );
    match store
        .decide(&w.reviewer, &d4.id, Some(&d4.etag()), approve())
        .await
    {
        Err(StoreError::Conflict { blockers, .. }) => assert!(!blockers.is_empty()),
        other => panic!("approval with an open blocker must be refused, got {other:?}"),
    }

    // Legal records the consent and links it: the blocker clears.
    let consent = store
        .record_consent(
            &w.legal,
            None,
            NewConsent {
                production_id: Some(w.production.id.clone()),
                performer: "Mara Quinn".into(),
                by: ConsentBy::Performer,
                treatment: Treatment::ReAgeing,
                scope: "De-aged likeness in the flashback only".into(),
                separately_signed: false,
                signed: chrono::NaiveDate::from_ymd_opt(2026, 5, 4).expect("date"),
                expires: None,
                document: Document {
                    name: "consent.pdf".into(),
                    bytes: b"%PDF signed".to_vec(),
                },
            },
        )
        .await
        .expect("record consent");
    assert_eq!(consent.document_sha256.len(), 64);
    let d4 = store
        .link_consent(&w.legal, &d4.id, "Mara Quinn", &consent.id)
        .await
        .expect("link consent");
    assert_eq!(d4.open_blockers, 0, "the linked consent clears the blocker");

    // ETag: without it 428-style Stale with empty given; with an old one, Stale.
    assert!(
        matches!(store.decide(&w.reviewer, &d4.id, None, approve()).await, Err(StoreError::Stale { given, .. }) if given.is_empty())
    );
    assert!(matches!(
        store
            .decide(&w.reviewer, &d4.id, Some("\"old\""), approve())
            .await,
        Err(StoreError::Stale { .. })
    ));
    // Nobody approves what they submitted; partners do not decide at all.
    assert!(matches!(
        store
            .decide(&w.partner, &d4.id, Some(&d4.etag()), approve())
            .await,
        Err(StoreError::Forbidden(_))
    ));
    let d4 = store
        .decide(&w.reviewer, &d4.id, Some(&d4.etag()), approve())
        .await
        .expect("approve");
    assert_eq!(d4.state, State::Approved);

    // A new revision that changes only the summary keeps the approval.
    let text = DE_AGEING.replace(
        "De-age the lead for the flashback",
        "De-age the lead for the cliff-path flashback",
    );
    let d4 = store
        .revise(&w.partner, &d4.id, Some(&d4.etag()), text.as_bytes())
        .await
        .expect("revise");
    assert_eq!((d4.state, d4.revision), (State::Approved, 2));

    // Revoking the consent re-opens the blocker and suspends the approval.
    store
        .revoke_consent(&w.legal, &consent.id, "withdrawn by the performer")
        .await
        .expect("revoke");
    let detail = store.declaration(&w.reviewer, &d4.id).await.expect("read");
    assert_eq!(detail.summary.state, State::Suspended);
    assert!(detail.summary.open_blockers > 0);
    assert_eq!(
        detail.current.triages.len(),
        2,
        "the revision keeps its triage history"
    );
    assert!(detail.current.triages[1].reason.contains("revoked"));

    // A material change voids an approval.
    let d1b = store
        .submit(&w.partner, &w.production.id, CONSUMER_TOOL.as_bytes())
        .await
        .expect("submit");
    let d1b = store
        .decide(&w.reviewer, &d1b.id, Some(&d1b.etag()), approve())
        .await
        .expect("approve");
    let changed = CONSUMER_TOOL.replace("final: false", "final: true\n  prominence: incidental");
    let d1b = store
        .revise(&w.partner, &d1b.id, Some(&d1b.etag()), changed.as_bytes())
        .await
        .expect("revise");
    assert_eq!(
        d1b.state,
        State::InReview,
        "a material change voids the approval"
    );

    // Tool terms: registering the consumer tool as `trains` re-triages and is shown as a difference.
    let tool = store
        .register_tool(
            &w.legal,
            None,
            NewTool {
                name: "free generator".into(),
                vendor: None,
                plan: None,
                agreement: None,
                data_terms: DataTerms::Trains,
                terms_reviewed: chrono::NaiveDate::from_ymd_opt(2026, 10, 1),
                evidence: None,
                traces: vec![],
            },
        )
        .await
        .expect("register tool");
    let detail = store.declaration(&w.reviewer, &d1b.id).await.expect("read");
    let last = detail.current.triages.last().expect("triaged");
    assert!(
        last.differences
            .iter()
            .any(|d| d.path == "tools[0].data_use" && d.effective == "trains"),
        "{:?}",
        last.differences
    );
    let uses = store.tool_uses(&w.legal, &tool.id).await.expect("uses");
    assert_eq!(uses.len(), 1);

    // Production facts change: EU release brings obligations, which can be marked done.
    store
        .update_production(
            &w.admin,
            &w.production.id,
            ProductionUpdate {
                eu_release: Some(true),
                release_date: Some(chrono::NaiveDate::from_ymd_opt(2027, 3, 1)),
                ..Default::default()
            },
        )
        .await
        .expect("update production");
    let detail = store.declaration(&w.partner, &d4.id).await.expect("read");
    let ob = detail
        .obligations
        .iter()
        .find(|o| o.status == ObligationStatus::Open);
    if let Some(ob) = ob {
        let done = store
            .complete_obligation(
                &w.partner,
                &ob.id,
                "Credit line: 'Flashback de-ageing by Pixelforge VFX'",
            )
            .await
            .expect("done");
        assert_eq!(done.status, ObligationStatus::Done);
        assert!(matches!(
            store.complete_obligation(&w.partner, &ob.id, "again").await,
            Err(StoreError::Conflict { .. })
        ));
    }

    // Confirmation of a union agreement is recorded.
    let c = ConfirmationInput {
        kind: ConfirmationKind::UnionAgreement,
        index: 0,
        reference: "SAG-2026-77".into(),
    };
    store.confirm(&w.legal, &d4.id, c).await.expect("confirm");

    // The disclosure report lists every use.
    let report = store
        .disclosure(&w.reviewer, &w.production.id)
        .await
        .expect("report");
    assert_eq!(report.uses.len(), 3);
    assert!(report.to_csv().lines().count() == 4);
    for who in [&w.reviewer, &w.partner, &w.legal] {
        same_report_as_one_by_one(&store, who, &w.production.id).await;
    }

    // Withdrawal.
    let d1 = store
        .declaration(&w.partner, &d1.id)
        .await
        .expect("read")
        .summary;
    let d1 = store
        .withdraw(&w.partner, &d1.id, Some(&d1.etag()), None)
        .await
        .expect("withdraw");
    assert_eq!(d1.state, State::Withdrawn);

    // Credentials change through the application too: a password, a token issued and
    // revoked.
    store
        .set_password(&w.partner, &w.partner.user.id, "a long enough passphrase")
        .await
        .expect("set password");
    let (token, _) = store
        .create_token(
            &w.partner,
            &w.partner.user.id,
            "ci",
            TokenOptions::default(),
        )
        .await
        .expect("token");
    store
        .revoke_token(&w.partner, &token.id)
        .await
        .expect("revoke");

    // The audit log verifies, for the auditor; partners may not read it.
    let report = store.verify_audit(&w.auditor).await.expect("verify");
    assert!(report.valid, "{report:?}");
    assert!(!report.anchored, "the server's own key is no anchor");
    // Every row every operation above wrote digests to what its last entry recorded.
    rows_match_the_log(&store, &db).await;
    assert!(report.entries > 20);
    assert!(matches!(
        store
            .audit_entries(&w.partner, 0, PageRequest::default())
            .await,
        Err(StoreError::Forbidden(_))
    ));
    let entries = store
        .audit_entries(&w.auditor, 0, PageRequest::default())
        .await
        .expect("entries");
    assert!(
        entries
            .items
            .iter()
            .any(|e| e.action == "declaration.approve")
    );
    for who in [&w.reviewer, &w.partner] {
        same_report_as_one_by_one(&store, who, &w.production.id).await;
    }
    let _ = w.studio;
    store.close().await;
    db.drop().await;
}

async fn isolation_story(db: Db) {
    let store = db.store().await;
    let w = world(&store).await;
    let d = store
        .submit(&w.partner, &w.production.id, DE_AGEING.as_bytes())
        .await
        .expect("submit");
    // A second studio with every role.
    let b = store
        .bootstrap_admin("Rival Pictures", "admin@rival.example", "")
        .await
        .expect("bootstrap");
    let rival_admin = store
        .principal_by_secret(&b.token)
        .await
        .expect("lookup")
        .expect("token");
    let mut foreign = vec![rival_admin.clone()];
    for (i, role) in [Role::Partner, Role::Reviewer, Role::Legal, Role::Auditor]
        .into_iter()
        .enumerate()
    {
        foreign.push(
            member(
                &store,
                &rival_admin,
                &b.org.id,
                &format!("r{i}@rival.example"),
                &[role],
            )
            .await,
        );
    }
    for p in &foreign {
        assert!(store.production(p, &w.production.id).await.is_err());
        assert!(store.productions(p).await.expect("list").is_empty());
        assert!(store.declaration(p, &d.id).await.is_err());
        assert_eq!(
            store
                .declarations(p, &DeclarationFilter::default(), PageRequest::default())
                .await
                .expect("list")
                .total,
            0
        );
        assert!(
            store
                .submit(p, &w.production.id, NOTIFY.as_bytes())
                .await
                .is_err()
        );
        assert!(
            store
                .decide(p, &d.id, Some(&d.etag()), approve())
                .await
                .is_err()
        );
        assert!(store.disclosure(p, &w.production.id).await.is_err());
        assert!(store.tools(p).await.expect("tools").is_empty());
        assert_eq!(
            store
                .consents(p, PageRequest::default())
                .await
                .expect("consents")
                .total,
            0
        );
        assert!(
            store
                .orgs(p)
                .await
                .expect("orgs")
                .iter()
                .all(|o| o.name == "Rival Pictures")
        );
        if let Ok(page) = store.audit_entries(p, 0, PageRequest::default()).await {
            assert!(
                page.items
                    .iter()
                    .all(|e| e.org_id.as_deref() == Some(b.org.id.as_str())),
                "foreign audit entries leaked"
            );
        }
    }
    store.close().await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_workflow_holds_on_every_backend() {
    with_each_backend("workflow", |db| Box::pin(workflow_story(db))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_organisation_sees_nothing_on_every_backend() {
    with_each_backend("isolation", |db| Box::pin(isolation_story(db))).await;
}

async fn expiry_story(db: Db) {
    let store = db.store().await;
    let w = world(&store).await;
    // An approval whose expiry date passed becomes `expired`.
    let d = store
        .submit(&w.partner, &w.production.id, CONSUMER_TOOL.as_bytes())
        .await
        .expect("submit");
    // An approval is given for today at the latest (a date already past is refused), so the
    // expiry run is asked to look from tomorrow.
    let today = chrono::Utc::now().date_naive();
    let tomorrow = today.succ_opt().expect("a day after today");
    let input = DecisionInput {
        action: DecisionAction::Approve,
        reason: None,
        conditions: vec![],
        expires: Some(today),
    };
    let d = store
        .decide(&w.reviewer, &d.id, Some(&d.etag()), input)
        .await
        .expect("approve");
    assert_eq!(d.state, State::Approved);
    assert_eq!(
        store.expire_due().await.expect("expiry run"),
        0,
        "valid through today"
    );
    assert!(
        store
            .expire_due_as_of(Some(tomorrow))
            .await
            .expect("expiry run")
            >= 1
    );
    assert_eq!(
        store
            .declaration(&w.reviewer, &d.id)
            .await
            .expect("read")
            .summary
            .state,
        State::Expired
    );

    // A consent that lapsed does not clear a blocker, and its lapse re-triages linked uses.
    let d4 = store
        .submit(&w.partner, &w.production.id, DE_AGEING.as_bytes())
        .await
        .expect("submit");
    let lapsed = store
        .record_consent(
            &w.legal,
            None,
            NewConsent {
                production_id: None,
                performer: "Mara Quinn".into(),
                by: ConsentBy::Performer,
                treatment: Treatment::ReAgeing,
                scope: "flashback only".into(),
                separately_signed: false,
                signed: chrono::NaiveDate::from_ymd_opt(2020, 1, 1).expect("date"),
                expires: Some(chrono::NaiveDate::from_ymd_opt(2020, 12, 31).expect("date")),
                document: Document {
                    name: "old.pdf".into(),
                    bytes: b"old consent".to_vec(),
                },
            },
        )
        .await
        .expect("record");
    let d4 = store
        .link_consent(&w.legal, &d4.id, "Mara Quinn", &lapsed.id)
        .await
        .expect("link");
    assert!(d4.open_blockers > 0, "an expired consent clears nothing");
    store.expire_due().await.expect("expiry run");
    let detail = store.declaration(&w.reviewer, &d4.id).await.expect("read");
    assert!(
        detail
            .current
            .triages
            .iter()
            .any(|t| t.reason.contains("expired")),
        "the lapse is recorded on the use"
    );
    assert!(store.verify_audit(&w.auditor).await.expect("verify").valid);
    rows_match_the_log(&store, &db).await;
    store.close().await;
    db.drop().await;
}

/// The live database verifies as the command line checks it, rows included, anchored to
/// the key that signed.
async fn rows_match_the_log(store: &Store, db: &Db) {
    let trust = audit::Trust::anchored(&db.key.public_hex(), "the test's key");
    let report = store.verify_database(&trust).await.expect("verify");
    assert!(report.valid, "{report:#?}");
    assert!(report.anchored);
    assert!(report.records_checked.unwrap_or(0) > 10, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_and_consents_expire_on_every_backend() {
    with_each_backend("expiry", |db| Box::pin(expiry_story(db))).await;
}
