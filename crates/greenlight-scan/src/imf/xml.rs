//! A small, bounded XML tree for IMF documents, read with `quick-xml`.
//!
//! Elements are kept by local name only: IMF namespaces changed between the 2013, 2016 and 2020
//! schemas (and Resolve writes sequences in a 2020 namespace inside a 2016 CPL), and nothing
//! we read depends on telling them apart. Limits: files over [`MAX_XML_BYTES`] are refused
//! before they are read; a `<!DOCTYPE` is refused (IMF documents have no DTD, and refusing it
//! rules out entity-expansion bombs whatever the parser does); an entity other than the five
//! predefined ones and character references is refused; nesting and element counts are capped.
//! Subtrees we never read (essence descriptors, signatures, extension properties) are skipped
//! without being stored.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::ImfError;

/// The largest IMF XML document read (16 MiB); a real CPL of a feature is well under 1 MiB.
pub const MAX_XML_BYTES: u64 = 16 * 1024 * 1024;

/// The deepest element nesting accepted.
const MAX_DEPTH: usize = 64;

/// The most elements kept from one document (skipped subtrees do not count).
const MAX_ELEMENTS: usize = 300_000;

/// Subtrees that hold nothing the reader uses, skipped without building elements.
const SKIPPED: &[&str] = &[
    "EssenceDescriptorList",
    "Signature",
    "Signer",
    "ExtensionProperties",
    "LocaleList",
    "ContentVersionList",
];

/// One element: its local name, the line it starts on, attributes by local name, its own text
/// (trimmed) and its child elements.
#[derive(Debug, Clone, Default)]
pub(crate) struct Element {
    pub name: String,
    pub line: usize,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child with this local name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The trimmed text of the first child with this local name.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    /// An attribute by local name.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads and parses an XML file, refusing it unread when it is over [`MAX_XML_BYTES`].
pub(crate) fn read_file(path: &Path) -> Result<Element, ImfError> {
    let io = |source| ImfError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(ImfError::Xml {
            path: path.to_path_buf(),
            line: 0,
            detail: "not a regular file".into(),
        });
    }
    let too_large = |size| ImfError::TooLarge {
        path: path.to_path_buf(),
        size,
        limit: MAX_XML_BYTES,
    };
    if meta.len() > MAX_XML_BYTES {
        return Err(too_large(meta.len()));
    }
    // The file may grow between the check and the read: never read past the limit.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_XML_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_XML_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    parse(&bytes, path)
}

/// Counts lines up to a byte position, remembering where it got to (positions only grow).
struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
}

impl Lines<'_> {
    fn at(&mut self, pos: u64) -> usize {
        let pos = (pos as usize).min(self.bytes.len());
        if pos > self.pos {
            self.line += self.bytes[self.pos..pos]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.pos = pos;
        }
        self.line
    }
}

/// Parses a whole document into its root element.
pub(crate) fn parse(bytes: &[u8], path: &Path) -> Result<Element, ImfError> {
    let mut reader = Reader::from_reader(bytes);
    let mut lines = Lines {
        bytes,
        pos: 0,
        line: 1,
    };
    let err = |line: usize, detail: String| ImfError::Xml {
        path: path.to_path_buf(),
        line,
        detail,
    };
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let start = reader.buffer_position();
        let event = reader.read_event().map_err(|e| {
            let line = lines.at(reader.error_position());
            err(line, e.to_string())
        })?;
        let line = lines.at(start);
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() && stack.is_empty() => {
                return Err(err(line, "a second root element".into()));
            }
            Event::Start(e) => {
                let name = local_name(&e, path, line)?;
                if SKIPPED.contains(&name.as_str()) {
                    reader
                        .read_to_end(e.name())
                        .map_err(|x| err(lines.at(reader.error_position()), x.to_string()))?;
                    continue;
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(err(
                        line,
                        format!("elements nested deeper than {MAX_DEPTH}"),
                    ));
                }
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(err(line, format!("more than {MAX_ELEMENTS} elements")));
                }
                let attrs = attributes(&e, path, line)?;
                stack.push(Element {
                    name,
                    line,
                    attrs,
                    ..Element::default()
                });
            }
            Event::Empty(e) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(err(line, format!("more than {MAX_ELEMENTS} elements")));
                }
                let el = Element {
                    name: local_name(&e, path, line)?,
                    line,
                    attrs: attributes(&e, path, line)?,
                    ..Element::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let Some(mut done) = stack.pop() else {
                    return Err(err(line, "an end tag with no start tag".into()));
                };
                done.text = done.text.trim().to_string();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                if let Some(el) = stack.last_mut() {
                    let s = t
                        .xml_content(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| err(line, e.to_string()))?;
                    el.text.push_str(&s);
                } else if !t.iter().all(u8::is_ascii_whitespace) {
                    return Err(err(line, "text outside the root element".into()));
                }
            }
            Event::CData(t) => {
                if let Some(el) = stack.last_mut() {
                    let s = t.decode().map_err(|e| err(line, e.to_string()))?;
                    el.text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| err(line, e.to_string()))?;
                let ch = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(|e| err(line, e.to_string()))?
                        .map(String::from)
                } else {
                    quick_xml::escape::resolve_predefined_entity(&name).map(str::to_string)
                };
                let Some(ch) = ch else {
                    return Err(err(
                        line,
                        format!("undeclared entity &{name}; (no DTD is read)"),
                    ));
                };
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&ch);
                }
            }
            Event::DocType(_) => {
                return Err(err(
                    line,
                    "a DOCTYPE is refused (IMF documents have none, and its entities could \
                     expand without bound)"
                        .into(),
                ));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(err(
            lines.at(bytes.len() as u64),
            format!(
                "the document ends inside <{}> (line {})",
                open.name, open.line
            ),
        ));
    }
    root.ok_or_else(|| err(1, "no root element".into()))
}

