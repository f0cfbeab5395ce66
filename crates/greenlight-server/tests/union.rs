//! The union pack through the API: agreements on the production, separate signatures on
//! the consent, both overriding what a partner typed, and the pack's obligations in "Before
//! release" with who must act. On SQLite always, on PostgreSQL when
//! `GREENLIGHT_TEST_POSTGRES_URL` is set.

mod studio;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use studio::{Studio, lighthouse_keeper};

const SAG_2023: &str = "sag-aftra-tv-theatrical-2023";

/// Three performers, one rule with an obligation each: an employment-based replica captured
/// with a day's notice (compensate, notice-48h), a voice made from existing material
/// (bargain-compensation), and a synthetic performer in a human's part (notify-union). The
/// partner says the production works under no agreement and that the consents are
/// separately signed.
const UNION_USE: &str = "greenlight: declaration/v1
production:
  title: The Lighthouse Keeper
  agreements: []
use:
  ref: LK-030
  summary: Replicas for the storm sequence
  stage: production
  purpose: talent
tools:
  - name: Acme Imagine Enterprise
    enterprise_agreement: true
    data_use: none
outputs:
  final: true
  media: [video]
talent:
  - performer: Mara Quinn
    treatment: replica
    replica_origin: employment
    scan:
      date: 2026-06-10
      notice: 2026-06-09
    consent:
      document: TYPED-BY-PARTNER
      scope: storm sequence
      signed: 2026-05-04
      separately_signed: true
  - performer: Tom Hale
    treatment: voice
    replica_origin: independent
  - performer: Nova
    treatment: synthetic-performer
    replaces_human_role: true
";

