//! CEL (the engine Greenlight ships) against Rego (regorus) on the netflix-genai pack.
//!
//! `cargo run --release --manifest-path tools/engine-compare/Cargo.toml [-- OPTIONS]`
//!
//! 1. Equivalence: every public scenario declaration and a few hundred generated variations of
//!    them are checked with `greenlight_core::evaluate` and with `netflix-genai.rego`; the two
//!    must agree on the outcome, the principle answers, the findings (rule, outcome, principle,
//!    message, fields, in order) and the blockers (rule, message, fields, in order).
//! 2. Timing: per declaration, the CEL engine, regorus in three ways (a long-lived `Engine`
//!    with `set_input` + `eval_rule`; a `CompiledPolicy`; the RVM bytecode VM), and, as the
//!    baseline, `format::parse` of the YAML text. Declarations are parsed once outside the timed
//!    loops; each engine's timing includes turning the declaration into its input value (the CEL
//!    engine does the same inside `evaluate`).
//! 3. A lower bound: both engines on "lean" variants that compute only the outcome, the
//!    principle answers and the rule ids (`netflix-genai-lean.rego`, and the CEL pack stripped
//!    of messages and field paths by `lean_pack`), checked against the full pack too.
//! 4. The same misspelt field in both languages: what each engine does about it.
//!
//! Options:
//!   --scenarios DIR   the scenario folder (default: ../shared/scenarios/public from the repo)
//!   --variations N    generated variations per scenario (default 30)
//!   --reps N          timed repetitions, the median is reported (default 15)
//!   --check-only      only the equivalence check
//!   --only ENGINE     run ENGINE (parse, cel, rego-engine, rego-compiled, rego-rvm, cel-lean,
//!                     rego-lean-engine, rego-lean-rvm, rego-input) `--iters` times over the scenarios and
//!                     print nothing else, for callgrind (`callgrind.sh` does it for each)
//!   --iters N         iterations for --only (default 200)

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use chrono::NaiveDate;
use greenlight_core::declaration::{
    Answer, ConsentBy, DataUse, InputKind, MentionType, Owner, ProductionKind, Prominence,
    TalentException, Treatment,
};
use greenlight_core::format::{SourceKind, parse};
use greenlight_core::pack::Pack;
use greenlight_core::{CheckResult, Declaration, evaluate};
use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::{Program, RegoVM};
use serde_json::{Value as Json, json};

// The same allocator as the `greenlight` binary (feature `mimalloc`, on by default).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const POLICY: &str = include_str!("../netflix-genai.rego");
const LEAN_POLICY: &str = include_str!("../netflix-genai-lean.rego");
const ENTRY: &str = "data.greenlight.netflix_genai.result";

struct Options {
    scenarios: PathBuf,
    variations: usize,
    reps: usize,
    check_only: bool,
    only: Option<String>,
    iters: usize,
}

fn options() -> Result<Options> {
    let mut o = Options {
        scenarios: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/scenarios/public"),
        variations: 30,
        reps: 15,
        check_only: false,
        only: None,
        iters: 200,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--scenarios" => o.scenarios = PathBuf::from(value()?),
            "--variations" => o.variations = value()?.parse()?,
            "--reps" => o.reps = value()?.parse()?,
            "--check-only" => o.check_only = true,
            "--only" => o.only = Some(value()?),
            "--iters" => o.iters = value()?.parse()?,
            other => bail!("unknown option {other} (see the top of src/main.rs)"),
        }
    }
    Ok(o)
}

/// A scenario: its file name, YAML text and parsed declaration.
struct Scenario {
    name: String,
    text: Vec<u8>,
    decl: Declaration,
}

