//! For any set of live declarations, some approved, adopting a pack set answers exactly the
//! change list its preview gave, and suspends exactly the approvals the preview named.
//! Each case is a fresh SQLite store, so the case count stays small.

use greenlight_store::input::{DecisionInput, NewProduction};
use greenlight_store::*;
use proptest::prelude::*;

mod backends;
use backends::{Northlight, northlight};

const STUDIO_PACK: &str = r#"pack: studio-extra
version: "1"
rules:
  - id: STUDIO-FINAL-REVIEW
    title: Final outputs are reviewed
    outcome: review
    source: "Studio policy 3"
    when: outputs.final
    message: The studio reviews every generated output that reaches the final cut.
"#;

/// A declaration from its few varying facts.
fn declaration(n: usize, purpose: &str, enterprise: bool, data_use: &str, final_: bool) -> String {
    format!(
        "greenlight: declaration/v1
production:
  title: The Lighthouse Keeper
use:
  ref: LK-{n:03}
  summary: Use number {n}
  stage: post-production
  purpose: {purpose}
tools:
  - name: Image model
    enterprise_agreement: {enterprise}
    data_use: {data_use}
outputs:
  final: {final_}
"
    )
}

#[derive(Debug, Clone)]
struct Use {
    purpose: &'static str,
    enterprise: bool,
    data_use: &'static str,
    final_: bool,
    approve: bool,
}

fn a_use() -> impl Strategy<Value = Use> {
    (
        prop::sample::select(vec!["ideation", "vfx", "previs"]),
        any::<bool>(),
        prop::sample::select(vec!["none", "unknown", "trains"]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(purpose, enterprise, data_use, final_, approve)| Use {
            purpose,
            enterprise,
            data_use,
            final_,
            approve,
        })
}

fn pack_sets() -> impl Strategy<Value = Vec<String>> {
    prop::sample::select(vec![
        vec!["eu-ai-act-art50".to_string()],
        vec!["netflix-genai".to_string(), "studio-extra@1".to_string()],
        vec!["studio-extra@1".to_string()],
        vec!["eu-ai-act-art50".to_string(), "studio-extra@1".to_string()],
    ])
}

async fn case(uses: Vec<Use>, proposed: Vec<String>) {
    let db = backends::sqlite();
    let store = db.store().await;
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
                    eu_release: true,
                    release_date: None,
                    agreements: vec![],
                },
                packs: Some(vec!["netflix-genai".into()]),
            },
        )
        .await
        .expect("production");
    store
        .upload_pack(&legal, None, STUDIO_PACK)
        .await
        .expect("upload");
    for (n, u) in uses.iter().enumerate() {
        let text = declaration(n, u.purpose, u.enterprise, u.data_use, u.final_);
        let d = store
            .submit(&partner, &production.id, text.as_bytes())
            .await
            .expect("submit");
        if u.approve && d.state == State::InReview && d.open_blockers == 0 {
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
        }
    }
    let preview = store
        .preview_packs(&legal, &production.id, &proposed)
        .await
        .expect("preview");
    let etag = production_etag_of(
        store
            .production(&legal, &production.id)
            .await
            .expect("read")
            .version,
    );
    let adopted = store
        .adopt_packs(&legal, &production.id, Some(&etag), proposed.clone())
        .await
        .expect("adopt");
    assert_eq!(adopted, preview, "adoption answers the preview");
    let suspended: Vec<DeclarationId> = preview
        .changes
        .iter()
        .filter(|c| c.approval_suspended)
        .map(|c| c.declaration_id.clone())
        .collect();
    let filter = DeclarationFilter {
        production_id: Some(production.id.clone()),
        ..Default::default()
    };
    let page = store
        .declarations(
            &admin,
            &filter,
            PageRequest {
                offset: 0,
                limit: 500,
            },
        )
        .await
        .expect("list");
    for d in &page.items {
        assert_eq!(
            d.state == State::Suspended,
            suspended.contains(&d.id),
            "{} is suspended exactly when the preview said so",
            d.reference
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn adopting_a_pack_set_does_what_its_preview_said(
        uses in prop::collection::vec(a_use(), 1..6),
        proposed in pack_sets(),
    ) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(case(uses, proposed));
    }
}
