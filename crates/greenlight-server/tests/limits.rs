//! Requests that used to be accepted and should not have been: approvals of a revision the
//! reviewer never saw, unbounded free text, errors that were not problem+json, and approvals
//! that skipped a step. Each test says what went wrong before.

mod studio;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;
use studio::{Studio, lighthouse_keeper};

/// Lands in review (a generated element in the final cut) with no blocker to clear.
const WITH_INPUT: &str = "greenlight: declaration/v1
production:
  title: The Lighthouse Keeper
use:
  ref: LK-011
  summary: Storm clouds from our own plates for the final cut
  purpose: ideation
tools:
  - name: Acme Imagine Enterprise
    enterprise_agreement: true
    data_use: none
outputs:
  final: true
  prominence: incidental
";

async fn submitted(t: &Studio, text: &str) -> (String, String) {
    let r = t.submit(&t.partner, text).await;
    r.assert_status(StatusCode::CREATED);
    (r.json()["id"].as_str().expect("id").to_owned(), r.etag())
}

/// Before, `If-Match: *` approved whatever revision was current.
#[tokio::test]
async fn a_star_if_match_is_refused_on_every_decision() {
    let t = Studio::sqlite(lighthouse_keeper()).await;
    let (id, etag) = submitted(&t, WITH_INPUT).await;
    let decision = format!("/api/v1/declarations/{id}/decision");
    for body in [
        json!({"action": "approve"}),
        json!({"action": "reject", "reason": "no"}),
        json!({"action": "request_changes", "reason": "why"}),
    ] {
        let r = t.post_json(&decision, &t.reviewer, body, Some("*")).await;
        assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED, "{}", r.text());
        assert_eq!(
            r.json()["etag"],
            etag.as_str(),
            "the problem names the ETag to send"
        );
    }
    let r = t
        .post_json(
            &format!("/api/v1/declarations/{id}/withdraw"),
            &t.partner,
            json!({}),
            Some("*"),
        )
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED);
    let r = t
        .call(
            Method::POST,
            &format!("/api/v1/declarations/{id}/revisions"),
            Some(&t.partner),
            &[("content-type", "application/yaml"), ("if-match", "*")],
            WITH_INPUT.to_owned(),
        )
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED, "{}", r.text());
}

