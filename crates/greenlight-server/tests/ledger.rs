//! `GET /api/v1/productions/{id}/ledger` in-process, on a fresh SQLite file and, when
//! `GREENLIGHT_TEST_POSTGRES_URL` is set, on a freshly created PostgreSQL database: the
//! production's ledger from the bank tables beside the server's, the reference banks, and
//! each use's final/approved/keep-marking as the scan needs them, following the workflow
//! (approval, suspension by a changed fact); a foreign studio gets 404.

mod studio;

use axum::http::{Method, StatusCode};
use greenlight_store::banks::{Banks, Creation, HashType, NewAsset, NewReference};
use greenlight_store::{NewMember, OrgKind, ProductionId, Role};
use serde_json::{Value, json};
use studio::{Studio, lighthouse_keeper};

const TEMPORARY: &str = "greenlight: declaration/v1
production:
  title: The Lighthouse Keeper
use:
  ref: BB-001
  summary: Mood boards for the harbour set
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

const FINAL: &str = "greenlight: declaration/v1
production:
  title: The Lighthouse Keeper
use:
  ref: BB-002
  summary: Generated sky plate for the storm sequence
  purpose: vfx
tools:
  - name: Acme Imagine Enterprise
    enterprise_agreement: true
    data_use: none
inputs:
  - kind: prompt
outputs:
  final: true
  prominence: incidental
  media: [image]
";

/// The use of `reference` in a ledger document.
fn use_of<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    doc["declarations"]
        .as_array()
        .expect("declarations")
        .iter()
        .find(|u| u["reference"] == reference)
        .unwrap_or_else(|| panic!("{reference} is listed: {doc}"))
}

