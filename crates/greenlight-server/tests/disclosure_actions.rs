//! "Before release" in-process: the drafted actions of a production as JSON and CSV, refused
//! to a foreign studio, and the report page's form that marks an item's obligations done
//! with the edited text as evidence.

mod studio;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use greenlight_store::ProductionFacts;
use studio::{Studio, lighthouse_keeper};

const DE_AGEING: &str = "greenlight: declaration/v1
production:
  title: The Lighthouse Keeper
use:
  ref: LK-004
  summary: De-ageing of the lead in the 1990s flashback
  purpose: talent
tools:
  - name: Acme Imagine Enterprise
    enterprise_agreement: true
    data_use: none
outputs:
  final: true
  prominence: featured
  media: [video]
talent:
  - performer: Mara Quinn
    treatment: re-ageing
";

/// The studio of these tests, on a fresh SQLite file: its production is released in the EU on
/// 5 March 2027, so the EU pack drafts a credit line and a marking to keep.
async fn northlight() -> Studio {
    Studio::sqlite(ProductionFacts {
        eu_release: true,
        release_date: chrono::NaiveDate::from_ymd_opt(2027, 3, 5),
        ..lighthouse_keeper()
    })
    .await
}

/// Submits `DE_AGEING` as the partner.
async fn submit(t: &Studio) {
    t.submit(&t.partner, DE_AGEING)
        .await
        .assert_status(StatusCode::CREATED);
}

fn actions_uri(t: &Studio) -> String {
    format!("/api/v1/productions/{}/disclosure/actions", t.production)
}

#[tokio::test]
async fn actions_as_json_and_csv_and_refused_to_a_foreign_studio() {
    let t = northlight().await;
    submit(&t).await;

    let r = t.get(&actions_uri(&t), &t.partner).await;
    r.assert_status(StatusCode::OK);
    let list = r.json();
    assert_eq!(list["title"], "The Lighthouse Keeper");
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(items[0]["kind"], "credit");
    assert_eq!(
        items[0]["text"],
        "This programme contains content generated or altered with artificial intelligence: \
         de-ageing of the lead in the 1990s flashback."
    );
    assert_eq!(items[0]["due"], "2027-03-05");
    assert_eq!(items[0]["covers"][0]["rule"], "EU-50-4-DEEPFAKE-ARTISTIC");
    assert_eq!(items[0]["covers"][0]["use"], "LK-004");
    assert_eq!(items[0]["done"], false);
    assert_eq!(items[1]["kind"], "keep-marking");
    assert_eq!(items[1]["media"][0], "video");
    assert_eq!(list["open"], 2);

    let by_accept = [("accept", "text/csv")];
    for (uri, headers) in [
        (format!("{}?format=csv", actions_uri(&t)), &[][..]),
        (actions_uri(&t), &by_accept[..]),
    ] {
        let r = t
            .call(Method::GET, &uri, Some(&t.partner), headers, Body::empty())
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.content_type().starts_with("text/csv"),
            "{}",
            r.content_type()
        );
        let csv = r.text();
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("kind,text,uses,media,due,done,covers,evidence,who")
        );
        assert!(
            lines
                .next()
                .expect("credit")
                .starts_with("\"credit\",\"This programme")
        );
        assert!(
            lines
                .next()
                .expect("marking")
                .starts_with("\"keep-marking\"")
        );
    }
    let r = t
        .get(&format!("{}?format=xml", actions_uri(&t)), &t.partner)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // A foreign studio, every role, sees nothing.
    let rival = t.rival().await;
    for token in rival.tokens() {
        for uri in [actions_uri(&t), format!("{}?format=csv", actions_uri(&t))] {
            let r = t.get(&uri, token).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}: {}", r.text());
            assert!(!r.text().contains("LK-004"));
        }
    }
    let doc = t
        .call(Method::GET, "/api/openapi.json", None, &[], Body::empty())
        .await
        .json();
    assert!(doc["paths"]["/api/v1/productions/{id}/disclosure/actions"]["get"].is_object());
    let r = t
        .call(Method::GET, &actions_uri(&t), None, &[], Body::empty())
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// The value of the first `name="…" value="…"` input after `from` in a page.
fn input_value(html: &str, name: &str, from: usize) -> Option<(String, usize)> {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html[from..].find(&needle)? + from + needle.len();
    let end = html[start..].find('"')? + start;
    Some((html[start..end].to_owned(), end))
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn the_report_marks_the_edited_credit_line_done() {
    let t = northlight().await;
    submit(&t).await;
    let reviewer = t.user_id(&t.reviewer).await;
    let secret = t
        .state
        .store
        .create_session(&reviewer, std::time::Duration::from_secs(3600))
        .await
        .expect("session");
    let cookie = format!("gl_session={secret}");
    let signed_in = [("cookie", cookie.as_str())];
    let report = format!("/productions/{}/report", t.production);

    let r = t
        .call(Method::GET, &report, None, &signed_in, Body::empty())
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("Before release"));
    assert!(html.contains("de-ageing of the lead in the 1990s flashback."));
    let form_at = html
        .find("/report/actions")
        .expect("an open item has a form");
    let (csrf, _) = input_value(&html, "csrf", form_at).expect("csrf");
    let (obligation, _) = input_value(&html, "obligation", form_at).expect("obligation");

    let actions = format!("{report}/actions");
    let form = [
        ("cookie", cookie.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    let post = |body: String| t.call(Method::POST, &actions, None, &form, body);
    let edited = "Contains scenes altered with AI: the lead de-aged in the 1990s flashback.";

    // Without the CSRF token nothing changes.
    let r = post(form_encode(&[
        ("obligation", &obligation),
        ("evidence", edited),
    ]))
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let list = t.get(&actions_uri(&t), &t.partner).await.json();
    assert_eq!(list["items"][0]["done"], false);

    let r = post(form_encode(&[
        ("csrf", &csrf),
        ("obligation", &obligation),
        ("evidence", edited),
    ]))
    .await;
    r.assert_status(StatusCode::SEE_OTHER);

    let list = t.get(&actions_uri(&t), &t.partner).await.json();
    assert_eq!(list["items"][0]["kind"], "credit");
    assert_eq!(list["items"][0]["done"], true);
    assert_eq!(list["items"][0]["covers"][0]["evidence"], edited);
    assert_eq!(list["items"][1]["done"], false);
    assert_eq!(list["open"], 1);

    // Posting it again: the obligation is no longer open.
    let r = post(form_encode(&[
        ("csrf", &csrf),
        ("obligation", &obligation),
        ("evidence", edited),
    ]))
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    let html = t
        .call(Method::GET, &report, None, &signed_in, Body::empty())
        .await
        .text();
    assert!(html.contains("the lead de-aged in the 1990s flashback."));
}
