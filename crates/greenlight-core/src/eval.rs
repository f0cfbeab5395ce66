//! The evaluator: a declaration and one or more packs in, a [`CheckResult`] out.
//!
//! Pure: today's date comes in as an argument, nothing is read from the environment.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use cel::common::types::{CelBool, CelInt, CelList, CelString};
use cel::common::value::{Builtin, BuiltinRef, Val};
use cel::{Context, Value};
use chrono::NaiveDate;

use typed_arena::Arena;

use crate::celval::{Item, Record, Shared, Variables};
use crate::declaration::{Answer, Declaration};
use crate::outcome::Outcome;
use crate::pack::{Condition, Expr, Pack, PackError, PrincipleRef, Text};
use crate::wire::{Blocker, CheckResult, Finding, Obligation, PackRef, ProductionFinding};

/// An expression failed while evaluating (a pack error that the load-time dry run missed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EvalError(pub Box<EvalErrorDetails>);

/// Where and why an expression failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pack {pack}, {place} `{id}`, {field}: {message} (in `{expression}`)")]
pub struct EvalErrorDetails {
    pub pack: String,
    pub place: &'static str,
    pub id: String,
    pub field: &'static str,
    pub expression: String,
    pub message: String,
}

impl From<EvalError> for PackError {
    fn from(e: EvalError) -> Self {
        let e = *e.0;
        PackError::Item {
            pack: e.pack,
            place: e.place,
            id: e.id,
            line: None,
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
        EvalError(Box::new(EvalErrorDetails {
            pack: self.pack.to_owned(),
            place: self.place,
            id: self.id.to_owned(),
            field: expr.field,
            expression: expr.text.clone(),
            message: message.into(),
        }))
    }

    /// Evaluates to a CEL value kept in CEL's own representation, ready to bind as a variable
    /// (converting through `cel::Value` would copy it twice).
    fn run_val<'v>(
        &self,
        expr: &Expr,
        ctx: &Context<'_, 'v>,
    ) -> Result<Box<dyn Val + 'v>, EvalError> {
        Value::resolve_val(&expr.tree, ctx)
            .map(|v| v.into_owned())
            .map_err(|e| self.error(expr, e.to_string()))
    }

    fn boolean(&self, expr: &Expr, ctx: &Context) -> Result<bool, EvalError> {
        let value =
            Value::resolve_val(&expr.tree, ctx).map_err(|e| self.error(expr, e.to_string()))?;
        match value.downcast_ref::<CelBool>() {
            Some(b) => Ok(*b.inner()),
            None => Err(self.error(
                expr,
                format!("expected a boolean, got {}", value.get_type().name()),
            )),
        }
    }

    fn string(&self, expr: &Expr, ctx: &Context) -> Result<String, EvalError> {
        let value =
            Value::resolve_val(&expr.tree, ctx).map_err(|e| self.error(expr, e.to_string()))?;
        match value.downcast_ref::<CelString>() {
            Some(s) => Ok(s.inner().to_owned()),
            None => Err(self.error(
                expr,
                format!("expected a string, got {}", value_type_name(&*value)),
            )),
        }
    }

    /// A list of field paths, read where the interpreter left it (rather than converted to a
    /// `cel::Value` first).
    fn strings(&self, expr: Option<&Expr>, ctx: &Context) -> Result<Vec<String>, EvalError> {
        let Some(expr) = expr else {
            return Ok(Vec::new());
        };
        let value =
            Value::resolve_val(&expr.tree, ctx).map_err(|e| self.error(expr, e.to_string()))?;
        let Some(list) = value.downcast_ref::<CelList>() else {
            return Err(self.error(
                expr,
                format!("expected a list, got {}", value_type_name(&*value)),
            ));
        };
        list.iter()
            .map(|v| match v.downcast_ref::<CelString>() {
                Some(s) => Ok(s.inner().to_owned()),
                None => Err(self.error(
                    expr,
                    format!(
                        "expected a list of field paths (strings), found {}",
                        value_type_name(v.as_ref())
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
    /// Each element's `item` and `index` are kept in `items`, which outlives the contexts.
    ///
    /// The contexts' values may borrow for `'d`, as long as both the data (`'v`) and `items`
    /// live; not for as long as `ctx` is borrowed, so what is computed in them can outlive it.
    fn each<'p, 'd: 'p, 'v: 'd, 'a: 'd>(
        &self,
        for_each: Option<&Expr>,
        ctx: &'p Context<'p, 'v>,
        items: &'a Arena<Item<'v>>,
    ) -> Result<Vec<Context<'p, 'd>>, EvalError> {
        let parent: &'p Context<'p, 'd> = ctx;
        let Some(expr) = for_each else {
            return Ok(vec![parent.new_inner_scope()]);
        };
        let mut scopes = Vec::new();
        self.elements(expr, ctx, |element, index| {
            let item: &'a Item<'v> = items.alloc(Item::new(element, index));
            let mut scope = parent.new_inner_scope();
            scope.set_variable_resolver(item);
            scopes.push(scope);
        })?;
        Ok(scopes)
    }

    /// Calls `f` with a copy of each element of the list `expr` gives in `ctx`, and its index.
    /// The list is iterated where it lives; copying an element is cheap, as the declaration's
    /// lists and records are `Shared`.
    fn elements<'v>(
        &self,
        expr: &Expr,
        ctx: &Context<'_, 'v>,
        mut f: impl FnMut(Box<dyn Val + 'v>, i64),
    ) -> Result<(), EvalError> {
        let list =
            Value::resolve_val(&expr.tree, ctx).map_err(|e| self.error(expr, e.to_string()))?;
        let Some(iterable) = list.as_iterable() else {
            return Err(self.error(
                expr,
                format!("expected a list, got {}", list.get_type().name()),
            ));
        };
        let mut elements = iterable.iter();
        let mut index = 0i64;
        while let Some(element) = elements.next() {
            f(element.clone_as_boxed(), index);
            index += 1;
        }
        Ok(())
    }

    /// `expr` in each scope of `for_each`, when every value is a scalar, a string or a list of
    /// them (as a term's per-element flags and indexes are): such values are copied out of the
    /// scopes, which then need no variables of their own. `None` when a value is of another
    /// type; the caller evaluates again with [`At::each_in`].
    fn detached_each(
        &self,
        expr: &Expr,
        for_each: Option<&Expr>,
        ctx: &Context,
    ) -> Result<Option<Vec<Box<dyn Val + 'static>>>, EvalError> {
        let items = Arena::new();
        let mut values = Vec::new();
        for scope in self.each(for_each, ctx, &items)? {
            let value = Value::resolve_val(&expr.tree, &scope)
                .map_err(|e| self.error(expr, e.to_string()))?;
            match crate::celval::detach(&*value) {
                Some(v) => values.push(v),
                None => return Ok(None),
            }
        }
        Ok(Some(values))
    }

    /// As [`At::each`], with the elements bound as the scopes' own variables: for a term's
    /// `for_each` (a term's values are bound for the rest of the pack, so they must not borrow
    /// from the scopes' resolvers) and a blocker's (met only when its rule fires).
    fn each_in<'p, 'v>(
        &self,
        for_each: Option<&Expr>,
        ctx: &'p Context<'p, 'v>,
    ) -> Result<Vec<Context<'p, 'v>>, EvalError> {
        let Some(expr) = for_each else {
            return Ok(vec![ctx.new_inner_scope()]);
        };
        let mut scopes = Vec::new();
        self.elements(expr, ctx, |element, index| {
            let mut scope = ctx.new_inner_scope();
            scope.add_variable_as_val("item", element);
            scope.add_variable_as_val("index", Box::new(CelInt::from(index)));
            scopes.push(scope);
        })?;
        Ok(scopes)
    }
}

/// The per-element scopes of the `for_each` lists met in one phase of a pack's evaluation, so
/// that several rules iterating the same list (`inputs`, `tools`, `talent`) build its scopes
/// once. Keyed by the expression's text; valid while the parent scope does not change.
struct ScopeCache<'p, 'y, 'd, 'v, 'a> {
    parent: &'y Context<'y, 'v>,
    items: &'a Arena<Item<'v>>,
    lists: HashMap<&'p str, Vec<Context<'y, 'd>>, foldhash::fast::FixedState>,
}

impl<'p, 'y, 'd: 'y, 'v: 'd, 'a: 'd> ScopeCache<'p, 'y, 'd, 'v, 'a> {
    fn new(parent: &'y Context<'y, 'v>, items: &'a Arena<Item<'v>>) -> Self {
        ScopeCache {
            parent,
            items,
            lists: HashMap::default(),
        }
    }

    fn get(
        &mut self,
        at: &At,
        for_each: Option<&'p Expr>,
    ) -> Result<&[Context<'y, 'd>], EvalError> {
        let Some(expr) = for_each else {
            // A rule without `for_each` runs in the root scope itself: one scope fewer for the
            // interpreter to search for every name.
            let root: &'y Context<'y, 'd> = self.parent;
            return Ok(std::slice::from_ref(root));
        };
        let key = expr.text.as_str();
        if !self.lists.contains_key(key) {
            let scopes = at.each(Some(expr), self.parent, self.items)?;
            self.lists.insert(key, scopes);
        }
        Ok(self.lists.get(key).map(Vec::as_slice).unwrap_or_default())
    }
}

/// How an error message names the type of a value.
fn value_type_name(value: &dyn Val) -> &'static str {
    match value.get_type().name() {
        "list" => "a list",
        "map" => "a map",
        "int" | "uint" | "double" => "a number",
        "string" => "a string",
        "bool" => "a boolean",
        "null_type" => "null",
        _ => "another type",
    }
}

