//! Reads a [`Declaration`] from the positioned tree, collecting every problem.
//!
//! Written by hand rather than derived with serde because the format asks for things a derive
//! cannot give together: all problems in one run, the field path and position of each, scalars
//! kept as written in string fields (`ref: 007` is "007"), YAML 1.2 core booleans only, `null`
//! refused except where the spec makes a field nullable, and the same rules for YAML and JSON.

use chrono::NaiveDate;

use super::tree::{Node, Value, is_bool, is_null};
use super::{FormatError, Parsed, Problem, SourceMap};
use crate::declaration::*;

/// Most problems listed for one file.
const MAX_PROBLEMS: usize = 200;

struct Reader {
    problems: Vec<Problem>,
    map: SourceMap,
}

/// The entries of one mapping being read: tracks which keys were used so the rest can be
/// reported as unknown.
struct Fields<'a> {
    path: String,
    entries: Vec<(&'a str, &'a Node, &'a Node)>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl Reader {
    fn problem(&mut self, path: &str, node: &Node, message: impl Into<String>) {
        self.problems.push(Problem {
            path: (!path.is_empty()).then(|| path.to_owned()),
            line: Some(node.pos.line),
            column: Some(node.pos.column),
            offset: Some(node.pos.offset),
            message: message.into(),
        });
    }

    /// Opens a mapping: reports a non-mapping, duplicate keys and non-string keys.
    fn mapping<'a>(&mut self, node: &'a Node, path: &str) -> Option<Fields<'a>> {
        let Value::Map(entries) = &node.value else {
            self.problem(
                path,
                node,
                format!("expected a mapping, found {}", node.describe()),
            );
            return None;
        };
        let mut fields = Fields {
            path: path.to_owned(),
            entries: Vec::with_capacity(entries.len()),
        };
        for (key, value) in entries {
            let Value::Scalar { text, .. } = &key.value else {
                self.problem(path, key, "mapping keys must be plain field names");
                continue;
            };
            if fields.entries.iter().any(|(k, _, _)| *k == text.as_str()) {
                self.problem(&join(path, text), key, format!("duplicate key `{text}`"));
                continue;
            }
            self.map.insert(join(path, text), key.pos);
            fields.entries.push((text.as_str(), key, value));
        }
        Some(fields)
    }

    /// Reports the keys of `fields` that are not in `allowed`.
    fn finish(&mut self, fields: Fields<'_>, allowed: &[&str]) {
        for (key, key_node, _) in &fields.entries {
            if !allowed.contains(key) {
                let hint = allowed
                    .iter()
                    .filter(|a| strsim::damerau_levenshtein(a, key) <= 2)
                    .map(|a| format!(" (did you mean `{a}`?)"))
                    .next()
                    .unwrap_or_default();
                let message = format!(
                    "unknown field `{key}`{hint}; expected one of: {}",
                    allowed.join(", ")
                );
                self.problem(&join(&fields.path, key), key_node, message);
            }
        }
    }

    fn string_value(&mut self, path: &str, node: &Node, non_empty: bool) -> Option<String> {
        match &node.value {
            Value::Scalar { text, plain } => {
                if *plain && is_null(text) {
                    self.problem(path, node, "expected a string, found null");
                    None
                } else if non_empty && text.trim().is_empty() {
                    self.problem(path, node, "must not be empty");
                    None
                } else {
                    Some(text.clone())
                }
            }
            _ => {
                self.problem(
                    path,
                    node,
                    format!("expected a string, found {}", node.describe()),
                );
                None
            }
        }
    }

    fn bool_value(&mut self, path: &str, node: &Node) -> Option<bool> {
        if let Value::Scalar { text, plain: true } = &node.value
            && let Some(b) = is_bool(text)
        {
            return Some(b);
        }
        self.problem(
            path,
            node,
            format!("expected true or false, found {}", node.describe()),
        );
        None
    }

    fn enum_value<T>(
        &mut self,
        path: &str,
        node: &Node,
        parse: fn(&str) -> Option<T>,
        allowed: &[&str],
    ) -> Option<T> {
        if let Value::Scalar { text, plain } = &node.value
            && !(*plain && is_null(text))
        {
            if let Some(v) = parse(text) {
                return Some(v);
            }
            let hint = closest(text, allowed)
                .map(|a| format!(" (did you mean {a:?}?)"))
                .unwrap_or_default();
            let message = format!("{:?} is not one of {}{hint}", text, allowed.join(", "));
            self.problem(path, node, message);
            return None;
        }
        self.problem(
            path,
            node,
            format!(
                "expected one of {}, found {}",
                allowed.join(", "),
                node.describe()
            ),
        );
        None
    }

    fn date_value(&mut self, path: &str, node: &Node) -> Option<NaiveDate> {
        if let Value::Scalar { text, plain } = &node.value
            && !(*plain && is_null(text))
        {
            if let Some(date) = parse_iso_date(text) {
                return Some(date);
            }
            self.problem(
                path,
                node,
                format!("{text:?} is not a date; expected YYYY-MM-DD (a real calendar date)"),
            );
            return None;
        }
        self.problem(
            path,
            node,
            format!("expected a date YYYY-MM-DD, found {}", node.describe()),
        );
        None
    }

    fn list<'a>(&mut self, path: &str, node: &'a Node) -> Option<&'a [Node]> {
        match &node.value {
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.map.insert(format!("{path}[{i}]"), item.pos);
                }
                Some(items)
            }
            _ => {
                self.problem(
                    path,
                    node,
                    format!("expected a list, found {}", node.describe()),
                );
                None
            }
        }
    }
}

