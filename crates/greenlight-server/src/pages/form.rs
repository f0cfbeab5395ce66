//! The guided declaration form: its fields are named by the format's own paths
//! (`production.title`, `tools[0].data_use`, `inputs[1].mentions[0].name`), so a validation
//! problem reported for a path lands on the field of that name, and the page's preview script
//! (`static/app.js`, `formToDocument`) builds the very same JSON document in the browser.
//!
//! The rules, shared by this module and the script:
//! - fields are read in document order; a later value for the same name wins (a checkbox is
//!   preceded by a hidden `false` field, so an unchecked box still says `false`);
//! - the strings `true` and `false` are booleans; an empty string means "not stated" and is
//!   left out, so the format's default applies;
//! - a name ending in `[]` collects a list (`outputs.media[]`);
//! - a segment starting with `_` is a gate: `_talent` = `false` removes the sibling `talent`,
//!   `inputs[0]._mentions` = `false` removes that input's `mentions`; gates never reach the
//!   document;
//! - a row of a list that holds no string at all (an untouched blank row) is dropped.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A node of the document while it is being built from the form's fields.
#[derive(Debug)]
enum Node {
    Object(Vec<(String, Node)>),
    Rows(BTreeMap<usize, Node>),
    List(Vec<String>),
    Leaf(String),
}

/// One segment of a field name: `tools[0]` is `Key("tools")` then `Index(0)`.
#[derive(Debug, PartialEq)]
enum Segment<'a> {
    Key(&'a str),
    Index(usize),
    Push,
}

fn segments(name: &str) -> Option<Vec<Segment<'_>>> {
    let mut out = Vec::new();
    for part in name.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if key.is_empty() {
            return None;
        }
        out.push(Segment::Key(key));
        while !rest.is_empty() {
            let close = rest.find(']')?;
            let inner = &rest[1..close];
            if inner.is_empty() {
                out.push(Segment::Push);
            } else {
                // Row numbers come from our own pages; anything absurd is not a form of ours.
                let index: usize = inner.parse().ok()?;
                if index > 999 {
                    return None;
                }
                out.push(Segment::Index(index));
            }
            rest = &rest[close + 1..];
        }
    }
    Some(out)
}

