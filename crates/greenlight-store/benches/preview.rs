//! Cost of the server's preview of a pack change over a production of 10,000 live
//! declarations (`Store::preview_packs`: read the live declarations with their stored
//! effective declarations and results, evaluate each with the proposed packs, compare),
//! against the loop it is measured by, in the same run: parsing the same 10,000 stored
//! effective declarations and evaluating each with the proposed packs, without the store.
//!
//! The aim is at most 1.5 times the loop. Run with
//! `cargo bench -p greenlight-store --bench preview`; seeding the 10,000 takes a while.

use std::sync::Arc;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use greenlight_core::pack::Pack;
use greenlight_store::input::NewProduction;
use greenlight_store::{NewMember, ProductionFacts, Role, SigningKey, Store, StoreConfig};

const DECLARATIONS: usize = 10_000;

const PURPOSES: &[&str] = &[
    "ideation",
    "vfx",
    "previs",
    "background-element",
    "localization",
];
const DATA_USE: &[&str] = &["none", "unknown", "trains", "stores"];

fn declaration(n: usize) -> String {
    format!(
        "greenlight: declaration/v1
production:
  title: The Lighthouse Keeper
use:
  ref: LK-{n:05}
  summary: Use number {n}
  stage: post-production
  purpose: {}
tools:
  - name: Image model {}
    enterprise_agreement: {}
    data_use: {}
outputs:
  final: {}
",
        PURPOSES[n % PURPOSES.len()],
        n % 7,
        !n.is_multiple_of(3),
        DATA_USE[n % DATA_USE.len()],
        n.is_multiple_of(2),
    )
}

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

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut config = StoreConfig::new(format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    ));
    config.signing_key = Some(SigningKey::generate());
    let (store, legal, production, stored) = rt.block_on(async {
        let store = Store::open(config).await.expect("the store opens");
        let b = store
            .bootstrap_admin("Northlight Studios", "admin@northlight.example", "Admin")
            .await
            .expect("bootstrap");
        let admin = store
            .principal_by_secret(&b.token)
            .await
            .expect("lookup")
            .expect("token");
        let mut people = Vec::new();
        for (email, role) in [
            ("legal@northlight.example", Role::Legal),
            ("producer@northlight.example", Role::Partner),
        ] {
            store
                .add_member(
                    &admin,
                    &b.org.id,
                    NewMember {
                        email: email.into(),
                        name: String::new(),
                        roles: vec![role],
                        password: None,
                    },
                )
                .await
                .expect("member");
            let user = store
                .user_by_email(email)
                .await
                .expect("lookup")
                .expect("the member");
            people.push(store.principal(&user.id).await.expect("principal"));
        }
        let (legal, partner) = (people.remove(0), people.remove(0));
        let production = store
            .create_production(
                &admin,
                &b.org.id,
                NewProduction {
                    facts: ProductionFacts {
                        title: "The Lighthouse Keeper".into(),
                        kind: "scripted".into(),
                        eu_release: true,
                        release_date: None,
                        agreements: vec![],
                    },
                    packs: None,
                },
            )
            .await
            .expect("production");
        store
            .upload_pack(&legal, None, STUDIO_PACK)
            .await
            .expect("the studio pack");
        for chunk in (0..DECLARATIONS).collect::<Vec<_>>().chunks(200) {
            let mut tasks = Vec::new();
            for &n in chunk {
                let (store, partner, id) = (store.clone(), partner.clone(), production.id.clone());
                tasks.push(tokio::spawn(async move {
                    store
                        .submit(&partner, &id, declaration(n).as_bytes())
                        .await
                        .expect("submit")
                }));
            }
            for t in tasks {
                t.await.expect("the task");
            }
        }
        // The effective declarations as the store keeps them, for the loop: each declaration's
        // facts repeat every 420 (the least common multiple of the variations above).
        let mut variants = Vec::with_capacity(420);
        for n in 0..420 {
            let page = store
                .preview(&partner, &production.id, declaration(n).as_bytes(), None)
                .await
                .expect("a triage preview");
            variants.push(serde_json::to_string(&page.effective).expect("JSON"));
        }
        let stored: Vec<String> = (0..DECLARATIONS)
            .map(|n| {
                let v = n % 420;
                variants[v].replace(&format!("LK-{v:05}"), &format!("LK-{n:05}"))
            })
            .collect();
        (store, legal, production, stored)
    });
    let mut proposed: Vec<String> = production.packs.clone();
    proposed.push("studio-extra@1".into());
    let mut packs: Vec<Arc<Pack>> = production
        .packs
        .iter()
        .map(|id| Pack::builtin(id).expect("built in"))
        .collect();
    packs.push(Arc::new(Pack::from_yaml(STUDIO_PACK).expect("loads")));
    let as_of = chrono::Utc::now().date_naive();

    let mut group = c.benchmark_group("pack preview, 10,000 live declarations");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    group.bench_function("loop: parse and evaluate (baseline)", |b| {
        b.iter(|| {
            for text in &stored {
                let d: greenlight_core::Declaration =
                    serde_json::from_str(text).expect("stored JSON parses");
                std::hint::black_box(
                    greenlight_core::evaluate(&d, &packs, as_of).expect("evaluates"),
                );
            }
        })
    });
    group.bench_function("Store::preview_packs", |b| {
        b.iter(|| {
            rt.block_on(store.preview_packs(&legal, &production.id, &proposed))
                .expect("preview")
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
