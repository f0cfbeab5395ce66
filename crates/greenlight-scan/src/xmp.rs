//! The IPTC digital source type in XMP (`Iptc4xmpExt:DigitalSourceType`), for files that carry
//! no C2PA manifest but were marked by the generating tool, and the AI properties of IPTC Photo
//! Metadata 2025.1 in the same namespace: `AISystemUsed`, `AISystemVersionUsed`,
//! `AIPromptInformation` and `AIPromptWriterName` (their presence says generative AI made the
//! picture).
//!
//! The XMP packet is located by hand, by scanning the bytes for `<x:xmpmeta` ... `</x:xmpmeta>`
//! as XMP Part 3 ("packet scanning") allows, because the packet may sit in any container
//! (JPEG APP1, PNG iTXt, TIFF tag 700, an MP4 `uuid` box, a WAV chunk) and no maintained
//! pure-Rust crate extracts it from all of them; the packet found is then read with
//! `quick-xml`, with namespaces resolved, never by string matching. Limits: a packet stored
//! compressed (PNG zTXt, compressed iTXt) is not seen; only the first and last
//! [`SCAN_WINDOW`] bytes of a file are scanned, which is where writers put it.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

/// The IPTC Extension namespace.
pub const IPTC_EXT_NS: &[u8] = b"http://iptc.org/std/Iptc4xmpExt/2008-02-29/";

/// How many bytes at each end of a file are scanned for a packet.
pub const SCAN_WINDOW: u64 = 8 * 1024 * 1024;

/// The largest packet accepted (a bigger one is ignored, keeping memory bounded).
pub const MAX_PACKET: usize = 4 * 1024 * 1024;

/// The IPTC 2025.1 AI properties, by local name in the IPTC Extension namespace, with the
/// label the standard gives them.
pub const AI_PROPERTIES: [(&str, &str); 4] = [
    ("AISystemUsed", "AI System Used"),
    ("AISystemVersionUsed", "AI System Version Used"),
    ("AIPromptInformation", "AI Prompt Information"),
    ("AIPromptWriterName", "AI Prompt Writer Name"),
];

/// One IPTC 2025.1 AI property found in XMP.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AiProperty {
    /// Its local name, e.g. `AISystemUsed`.
    pub property: String,
    /// Its value as written.
    pub value: String,
}

/// What a file's XMP says about how it was made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmpFacts {
    /// Digital source types (full IRIs or bare codes, as written).
    pub source_types: Vec<String>,
    /// IPTC 2025.1 AI properties.
    pub ai: Vec<AiProperty>,
}

/// The digital source types found in a file's XMP (full IRIs or bare codes, as written).
pub fn digital_source_types_in_file(path: &Path) -> io::Result<Vec<String>> {
    read_file(path).map(|f| f.source_types)
}

/// The source types and IPTC 2025.1 AI properties of every XMP packet at either end of a file.
pub fn read_file(path: &Path) -> io::Result<XmpFacts> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut head = Vec::new();
    (&mut file).take(SCAN_WINDOW).read_to_end(&mut head)?;
    let mut found = read_bytes(&head);
    if len > SCAN_WINDOW {
        let start = len.saturating_sub(SCAN_WINDOW).max(SCAN_WINDOW);
        file.seek(SeekFrom::Start(start))?;
        let mut tail = Vec::new();
        file.take(SCAN_WINDOW).read_to_end(&mut tail)?;
        let more = read_bytes(&tail);
        for t in more.source_types {
            if !found.source_types.contains(&t) {
                found.source_types.push(t);
            }
        }
        for a in more.ai {
            if !found.ai.contains(&a) {
                found.ai.push(a);
            }
        }
    }
    Ok(found)
}

/// The digital source types in every XMP packet found in `bytes`.
pub fn digital_source_types(bytes: &[u8]) -> Vec<String> {
    read_bytes(bytes).source_types
}

/// The source types and IPTC 2025.1 AI properties in every XMP packet found in `bytes`.
pub fn read_bytes(bytes: &[u8]) -> XmpFacts {
    let mut out = XmpFacts::default();
    let mut from = 0;
    while let Some(start) = find(&bytes[from..], b"<x:xmpmeta").map(|i| i + from) {
        let Some(end) =
            find(&bytes[start..], b"</x:xmpmeta>").map(|i| start + i + b"</x:xmpmeta>".len())
        else {
            break;
        };
        if end - start <= MAX_PACKET {
            for (property, value) in properties_in_packet(&bytes[start..end]) {
                if property == "DigitalSourceType" {
                    if !out.source_types.contains(&value) {
                        out.source_types.push(value);
                    }
                } else {
                    let a = AiProperty {
                        property: property.to_string(),
                        value,
                    };
                    if !out.ai.contains(&a) {
                        out.ai.push(a);
                    }
                }
            }
        }
        from = end;
    }
    out
}

/// Whether a digital source type (IRI or code) means generative AI made the content, wholly
/// or in part (IPTC's `trainedAlgorithmicMedia` and `compositeWithTrainedAlgorithmicMedia`).
pub fn is_generative_ai(source_type: &str) -> bool {
    let code = source_type.rsplit('/').next().unwrap_or(source_type);
    matches!(
        code,
        "trainedAlgorithmicMedia" | "compositeWithTrainedAlgorithmicMedia"
    )
}

