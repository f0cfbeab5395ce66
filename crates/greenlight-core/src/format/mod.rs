//! Reading declaration format v1 from YAML or JSON, strictly.
//!
//! ```
//! use greenlight_core::format::{parse, SourceKind};
//!
//! let text = b"greenlight: declaration/v1
//! production: {title: Harbour Lights}
//! use: {ref: HL-1, summary: Mood board}
//! tools: [{name: Enterprise image model, enterprise_agreement: true, data_use: none}]
//! ";
//! let parsed = parse(text, SourceKind::Yaml).unwrap();
//! assert_eq!(parsed.declaration.usage.reference, "HL-1");
//! assert_eq!(parsed.source_map.line("tools[0].data_use"), Some(4));
//!
//! let err = parse(b"greenlight: declaration/v1\nproduction: {title: X, kind: film}\n", SourceKind::Yaml).unwrap_err();
//! assert!(err.problems.iter().any(|p| p.path.as_deref() == Some("production.kind")));
//! ```

mod convert;
mod tree;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::declaration::Declaration;

pub(crate) use convert::parse_iso_date;
pub use tree::{MAX_DEPTH, MAX_NODES};

/// Largest declaration accepted, in bytes. A real declaration is a few kilobytes.
pub const MAX_INPUT_BYTES: usize = 1024 * 1024;

/// How to read the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// YAML 1.2.
    Yaml,
    /// JSON (checked as strict JSON first).
    Json,
    /// JSON when the first non-blank character is `{`, YAML otherwise.
    Sniff,
}

impl SourceKind {
    /// By extension: `.json` is JSON, `.yaml`/`.yml` YAML, anything else is sniffed.
    pub fn from_path(path: &Path) -> Self {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("json") => SourceKind::Json,
            Some("yaml" | "yml") => SourceKind::Yaml,
            _ => SourceKind::Sniff,
        }
    }
}

/// A position in the source: 1-based line and column, 0-based byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
    pub offset: usize,
}

/// One problem found in a declaration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The field path (`tools[0].data_use`), when the problem belongs to a field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// 1-based line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// 0-based byte offset, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<usize>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl Problem {
    /// RFC 6901 JSON pointer of the path: `tools[0].data_use` is `/tools/0/data_use`.
    pub fn pointer(&self) -> Option<String> {
        self.path.as_deref().map(path_to_pointer)
    }
}

/// Turns a field path (`tools[0].data_use`) into a JSON pointer (`/tools/0/data_use`).
pub fn path_to_pointer(path: &str) -> String {
    let mut out = String::new();
    for part in path.split('.') {
        let (name, rest) = part.split_once('[').unwrap_or((part, ""));
        if !name.is_empty() {
            out.push('/');
            out.push_str(&name.replace('~', "~0").replace('/', "~1"));
        }
        for index in rest.split('[') {
            let index = index.trim_end_matches(']');
            if !index.is_empty() {
                out.push('/');
                out.push_str(index);
            }
        }
    }
    out
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut wrote = false;
        if let Some(path) = &self.path {
            f.write_str(path)?;
            wrote = true;
        }
        match (self.line, self.column, self.offset) {
            (Some(line), Some(col), _) => {
                write!(
                    f,
                    "{}(line {line}, col {col})",
                    if wrote { " " } else { "" }
                )?;
                wrote = true;
            }
            (None, None, Some(offset)) => {
                write!(f, "{}(byte {offset})", if wrote { " " } else { "" })?;
                wrote = true;
            }
            _ => {}
        }
        if wrote {
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}

/// Why a file is not a valid declaration: a summary and every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{summary}")]
pub struct FormatError {
    /// One line saying what is wrong overall.
    pub summary: String,
    /// Every problem, in document order.
    pub problems: Vec<Problem>,
}

impl FormatError {
    fn single(summary: &str, problem: Problem) -> Self {
        FormatError {
            summary: summary.to_owned(),
            problems: vec![problem],
        }
    }
}

/// Where each field of a parsed declaration was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceMap {
    positions: HashMap<String, Pos>,
}

