//! Cost of a check: parse (YAML and JSON), evaluate one pack and both packs, and the whole
//! check, on the public scenarios (`../shared/scenarios/public` and `eu-public` when present,
//! otherwise the crate's own sample declarations); the union pack on the same corpus (where it
//! mostly does not apply), and, in the group `check_union`, on its own scenarios
//! (`sag-public`), with that corpus's parse as the group's baseline.
//!
//! The baseline is parsing the YAML: evaluation should cost no more than that, and a whole
//! check (parse + validate + evaluate) should reach 20,000 declarations per second on one core.
//! Each benchmark runs the whole corpus once per iteration, so its throughput is declarations
//! per second.
//!
//! Knobs: the usual criterion ones, e.g. `cargo bench -p greenlight-core --bench check --
//! --measurement-time 3`.

#![allow(clippy::disallowed_methods)] // a benchmark reads its corpus from disk; the library does not

mod corpus;

// The same allocator as the `greenlight` binary, so the figures are the product's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use greenlight_core::format::{SourceKind, parse};
use greenlight_core::pack::Pack;
use greenlight_core::{Declaration, evaluate};

fn bench(c: &mut Criterion) {
    let texts = corpus::corpus();
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("valid date");
    let decls: Vec<Declaration> = texts
        .iter()
        .map(|t| {
            parse(t.as_bytes(), SourceKind::Yaml)
                .expect("corpus parses")
                .declaration
        })
        .collect();
    let jsons: Vec<String> = decls
        .iter()
        .map(|d| serde_json::to_string(d).expect("serializes"))
        .collect();
    let netflix: Vec<Arc<Pack>> = vec![Pack::builtin("netflix-genai").expect("built in")];
    let both: Vec<Arc<Pack>> = vec![
        Pack::builtin("netflix-genai").expect("built in"),
        Pack::builtin("eu-ai-act-art50").expect("built in"),
    ];
    let union: Vec<Arc<Pack>> = vec![Pack::builtin("sag-aftra-2023").expect("built in")];
    let all: Vec<Arc<Pack>> = Pack::builtin_ids()
        .iter()
        .map(|id| Pack::builtin(id).expect("built in"))
        .collect();

    let mut g = c.benchmark_group("check");
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function("parse_yaml (baseline)", |b| {
        b.iter(|| {
            for t in &texts {
                std::hint::black_box(parse(t.as_bytes(), SourceKind::Yaml).expect("parses"));
            }
        })
    });
    g.bench_function("parse_json", |b| {
        b.iter(|| {
            for t in &jsons {
                std::hint::black_box(parse(t.as_bytes(), SourceKind::Json).expect("parses"));
            }
        })
    });
    g.bench_function("evaluate_netflix", |b| {
        b.iter(|| {
            for d in &decls {
                std::hint::black_box(evaluate(d, &netflix, as_of).expect("evaluates"));
            }
        })
    });
    g.bench_function("evaluate_both_packs", |b| {
        b.iter(|| {
            for d in &decls {
                std::hint::black_box(evaluate(d, &both, as_of).expect("evaluates"));
            }
        })
    });
    g.bench_function("evaluate_union", |b| {
        b.iter(|| {
            for d in &decls {
                std::hint::black_box(evaluate(d, &union, as_of).expect("evaluates"));
            }
        })
    });
    g.bench_function("check_yaml_netflix", |b| {
        b.iter(|| {
            for t in &texts {
                let parsed = parse(t.as_bytes(), SourceKind::Yaml).expect("parses");
                std::hint::black_box(
                    evaluate(&parsed.declaration, &netflix, as_of).expect("evaluates"),
                );
            }
        })
    });
    g.bench_function("check_yaml_both_packs", |b| {
        b.iter(|| {
            for t in &texts {
                let parsed = parse(t.as_bytes(), SourceKind::Yaml).expect("parses");
                std::hint::black_box(
                    evaluate(&parsed.declaration, &both, as_of).expect("evaluates"),
                );
            }
        })
    });
    g.finish();

    let union_texts = corpus::union_corpus();
    let union_decls: Vec<Declaration> = union_texts
        .iter()
        .map(|t| {
            parse(t.as_bytes(), SourceKind::Yaml)
                .expect("corpus parses")
                .declaration
        })
        .collect();
    let mut g = c.benchmark_group("check_union");
    g.throughput(Throughput::Elements(union_texts.len() as u64));
    g.bench_function("parse_yaml (baseline)", |b| {
        b.iter(|| {
            for t in &union_texts {
                std::hint::black_box(parse(t.as_bytes(), SourceKind::Yaml).expect("parses"));
            }
        })
    });
    g.bench_function("evaluate_union", |b| {
        b.iter(|| {
            for d in &union_decls {
                std::hint::black_box(evaluate(d, &union, as_of).expect("evaluates"));
            }
        })
    });
    g.bench_function("evaluate_all_packs", |b| {
        b.iter(|| {
            for d in &union_decls {
                std::hint::black_box(evaluate(d, &all, as_of).expect("evaluates"));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
