//! IMSC timed text wrapped in MXF (an IMF subtitle or caption track file): the images of an
//! image-profile track, each with the time it is shown, so a temporary still delivered as a
//! subtitle image is matched like any other picture.
//!
//! An IMF timed-text track file (SMPTE ST 2067-2, ST 429-5 wrapping) carries one TTML document
//! and, for the image profile, its PNG images as ancillary resources in generic-stream
//! partitions. No crate reads MXF generic streams, and ffmpeg exposes neither the document nor
//! the images, so this module reads what it needs by hand: it finds the TTML document by its
//! namespace, takes the begin time of every image reference in document order, and finds the
//! PNG images by their signature, walking their chunks to `IEND` (every length bounded by the
//! file). Images are paired with references in order when both counts agree (how packaging
//! tools write them); otherwise an image's position in the file stands for its time and the
//! caller says so.

use std::io;
use std::ops::Range;
use std::path::Path;

use quick_xml::events::{BytesStart, Event};

/// The TTML namespace, whose presence marks an MXF as timed text.
const TTML_NS: &[u8] = b"http://www.w3.org/ns/ttml";
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
/// A timed-text track file is small (text and subtitle images); a larger one is refused rather
/// than read into memory.
pub const MAX_TIMED_TEXT_FILE: u64 = 512 << 20;
/// Images read from one track file at most (an episode's subtitles are a few thousand).
pub const MAX_IMAGES: usize = 20_000;
/// How far before the namespace the document's start is looked for.
const DOCUMENT_LOOKBACK: usize = 64 << 10;

/// A timed-text track file's images.
#[derive(Debug)]
pub struct TimedText {
    /// The file's bytes (the images are ranges of them).
    pub bytes: Vec<u8>,
    /// Every PNG image in the file, in file order.
    pub images: Vec<SubtitleImage>,
    /// Whether each image's time came from the document (false: times are positions).
    pub timed: bool,
}

/// One subtitle image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubtitleImage {
    /// Where its PNG lies in the file.
    pub png: Range<usize>,
    /// When it is first shown, in milliseconds from the start of the track.
    pub begin_ms: u32,
}

impl TimedText {
    /// The PNG bytes of an image.
    pub fn png(&self, image: &SubtitleImage) -> &[u8] {
        &self.bytes[image.png.clone()]
    }
}

/// Reads an MXF as timed text: `Ok(None)` when it holds no TTML document.
pub fn read(path: &Path) -> io::Result<Option<TimedText>> {
    let size = std::fs::metadata(path)?.len();
    if size > MAX_TIMED_TEXT_FILE {
        return Err(io::Error::other(format!(
            "a timed-text file larger than {} MiB is not read",
            MAX_TIMED_TEXT_FILE >> 20
        )));
    }
    let bytes = std::fs::read(path)?;
    Ok(parse(bytes))
}

/// As [`read`], on bytes already in memory.
pub fn parse(bytes: Vec<u8>) -> Option<TimedText> {
    let ns = find(&bytes, TTML_NS, 0)?;
    let begins = document_start(&bytes, ns)
        .map(|start| image_begins(&bytes[start..]))
        .unwrap_or_default();
    let pngs = pngs(&bytes);
    let timed = !pngs.is_empty() && pngs.len() == begins.len();
    let images = pngs
        .into_iter()
        .enumerate()
        .map(|(i, png)| SubtitleImage {
            png,
            begin_ms: if timed {
                begins[i]
            } else {
                u32::try_from(i).unwrap_or(u32::MAX).saturating_mul(1000)
            },
        })
        .collect();
    Some(TimedText {
        bytes,
        images,
        timed,
    })
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The start of the XML document holding the namespace at `ns`: its declaration, or the last
/// `<tt` element start before the namespace.
fn document_start(bytes: &[u8], ns: usize) -> Option<usize> {
    let from = ns.saturating_sub(DOCUMENT_LOOKBACK);
    let window = &bytes[from..ns];
    let last = |needle: &[u8]| {
        window
            .windows(needle.len())
            .rposition(|w| w == needle)
            .map(|p| p + from)
    };
    last(b"<?xml").or_else(|| last(b"<tt")).or_else(|| {
        // A prefixed root (`<tt:tt`).
        last(b"<").filter(|&p| bytes.get(p + 1).is_some_and(u8::is_ascii_alphabetic))
    })
}

/// Every PNG in the bytes, each walked chunk by chunk to its `IEND`.
fn pngs(bytes: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut at = 0;
    while out.len() < MAX_IMAGES {
        let Some(start) = find(bytes, PNG_SIGNATURE, at) else {
            break;
        };
        match png_end(bytes, start) {
            Some(end) => {
                out.push(start..end);
                at = end;
            }
            None => at = start + PNG_SIGNATURE.len(),
        }
    }
    out
}

fn png_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut at = start + PNG_SIGNATURE.len();
    loop {
        let header = bytes.get(at..at.checked_add(8)?)?;
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        // Chunk length, type, data and CRC; a length past the file ends the walk.
        let end = at.checked_add(12)?.checked_add(len)?;
        if end > bytes.len() {
            return None;
        }
        if &header[4..8] == b"IEND" {
            return Some(end);
        }
        at = end;
    }
}