/// The allowed value a mistyped one most likely meant (`de-ageing` for `re-ageing`,
/// `Replica` for `replica`, `pre_production` for `pre-production`): the nearest by edit
/// distance, ignoring case and `_` for `-`, when it is near enough to be a slip rather than
/// another word. The closed sets stay closed: this only names the value to write.
fn closest<'a>(text: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let typed = text.trim().to_lowercase().replace('_', "-");
    let (distance, best) = allowed
        .iter()
        .map(|a| (strsim::damerau_levenshtein(&typed, a), *a))
        .min_by_key(|(d, _)| *d)?;
    let near = distance <= 2.max(typed.chars().count() / 4);
    near.then_some(best)
}

/// Strict `YYYY-MM-DD` with a real calendar date.
pub(crate) fn parse_iso_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

impl<'a> Fields<'a> {
    fn take(&self, key: &str) -> Option<(&'a Node, &'a Node)> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, k, v)| (*k, *v))
    }

    fn value(&self, key: &str) -> Option<&'a Node> {
        self.take(key).map(|(_, v)| v)
    }

    fn path(&self, key: &str) -> String {
        join(&self.path, key)
    }
}

/// A field reader: `$r` the reader, `$f` the fields, `$owner` the node that owns the fields
/// (where a missing required field is reported).
macro_rules! required {
    ($r:expr, $f:expr, $owner:expr, $key:literal, $read:expr) => {{
        match $f.value($key) {
            Some(node) => $read($r, &$f.path($key), node),
            None => {
                let path = $f.path($key);
                // The path already names the field: say what is wrong with it.
                $r.problem(&path, $owner, "this field is required");
                None
            }
        }
    }};
}

fn read_optional<T>(
    r: &mut Reader,
    f: &Fields<'_>,
    key: &str,
    read: impl FnOnce(&mut Reader, &str, &Node) -> Option<T>,
) -> Option<Option<T>> {
    match f.value(key) {
        Some(node) => read(r, &f.path(key), node).map(Some),
        None => Some(None),
    }
}

fn with_default<T>(
    r: &mut Reader,
    f: &Fields<'_>,
    key: &str,
    default: T,
    read: impl FnOnce(&mut Reader, &str, &Node) -> Option<T>,
) -> Option<T> {
    match f.value(key) {
        Some(node) => read(r, &f.path(key), node),
        None => Some(default),
    }
}

fn string(r: &mut Reader, path: &str, node: &Node) -> Option<String> {
    r.string_value(path, node, false)
}

fn required_string(r: &mut Reader, path: &str, node: &Node) -> Option<String> {
    r.string_value(path, node, true)
}

fn boolean(r: &mut Reader, path: &str, node: &Node) -> Option<bool> {
    r.bool_value(path, node)
}

