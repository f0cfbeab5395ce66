//! What a newcomer meets on the pages and the API, in-process: the queue's waiting time, the
//! tool registry's forms and evidence files, the time shown for a revision, a report that says
//! whose uses it shows, format errors that name the value meant, and unknown addresses.

mod studio;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use base64::Engine;
use greenlight_server::pages::session::csrf_token;
use greenlight_store::ProductionFacts;
use serde_json::{Value, json};
use studio::{Res, Studio, lighthouse_keeper};

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
  media: [video]
  depicts_real_people: true
talent:
  - performer: Mara Quinn
    treatment: re-ageing
";

fn eu_release() -> ProductionFacts {
    ProductionFacts {
        eu_release: true,
        ..lighthouse_keeper()
    }
}

/// A signed-in page session for the holder of `token`: (cookie header, CSRF token).
async fn session(t: &Studio, token: &str) -> (String, String) {
    let user = t.user_id(token).await;
    let secret = t
        .state
        .store
        .create_session(&user, std::time::Duration::from_secs(600))
        .await
        .expect("a session");
    (format!("gl_session={secret}"), csrf_token(&secret))
}

async fn page(t: &Studio, cookie: &str, path: &str) -> Res {
    t.call(
        Method::GET,
        path,
        None,
        &[("cookie", cookie)],
        Body::empty(),
    )
    .await
}

