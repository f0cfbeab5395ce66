//! Policy packs: rules as data, with conditions written in CEL.
//!
//! A pack is a YAML file (`packs/*.yaml` are built in; `greenlight check --policy FILE` loads
//! another). It names itself (`pack`, `version`), may define principles the engine answers from
//! the facts, may define *terms* (named CEL values reused by rules), and lists rules. Each rule
//! has an id, an outcome, a principle (or none), a source, a message, a CEL condition, the field
//! paths it points at, and optionally a blocker and an obligation. A rule with `for_each`
//! fires once per element of a list (bound as `item`, its position as `index`); a rule with
//! `otherwise` is considered only when no rule before it in the pack fired.
//!
//! Conditions are [CEL](https://cel.dev) expressions run by the `cel` crate; see
//! `docs/decisions/0001-policy-expression-language.md` for why CEL and the measurements.
//! Expressions see the declaration's top-level fields as variables (`production`, `use`,
//! `tools`, `inputs`, `outputs`, `talent`, `union_work`, `self_assessment`), `today`
//! (`YYYY-MM-DD`), the pack's terms, and `principles` (the engine's answers) when the pack
//! defines them. Optional fields that are absent are absent (`has(item.consent)`); dates are
//! `YYYY-MM-DD` strings, which compare correctly as strings, and `days(date)` counts calendar
//! days between them (`docs/policy-packs.md` lists the functions besides CEL's standard library).
//!
//! A pack is validated when loaded: unknown keys, duplicate ids, unknown principles and CEL
//! syntax errors are refused, and every expression is dry-run against built-in sample
//! declarations so a misspelt field or a wrong type is caught before any real check; each
//! error names the rule.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use cel::Env;
use serde::{Deserialize, Serialize};

use crate::outcome::Outcome;

/// The ids of the packs built into the binary, in the order `policy show` lists them.
pub const BUILTIN_IDS: &[&str] = &["netflix-genai", "eu-ai-act-art50", "sag-aftra-2023"];

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

pub(crate) const BUILTIN_SOURCES: &[(&str, &str)] = &[
    ("netflix-genai", include_str!("../packs/netflix-genai.yaml")),
    (
        "eu-ai-act-art50",
        include_str!("../packs/eu-ai-act-art50.yaml"),
    ),
    (
        "sag-aftra-2023",
        include_str!("../packs/sag-aftra-2023.yaml"),
    ),
];

/// Why a pack could not be loaded. Every variant names where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    /// The file is not a pack (bad YAML, unknown key, wrong type).
    #[error("not a valid pack file: {0}")]
    Syntax(String),
    /// A pack-level problem (missing id or version, duplicate ids).
    #[error("pack {pack}: {message}")]
    Pack { pack: String, message: String },
    /// A problem in one test of the pack.
    #[error("pack {pack}, test `{test}` (line {line}): {message}")]
    Test {
        pack: String,
        test: String,
        line: u64,
        message: String,
    },
    /// A problem in one rule, principle or term.
    #[error("pack {pack}, {place} `{id}`{}, {field}: {message}", at_line(*.line))]
    Item {
        pack: String,
        place: &'static str,
        id: String,
        /// The line of the item's id (or name) in the pack file, when known.
        line: Option<u64>,
        field: &'static str,
        message: String,
    },
}

fn at_line(line: Option<u64>) -> String {
    line.map(|l| format!(" (line {l})")).unwrap_or_default()
}

/// Where the items of a pack file start, read again only to place an error: unknown keys are
/// ignored here, the full reading has refused them already.
#[derive(Deserialize)]
struct Positions {
    #[serde(default)]
    principles: Vec<IdAt>,
    #[serde(default)]
    terms: Vec<NameAt>,
    #[serde(default)]
    rules: Vec<IdAt>,
    #[serde(default)]
    aggregates: Vec<IdAt>,
}

#[derive(Deserialize)]
struct IdAt {
    id: serde_saphyr::Spanned<String>,
}

#[derive(Deserialize)]
struct NameAt {
    name: serde_saphyr::Spanned<String>,
}

