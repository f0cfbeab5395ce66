//! The traces a registered tool leaves: recorded by legal, audited, and a use of a tool that
//! leaves none is flagged in the disclosure report (its provenance depends on the ledger
//! alone). Run on SQLite always and on a fresh PostgreSQL database when configured.

use greenlight_store::input::{NewProduction, NewTool};
use greenlight_store::*;

mod backends;
use backends::{Db, member, with_each_backend};

const USE: &str = "greenlight: declaration/v1
production:
  title: The Lighthouse Keeper
use:
  ref: LK-031
  summary: Sky replacement plates for the storm sequence
  stage: post-production
  purpose: vfx
tools:
  - name: Quiet Render
    enterprise_agreement: true
    data_use: none
outputs:
  final: false
";

fn tool(name: &str, traces: Vec<ToolTrace>) -> NewTool {
    NewTool {
        name: name.into(),
        vendor: None,
        plan: Some("Enterprise".into()),
        agreement: Some("MSA-7".into()),
        data_terms: DataTerms::None,
        terms_reviewed: chrono::NaiveDate::from_ymd_opt(2026, 10, 1),
        evidence: None,
        traces,
    }
}

async fn story(db: Db) {
    let store = db.store().await;
    let b = store
        .bootstrap_admin("Northlight Studios", "admin@northlight.example", "Admin")
        .await
        .expect("bootstrap");
    let admin = store
        .principal_by_secret(&b.token)
        .await
        .expect("lookup")
        .expect("token");
    let legal = &member(
        &store,
        &admin,
        &b.org.id,
        "legal@northlight.example",
        &[Role::Legal],
    )
    .await;
    let partner = &member(
        &store,
        &admin,
        &b.org.id,
        "producer@northlight.example",
        &[Role::Partner],
    )
    .await;
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
        .expect("production");

    // "none" is exclusive, and a trace is listed once: the error names the entry.
    let err = store
        .register_tool(
            legal,
            None,
            tool("Quiet Render", vec![ToolTrace::C2pa, ToolTrace::None]),
        )
        .await
        .expect_err("none with a trace is refused");
    assert!(err.to_string().contains("traces[1]"), "{err}");
    let err = store
        .register_tool(
            legal,
            None,
            tool("Quiet Render", vec![ToolTrace::Iptc, ToolTrace::Iptc]),
        )
        .await
        .expect_err("a trace listed twice is refused");
    assert!(err.to_string().contains("traces[1]"), "{err}");

    let t = store
        .register_tool(legal, None, tool("Quiet Render", vec![ToolTrace::None]))
        .await
        .expect("register");
    assert_eq!(t.traces, vec![ToolTrace::None]);
    assert!(t.leaves_no_trace());
    let d = store
        .submit(partner, &production.id, USE.as_bytes())
        .await
        .expect("submit");

    let report = store
        .disclosure(&admin, &production.id)
        .await
        .expect("report");
    let row = report
        .uses
        .iter()
        .find(|u| u.declaration_id == d.id)
        .expect("the use is reported");
    let flag = row
        .ledger_only
        .as_ref()
        .expect("a tool that leaves no trace flags the use");
    assert_eq!(flag.tools, vec!["Quiet Render".to_string()]);
    assert!(
        flag.statement()
            .starts_with("provenance depends on the ledger alone"),
        "{}",
        flag.statement()
    );
    assert!(
        report
            .to_csv()
            .contains("provenance depends on the ledger alone")
    );
    // The one-by-one reference report agrees.
    let slow = store
        .disclosure_one_by_one(&admin, &production.id)
        .await
        .expect("report");
    assert_eq!(
        slow.uses[0].ledger_only.as_ref().map(|l| l.tools.clone()),
        Some(vec!["Quiet Render".to_string()])
    );

    // Once legal records that the tool writes C2PA credentials, the flag goes.
    let changed = store
        .update_tool(legal, &t.id, tool("Quiet Render", vec![ToolTrace::C2pa]))
        .await
        .expect("update");
    assert_eq!(changed.traces, vec![ToolTrace::C2pa]);
    let report = store
        .disclosure(&admin, &production.id)
        .await
        .expect("report");
    assert!(report.uses.iter().all(|u| u.ledger_only.is_none()));
    // The change is audited, and the chain still verifies.
    let verified = store.verify_audit(&admin).await.expect("verify");
    assert!(verified.valid, "{verified:?}");
    db.drop().await;
}

#[tokio::test]
async fn a_use_of_a_tool_that_leaves_no_trace_is_flagged_in_the_disclosure_report() {
    with_each_backend("traces", |db| Box::pin(story(db))).await;
}
