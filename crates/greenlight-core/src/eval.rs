//! The evaluator: a declaration and one or more packs in, a [`CheckResult`] out.
//!
//! Pure: today's date comes in as an argument, nothing is read from the environment.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use cel::{Context, Value};
use chrono::NaiveDate;
use serde::Serialize;

use crate::declaration::{Answer, Declaration};
use crate::outcome::Outcome;
use crate::pack::{Condition, Expr, Pack, PackError, PrincipleRef, Text};
use crate::wire::{Blocker, CheckResult, Finding, Obligation, PackRef};

/// Names an expression sees besides the pack's terms; a term may not reuse them.
pub(crate) const RESERVED_NAMES: &[&str] = &[
    "greenlight",
    "production",
    "use",
    "tools",
    "inputs",
    "outputs",
    "talent",
    "union_work",
    "self_assessment",
    "today",
    "principles",
    "item",
    "index",
];

/// An expression failed while evaluating (a pack error that the load-time dry run missed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pack {pack}, {place} `{id}`, {field}: {message} (in `{expression}`)")]
pub struct EvalError {
    pub pack: String,
    pub place: &'static str,
    pub id: String,
    pub field: &'static str,
    pub expression: String,
    pub message: String,
}

impl From<EvalError> for PackError {
    fn from(e: EvalError) -> Self {
        PackError::Item {
            pack: e.pack,
            place: e.place,
            id: e.id,
            field: e.field,
            message: format!("{} (in `{}`)", e.message, e.expression),
        }
    }
}

/// Where an expression sits, for error messages.
#[derive(Clone, Copy)]
struct At<'a> {
    pack: &'a str,
    place: &'static str,
    id: &'a str,
}

impl At<'_> {
    fn error(&self, expr: &Expr, message: impl Into<String>) -> EvalError {
        EvalError {
            pack: self.pack.to_owned(),
            place: self.place,
            id: self.id.to_owned(),
            field: expr.field,
            expression: expr.text.clone(),
            message: message.into(),
        }
    }

    fn run(&self, expr: &Expr, ctx: &Context) -> Result<Value, EvalError> {
        expr.program
            .execute(ctx)
            .map_err(|e| self.error(expr, e.to_string()))
    }

    fn boolean(&self, expr: &Expr, ctx: &Context) -> Result<bool, EvalError> {
        match self.run(expr, ctx)? {
            Value::Bool(b) => Ok(b),
            other => Err(self.error(
                expr,
                format!("expected a boolean, got {}", type_name(&other)),
            )),
        }
    }

    fn list(&self, expr: &Expr, ctx: &Context) -> Result<Arc<Vec<Value>>, EvalError> {
        match self.run(expr, ctx)? {
            Value::List(items) => Ok(items),
            other => Err(self.error(expr, format!("expected a list, got {}", type_name(&other)))),
        }
    }

    fn string(&self, expr: &Expr, ctx: &Context) -> Result<String, EvalError> {
        match self.run(expr, ctx)? {
            Value::String(s) => Ok(s.as_ref().clone()),
            other => Err(self.error(
                expr,
                format!("expected a string, got {}", type_name(&other)),
            )),
        }
    }

    fn strings(&self, expr: Option<&Expr>, ctx: &Context) -> Result<Vec<String>, EvalError> {
        let Some(expr) = expr else {
            return Ok(Vec::new());
        };
        let items = self.list(expr, ctx)?;
        items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.as_ref().clone()),
                other => Err(self.error(
                    expr,
                    format!(
                        "expected a list of field paths (strings), found {}",
                        type_name(other)
                    ),
                )),
            })
            .collect()
    }

    fn text(&self, text: &Text, ctx: &Context) -> Result<String, EvalError> {
        match text {
            Text::Fixed(s) => Ok(s.clone()),
            Text::Computed(expr) => self.string(expr, ctx),
        }
    }

    /// The contexts to evaluate in: one per element of `for_each`, or the context itself.
    fn each<'p, 'v>(
        &self,
        for_each: Option<&Expr>,
        ctx: &'p Context<'p, 'v>,
    ) -> Result<Vec<Context<'p, 'v>>, EvalError> {
        match for_each {
            None => Ok(vec![ctx.new_inner_scope()]),
            Some(expr) => {
                let items = self.list(expr, ctx)?;
                Ok(items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| {
                        let mut scope = ctx.new_inner_scope();
                        scope.add_variable_from_value("item", item.clone());
                        scope.add_variable_from_value("index", index as i64);
                        scope
                    })
                    .collect())
            }
        }
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::List(_) => "a list",
        Value::Map(_) => "a map",
        Value::Int(_) | Value::UInt(_) | Value::Float(_) => "a number",
        Value::String(_) => "a string",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
        _ => "another type",
    }
}

