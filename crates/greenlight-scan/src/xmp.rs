//! The IPTC digital source type in XMP (`Iptc4xmpExt:DigitalSourceType`), for files that carry
//! no C2PA manifest but were marked by the generating tool.
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

/// The digital source types found in a file's XMP (full IRIs or bare codes, as written).
pub fn digital_source_types_in_file(path: &Path) -> io::Result<Vec<String>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut head = Vec::new();
    (&mut file).take(SCAN_WINDOW).read_to_end(&mut head)?;
    let mut found = digital_source_types(&head);
    if len > SCAN_WINDOW {
        let start = len.saturating_sub(SCAN_WINDOW).max(SCAN_WINDOW);
        file.seek(SeekFrom::Start(start))?;
        let mut tail = Vec::new();
        file.take(SCAN_WINDOW).read_to_end(&mut tail)?;
        for t in digital_source_types(&tail) {
            if !found.contains(&t) {
                found.push(t);
            }
        }
    }
    Ok(found)
}

/// The digital source types in every XMP packet found in `bytes`.
pub fn digital_source_types(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = find(&bytes[from..], b"<x:xmpmeta").map(|i| i + from) {
        let Some(end) =
            find(&bytes[start..], b"</x:xmpmeta>").map(|i| start + i + b"</x:xmpmeta>".len())
        else {
            break;
        };
        if end - start <= MAX_PACKET {
            for t in types_in_packet(&bytes[start..end]) {
                if !out.contains(&t) {
                    out.push(t);
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

fn types_in_packet(packet: &[u8]) -> Vec<String> {
    let mut reader = quick_xml::NsReader::from_reader(packet);
    let mut out = Vec::new();
    let mut in_element = 0usize;
    let mut buf = Vec::new();
    loop {
        match reader.read_resolved_event_into(&mut buf) {
            Ok((ns, Event::Start(e))) => {
                // Text inside the property (directly, or in rdf:Bag/rdf:li) is collected.
                if is_dst(&ns, e.local_name().as_ref()) {
                    in_element += 1;
                }
                collect_attrs(&reader, &e, &mut out);
            }
            Ok((_, Event::Empty(e))) => collect_attrs(&reader, &e, &mut out),
            Ok((_, Event::Text(t))) if in_element > 0 => {
                if let Ok(text) = t.decode() {
                    let text = text.trim();
                    if !text.is_empty() {
                        out.push(text.to_string());
                    }
                }
            }
            Ok((ns, Event::End(e))) if is_dst(&ns, e.local_name().as_ref()) => {
                in_element = in_element.saturating_sub(1);
            }
            Ok((_, Event::Eof)) | Err(_) => break,
            _ => {}
        }
        buf.clear();
    }
    out
}

fn is_dst(ns: &ResolveResult<'_>, local: &[u8]) -> bool {
    matches!(ns, ResolveResult::Bound(n) if n.as_ref() == IPTC_EXT_NS)
        && local == b"DigitalSourceType"
}

fn collect_attrs(
    reader: &quick_xml::NsReader<&[u8]>,
    e: &quick_xml::events::BytesStart<'_>,
    out: &mut Vec<String>,
) {
    for attr in e.attributes().flatten() {
        let (ns, local) = reader.resolver().resolve_attribute(attr.key);
        if is_dst(&ns, local.as_ref())
            && let Ok(v) = attr.normalized_value(quick_xml::XmlVersion::Implicit1_0)
        {
            out.push(v.trim().to_string());
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