fn load_scenarios(dir: &Path) -> Result<Vec<Scenario>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read(&p)?;
            let decl = parse(&text, SourceKind::Yaml)
                .map_err(|e| anyhow::anyhow!("{}: {}", p.display(), e.summary))?
                .declaration;
            Ok(Scenario {
                name: p.file_name().unwrap_or_default().to_string_lossy().into(),
                text,
                decl,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The engines, each behind one function so callgrind can count just it.

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default()
}

#[inline(never)]
fn measured_parse(text: &[u8]) -> Declaration {
    match parse(text, SourceKind::Yaml) {
        Ok(p) => p.declaration,
        Err(e) => panic!("a scenario stopped parsing: {}", e.summary),
    }
}

#[inline(never)]
fn measured_cel(decl: &Declaration, packs: &[Arc<Pack>]) -> CheckResult {
    evaluate(decl, packs, as_of()).unwrap_or_else(|e| panic!("CEL failed: {e}"))
}

/// The declaration as regorus input, the way the CEL engine builds its own: through
/// `serde_json::Value`.
fn rego_input(decl: &Declaration) -> regorus::Value {
    regorus::Value::from(serde_json::to_value(decl).unwrap_or(Json::Null))
}

/// Only the conversion, to see its share in the Rego figures.
#[inline(never)]
fn measured_rego_input(decl: &Declaration) -> regorus::Value {
    rego_input(decl)
}

#[inline(never)]
fn measured_rego_engine(engine: &mut regorus::Engine, decl: &Declaration) -> regorus::Value {
    engine.set_input(rego_input(decl));
    engine
        .eval_rule(ENTRY.to_owned())
        .unwrap_or_else(|e| panic!("Rego failed: {e}"))
}

#[inline(never)]
fn measured_rego_compiled(policy: &regorus::CompiledPolicy, decl: &Declaration) -> regorus::Value {
    policy
        .eval_with_input(rego_input(decl))
        .unwrap_or_else(|e| panic!("Rego (compiled) failed: {e}"))
}

#[inline(never)]
fn measured_rego_rvm(vm: &mut RegoVM, decl: &Declaration) -> regorus::Value {
    vm.set_input(rego_input(decl));
    vm.execute()
        .unwrap_or_else(|e| panic!("Rego (RVM) failed: {e}"))
}

struct Rego {
    engine: regorus::Engine,
    compiled: regorus::CompiledPolicy,
    vm: RegoVM,
}

fn rego() -> Result<Rego> {
    match std::env::var_os("ENGINE_COMPARE_REGO") {
        // Another policy file (for experiments with --only; the equivalence check needs ours).
        Some(path) => rego_from(std::fs::read_to_string(&path)?),
        None => rego_from(POLICY.to_owned()),
    }
}

fn rego_from(policy: String) -> Result<Rego> {
    let mut engine = regorus::Engine::new();
    engine
        .add_policy("netflix-genai.rego".into(), policy)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let compiled = engine
        .compile_with_entrypoint(&regorus::Rc::from(ENTRY))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let program: Arc<Program> = Compiler::compile_from_policy(&compiled, &[ENTRY])
        .map_err(|e| anyhow::anyhow!("RVM compile: {e}"))?;
    let mut vm = RegoVM::new();
    vm.load_program(program);
    Ok(Rego {
        engine,
        compiled,
        vm,
    })
}

/// The built-in CEL pack stripped like `netflix-genai-lean.rego`: fixed empty messages, no
/// field paths, and no terms that only served field paths.
fn lean_pack() -> Result<Arc<Pack>> {
    let builtin = Pack::builtin("netflix-genai").context("the built-in pack")?;
    let mut file = builtin.file().clone();
    for p in &mut file.principles {
        for c in p.not_met.iter_mut().chain(p.unsure.iter_mut()) {
            c.fields = None;
        }
    }
    for r in &mut file.rules {
        r.fields = None;
        r.message = Some(String::new());
        r.message_expr = None;
        if let Some(b) = &mut r.blocker {
            b.fields = None;
            b.message = Some(String::new());
            b.message_expr = None;
        }
    }
    let rest = serde_json::to_string(&(&file.principles, &file.rules))?;
    let terms = std::mem::take(&mut file.terms);
    let mut kept = Vec::new();
    for t in terms.into_iter().rev() {
        let later = serde_json::to_string(&kept)?;
        if rest.contains(&t.name) || later.contains(&t.name) {
            kept.insert(0, t);
        }
    }
    file.terms = kept;
    // JSON is YAML: the pack loader takes it as it is, with its usual validation and dry run.
    let pack =
        Pack::from_yaml(&serde_json::to_string(&file)?).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Arc::new(pack))
}