fn rules(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["rule"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn current_result(t: &Studio, id: &str) -> (Value, Value) {
    let r = t
        .get(&format!("/api/v1/declarations/{id}"), &t.reviewer)
        .await;
    r.assert_status(StatusCode::OK);
    let d = r.json();
    let triage = d["current"]["triages"]
        .as_array()
        .and_then(|a| a.last())
        .cloned()
        .expect("a triage");
    (d, triage)
}

async fn union_api(t: Studio) {
    let prod = format!("/api/v1/productions/{}", t.production);

    // A new production takes agreements and gets the union pack by default.
    let r = t
        .post_json(
            "/api/v1/productions",
            &t.admin,
            json!({"title": "The Storm", "kind": "scripted", "eu_release": false, "agreements": [SAG_2023]}),
            None,
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    assert_eq!(r.json()["agreements"], json!([SAG_2023]));
    assert_eq!(
        r.json()["packs"],
        json!(["netflix-genai", "eu-ai-act-art50", "sag-aftra-2023"])
    );
    // An unknown agreement names the field.
    let r = t
        .post_json(
            "/api/v1/productions",
            &t.admin,
            json!({"title": "The Squall", "kind": "scripted", "eu_release": false, "agreements": ["sag"]}),
            None,
        )
        .await;
    r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json()["errors"][0]["path"],
        "agreements[0]",
        "{}",
        r.text()
    );

    // Only the studio's admin records the agreement.
    let patch = json!({"agreements": [SAG_2023]});
    let r = t
        .send_json(Method::PATCH, &prod, &t.partner, &patch, None)
        .await;
    assert!(
        matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{}",
        r.text()
    );
    let r = t
        .send_json(Method::PATCH, &prod, &t.admin, &patch, None)
        .await;
    r.assert_status(StatusCode::OK);
    assert_eq!(r.json()["agreements"], json!([SAG_2023]));

    // The partner says "no agreement" and "separately signed": the record decides both.
    let r = t.submit(&t.partner, UNION_USE).await;
    r.assert_status(StatusCode::CREATED);
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let (_, triage) = current_result(&t, &id).await;
    assert_eq!(
        triage["effective"]["production"]["agreements"],
        json!([SAG_2023])
    );
    assert!(
        triage["effective"]["talent"][0].get("consent").is_none(),
        "a typed consent is only claimed"
    );
    let findings = rules(&triage["result"], "findings");
    for rule in ["SAG-EBDR", "SAG-SCAN-NOTICE", "SAG-ICDR", "SAG-SYNTHETIC"] {
        assert!(findings.contains(&rule.to_owned()), "{rule}: {findings:?}");
    }
    assert!(rules(&triage["result"], "blockers").contains(&"SAG-EBDR".to_owned()));

    // Legal records a consent without a separate signature: the blocker stays.
    let consent = |separately_signed: bool| {
        json!({"performer": "Mara Quinn", "treatment": "replica", "scope": "Digital replica in the storm sequence only",
               "signed": "2026-05-04", "separately_signed": separately_signed,
               "document": {"name": "consent.pdf", "content_base64": "JVBERi0xLjQK"}})
    };
    let link = |cid: String| json!({"performer": "Mara Quinn", "consent_id": cid});
    let r = t
        .post_json("/api/v1/consents", &t.legal, consent(false), None)
        .await;
    r.assert_status(StatusCode::CREATED);
    assert_eq!(r.json()["separately_signed"], false);
    let plain = r.json()["id"].as_str().expect("id").to_owned();
    t.post_json(
        &format!("/api/v1/declarations/{id}/consents"),
        &t.legal,
        link(plain),
        None,
    )
    .await
    .assert_status(StatusCode::OK);
    let (_, triage) = current_result(&t, &id).await;
    assert_eq!(
        triage["effective"]["talent"][0]["consent"]["separately_signed"],
        false
    );
    assert!(rules(&triage["result"], "blockers").contains(&"SAG-EBDR".to_owned()));

    // ... and with one: it clears.
    let r = t
        .post_json("/api/v1/consents", &t.legal, consent(true), None)
        .await;
    r.assert_status(StatusCode::CREATED);
    assert_eq!(r.json()["separately_signed"], true);
    let signed = r.json()["id"].as_str().expect("id").to_owned();
    t.post_json(
        &format!("/api/v1/declarations/{id}/consents"),
        &t.legal,
        link(signed.clone()),
        None,
    )
    .await
    .assert_status(StatusCode::OK);
    let (decl, triage) = current_result(&t, &id).await;
    assert!(
        !rules(&triage["result"], "blockers").contains(&"SAG-EBDR".to_owned()),
        "{}",
        triage["result"]
    );

    // Before release lists the union's obligations with who must act.
    let actions_uri = format!("{prod}/disclosure/actions");
    let r = t.get(&actions_uri, &t.reviewer).await;
    r.assert_status(StatusCode::OK);
    let items = r.json()["items"].as_array().cloned().unwrap_or_default();
    let who = |kind: &str| -> Vec<String> {
        items
            .iter()
            .filter(|i| i["kind"] == kind)
            .map(|i| i["who"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(who("compensate"), vec!["the production's payroll"]);
    assert_eq!(who("notice-48h"), vec!["the production's payroll"]);
    assert_eq!(
        who("bargain-compensation"),
        vec!["the studio's labour relations"]
    );
    assert_eq!(who("notify-union"), vec!["the studio's labour relations"]);

    // Each can be marked done with evidence.
    let obligations = decl["obligations"].as_array().cloned().unwrap_or_default();
    for kind in [
        "compensate",
        "notice-48h",
        "bargain-compensation",
        "notify-union",
    ] {
        let o = obligations
            .iter()
            .find(|o| o["kind"] == kind && o["status"] == "open")
            .unwrap_or_else(|| panic!("an open {kind} obligation: {obligations:?}"));
        let oid = o["id"].as_str().expect("id");
        t.post_json(
            &format!("/api/v1/obligations/{oid}/done"),
            &t.reviewer,
            json!({"evidence": format!("{kind}: done, ref PR-77")}),
            None,
        )
        .await
        .assert_status(StatusCode::OK);
    }
    let r = t.get(&actions_uri, &t.reviewer).await;
    for i in r.json()["items"].as_array().cloned().unwrap_or_default() {
        if i.get("who").is_some() {
            assert_eq!(i["done"], true, "{i}");
        }
    }

    // Legal can take the separate signature back (PATCH); the use is triaged again and
    // the blocker opens. A partner cannot.
    let consent_uri = format!("/api/v1/consents/{signed}");
    let unsign = json!({"separately_signed": false});
    let r = t
        .send_json(Method::PATCH, &consent_uri, &t.partner, &unsign, None)
        .await;
    assert!(
        matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{}",
        r.text()
    );
    let r = t
        .send_json(Method::PATCH, &consent_uri, &t.legal, &unsign, None)
        .await;
    r.assert_status(StatusCode::OK);
    assert_eq!(r.json()["separately_signed"], false);
    let (_, triage) = current_result(&t, &id).await;
    assert!(rules(&triage["result"], "blockers").contains(&"SAG-EBDR".to_owned()));

    // The audit log holds it all and verifies.
    let r = t.get("/api/v1/audit/verify", &t.auditor).await;
    r.assert_status(StatusCode::OK);
    assert_eq!(r.json()["valid"], true, "{}", r.text());
}

#[tokio::test]
async fn the_union_pack_reads_the_record_through_the_api() {
    union_api(Studio::sqlite(lighthouse_keeper()).await).await;
}

#[tokio::test]
async fn the_union_pack_reads_the_record_through_the_api_on_postgres() {
    let Some(pg) = studio::TestPostgres::create("the union pack through the API").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    union_api(Studio::open(&pg.url, dir, lighthouse_keeper()).await).await;
    pg.drop().await;
}