fn insert(node: &mut Node, path: &[Segment<'_>], value: &str) {
    match path {
        [] => {}
        [Segment::Key(k), Segment::Push] => {
            let Node::Object(fields) = node else { return };
            let slot = match fields.iter().position(|(name, _)| name == k) {
                Some(i) => &mut fields[i].1,
                None => {
                    fields.push(((*k).to_owned(), Node::List(Vec::new())));
                    &mut fields.last_mut().expect("just pushed").1
                }
            };
            if let Node::List(items) = slot
                && !value.is_empty()
            {
                items.push(value.to_owned());
            }
        }
        [Segment::Key(k), rest @ ..] => {
            let Node::Object(fields) = node else { return };
            let fresh = || match rest.first() {
                None => Node::Leaf(String::new()),
                Some(Segment::Index(_)) => Node::Rows(BTreeMap::new()),
                Some(_) => Node::Object(Vec::new()),
            };
            let i = match fields.iter().position(|(name, _)| name == k) {
                Some(i) => i,
                None => {
                    fields.push(((*k).to_owned(), fresh()));
                    fields.len() - 1
                }
            };
            if rest.is_empty() {
                fields[i].1 = Node::Leaf(value.to_owned());
            } else {
                insert(&mut fields[i].1, rest, value);
            }
        }
        [Segment::Index(n), rest @ ..] => {
            let Node::Rows(rows) = node else { return };
            let row = rows.entry(*n).or_insert_with(|| Node::Object(Vec::new()));
            insert(row, rest, value);
        }
        [Segment::Push, ..] => {}
    }
}

fn has_string(value: &Value) -> bool {
    match value {
        Value::String(_) => true,
        Value::Array(items) => items.iter().any(has_string),
        Value::Object(map) => map.values().any(has_string),
        _ => false,
    }
}

fn finish(node: Node) -> Option<Value> {
    match node {
        Node::Leaf(text) => match text.as_str() {
            "" => None,
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => Some(Value::String(text)),
        },
        Node::List(items) => Some(Value::Array(items.into_iter().map(Value::String).collect())),
        Node::Rows(rows) => Some(Value::Array(
            rows.into_values()
                .filter_map(finish)
                .filter(has_string)
                .collect(),
        )),
        Node::Object(fields) => {
            let closed: Vec<String> = fields
                .iter()
                .filter_map(|(name, node)| match (name.strip_prefix('_'), node) {
                    (Some(target), Node::Leaf(v)) if v != "true" => Some(target.to_owned()),
                    _ => None,
                })
                .collect();
            let mut map = Map::new();
            for (name, node) in fields {
                if name.starts_with('_') || closed.contains(&name) {
                    continue;
                }
                if let Some(v) = finish(node) {
                    map.insert(name, v);
                }
            }
            Some(Value::Object(map))
        }
    }
}

/// Builds the declaration document (the format's JSON shape) from the form's fields.
/// Field names that are not paths of ours (`csrf`, `etag`, buttons) are ignored.
pub fn pairs_to_document(pairs: &[(String, String)]) -> Value {
    let mut root = Node::Object(Vec::new());
    for (name, value) in pairs {
        if is_control_field(name) {
            continue;
        }
        if let Some(path) = segments(name) {
            insert(&mut root, &path, value.trim());
        }
    }
    let mut doc = finish(root).unwrap_or_else(|| Value::Object(Map::new()));
    if let Value::Object(map) = &mut doc {
        // The marker is not a question for a person: the form always writes format v1.
        let mut with_marker = Map::new();
        with_marker.insert(
            "greenlight".to_owned(),
            Value::String("declaration/v1".to_owned()),
        );
        map.remove("greenlight");
        with_marker.extend(std::mem::take(map));
        *map = with_marker;
    }
    doc
}

/// Fields of the pages' forms that are not part of a declaration.
fn is_control_field(name: &str) -> bool {
    matches!(
        name,
        "csrf" | "etag" | "add" | "remove" | "action" | "declaration" | "reason"
    )
}

/// Reads a string at a JSON pointer, or "" when absent.
fn s(doc: &Value, pointer: &str) -> String {
    match doc.pointer(pointer) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Reads a boolean at a JSON pointer, or the default.
fn b(doc: &Value, pointer: &str, default: bool) -> bool {
    match doc.pointer(pointer) {
        Some(Value::Bool(v)) => *v,
        Some(Value::String(v)) => v == "true",
        _ => default,
    }
}

fn rows<'a>(doc: &'a Value, pointer: &str) -> &'a [Value] {
    doc.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// A tool row of the form.
#[derive(Debug, Clone, Default)]
pub struct ToolRow {
    pub name: String,
    pub vendor: String,
    pub enterprise_agreement: bool,
    pub data_use: String,
    pub terms_reviewed: String,
}

/// A work or person an input names.
#[derive(Debug, Clone, Default)]
pub struct MentionRow {
    pub kind: String,
    pub name: String,
}

/// An input row of the form.
#[derive(Debug, Clone, Default)]
pub struct InputRow {
    pub kind: String,
    pub owner: String,
    pub cleared: bool,
    pub description: String,
    pub names_works: bool,
    pub mentions: Vec<MentionRow>,
}

/// A talent row of the form.
#[derive(Debug, Clone, Default)]
pub struct TalentRow {
    pub performer: String,
    pub treatment: String,
    pub changes_performance: bool,
    pub exception: String,
    pub deceased: bool,
    pub model_reused_elsewhere: bool,
    pub has_consent: bool,
    pub consent_document: String,
    pub consent_scope: String,
    pub consent_signed: String,
    pub consent_by: String,
}

/// Everything the guided form shows, as the strings and switches a person sees.
#[derive(Debug, Clone, Default)]
pub struct DeclForm {
    pub title: String,
    pub kind: String,
    pub eu_release: bool,
    pub release_date: String,
    pub reference: String,
    pub summary: String,
    pub stage: String,
    pub purpose: String,
    pub tools: Vec<ToolRow>,
    pub inputs: Vec<InputRow>,
    pub is_final: bool,
    pub prominence: String,
    pub key_creative: bool,
    pub depicts_real_people: bool,
    pub presented_as_real: bool,
    pub media: Vec<String>,
    pub realistic: bool,
    pub resembles_existing: bool,
    pub public_interest_text: bool,
    pub editorial_review: bool,
    pub has_talent: bool,
    pub talent: Vec<TalentRow>,
    pub union_affected: bool,
    pub union_agreement: String,
    pub self_assessment: [String; 5],
}

impl DeclForm {
    /// Fills the form from a document in the format's shape (a parsed declaration serialized,
    /// or what [`pairs_to_document`] built from a posted form).
    pub fn from_document(doc: &Value) -> Self {
        let tools = rows(doc, "/tools")
            .iter()
            .map(|t| ToolRow {
                name: s(t, "/name"),
                vendor: s(t, "/vendor"),
                enterprise_agreement: b(t, "/enterprise_agreement", false),
                data_use: s(t, "/data_use"),
                terms_reviewed: s(t, "/terms_reviewed"),
            })
            .collect();
        let inputs = rows(doc, "/inputs")
            .iter()
            .map(|i| {
                let mentions: Vec<MentionRow> = rows(i, "/mentions")
                    .iter()
                    .map(|m| MentionRow {
                        kind: s(m, "/type"),
                        name: s(m, "/name"),
                    })
                    .collect();
                InputRow {
                    kind: s(i, "/kind"),
                    owner: s(i, "/owner"),
                    cleared: b(i, "/cleared", false),
                    description: s(i, "/description"),
                    names_works: !mentions.is_empty(),
                    mentions,
                }
            })
            .collect();
        let talent: Vec<TalentRow> = rows(doc, "/talent")
            .iter()
            .map(|t| TalentRow {
                performer: s(t, "/performer"),
                treatment: s(t, "/treatment"),
                changes_performance: b(t, "/changes_performance", false),
                exception: s(t, "/exception"),
                deceased: b(t, "/deceased", false),
                model_reused_elsewhere: b(t, "/model_reused_elsewhere", false),
                has_consent: t.pointer("/consent").is_some(),
                consent_document: s(t, "/consent/document"),
                consent_scope: s(t, "/consent/scope"),
                consent_signed: s(t, "/consent/signed"),
                consent_by: s(t, "/consent/by"),
            })
            .collect();
        let media = rows(doc, "/outputs/media")
            .iter()
            .filter_map(|m| m.as_str().map(str::to_owned))
            .collect();
        Self {
            title: s(doc, "/production/title"),
            kind: s(doc, "/production/kind"),
            eu_release: b(doc, "/production/eu_release", false),
            release_date: s(doc, "/production/release_date"),
            reference: s(doc, "/use/ref"),
            summary: s(doc, "/use/summary"),
            stage: s(doc, "/use/stage"),
            purpose: s(doc, "/use/purpose"),
            tools,
            inputs,
            is_final: b(doc, "/outputs/final", false),
            prominence: s(doc, "/outputs/prominence"),
            key_creative: b(doc, "/outputs/key_creative", false),
            depicts_real_people: b(doc, "/outputs/depicts_real_people", false),
            presented_as_real: b(doc, "/outputs/presented_as_real", false),
            media,
            realistic: b(doc, "/outputs/realistic", true),
            resembles_existing: b(doc, "/outputs/resembles_existing", false),
            public_interest_text: b(doc, "/outputs/public_interest_text", false),
            editorial_review: b(doc, "/outputs/editorial_review", false),
            has_talent: !talent.is_empty(),
            talent,
            union_affected: b(doc, "/union_work/affected", false),
            union_agreement: s(doc, "/union_work/agreement"),
            self_assessment: ["p1", "p2", "p3", "p4", "p5"]
                .map(|p| s(doc, &format!("/self_assessment/{p}"))),
        }
    }

    /// Adds the blank rows a person types into: one tool when there is none, one mention per
    /// input, one talent entry; and one more row of the list named by an "add" button.
    pub fn with_blank_rows(mut self, add: Option<&str>) -> Self {
        if self.tools.is_empty() || add == Some("tools") {
            self.tools.push(ToolRow::default());
        }
        if add == Some("inputs") {
            self.inputs.push(InputRow::default());
        }
        for (i, input) in self.inputs.iter_mut().enumerate() {
            if input.mentions.is_empty() || add == Some(&format!("inputs[{i}].mentions")) {
                input.mentions.push(MentionRow::default());
            }
        }
        if self.talent.is_empty() || add == Some("talent") {
            self.talent.push(TalentRow::default());
        }
        if add == Some("talent") {
            self.has_talent = true;
        }
        self
    }

    /// Whether `media` lists the value (for the checkboxes).
    pub fn has_media(&self, value: &str) -> bool {
        self.media.iter().any(|m| m == value)
    }
}

/// A field path as a person reads it on the pages: `use.ref` is "Your reference",
/// `tools[1].data_use` is "Tool 2: what it does with what you give it". Paths the pages do
/// not know are returned as written.
pub fn field_label(path: &str) -> String {
    let segments: Vec<(&str, Option<usize>)> = path
        .split('.')
        .map(|part| match part.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse().ok()),
            None => (part, None),
        })
        .collect();
    let leaf = |name: &str| -> Option<&'static str> {
        Some(match name {
            "title" => "title",
            "kind" => "kind",
            "eu_release" => "released in the EU",
            "release_date" => "release date",
            "ref" => "Your reference",
            "summary" => "What is the AI used for?",
            "stage" => "Stage",
            "purpose" => "Purpose",
            "name" => "name",
            "vendor" => "vendor",
            "enterprise_agreement" => "covered by the enterprise agreement",
            "data_use" => "what it does with what you give it",
            "terms_reviewed" => "terms reviewed on",
            "owner" => "owner",
            "cleared" => "rights cleared",
            "description" => "description",
            "type" => "names or depicts",
            "final" => "part of the final deliverables",
            "prominence" => "how prominent",
            "key_creative" => "a key creative element",
            "depicts_real_people" => "shows or voices real people",
            "presented_as_real" => "could be mistaken for real",
            "media" => "media",
            "realistic" => "looks or sounds real",
            "resembles_existing" => "resembles existing things",
            "public_interest_text" => "text on matters of public interest",
            "editorial_review" => "had editorial review",
            "performer" => "performer",
            "treatment" => "what is done",
            "changes_performance" => "changes the performance",
            "exception" => "exception",
            "deceased" => "performer deceased",
            "model_reused_elsewhere" => "model reused elsewhere",
            "consent" => "consent",
            "document" => "consent document",
            "scope" => "what the consent covers",
            "signed" => "consent signed on",
            "by" => "consent given by",
            "affected" => "affected",
            "agreement" => "agreement reference",
            _ => return None,
        })
    };
    let known = match segments.as_slice() {
        [("production", None), (f, None)] => leaf(f).map(|l| format!("Production: {l}")),
        [("use", None), (f, None)] => leaf(f).map(str::to_owned),
        [("tools", Some(i))] => Some(format!("Tool {}", i + 1)),
        [("tools", Some(i)), (f, None)] => leaf(f).map(|l| format!("Tool {}: {l}", i + 1)),
        [("inputs", Some(i))] => Some(format!("Input {}", i + 1)),
        [("inputs", Some(i)), (f, None)] => leaf(f).map(|l| format!("Input {}: {l}", i + 1)),
        [("inputs", Some(i)), ("mentions", Some(j)), (f, None)] => {
            leaf(f).map(|l| format!("Input {}, work or person {}: {l}", i + 1, j + 1))
        }
        [("outputs", None), (f, None)] => leaf(f).map(|l| format!("Output: {l}")),
        [("talent", Some(i))] => Some(format!("Performer {}", i + 1)),
        [("talent", Some(i)), (f, None)] => leaf(f).map(|l| format!("Performer {}: {l}", i + 1)),
        [("talent", Some(i)), ("consent", None), (f, None)] => {
            leaf(f).map(|l| format!("Performer {}: {l}", i + 1))
        }
        [("union_work", None), (f, None)] => leaf(f).map(|l| format!("Union-covered work: {l}")),
        [("self_assessment", None), (p, None)] => {
            Some(format!("Your assessment of {}", p.to_uppercase()))
        }
        [("tools", None)] => Some("Tools".to_owned()),
        _ => None,
    };
    known.unwrap_or_else(|| path.to_owned())
}