// ---------------------------------------------------------------------------------------------
// Equivalence.

/// The parts of a CEL result the Rego policy reproduces (`source` and `clears` are fixed text
/// per rule, `pack` is fixed, `obligations` are none in this pack).
fn project_cel(r: &CheckResult) -> Json {
    json!({
        "outcome": r.outcome.as_str(),
        "principles": r.principles.as_ref().map(|p| p.iter().map(|(k, v)| (k.clone(), json!(v.as_str()))).collect::<serde_json::Map<_, _>>()),
        "findings": r.findings.iter().map(|f| json!({
            "rule": f.rule, "outcome": f.outcome.as_str(), "principle": f.principle,
            "message": f.message, "fields": f.fields,
        })).collect::<Vec<_>>(),
        "blockers": r.blockers.iter().map(|b| json!({
            "rule": b.rule, "message": b.message, "fields": b.fields,
        })).collect::<Vec<_>>(),
    })
}

fn project_rego(v: &regorus::Value) -> Json {
    serde_json::to_value(v).unwrap_or(Json::Null)
}

/// Rule ids with multiplicity, sorted.
fn rules_of(items: &Json) -> Vec<String> {
    let mut ids: Vec<String> = items
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["rule"].as_str().unwrap_or("?").to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// Describes how two projected results differ, coarse parts first.
fn differences(cel: &Json, rego: &Json) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["outcome", "principles"] {
        if cel[key] != rego[key] {
            out.push(format!("{key}: CEL {} / Rego {}", cel[key], rego[key]));
        }
    }
    for key in ["findings", "blockers"] {
        let (a, b) = (rules_of(&cel[key]), rules_of(&rego[key]));
        if a != b {
            out.push(format!("{key} rules: CEL {a:?} / Rego {b:?}"));
        } else if cel[key] != rego[key] {
            let ca = cel[key].as_array().cloned().unwrap_or_default();
            let ra = rego[key].as_array().cloned().unwrap_or_default();
            for (x, y) in ca.iter().zip(&ra) {
                if x != y {
                    out.push(format!("{key} detail: CEL {x} / Rego {y}"));
                }
            }
        }
    }
    out
}

/// A small deterministic generator (xorshift64*), so the variations are the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

fn flip(rng: &mut Rng, v: &mut Json, key: &str, percent: u64) {
    if rng.chance(percent) {
        let now = v.get(key).and_then(Json::as_bool).unwrap_or(false);
        v[key] = json!(!now);
    }
}

fn choose(rng: &mut Rng, v: &mut Json, key: &str, allowed: &[&str], percent: u64) {
    if rng.chance(percent) {
        v[key] = json!(rng.pick(allowed));
    }
}

fn toggle(rng: &mut Rng, v: &mut Json, key: &str, value: Json, percent: u64) {
    if rng.chance(percent)
        && let Some(map) = v.as_object_mut()
        && map.remove(key).is_none()
    {
        map.insert(key.to_owned(), value);
    }
}

fn consent(rng: &mut Rng) -> Json {
    json!({"document": "DOC-1", "scope": "this use", "signed": "2025-01-15", "by": rng.pick(ConsentBy::ALLOWED)})
}

fn mention(rng: &mut Rng) -> Json {
    json!({"type": rng.pick(MentionType::ALLOWED), "name": "Someone Famous"})
}