/// `err`, with the line of the item it names when `text` tells it (the last item of that id:
/// for an id defined twice, the second).
pub(crate) fn locate(text: &str, err: PackError) -> PackError {
    let PackError::Item {
        pack,
        place,
        id,
        line: None,
        field,
        message,
    } = err
    else {
        return err;
    };
    let line = serde_saphyr::from_str::<Positions>(text)
        .ok()
        .and_then(|p| {
            let ids = |items: &[IdAt]| {
                items
                    .iter()
                    .rfind(|i| i.id.value == id)
                    .map(|i| i.id.referenced.line())
            };
            match place {
                "rule" => ids(&p.rules),
                "principle" => ids(&p.principles),
                "aggregate rule" => ids(&p.aggregates),
                "term" => p
                    .terms
                    .iter()
                    .rfind(|t| t.name.value == id)
                    .map(|t| t.name.referenced.line()),
                _ => None,
            }
        });
    PackError::Item {
        pack,
        place,
        id,
        line,
        field,
        message,
    }
}

/// The pack file as written (deserialized with unknown keys refused).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackFile {
    /// The pack's id, e.g. `netflix-genai`.
    pub pack: String,
    /// The pack's version, e.g. `2025.08`.
    pub version: String,
    /// A title for people.
    #[serde(default)]
    pub title: String,
    /// What the pack encodes and where it comes from.
    #[serde(default)]
    pub description: String,
    /// Principles the engine answers from the facts (`met`, `not-met`, `unsure`).
    #[serde(default)]
    pub principles: Vec<PrincipleDef>,
    /// Named CEL values, evaluated in order, visible to later terms and to every rule.
    #[serde(default)]
    pub terms: Vec<TermDef>,
    /// The rules, in the order their findings are reported.
    pub rules: Vec<RuleDef>,
    /// Rules about a production rather than one use, evaluated over the production's live
    /// declarations (see [`crate::eval::evaluate_production`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aggregates: Vec<AggregateDef>,
    /// Tests of the pack: declarations and what checking them with this pack must give (see
    /// [`crate::packtest`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<TestDef>,
}

/// A production-level rule: CEL over `declarations`, the production's live declarations, each
/// `{ref, organisation, declaration, result}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregateDef {
    pub id: String,
    /// A short title for tables.
    #[serde(default)]
    pub title: String,
    /// How strict the production-level finding is.
    pub outcome: Outcome,
    /// The section of the source the rule comes from.
    pub source: String,
    /// A CEL list; the rule gives one finding per element that matches (`item`, `index`).
    #[serde(default)]
    pub for_each: Option<String>,
    /// CEL, boolean: the rule fires when true.
    pub when: String,
    /// The finding's message, as plain text...
    #[serde(default)]
    pub message: Option<String>,
    /// ...or as a CEL string expression.
    #[serde(default)]
    pub message_expr: Option<String>,
    /// CEL, list of strings: the `ref`s of the declarations the finding concerns (default:
    /// every declaration's).
    #[serde(default)]
    pub declarations: Option<String>,
}

/// A test of a pack: a declaration (or a production's declarations) and what a check with the
/// pack alone must give.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestDef {
    /// Unique in the pack; its position is kept for error messages.
    pub name: serde_saphyr::Spanned<String>,
    /// The declaration: a path relative to the pack file, or an inline mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declaration: Option<TestDeclaration>,
    /// A production's declarations, for tests of aggregate rules (instead of `declaration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declarations: Option<Vec<TestDeclaration>>,
    /// The date to evaluate as of (`YYYY-MM-DD`; default: the runner's date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    /// What the check must give; a key left out is not checked.
    pub expect: TestExpect,
}

/// Where a test's declaration comes from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TestDeclaration {
    /// A path relative to the pack file.
    Path(String),
    /// `{organisation, declaration}`: a declaration (a path or inline) and the organisation
    /// that declared it, for aggregate rules about organisations.
    Declared(Declared),
    /// The declaration itself, written in the pack.
    Inline(serde_json::Map<String, serde_json::Value>),
}

/// A test declaration with the organisation that declared it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declared {
    pub organisation: String,
    pub declaration: Box<TestDeclaration>,
}