/// The frame rate TTML frame counts are in (`ttp:frameRate` times `ttp:frameRateMultiplier`,
/// 30 by default), and the tick rate of `t` offsets.
#[derive(Debug, Clone, Copy)]
struct Rates {
    frame_rate: f64,
    tick_rate: f64,
}

/// The begin time (ms) of each image reference, in document order: an element carrying
/// `smpte:backgroundImage` (IMSC 1.0.1) or an `image` element (IMSC 1.1). TTML times nest: an
/// element's begin counts from its parent's.
fn image_begins(doc: &[u8]) -> Vec<u32> {
    let mut reader = quick_xml::Reader::from_reader(doc);
    reader.config_mut().check_end_names = false;
    let mut rates = Rates {
        frame_rate: 30.0,
        tick_rate: 1.0,
    };
    // The absolute begin of each open element.
    let mut stack: Vec<f64> = Vec::new();
    let mut out = Vec::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let event = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(_) => break,
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                if stack.is_empty() && e.local_name().as_ref() == b"tt" {
                    rates = document_rates(e);
                }
                let parent = stack.last().copied().unwrap_or(0.0);
                let begin = attr(e, b"begin")
                    .and_then(|v| seconds(&v, rates))
                    .map_or(parent, |b| parent + b);
                if out.len() < MAX_IMAGES
                    && (attr(e, b"backgroundImage").is_some()
                        || e.local_name().as_ref() == b"image")
                {
                    out.push((begin * 1000.0).round().clamp(0.0, f64::from(u32::MAX)) as u32);
                }
                if !empty {
                    stack.push(begin);
                }
            }
            Event::End(_) => {
                stack.pop();
                if stack.is_empty() {
                    break;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn attr(e: &BytesStart<'_>, local: &[u8]) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        (a.key.local_name().as_ref() == local)
            .then(|| String::from_utf8_lossy(&a.value).into_owned())
    })
}

fn document_rates(tt: &BytesStart<'_>) -> Rates {
    let base = attr(tt, b"frameRate")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|r| *r > 0.0)
        .unwrap_or(30.0);
    let multiplier = attr(tt, b"frameRateMultiplier")
        .and_then(|v| {
            let mut parts = v.split_whitespace().map(str::parse::<f64>);
            match (parts.next(), parts.next()) {
                (Some(Ok(n)), Some(Ok(d))) if n > 0.0 && d > 0.0 => Some(n / d),
                _ => None,
            }
        })
        .unwrap_or(1.0);
    let frame_rate = base * multiplier;
    let tick_rate = attr(tt, b"tickRate")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|r| *r > 0.0)
        .unwrap_or(1.0);
    Rates {
        frame_rate,
        tick_rate,
    }
}