/// The engine's answer to one principle, as rules see it in `principles`.
#[derive(Debug, Clone, Serialize)]
struct PrincipleView {
    id: String,
    title: String,
    answer: Answer,
    reason: String,
    fields: Vec<String>,
}

/// Binds the declaration's top-level fields and `today` as variables.
fn root_context(decl: &Declaration, as_of: NaiveDate) -> Context<'static, 'static> {
    let mut ctx = Context::with_env(Arc::clone(crate::pack::env()));
    let mut bind = |name: &str, value: Result<Value, cel::SerializationError>| {
        // Serializing plain data (strings, booleans, lists, dates as strings) cannot fail.
        let value = value.expect("declaration fields serialize to CEL values");
        ctx.add_variable_from_value(name, value);
    };
    bind("greenlight", cel::to_value(&decl.greenlight));
    bind("production", cel::to_value(&decl.production));
    bind("use", cel::to_value(&decl.usage));
    bind("tools", cel::to_value(&decl.tools));
    bind("inputs", cel::to_value(&decl.inputs));
    bind("outputs", cel::to_value(&decl.outputs));
    bind("talent", cel::to_value(&decl.talent));
    bind("union_work", cel::to_value(&decl.union_work));
    bind("self_assessment", cel::to_value(&decl.self_assessment));
    ctx.add_variable_from_value("today", as_of.format("%Y-%m-%d").to_string());
    ctx
}

#[derive(Default)]
struct Results {
    principles: Option<BTreeMap<String, Answer>>,
    findings: Vec<Finding>,
    blockers: Vec<Blocker>,
    obligations: Vec<Obligation>,
}

/// Evaluates `decl` against `packs` (in order; a pack named twice is evaluated once).
///
/// ```
/// use greenlight_core::{evaluate, format::{parse, SourceKind}, pack::Pack, Outcome};
///
/// let parsed = parse(b"greenlight: declaration/v1
/// production: {title: Harbour Lights}
/// use: {ref: HL-1, summary: Mood board, purpose: ideation}
/// tools: [{name: Enterprise image model, enterprise_agreement: true, data_use: none}]
/// ", SourceKind::Yaml).unwrap();
/// let packs = [Pack::builtin("netflix-genai").unwrap()];
/// let result = evaluate(&parsed.declaration, &packs, chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()).unwrap();
/// assert_eq!(result.outcome, Outcome::Notify);
/// assert_eq!(result.findings[0].rule, "NFX-NOTIFY");
/// ```
pub fn evaluate(
    decl: &Declaration,
    packs: &[Arc<Pack>],
    as_of: NaiveDate,
) -> Result<CheckResult, EvalError> {
    let root = root_context(decl, as_of);
    let mut seen = HashSet::new();
    let mut results = Results::default();
    let mut policies = Vec::new();
    for pack in packs {
        if !seen.insert(pack.id().to_owned()) {
            continue;
        }
        policies.push(PackRef {
            id: pack.id().to_owned(),
            version: pack.version().to_owned(),
        });
        evaluate_pack(pack, &root, &mut results)?;
    }
    let outcome = results
        .findings
        .iter()
        .map(|f| f.outcome)
        .max()
        .unwrap_or(Outcome::Notify);
    let policy = policies.first().cloned().unwrap_or(PackRef {
        id: String::new(),
        version: String::new(),
    });
    Ok(CheckResult {
        outcome,
        principles: results.principles,
        findings: results.findings,
        blockers: results.blockers,
        obligations: results.obligations,
        policy,
        policies,
    })
}

