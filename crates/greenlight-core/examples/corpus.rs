//! Runs one step of a check over the public scenarios, ROUNDS times, for an instruction
//! profiler: `valgrind --tool=callgrind --toggle-collect='greenlight_core::eval::evaluate'
//! target/release/examples/corpus evaluate 20` counts the instructions of evaluation alone
//! (`--toggle-collect='greenlight_core::format::parse'` with `parse` for the baseline). Divide
//! by ROUNDS × the number of declarations it prints. See docs/performance.md.
//!
//! Usage: `corpus parse|evaluate|evaluate-both|evaluate-union [ROUNDS]` over the public and EU
//! scenarios; `corpus union-parse|union-evaluate|union-evaluate-all [ROUNDS]` over the union
//! pack's (`sag-public`).

#![allow(clippy::disallowed_methods)] // reads its corpus from disk; the library does not

use std::hint::black_box;

use greenlight_core::format::{SourceKind, parse};
use greenlight_core::pack::Pack;

#[path = "../benches/corpus/mod.rs"]
mod corpus;

// The same allocator as the `greenlight` binary, so the figures are the product's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let step = args.next().unwrap_or_else(|| "evaluate".to_owned());
    let rounds: usize = match args.next() {
        Some(r) => r
            .parse()
            .map_err(|_| format!("ROUNDS: not a number: {r}"))?,
        None => 20,
    };
    let texts = if step.starts_with("union-") {
        corpus::union_corpus()
    } else {
        corpus::corpus()
    };
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).ok_or("date")?;
    let decls = texts
        .iter()
        .map(|t| parse(t.as_bytes(), SourceKind::Yaml).map(|p| p.declaration))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.summary)?;
    let builtin = |id| Pack::builtin(id).ok_or(format!("no built-in pack {id}"));
    let netflix = vec![builtin("netflix-genai")?];
    let both = vec![builtin("netflix-genai")?, builtin("eu-ai-act-art50")?];
    let union = vec![builtin("sag-aftra-2023")?];
    let all = vec![
        builtin("netflix-genai")?,
        builtin("eu-ai-act-art50")?,
        builtin("sag-aftra-2023")?,
    ];
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        for (text, decl) in texts.iter().zip(&decls) {
            match step.as_str() {
                "parse" | "union-parse" => {
                    drop(black_box(parse(text.as_bytes(), SourceKind::Yaml)))
                }
                "evaluate" => drop(black_box(greenlight_core::evaluate(decl, &netflix, as_of))),
                "evaluate-both" => drop(black_box(greenlight_core::evaluate(decl, &both, as_of))),
                "evaluate-union" | "union-evaluate" => {
                    drop(black_box(greenlight_core::evaluate(decl, &union, as_of)))
                }
                "union-evaluate-all" => {
                    drop(black_box(greenlight_core::evaluate(decl, &all, as_of)))
                }
                other => return Err(format!("unknown step {other:?}")),
            }
        }
    }
    let n = rounds * texts.len();
    eprintln!(
        "{step}: {n} declarations ({} × {rounds}), {:.1} µs each",
        texts.len(),
        started.elapsed().as_secs_f64() * 1e6 / n.max(1) as f64
    );
    Ok(())
}