impl TestDeclaration {
    /// The declaration (a path or inline) and the organisation given with it, if any; `None`
    /// when an organisation wraps another (refused when the pack loads).
    pub fn parts(&self) -> Option<(&TestDeclaration, Option<&str>)> {
        match self {
            TestDeclaration::Declared(d) => match &*d.declaration {
                TestDeclaration::Declared(_) => None,
                inner => Some((inner, Some(d.organisation.as_str()))),
            },
            other => Some((other, None)),
        }
    }
}

/// What a test expects. Sets are compared as sets (order and repeats do not matter).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestExpect {
    /// The outcome: required for a `declaration` test, refused for a `declarations` one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Exactly the ids of the rules that fire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<String>>,
    /// The rule ids of the open blockers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blockers: Option<Vec<String>>,
    /// The obligation kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obligations: Option<Vec<String>>,
    /// The engine's answer to each principle named (others are not checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principles: Option<std::collections::BTreeMap<String, crate::declaration::Answer>>,
    /// The ids of the aggregate rules that fire over the test's declarations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production_findings: Option<Vec<String>>,
}

/// A principle and the conditions that answer it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipleDef {
    pub id: String,
    pub title: String,
    /// Any matching condition makes the answer `not-met`.
    #[serde(default)]
    pub not_met: Vec<ConditionDef>,
    /// Otherwise, any matching condition makes it `unsure`.
    #[serde(default)]
    pub unsure: Vec<ConditionDef>,
}

/// A condition of a principle answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionDef {
    /// Why the condition matters, in a producer's words.
    pub reason: String,
    /// A CEL list; the condition is tested once per element (`item`, `index`).
    #[serde(default)]
    pub for_each: Option<String>,
    /// CEL, boolean.
    pub when: String,
    /// CEL, list of field paths.
    #[serde(default)]
    pub fields: Option<String>,
}

/// A named value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TermDef {
    pub name: String,
    /// What the term means.
    #[serde(default)]
    pub description: String,
    /// A CEL list; the term is then the list of `value` for each element (`item`, `index`).
    #[serde(default)]
    pub for_each: Option<String>,
    /// CEL.
    pub value: String,
}

/// A rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    pub id: String,
    /// A short title for tables.
    #[serde(default)]
    pub title: String,
    pub outcome: Outcome,
    /// The principle the rule belongs to, or none.
    #[serde(default)]
    pub principle: Option<String>,
    /// CEL giving the principle per finding (for rules about "the principle concerned").
    #[serde(default)]
    pub principle_expr: Option<String>,
    /// The section of the source the rule comes from.
    pub source: String,
    /// A CEL list; the rule gives one finding per element that matches (`item`, `index`).
    #[serde(default)]
    pub for_each: Option<String>,
    /// CEL, boolean: the rule fires when true.
    pub when: String,
    /// The rule is considered only when no rule before it in the pack has fired: a finding
    /// that says "nothing else applies" (put it last).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub otherwise: bool,
    /// CEL, list of field paths the finding points at.
    #[serde(default)]
    pub fields: Option<String>,
    /// The finding's message, as plain text...
    #[serde(default)]
    pub message: Option<String>,
    /// ...or as a CEL string expression.
    #[serde(default)]
    pub message_expr: Option<String>,
    /// A requirement to record before the use may proceed.
    #[serde(default)]
    pub blocker: Option<BlockerDef>,
    /// Something someone must do.
    #[serde(default)]
    pub obligation: Option<ObligationDef>,
}

/// A blocker a rule opens.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockerDef {
    /// A CEL list; one blocker per element (`item`, `index`) instead of one per finding.
    #[serde(default)]
    pub for_each: Option<String>,
    /// CEL, boolean: the blocker is open when true (default: whenever the rule fires).
    #[serde(default)]
    pub when: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub message_expr: Option<String>,
    /// What clears the blocker, in a producer's words.
    #[serde(default)]
    pub clears: String,
    /// CEL, list of field paths (default: the rule's).
    #[serde(default)]
    pub fields: Option<String>,
}

/// An obligation a rule produces.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObligationDef {
    /// A short stable word (`keep-marking`, `label`).
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub text_expr: Option<String>,
    /// CEL, string: when it is due.
    pub due: String,
}