/// The engine's answer to one principle, as rules see it in `principles`.
#[derive(Debug, Clone)]
struct PrincipleView<'p> {
    id: &'p str,
    title: &'p str,
    answer: Answer,
    reason: &'p str,
    fields: Vec<String>,
}

impl<'p> PrincipleView<'p> {
    /// `{id, title, answer, reason, fields}` as a CEL map, borrowing the pack's text.
    fn into_val(self) -> Box<dyn Val + 'p> {
        let fields: Vec<Box<dyn Val>> = self
            .fields
            .into_iter()
            .map(|f| Box::new(CelString::from(f)) as Box<dyn Val>)
            .collect();
        let text = |s: &'p str| -> Box<dyn Val + 'p> { Box::new(CelString::from(s)) };
        Box::new(Shared::new(Record::new(vec![
            (Cow::Borrowed("id"), text(self.id)),
            (Cow::Borrowed("title"), text(self.title)),
            (Cow::Borrowed("answer"), text(self.answer.as_str())),
            (Cow::Borrowed("reason"), text(self.reason)),
            (
                Cow::Borrowed("fields"),
                Box::new(Shared::new(CelList::from(fields))),
            ),
        ])))
    }
}

/// The declaration as the expressions see it, built once per evaluation: its top-level fields
/// as CEL values (as its JSON form has them), and `today`.
struct Facts {
    fields: Vec<(&'static str, Box<dyn Val + 'static>)>,
    today: String,
}

