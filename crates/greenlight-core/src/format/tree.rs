//! A positioned document tree built from YAML events.
//!
//! `granit-parser` (the parser behind `serde-saphyr`) turns the text into events with their
//! positions; this module assembles them into a small tree of scalars, lists and mappings that
//! remembers where each node was written and how each scalar was quoted. The declaration is then
//! read from the tree by `convert`, which can report every problem at once (a serde derive stops
//! at the first) and apply the format's own typing rules (a number in a string field is kept as
//! written, YAML 1.2 core booleans only, `null` a type error) the same way for YAML and JSON.
//!
//! Budgets keep hostile input cheap: a nesting depth limit (checked as events arrive, so no
//! recursion ever goes deeper), a node limit that also bounds alias expansion, and one document.

use std::collections::HashMap;

use granit_parser::{Event, Marker, Parser, ScalarStyle, ScanError};

use super::{Pos, Problem};

/// Deepest nesting of lists and mappings accepted. A declaration needs five levels.
pub const MAX_DEPTH: usize = 32;
/// Most nodes (scalars, lists, mappings, including alias expansions) accepted in one file.
pub const MAX_NODES: usize = 200_000;

/// A node of the document with the position where it starts.
#[derive(Debug, Clone)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

/// The content of a node.
#[derive(Debug, Clone)]
pub enum Value {
    /// A scalar as written (after escapes), with its quoting style.
    Scalar { text: String, plain: bool },
    /// A list.
    Seq(Vec<Node>),
    /// A mapping, in document order; duplicate keys are kept for the reader to report.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// A short description of what the node is, for "expected X, found Y" messages.
    pub fn describe(&self) -> String {
        match &self.value {
            Value::Scalar { text, plain } => {
                if *plain && is_null(text) {
                    "null".to_owned()
                } else if *plain && is_bool(text).is_some() {
                    format!("the boolean {text}")
                } else {
                    format!("{:?}", truncate(text))
                }
            }
            Value::Seq(_) => "a list".to_owned(),
            Value::Map(_) => "a mapping".to_owned(),
        }
    }
}

/// YAML 1.2 core schema null: `null`, `Null`, `NULL`, `~` or nothing at all.
pub fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// YAML 1.2 core schema booleans, and nothing else (`yes`/`no`/`on`/`off` are strings).
pub fn is_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

fn truncate(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(MAX).collect();
        cut.push('…');
        cut
    }
}

fn pos_of(marker: &Marker) -> Pos {
    Pos {
        line: marker.line(),
        column: marker.col() + 1,
        offset: marker.byte_offset().unwrap_or_else(|| marker.index()),
    }
}

fn problem_at(pos: Pos, message: impl Into<String>) -> Problem {
    Problem {
        path: None,
        line: Some(pos.line),
        column: Some(pos.column),
        offset: Some(pos.offset),
        message: message.into(),
    }
}

fn scan_problem(err: &ScanError) -> Problem {
    problem_at(
        pos_of(err.marker()),
        format!("not valid YAML: {}", err.info()),
    )
}

enum Frame {
    Seq {
        items: Vec<Node>,
        pos: Pos,
        anchor: usize,
    },
    Map {
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        pos: Pos,
        anchor: usize,
    },
}

/// Parses `text` into the tree of its single document.
pub fn parse(text: &str) -> Result<Node, Problem> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut nodes = 0usize;
    let mut root: Option<Node> = None;
    let mut documents = 0usize;

    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| scan_problem(&e))?;
        let pos = pos_of(&span.start);
        let complete: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => None,
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return Err(problem_at(
                        pos,
                        "a file may hold exactly one declaration, and a second document starts here",
                    ));
                }
                None
            }
            Event::Scalar(text, style, anchor, tag) => {
                if let Some(tag) = tag
                    && !tag.is_yaml_core_schema_tag("str")
                {
                    return Err(problem_at(
                        pos,
                        format!(
                            "YAML tags are not used in declarations (found {})",
                            tag.original()
                        ),
                    ));
                }
                let plain = matches!(style, ScalarStyle::Plain);
                Some((
                    Node {
                        value: Value::Scalar {
                            text: text.into_owned(),
                            plain,
                        },
                        pos,
                    },
                    anchor,
                ))
            }
            Event::SequenceStart(_, anchor, ref tag) | Event::MappingStart(_, anchor, ref tag) => {
                let is_seq = matches!(event, Event::SequenceStart(..));
                if let Some(tag) = tag {
                    return Err(problem_at(
                        pos,
                        format!(
                            "YAML tags are not used in declarations (found {})",
                            tag.original()
                        ),
                    ));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(problem_at(
                        pos,
                        format!("nesting is deeper than {MAX_DEPTH} levels"),
                    ));
                }
                let frame = if is_seq {
                    Frame::Seq {
                        items: Vec::new(),
                        pos,
                        anchor,
                    }
                } else {
                    Frame::Map {
                        entries: Vec::new(),
                        key: None,
                        pos,
                        anchor,
                    }
                };
                stack.push(frame);
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq { items, pos, anchor }) => Some((
                    Node {
                        value: Value::Seq(items),
                        pos,
                    },
                    anchor,
                )),
                Some(Frame::Map {
                    entries,
                    pos,
                    anchor,
                    ..
                }) => Some((
                    Node {
                        value: Value::Map(entries),
                        pos,
                    },
                    anchor,
                )),
                None => return Err(problem_at(pos, "unbalanced document structure")),
            },
            Event::Alias(id) => {
                let Some(target) = anchors.get(&id) else {
                    return Err(problem_at(pos, "alias to an unknown anchor"));
                };
                // An alias copies its anchor's subtree: count those nodes too, so that nested
                // aliases ("billion laughs") hit the node budget instead of exhausting memory.
                nodes += count_nodes(target, MAX_NODES.saturating_sub(nodes) + 1);
                if nodes > MAX_NODES {
                    return Err(problem_at(
                        pos,
                        format!("the document has more than {MAX_NODES} nodes (aliases included)"),
                    ));
                }
                let mut copy = target.clone();
                copy.pos = pos;
                Some((copy, 0))
            }
            _ => None,
        };
        let Some((node, anchor)) = complete else {
            continue;
        };
        nodes += 1;
        if nodes > MAX_NODES {
            return Err(problem_at(
                pos,
                format!("the document has more than {MAX_NODES} nodes"),
            ));
        }
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
    root.ok_or_else(|| Problem {
        path: None,
        line: None,
        column: None,
        offset: None,
        message: "the file holds no declaration (it is empty or only comments)".to_owned(),
    })
}

/// Counts the nodes of a subtree, stopping early once `limit` is passed.
fn count_nodes(node: &Node, limit: usize) -> usize {
    let mut count = 0usize;
    let mut pending = vec![node];
    while let Some(n) = pending.pop() {
        count += 1;
        if count > limit {
            break;
        }
        match &n.value {
            Value::Scalar { .. } => {}
            Value::Seq(items) => pending.extend(items.iter()),
            Value::Map(entries) => {
                for (k, v) in entries {
                    pending.push(k);
                    pending.push(v);
                }
            }
        }
    }
    count
}