fn local_name(e: &BytesStart<'_>, path: &Path, line: usize) -> Result<String, ImfError> {
    std::str::from_utf8(e.local_name().as_ref())
        .map(str::to_string)
        .map_err(|_| ImfError::Xml {
            path: path.to_path_buf(),
            line,
            detail: "an element name is not UTF-8".into(),
        })
}

fn attributes(
    e: &BytesStart<'_>,
    path: &Path,
    line: usize,
) -> Result<Vec<(String, String)>, ImfError> {
    let err = |detail: String| ImfError::Xml {
        path: path.to_path_buf(),
        line,
        detail,
    };
    let mut out = Vec::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|x| err(x.to_string()))?;
        let key = std::str::from_utf8(attr.key.local_name().as_ref())
            .map_err(|_| err("an attribute name is not UTF-8".into()))?
            .to_string();
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|x| err(format!("attribute {key}: {x}")))?
            .to_string();
        out.push((key, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(s: &str) -> Result<Element, ImfError> {
        parse(s.as_bytes(), Path::new("T.xml"))
    }

    #[test]
    fn elements_are_read_by_local_name_whatever_the_namespace() {
        let root = doc(r#"<?xml version="1.0"?>
<a:Root xmlns:a="urn:x" xmlns:b="urn:y">
  <b:Child k="v &amp; w">one &lt; two</b:Child>
  <Other/>
</a:Root>"#)
        .expect("parses");
        assert_eq!(root.name, "Root");
        let child = root.child("Child").expect("child");
        assert_eq!(child.text, "one < two");
        assert_eq!(child.attr("k"), Some("v & w"));
        assert_eq!(child.line, 3);
        assert_eq!(root.child("Other").map(|o| o.line), Some(4));
    }

    #[test]
    fn skipped_subtrees_are_not_kept() {
        let root =
            doc("<R><EssenceDescriptorList><X><Y/></X></EssenceDescriptorList><Id>1</Id></R>")
                .expect("parses");
        assert_eq!(root.children.len(), 1);
        assert_eq!(root.text_of("Id"), Some("1"));
    }

    #[test]
    fn entity_declarations_and_unknown_entities_are_refused_with_the_line() {
        let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
]>
<R>&lol2;</R>"#;
        let e = doc(bomb).expect_err("a DOCTYPE is refused");
        assert!(e.to_string().contains("T.xml line 2"), "{e}");
        assert!(e.to_string().contains("DOCTYPE"), "{e}");
        let e = doc("<R>\n&lol;</R>").expect_err("an undeclared entity is refused");
        assert!(e.to_string().contains("line 2"), "{e}");
        assert!(e.to_string().contains("&lol;"), "{e}");
    }

    #[test]
    fn broken_documents_name_the_line() {
        for (bad, line) in [
            ("<R>\n<A></B>\n</R>", "line 2"),
            ("<R>\n<A>", "ends inside <A>"),
            ("", "no root element"),
            ("<R/><S/>", "second root"),
        ] {
            let e = doc(bad).expect_err(bad);
            assert!(e.to_string().contains(line), "{bad:?}: {e}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        let e = doc(&deep).expect_err("too deep");
        assert!(e.to_string().contains("nested deeper"), "{e}");
    }

    #[test]
    fn a_file_over_the_limit_is_refused_unread() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("BIG.xml");
        let f = File::create(&path).expect("create");
        f.set_len(MAX_XML_BYTES + 1).expect("sparse file");
        let e = read_file(&path).expect_err("too large");
        assert!(matches!(e, ImfError::TooLarge { .. }), "{e}");
        assert!(e.to_string().contains("BIG.xml"), "{e}");
    }
}
