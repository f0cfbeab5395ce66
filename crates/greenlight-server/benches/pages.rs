//! Server-side render time of the review queue and the disclosure report with 10,000 uses.
//!
//! Renders the askama templates from view structs (what the handlers build from store
//! records), so the figure is the page's own cost, apart from the database. The baseline,
//! measured in the same run, is `serde_json` writing the same rows: the cost of the API's
//! JSON answer for the same data. Target: under 50 ms per page.
//!
//! The end-to-end group also times the store's disclosure report, batched against the
//! one-use-at-a-time read it replaced, on the same database.
//!
//! Knobs: `GREENLIGHT_BENCH_USES` (default 10000).

use askama::Template;
use criterion::{Criterion, criterion_group, criterion_main};
use greenlight_server::pages::views::{
    Layout, Pager, QueuePage, ReportPage, ReportRow, UseRow, outcome_badge, state_badge,
};

const OUTCOMES: [&str; 4] = ["notify", "review", "escalate", "written_approval"];
const STATES: [&str; 4] = ["in_review", "approved", "changes_requested", "acknowledged"];

fn uses() -> usize {
    std::env::var("GREENLIGHT_BENCH_USES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn use_row(i: usize) -> UseRow {
    UseRow {
        href: format!("/declarations/0190f3a2-7c1e-7000-8000-{i:012}"),
        reference: format!("VFX-{i:05}"),
        summary: format!(
            "Extend the harbour set with generated boats in shot {i} <of the storm sequence>"
        ),
        production: "The Lighthouse Keeper".into(),
        organisation: "Harbour Films".into(),
        outcome: outcome_badge(OUTCOMES[i % 4]),
        state: state_badge(STATES[i % 4]),
        revision: (i % 3) as i64 + 1,
        blockers: (i % 2) as i64,
        waiting: format!("{} days", i % 30),
        updated: "2026-11-23 10:15 UTC".into(),
        note: String::new(),
    }
}

fn report_row(i: usize) -> ReportRow {
    ReportRow {
        reference: format!("VFX-{i:05}"),
        summary: format!("Extend the harbour set with generated boats in shot {i}"),
        href: format!("/declarations/0190f3a2-7c1e-7000-8000-{i:012}"),
        organisation: "Harbour Films".into(),
        outcome: outcome_badge(OUTCOMES[i % 4]),
        state: state_badge(STATES[i % 4]),
        decision: "approved 2026-11-20, until 2027-12-31".into(),
        conditions: vec!["Credit the VFX vendor in the end titles".into()],
        consents: if i.is_multiple_of(5) {
            vec![
                "Mara Quinn — re-ageing, by performer, “flashback scenes only”, signed 2026-05-04"
                    .into(),
            ]
        } else {
            Vec::new()
        },
        tools: vec!["Acme Imagine Enterprise (data use: none)".into()],
        ledger_only: String::new(),
    }
}

fn layout() -> Layout {
    Layout {
        title: "Bench".into(),
        csrf: "0".repeat(40),
        ..Layout::default()
    }
}

fn bench(c: &mut Criterion) {
    let n = uses();
    let queue_rows: Vec<UseRow> = (0..n).map(use_row).collect();
    let report_rows: Vec<ReportRow> = (0..n).map(report_row).collect();

    let mut g = c.benchmark_group(format!("pages_{n}_uses"));
    g.sample_size(20);
    // The queue as served: one page of 25 of the n waiting uses.
    g.bench_function("queue_page_of_25", |b| {
        b.iter(|| {
            let page = QueuePage {
                layout: layout(),
                outcomes: Vec::new(),
                productions: Vec::new(),
                ages: Vec::new(),
                rows: queue_rows[..25.min(n)].to_vec(),
                pager: Pager::new("/queue?", 0, 25, n as i64),
            };
            page.render().expect("renders")
        })
    });
    // The queue with every waiting use on one page (the worst case).
    g.bench_function("queue_all_rows", |b| {
        b.iter(|| {
            let page = QueuePage {
                layout: layout(),
                outcomes: Vec::new(),
                productions: Vec::new(),
                ages: Vec::new(),
                rows: queue_rows.clone(),
                pager: Pager::new("/queue?", 0, n as i64, n as i64),
            };
            page.render().expect("renders")
        })
    });
    g.bench_function("report_all_rows", |b| {
        b.iter(|| {
            let page = ReportPage {
                layout: layout(),
                title: "The Lighthouse Keeper".into(),
                kind: "scripted".into(),
                eu_release: true,
                release_date: "2027-03-05".into(),
                agreements: "none".into(),
                packs: "netflix-genai, eu-ai-act-art50".into(),
                generated: "2026-11-23 10:15 UTC".into(),
                csv_href: "/r.csv".into(),
                json_href: "/r.json".into(),
                rows: report_rows.clone(),
                counts: Vec::new(),
                complete: true,
                scope: "Every use declared on The Lighthouse Keeper.".into(),
                empty: "No uses declared on this production.".into(),
                before_release: None,
                production_findings: Vec::new(),
            };
            page.render().expect("renders")
        })
    });
    // Baseline: the same report rows written as JSON.
    g.bench_function("baseline_report_rows_as_json", |b| {
        b.iter(|| {
            let rows: Vec<serde_json::Value> = report_rows
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "ref": r.reference, "summary": r.summary, "href": r.href, "organisation": r.organisation,
                        "outcome": r.outcome.label, "state": r.state.label, "decision": r.decision,
                        "conditions": r.conditions, "consents": r.consents, "tools": r.tools,
                    })
                })
                .collect();
            serde_json::to_string(&rows).expect("serializes")
        })
    });
    g.finish();
}

