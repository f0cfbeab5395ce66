//! The outbox: a change that commits has its events and their deliveries (webhooks, the
//! production's contacts, the partner's people, legal), one that fails has none; claims are
//! leases; failed tries come back; the scheduled pass raises each time-driven event once.
//! Run on SQLite always and on a fresh PostgreSQL database when configured.

use chrono::{Duration, Utc};
use greenlight_store::input::{DecisionInput, NewConsent, NewProduction, ProductionUpdate};
use greenlight_store::outbox::{Channel, DeliveryFilter, DeliveryState, EventKind, Recipient};
use greenlight_store::*;

mod backends;
use backends::{Db, Northlight, northlight, with_each_backend};

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

async fn story(db: Db) {
    let mut config = db.config();
    config.mail_notifications = true;
    config.public_url = Some("https://greenlight.example".into());
    let store = Store::open(config).await.expect("opens");
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
                    release_date: Some((Utc::now() + Duration::days(20)).date_naive()),
                    agreements: vec![],
                },
                packs: None,
            },
        )
        .await
        .expect("production");
    // Contacts: a person of the studio and a group address; anyone else is refused.
    let bad = store
        .update_production(
            &admin,
            &production.id,
            ProductionUpdate {
                contacts: Some(Contacts {
                    people: vec![UserId("nobody".into())],
                    group: None,
                }),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(bad, Err(StoreError::Invalid { .. })), "{bad:?}");
    let production = store
        .update_production(
            &admin,
            &production.id,
            ProductionUpdate {
                contacts: Some(Contacts {
                    people: vec![reviewer.user.id.clone()],
                    group: Some("vfx-review@northlight.example".into()),
                }),
                ..Default::default()
            },
        )
        .await
        .expect("contacts");
    assert_eq!(production.contacts.people, vec![reviewer.user.id.clone()]);
    store
        .create_webhook(
            &admin,
            None,
            NewWebhook {
                url: "https://hooks.example/greenlight".into(),
                events: vec!["declaration.submitted".into(), "declaration.decided".into()],
                format: "standard".into(),
                sealed_secret: "sealed".into(),
            },
        )
        .await
        .expect("webhook");
    assert!(matches!(
        store
            .create_webhook(
                &admin,
                None,
                NewWebhook {
                    url: "https://hooks.example/x".into(),
                    events: vec!["declaration.eaten".into()],
                    format: "standard".into(),
                    sealed_secret: "sealed".into(),
                },
            )
            .await,
        Err(StoreError::Invalid { .. })
    ));
    assert!(matches!(
        store
            .create_webhook(
                &legal,
                None,
                NewWebhook {
                    url: "https://hooks.example/x".into(),
                    events: vec!["*".into()],
                    format: "standard".into(),
                    sealed_secret: "sealed".into(),
                },
            )
            .await,
        Err(StoreError::Forbidden(_))
    ));

    // A submission: one event, delivered to the webhook, the contact and the group.
    let d = store
        .submit(&partner, &production.id, MOOD_BOARD.as_bytes())
        .await
        .expect("submit");
    let events = store
        .events(&admin, PageRequest::default())
        .await
        .expect("events");
    assert_eq!(events.total, 1);
    let submitted = &events.items[0];
    assert_eq!(submitted.kind, EventKind::DeclarationSubmitted);
    assert_eq!(submitted.data["declaration_id"], d.id.0);
    assert_eq!(submitted.data["use_ref"], "LK-040");
    assert_eq!(submitted.data["outcome"], "escalate");
    assert_eq!(
        submitted.data["url"],
        format!("https://greenlight.example/declarations/{}", d.id)
    );
    // A submission that fails (the same ref again) raises nothing.
    assert!(
        store
            .submit(&partner, &production.id, MOOD_BOARD.as_bytes())
            .await
            .is_err()
    );
    assert_eq!(
        store
            .events(&admin, PageRequest::default())
            .await
            .expect("events")
            .total,
        1
    );

    let claimed = store
        .claim_deliveries(100, Duration::seconds(60))
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 3, "{claimed:?}");
    let mut addresses: Vec<String> = claimed
        .iter()
        .filter_map(|c| match &c.recipient {
            Recipient::Email { address, .. } => Some(address.clone()),
            _ => None,
        })
        .collect();
    addresses.sort();
    assert_eq!(
        addresses,
        vec![
            "reviewer@northlight.example".to_string(),
            "vfx-review@northlight.example".to_string()
        ]
    );
    assert!(claimed.iter().all(|c| c.event.id == submitted.id));
    // Leased: a second claim gets nothing.
    assert!(
        store
            .claim_deliveries(100, Duration::seconds(60))
            .await
            .expect("claim")
            .is_empty()
    );
    let hook = claimed
        .iter()
        .find(|c| c.delivery.channel == Channel::Webhook)
        .expect("the webhook's delivery");
    let others: Vec<_> = claimed
        .iter()
        .filter(|c| c.delivery.channel == Channel::Email)
        .collect();
    for c in &others {
        store
            .delivery_succeeded(&c.delivery.id)
            .await
            .expect("delivered");
    }
    // A failed try comes back when its time comes; giving up makes it dead.
    store
        .delivery_failed(
            &hook.delivery.id,
            "answered 500",
            Some(Utc::now() - Duration::seconds(1)),
        )
        .await
        .expect("failed");
    let again = store
        .claim_deliveries(100, Duration::seconds(60))
        .await
        .expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].delivery.id, hook.delivery.id);
    assert_eq!(again[0].delivery.attempts, 1);
    assert_eq!(
        again[0].event.id, submitted.id,
        "a retry carries the same event id"
    );
    store
        .delivery_failed(&hook.delivery.id, "answered 500", None)
        .await
        .expect("dead");
    let dead = store
        .deliveries(
            &admin,
            &DeliveryFilter {
                state: Some("dead".into()),
                webhook: None,
            },
            PageRequest::default(),
        )
        .await
        .expect("list");
    assert_eq!(dead.total, 1);
    assert_eq!(dead.items[0].last_error.as_deref(), Some("answered 500"));
    assert!(matches!(
        store
            .deliveries(&partner, &DeliveryFilter::default(), PageRequest::default())
            .await,
        Err(StoreError::Forbidden(_))
    ));
    let retried = store
        .retry_delivery(&admin, &hook.delivery.id)
        .await
        .expect("retry");
    assert_eq!(retried.state, DeliveryState::Pending);
    assert_eq!(
        store
            .claim_deliveries(100, Duration::seconds(60))
            .await
            .expect("claim")
            .len(),
        1
    );

    // A decision goes to the partner's people.
    let d = store
        .declaration(&admin, &d.id)
        .await
        .expect("read")
        .summary;
    store
        .decide(
            &reviewer,
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
    let claimed = store
        .claim_deliveries(100, Duration::seconds(60))
        .await
        .expect("claim");
    assert!(
        claimed
            .iter()
            .all(|c| c.event.kind == EventKind::DeclarationDecided),
        "{claimed:?}"
    );
    assert!(claimed.iter().any(|c| matches!(&c.recipient,
        Recipient::Email { address, .. } if address == "producer@northlight.example")));

    // A person who chose the daily digest: the delivery waits for the morning's digest.
    store
        .set_notification_mode(
            &reviewer.user.id,
            EventKind::DeclarationSubmitted,
            outbox::Mode::Digest,
        )
        .await
        .expect("a preference");
    store
        .submit(
            &partner,
            &production.id,
            MOOD_BOARD.replace("LK-040", "LK-041").as_bytes(),
        )
        .await
        .expect("submit");
    let claimed = store
        .claim_deliveries(100, Duration::seconds(60))
        .await
        .expect("claim");
    assert!(
        !claimed.iter().any(|c| matches!(&c.recipient,
            Recipient::Email { address, .. } if address == "reviewer@northlight.example")),
        "a digest delivery is not sent at once: {claimed:?}"
    );
    let pending = store
        .deliveries(
            &admin,
            &DeliveryFilter {
                state: Some("pending".into()),
                webhook: None,
            },
            PageRequest::default(),
        )
        .await
        .expect("list");
    let waiting = pending
        .items
        .iter()
        .find(|d| d.digest)
        .expect("the digest delivery");
    assert_eq!(
        waiting.next_at,
        outbox::next_digest_time(waiting.created_at)
    );

    // The scheduled pass: a consent expiring in 10 days is told to legal once; an open
    // obligation on a production released within 30 days is due once.
    store
        .record_consent(
            &legal,
            None,
            NewConsent {
                production_id: Some(production.id.clone()),
                performer: "Mara Quinn".into(),
                by: ConsentBy::Performer,
                treatment: Treatment::ReAgeing,
                scope: "Flashback only".into(),
                separately_signed: true,
                signed: Utc::now().date_naive() - Duration::days(100),
                expires: Some(Utc::now().date_naive() + Duration::days(10)),
                document: input::Document {
                    name: "c.txt".into(),
                    bytes: b"signed".to_vec(),
                },
            },
        )
        .await
        .expect("consent");
    let today = Utc::now().date_naive();
    let raised = store.run_schedule(today).await.expect("schedule");
    assert!(raised >= 1, "{raised}");
    assert_eq!(
        store.run_schedule(today).await.expect("again"),
        0,
        "idempotent"
    );
    let events = store
        .events(&admin, PageRequest::default())
        .await
        .expect("events");
    let expiring = events
        .items
        .iter()
        .find(|e| e.kind == EventKind::ConsentExpiring)
        .expect("consent.expiring");
    assert_eq!(expiring.data["threshold_days"], 30);
    // At 7 days left the tighter threshold is told once more.
    let raised = store
        .run_schedule(today + Duration::days(4))
        .await
        .expect("schedule");
    assert_eq!(raised, 1);
    let claimed = store
        .claim_deliveries(100, Duration::seconds(60))
        .await
        .expect("claim");
    assert!(
        claimed
            .iter()
            .any(|c| c.event.kind == EventKind::ConsentExpiring
                && matches!(&c.recipient,
        Recipient::Email { address, .. } if address == "legal@northlight.example"))
    );

    // A scan verdict reported back.
    let scan = store
        .report_scan(
            &partner,
            &production.id,
            ScanReport {
                verdict: "fail".into(),
                summary: serde_json::json!({"files": 3}),
                findings: vec![serde_json::json!({"code": "TEMP-ASSET-IN-DELIVERY"})],
            },
        )
        .await
        .expect("scan");
    assert_eq!(
        store.scans(&admin, &production.id).await.expect("scans")[0].id,
        scan.id
    );
    let events = store
        .events(&admin, PageRequest::default())
        .await
        .expect("events");
    assert_eq!(events.items[0].kind, EventKind::ScanFailed);
    assert!(matches!(
        store
            .report_scan(
                &partner,
                &production.id,
                ScanReport {
                    verdict: "maybe".into(),
                    summary: serde_json::json!({}),
                    findings: vec![],
                },
            )
            .await,
        Err(StoreError::Invalid { .. })
    ));

    let verified = store.verify_audit(&admin).await.expect("verify");
    assert!(verified.valid, "{verified:?}");
    db.drop().await;
}

#[tokio::test]
async fn changes_that_commit_have_their_events_and_deliveries() {
    with_each_backend("outbox", |db| Box::pin(story(db))).await;
}