/// A variation of a declaration: booleans flipped, enums changed, optional fields and list
/// entries added or removed, each with some probability.
fn mutate(base: &Json, rng: &mut Rng) -> Json {
    let mut d = base.clone();
    choose(
        rng,
        &mut d["production"],
        "kind",
        ProductionKind::ALLOWED,
        25,
    );
    if let Some(tools) = d["tools"].as_array_mut() {
        if rng.chance(15) {
            tools.push(
                json!({"name": "Extra tool", "enterprise_agreement": false, "data_use": "unknown"}),
            );
        }
        for t in tools.iter_mut() {
            flip(rng, t, "enterprise_agreement", 30);
            choose(rng, t, "data_use", DataUse::ALLOWED, 30);
            toggle(rng, t, "terms_reviewed", json!("2025-06-01"), 30);
        }
    }
    if d.get("inputs").is_none_or(|v| !v.is_array()) {
        d["inputs"] = json!([]);
    }
    if let Some(inputs) = d["inputs"].as_array_mut() {
        if rng.chance(25) {
            inputs.push(
                json!({"kind": rng.pick(InputKind::ALLOWED), "owner": rng.pick(Owner::ALLOWED)}),
            );
        }
        if !inputs.is_empty() && rng.chance(10) {
            inputs.remove(0);
        }
        for x in inputs.iter_mut() {
            choose(rng, x, "kind", InputKind::ALLOWED, 25);
            choose(rng, x, "owner", Owner::ALLOWED, 25);
            flip(rng, x, "cleared", 30);
            if rng.chance(25) {
                let m = mention(rng);
                match x.get_mut("mentions").and_then(Json::as_array_mut) {
                    Some(ms) => ms.push(m),
                    None => x["mentions"] = json!([m]),
                }
            }
            if rng.chance(10) {
                x["mentions"] = json!([]);
            }
        }
    }
    if !d["outputs"].is_object() {
        d["outputs"] = json!({});
    }
    let o = &mut d["outputs"];
    for key in [
        "final",
        "key_creative",
        "depicts_real_people",
        "presented_as_real",
    ] {
        flip(rng, o, key, 20);
    }
    choose(rng, o, "prominence", Prominence::ALLOWED, 30);
    if d.get("talent").is_none_or(|v| !v.is_array()) {
        d["talent"] = json!([]);
    }
    if let Some(talent) = d["talent"].as_array_mut() {
        if rng.chance(30) {
            talent.push(
                json!({"performer": "Performer Z", "treatment": rng.pick(Treatment::ALLOWED)}),
            );
        }
        if !talent.is_empty() && rng.chance(10) {
            talent.remove(0);
        }
        for t in talent.iter_mut() {
            choose(rng, t, "treatment", Treatment::ALLOWED, 30);
            choose(rng, t, "exception", TalentException::ALLOWED, 30);
            for key in ["changes_performance", "deceased", "model_reused_elsewhere"] {
                flip(rng, t, key, 25);
            }
            let c = consent(rng);
            toggle(rng, t, "consent", c, 30);
            if t.get("consent").is_some() {
                choose(rng, &mut t["consent"], "by", ConsentBy::ALLOWED, 30);
            }
        }
    }
    if !d["union_work"].is_object() {
        d["union_work"] = json!({});
    }
    flip(rng, &mut d["union_work"], "affected", 25);
    toggle(
        rng,
        &mut d["union_work"],
        "agreement",
        json!("SAG-AFTRA-2025"),
        25,
    );
    if !d["self_assessment"].is_object() {
        d["self_assessment"] = json!({});
    }
    for p in ["p1", "p2", "p3", "p4", "p5"] {
        if rng.chance(15) {
            if rng.chance(30) {
                if let Some(m) = d["self_assessment"].as_object_mut() {
                    m.remove(p);
                }
            } else {
                d["self_assessment"][p] = json!(rng.pick(Answer::ALLOWED));
            }
        }
    }
    d
}