/// A declaration of one of four shapes (notify, review, escalate, written approval).
fn body(i: usize) -> String {
    let (purpose, extra) = match i % 4 {
        0 => ("ideation", ""),
        1 => (
            "background-element",
            "inputs:\n  - kind: reference-image\n    owner: studio\n",
        ),
        2 => ("ideation", "self_assessment:\n  p1: unsure\n"),
        _ => ("vfx", "outputs:\n  final: true\n  prominence: featured\n"),
    };
    format!(
        "greenlight: declaration/v1\nproduction:\n  title: The Lighthouse Keeper\nuse:\n  ref: BENCH-{i:05}\n  summary: Generated element number {i} for the storm sequence\n  purpose: {purpose}\ntools:\n  - name: Acme Imagine Enterprise\n    vendor: Acme Inc.\n    enterprise_agreement: true\n    data_use: none\n    terms_reviewed: 2026-01-10\n{extra}"
    )
}

/// The same pages end to end: a fresh SQLite database with n uses (seeded through the
/// store, as partners would submit them), a signed-in reviewer, and the real router
/// answering `GET /queue` and `GET /productions/{id}/report` in-process.
fn bench_end_to_end(c: &mut Criterion) {
    use greenlight_server::{AppState, ServerConfig, app, demo};
    use greenlight_store::{SigningKey, Store, StoreConfig};
    use tower::ServiceExt;

    let n = uses();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("a temp dir");
    let (router, cookie, production, store, reviewer) = rt.block_on(async {
        let mut config = StoreConfig::new(format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        ));
        config.signing_key = Some(SigningKey::generate());
        let store = Store::open(config).await.expect("the store opens");
        demo::seed(&store).await.expect("the demo seeds");
        let by_email = |email: &'static str| {
            let store = store.clone();
            async move {
                let user = store
                    .user_by_email(email)
                    .await
                    .expect("answers")
                    .expect("exists");
                (
                    user.id.clone(),
                    store.principal(&user.id).await.expect("a principal"),
                )
            }
        };
        let (_, producer) = by_email("producer@harbourfilms.example").await;
        let (reviewer_id, reviewer) = by_email("reviewer@northlight.example").await;
        let production = store.productions(&producer).await.expect("productions")[0]
            .id
            .clone();
        let mut tasks = tokio::task::JoinSet::new();
        for chunk in 0..32 {
            let (store, producer, production) =
                (store.clone(), producer.clone(), production.clone());
            tasks.spawn(async move {
                for i in (chunk..n).step_by(32) {
                    store
                        .submit(&producer, &production, body(i).as_bytes())
                        .await
                        .expect("submitted");
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        let secret = store
            .create_session(&reviewer_id, std::time::Duration::from_secs(3600))
            .await
            .expect("a session");
        let router = app(AppState::new(store.clone(), ServerConfig::default()));
        (
            router,
            format!("gl_session={secret}"),
            production,
            store,
            reviewer,
        )
    });
    let get = |path: String| {
        let router = router.clone();
        let cookie = cookie.clone();
        async move {
            let req = axum::http::Request::get(path)
                .header("cookie", cookie)
                .body(axum::body::Body::empty())
                .expect("a request");
            let resp = router.oneshot(req).await.expect("an answer");
            assert!(resp.status().is_success(), "status {}", resp.status());
            axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .expect("a body")
                .len()
        }
    };
    let mut g = c.benchmark_group(format!("end_to_end_{n}_uses"));
    g.sample_size(10);
    g.bench_function("get_queue", |b| {
        b.iter(|| rt.block_on(get("/queue".into())))
    });
    g.bench_function("get_report", |b| {
        b.iter(|| rt.block_on(get(format!("/productions/{production}/report"))))
    });
    // Baseline: the API's JSON disclosure of the same production (same store read).
    g.bench_function("baseline_api_disclosure_json", |b| {
        b.iter(|| rt.block_on(get(format!("/api/v1/productions/{production}/disclosure"))))
    });
    // The store's disclosure report alone: batched (what the pages and the API use) against
    // loading each use's record one at a time (how it was read before).
    g.bench_function("store_disclosure_batched", |b| {
        b.iter(|| {
            rt.block_on(store.disclosure(&reviewer, &production))
                .expect("a report")
        })
    });
    g.bench_function("store_disclosure_one_by_one", |b| {
        b.iter(|| {
            rt.block_on(store.disclosure_one_by_one(&reviewer, &production))
                .expect("a report")
        })
    });
    g.finish();
}

criterion_group!(benches, bench, bench_end_to_end);
criterion_main!(benches);