/// A compiled expression with the text it came from.
#[derive(Debug)]
pub(crate) struct Expr {
    /// The tree the evaluator runs: the program's, with [`cheap_negations`] applied.
    pub(crate) tree: cel::IdedExpr,
    pub(crate) text: String,
    pub(crate) field: &'static str,
}

/// Rewrites every `!x` in `expr` as `x ? false : true`.
///
/// The `cel` crate (0.15) builds the overload error of `!` (a `String`, a `Vec` of type names)
/// before it looks at the operand, on every evaluation, in case the operand is not a boolean;
/// its `exists` and `all` macros expand into a `!` evaluated at every element. The conditional
/// gives the same value for a boolean operand, and an error for any other, building nothing
/// when there is none: about 2 % of an evaluation's instructions, most of them allocations.
fn cheap_negations(expr: &mut cel::IdedExpr) {
    use cel::common::ast::{EntryExpr, Expr as E, LiteralValue, operators};
    match &mut expr.expr {
        E::Call(call) => {
            if let Some(target) = &mut call.target {
                cheap_negations(target);
            }
            call.args.iter_mut().for_each(cheap_negations);
            if call.func_name == operators::LOGICAL_NOT
                && call.target.is_none()
                && call.args.len() == 1
            {
                let literal = |b: bool| cel::IdedExpr {
                    id: expr.id,
                    expr: E::Literal(LiteralValue::Boolean(b.into())),
                };
                call.func_name = operators::CONDITIONAL.to_owned();
                call.args.push(literal(false));
                call.args.push(literal(true));
            }
        }
        E::Comprehension(c) => {
            for part in [
                &mut c.iter_range,
                &mut c.accu_init,
                &mut c.loop_cond,
                &mut c.loop_step,
                &mut c.result,
            ] {
                cheap_negations(part);
            }
        }
        E::List(list) => list.elements.iter_mut().for_each(cheap_negations),
        E::Map(map) => map.entries.iter_mut().for_each(|e| match &mut e.expr {
            EntryExpr::MapEntry(entry) => {
                cheap_negations(&mut entry.key);
                cheap_negations(&mut entry.value);
            }
            EntryExpr::StructField(field) => cheap_negations(&mut field.value),
        }),
        E::Struct(st) => st.entries.iter_mut().for_each(|e| match &mut e.expr {
            EntryExpr::MapEntry(entry) => {
                cheap_negations(&mut entry.key);
                cheap_negations(&mut entry.value);
            }
            EntryExpr::StructField(field) => cheap_negations(&mut field.value),
        }),
        E::Select(select) => cheap_negations(&mut select.operand),
        E::Ident(_) | E::Literal(_) | E::Unspecified => {}
    }
}

/// Text that is either fixed or computed.
#[derive(Debug)]
pub(crate) enum Text {
    Fixed(String),
    Computed(Expr),
}

#[derive(Debug)]
pub(crate) struct Condition {
    pub(crate) reason: String,
    pub(crate) for_each: Option<Expr>,
    pub(crate) when: Expr,
    pub(crate) fields: Option<Expr>,
}

#[derive(Debug)]
pub(crate) struct Principle {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) not_met: Vec<Condition>,
    pub(crate) unsure: Vec<Condition>,
}

#[derive(Debug)]
pub(crate) struct Term {
    pub(crate) name: String,
    pub(crate) for_each: Option<Expr>,
    pub(crate) value: Expr,
    /// The value, when it depends on no declaration (a list of kinds, say): computed once,
    /// when the pack is loaded, by [`crate::eval::constant_terms`].
    pub(crate) constant: Option<Box<dyn cel::common::value::Val>>,
}

#[derive(Debug)]
pub(crate) enum PrincipleRef {
    None,
    Fixed(String),
    Computed(Expr),
}

#[derive(Debug)]
pub(crate) struct Rule {
    pub(crate) id: String,
    pub(crate) outcome: Outcome,
    pub(crate) principle: PrincipleRef,
    pub(crate) source: String,
    pub(crate) for_each: Option<Expr>,
    pub(crate) when: Expr,
    pub(crate) otherwise: bool,
    pub(crate) fields: Option<Expr>,
    pub(crate) message: Text,
    pub(crate) blocker: Option<Blocker>,
    pub(crate) obligation: Option<Obligation>,
}