/// The workflow on the empty database at `url`, with the checkpoint log in `dir`.
async fn story(url: &str, dir: tempfile::TempDir) {
    let t = Studio::open(url, dir, lighthouse_keeper()).await;
    let (partner, reviewer) = (&t.partner, &t.reviewer);
    let p = &t.production;
    let uri = format!("/api/v1/productions/{p}/ledger");

    // Nothing registered yet: an empty ledger.
    let r = t.get(&uri, reviewer).await;
    r.assert_status(StatusCode::OK);
    let doc = r.json();
    assert_eq!(doc["production"]["id"], p.as_str());
    assert_eq!(doc["ledger"], json!([]), "{doc}");
    assert_eq!(doc["declarations"], json!([]), "{doc}");
    let studio = doc["production"]["studio_id"]
        .as_str()
        .expect("the production's studio")
        .to_owned();

    // Assets registered into the server's database (as `greenlight assets add --database-url`
    // does), one of another production, and a protected work.
    let banks = Banks::open(url, Creation::AsUrlSays)
        .await
        .expect("bank tables open");
    let h = |c: &str| c.repeat(64);
    for (production, use_ref, name, blake3) in [
        (p.as_str(), "BB-001", "moodboard.png", h("a")),
        (p.as_str(), "BB-002", "sky.png", h("b")),
        ("another-production", "X-1", "other.png", h("c")),
    ] {
        banks
            .add_asset(&NewAsset {
                production: production.into(),
                use_ref: use_ref.into(),
                tool: Some("Acme Imagine Enterprise".into()),
                file_name: name.into(),
                blake3,
                media_type: "image/png".into(),
                pdq: Some((h("d"), 90)),
                frames: vec![],
                thumbnail: Some(vec![0xff, 0xd8, 0xff, 0xe0]),
                audio: None,
            })
            .await
            .expect("asset added");
    }
    let reference = |work: &str, owner: Option<&str>| NewReference {
        bank: "library".into(),
        work_id: work.into(),
        title: format!("Work {work}"),
        hash_type: HashType::Pdq,
        hash: h("e"),
        quality: Some(100),
        studio: owner.map(str::to_owned),
    };
    banks
        .add_references(&[
            reference("SL-0042", Some(&studio)),
            reference("PUB-1", None),
            reference("RIVAL-9", Some("another-studio")),
        ])
        .await
        .expect("reference added");
    banks.close().await;

    for text in [TEMPORARY, FINAL] {
        let r = t.submit(partner, text).await;
        r.assert_status(StatusCode::CREATED);
    }

    let doc = t.get(&uri, partner).await.json();
    let ledger = doc["ledger"].as_array().expect("ledger");
    let names: Vec<&str> = ledger
        .iter()
        .filter_map(|a| a["file_name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["moodboard.png", "sky.png"],
        "only this production's entries: {doc}"
    );
    assert_eq!(ledger[0]["use_ref"], "BB-001");
    assert_eq!(ledger[0]["blake3"], h("a"));
    assert_eq!(ledger[0]["pdq"], h("d"));
    assert_eq!(ledger[0]["pdq_quality"], 90);
    assert_eq!(ledger[0]["thumbnail"], "/9j/4A==", "the JPEG bytes, base64");
    let works: Vec<&str> = doc["references"]
        .as_array()
        .expect("references")
        .iter()
        .filter_map(|r| r["work_id"].as_str())
        .collect();
    assert_eq!(
        works,
        ["SL-0042", "PUB-1"],
        "the studio's banks and the deployment's, not another studio's"
    );
    assert_eq!(doc["references"][0]["work_id"], "SL-0042");
    assert_eq!(doc["references"][0]["hash_type"], "pdq");
    let temp = use_of(&doc, "BB-001");
    assert_eq!(temp["final"], false);
    assert_eq!(temp["approved"], false);
    let fin = use_of(&doc, "BB-002");
    assert_eq!(fin["final"], true, "{fin}");
    assert_eq!(fin["approved"], false, "not decided yet: {fin}");
    assert_eq!(fin["keep_marking"], false, "no EU release: {fin}");
    let id = fin["declaration_id"].as_str().expect("id").to_owned();

    let none = t
        .get(&format!("{uri}?thumbnails=false"), partner)
        .await
        .json();
    assert_eq!(none["ledger"][0]["thumbnail"], Value::Null);

    // The reviewer approves with a condition.
    let r = t.get(&format!("/api/v1/declarations/{id}"), reviewer).await;
    let r = t
        .post_json(
            &format!("/api/v1/declarations/{id}/decision"),
            reviewer,
            json!({"action": "approve", "conditions": ["credit the tool"]}),
            Some(&r.etag()),
        )
        .await;
    r.assert_status(StatusCode::OK);
    let doc = t.get(&uri, partner).await.json();
    let fin = use_of(&doc, "BB-002");
    assert_eq!(fin["approved"], true, "{fin}");
    assert_eq!(fin["state"], "approved");
    assert_eq!(
        fin["decided_by_email"],
        Value::Null,
        "a partner is not told the reviewer's address: {fin}"
    );
    assert_eq!(fin["decision"]["conditions"], json!(["credit the tool"]));
    let doc = t.get(&uri, reviewer).await.json();
    assert_eq!(
        use_of(&doc, "BB-002")["decided_by_email"],
        "reviewer@northlight.example"
    );

    // Another company on the production sees the hashes of other organisations' entries (so
    // its scan still catches those files) but not their names, tools or thumbnails.
    let store = &t.state.store;
    let admin = store
        .principal_by_secret(&t.admin)
        .await
        .expect("lookup")
        .expect("the admin's token works");
    let vendor = store
        .create_org(&admin, "Quay VFX", OrgKind::Vendor)
        .await
        .expect("org");
    store
        .link_org(&admin, &ProductionId(p.clone()), &vendor.id)
        .await
        .expect("link");
    let member = store
        .add_member(
            &admin,
            &vendor.id,
            NewMember {
                email: "compositor@quay.example".into(),
                name: String::new(),
                roles: vec![Role::Partner],
                password: None,
            },
        )
        .await
        .expect("member")
        .added()
        .expect("a new person");
    let vendor_token = store
        .system_create_token(&member.id, "test")
        .await
        .expect("token");
    let doc = t.get(&uri, &vendor_token).await.json();
    assert_eq!(doc["declarations"], json!([]), "{doc}");
    let ledger = doc["ledger"].as_array().expect("ledger");
    assert_eq!(ledger.len(), 2, "{doc}");
    for entry in ledger {
        assert_eq!(
            entry["file_name"], "(another organisation's file)",
            "{entry}"
        );
        assert_eq!(entry["tool"], Value::Null, "{entry}");
        assert_eq!(entry["thumbnail"], Value::Null, "{entry}");
        // Before, the other organisation's use reference came through.
        assert_eq!(entry["use_ref"], "(another organisation's use)", "{entry}");
    }
    assert_eq!(ledger[0]["blake3"], h("a"), "the hashes stay");
    assert_eq!(
        doc["references"].as_array().map(Vec::len),
        Some(2),
        "a vendor's scan still checks the protected works: {doc}"
    );

    // An EU release changes the triage: the approval is suspended (no longer counts), and the
    // new triage obliges the marking to be kept.
    let r = t
        .send_json(
            Method::PATCH,
            &format!("/api/v1/productions/{p}"),
            &t.admin,
            &json!({"eu_release": true}),
            None,
        )
        .await;
    r.assert_status(StatusCode::OK);
    let doc = t.get(&uri, reviewer).await.json();
    let fin = use_of(&doc, "BB-002");
    assert_eq!(fin["state"], "suspended", "{fin}");
    assert_eq!(
        fin["approved"], false,
        "a suspended approval does not count: {fin}"
    );
    assert_eq!(fin["keep_marking"], true, "{fin}");
    assert_eq!(
        use_of(&doc, "BB-001")["keep_marking"],
        false,
        "temporary: not public"
    );

    // A foreign studio is told the production does not exist; no token at all is 401.
    let rival = t.rival().await;
    let r = t.get(&uri, &rival.admin).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let text = String::from_utf8_lossy(&r.body);
    assert!(
        !text.contains("moodboard") && !text.contains("SL-0042"),
        "{text}"
    );
    let r = t.get(&uri, "glt_not-a-real-token").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = t
        .get("/api/v1/productions/no-such-production/ledger", reviewer)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The OpenAPI document describes the endpoint.
    let doc = t.get("/api/openapi.json", reviewer).await.json();
    assert!(doc["paths"]["/api/v1/productions/{id}/ledger"]["get"].is_object());
    t.state.store.close().await;
}

#[tokio::test]
async fn sqlite_ledger_follows_the_workflow() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    story(&url, dir).await;
}

#[tokio::test]
async fn postgres_ledger_follows_the_workflow() {
    let Some(db) =
        greenlight_test_db::FreshPostgres::create("ledger_test", "the ledger endpoint").await
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    story(&db.url, dir).await;
    db.drop().await;
}