fn variations(scenarios: &[Scenario], per: usize) -> Result<Vec<(String, Declaration)>> {
    let mut rng = Rng(0x005E_ED0F_6EE9_11E5);
    let mut out = Vec::new();
    for s in scenarios {
        let base = serde_json::to_value(&s.decl)?;
        let mut made = 0;
        let mut tries = 0;
        while made < per && tries < per * 10 {
            tries += 1;
            let v = mutate(&base, &mut rng);
            let text = serde_json::to_vec(&v)?;
            // Only valid declarations: the variation goes through the real parser.
            if let Ok(p) = parse(&text, SourceKind::Json) {
                made += 1;
                out.push((format!("{} #{made}", s.name), p.declaration));
            }
        }
    }
    Ok(out)
}

struct Tally {
    total: usize,
    agree: usize,
    disagreements: Vec<(String, Vec<String>)>,
}

/// Outcome, principles and rule ids (with multiplicity) of findings and blockers.
fn coarse(v: &Json) -> Json {
    json!([
        v["outcome"],
        v["principles"],
        rules_of(&v["findings"]),
        rules_of(&v["blockers"])
    ])
}

/// The lean CEL pack and the lean Rego policy against the full CEL pack, coarsely.
fn check_lean(
    all: &[(String, Declaration)],
    packs: &[Arc<Pack>],
    lean: &[Arc<Pack>],
    rego: &mut Rego,
) -> usize {
    all.iter()
        .filter(|(_, d)| {
            let full = coarse(&project_cel(&measured_cel(d, packs)));
            full == coarse(&project_cel(&measured_cel(d, lean)))
                && full == coarse(&project_rego(&measured_rego_engine(&mut rego.engine, d)))
                && full == coarse(&project_rego(&measured_rego_rvm(&mut rego.vm, d)))
        })
        .count()
}

fn check(all: &[(String, Declaration)], packs: &[Arc<Pack>], rego: &mut Rego) -> Tally {
    let mut t = Tally {
        total: 0,
        agree: 0,
        disagreements: Vec::new(),
    };
    for (name, decl) in all {
        t.total += 1;
        let cel = project_cel(&measured_cel(decl, packs));
        let via_engine = project_rego(&measured_rego_engine(&mut rego.engine, decl));
        let via_compiled = project_rego(&measured_rego_compiled(&rego.compiled, decl));
        let via_rvm = project_rego(&measured_rego_rvm(&mut rego.vm, decl));
        let mut diffs = differences(&cel, &via_engine);
        if via_compiled != via_engine {
            diffs.push("regorus CompiledPolicy differs from Engine::eval_rule".into());
        }
        if via_rvm != via_engine {
            diffs.push(format!(
                "regorus RVM differs from Engine::eval_rule: {}",
                differences(&via_engine, &via_rvm).join("; ")
            ));
        }
        if diffs.is_empty() {
            t.agree += 1;
        } else {
            t.disagreements.push((name.clone(), diffs));
        }
    }
    t
}