/// A TTML time expression in seconds: clock time (`HH:MM:SS`, `.fraction` or `:frames`) or an
/// offset (`12.5s`, `1200ms`, `25f`, `2h`, `3m`, `900t`).
fn seconds(v: &str, rates: Rates) -> Option<f64> {
    let v = v.trim();
    if v.contains(':') {
        let parts: Vec<&str> = v.split(':').collect();
        let (h, m, s, frames) = match parts.as_slice() {
            [h, m, s] => (*h, *m, *s, None),
            [h, m, s, f] => (*h, *m, *s, Some(*f)),
            _ => return None,
        };
        let mut total = h.parse::<f64>().ok()? * 3600.0 + m.parse::<f64>().ok()? * 60.0;
        total += s.parse::<f64>().ok()?;
        if let Some(f) = frames {
            // Sub-frames (`FF.sub`) are dropped: they are below a frame's resolution.
            let f = f.split('.').next()?.parse::<f64>().ok()?;
            total += f / rates.frame_rate;
        }
        return total.is_finite().then_some(total);
    }
    let split = v.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = v.split_at(split);
    let n = n.parse::<f64>().ok()?;
    let s = match unit {
        "h" => n * 3600.0,
        "m" => n * 60.0,
        "s" => n,
        "ms" => n / 1000.0,
        "f" => n / rates.frame_rate,
        "t" => n / rates.tick_rate,
        _ => return None,
    };
    s.is_finite().then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_of(w: u32, h: u32, seed: u8) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 7 + u32::from(seed)) as u8, (y * 5) as u8, seed])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png)
            .expect("encoding a PNG in memory cannot fail");
        out.into_inner()
    }

    fn document(begins: &[&str]) -> String {
        let divs: String = begins
            .iter()
            .enumerate()
            .map(|(i, b)| {
                format!(r##"<div begin="{b}" end="99s" smpte:backgroundImage="#img{i}"/>"##)
            })
            .collect();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttp="http://www.w3.org/ns/ttml#parameter" xmlns:smpte="http://www.smpte-ra.org/schemas/2052-1/2010/smpte-tt" ttp:frameRate="24"><body begin="00:00:01.000">{divs}</body></tt>"#
        )
    }

    #[test]
    fn images_are_paired_with_their_begin_times_in_order() {
        let mut bytes = b"MXF header bytes".to_vec();
        bytes.extend(document(&["00:00:02:12", "10s"]).as_bytes());
        let a = png_of(16, 16, 1);
        let b = png_of(16, 16, 2);
        bytes.extend(b"generic stream partition");
        bytes.extend(&a);
        bytes.extend(b"more klv");
        bytes.extend(&b);
        let tt = parse(bytes).expect("a TTML document is found");
        assert!(tt.timed);
        assert_eq!(tt.images.len(), 2);
        // The body begins at 1 s: 1 + 2 s 12 frames at 24 fps, and 1 + 10 s.
        assert_eq!(tt.images[0].begin_ms, 3500);
        assert_eq!(tt.images[1].begin_ms, 11000);
        assert_eq!(tt.png(&tt.images[0]), &a[..]);
        assert_eq!(tt.png(&tt.images[1]), &b[..]);
    }

    #[test]
    fn a_file_without_a_ttml_document_is_not_timed_text() {
        assert!(parse(png_of(8, 8, 3)).is_none());
    }

    #[test]
    fn a_png_whose_chunk_length_runs_past_the_file_is_skipped() {
        let mut bytes = document(&["1s"]).into_bytes();
        let mut broken = png_of(8, 8, 4);
        // The IHDR length field claims 2 GiB.
        broken[8..12].copy_from_slice(&0x8000_0000u32.to_be_bytes());
        bytes.extend(&broken);
        let tt = parse(bytes).expect("a TTML document is found");
        assert!(tt.images.is_empty());
    }

    #[test]
    fn when_counts_differ_an_image_position_stands_for_its_time() {
        let mut bytes = document(&["1s", "2s", "3s"]).into_bytes();
        bytes.extend(png_of(8, 8, 5));
        bytes.extend(png_of(8, 8, 6));
        let tt = parse(bytes).expect("a TTML document is found");
        assert!(!tt.timed);
        let times: Vec<u32> = tt.images.iter().map(|i| i.begin_ms).collect();
        assert_eq!(times, vec![0, 1000]);
    }

    #[test]
    fn time_expressions_follow_ttml() {
        let r = Rates {
            frame_rate: 24000.0 / 1001.0,
            tick_rate: 10_000_000.0,
        };
        assert_eq!(seconds("01:00:00.5", r), Some(3600.5));
        assert_eq!(seconds("1200ms", r), Some(1.2));
        assert_eq!(seconds("20000000t", r), Some(2.0));
        assert_eq!(seconds("2.5m", r), Some(150.0));
        assert!(
            (seconds("00:00:01:12", r).unwrap() - (1.0 + 12.0 * 1001.0 / 24000.0)).abs() < 1e-9
        );
        assert_eq!(seconds("soon", r), None);
        assert_eq!(seconds("1:2", r), None);
    }
}