/// The properties read, as (local name, value): `DigitalSourceType` and the AI properties.
fn properties_in_packet(packet: &[u8]) -> Vec<(&'static str, String)> {
    let mut reader = quick_xml::NsReader::from_reader(packet);
    let mut out = Vec::new();
    // The property being read and how deep inside it we are.
    let mut inside: Option<(&'static str, usize)> = None;
    let mut buf = Vec::new();
    loop {
        match reader.read_resolved_event_into(&mut buf) {
            Ok((ns, Event::Start(e))) => {
                // Text inside the property (directly, or in rdf:Bag/rdf:Alt/rdf:li) is collected.
                match (&mut inside, property(&ns, e.local_name().as_ref())) {
                    (Some((_, depth)), _) => *depth += 1,
                    (None, Some(p)) => inside = Some((p, 1)),
                    (None, None) => {}
                }
                collect_attrs(&reader, &e, &mut out);
            }
            Ok((_, Event::Empty(e))) => collect_attrs(&reader, &e, &mut out),
            Ok((_, Event::Text(t))) if inside.is_some() => {
                if let (Ok(text), Some((p, _))) = (t.decode(), inside) {
                    let text = text.trim();
                    if !text.is_empty() {
                        out.push((p, text.to_string()));
                    }
                }
            }
            Ok((_, Event::End(_))) => {
                if let Some((_, depth)) = &mut inside {
                    *depth -= 1;
                    if *depth == 0 {
                        inside = None;
                    }
                }
            }
            Ok((_, Event::Eof)) | Err(_) => break,
            _ => {}
        }
        buf.clear();
    }
    out
}

/// The property an IPTC Extension name is, if one we read.
fn property(ns: &ResolveResult<'_>, local: &[u8]) -> Option<&'static str> {
    if !matches!(ns, ResolveResult::Bound(n) if n.as_ref() == IPTC_EXT_NS) {
        return None;
    }
    std::iter::once("DigitalSourceType")
        .chain(AI_PROPERTIES.iter().map(|(name, _)| *name))
        .find(|name| name.as_bytes() == local)
}

fn collect_attrs(
    reader: &quick_xml::NsReader<&[u8]>,
    e: &quick_xml::events::BytesStart<'_>,
    out: &mut Vec<(&'static str, String)>,
) {
    for attr in e.attributes().flatten() {
        let (ns, local) = reader.resolver().resolve_attribute(attr.key);
        if let Some(p) = property(&ns, local.as_ref())
            && let Ok(v) = attr.normalized_value(quick_xml::XmlVersion::Implicit1_0)
        {
            out.push((p, v.trim().to_string()));
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AI: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";

    #[test]
    fn the_source_type_is_found_as_an_attribute_or_an_element() {
        let attr = format!(
            "junk<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
             <rdf:Description xmlns:Iptc4xmpExt=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\" Iptc4xmpExt:DigitalSourceType=\"{AI}\"/>\
             </rdf:RDF></x:xmpmeta>junk"
        );
        assert_eq!(digital_source_types(attr.as_bytes()), [AI]);
        let elem = format!(
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
             <rdf:Description xmlns:ext=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\">\
             <ext:DigitalSourceType>{AI}</ext:DigitalSourceType></rdf:Description></rdf:RDF></x:xmpmeta>"
        );
        assert_eq!(digital_source_types(elem.as_bytes()), [AI]);
        assert!(is_generative_ai(AI));
    }

    #[test]
    fn the_iptc_2025_ai_properties_are_read_as_attributes_or_elements() {
        let packet = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
             <rdf:Description xmlns:Iptc4xmpExt=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\" Iptc4xmpExt:AISystemUsed=\"Midjourney\" Iptc4xmpExt:AISystemVersionUsed=\"6.1\">\
             <Iptc4xmpExt:AIPromptInformation>a fox in the snow</Iptc4xmpExt:AIPromptInformation>\
             <Iptc4xmpExt:AIPromptWriterName><rdf:Alt><rdf:li xml:lang=\"x-default\">J. Doe</rdf:li></rdf:Alt></Iptc4xmpExt:AIPromptWriterName>\
             <Iptc4xmpExt:LocationShown>not read</Iptc4xmpExt:LocationShown>\
             </rdf:Description></rdf:RDF></x:xmpmeta>";
        let facts = read_bytes(packet.as_bytes());
        assert!(facts.source_types.is_empty());
        let got: Vec<(&str, &str)> = facts
            .ai
            .iter()
            .map(|a| (a.property.as_str(), a.value.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("AISystemUsed", "Midjourney"),
                ("AISystemVersionUsed", "6.1"),
                ("AIPromptInformation", "a fox in the snow"),
                ("AIPromptWriterName", "J. Doe"),
            ]
        );
    }

    #[test]
    fn a_look_alike_in_another_namespace_does_not_count() {
        let other = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><d xmlns:Iptc4xmpExt=\"urn:other\" Iptc4xmpExt:DigitalSourceType=\"x\"/></x:xmpmeta>";
        assert!(digital_source_types(other.as_bytes()).is_empty());
    }

    #[test]
    fn broken_or_unterminated_packets_give_nothing() {
        assert!(digital_source_types(b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><<<").is_empty());
        assert!(digital_source_types(b"<x:xmpmeta></x:xmpmeta>").is_empty());
        assert!(!is_generative_ai(
            "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
        ));
    }
}