// ---------------------------------------------------------------------------------------------
// Timing.

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Microseconds per declaration for `f` over `decls`, `inner` passes per repetition.
fn time_pass(inner: usize, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..inner {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / inner as f64
}

/// An engine under test: a name and what it does with one declaration.
type Run<'a> = (&'static str, Box<dyn FnMut(&Declaration) + 'a>);

/// Times every engine over `decls` (and the parse baseline over `texts`), interleaved so that
/// the load of the machine falls on all of them alike. Ratios are against the parse baseline
/// and against the first engine.
fn bench(
    label: &str,
    decls: &[&Declaration],
    texts: Option<&[&[u8]]>,
    engines: &mut [Run],
    reps: usize,
) {
    let n = decls.len() as f64;
    // Enough passes that one repetition takes some tens of milliseconds.
    let inner = (2000.0 / n).ceil().max(1.0) as usize;
    let mut parse_samples = Vec::new();
    let mut samples = vec![Vec::new(); engines.len()];
    // Repetition 0 is the warm-up.
    for rep in 0..=reps {
        if let Some(texts) = texts {
            let us = time_pass(inner, || {
                for t in texts {
                    black_box(measured_parse(t));
                }
            });
            if rep > 0 {
                parse_samples.push(us / n);
            }
        }
        for (i, (_, run)) in engines.iter_mut().enumerate() {
            let us = time_pass(inner, || {
                for d in decls {
                    run(d);
                }
            });
            if rep > 0 {
                samples[i].push(us / n);
            }
        }
    }
    println!(
        "\n{label}: {} declarations, {reps} repetitions of {inner} passes, median (min-max) µs per declaration",
        decls.len()
    );
    println!(
        "  {:<44} {:>9} {:>17} {:>8} {:>8}",
        "engine", "median", "min-max", "x parse", "x first"
    );
    let base = (!parse_samples.is_empty()).then(|| median(parse_samples.clone()));
    let first = median(samples[0].clone());
    let mut rows: Vec<(&str, &Vec<f64>)> = Vec::new();
    if texts.is_some() {
        rows.push(("parse (YAML, baseline)", &parse_samples));
    }
    rows.extend(engines.iter().map(|(name, _)| *name).zip(samples.iter()));
    for (name, xs) in rows {
        let m = median(xs.clone());
        let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = xs.iter().copied().fold(0.0, f64::max);
        let vs_parse = base.map_or("-".to_owned(), |b| format!("{:.2}", m / b));
        println!(
            "  {:<44} {:>9.2} {:>8.2}-{:<8.2} {:>8} {:>8.2}",
            name,
            m,
            lo,
            hi,
            vs_parse,
            m / first
        );
    }
}

fn engines<'a>(
    packs: &'a [Arc<Pack>],
    lean: &'a [Arc<Pack>],
    rego: &'a mut Rego,
    lean_rego: &'a mut Rego,
) -> Vec<Run<'a>> {
    let Rego {
        engine,
        compiled,
        vm,
    } = rego;
    vec![
        (
            "CEL: greenlight_core::evaluate",
            Box::new(move |d| drop(black_box(measured_cel(d, packs)))),
        ),
        (
            "Rego: Engine set_input + eval_rule",
            Box::new(move |d| drop(black_box(measured_rego_engine(engine, d)))),
        ),
        (
            "Rego: CompiledPolicy::eval_with_input",
            Box::new(move |d| drop(black_box(measured_rego_compiled(compiled, d)))),
        ),
        (
            "Rego: RVM set_input + execute",
            Box::new(move |d| drop(black_box(measured_rego_rvm(vm, d)))),
        ),
        (
            "lean CEL pack (ids only)",
            Box::new(move |d| drop(black_box(measured_cel(d, lean)))),
        ),
        (
            "lean Rego: Engine set_input + eval_rule",
            Box::new(|d| drop(black_box(measured_rego_engine(&mut lean_rego.engine, d)))),
        ),
        (
            "lean Rego: RVM set_input + execute",
            Box::new(|d| drop(black_box(measured_rego_rvm(&mut lean_rego.vm, d)))),
        ),
    ]
}

fn only(engine: &str, scenarios: &[Scenario], packs: &[Arc<Pack>], iters: usize) -> Result<()> {
    let mut rego = rego()?;
    let mut lean_rego = rego_from(LEAN_POLICY.to_owned())?;
    let lean = [lean_pack()?];
    for _ in 0..iters {
        for s in scenarios {
            match engine {
                "parse" => drop(black_box(measured_parse(&s.text))),
                "cel" => drop(black_box(measured_cel(&s.decl, packs))),
                "rego-engine" => drop(black_box(measured_rego_engine(&mut rego.engine, &s.decl))),
                "rego-compiled" => drop(black_box(measured_rego_compiled(&rego.compiled, &s.decl))),
                "rego-rvm" => drop(black_box(measured_rego_rvm(&mut rego.vm, &s.decl))),
                "rego-input" => drop(black_box(measured_rego_input(&s.decl))),
                "cel-lean" => drop(black_box(measured_cel(&s.decl, &lean))),
                "rego-lean-engine" => drop(black_box(measured_rego_engine(
                    &mut lean_rego.engine,
                    &s.decl,
                ))),
                "rego-lean-rvm" => drop(black_box(measured_rego_rvm(&mut lean_rego.vm, &s.decl))),
                other => bail!("unknown engine {other}"),
            }
        }
    }
    Ok(())
}

