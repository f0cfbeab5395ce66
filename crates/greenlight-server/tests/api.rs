//! The JSON API in-process (`tower::ServiceExt::oneshot`) on a fresh SQLite file per test:
//! problem+json errors with field paths, ETag preconditions, blockers, OpenAPI, health,
//! metrics, and a foreign organisation trying every endpoint.

mod studio;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use greenlight_store::{SigningKey, Store, StoreConfig};
use serde_json::{Value, json};
use studio::{Studio, lighthouse_keeper};

const DE_AGEING: &str = "greenlight: declaration/v1
production:
  title: The Lighthouse Keeper
use:
  ref: LK-004
  summary: De-age the lead for the flashback
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
";

/// The studio of these tests, on a fresh SQLite file.
async fn northlight() -> Studio {
    Studio::sqlite(lighthouse_keeper()).await
}

#[tokio::test]
async fn openapi_health_readiness_and_metrics_answer() {
    let t = northlight().await;
    let r = t
        .call(Method::GET, "/api/openapi.json", None, &[], Body::empty())
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/productions/{id}/declarations"]["post"].is_object());
    for path in ["/healthz", "/readyz"] {
        assert_eq!(
            t.call(Method::GET, path, None, &[], Body::empty())
                .await
                .status,
            StatusCode::OK,
            "{path}"
        );
    }
    let m = t
        .call(Method::GET, "/metrics", None, &[], Body::empty())
        .await;
    let text = String::from_utf8_lossy(&m.body);
    assert!(text.contains("greenlight_http_requests_total"), "{text}");
    assert!(text.contains("greenlight_store_write_batches_total"));
}