impl SourceMap {
    pub(crate) fn insert(&mut self, path: String, pos: Pos) {
        self.positions.entry(path).or_insert(pos);
    }

    /// The position of a field path, if it was written in the file.
    pub fn get(&self, path: &str) -> Option<Pos> {
        self.positions.get(path).copied()
    }

    /// The line of a field path; for a field left to its default, the line of the nearest
    /// enclosing field that was written (`outputs.final` absent: the line of `outputs`).
    pub fn line(&self, path: &str) -> Option<usize> {
        let mut current = path;
        loop {
            if let Some(pos) = self.positions.get(current) {
                return Some(pos.line);
            }
            let cut = current.rfind(['.', '['])?;
            current = &current[..cut];
        }
    }
}

/// A declaration and where its fields were written.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub declaration: Declaration,
    pub source_map: SourceMap,
}

/// Parses one declaration from `bytes`.
///
/// Refuses input over [`MAX_INPUT_BYTES`], invalid UTF-8 (naming the byte offset), more than
/// one document, nesting deeper than [`MAX_DEPTH`] and more than [`MAX_NODES`] nodes; then
/// reports every problem of the declaration itself, each with its field path and position.
pub fn parse(bytes: &[u8], kind: SourceKind) -> Result<Parsed, FormatError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(FormatError::single(
            "the file is too large to be a declaration",
            Problem {
                path: None,
                line: None,
                column: None,
                offset: None,
                message: format!(
                    "the file has {} bytes; a declaration may have at most {MAX_INPUT_BYTES} bytes (1 MiB)",
                    bytes.len()
                ),
            },
        ));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let offset = err.valid_up_to();
            return Err(FormatError::single(
                "the file is not valid UTF-8",
                Problem {
                    path: None,
                    line: None,
                    column: None,
                    offset: Some(offset),
                    message: format!("invalid UTF-8 at byte {offset}"),
                },
            ));
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let is_json = match kind {
        SourceKind::Json => true,
        SourceKind::Yaml => false,
        SourceKind::Sniff => text.trim_start().starts_with('{'),
    };
    if is_json {
        check_json_syntax(text)?;
    }
    let root = tree::parse(text).map_err(|p| {
        let summary = if is_json {
            "the file is not valid JSON"
        } else {
            "the file is not valid YAML"
        };
        FormatError::single(summary, p)
    })?;
    convert::declaration(&root)
}

/// JSON files are held to JSON's own grammar (no comments, no YAML-only syntax) before they are
/// read through the YAML parser, which gives every node its position.
fn check_json_syntax(text: &str) -> Result<(), FormatError> {
    match serde_json::from_str::<serde::de::IgnoredAny>(text) {
        Ok(_) => Ok(()),
        Err(err) => {
            let line = err.line();
            let column = err.column();
            let offset = offset_of(text, line, column);
            let message = strip_position(&err.to_string());
            Err(FormatError::single(
                "the file is not valid JSON",
                Problem {
                    path: None,
                    line: Some(line),
                    column: Some(column),
                    offset,
                    message: format!("not valid JSON: {message}"),
                },
            ))
        }
    }
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(cut) => message[..cut].to_owned(),
        None => message.to_owned(),
    }
}

fn offset_of(text: &str, line: usize, column: usize) -> Option<usize> {
    if line == 0 {
        return None;
    }
    let start: usize = text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    Some(start + column.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_path_becomes_json_pointer() {
        assert_eq!(path_to_pointer("tools[0].data_use"), "/tools/0/data_use");
        assert_eq!(
            path_to_pointer("inputs[2].mentions[1].name"),
            "/inputs/2/mentions/1/name"
        );
        assert_eq!(path_to_pointer("use.ref"), "/use/ref");
    }
}