/// Posts a multipart form (text fields and files as (name, file name, bytes)).
async fn post_multipart(
    t: &Studio,
    cookie: &str,
    path: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> Res {
    let boundary = "greenlight-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, file, bytes) in files {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let ct = format!("multipart/form-data; boundary={boundary}");
    t.call(
        Method::POST,
        path,
        None,
        &[("cookie", cookie), ("content-type", &ct)],
        body,
    )
    .await
}

fn id_of(r: &Res) -> String {
    r.json()["id"].as_str().expect("an id").to_owned()
}

#[tokio::test]
async fn the_queue_waits_from_the_submission_of_the_current_revision() {
    // Before, the waiting time and the queue's order came from the last change of any kind:
    // marking an obligation done made an older use look newer than one submitted after it.
    let t = Studio::sqlite(eu_release()).await;
    let older = t.submit(&t.partner, DE_AGEING).await;
    older.assert_status(StatusCode::CREATED);
    let older = id_of(&older);
    let newer = t
        .submit(&t.partner, &DE_AGEING.replace("LK-004", "LK-005"))
        .await;
    newer.assert_status(StatusCode::CREATED);
    let newer = id_of(&newer);
    let detail = t
        .get(&format!("/api/v1/declarations/{older}"), &t.partner)
        .await
        .json();
    let obligation = detail["obligations"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an EU release carries obligations: {detail}"))
        .to_owned();
    t.post_json(
        &format!("/api/v1/obligations/{obligation}/done"),
        &t.partner,
        json!({"evidence": "Credit line as delivered"}),
        None,
    )
    .await
    .assert_status(StatusCode::OK);

    let queue = t.get("/api/v1/queue", &t.reviewer).await.json();
    let items = queue["items"].as_array().expect("items");
    let order: Vec<&str> = items.iter().filter_map(|d| d["id"].as_str()).collect();
    assert_eq!(
        order,
        [older.as_str(), newer.as_str()],
        "oldest submission first"
    );
    let first = &items[0];
    assert!(
        first["updated_at"].as_str() > first["revision_at"].as_str(),
        "the obligation changed the use after its submission: {first}"
    );
    assert!(items[0]["revision_at"].as_str() <= items[1]["revision_at"].as_str());

    let (cookie, _) = session(&t, &t.reviewer).await;
    let html = page(&t, &cookie, "/queue").await.text();
    let (a, b) = (
        html.find(&format!("/declarations/{older}")),
        html.find(&format!("/declarations/{newer}")),
    );
    assert!(
        a.is_some() && a < b,
        "the queue page lists the older use first"
    );
}

#[tokio::test]
async fn legal_changes_a_tools_terms_on_the_pages_and_downloads_its_evidence() {
    let t = Studio::sqlite(lighthouse_keeper()).await;
    let evidence = b"Acme enterprise terms, reviewed 2026-01-15.\n";
    let tool = t
        .post_json(
            "/api/v1/tools",
            &t.legal,
            json!({
                "name": "Acme Imagine Enterprise",
                "vendor": "Acme Inc.",
                "data_terms": "none",
                "evidence": {
                    "name": "../../etc/acme\r\nterms.pdf",
                    "content_base64": base64::engine::general_purpose::STANDARD.encode(evidence),
                },
            }),
            None,
        )
        .await;
    tool.assert_status(StatusCode::CREATED);
    let tool = id_of(&tool);
    let decl = id_of(&t.submit(&t.partner, DE_AGEING).await);

    let (cookie, csrf) = session(&t, &t.legal).await;
    let list = page(&t, &cookie, "/legal/tools").await;
    list.assert_status(StatusCode::OK);
    let html = list.text();
    assert!(
        html.contains(&format!("href=\"/legal/tools/{tool}/evidence\"")),
        "the evidence file is a link"
    );
    assert!(
        html.contains(&format!("href=\"/legal/tools/{tool}\"")),
        "a change link"
    );

    let download = page(&t, &cookie, &format!("/legal/tools/{tool}/evidence")).await;
    download.assert_status(StatusCode::OK);
    assert_eq!(download.body, evidence);
    let disposition = download
        .headers
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        disposition,
        "attachment; filename=\"acmeterms.pdf\"; filename*=UTF-8''acmeterms.pdf"
    );

    let form = page(&t, &cookie, &format!("/legal/tools/{tool}")).await;
    form.assert_status(StatusCode::OK);
    assert!(form.text().contains("value=\"Acme Imagine Enterprise\""));
    let saved = post_multipart(
        &t,
        &cookie,
        &format!("/legal/tools/{tool}"),
        &[
            ("csrf", &csrf),
            ("name", "Acme Imagine Enterprise"),
            ("vendor", "Acme Inc."),
            ("data_terms", "trains"),
            ("terms_reviewed", "2026-02-01"),
        ],
        &[],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let now = t
        .get(&format!("/api/v1/tools/{tool}"), &t.legal)
        .await
        .json();
    assert_eq!(now["data_terms"], "trains");
    assert_eq!(now["terms_reviewed"], "2026-02-01");
    assert_eq!(now["evidence_name"], "../../etc/acme\r\nterms.pdf", "kept");
    let d = t
        .get(&format!("/api/v1/declarations/{decl}"), &t.reviewer)
        .await
        .json();
    let reason = d["current"]["triages"]
        .as_array()
        .and_then(|a| a.last())
        .map(|x| x["reason"].clone())
        .unwrap_or(Value::Null);
    assert!(
        reason.as_str().is_some_and(|r| r.contains("terms changed")),
        "the use was triaged again: {reason}"
    );

    // Only legal changes terms.
    let (partner_cookie, partner_csrf) = session(&t, &t.partner).await;
    assert_eq!(
        page(&t, &partner_cookie, &format!("/legal/tools/{tool}"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let refused = post_multipart(
        &t,
        &partner_cookie,
        &format!("/legal/tools/{tool}"),
        &[
            ("csrf", &partner_csrf),
            ("name", "X"),
            ("data_terms", "none"),
        ],
        &[],
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_declaration_page_shows_when_the_current_revision_was_submitted() {
    // Before, revision 2 was shown with the time revision 1 was submitted.
    let dir = tempfile::tempdir().expect("a temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let t = Studio::open(&url, dir, lighthouse_keeper()).await;
    let first = t.submit(&t.partner, DE_AGEING).await;
    let id = id_of(&first);
    let etag = first.etag();
    let uri = format!("/api/v1/declarations/{id}/revisions");
    let second = t
        .call(
            Method::POST,
            &uri,
            Some(&t.partner),
            &[("content-type", "application/yaml"), ("if-match", &etag)],
            DE_AGEING.replace("for the flashback", "for the 1970s flashback"),
        )
        .await;
    second.assert_status(StatusCode::OK);
    // Move revision 1 (and the declaration's creation) back in time, in the real file.
    let pool = sqlx::SqlitePool::connect(&url).await.expect("the database");
    for sql in [
        "UPDATE revisions SET created_at = '2026-01-02T03:04:05.000000Z' WHERE declaration_id = ? AND number = 1",
        "UPDATE declarations SET created_at = '2026-01-02T03:04:05.000000Z' WHERE id = ?",
    ] {
        sqlx::query(sql)
            .bind(&id)
            .execute(&pool)
            .await
            .expect("updated");
    }
    pool.close().await;
    let revision_2 = t
        .get(&format!("/api/v1/declarations/{id}"), &t.partner)
        .await
        .json()["current"]["at"]
        .as_str()
        .expect("the revision's time")
        .to_owned();
    let shown = format!("on {} {} UTC", &revision_2[..10], &revision_2[11..16]);
    let (cookie, _) = session(&t, &t.partner).await;
    let html = page(&t, &cookie, &format!("/declarations/{id}"))
        .await
        .text();
    assert!(html.contains("revision 2"), "{html}");
    assert!(
        html.contains(&format!("{shown} (first declared 2026-01-02 03:04 UTC)")),
        "expected {shown:?} for revision 2 in {html}"
    );
}

#[tokio::test]
async fn a_companys_report_says_whose_uses_it_shows_and_names_organisations() {
    let t = Studio::sqlite(lighthouse_keeper()).await;
    t.submit(&t.partner, DE_AGEING)
        .await
        .assert_status(StatusCode::CREATED);
    let uri = format!("/api/v1/productions/{}/disclosure", t.production);
    let company = t.get(&uri, &t.partner).await.json();
    assert_eq!(company["scope"]["complete"], false, "{company}");
    assert_eq!(
        company["scope"]["statement"],
        "Harbour Films's uses on The Lighthouse Keeper; other organisations' uses are not shown."
    );
    let studio = t.get(&uri, &t.reviewer).await.json();
    assert_eq!(studio["scope"]["complete"], true);
    assert_eq!(studio["uses"][0]["organisation_name"], "Harbour Films");

    let (cookie, _) = session(&t, &t.partner).await;
    let csv = page(
        &t,
        &cookie,
        &format!("/productions/{}/report.csv", t.production),
    )
    .await
    .text();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "\"Harbour Films's uses on The Lighthouse Keeper; other organisations' uses are not shown.\""
        )
    );
    assert!(
        lines
            .next()
            .is_some_and(|h| h.starts_with("ref,summary,organisation"))
    );
    let row = lines.next().unwrap_or_default();
    assert!(
        row.starts_with("\"LK-004\",\"De-age the lead for the flashback\",\"Harbour Films\""),
        "the organisation by name: {row}"
    );
    let (cookie, _) = session(&t, &t.reviewer).await;
    let csv = page(
        &t,
        &cookie,
        &format!("/productions/{}/report.csv", t.production),
    )
    .await
    .text();
    assert!(
        csv.starts_with("ref,summary,organisation"),
        "complete: no scope line"
    );
}

#[tokio::test]
async fn a_mistyped_value_is_answered_with_the_value_meant_and_a_taken_reference_names_its_field() {
    let t = Studio::sqlite(lighthouse_keeper()).await;
    let r = t
        .submit(
            &t.partner,
            &DE_AGEING.replace("treatment: re-ageing", "treatment: de-ageing"),
        )
        .await;
    r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let p = r.json();
    assert!(
        p["errors"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.ends_with(r#"(did you mean "re-ageing"?)"#)),
        "{p}"
    );
    t.submit(&t.partner, DE_AGEING)
        .await
        .assert_status(StatusCode::CREATED);
    let r = t.submit(&t.partner, DE_AGEING).await;
    r.assert_status(StatusCode::CONFLICT);
    assert_eq!(r.json()["errors"][0]["pointer"], "/use/ref");
    // The preview warns before the submission is refused.
    let preview = t
        .call(
            Method::POST,
            &format!("/api/v1/productions/{}/triage", t.production),
            Some(&t.partner),
            &[("content-type", "application/yaml")],
            DE_AGEING.to_owned(),
        )
        .await
        .json();
    assert_eq!(preview["warnings"][0]["path"], "use.ref", "{preview}");
    let fresh = t
        .call(
            Method::POST,
            &format!("/api/v1/productions/{}/triage", t.production),
            Some(&t.partner),
            &[("content-type", "application/yaml")],
            DE_AGEING.replace("LK-004", "LK-099"),
        )
        .await
        .json();
    assert!(fresh.get("warnings").is_none(), "{fresh}");
}

#[tokio::test]
async fn unknown_addresses_get_the_applications_own_not_found() {
    // Before, an unknown address answered an empty 404 and the browser showed its own page.
    let t = Studio::sqlite(lighthouse_keeper()).await;
    let r = t
        .call(Method::GET, "/no/such/page", None, &[], Body::empty())
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.content_type().starts_with("text/html"));
    assert!(r.text().contains("Page not found"), "{}", r.text());
    let r = t.get("/api/v1/no-such-thing", &t.partner).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.content_type(), "application/problem+json");
    assert_eq!(r.json()["status"], 404);
}

/// The text a person reads on a page: the HTML without its tags and attributes.
fn visible_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// Whether `text` holds a UUID (8-4-4-4-12 hexadecimal digits), whole or clipped to its tail.
fn has_uuid(text: &str) -> bool {
    let b = text.as_bytes();
    let hex = |c: u8| c.is_ascii_hexdigit();
    let full = b.windows(36).any(|w| {
        w.iter().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                *c == b'-'
            } else {
                hex(*c)
            }
        })
    });
    full || text.contains('…')
}

#[tokio::test]
async fn pages_speak_in_words_not_json_ids_or_counts_in_brackets() {
    // Before: "Declared vs on record" showed raw JSON (`"none"`, `null`, objects) and consent
    // ids, history lines named consents and obligations by UUID, audit lines showed clipped
    // ids and "32 entries after #0", a count read "0 blocker(s)", and a principle answered
    // "Met" sat above an escalating finding with no word of why.
    let t = Studio::sqlite(eu_release()).await;
    let consent = t
        .post_json(
            "/api/v1/consents",
            &t.legal,
            json!({
                "performer": "Mara Quinn", "by": "performer", "treatment": "re-ageing",
                "scope": "Flashback scenes only", "signed": "2026-05-04",
                "document": {"name": "consent.txt", "content_base64": base64::engine::general_purpose::STANDARD.encode(b"signed")},
            }),
            None,
        )
        .await;
    consent.assert_status(StatusCode::CREATED);
    let consent = id_of(&consent);
    let text = DE_AGEING.replace(
        "outputs:",
        "inputs:\n  - kind: footage\n    owner: studio\noutputs:",
    );
    let decl = id_of(&t.submit(&t.partner, &text).await);
    t.post_json(
        &format!("/api/v1/declarations/{decl}/consents"),
        &t.legal,
        json!({"performer": "Mara Quinn", "consent_id": consent}),
        None,
    )
    .await
    .assert_status(StatusCode::OK);
    let detail = t
        .get(&format!("/api/v1/declarations/{decl}"), &t.partner)
        .await
        .json();
    let obligation = detail["obligations"][0]["id"]
        .as_str()
        .expect("an obligation")
        .to_owned();
    t.post_json(
        &format!("/api/v1/obligations/{obligation}/done"),
        &t.partner,
        json!({"evidence": "Label placed"}),
        None,
    )
    .await
    .assert_status(StatusCode::OK);

    let (cookie, _) = session(&t, &t.reviewer).await;
    let html = page(&t, &cookie, &format!("/declarations/{decl}"))
        .await
        .text();
    let words = visible_text(&html);
    assert!(!has_uuid(&words), "no ids on the declaration page: {words}");
    assert!(!words.contains("(s)"), "{words}");
    let section = words
        .split("Declared vs on record")
        .nth(1)
        .and_then(|s| s.split("The declaration as submitted").next())
        .expect("the section");
    assert!(
        section.contains("Production: released in the EU"),
        "{section}"
    );
    assert!(
        section.contains(" no ") && section.contains(" yes "),
        "{section}"
    );
    assert!(
        !section.contains("null") && !section.contains('{') && !section.contains('"'),
        "{section}"
    );
    assert!(
        words.contains("Mara Quinn's consent (re-ageing, signed 2026-05-04) linked to Mara Quinn"),
        "{words}"
    );
    assert!(
        words
            .contains("P3 is met. The finding below is filed under it but applies on its own rule"),
        "{words}"
    );

    let (cookie, _) = session(&t, &t.auditor).await;
    let html = page(&t, &cookie, "/audit").await.text();
    let words = visible_text(&html);
    assert!(!has_uuid(&words), "no ids on the audit page: {words}");
    assert!(
        html.contains(&format!("href=\"/declarations/{decl}\"")),
        "records are linked"
    );
    assert!(
        words.contains("use LK-004 on The Lighthouse Keeper"),
        "{words}"
    );
    assert!(words.contains("Entries #1 to #"), "{words}");
    assert!(!words.contains("after #0"), "{words}");
}

/// The consent registry's row for `performer`: the HTML from its name to the end of its row.
fn consent_row(html: &str, performer: &str) -> String {
    let start = html
        .find(&format!("<strong>{performer}</strong>"))
        .unwrap_or_else(|| panic!("a row for {performer}"));
    let rest = &html[start..];
    rest[..rest.find("</tr>").unwrap_or(rest.len())].to_owned()
}

#[tokio::test]
async fn the_consent_page_says_whether_each_consent_counts_for_the_union_pack() {
    let t = Studio::sqlite(lighthouse_keeper()).await;
    let (cookie, csrf) = session(&t, &t.legal).await;
    // Recorded on the page, once with the separate-signature box ticked and once without.
    for (performer, ticked) in [("Ada Vale", true), ("Ben Roe", false)] {
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("performer", performer),
            ("by", "performer"),
            ("treatment", "replica"),
            ("production", ""),
            ("scope", "Digital replica in the storm sequence only"),
            ("signed", "2026-05-04"),
            ("expires", ""),
        ];
        if ticked {
            fields.push(("separately_signed", "true"));
        }
        let r = post_multipart(
            &t,
            &cookie,
            "/legal/consents",
            &fields,
            &[("document", "consent.txt", b"signed")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    }
    let html = page(&t, &cookie, "/legal/consents").await.text();
    let ada = consent_row(&html, "Ada Vale");
    assert!(
        ada.contains("signed separately") && ada.contains(">Valid<"),
        "{ada}"
    );
    let ben = consent_row(&html, "Ben Roe");
    assert!(
        ben.contains("Not valid") && ben.contains("not signed separately from other terms"),
        "{ben}"
    );
    // Legal records Ben Roe's separate signature later, from the row's own form.
    let marker = "action=\"/legal/consents/";
    let at = ben.find(marker).expect("a form on the row") + marker.len();
    let ben_id = ben[at..].split('/').next().expect("an id").to_owned();
    let r = t
        .call(
            Method::POST,
            &format!("/legal/consents/{ben_id}/separately-signed"),
            None,
            &[
                ("cookie", cookie.as_str()),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            format!("csrf={csrf}&separately_signed=true"),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let html = page(&t, &cookie, "/legal/consents").await.text();
    let ben = consent_row(&html, "Ben Roe");
    assert!(ben.contains(">Valid<"), "{ben}");

    // Linked to a use whose talent entry is deceased, a performer's own consent does not count.
    let deceased = DE_AGEING
        .replace("ref: LK-004", "ref: LK-040")
        .replace("performer: Mara Quinn", "performer: Ada Vale")
        .replace(
            "treatment: re-ageing",
            "treatment: replica\n    deceased: true",
        );
    let r = t.submit(&t.partner, &deceased).await;
    r.assert_status(StatusCode::CREATED);
    let decl = id_of(&r);
    let consents = t.get("/api/v1/consents", &t.legal).await.json();
    let ada_id = consents["items"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["performer"] == "Ada Vale"))
        .and_then(|c| c["id"].as_str())
        .expect("Ada Vale's consent")
        .to_owned();
    assert_eq!(
        consents["items"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["performer"] == "Ada Vale"))
            .map(|c| c["separately_signed"].clone()),
        Some(Value::Bool(true)),
        "the page's box reaches the record"
    );
    t.post_json(
        &format!("/api/v1/declarations/{decl}/consents"),
        &t.legal,
        json!({"performer": "Ada Vale", "consent_id": ada_id}),
        None,
    )
    .await
    .assert_status(StatusCode::OK);
    let html = page(&t, &cookie, "/legal/consents").await.text();
    let ada = consent_row(&html, "Ada Vale");
    assert!(
        ada.contains("Not valid")
            && ada.contains("only the estate or the union can consent (deceased in LK-040)"),
        "{ada}"
    );
}