/// The choices of one enumeration, as (value, plain-language label) pairs.
pub type Choices = &'static [(&'static str, &'static str)];

pub const KINDS: Choices = &[
    ("scripted", "Scripted"),
    ("documentary", "Documentary"),
    ("unscripted", "Unscripted"),
    ("animation", "Animation"),
];
pub const STAGES: Choices = &[
    ("development", "Development"),
    ("pre-production", "Pre-production"),
    ("production", "Production (shooting)"),
    ("post-production", "Post-production"),
    ("marketing", "Marketing"),
];
pub const PURPOSES: Choices = &[
    ("ideation", "Ideation: mood boards, concepts, pitches"),
    ("previs", "Previs and storyboards"),
    ("background-element", "Background element"),
    (
        "key-creative",
        "Key creative: character, key visual, central setting",
    ),
    ("vfx", "Visual effects"),
    ("talent", "Performer likeness or performance"),
    ("voice", "Voice"),
    ("localization", "Localization and dubbing"),
    ("training", "Training a model"),
    ("other", "Something else"),
];
pub const DATA_USES: Choices = &[
    ("none", "Keeps nothing: no storage, no training"),
    ("stores", "Stores inputs or outputs"),
    ("trains", "Trains on inputs or outputs"),
    ("unknown", "Unknown"),
];
pub const INPUT_KINDS: Choices = &[
    ("prompt", "Written prompt"),
    ("reference-image", "Reference image"),
    ("script", "Script or screenplay pages"),
    ("footage", "Footage"),
    ("unreleased-asset", "Unreleased asset"),
    ("likeness", "A person's likeness"),
    ("voice", "A person's voice"),
    ("personal-data", "Personal data"),
    ("training-set", "Training data set"),
    ("contract", "Contract or legal document"),
    ("other", "Something else"),
];
pub const OWNERS: Choices = &[
    ("own", "Ours: made for this use"),
    ("studio", "The studio's own material"),
    ("third-party", "Someone else's"),
    ("public-domain", "Public domain"),
    ("unknown", "Unknown"),
];
pub const MENTIONS: Choices = &[
    ("copyrighted-work", "A copyrighted work"),
    ("artist", "An artist"),
    ("public-figure", "A public figure"),
    ("deceased-person", "A deceased person"),
    ("performer", "A performer"),
];
pub const PROMINENCE: Choices = &[
    (
        "incidental",
        "Incidental: brief, in the background, not referenced",
    ),
    ("featured", "Featured"),
];
pub const MEDIA: Choices = &[
    ("image", "Image"),
    ("video", "Video"),
    ("audio", "Audio"),
    ("text", "Text"),
];
pub const TREATMENTS: Choices = &[
    ("replica", "Digital replica"),
    ("voice", "Voice replica or synthesis"),
    ("re-ageing", "De-ageing or ageing"),
    ("alteration", "Alteration of a recorded performance"),
    ("synthetic-performer", "Synthetic performer"),
];
pub const EXCEPTIONS: Choices = &[
    ("none", "None"),
    ("as-scripted", "As scripted and agreed"),
    ("unsafe", "Unsafe to perform"),
    ("unrecognizable", "Performer unrecognizable"),
    ("customary", "Customary post-production"),
    ("dubbing", "Dubbing"),
];
pub const CONSENT_BY: Choices = &[
    ("performer", "The performer"),
    ("estate", "The estate"),
    ("union", "The union"),
];
pub const ANSWERS: Choices = &[("met", "Met"), ("not-met", "Not met"), ("unsure", "Unsure")];