fn date(r: &mut Reader, path: &str, node: &Node) -> Option<NaiveDate> {
    r.date_value(path, node)
}

macro_rules! enum_reader {
    ($fn_name:ident, $ty:ty) => {
        fn $fn_name(r: &mut Reader, path: &str, node: &Node) -> Option<$ty> {
            r.enum_value(path, node, <$ty>::parse, <$ty>::ALLOWED)
        }
    };
}
enum_reader!(production_kind, ProductionKind);
enum_reader!(stage, Stage);
enum_reader!(purpose, Purpose);
enum_reader!(data_use, DataUse);
enum_reader!(input_kind, InputKind);
enum_reader!(owner, Owner);
enum_reader!(mention_type, MentionType);
enum_reader!(prominence, Prominence);
enum_reader!(media, Media);
enum_reader!(treatment, Treatment);
enum_reader!(talent_exception, TalentException);
enum_reader!(consent_by, ConsentBy);
enum_reader!(answer, Answer);
enum_reader!(agreement, Agreement);
enum_reader!(genre, Genre);
enum_reader!(role, Role);
enum_reader!(replica_origin, ReplicaOrigin);
enum_reader!(feature, Feature);

/// Reads a list field whose items are read by `item`; `None` if the list or any item failed.
fn list_of<T>(
    r: &mut Reader,
    path: &str,
    node: &Node,
    item: fn(&mut Reader, &str, &Node) -> Option<T>,
) -> Option<Vec<T>> {
    let items = r.list(path, node)?;
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, n) in items.iter().enumerate() {
        match item(r, &format!("{path}[{i}]"), n) {
            Some(v) => out.push(v),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// Reads a list field whose values may each appear once (`outputs.media`,
/// `production.agreements`); a repeated value is a problem naming the field.
fn unique_list_of<T: PartialEq + std::fmt::Display>(
    r: &mut Reader,
    path: &str,
    node: &Node,
    item: fn(&mut Reader, &str, &Node) -> Option<T>,
) -> Option<Vec<T>> {
    let list = list_of(r, path, node, item)?;
    for (i, value) in list.iter().enumerate() {
        if list[..i].contains(value) {
            r.problem(
                path,
                node,
                format!("{:?} is listed more than once", value.to_string()),
            );
            return None;
        }
    }
    Some(list)
}

/// Reads the whole declaration from the document root.
pub fn declaration(root: &Node) -> Result<Parsed, FormatError> {
    let mut r = Reader {
        problems: Vec::new(),
        map: SourceMap::default(),
    };
    let decl = read_declaration(&mut r, root);
    match decl {
        Some(declaration) if r.problems.is_empty() => Ok(Parsed {
            declaration,
            source_map: r.map,
        }),
        _ => {
            let mut problems = r.problems;
            problems.sort_by_key(|p| p.offset.unwrap_or(0));
            let total = problems.len();
            // A hostile file can hold hundreds of thousands of bad keys: list the first ones.
            problems.truncate(MAX_PROBLEMS);
            let summary = match total {
                1 => "the declaration has 1 problem".to_owned(),
                n if n > MAX_PROBLEMS => format!(
                    "the declaration has {n} problems (the first {MAX_PROBLEMS} are listed)"
                ),
                n => format!("the declaration has {n} problems"),
            };
            Err(FormatError { summary, problems })
        }
    }
}

const ROOT_FIELDS: &[&str] = &[
    "greenlight",
    "production",
    "use",
    "tools",
    "inputs",
    "outputs",
    "talent",
    "union_work",
    "self_assessment",
];

fn read_declaration(r: &mut Reader, root: &Node) -> Option<Declaration> {
    let Value::Map(_) = &root.value else {
        r.problem(
            "",
            root,
            format!(
                "the root of a declaration must be a mapping, found {}",
                root.describe()
            ),
        );
        return None;
    };
    let f = r.mapping(root, "")?;
    let greenlight = required!(
        r,
        f,
        root,
        "greenlight",
        |r: &mut Reader, path: &str, node: &Node| {
            let text = r.string_value(path, node, false)?;
            if text == FORMAT_MARKER {
                Some(text)
            } else {
                r.problem(
                    path,
                    node,
                    format!("{text:?} is not a known format; expected {FORMAT_MARKER:?}"),
                );
                None
            }
        }
    );
    let production = required!(r, f, root, "production", read_production);
    let usage = required!(r, f, root, "use", read_use);
    let tools = required!(
        r,
        f,
        root,
        "tools",
        |r: &mut Reader, path: &str, node: &Node| {
            let tools = list_of(r, path, node, read_tool)?;
            if tools.is_empty() {
                r.problem(path, node, "at least one tool is required");
                return None;
            }
            Some(tools)
        }
    );
    let inputs = with_default(r, &f, "inputs", Vec::new(), |r, p, n| {
        list_of(r, p, n, read_input)
    });
    let outputs = with_default(r, &f, "outputs", Outputs::default(), read_outputs);
    let talent = with_default(r, &f, "talent", Vec::new(), |r, p, n| {
        list_of(r, p, n, read_talent)
    });
    let union_work = with_default(r, &f, "union_work", UnionWork::default(), read_union_work);
    let self_assessment = with_default(
        r,
        &f,
        "self_assessment",
        SelfAssessment::default(),
        read_self_assessment,
    );
    r.finish(f, ROOT_FIELDS);
    Some(Declaration {
        greenlight: greenlight?,
        production: production?,
        usage: usage?,
        tools: tools?,
        inputs: inputs?,
        outputs: outputs?,
        talent: talent?,
        union_work: union_work?,
        self_assessment: self_assessment?,
    })
}

fn read_production(r: &mut Reader, path: &str, node: &Node) -> Option<Production> {
    let f = r.mapping(node, path)?;
    let title = required!(r, f, node, "title", required_string);
    let kind = with_default(r, &f, "kind", ProductionKind::Scripted, production_kind);
    let eu_release = with_default(r, &f, "eu_release", false, boolean);
    let release_date = read_optional(r, &f, "release_date", date);
    let agreements = with_default(r, &f, "agreements", Vec::new(), |r, p, n| {
        unique_list_of(r, p, n, agreement)
    });
    r.finish(
        f,
        &["title", "kind", "eu_release", "release_date", "agreements"],
    );
    Some(Production {
        title: title?,
        kind: kind?,
        eu_release: eu_release?,
        release_date: release_date?,
        agreements: agreements?,
    })
}

fn read_use(r: &mut Reader, path: &str, node: &Node) -> Option<Use> {
    let f = r.mapping(node, path)?;
    let reference = required!(r, f, node, "ref", required_string);
    let summary = required!(r, f, node, "summary", required_string);
    let stage = with_default(r, &f, "stage", Stage::PreProduction, stage);
    let purpose = with_default(r, &f, "purpose", Purpose::Other, purpose);
    let genre = with_default(r, &f, "genre", Genre::None, genre);
    r.finish(f, &["ref", "summary", "stage", "purpose", "genre"]);
    Some(Use {
        reference: reference?,
        summary: summary?,
        stage: stage?,
        purpose: purpose?,
        genre: genre?,
    })
}

fn read_tool(r: &mut Reader, path: &str, node: &Node) -> Option<Tool> {
    let f = r.mapping(node, path)?;
    let name = required!(r, f, node, "name", required_string);
    let vendor = read_optional(r, &f, "vendor", string);
    let enterprise_agreement = with_default(r, &f, "enterprise_agreement", false, boolean);
    let data_use = with_default(r, &f, "data_use", DataUse::Unknown, data_use);
    let terms_reviewed = read_optional(r, &f, "terms_reviewed", date);
    r.finish(
        f,
        &[
            "name",
            "vendor",
            "enterprise_agreement",
            "data_use",
            "terms_reviewed",
        ],
    );
    Some(Tool {
        name: name?,
        vendor: vendor?,
        enterprise_agreement: enterprise_agreement?,
        data_use: data_use?,
        terms_reviewed: terms_reviewed?,
    })
}

fn read_input(r: &mut Reader, path: &str, node: &Node) -> Option<Input> {
    let f = r.mapping(node, path)?;
    let kind = required!(r, f, node, "kind", input_kind);
    let owner = with_default(r, &f, "owner", Owner::Own, owner);
    let cleared = with_default(r, &f, "cleared", false, boolean);
    let description = read_optional(r, &f, "description", string);
    let mentions = with_default(r, &f, "mentions", Vec::new(), |r, p, n| {
        list_of(r, p, n, read_mention)
    });
    r.finish(f, &["kind", "owner", "cleared", "description", "mentions"]);
    Some(Input {
        kind: kind?,
        owner: owner?,
        cleared: cleared?,
        description: description?,
        mentions: mentions?,
    })
}

fn read_mention(r: &mut Reader, path: &str, node: &Node) -> Option<Mention> {
    let f = r.mapping(node, path)?;
    let kind = required!(r, f, node, "type", mention_type);
    let name = required!(r, f, node, "name", string);
    let feature = with_default(r, &f, "feature", Feature::None, feature);
    r.finish(f, &["type", "name", "feature"]);
    Some(Mention {
        kind: kind?,
        name: name?,
        feature: feature?,
    })
}

const OUTPUT_FIELDS: &[&str] = &[
    "final",
    "prominence",
    "key_creative",
    "depicts_real_people",
    "presented_as_real",
    "media",
    "realistic",
    "resembles_existing",
    "public_interest_text",
    "editorial_review",
];

fn read_outputs(r: &mut Reader, path: &str, node: &Node) -> Option<Outputs> {
    let f = r.mapping(node, path)?;
    let d = Outputs::default();
    let is_final = with_default(r, &f, "final", d.is_final, boolean);
    let prominence = with_default(r, &f, "prominence", d.prominence, prominence);
    let key_creative = with_default(r, &f, "key_creative", d.key_creative, boolean);
    let depicts_real_people =
        with_default(r, &f, "depicts_real_people", d.depicts_real_people, boolean);
    let presented_as_real = with_default(r, &f, "presented_as_real", d.presented_as_real, boolean);
    let media = with_default(r, &f, "media", Vec::new(), |r, p, n| {
        unique_list_of(r, p, n, media)
    });
    let realistic = with_default(r, &f, "realistic", d.realistic, boolean);
    let resembles_existing =
        with_default(r, &f, "resembles_existing", d.resembles_existing, boolean);
    let public_interest_text = with_default(
        r,
        &f,
        "public_interest_text",
        d.public_interest_text,
        boolean,
    );
    let editorial_review = with_default(r, &f, "editorial_review", d.editorial_review, boolean);
    r.finish(f, OUTPUT_FIELDS);
    Some(Outputs {
        is_final: is_final?,
        prominence: prominence?,
        key_creative: key_creative?,
        depicts_real_people: depicts_real_people?,
        presented_as_real: presented_as_real?,
        media: media?,
        realistic: realistic?,
        resembles_existing: resembles_existing?,
        public_interest_text: public_interest_text?,
        editorial_review: editorial_review?,
    })
}

fn read_talent(r: &mut Reader, path: &str, node: &Node) -> Option<Talent> {
    let f = r.mapping(node, path)?;
    let performer = required!(r, f, node, "performer", required_string);
    let treatment = required!(r, f, node, "treatment", treatment);
    let changes_performance = with_default(r, &f, "changes_performance", false, boolean);
    let exception = with_default(r, &f, "exception", TalentException::None, talent_exception);
    let deceased = with_default(r, &f, "deceased", false, boolean);
    let model_reused_elsewhere = with_default(r, &f, "model_reused_elsewhere", false, boolean);
    let role = with_default(r, &f, "role", Role::Principal, role);
    let replica_origin = with_default(
        r,
        &f,
        "replica_origin",
        ReplicaOrigin::Unknown,
        replica_origin,
    );
    let scan = read_optional(r, &f, "scan", read_scan);
    let replaces_human_role = with_default(r, &f, "replaces_human_role", false, boolean);
    let consent = read_optional(r, &f, "consent", read_consent);
    r.finish(
        f,
        &[
            "performer",
            "treatment",
            "changes_performance",
            "exception",
            "deceased",
            "model_reused_elsewhere",
            "role",
            "replica_origin",
            "scan",
            "replaces_human_role",
            "consent",
        ],
    );
    Some(Talent {
        performer: performer?,
        treatment: treatment?,
        changes_performance: changes_performance?,
        exception: exception?,
        deceased: deceased?,
        model_reused_elsewhere: model_reused_elsewhere?,
        role: role?,
        replica_origin: replica_origin?,
        scan: scan?,
        replaces_human_role: replaces_human_role?,
        consent: consent?,
    })
}

fn read_consent(r: &mut Reader, path: &str, node: &Node) -> Option<Consent> {
    let f = r.mapping(node, path)?;
    let document = required!(r, f, node, "document", required_string);
    let scope = required!(r, f, node, "scope", required_string);
    let signed = required!(r, f, node, "signed", date);
    let by = with_default(r, &f, "by", ConsentBy::Performer, consent_by);
    let separately_signed = with_default(r, &f, "separately_signed", false, boolean);
    r.finish(
        f,
        &["document", "scope", "signed", "by", "separately_signed"],
    );
    Some(Consent {
        document: document?,
        scope: scope?,
        signed: signed?,
        by: by?,
        separately_signed: separately_signed?,
    })
}

fn read_scan(r: &mut Reader, path: &str, node: &Node) -> Option<Scan> {
    let f = r.mapping(node, path)?;
    let day = required!(r, f, node, "date", date);
    let notice = read_optional(r, &f, "notice", date);
    let engaged = read_optional(r, &f, "engaged", date);
    r.finish(f, &["date", "notice", "engaged"]);
    Some(Scan {
        date: day?,
        notice: notice?,
        engaged: engaged?,
    })
}

fn read_union_work(r: &mut Reader, path: &str, node: &Node) -> Option<UnionWork> {
    let f = r.mapping(node, path)?;
    let affected = with_default(r, &f, "affected", false, boolean);
    // union_work.agreement is the one nullable field of the format.
    let agreement = read_optional(r, &f, "agreement", |r, p, n| match &n.value {
        Value::Scalar { text, plain: true } if is_null(text) => Some(None),
        _ => r.string_value(p, n, false).map(Some),
    });
    r.finish(f, &["affected", "agreement"]);
    Some(UnionWork {
        affected: affected?,
        agreement: agreement?.flatten(),
    })
}

fn read_self_assessment(r: &mut Reader, path: &str, node: &Node) -> Option<SelfAssessment> {
    let f = r.mapping(node, path)?;
    let p1 = read_optional(r, &f, "p1", answer);
    let p2 = read_optional(r, &f, "p2", answer);
    let p3 = read_optional(r, &f, "p3", answer);
    let p4 = read_optional(r, &f, "p4", answer);
    let p5 = read_optional(r, &f, "p5", answer);
    r.finish(f, &["p1", "p2", "p3", "p4", "p5"]);
    Some(SelfAssessment {
        p1: p1?,
        p2: p2?,
        p3: p3?,
        p4: p4?,
        p5: p5?,
    })
}

#[cfg(test)]
mod tests {
    use super::{closest, parse_iso_date};

    #[test]
    fn a_slip_in_a_closed_value_names_the_value_meant() {
        let treatments = [
            "replica",
            "voice",
            "re-ageing",
            "alteration",
            "synthetic-performer",
        ];
        assert_eq!(closest("de-ageing", &treatments), Some("re-ageing"));
        assert_eq!(closest("deageing", &treatments), Some("re-ageing"));
        assert_eq!(closest("Replica", &treatments), Some("replica"));
        assert_eq!(closest("deepfake", &treatments), None);
        let stages = ["development", "pre-production", "production"];
        assert_eq!(closest("pre_production", &stages), Some("pre-production"));
        let data = ["none", "stores", "trains", "unknown"];
        assert_eq!(closest("sometimes", &data), None);
    }

    #[test]
    fn dates_must_be_real_calendar_dates() {
        assert!(parse_iso_date("2025-02-28").is_some());
        assert!(parse_iso_date("2024-02-29").is_some());
        assert!(parse_iso_date("2025-02-29").is_none());
        assert!(parse_iso_date("2025-2-28").is_none());
        assert!(parse_iso_date("2025-02-28T00:00:00Z").is_none());
    }
}