#[tokio::test]
async fn requests_without_a_token_get_401_problem_json() {
    let t = northlight().await;
    let r = t
        .call(
            Method::GET,
            "/api/v1/declarations",
            None,
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.content_type(), "application/problem+json");
    let r = t.get("/api/v1/declarations", "glt_not-a-real-token").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn invalid_declarations_get_4xx_with_field_paths_and_nothing_is_stored() {
    let t = northlight().await;
    let bad = DE_AGEING
        .replace("data_use: none", "data_use: sometimes")
        .replace("treatment: re-ageing", "treatment: deepfake");
    let r = t.submit(&t.partner, &bad).await;
    r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.content_type(), "application/problem+json");
    let p = r.json();
    let errors = p["errors"].as_array().expect("errors");
    assert!(
        errors
            .iter()
            .any(|e| e["path"] == "tools[0].data_use" && e["pointer"] == "/tools/0/data_use"),
        "{p}"
    );
    assert!(
        errors.iter().any(|e| e["path"] == "talent[0].treatment"),
        "every problem is reported: {p}"
    );

    let r = t.submit(&t.partner, "greenlight: [unclosed").await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert_eq!(r.content_type(), "application/problem+json");

    let huge = format!(
        "{DE_AGEING}# {}\n",
        "x".repeat(greenlight_core::format::MAX_INPUT_BYTES)
    );
    assert_eq!(
        t.submit(&t.partner, &huge).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );

    let r = t
        .post_json(
            "/api/v1/declarations/x/decision",
            &t.reviewer,
            json!({"action": "bless"}),
            Some("*"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["path"], "action", "{}", r.json());
    // A JSON body's problem names the full path of the field, from where serde stood (not
    // from its message, which names only the last key).
    let r = t
        .post_json(
            "/api/v1/declarations/x/decision",
            &t.reviewer,
            json!({"action": "approve", "conditions": ["fine", 7]}),
            Some("*"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let e = &r.json()["errors"][0];
    assert_eq!(e["path"], "conditions[1]", "{e}");
    assert_eq!(e["pointer"], "/conditions/1", "{e}");
    let r = t
        .post_json(
            "/api/v1/declarations/x/decision",
            &t.reviewer,
            json!({"action": "approve", "colour": "green"}),
            Some("*"),
        )
        .await;
    assert_eq!(r.json()["errors"][0]["path"], "colour", "{}", r.json());
    let r = t
        .post_json("/api/v1/orgs", &t.admin, json!({"kind": "vendor"}), None)
        .await;
    assert_eq!(r.json()["errors"][0]["path"], "name", "{}", r.json());
    let r = t
        .call(
            Method::POST,
            "/api/v1/orgs",
            Some(&t.admin),
            &[("content-type", "application/json")],
            "{not json",
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let list = t.get("/api/v1/declarations", &t.reviewer).await.json();
    assert_eq!(list["total"], 0, "nothing was stored");
}

#[tokio::test]
async fn decisions_need_the_etag_and_clear_blockers() {
    let t = northlight().await;
    let r = t.submit(&t.partner, DE_AGEING).await;
    r.assert_status(StatusCode::CREATED);
    let etag = r.etag();
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let uri = format!("/api/v1/declarations/{id}/decision");
    let approve = json!({"action": "approve", "conditions": ["Credit the vendor"]});

    assert_eq!(
        t.post_json(&uri, &t.reviewer, approve.clone(), None)
            .await
            .status,
        StatusCode::PRECONDITION_REQUIRED
    );
    assert_eq!(
        t.post_json(&uri, &t.reviewer, approve.clone(), Some("\"stale\""))
            .await
            .status,
        StatusCode::PRECONDITION_FAILED
    );
    let r = t
        .post_json(&uri, &t.reviewer, approve.clone(), Some(&etag))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        !r.json()["blockers"]
            .as_array()
            .expect("blockers named")
            .is_empty()
    );
    assert_eq!(
        t.post_json(&uri, &t.partner, approve.clone(), Some(&etag))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Legal records and links the consent; then the approval goes through.
    let consent = json!({"performer": "Mara Quinn", "treatment": "re-ageing", "scope": "flashback only", "signed": "2026-05-04",
        "document": {"name": "consent.pdf", "content_base64": "JVBERi0xLjQK"}});
    let r = t
        .post_json("/api/v1/consents", &t.legal, consent, None)
        .await;
    r.assert_status(StatusCode::CREATED);
    let cid = r.json()["id"].as_str().expect("id").to_owned();
    let r = t
        .post_json(
            &format!("/api/v1/declarations/{id}/consents"),
            &t.legal,
            json!({"performer": "Mara Quinn", "consent_id": cid}),
            None,
        )
        .await;
    r.assert_status(StatusCode::OK);
    let etag = r.etag();
    let r = t
        .post_json(&uri, &t.reviewer, approve.clone(), Some(&etag))
        .await;
    r.assert_status(StatusCode::OK);
    assert_eq!(r.json()["state"], "approved");
    // Two reviewers with the same ETag: the second is told it is stale.
    let r = t
        .post_json(
            &uri,
            &t.reviewer,
            json!({"action": "revoke", "reason": "second thoughts"}),
            Some(&etag),
        )
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);

    // The disclosure report lists the use, as JSON and CSV; the auditor verifies the chain.
    let r = t
        .get(
            &format!("/api/v1/productions/{}/disclosure?format=csv", t.production),
            &t.reviewer,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&r.body).contains("LK-004"));
    let r = t.get("/api/v1/audit/verify", &t.auditor).await;
    assert_eq!(r.json()["valid"], true, "{}", r.json());
}

/// Every endpoint, tried by every role of a foreign studio: no 2xx carries the other
/// studio's data, and no write succeeds.
#[tokio::test]
async fn a_foreign_studio_gets_nothing_from_any_endpoint() {
    foreign_probe(northlight().await).await;
}

#[tokio::test]
async fn a_foreign_studio_gets_nothing_from_any_endpoint_on_postgres() {
    let Some(pg) = studio::TestPostgres::create("the cross-tenant probe").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    foreign_probe(Studio::open(&pg.url, dir, lighthouse_keeper()).await).await;
    pg.drop().await;
}

async fn foreign_probe(t: Studio) {
    let r = t.submit(&t.partner, DE_AGEING).await;
    let decl = r.json()["id"].as_str().expect("id").to_owned();
    assert!(r.headers.get(header::ETAG).is_some());
    let consent = json!({"performer": "Mara Quinn", "treatment": "re-ageing", "scope": "flashback", "signed": "2026-05-04",
        "document": {"name": "c.pdf", "content_base64": "JVBERi0xLjQK"}});
    let cid = t
        .post_json("/api/v1/consents", &t.legal, consent.clone(), None)
        .await
        .json()["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let tool = json!({"name": "Acme Imagine Enterprise", "data_terms": "none"});
    let tid = t
        .post_json("/api/v1/tools", &t.legal, tool.clone(), None)
        .await
        .json()["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // Registering the tool re-triaged the declaration: take its ETag now.
    let r = t
        .get(&format!("/api/v1/declarations/{decl}"), &t.reviewer)
        .await;
    let etag = r.etag();
    let detail = r.json();
    let studio = t.get("/api/v1/me", &t.admin).await.json()["memberships"][0]["org_id"]
        .as_str()
        .expect("org")
        .to_owned();
    let admin_user = t.get("/api/v1/me", &t.admin).await.json()["user"]["id"]
        .as_str()
        .expect("user")
        .to_owned();
    // An invitation of the studio's legal into the production company, waiting.
    let company = t
        .get("/api/v1/orgs", &t.admin)
        .await
        .json()
        .as_array()
        .expect("orgs")
        .iter()
        .find(|o| o["kind"] == "production_company")
        .and_then(|o| o["id"].as_str())
        .expect("the company")
        .to_owned();
    let r = t
        .post_json(
            &format!("/api/v1/orgs/{company}/members"),
            &t.admin,
            json!({"email": "legal@northlight.example", "roles": ["partner"]}),
            None,
        )
        .await;
    r.assert_status(StatusCode::ACCEPTED);
    let invitation = r.json()["id"].as_str().expect("id").to_owned();
    let oblig = detail["obligations"]
        .get(0)
        .and_then(|o| o["id"].as_str())
        .unwrap_or("none")
        .to_owned();

    // The foreign studio with every role.
    let rival = t.rival().await;
    let p = &t.production;
    let reads = [
        format!("/api/v1/productions/{p}"),
        format!("/api/v1/productions/{p}/declarations"),
        format!("/api/v1/productions/{p}/disclosure"),
        format!("/api/v1/productions/{p}/ledger"),
        format!("/api/v1/declarations/{decl}"),
        format!("/api/v1/declarations/{decl}/revisions"),
        format!("/api/v1/consents/{cid}"),
        format!("/api/v1/consents/{cid}/document"),
        format!("/api/v1/consents/{cid}/uses"),
        format!("/api/v1/tools/{tid}"),
        format!("/api/v1/tools/{tid}/uses"),
        format!("/api/v1/orgs/{studio}/members"),
        format!("/api/v1/users/{admin_user}/tokens"),
        format!("/api/v1/orgs/{studio}/invitations"),
        format!("/api/v1/orgs/{company}/invitations"),
        format!("/api/v1/orgs/{company}/members"),
    ];
    let lists = [
        "/api/v1/productions",
        "/api/v1/declarations",
        "/api/v1/queue",
        "/api/v1/consents",
        "/api/v1/tools",
        "/api/v1/orgs",
        "/api/v1/audit",
        "/api/v1/me/invitations",
    ];
    let writes: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            format!("/api/v1/declarations/{decl}/decision"),
            json!({"action": "reject", "reason": "x"}),
        ),
        (
            Method::POST,
            format!("/api/v1/declarations/{decl}/withdraw"),
            json!({}),
        ),
        (
            Method::POST,
            format!("/api/v1/declarations/{decl}/consents"),
            json!({"performer": "Mara Quinn", "consent_id": cid}),
        ),
        (
            Method::POST,
            format!("/api/v1/declarations/{decl}/confirmations"),
            json!({"kind": "union_agreement", "reference": "x"}),
        ),
        (
            Method::POST,
            format!("/api/v1/obligations/{oblig}/done"),
            json!({"evidence": "x"}),
        ),
        (
            Method::POST,
            format!("/api/v1/consents/{cid}/revoke"),
            json!({"reason": "x"}),
        ),
        (
            Method::PUT,
            format!("/api/v1/tools/{tid}"),
            json!({"name": "Acme Imagine Enterprise", "data_terms": "trains"}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/productions/{p}"),
            json!({"eu_release": true}),
        ),
        (
            Method::POST,
            format!("/api/v1/productions/{p}/links"),
            json!({"org_id": rival.org}),
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{studio}/members"),
            json!({"email": "spy@rival.example", "roles": ["admin"]}),
        ),
        (
            Method::POST,
            format!("/api/v1/users/{admin_user}/tokens"),
            json!({"label": "spy"}),
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{company}/members"),
            json!({"email": "spy@rival.example", "roles": ["partner"]}),
        ),
        (
            Method::POST,
            format!("/api/v1/invitations/{invitation}/accept"),
            json!({}),
        ),
        (
            Method::POST,
            format!("/api/v1/invitations/{invitation}/decline"),
            json!({}),
        ),
        (
            Method::DELETE,
            format!("/api/v1/invitations/{invitation}"),
            json!({}),
        ),
    ];
    let secret_bits = [
        decl.as_str(),
        cid.as_str(),
        tid.as_str(),
        p.as_str(),
        "Mara Quinn",
        "Lighthouse",
        "Harbour",
    ];
    for token in rival.tokens() {
        for uri in &reads {
            let r = t.get(uri, token).await;
            assert!(
                r.status == StatusCode::NOT_FOUND || r.status == StatusCode::FORBIDDEN,
                "{uri}: {}",
                r.status
            );
        }
        for uri in lists {
            let r = t.get(uri, token).await;
            let text = String::from_utf8_lossy(&r.body);
            for s in secret_bits {
                assert!(!text.contains(s), "{uri} leaked {s}: {text}");
            }
        }
        let r = t.submit(token, DE_AGEING).await;
        assert!(r.status.is_client_error(), "submit: {}", r.status);
        let r = t
            .call(
                Method::POST,
                &format!("/api/v1/productions/{p}/triage"),
                Some(token),
                &[],
                DE_AGEING.to_owned(),
            )
            .await;
        assert!(r.status.is_client_error(), "triage: {}", r.status);
        for (m, uri, body) in &writes {
            let r = t.send_json(m.clone(), uri, token, body, Some(&etag)).await;
            assert!(
                r.status.is_client_error(),
                "{m} {uri}: {} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
        }
    }
    // Nothing changed for the owners.
    let after = t
        .get(&format!("/api/v1/declarations/{decl}"), &t.reviewer)
        .await;
    assert_eq!(after.etag(), etag);
    let waiting = t.get("/api/v1/me/invitations", &t.legal).await.json();
    assert_eq!(
        waiting[0]["id"],
        invitation.as_str(),
        "the invitation still waits: {waiting}"
    );
    t.state.store.close().await;
}

#[tokio::test]
async fn cookie_signed_mutations_need_the_request_header() {
    let t = northlight().await;
    let uri = format!("/api/v1/productions/{}/triage", t.production);
    let cookie = format!("gl_session={}", t.partner);
    // What a cross-site form can send: the cookie rides along, a form-encoded or text body.
    for content_type in [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/json",
    ] {
        let res = t
            .call(
                Method::POST,
                &uri,
                None,
                &[("cookie", &cookie), ("content-type", content_type)],
                DE_AGEING.to_owned(),
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{content_type}");
        assert_eq!(res.content_type(), "application/problem+json");
        let detail = res.json()["detail"].as_str().unwrap_or("").to_owned();
        assert!(detail.contains("X-Greenlight-Request"), "{detail}");
    }
    // Nothing else mutating passes either, whatever its route.
    let res = t
        .call(
            Method::DELETE,
            "/api/v1/tokens/anything",
            None,
            &[("cookie", &cookie)],
            Body::empty(),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // The pages' own script sends the header: the preview works.
    let res = t
        .call(
            Method::POST,
            &uri,
            None,
            &[
                ("cookie", &cookie),
                ("content-type", "application/yaml"),
                ("x-greenlight-request", "1"),
            ],
            DE_AGEING.to_owned(),
        )
        .await;
    res.assert_status(StatusCode::OK);
    // Reads by cookie and bearer-token writes are unaffected.
    let res = t
        .call(
            Method::GET,
            "/api/v1/me",
            None,
            &[("cookie", &cookie)],
            Body::empty(),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let res = t
        .call(
            Method::POST,
            &uri,
            Some(&t.partner),
            &[("cookie", &cookie), ("content-type", "application/yaml")],
            DE_AGEING.to_owned(),
        )
        .await;
    res.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn a_studio_auditor_exports_no_other_studios_entries() {
    let t = northlight().await;
    let r = t.submit(&t.partner, DE_AGEING).await;
    r.assert_status(StatusCode::CREATED);
    let decl = r.json()["id"].as_str().expect("id").to_owned();
    let me = t.get("/api/v1/me", &t.admin).await.json();
    let studio = me["memberships"][0]["org_id"]
        .as_str()
        .expect("org")
        .to_owned();
    let admin_user = me["user"]["id"].as_str().expect("user").to_owned();
    let partner_user = t.get("/api/v1/me", &t.partner).await.json()["user"]["id"]
        .as_str()
        .expect("user")
        .to_owned();

    let rival = t.rival().await;
    let res = t
        .call(
            Method::GET,
            "/audit/export",
            None,
            &[("cookie", &format!("gl_session={}", rival.auditor))],
            Body::empty(),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let text = String::from_utf8_lossy(&res.body).into_owned();
    for secret in [&studio, &admin_user, &partner_user, &decl, &t.production] {
        assert!(!text.contains(secret.as_str()), "the bundle names {secret}");
    }
    assert!(!text.contains("Northlight") && !text.contains("northlight"));
    let bundle = res.json();
    let entries: Vec<greenlight_store::AuditEntry> =
        serde_json::from_value(bundle["entries"].clone()).expect("entries");
    let checkpoints: Vec<greenlight_store::Checkpoint> =
        serde_json::from_value(bundle["checkpoints"].clone()).expect("checkpoints");
    // The rival's own entries are whole; the others keep only their place in the chain.
    assert!(entries.iter().any(|e| e.redacted));
    assert!(
        entries
            .iter()
            .any(|e| !e.redacted && e.org_id.as_deref() == Some(rival.org.0.as_str()))
    );
    for e in entries.iter().filter(|e| e.redacted) {
        assert!(e.actor.is_none() && e.org_id.is_none() && e.entity_id.is_empty());
    }
    // And the redacted bundle still verifies, against the whole chain's checkpoints.
    let report = greenlight_store::audit::verify(&entries, &checkpoints, None, None);
    assert!(report.valid, "{:?}", report.problems);
    let (whole, _) = t.state.store.audit_chain().await.expect("chain");
    assert_eq!(entries.len(), whole.len());
    // A redacted entry whose hash is altered breaks the chain.
    let mut forged = entries.clone();
    let i = forged
        .iter()
        .position(|e| e.redacted)
        .expect("a redacted entry");
    forged[i].hash = "0".repeat(64);
    assert!(!greenlight_store::audit::verify(&forged, &checkpoints, None, None).valid);
}

/// The batched disclosure report answers exactly what reading each use's record one at a
/// time answers, for every role, on the demo data (decisions, consents, obligations).
#[tokio::test]
async fn the_batched_disclosure_matches_the_one_by_one_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = StoreConfig::new(format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("d.db").display()
    ));
    config.signing_key = Some(SigningKey::generate());
    let store = Store::open(config).await.expect("store opens");
    greenlight_server::demo::seed(&store).await.expect("demo");
    let mut compared = 0;
    let mut obligations = 0;
    for email in [
        "reviewer@northlight.example",
        "legal@northlight.example",
        "producer@harbourfilms.example",
        "artist@pixelforge.example",
    ] {
        let user = store
            .user_by_email(email)
            .await
            .expect("answers")
            .expect("exists");
        let who = store.principal(&user.id).await.expect("principal");
        for p in store.productions(&who).await.expect("productions") {
            let batched = store.disclosure(&who, &p.id).await.expect("report");
            let mut slow = store
                .disclosure_one_by_one(&who, &p.id)
                .await
                .expect("report");
            slow.generated_at = batched.generated_at;
            assert_eq!(
                serde_json::to_value(&batched).expect("json"),
                serde_json::to_value(&slow).expect("json"),
                "{email}"
            );
            assert_eq!(batched.to_csv(), slow.to_csv());
            compared += batched.uses.len();
            obligations += batched
                .uses
                .iter()
                .map(|u| u.obligations.len())
                .sum::<usize>();
        }
    }
    assert!(
        compared > 0 && obligations > 0,
        "{compared} uses, {obligations} obligations"
    );
}

/// A production answers with an ETag; a pack switch is previewed without writing and adopted
/// only with that ETag, answering the same change list; another studio gets 404.
#[tokio::test]
async fn a_pack_switch_is_previewed_then_adopted_with_the_production_etag() {
    let t = northlight().await;
    let submitted = t.submit(&t.partner, DE_AGEING).await;
    assert!(submitted.status.is_success(), "{}", submitted.status);
    let path = format!("/api/v1/productions/{}", t.production);
    let r = t.get(&path, &t.legal).await;
    let etag = r
        .headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("a production has an ETag")
        .to_owned();
    let body = json!({"packs": ["eu-ai-act-art50"]});
    let preview = t
        .post_json(
            &format!("{path}/packs/preview"),
            &t.legal,
            body.clone(),
            None,
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.json());
    let preview = preview.json();
    assert_eq!(preview["changes"][0]["use_ref"], "LK-004", "{preview}");
    assert!(
        preview["changes"][0]["before"]["blockers"]
            .as_array()
            .is_some_and(|b| !b.is_empty())
    );
    assert!(preview["counts"]["before"].is_object());
    assert!(preview["production_findings"]["after"].is_array());
    // Nothing was written: the ETag stands.
    let again = t.get(&path, &t.legal).await;
    assert_eq!(
        again.headers.get("etag").and_then(|v| v.to_str().ok()),
        Some(etag.as_str())
    );

    let put = |m: Option<String>| {
        let body = body.clone();
        let path = format!("{path}/packs");
        let t = &t;
        async move {
            t.send_json(Method::PUT, &path, &t.legal, &body, m.as_deref())
                .await
        }
    };
    assert_eq!(put(None).await.status, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(
        put(Some("\"p0\"".into())).await.status,
        StatusCode::PRECONDITION_FAILED
    );
    let adopted = put(Some(etag.clone())).await;
    assert_eq!(adopted.status, StatusCode::OK, "{}", adopted.json());
    assert_eq!(
        adopted.json(),
        preview,
        "adoption answers the preview's list"
    );
    assert_ne!(
        adopted.headers.get("etag").and_then(|v| v.to_str().ok()),
        Some(etag.as_str()),
        "the production's version moved"
    );
    // The partner may not; another studio does not see the production.
    let r = t
        .post_json(
            &format!("{path}/packs/preview"),
            &t.partner,
            body.clone(),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let rival = t.rival().await;
    let r = t
        .post_json(
            &format!("{path}/packs/preview"),
            &rival.admin,
            body.clone(),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let doc = t.get("/api/openapi.json", &t.legal).await.json();
    assert!(doc["paths"]["/api/v1/productions/{id}/packs/preview"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/productions/{id}/packs"]["put"].is_object());
}

const STUDIO_PACK: &str = r#"pack: studio-extra
version: "1"
title: Studio additions
rules:
  - id: STUDIO-TALENT-ESCALATE
    title: Talent uses go to legal
    outcome: escalate
    source: "Studio policy 5"
    when: use.purpose == "talent"
    message: Legal looks at every talent use.
tests:
  - name: talent escalates
    as_of: 2026-12-01
    declaration:
      greenlight: declaration/v1
      production: {title: T}
      use: {ref: T-1, summary: Replica, stage: production, purpose: talent}
      tools: [{name: Tool, enterprise_agreement: true, data_use: none}]
      outputs: {final: false}
    expect:
      outcome: escalate
      rules: [STUDIO-TALENT-ESCALATE]
"#;

#[tokio::test]
async fn studio_packs_are_uploaded_as_yaml_named_by_version_and_hidden_from_other_studios() {
    let t = northlight().await;
    let yaml = [("content-type", "application/yaml")];
    let upload = |token: &str, body: &str| {
        let (token, body) = (token.to_owned(), body.to_owned());
        let t = &t;
        async move {
            t.call(Method::POST, "/api/v1/packs", Some(&token), &yaml, body)
                .await
        }
    };
    // Not YAML: 415; a body over 1 MiB: 413.
    let r = t
        .call(
            Method::POST,
            "/api/v1/packs",
            Some(&t.legal),
            &[("content-type", "application/json")],
            STUDIO_PACK.to_owned(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = format!("{STUDIO_PACK}#{}\n", "x".repeat(1024 * 1024));
    assert_eq!(
        upload(&t.legal, &huge).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // Stored: 201, then the same text is 200, other text under the name is 409.
    let r = upload(&t.legal, STUDIO_PACK).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let stored = r.json();
    assert_eq!(stored["id"], "studio-extra");
    assert_eq!(stored["version"], "1");
    assert_eq!(stored["digest"].as_str().map(str::len), Some(64));
    assert_eq!(upload(&t.legal, STUDIO_PACK).await.status, StatusCode::OK);
    let other = STUDIO_PACK.replace("Legal looks", "Legal reads");
    assert_eq!(upload(&t.legal, &other).await.status, StatusCode::CONFLICT);
    // A broken rule: 422 naming the rule and its line.
    let broken = STUDIO_PACK
        .replace("version: \"1\"", "version: \"2\"")
        .replace("use.purpose == \"talent\"", "use.purpose ==");
    let r = upload(&t.legal, &broken).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = r.json();
    assert_eq!(
        problem["errors"][0]["path"], "rule/STUDIO-TALENT-ESCALATE",
        "{problem}"
    );
    assert_eq!(problem["errors"][0]["line"], 5, "the rule's line");
    // Only legal and admins.
    assert_eq!(
        upload(&t.reviewer, STUDIO_PACK).await.status,
        StatusCode::FORBIDDEN
    );
    // Read back, with its rules.
    let r = t.get("/api/v1/packs/studio-extra/1", &t.legal).await;
    assert_eq!(r.status, StatusCode::OK);
    let detail = r.json();
    assert_eq!(detail["text"], STUDIO_PACK);
    assert_eq!(detail["rules"][0]["id"], "STUDIO-TALENT-ESCALATE");
    let list = t.get("/api/v1/packs", &t.admin).await.json();
    assert!(
        list.as_array().is_some_and(|l| l
            .iter()
            .any(|p| p["id"] == "netflix-genai" && p["builtin"] == true)),
        "{list}"
    );

    // A triage with the studio pack replays exactly.
    let path = format!("/api/v1/productions/{}", t.production);
    let etag = t.get(&path, &t.legal).await.etag();
    let body = json!({"packs": ["netflix-genai", "studio-extra@1"]});
    let r = t
        .send_json(
            Method::PUT,
            &format!("{path}/packs"),
            &t.legal,
            &body,
            Some(&etag),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let submitted = t.submit(&t.partner, DE_AGEING).await.json();
    let id = submitted["id"].as_str().expect("id");
    let r = t
        .call(
            Method::POST,
            &format!("/api/v1/declarations/{id}/replay"),
            Some(&t.partner),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let replay = r.json();
    assert_eq!(replay["same"], true, "{replay}");
    assert_eq!(replay["basis"]["packs"][1]["name"], "studio-extra@1");
    assert_eq!(replay["basis"]["packs"][1]["digest"], stored["digest"]);

    // PATCH with packs answers the change list beside the production.
    let patch = json!({"packs": ["netflix-genai"]});
    let r = t
        .send_json(Method::PATCH, &path, &t.admin, &patch, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let patched = r.json();
    assert_eq!(patched["packs"], json!(["netflix-genai"]));
    assert!(patched["changes"].is_array(), "{patched}");
    assert!(patched["counts"]["before"].is_object(), "{patched}");

    // Default packs of new productions.
    let studio = t.get("/api/v1/me", &t.admin).await.json()["memberships"][0]["org_id"]
        .as_str()
        .expect("org")
        .to_owned();
    let r = t
        .send_json(
            Method::PUT,
            &format!("/api/v1/orgs/{studio}/default-packs"),
            &t.legal,
            &json!({"packs": ["netflix-genai", "studio-extra@1"]}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // Every pack endpoint as every role of another studio: 404.
    let rival = t.rival().await;
    for token in rival.tokens() {
        let who = format!("rival token {token}");
        assert_eq!(
            t.get("/api/v1/packs/studio-extra/1", token).await.status,
            StatusCode::NOT_FOUND,
            "{who}"
        );
        let list = t.get("/api/v1/packs", token).await;
        assert!(
            !list.text().contains("studio-extra"),
            "{who}: {}",
            list.text()
        );
        assert_eq!(
            t.get(&format!("/api/v1/packs?studio_id={studio}"), token)
                .await
                .status,
            StatusCode::NOT_FOUND,
            "{who}"
        );
        assert_eq!(
            t.call(
                Method::POST,
                &format!("/api/v1/packs?studio_id={studio}"),
                Some(token),
                &yaml,
                STUDIO_PACK.to_owned()
            )
            .await
            .status,
            StatusCode::NOT_FOUND,
            "{who}"
        );
        assert_eq!(
            t.get(&format!("/api/v1/orgs/{studio}/default-packs"), token)
                .await
                .status,
            StatusCode::NOT_FOUND,
            "{who}"
        );
        assert_eq!(
            t.send_json(
                Method::PUT,
                &format!("/api/v1/orgs/{studio}/default-packs"),
                token,
                &json!({"packs": ["netflix-genai"]}),
                None
            )
            .await
            .status,
            StatusCode::NOT_FOUND,
            "{who}"
        );
        assert_eq!(
            t.call(
                Method::POST,
                &format!("/api/v1/declarations/{id}/replay"),
                Some(token),
                &[],
                Body::empty()
            )
            .await
            .status,
            StatusCode::NOT_FOUND,
            "{who}"
        );
    }
    let doc = t.get("/api/openapi.json", &t.legal).await.json();
    assert!(doc["paths"]["/api/v1/packs"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/declarations/{id}/replay"]["post"].is_object());
}

#[tokio::test]
async fn a_webhook_must_point_to_a_public_https_address_and_its_secret_is_shown_once() {
    let t = northlight().await;
    for url in [
        "http://hooks.example.com/greenlight",
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://localhost/hook",
        "ftp://hooks.example.com/",
        "not a url",
    ] {
        let r = t
            .post_json(
                "/api/v1/webhooks",
                &t.admin,
                json!({"url": url, "events": ["*"]}),
                None,
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: {}",
            r.text()
        );
        assert_eq!(r.json()["errors"][0]["path"], "url", "{url}: {}", r.text());
    }
    // Nothing was half-saved.
    let list = t.get("/api/v1/webhooks", &t.admin).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json(), json!([]));
    // A bad secret names the field; only admins manage webhooks; another studio sees none.
    let r = t
        .post_json(
            "/api/v1/webhooks",
            &t.admin,
            json!({"url": "https://93.184.215.14/hook", "events": ["*"], "secret": "hunter2"}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["errors"][0]["path"], "secret");
    let r = t
        .post_json(
            "/api/v1/webhooks",
            &t.legal,
            json!({"url": "https://93.184.215.14/hook", "events": ["*"]}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = t
        .post_json(
            "/api/v1/webhooks",
            &t.admin,
            json!({"url": "https://93.184.215.14/hook", "events": ["declaration.submitted"]}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let made = r.json();
    assert!(
        made["secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("whsec_"))
    );
    let id = made["id"].as_str().expect("id").to_owned();
    let listed = t.get("/api/v1/webhooks", &t.admin).await.text();
    assert!(
        listed.contains(&id) && !listed.contains("whsec_"),
        "{listed}"
    );
    let rotated = t
        .post_json(
            &format!("/api/v1/webhooks/{id}/rotate"),
            &t.admin,
            json!({}),
            None,
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text());
    assert_ne!(rotated.json()["secret"], made["secret"]);
    assert!(rotated.json()["previous_secret_until"].is_string());
    let rival = t.rival().await;
    for token in rival.tokens() {
        assert_ne!(t.get("/api/v1/webhooks", token).await.text(), listed);
        assert_eq!(
            t.get(&format!("/api/v1/webhooks/{id}/deliveries"), token)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        let r = t
            .call(
                Method::DELETE,
                &format!("/api/v1/webhooks/{id}"),
                Some(token),
                &[],
                Body::empty(),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
    let doc = t.get("/api/openapi.json", &t.admin).await.json();
    assert!(doc["paths"]["/api/v1/webhooks"]["post"].is_object());
    assert!(
        doc["webhooks"]["declaration.submitted"]["post"].is_object(),
        "the OpenAPI document describes the event payloads"
    );
}