/// The same slip in both languages: NFX-CREATIVE-KEY's condition names `outputs.key_creativ`.
fn misspelt_field(all: &[(String, Declaration)], packs: &[Arc<Pack>]) -> Result<()> {
    const PACK: &str = include_str!("../../../crates/greenlight-core/packs/netflix-genai.yaml");
    let right = "    when: outputs.key_creative\n";
    anyhow::ensure!(
        PACK.contains(right),
        "the pack changed: update this demonstration"
    );
    let cel = match Pack::from_yaml(&PACK.replacen(right, "    when: outputs.key_creativ\n", 1)) {
        Ok(_) => "loads (not caught!)".to_owned(),
        Err(e) => format!("refused when the pack is loaded: {e}"),
    };
    let right =
        "written approval.\", [\"outputs.key_creative\"])] if {\n\tinput.outputs.key_creative\n";
    anyhow::ensure!(
        POLICY.contains(right),
        "the policy changed: update this demonstration"
    );
    let mut engine = regorus::Engine::new();
    engine
        .add_policy(
            "misspelt.rego".into(),
            POLICY.replacen(
                right,
                &right.replace(
                    "\tinput.outputs.key_creative",
                    "\tinput.outputs.key_creativ",
                ),
                1,
            ),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (mut should, mut did) = (0, 0);
    for (_, d) in all {
        if measured_cel(d, packs)
            .findings
            .iter()
            .any(|f| f.rule == "NFX-CREATIVE-KEY")
        {
            should += 1;
            let got = project_rego(&measured_rego_engine(&mut engine, d));
            if rules_of(&got["findings"])
                .iter()
                .any(|r| r == "NFX-CREATIVE-KEY")
            {
                did += 1;
            }
        }
    }
    println!("Misspelt field (outputs.key_creativ in NFX-CREATIVE-KEY):");
    println!("  CEL: {cel}");
    println!(
        "  Rego: compiles and evaluates without error; the rule fires on {did} of the {should} declarations where it should"
    );
    Ok(())
}

/// The public scenarios' `expected.json` (outcome, principles, distinct rules, blocker rules),
/// checked against both engines.
fn expected(
    dir: &Path,
    scenarios: &[Scenario],
    packs: &[Arc<Pack>],
    rego: &mut Rego,
) -> Result<()> {
    let Ok(text) = std::fs::read(dir.join("expected.json")) else {
        println!("No expected.json in {}: skipped", dir.display());
        return Ok(());
    };
    let expected: Json = serde_json::from_slice(&text)?;
    let (mut cel_ok, mut rego_ok, mut n) = (0, 0, 0);
    for s in scenarios {
        let Some(e) = expected.get(&s.name) else {
            continue;
        };
        n += 1;
        let mut want_blockers: Vec<String> = e["blockers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|b| b.as_str().or(b["rule"].as_str()).unwrap_or("?").to_owned())
                    .collect()
            })
            .unwrap_or_default();
        want_blockers.sort();
        want_blockers.dedup();
        // expected.json lists each rule once, however many findings it gives.
        let distinct = |items: &Json| {
            let mut ids = rules_of(items);
            ids.dedup();
            ids
        };
        let matches = |got: &Json| {
            got["outcome"] == e["outcome"]
                && got["principles"] == e["principles"]
                && Json::from(distinct(&got["findings"])) == e["rules"]
                && distinct(&got["blockers"]) == want_blockers
        };
        let cel = project_cel(&measured_cel(&s.decl, packs));
        if matches(&cel) {
            cel_ok += 1;
        } else {
            println!(
                "  {} differs from expected.json: CEL gives {} {} rules {:?} blockers {:?}",
                s.name,
                cel["outcome"],
                cel["principles"],
                rules_of(&cel["findings"]),
                rules_of(&cel["blockers"])
            );
        }
        if matches(&project_rego(&measured_rego_engine(
            &mut rego.engine,
            &s.decl,
        ))) {
            rego_ok += 1;
        }
    }
    println!("expected.json: CEL matches {cel_ok} of {n} scenarios, Rego matches {rego_ok} of {n}");
    Ok(())
}