#[derive(Debug)]
pub(crate) struct Blocker {
    pub(crate) for_each: Option<Expr>,
    pub(crate) when: Option<Expr>,
    pub(crate) message: Text,
    pub(crate) clears: String,
    pub(crate) fields: Option<Expr>,
}

#[derive(Debug)]
pub(crate) struct Obligation {
    pub(crate) kind: String,
    pub(crate) text: Text,
    pub(crate) due: Expr,
}

#[derive(Debug)]
pub(crate) struct Aggregate {
    pub(crate) id: String,
    pub(crate) outcome: Outcome,
    pub(crate) source: String,
    pub(crate) for_each: Option<Expr>,
    pub(crate) when: Expr,
    pub(crate) message: Text,
    pub(crate) declarations: Option<Expr>,
}

/// A loaded, validated pack, ready to evaluate.
#[derive(Debug)]
pub struct Pack {
    file: PackFile,
    digest: String,
    pub(crate) principles: Vec<Principle>,
    pub(crate) terms: Vec<Term>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) aggregates: Vec<Aggregate>,
}

/// How a pack is loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Refuse tests whose declarations are paths (a pack held where there are no files beside
    /// it, such as one uploaded to the server): every test must carry its declarations inline.
    pub inline_tests_only: bool,
}

/// The SHA-256 of a pack's source text, in lowercase hex: with `id@version`, a pack's identity
/// (two texts that differ in a byte are different packs, even under the same name).
///
/// ```
/// let d = greenlight_core::pack::digest("pack: x\n");
/// assert_eq!(d.len(), 64);
/// assert_ne!(d, greenlight_core::pack::digest("pack: y\n"));
/// ```
pub fn digest(text: &str) -> String {
    use sha2::Digest as _;
    use std::fmt::Write as _;
    let hash = sha2::Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in hash.iter() {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// Splits a pack name `id@version` into its id and version; `None` when `text` has no `@`.
/// Either part may be empty: callers refuse that with their own words.
///
/// ```
/// assert_eq!(greenlight_core::pack::parse_name("netflix-genai@2025.08"), Some(("netflix-genai", "2025.08")));
/// assert_eq!(greenlight_core::pack::parse_name("netflix-genai"), None);
/// ```
pub fn parse_name(text: &str) -> Option<(&str, &str)> {
    text.split_once('@')
}

/// The CEL environment every pack is compiled and run with: the standard library and the
/// functions of [`crate::functions`].
pub(crate) fn env() -> &'static Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        // Registering on a fresh standard environment cannot collide; tested by
        // `builtin_packs_load` and the functions' own tests.
        crate::functions::register(&mut env)
            .unwrap_or_else(|e| panic!("the pack functions register on a fresh environment: {e}"));
        Arc::new(env)
    })
}

struct Compiler<'a> {
    pack: &'a str,
    place: &'static str,
    id: &'a str,
}

impl Compiler<'_> {
    fn error(&self, field: &'static str, message: impl Into<String>) -> PackError {
        PackError::Item {
            pack: self.pack.to_owned(),
            place: self.place,
            id: self.id.to_owned(),
            line: None,
            field,
            message: message.into(),
        }
    }

    fn expr(&self, field: &'static str, text: &str) -> Result<Expr, PackError> {
        let program = env()
            .compile(text)
            .map_err(|e| self.error(field, format!("not a valid CEL expression: {e}")))?;
        let mut tree = program.expression().clone();
        cheap_negations(&mut tree);
        Ok(Expr {
            tree,
            text: text.to_owned(),
            field,
        })
    }

    fn opt(&self, field: &'static str, text: Option<&String>) -> Result<Option<Expr>, PackError> {
        text.map(|t| self.expr(field, t)).transpose()
    }

    fn text(
        &self,
        field: &'static str,
        fixed: Option<&String>,
        computed: Option<&String>,
    ) -> Result<Text, PackError> {
        match (fixed, computed) {
            (Some(t), None) => Ok(Text::Fixed(t.clone())),
            (None, Some(e)) => Ok(Text::Computed(self.expr(field, e)?)),
            (Some(_), Some(_)) => Err(self.error(
                field,
                format!("give either `{field}` or `{field}_expr`, not both"),
            )),
            (None, None) => {
                Err(self.error(field, format!("`{field}` (or `{field}_expr`) is required")))
            }
        }
    }

    fn condition(&self, c: &ConditionDef) -> Result<Condition, PackError> {
        Ok(Condition {
            reason: c.reason.clone(),
            for_each: self.opt("for_each", c.for_each.as_ref())?,
            when: self.expr("when", &c.when)?,
            fields: self.opt("fields", c.fields.as_ref())?,
        })
    }
}