impl Facts {
    fn new(decl: &Declaration, as_of: NaiveDate) -> Facts {
        let fields = match crate::celval::fields_of(decl) {
            Ok(fields) => fields,
            // A declaration is a struct of plain data with string keys: it always converts.
            Err(e) => unreachable!("a declaration converts to CEL values: {e}"),
        };
        Facts {
            fields,
            today: as_of.format("%Y-%m-%d").to_string(),
        }
    }

    /// The declaration's top-level fields and `today`, as variables. Lists and maps are shared
    /// with `self`, not copied.
    fn variables(&self) -> Variables<'_> {
        let mut vars = Variables::default();
        for (name, value) in &self.fields {
            vars.insert(name, value.clone());
        }
        vars.insert("today", Box::new(CelString::from(self.today.as_str())));
        vars
    }
}

/// A root context whose variables are `vars`.
fn root_context<'r>(vars: &'r Variables<'_>) -> Context<'r, 'r> {
    let mut ctx = Context::with_env(Arc::clone(crate::pack::env()));
    ctx.set_variable_resolver(vars);
    ctx
}

/// `value`, with a built-in list or map moved behind a [`Shared`] so that binding it again
/// does not copy it.
fn share<'v>(value: Box<dyn Val + 'v>) -> Box<dyn Val + 'v> {
    if !matches!(value.as_builtin(), BuiltinRef::List(_) | BuiltinRef::Map(_)) {
        return value;
    }
    match value.into_builtin() {
        Some(Builtin::List(list)) => Box::new(Shared::new(list)),
        Some(Builtin::Map(map)) => Box::new(Shared::new(map)),
        // `as_builtin` answered a list or a map, so `into_builtin` returns it.
        _ => unreachable!("a built-in container converts to itself"),
    }
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
    check_with(decl, packs.iter().map(|p| &**p), as_of)
}