fn main() -> Result<()> {
    // regorus builds `anyhow` errors internally while it evaluates (and drops them); with
    // RUST_BACKTRACE=1 in the environment each of them captures a backtrace, which cost about a
    // fifth of the interpreter's time in callgrind. Production servers do not run like that.
    // SAFETY: no other thread exists yet.
    unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    let o = options()?;
    let scenarios = load_scenarios(&o.scenarios)?;
    if scenarios.is_empty() {
        bail!("no *.yaml in {}", o.scenarios.display());
    }
    let packs = [Pack::builtin("netflix-genai").context("the built-in pack")?];
    if let Some(engine) = &o.only {
        return only(engine, &scenarios, &packs, o.iters);
    }
    let mut rego = rego()?;

    let mut all: Vec<(String, Declaration)> = scenarios
        .iter()
        .map(|s| (s.name.clone(), s.decl.clone()))
        .collect();
    let generated = variations(&scenarios, o.variations)?;
    all.extend(generated.iter().cloned());
    let tally = check(&all, &packs, &mut rego);
    println!(
        "Equivalence: {} of {} declarations agree ({} scenarios + {} generated variations)",
        tally.agree,
        tally.total,
        scenarios.len(),
        generated.len()
    );
    for (name, diffs) in tally.disagreements.iter().take(20) {
        println!("  DISAGREE {name}");
        for d in diffs {
            println!("    {d}");
        }
    }
    let mut fired: std::collections::BTreeMap<String, usize> = Default::default();
    let mut blocked: std::collections::BTreeMap<String, usize> = Default::default();
    for (_, d) in &all {
        let r = measured_cel(d, &packs);
        for f in r.findings {
            *fired.entry(f.rule).or_default() += 1;
        }
        for b in r.blockers {
            *blocked.entry(b.rule).or_default() += 1;
        }
    }
    println!(
        "Findings per rule over the set ({} of 22 rules fire at least once): {fired:?}",
        fired.len()
    );
    println!(
        "Blockers per rule ({} of 7 blocker kinds open at least once): {blocked:?}",
        blocked.len()
    );
    expected(&o.scenarios, &scenarios, &packs, &mut rego)?;
    let lean = [lean_pack()?];
    let mut lean_rego = rego_from(LEAN_POLICY.to_owned())?;
    let lean_agree = check_lean(&all, &packs, &lean, &mut lean_rego);
    println!(
        "Lean variants (ids only) agree with the full CEL pack on outcome, principles, rules and blockers: {lean_agree} of {}",
        all.len()
    );
    misspelt_field(&all, &packs)?;
    if !tally.disagreements.is_empty() || lean_agree != all.len() {
        bail!(
            "{} disagreements, {} in the lean variants",
            tally.disagreements.len(),
            all.len() - lean_agree
        );
    }
    if o.check_only {
        return Ok(());
    }

    let decls: Vec<&Declaration> = scenarios.iter().map(|s| &s.decl).collect();
    let texts: Vec<&[u8]> = scenarios.iter().map(|s| s.text.as_slice()).collect();
    bench(
        "Public scenarios",
        &decls,
        Some(&texts),
        &mut engines(&packs, &lean, &mut rego, &mut lean_rego),
        o.reps,
    );
    let gen_decls: Vec<&Declaration> = generated.iter().map(|(_, d)| d).collect();
    bench(
        "Generated variations",
        &gen_decls,
        None,
        &mut engines(&packs, &lean, &mut rego, &mut lean_rego),
        o.reps,
    );
    Ok(())
}