impl Pack {
    /// The source text of a built-in pack.
    pub fn builtin_source(id: &str) -> Option<&'static str> {
        BUILTIN_SOURCES
            .iter()
            .find(|(pid, _)| *pid == id)
            .map(|(_, text)| *text)
    }

    /// The ids of the built-in packs.
    pub fn builtin_ids() -> &'static [&'static str] {
        BUILTIN_IDS
    }

    /// The pack's id.
    pub fn id(&self) -> &str {
        &self.file.pack
    }

    /// The pack's version.
    pub fn version(&self) -> &str {
        &self.file.version
    }

    /// The pack's name, `id@version`.
    pub fn name(&self) -> String {
        format!("{}@{}", self.file.pack, self.file.version)
    }

    /// The SHA-256 of the text the pack was loaded from (see [`digest`]).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Whether the pack has aggregate (production-level) rules.
    pub fn has_aggregates(&self) -> bool {
        !self.aggregates.is_empty()
    }

    /// The pack as written: title, description, principles, terms and rules.
    pub fn file(&self) -> &PackFile {
        &self.file
    }

    /// Whether the pack defines principles (and so a check reports `principles`).
    pub fn defines_principles(&self) -> bool {
        !self.principles.is_empty()
    }

    pub(crate) fn compile(file: PackFile, digest: String) -> Result<Pack, PackError> {
        let pack_id = file.pack.trim();
        let pack_error = |message: &str| PackError::Pack {
            pack: file.pack.clone(),
            message: message.to_owned(),
        };
        if pack_id.is_empty() {
            return Err(pack_error("`pack` (the pack id) must not be empty"));
        }
        if file.version.trim().is_empty() {
            return Err(pack_error("`version` must not be empty"));
        }
        if file.rules.is_empty() {
            return Err(pack_error("a pack needs at least one rule"));
        }

        let mut principle_ids = HashSet::new();
        let mut principles = Vec::new();
        for p in &file.principles {
            let c = Compiler {
                pack: pack_id,
                place: "principle",
                id: &p.id,
            };
            if p.id.trim().is_empty() {
                return Err(c.error("id", "must not be empty"));
            }
            if !principle_ids.insert(p.id.clone()) {
                return Err(c.error("id", "is defined twice"));
            }
            principles.push(Principle {
                id: p.id.clone(),
                title: p.title.clone(),
                not_met: p
                    .not_met
                    .iter()
                    .map(|x| c.condition(x))
                    .collect::<Result<_, _>>()?,
                unsure: p
                    .unsure
                    .iter()
                    .map(|x| c.condition(x))
                    .collect::<Result<_, _>>()?,
            });
        }

        let mut names: HashSet<String> = RESERVED_NAMES.iter().map(|s| (*s).to_owned()).collect();
        let mut terms = Vec::new();
        for t in &file.terms {
            let c = Compiler {
                pack: pack_id,
                place: "term",
                id: &t.name,
            };
            let valid_name = t
                .name
                .chars()
                .next()
                .is_some_and(|ch| ch.is_ascii_alphabetic() || ch == '_')
                && t.name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
            if !valid_name {
                return Err(c.error(
                    "name",
                    "must be an identifier (letters, digits, underscores)",
                ));
            }
            if !names.insert(t.name.clone()) {
                return Err(c.error("name", "is already used by a declaration field, a built-in variable or an earlier term"));
            }
            terms.push(Term {
                name: t.name.clone(),
                for_each: c.opt("for_each", t.for_each.as_ref())?,
                value: c.expr("value", &t.value)?,
                constant: None,
            });
        }

        let mut rule_ids = HashSet::new();
        let mut rules = Vec::new();
        for r in &file.rules {
            let c = Compiler {
                pack: pack_id,
                place: "rule",
                id: &r.id,
            };
            if r.id.trim().is_empty() {
                return Err(PackError::Pack {
                    pack: pack_id.to_owned(),
                    message: format!("rule number {} has an empty id", rules.len() + 1),
                });
            }
            if !rule_ids.insert(r.id.clone()) {
                return Err(c.error("id", "is defined twice"));
            }
            let principle = match (&r.principle, &r.principle_expr) {
                (Some(_), Some(_)) => {
                    return Err(c.error(
                        "principle",
                        "give either `principle` or `principle_expr`, not both",
                    ));
                }
                (Some(p), None) => {
                    if !principle_ids.contains(p) {
                        return Err(c.error(
                            "principle",
                            format!("`{p}` is not a principle this pack defines"),
                        ));
                    }
                    PrincipleRef::Fixed(p.clone())
                }
                (None, Some(e)) => PrincipleRef::Computed(c.expr("principle_expr", e)?),
                (None, None) => PrincipleRef::None,
            };
            let blocker = r
                .blocker
                .as_ref()
                .map(|b| -> Result<Blocker, PackError> {
                    Ok(Blocker {
                        for_each: c.opt("blocker.for_each", b.for_each.as_ref())?,
                        when: c.opt("blocker.when", b.when.as_ref())?,
                        message: c.text(
                            "blocker.message",
                            b.message.as_ref(),
                            b.message_expr.as_ref(),
                        )?,
                        clears: b.clears.clone(),
                        fields: c.opt("blocker.fields", b.fields.as_ref())?,
                    })
                })
                .transpose()?;
            let obligation = r
                .obligation
                .as_ref()
                .map(|o| -> Result<Obligation, PackError> {
                    if o.kind.trim().is_empty() {
                        return Err(c.error("obligation.kind", "must not be empty"));
                    }
                    Ok(Obligation {
                        kind: o.kind.clone(),
                        text: c.text("obligation.text", o.text.as_ref(), o.text_expr.as_ref())?,
                        due: c.expr("obligation.due", &o.due)?,
                    })
                })
                .transpose()?;
            rules.push(Rule {
                id: r.id.clone(),
                outcome: r.outcome,
                principle,
                source: r.source.clone(),
                for_each: c.opt("for_each", r.for_each.as_ref())?,
                when: c.expr("when", &r.when)?,
                otherwise: r.otherwise,
                fields: c.opt("fields", r.fields.as_ref())?,
                message: c.text("message", r.message.as_ref(), r.message_expr.as_ref())?,
                blocker,
                obligation,
            });
        }
        let mut aggregates = Vec::new();
        for a in &file.aggregates {
            let c = Compiler {
                pack: pack_id,
                place: "aggregate rule",
                id: &a.id,
            };
            if a.id.trim().is_empty() {
                return Err(PackError::Pack {
                    pack: pack_id.to_owned(),
                    message: format!(
                        "aggregate rule number {} has an empty id",
                        aggregates.len() + 1
                    ),
                });
            }
            // One namespace with the rules: a finding's `rule` names one thing.
            if !rule_ids.insert(a.id.clone()) {
                return Err(c.error("id", "is defined twice"));
            }
            aggregates.push(Aggregate {
                id: a.id.clone(),
                outcome: a.outcome,
                source: a.source.clone(),
                for_each: c.opt("for_each", a.for_each.as_ref())?,
                when: c.expr("when", &a.when)?,
                message: c.text("message", a.message.as_ref(), a.message_expr.as_ref())?,
                declarations: c.opt("declarations", a.declarations.as_ref())?,
            });
        }
        Ok(Pack {
            principles,
            terms,
            rules,
            aggregates,
            file,
            digest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `!x` rewritten as a conditional gives what `!x` gives: the same value for a boolean, an
    /// error for anything else, also inside the macros that expand into `!`.
    #[test]
    fn rewritten_negations_evaluate_as_the_originals() {
        let env = Arc::clone(env());
        let mut ctx = cel::Context::with_env(Arc::clone(&env));
        ctx.add_variable_from_value("t", true);
        ctx.add_variable_from_value("n", 3);
        ctx.add_variable_from_value("xs", vec![1, 2, 3]);
        for text in [
            "!t",
            "!!t",
            "!false",
            "!n",
            "!(n > 2)",
            "!missing",
            "!t || !n",
            "!n || true",
            "xs.exists(x, !(x > 2))",
            "xs.all(x, !(x > 5))",
            "xs.exists_one(x, !(x == 2))",
            "!xs.exists(x, x == 9)",
            "xs.filter(x, !(x == 2)).map(x, !(x > 1))",
            "{'k': !t}.k",
            "[!t, !false][1]",
            "!{'a': true}.a",
        ] {
            let program = env.compile(text).expect("compiles");
            let mut tree = program.expression().clone();
            cheap_negations(&mut tree);
            let original = cel::Value::resolve_val(program.expression(), &ctx)
                .map(|v| cel::Value::try_from(&*v).expect("converts"));
            let rewritten = cel::Value::resolve_val(&tree, &ctx)
                .map(|v| cel::Value::try_from(&*v).expect("converts"));
            match (&original, &rewritten) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{text}"),
                (Err(_), Err(_)) => {}
                _ => panic!("{text}: {original:?} became {rewritten:?}"),
            }
        }
    }

    #[test]
    fn builtin_packs_load() {
        for id in BUILTIN_IDS {
            let pack = Pack::builtin(id).expect("every built-in id has a pack");
            assert_eq!(pack.id(), *id);
        }
        assert!(Pack::builtin("nope").is_none());
    }

    fn minimal_pack(rule: &str) -> String {
        format!("pack: test\nversion: '1'\nrules:\n{rule}")
    }

    #[test]
    fn a_syntax_error_names_the_rule() {
        let err = Pack::from_yaml(&minimal_pack(
            "  - {id: R-1, outcome: notify, source: s, message: m, when: 'outputs.final &&'}\n",
        ))
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("R-1") && text.contains("when"), "{text}");
    }

    #[test]
    fn a_misspelt_field_is_caught_when_loading() {
        let err = Pack::from_yaml(&minimal_pack(
            "  - {id: R-2, outcome: review, source: s, message: m, when: 'outputs.finall'}\n",
        ))
        .unwrap_err();
        assert!(err.to_string().contains("R-2"), "{err}");
    }

    #[test]
    fn a_rule_error_names_the_line_of_the_rule() {
        let ok = "  - {id: R-1, outcome: notify, source: s, message: m, when: 'true'}\n";
        let bad = "  - id: R-2\n    outcome: review\n    source: s\n    message: m\n    when: 'outputs.finall'\n";
        let err = Pack::from_yaml(&minimal_pack(&format!("{ok}{bad}")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("rule `R-2` (line 5), when"), "{err}");
        // For an id defined twice, the line of the second.
        let err = Pack::from_yaml(&minimal_pack(&format!("{ok}{ok}")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("rule `R-1` (line 5)"), "{err}");
    }

    #[test]
    fn a_condition_that_is_not_boolean_is_refused() {
        let err = Pack::from_yaml(&minimal_pack(
            "  - {id: R-3, outcome: review, source: s, message: m, when: 'use.summary'}\n",
        ))
        .unwrap_err();
        assert!(
            err.to_string().contains("R-3") && err.to_string().contains("boolean"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_rule_ids_are_refused() {
        let rule = "  - {id: R-4, outcome: notify, source: s, message: m, when: 'true'}\n";
        let err = Pack::from_yaml(&minimal_pack(&format!("{rule}{rule}"))).unwrap_err();
        assert!(
            err.to_string().contains("R-4") && err.to_string().contains("twice"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_outcome_is_refused() {
        let err = Pack::from_yaml(&minimal_pack(
            "  - {id: R-5, outcome: maybe, source: s, message: m, when: 'true'}\n",
        ))
        .unwrap_err();
        assert!(matches!(err, PackError::Syntax(_)), "{err}");
    }

    #[test]
    fn an_unknown_principle_is_refused() {
        let err = Pack::from_yaml(&minimal_pack(
            "  - {id: R-6, outcome: notify, principle: p9, source: s, message: m, when: 'true'}\n",
        ))
        .unwrap_err();
        assert!(err.to_string().contains("p9"), "{err}");
    }
}