/// [`evaluate`] over borrowed packs.
pub(crate) fn check_with<'p>(
    decl: &Declaration,
    packs: impl IntoIterator<Item = &'p Pack>,
    as_of: NaiveDate,
) -> Result<CheckResult, EvalError> {
    let facts = Facts::new(decl, as_of);
    let base = facts.variables();
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
        evaluate_pack(pack, &base, &mut results)?;
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

/// One of a production's live declarations, as aggregate rules see it: an element of
/// `declarations`, `{ref, organisation, declaration, result}`.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct LiveDeclaration<'a> {
    /// How production-level findings name the declaration: the use's ref on the command line,
    /// the declaration's id on the server.
    #[serde(rename = "ref")]
    pub reference: &'a str,
    /// The organisation that declared the use, when known (null otherwise).
    pub organisation: Option<&'a str>,
    /// The effective declaration.
    pub declaration: &'a Declaration,
    /// Its check result with the same packs.
    pub result: &'a CheckResult,
}

/// Evaluates the aggregate rules of `packs` (in order; a pack named twice is evaluated once)
/// over a production's live declarations, giving production-level findings in pack order, then
/// rule order.
///
/// Aggregate expressions see `declarations` (a list of [`LiveDeclaration`]s, each with
/// `declaration` as rules see a declaration and `result` as a check returns it) and `today`.
pub fn evaluate_production(
    decls: &[LiveDeclaration<'_>],
    packs: &[Arc<Pack>],
    as_of: NaiveDate,
) -> Result<Vec<ProductionFinding>, EvalError> {
    production_with(decls, packs.iter().map(|p| &**p), as_of)
}

pub(crate) fn production_with<'p>(
    decls: &[LiveDeclaration<'_>],
    packs: impl IntoIterator<Item = &'p Pack>,
    as_of: NaiveDate,
) -> Result<Vec<ProductionFinding>, EvalError> {
    let mut seen = HashSet::new();
    let packs: Vec<&Pack> = packs
        .into_iter()
        .filter(|p| seen.insert(p.id().to_owned()) && p.has_aggregates())
        .collect();
    let mut out = Vec::new();
    if packs.is_empty() {
        return Ok(out);
    }
    let list = match crate::celval::to_val(decls) {
        Ok(list) => list,
        // Declarations and results are plain data with string keys: they always convert.
        Err(e) => unreachable!("declarations convert to CEL values: {e}"),
    };
    let today = as_of.format("%Y-%m-%d").to_string();
    let every_ref: Vec<String> = decls.iter().map(|d| d.reference.to_owned()).collect();
    for pack in packs {
        let mut ctx = Context::with_env(Arc::clone(crate::pack::env()));
        ctx.add_variable_as_val("declarations", list.clone());
        ctx.add_variable_as_val("today", Box::new(CelString::from(today.as_str())));
        for rule in &pack.aggregates {
            let at = At {
                pack: pack.id(),
                place: "aggregate rule",
                id: &rule.id,
            };
            for scope in at.each_in(rule.for_each.as_ref(), &ctx)? {
                if !at.boolean(&rule.when, &scope)? {
                    continue;
                }
                let declarations = match &rule.declarations {
                    Some(expr) => at.strings(Some(expr), &scope)?,
                    None => every_ref.clone(),
                };
                out.push(ProductionFinding {
                    rule: rule.id.clone(),
                    pack: pack.id().to_owned(),
                    outcome: rule.outcome,
                    message: at.text(&rule.message, &scope)?,
                    source: rule.source.clone(),
                    declarations,
                });
            }
        }
    }
    Ok(out)
}

fn evaluate_pack<'v>(
    pack: &'v Pack,
    base: &Variables<'v>,
    out: &mut Results,
) -> Result<(), EvalError> {
    let pack_id = pack.id();
    // Each term sees the declaration and the terms before it; the terms join the declaration's
    // fields in one table, and the principles after them, so that the rules resolve every name
    // with one lookup.
    let mut vars = base.clone();
    if !flat_terms(pack, &mut vars)? {
        vars = base.clone();
        scoped_terms(pack, base, &mut vars)?;
    }

    if pack.defines_principles() {
        let mut views = Vec::with_capacity(pack.principles.len());
        {
            let items = Arena::new();
            let root = root_context(&vars);
            let mut cache = ScopeCache::new(&root, &items);
            for p in &pack.principles {
                let at = At {
                    pack: pack_id,
                    place: "principle",
                    id: &p.id,
                };
                let (answer, matched) = match matching(&at, &p.not_met, &mut cache)? {
                    Some(m) => (Answer::NotMet, Some(m)),
                    None => match matching(&at, &p.unsure, &mut cache)? {
                        Some(m) => (Answer::Unsure, Some(m)),
                        None => (Answer::Met, None),
                    },
                };
                let (reason, fields) = matched.unwrap_or_default();
                views.push(PrincipleView {
                    id: &p.id,
                    title: &p.title,
                    answer,
                    reason,
                    fields,
                });
            }
        }
        let answers = out.principles.get_or_insert_with(BTreeMap::new);
        for v in &views {
            answers.entry(v.id.to_owned()).or_insert(v.answer);
        }
        let list: Vec<Box<dyn Val>> = views.into_iter().map(PrincipleView::into_val).collect();
        vars.insert("principles", Box::new(Shared::new(CelList::from(list))));
    }

    let items = Arena::new();
    let root = root_context(&vars);
    let mut cache = ScopeCache::new(&root, &items);
    let findings_before = out.findings.len();
    for rule in &pack.rules {
        if rule.otherwise && out.findings.len() > findings_before {
            continue;
        }
        let at = At {
            pack: pack_id,
            place: "rule",
            id: &rule.id,
        };
        for ctx in cache.get(&at, rule.for_each.as_ref())? {
            if !at.boolean(&rule.when, ctx)? {
                continue;
            }
            let fields = at.strings(rule.fields.as_ref(), ctx)?;
            let principle = match &rule.principle {
                PrincipleRef::None => None,
                PrincipleRef::Fixed(p) => Some(p.clone()),
                PrincipleRef::Computed(expr) => Some(at.string(expr, ctx)?),
            };
            out.findings.push(Finding {
                rule: rule.id.clone(),
                pack: pack_id.to_owned(),
                outcome: rule.outcome,
                principle,
                message: at.text(&rule.message, ctx)?,
                source: rule.source.clone(),
                fields: fields.clone(),
            });
            if let Some(b) = &rule.blocker {
                for bctx in at.each_in(b.for_each.as_ref(), ctx)? {
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
                    text: at.text(&o.text, ctx)?,
                    due: at.string(&o.due, ctx)?,
                    source: rule.source.clone(),
                    fields: fields.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Computes the pack's terms into `vars`, each in a root scope whose resolver is `vars` itself,
/// so that a term costs later expressions one lookup. Each value is copied out of the scope it
/// was computed in ([`crate::celval::detach`]); `false` when one cannot be (a value of a type
/// that cannot be copied), for [`scoped_terms`] to do instead.
fn flat_terms<'v>(pack: &'v Pack, vars: &mut Variables<'v>) -> Result<bool, EvalError> {
    for term in &pack.terms {
        let at = At {
            pack: pack.id(),
            place: "term",
            id: &term.name,
        };
        let value: Option<Box<dyn Val + 'static>> = {
            let root = root_context(vars);
            match (&term.constant, &term.for_each) {
                (Some(constant), _) => Some(constant.clone()),
                (None, None) => {
                    let value = Value::resolve_val(&term.value.tree, &root)
                        .map_err(|e| at.error(&term.value, e.to_string()))?;
                    crate::celval::detach(&*value)
                }
                (None, Some(_)) => at
                    .detached_each(&term.value, term.for_each.as_ref(), &root)?
                    .map(|values| {
                        Box::new(Shared::new(CelList::from(values))) as Box<dyn Val + 'static>
                    }),
            }
        };
        match value {
            Some(value) => vars.insert(&term.name, value),
            None => return Ok(false),
        }
    }
    Ok(true)
}

/// Computes the pack's terms into `vars` in a scope of their own, which later terms search
/// before the declaration's fields: for terms whose values [`flat_terms`] cannot copy.
fn scoped_terms<'v>(
    pack: &'v Pack,
    base: &'v Variables<'v>,
    vars: &mut Variables<'v>,
) -> Result<(), EvalError> {
    let root = root_context(base);
    let mut scope = root.new_inner_scope();
    for term in &pack.terms {
        let at = At {
            pack: pack.id(),
            place: "term",
            id: &term.name,
        };
        let value: Box<dyn Val> = match (&term.constant, &term.for_each) {
            (Some(constant), _) => constant.clone(),
            (None, None) => share(at.run_val(&term.value, &scope)?),
            (None, Some(_)) => {
                let values = at
                    .each_in(term.for_each.as_ref(), &scope)?
                    .iter()
                    .map(|ctx| at.run_val(&term.value, ctx))
                    .collect::<Result<Vec<_>, _>>()?;
                Box::new(Shared::new(CelList::from(values)))
            }
        };
        scope.add_variable_as_val(term.name.as_str(), value.clone());
        vars.insert(&term.name, value);
    }
    Ok(())
}

/// The reason and the fields of every matching condition, or `None` when none matches.
fn matching<'p, 'y, 'd: 'y, 'v: 'd, 'a: 'd>(
    at: &At,
    conditions: &'p [Condition],
    cache: &mut ScopeCache<'p, 'y, 'd, 'v, 'a>,
) -> Result<Option<(&'p str, Vec<String>)>, EvalError> {
    let mut reason: Option<&'p str> = None;
    let mut fields = Vec::new();
    for c in conditions {
        for ctx in cache.get(at, c.for_each.as_ref())? {
            if at.boolean(&c.when, ctx)? {
                reason.get_or_insert(c.reason.as_str());
                for f in at.strings(c.fields.as_ref(), ctx)? {
                    if !fields.contains(&f) {
                        fields.push(f);
                    }
                }
            }
        }
    }
    Ok(reason.map(|r| (r, fields)))
}

/// Computes the terms that depend on no declaration (`["third-party", "unknown"]`): those
/// without `for_each` that evaluate with only the constant terms before them in scope, to a
/// value that borrows nothing. A term that names anything else fails to resolve here, and is
/// left to each evaluation.
pub(crate) fn constant_terms(terms: &mut [crate::pack::Term]) {
    let mut known: Vec<(String, Box<dyn Val>)> = Vec::new();
    for term in terms.iter_mut().filter(|t| t.for_each.is_none()) {
        let mut vars = Variables::default();
        for (name, value) in &known {
            vars.insert(name, value.clone());
        }
        let constant = {
            let ctx = root_context(&vars);
            Value::resolve_val(&term.value.tree, &ctx)
                .ok()
                .and_then(|v| crate::celval::detach(&*v))
        };
        drop(vars);
        if let Some(value) = constant {
            known.push((term.name.clone(), value.clone()));
            term.constant = Some(value);
        }
    }
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
            let facts = Facts::new(&parsed.declaration, *date);
            evaluate_pack(pack, &facts.variables(), &mut Results::default())?;
        }
    }
    if pack.has_aggregates() {
        let parsed = DRY_RUN_SAMPLES
            .iter()
            .map(|s| crate::format::parse(s.as_bytes(), crate::format::SourceKind::Yaml))
            .collect::<Result<Vec<_>, _>>()
            .expect("dry-run samples are valid declarations");
        for date in dates.iter().flatten() {
            let results = parsed
                .iter()
                .map(|p| check_with(&p.declaration, [pack], *date))
                .collect::<Result<Vec<_>, _>>()?;
            let live: Vec<LiveDeclaration> = parsed
                .iter()
                .zip(&results)
                .map(|(p, r)| LiveDeclaration {
                    reference: &p.declaration.usage.reference,
                    organisation: Some("Sample Vendor"),
                    declaration: &p.declaration,
                    result: r,
                })
                .collect();
            production_with(&[], [pack], *date)?;
            production_with(&live, [pack], *date)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Terms whose values are maps cannot be copied out of their scope: the pack is evaluated
    /// with its terms in a scope of their own, with the same answers.
    #[test]
    fn terms_that_cannot_be_copied_are_evaluated_in_a_scope() {
        let pack = Pack::from_yaml(
            r#"
pack: maps
version: "1"
terms:
  - name: owners
    value: '{"studio": "ours", "third-party": "theirs"}'
  - name: first_tool
    for_each: tools
    value: item
  - name: named
    value: first_tool.map(t, t.name)
rules:
  - id: OURS
    outcome: review
    source: test
    for_each: inputs
    when: item.owner in owners && owners[item.owner] == "ours"
    message_expr: '"input of " + owners[item.owner] + " with " + named[0]'
"#,
        )
        .expect("pack loads");
        let parsed = crate::format::parse(
            b"greenlight: declaration/v1
production: {title: T}
use: {ref: R-1, summary: S, purpose: ideation}
tools: [{name: Studio model, enterprise_agreement: true, data_use: none}]
inputs:
  - {kind: footage, description: dailies, owner: studio}
  - {kind: reference-image, description: board, owner: third-party}
",
            crate::format::SourceKind::Yaml,
        )
        .expect("valid");
        let date = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
        let facts = Facts::new(&parsed.declaration, date);
        let pack = Arc::new(pack);
        let mut vars = facts.variables();
        assert!(
            !flat_terms(&pack, &mut vars).expect("evaluates"),
            "a map is not copied out"
        );
        drop(vars);
        let result = evaluate(&parsed.declaration, &[pack], date).expect("evaluates");
        let messages: Vec<_> = result.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(messages, ["input of ours with Studio model"]);
    }

    #[test]
    fn only_terms_that_depend_on_no_declaration_are_constant() {
        let pack = Pack::builtin("netflix-genai").expect("built in");
        let constant = |name: &str| {
            pack.terms
                .iter()
                .find(|t| t.name == name)
                .map(|t| t.constant.is_some())
        };
        assert_eq!(constant("unowned"), Some(true));
        assert_eq!(constant("mention_types"), Some(true));
        assert_eq!(constant("input_kinds"), Some(false), "reads `inputs`");
        assert_eq!(constant("consent_valid"), Some(false), "has `for_each`");
        let eu = Pack::builtin("eu-ai-act-art50").expect("built in");
        assert!(
            eu.terms
                .iter()
                .filter(|t| t.constant.is_some())
                .all(|t| t.name != "in_force"),
            "`in_force` reads the production's release date"
        );
    }

    #[test]
    fn dry_run_samples_are_valid() {
        for sample in DRY_RUN_SAMPLES {
            crate::format::parse(sample.as_bytes(), crate::format::SourceKind::Yaml).unwrap();
        }
    }
}