/// Before, a 20 MiB organisation name and 8 MiB of evidence were accepted.
#[tokio::test]
async fn free_text_and_bodies_have_limits_that_name_the_field() {
    let t = Studio::sqlite(lighthouse_keeper()).await;
    // Over the body limit of ordinary routes: 413.
    let huge = "x".repeat(2 * 1024 * 1024);
    let r = t
        .post_json(
            "/api/v1/orgs",
            &t.admin,
            json!({"name": huge, "kind": "vendor"}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert_eq!(r.content_type(), "application/problem+json");
    // Within the body, over the field's limit: 422 naming the field.
    let r = t
        .post_json(
            "/api/v1/orgs",
            &t.admin,
            json!({"name": "x".repeat(201), "kind": "vendor"}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["errors"][0]["path"], "name");
    let r = t
        .post_json(
            "/api/v1/orgs",
            &t.admin,
            json!({"name": "x".repeat(200), "kind": "vendor"}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "200 characters are fine");

    // A document route takes a large body (the document is base64).
    let doc = base64_of(&vec![b'%'; 3 * 1024 * 1024]);
    let consent = json!({"performer": "Mara Quinn", "treatment": "re-ageing", "scope": "flashback",
        "signed": "2026-05-04", "document": {"name": "consent.pdf", "content_base64": doc}});
    let r = t
        .post_json("/api/v1/consents", &t.legal, consent, None)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let consent = json!({"performer": "Mara Quinn", "treatment": "re-ageing", "scope": "y".repeat(2001),
        "signed": "2026-05-04", "document": {"name": "consent.pdf", "content_base64": "JVBERi0xLjQK"}});
    let r = t
        .post_json("/api/v1/consents", &t.legal, consent, None)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["path"], "scope");

    // Decisions: reasons and conditions.
    let (id, etag) = submitted(&t, WITH_INPUT).await;
    let uri = format!("/api/v1/declarations/{id}/decision");
    let r = t
        .post_json(
            &uri,
            &t.reviewer,
            json!({"action": "reject", "reason": "r".repeat(20_001)}),
            Some(&etag),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["errors"][0]["path"], "reason");
    let r = t
        .post_json(
            &uri,
            &t.reviewer,
            json!({"action": "approve", "conditions": ["fine", "c".repeat(20_001)]}),
            Some(&etag),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["errors"][0]["path"], "conditions[1]");
}

/// Before, `?limit=abc` answered text/plain.
#[tokio::test]
async fn bad_query_parameters_answer_problem_json_naming_the_parameter() {
    let t = Studio::sqlite(lighthouse_keeper()).await;
    for uri in [
        "/api/v1/declarations?limit=abc",
        "/api/v1/queue?offset=x",
        "/api/v1/audit?limit=-",
    ] {
        let token = if uri.contains("audit") {
            &t.auditor
        } else {
            &t.reviewer
        };
        let r = t.get(uri, token).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}: {}", r.text());
        assert_eq!(r.content_type(), "application/problem+json", "{uri}");
        let path = r.json()["errors"][0]["path"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            uri.contains(&format!("{path}=")) && !path.is_empty(),
            "{uri}: {}",
            r.text()
        );
    }
}

/// Before, an approval could carry an expiry already past, and a declaration whose changes
/// were requested could be approved without the partner's new revision.
#[tokio::test]
async fn approvals_need_a_future_expiry_and_the_requested_revision() {
    let t = Studio::sqlite(lighthouse_keeper()).await;
    let (id, etag) = submitted(&t, WITH_INPUT).await;
    let uri = format!("/api/v1/declarations/{id}/decision");
    let r = t
        .post_json(
            &uri,
            &t.reviewer,
            json!({"action": "approve", "expires": "2020-01-01"}),
            Some(&etag),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["errors"][0]["path"], "expires");
    let r = t
        .post_json(
            &uri,
            &t.reviewer,
            json!({"action": "request_changes", "reason": "say which plates"}),
            Some(&etag),
        )
        .await;
    r.assert_status(StatusCode::OK);
    let etag = r.etag();
    let r = t
        .post_json(&uri, &t.reviewer, json!({"action": "approve"}), Some(&etag))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    // The partner's new revision goes back to review, and that one can be approved.
    let r = t
        .call(
            Method::POST,
            &format!("/api/v1/declarations/{id}/revisions"),
            Some(&t.partner),
            &[("content-type", "application/yaml"), ("if-match", &etag)],
            WITH_INPUT.replace("our own plates", "our own plates (shots 12-14)"),
        )
        .await;
    r.assert_status(StatusCode::OK);
    let etag = r.etag();
    let r = t
        .post_json(&uri, &t.reviewer, json!({"action": "approve"}), Some(&etag))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

/// Before, the consent-document page answered 500 for a name with control characters and
/// passed `../` through in `Content-Disposition` (the API route sanitised both its own way).
#[tokio::test]
async fn documents_download_under_a_safe_name_from_the_api_and_the_pages() {
    let t = Studio::sqlite(lighthouse_keeper()).await;
    let consent = json!({"performer": "Mara Quinn", "treatment": "re-ageing", "scope": "flashback",
        "signed": "2026-05-04", "document": {"name": "../../evil\u{1}\u{7}name.pdf", "content_base64": "JVBERi0xLjQK"}});
    let r = t
        .post_json("/api/v1/consents", &t.legal, consent, None)
        .await;
    r.assert_status(StatusCode::CREATED);
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let api = t
        .get(&format!("/api/v1/consents/{id}/document"), &t.legal)
        .await;
    let page = t
        .call(
            Method::GET,
            &format!("/legal/consents/{id}/document"),
            None,
            &[("cookie", &format!("gl_session={}", t.legal))],
            Body::empty(),
        )
        .await;
    for r in [&api, &page] {
        r.assert_status(StatusCode::OK);
        let d = r.headers["content-disposition"].to_str().expect("ascii");
        assert!(!d.contains(".."), "{d}");
        assert!(d.contains("filename=\"evilname.pdf\""), "{d}");
        assert_eq!(r.body, b"%PDF-1.4\n");
    }
    assert_eq!(
        api.headers["content-disposition"],
        page.headers["content-disposition"]
    );
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