/// The five principles in short, as the pages state them.
pub const PRINCIPLES: [(&str, &str); 5] = [
    (
        "p1",
        "Outputs do not replicate identifiable characteristics of unowned or copyrighted material",
    ),
    (
        "p2",
        "Tools do not store, reuse or train on production inputs or outputs",
    ),
    (
        "p3",
        "Tools run in an enterprise-secured environment that safeguards inputs",
    ),
    (
        "p4",
        "Generated material is temporary, not part of the final deliverables",
    ),
    (
        "p5",
        "No performance or union-covered work is replaced or generated without consent",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn field_names_are_format_paths() {
        let doc = pairs_to_document(&pairs(&[
            ("csrf", "x"),
            ("production.title", "The Bunker"),
            ("use.ref", "BB-001"),
            ("tools[0].name", "Imagine"),
            ("tools[0].enterprise_agreement", "false"),
            ("tools[0].enterprise_agreement", "true"),
            ("tools[0].data_use", "none"),
            ("tools[1].name", ""),
            ("tools[1].enterprise_agreement", "false"),
            ("outputs.media[]", "image"),
            ("outputs.media[]", "video"),
        ]));
        assert_eq!(
            doc,
            json!({
                "greenlight": "declaration/v1",
                "production": {"title": "The Bunker"},
                "use": {"ref": "BB-001"},
                "tools": [{"name": "Imagine", "enterprise_agreement": true, "data_use": "none"}],
                "outputs": {"media": ["image", "video"]},
            })
        );
    }

    #[test]
    fn a_closed_gate_removes_its_section() {
        let doc = pairs_to_document(&pairs(&[
            ("_talent", "false"),
            ("talent[0].performer", "Jane Doe"),
            ("inputs[0].kind", "prompt"),
            ("inputs[0]._mentions", "false"),
            ("inputs[0].mentions[0].name", "Afghan Girl"),
            ("inputs[1].kind", "reference-image"),
            ("inputs[1]._mentions", "false"),
            ("inputs[1]._mentions", "true"),
            ("inputs[1].mentions[0].type", "artist"),
            ("inputs[1].mentions[0].name", "Someone"),
            ("inputs[1].mentions[1].type", ""),
            ("inputs[1].mentions[1].name", ""),
        ]));
        assert_eq!(doc.pointer("/talent"), None);
        assert_eq!(doc.pointer("/inputs/0/mentions"), None);
        assert_eq!(
            doc.pointer("/inputs/1/mentions"),
            Some(&json!([{"type": "artist", "name": "Someone"}]))
        );
    }

    #[test]
    fn field_paths_read_as_the_form_names_them() {
        assert_eq!(field_label("use.ref"), "Your reference");
        assert_eq!(
            field_label("tools[1].data_use"),
            "Tool 2: what it does with what you give it"
        );
        assert_eq!(
            field_label("talent[0].consent.signed"),
            "Performer 1: consent signed on"
        );
        assert_eq!(
            field_label("production.eu_release"),
            "Production: released in the EU"
        );
        assert_eq!(field_label("nothing.we.know"), "nothing.we.know");
    }

    #[test]
    fn names_that_are_not_paths_are_ignored() {
        let doc = pairs_to_document(&pairs(&[
            ("tools[x].name", "a"),
            ("tools[5000].name", "a"),
            ("[0]", "a"),
            (".", "a"),
        ]));
        assert_eq!(doc, json!({"greenlight": "declaration/v1"}));
    }

    #[test]
    fn a_document_round_trips_through_the_form() {
        let doc = json!({
            "greenlight": "declaration/v1",
            "production": {"title": "T", "kind": "documentary", "eu_release": true},
            "use": {"ref": "R", "summary": "S"},
            "tools": [{"name": "X", "data_use": "trains"}],
            "talent": [{"performer": "Jane", "treatment": "re-ageing",
                        "consent": {"document": "C-1", "scope": "flashbacks", "signed": "2025-02-01"}}],
        });
        let form = DeclForm::from_document(&doc);
        assert_eq!(form.title, "T");
        assert!(form.eu_release);
        assert!(form.has_talent);
        assert!(form.talent[0].has_consent);
        assert_eq!(form.talent[0].consent_document, "C-1");
        assert!(form.realistic, "realistic defaults to true");
    }
}
