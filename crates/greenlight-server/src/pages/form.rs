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
    /// A performer's principal facial feature the input names (union field).
    pub feature: String,
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
    /// Union fields: shown when the production works under a SAG-AFTRA agreement.
    pub role: String,
    pub replica_origin: String,
    pub replaces_human_role: bool,
    pub has_scan: bool,
    pub scan_date: String,
    pub scan_notice: String,
    pub scan_engaged: String,
    pub consent_separately_signed: bool,
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
    /// `production.agreements` as the document gives them (kept as hidden fields).
    pub agreements: Vec<String>,
    /// `use.genre` (union field).
    pub genre: String,
    /// Whether the union fields are shown: the production works under a SAG-AFTRA agreement
    /// on record. Set by the page from the production, not from the document; when false, the
    /// union values a document holds travel as hidden fields so a round trip keeps them.
    pub union: bool,
}

/// Whether a production's agreements on record make the union fields relevant.
pub fn works_under_union(agreements: &[String]) -> bool {
    agreements.iter().any(|a| a.starts_with("sag-aftra-"))
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
                        feature: s(m, "/feature"),
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
                role: s(t, "/role"),
                replica_origin: s(t, "/replica_origin"),
                replaces_human_role: b(t, "/replaces_human_role", false),
                has_scan: t.pointer("/scan").is_some(),
                scan_date: s(t, "/scan/date"),
                scan_notice: s(t, "/scan/notice"),
                scan_engaged: s(t, "/scan/engaged"),
                consent_separately_signed: b(t, "/consent/separately_signed", false),
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
            agreements: rows(doc, "/production/agreements")
                .iter()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect(),
            genre: s(doc, "/use/genre"),
            union: false,
        }
    }

    /// The union values the document holds that differ from the format's defaults, as
    /// (field name, value) pairs: what the page carries as hidden fields while the union
    /// fields are not shown, so that form -> declaration -> form keeps them.
    pub fn union_hidden_fields(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut keep = |name: String, value: &str, default: &str| {
            if !value.is_empty() && value != default {
                out.push((name, value.to_owned()));
            }
        };
        keep("use.genre".into(), &self.genre, "none");
        for (i, input) in self.inputs.iter().enumerate() {
            for (j, m) in input.mentions.iter().enumerate() {
                keep(
                    format!("inputs[{i}].mentions[{j}].feature"),
                    &m.feature,
                    "none",
                );
            }
        }
        for (i, t) in self.talent.iter().enumerate() {
            keep(format!("talent[{i}].role"), &t.role, "principal");
            keep(
                format!("talent[{i}].replica_origin"),
                &t.replica_origin,
                "unknown",
            );
            if t.replaces_human_role {
                keep(format!("talent[{i}].replaces_human_role"), "true", "");
            }
            if t.has_consent && t.consent_separately_signed {
                keep(format!("talent[{i}].consent.separately_signed"), "true", "");
            }
            if t.has_scan {
                keep(format!("talent[{i}]._scan"), "true", "");
                keep(format!("talent[{i}].scan.date"), &t.scan_date, "");
                keep(format!("talent[{i}].scan.notice"), &t.scan_notice, "");
                keep(format!("talent[{i}].scan.engaged"), &t.scan_engaged, "");
            }
        }
        out
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
            "agreements" => "union agreements",
            "genre" => "genre",
            "role" => "engagement",
            "replica_origin" => "how the replica was made",
            "replaces_human_role" => "replaces a human performer",
            "separately_signed" => "consent signed apart from other terms",
            "feature" => "facial feature named",
            "scan" => "capture session (scan)",
            "date" => "capture date",
            "notice" => "performer told on",
            "engaged" => "performer engaged on",
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
        [("talent", Some(i)), ("scan", None), (f, None)] => {
            leaf(f).map(|l| format!("Performer {}: scan {l}", i + 1))
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
/// The union agreements a production may work under (`production.agreements`).
pub const AGREEMENTS: Choices = &[
    (
        "sag-aftra-tv-theatrical-2023",
        "SAG-AFTRA TV/Theatrical Agreement 2023",
    ),
    (
        "sag-aftra-tv-theatrical-2026",
        "SAG-AFTRA TV/Theatrical Agreement 2026 (recorded; no pack reads it yet)",
    ),
    (
        "wga-mba-2023",
        "WGA Minimum Basic Agreement 2023 (recorded; no pack reads it yet)",
    ),
];

/// The agreements as a person reads them: "SAG-AFTRA TV/Theatrical Agreement 2023", or
/// "none".
pub fn agreement_names(agreements: &[String]) -> String {
    if agreements.is_empty() {
        return "none".to_owned();
    }
    agreements
        .iter()
        .map(|a| {
            AGREEMENTS
                .iter()
                .find(|(v, _)| v == a)
                .map(|(_, l)| l.split(" (").next().unwrap_or(l).to_owned())
                .unwrap_or_else(|| a.clone())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub const GENRES: Choices = &[
    ("none", "None of these"),
    ("comment", "Comment"),
    ("criticism", "Criticism"),
    ("scholarship", "Scholarship"),
    ("satire-parody", "Satire or parody"),
    ("docudrama", "Docudrama"),
    ("historical-biographical", "Historical or biographical"),
];
pub const ROLES: Choices = &[
    ("principal", "Principal performer"),
    ("background", "Background actor"),
];
pub const REPLICA_ORIGINS: Choices = &[
    (
        "employment",
        "Made in this engagement, with the performer (a scan, a session)",
    ),
    ("independent", "Made from existing material"),
    ("unknown", "Unknown"),
];
pub const FEATURES: Choices = &[
    ("none", "None"),
    ("eyes", "Eyes"),
    ("nose", "Nose"),
    ("mouth", "Mouth"),
    ("ears", "Ears"),
];
pub const ANSWERS: Choices = &[("met", "Met"), ("not-met", "Not met"), ("unsure", "Unsure")];

/// The principles of the streamer's guidance, as its pack (`netflix-genai`) states them, each
/// title opening with a capital as the pages print it: (id, title), in the pack's order.
pub fn principles() -> &'static [(String, String)] {
    static PRINCIPLES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    PRINCIPLES.get_or_init(|| {
        greenlight_core::pack::Pack::builtin("netflix-genai")
            .map(|p| {
                p.file()
                    .principles
                    .iter()
                    .map(|d| (d.id.clone(), capitalised(d.title.trim())))
                    .collect()
            })
            .unwrap_or_default()
    })
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

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

    /// A declaration with every union field set away from its default.
    fn union_document() -> Value {
        json!({
            "greenlight": "declaration/v1",
            "production": {"title": "T", "agreements": ["sag-aftra-tv-theatrical-2023"]},
            "use": {"ref": "R", "summary": "S", "genre": "satire-parody"},
            "tools": [{"name": "X"}],
            "inputs": [{"kind": "prompt", "mentions": [{"type": "performer", "name": "Jane", "feature": "eyes"}]}],
            "talent": [{"performer": "Jane", "treatment": "replica", "role": "background",
                        "replica_origin": "employment", "replaces_human_role": true,
                        "scan": {"date": "2026-06-10", "notice": "2026-06-01", "engaged": "2026-05-20"},
                        "consent": {"document": "C-1", "scope": "storm", "signed": "2026-02-01",
                                    "separately_signed": true}}],
        })
    }

    /// The union values of a parsed declaration, as the format reads them.
    fn union_values(doc: &Value) -> Value {
        let d = greenlight_core::format::parse(
            doc.to_string().as_bytes(),
            greenlight_core::format::SourceKind::Json,
        )
        .expect("a valid declaration")
        .declaration;
        let t = &d.talent[0];
        json!({
            "agreements": d.production.agreements,
            "genre": d.usage.genre,
            "feature": d.inputs[0].mentions[0].feature,
            "role": t.role,
            "replica_origin": t.replica_origin,
            "replaces_human_role": t.replaces_human_role,
            "scan": t.scan,
            "separately_signed": t.consent.as_ref().map(|c| c.separately_signed),
        })
    }

    /// The fields the declare page posts for a form, as the template writes them when the
    /// union fields are shown (`union`) or carried hidden.
    fn posted(form: &DeclForm) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = vec![
            ("production.title".into(), form.title.clone()),
            ("use.ref".into(), form.reference.clone()),
            ("use.summary".into(), form.summary.clone()),
            ("tools[0].name".into(), form.tools[0].name.clone()),
        ];
        for a in &form.agreements {
            out.push(("production.agreements[]".into(), a.clone()));
        }
        for (i, input) in form.inputs.iter().enumerate() {
            out.push((format!("inputs[{i}].kind"), input.kind.clone()));
            for (j, m) in input.mentions.iter().enumerate() {
                out.push((format!("inputs[{i}].mentions[{j}].type"), m.kind.clone()));
                out.push((format!("inputs[{i}].mentions[{j}].name"), m.name.clone()));
                if form.union {
                    out.push((
                        format!("inputs[{i}].mentions[{j}].feature"),
                        m.feature.clone(),
                    ));
                }
            }
        }
        for (i, t) in form.talent.iter().enumerate() {
            out.push((format!("talent[{i}].performer"), t.performer.clone()));
            out.push((format!("talent[{i}].treatment"), t.treatment.clone()));
            out.push((format!("talent[{i}]._consent"), t.has_consent.to_string()));
            out.push((
                format!("talent[{i}].consent.document"),
                t.consent_document.clone(),
            ));
            out.push((
                format!("talent[{i}].consent.scope"),
                t.consent_scope.clone(),
            ));
            out.push((
                format!("talent[{i}].consent.signed"),
                t.consent_signed.clone(),
            ));
            if form.union {
                out.push((format!("talent[{i}].role"), t.role.clone()));
                out.push((
                    format!("talent[{i}].replica_origin"),
                    t.replica_origin.clone(),
                ));
                out.push((format!("talent[{i}].replaces_human_role"), "false".into()));
                if t.replaces_human_role {
                    out.push((format!("talent[{i}].replaces_human_role"), "true".into()));
                }
                out.push((format!("talent[{i}]._scan"), t.has_scan.to_string()));
                out.push((format!("talent[{i}].scan.date"), t.scan_date.clone()));
                out.push((format!("talent[{i}].scan.notice"), t.scan_notice.clone()));
                out.push((format!("talent[{i}].scan.engaged"), t.scan_engaged.clone()));
                out.push((
                    format!("talent[{i}].consent.separately_signed"),
                    t.consent_separately_signed.to_string(),
                ));
            }
        }
        if form.union {
            out.push(("use.genre".into(), form.genre.clone()));
        } else {
            out.extend(form.union_hidden_fields());
        }
        out
    }

    #[test]
    fn union_fields_round_trip_through_the_form_shown_or_hidden() {
        let doc = union_document();
        let want = union_values(&doc);
        for union in [true, false] {
            let mut form = DeclForm::from_document(&doc);
            form.union = union;
            let back = pairs_to_document(&posted(&form));
            assert_eq!(union_values(&back), want, "union fields shown: {union}");
            let again = DeclForm::from_document(&back);
            assert_eq!(again.talent[0].scan_engaged, "2026-05-20");
            assert_eq!(again.inputs[0].mentions[0].feature, "eyes");
        }
    }

    #[test]
    fn a_closed_scan_gate_leaves_no_scan() {
        let doc = pairs_to_document(&pairs(&[
            ("talent[0].performer", "Jane"),
            ("talent[0]._scan", "false"),
            ("talent[0].scan.date", ""),
        ]));
        assert_eq!(doc.pointer("/talent/0/scan"), None);
    }

    #[test]
    fn hidden_union_fields_leave_defaults_out() {
        let doc = json!({
            "greenlight": "declaration/v1",
            "production": {"title": "T"},
            "use": {"ref": "R", "summary": "S", "genre": "none"},
            "tools": [{"name": "X"}],
            "talent": [{"performer": "Jane", "treatment": "replica", "role": "principal",
                        "replica_origin": "unknown", "replaces_human_role": false}],
        });
        assert!(
            DeclForm::from_document(&doc)
                .union_hidden_fields()
                .is_empty()
        );
    }

    #[test]
    fn only_sag_aftra_agreements_show_the_union_fields() {
        assert!(works_under_union(&["sag-aftra-tv-theatrical-2023".into()]));
        assert!(!works_under_union(&["wga-mba-2023".into()]));
        assert!(!works_under_union(&[]));
    }
}
