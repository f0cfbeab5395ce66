//! Cost of previewing a pack change over a production: 10,000 effective declarations (the
//! public scenarios, repeated with distinct refs; the crate's samples without them) evaluated
//! with every built-in pack, in a loop: the baseline the server's preview is compared to. Beside
//! it, in the same run, what the preview does on top: the aggregate rules of the sample studio
//! pack over the 10,000 (`production`), and the whole comparison of the built-in packs against
//! the built-in packs plus the studio pack (`compare`: two evaluations per declaration and the
//! aggregate rules of each side).
//!
//! Times are the measuring thread's CPU time (`docs/decisions/0203-benchmarks-in-cpu-time.md`):
//! the machine's cores are shared with builds.
//!
//! Knobs: the usual criterion ones, e.g. `cargo bench -p greenlight-core --bench preview --
//! --measurement-time 20`.

#![allow(clippy::disallowed_methods)] // a benchmark reads its corpus from disk; the library does not

mod corpus;

// The same allocator as the `greenlight` binary, so the figures are the product's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::sync::Arc;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use greenlight_core::diff::{Subject, compare};
use greenlight_core::format::{SourceKind, parse};
use greenlight_core::pack::Pack;
use greenlight_core::{CheckResult, Declaration, LiveDeclaration, evaluate, evaluate_production};

const DECLARATIONS: usize = 10_000;

/// Runs `f` `iters` times and returns the CPU time this thread spent.
fn cpu_time(iters: u64, mut f: impl FnMut()) -> std::time::Duration {
    let start = cpu_time::ThreadTime::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let mut texts = corpus::corpus();
    texts.extend(corpus::union_corpus());
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("valid date");
    let originals: Vec<Declaration> = texts
        .iter()
        .map(|t| {
            parse(t.as_bytes(), SourceKind::Yaml)
                .expect("corpus parses")
                .declaration
        })
        .collect();
    let decls: Vec<Declaration> = (0..DECLARATIONS)
        .map(|i| {
            let mut d = originals[i % originals.len()].clone();
            d.usage.reference = format!("{}-{i}", d.usage.reference);
            d
        })
        .collect();
    let builtin: Vec<Arc<Pack>> = Pack::builtin_ids()
        .iter()
        .map(|id| Pack::builtin(id).expect("built in"))
        .collect();
    let studio = Pack::from_yaml(include_str!("../packs/samples/studio-extra.yaml"))
        .expect("the sample studio pack loads");
    let mut with_studio = builtin.clone();
    with_studio.push(Arc::new(studio));
    let results: Vec<CheckResult> = decls
        .iter()
        .map(|d| evaluate(d, &with_studio, as_of).expect("evaluates"))
        .collect();
    let organisations = ["Vendor A", "Vendor B", "Vendor C"];
    let live: Vec<LiveDeclaration> = decls
        .iter()
        .zip(&results)
        .enumerate()
        .map(|(i, (d, r))| LiveDeclaration {
            reference: &d.usage.reference,
            organisation: Some(organisations[i % organisations.len()]),
            declaration: d,
            result: r,
        })
        .collect();
    let subjects: Vec<Subject<usize>> = decls
        .iter()
        .enumerate()
        .map(|(i, d)| Subject {
            key: i,
            declaration: d,
            organisation: Some(organisations[i % organisations.len()]),
        })
        .collect();

    let mut g = c.benchmark_group("preview_10k");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(DECLARATIONS as u64));
    g.bench_function("evaluate_builtin_packs (baseline)", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                for d in &decls {
                    std::hint::black_box(evaluate(d, &builtin, as_of).expect("evaluates"));
                }
            })
        })
    });
    g.bench_function("production", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                std::hint::black_box(
                    evaluate_production(&live, &with_studio, as_of).expect("evaluates"),
                );
            })
        })
    });
    g.bench_function("compare", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                std::hint::black_box(
                    compare(&subjects, &builtin, &with_studio, as_of).expect("evaluates"),
                );
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
