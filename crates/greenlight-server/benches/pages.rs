//! Server-side render time of the review queue and the disclosure report with 10,000 uses.
//!
//! Renders the askama templates from view structs (what the handlers build from store
//! records), so the figure is the page's own cost, apart from the database. The baseline,
//! measured in the same run, is `serde_json` writing the same rows: the cost of the API's
//! JSON answer for the same data. Target: under 50 ms per page.
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
        consents: if i % 5 == 0 {
            vec![
                "Mara Quinn — re-ageing, by performer, “flashback scenes only”, signed 2026-05-04"
                    .into(),
            ]
        } else {
            Vec::new()
        },
        tools: vec!["Acme Imagine Enterprise (data use: none)".into()],
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
                packs: "netflix-genai, eu-ai-act-art50".into(),
                generated: "2026-11-23 10:15 UTC".into(),
                csv_href: "/r.csv".into(),
                json_href: "/r.json".into(),
                rows: report_rows.clone(),
                counts: Vec::new(),
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

criterion_group!(benches, bench);
criterion_main!(benches);