fn evaluate_pack(pack: &Pack, root: &Context, out: &mut Results) -> Result<(), EvalError> {
    let pack_id = pack.id();
    let mut scope = root.new_inner_scope();

    for term in &pack.terms {
        let at = At {
            pack: pack_id,
            place: "term",
            id: &term.name,
        };
        let value = match &term.for_each {
            None => at.run(&term.value, &scope)?,
            Some(_) => {
                let values = at
                    .each(term.for_each.as_ref(), &scope)?
                    .iter()
                    .map(|ctx| at.run(&term.value, ctx))
                    .collect::<Result<Vec<_>, _>>()?;
                Value::List(Arc::new(values))
            }
        };
        scope.add_variable_from_value(term.name.as_str(), value);
    }

    if pack.defines_principles() {
        let mut views = Vec::with_capacity(pack.principles.len());
        for p in &pack.principles {
            let at = At {
                pack: pack_id,
                place: "principle",
                id: &p.id,
            };
            let (answer, matched) = match matching(&at, &p.not_met, &scope)? {
                Some(m) => (Answer::NotMet, Some(m)),
                None => match matching(&at, &p.unsure, &scope)? {
                    Some(m) => (Answer::Unsure, Some(m)),
                    None => (Answer::Met, None),
                },
            };
            let (reason, fields) = matched.unwrap_or_default();
            views.push(PrincipleView {
                id: p.id.clone(),
                title: p.title.clone(),
                answer,
                reason,
                fields,
            });
        }
        let answers = out.principles.get_or_insert_with(BTreeMap::new);
        for v in &views {
            answers.entry(v.id.clone()).or_insert(v.answer);
        }
        let value = cel::to_value(&views).expect("principle answers serialize to CEL values");
        scope.add_variable_from_value("principles", value);
    }

    for rule in &pack.rules {
        let at = At {
            pack: pack_id,
            place: "rule",
            id: &rule.id,
        };
        for ctx in at.each(rule.for_each.as_ref(), &scope)? {
            if !at.boolean(&rule.when, &ctx)? {
                continue;
            }
            let fields = at.strings(rule.fields.as_ref(), &ctx)?;
            let principle = match &rule.principle {
                PrincipleRef::None => None,
                PrincipleRef::Fixed(p) => Some(p.clone()),
                PrincipleRef::Computed(expr) => Some(at.string(expr, &ctx)?),
            };
            out.findings.push(Finding {
                rule: rule.id.clone(),
                pack: pack_id.to_owned(),
                outcome: rule.outcome,
                principle,
                message: at.text(&rule.message, &ctx)?,
                source: rule.source.clone(),
                fields: fields.clone(),
            });
            if let Some(b) = &rule.blocker {
                for bctx in at.each(b.for_each.as_ref(), &ctx)? {
                    let open = match &b.when {
                        None => true,
                        Some(expr) => at.boolean(expr, &bctx)?,
                    };
                    if !open {
                        continue;
                    }
                    let blocker_fields = match &b.fields {
                        None => fields.clone(),
                        Some(expr) => at.strings(Some(expr), &bctx)?,
                    };
                    out.blockers.push(Blocker {
                        rule: rule.id.clone(),
                        pack: pack_id.to_owned(),
                        message: at.text(&b.message, &bctx)?,
                        clears: b.clears.clone(),
                        fields: blocker_fields,
                    });
                }
            }
            if let Some(o) = &rule.obligation {
                out.obligations.push(Obligation {
                    rule: rule.id.clone(),
                    pack: pack_id.to_owned(),
                    kind: o.kind.clone(),
                    text: at.text(&o.text, &ctx)?,
                    due: at.string(&o.due, &ctx)?,
                    source: rule.source.clone(),
                    fields: fields.clone(),
                });
            }
        }
    }
    Ok(())
}

/// The reason and the fields of every matching condition, or `None` when none matches.
fn matching(
    at: &At,
    conditions: &[Condition],
    scope: &Context,
) -> Result<Option<(String, Vec<String>)>, EvalError> {
    let mut reason: Option<String> = None;
    let mut fields = Vec::new();
    for c in conditions {
        for ctx in at.each(c.for_each.as_ref(), scope)? {
            if at.boolean(&c.when, &ctx)? {
                reason.get_or_insert_with(|| c.reason.clone());
                for f in at.strings(c.fields.as_ref(), &ctx)? {
                    if !fields.contains(&f) {
                        fields.push(f);
                    }
                }
            }
        }
    }
    Ok(reason.map(|r| (r, fields)))
}

/// Sample declarations every pack is run against when it is loaded, so that a misspelt field,
/// a wrong type or a runtime error is reported at load time, naming the rule.
const DRY_RUN_SAMPLES: &[&str] = &[
    include_str!("../packs/samples/minimal.yaml"),
    include_str!("../packs/samples/everything-false.yaml"),
    include_str!("../packs/samples/everything-true.yaml"),
];

/// Evaluates a freshly compiled pack against the samples; any error names the rule.
pub(crate) fn dry_run(pack: &Pack) -> Result<(), PackError> {
    let dates = [
        NaiveDate::from_ymd_opt(2026, 1, 1),
        NaiveDate::from_ymd_opt(2027, 1, 1),
    ];
    for sample in DRY_RUN_SAMPLES {
        // The samples are part of the crate and tested (`dry_run_samples_are_valid`).
        let parsed = crate::format::parse(sample.as_bytes(), crate::format::SourceKind::Yaml)
            .expect("dry-run samples are valid declarations");
        for date in dates.iter().flatten() {
            let root = root_context(&parsed.declaration, *date);
            evaluate_pack(pack, &root, &mut Results::default())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_samples_are_valid() {
        for sample in DRY_RUN_SAMPLES {
            crate::format::parse(sample.as_bytes(), crate::format::SourceKind::Yaml).unwrap();
        }
    }
}
