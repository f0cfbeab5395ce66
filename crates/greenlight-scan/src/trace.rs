//! Generator traces: what image, video and audio generators leave in a file's metadata (the
//! prompt, the node graph, the generator's name), read without trusting a byte of it.
//!
//! | signal | where | written by |
//! |---|---|---|
//! | `png-text:parameters` | PNG `tEXt`/`zTXt`/`iTXt` keyword `parameters` | AUTOMATIC1111, Fooocus |
//! | `png-text:prompt`, `png-text:workflow` | PNG text `prompt`, `workflow` | ComfyUI |
//! | `png-text:invokeai_metadata`, `png-text:invokeai_graph` | PNG text | InvokeAI |
//! | `png-text:fooocus_scheme` | PNG text | Fooocus |
//! | `png-text:novelai` | PNG text `Software`/`Comment`, only when `Software` (or `Source`) names NovelAI | NovelAI |
//! | `exif:UserComment`, `exif:Software`, `exif:ImageDescription` | EXIF of JPEG, WebP, PNG, TIFF, only when the text is a generator's: an AUTOMATIC1111 parameters block, ComfyUI JSON, a known generator's name | AUTOMATIC1111 (JPEG/WebP), others |
//! | `webp-exif:prompt`, `webp-exif:workflow` | WebP EXIF text starting `prompt:` / `workflow:` | ComfyUI (animated WebP) |
//! | `mp4:udta:prompt`, `mp4:udta:workflow` | MP4/MOV metadata keys (`keys`/`ilst`, as `ffmpeg -movflags use_metadata_tags` writes) | ComfyUI video nodes |
//! | `flac:PROMPT`, `flac:WORKFLOW` | FLAC Vorbis comments | ComfyUI audio nodes |
//! | `id3:PROMPT`, `id3:WORKFLOW` | ID3v2 `TXXX` frames | ComfyUI audio nodes |
//!
//! A trace's `detail` is the first [`DETAIL_CHARS`] characters of the prompt when one can be
//! told apart (ComfyUI's text-encoder inputs, InvokeAI's `positive_prompt`, NovelAI's
//! `prompt`), else of the text itself, with runs of white space folded to one space.
//!
//! **Bounds.** Containers are walked by their length fields with seeks, never by reading the
//! file whole: a metadata chunk or box larger than [`MAX_METADATA`] is not read, a compressed
//! text inflates to at most [`MAX_TEXT`] bytes (a "zip bomb" yields its first megabyte), and a
//! length that runs past the end of the file is reported as a problem (the walk stops there),
//! never allocated. The small walkers are written here because the crates that fit each format
//! either stop at the first image data (the `png` crate reads text after `IDAT` only while
//! decoding every pixel) or allocate what a length field claims before reading it; EXIF fields
//! are parsed by `kamadak-exif` and ID3 frames by `id3`, each given bytes already bounded.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How many characters of a prompt a trace keeps.
pub const DETAIL_CHARS: usize = 200;

/// Largest metadata chunk, segment or box read into memory (a bigger one is skipped).
pub const MAX_METADATA: u64 = 16 * 1024 * 1024;

/// Most bytes a compressed text inflates to; the rest is not inflated.
pub const MAX_TEXT: u64 = 1024 * 1024;

/// One generator trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    /// Where it was found, e.g. `png-text:parameters`, `watermark:sdxl`.
    pub signal: String,
    /// What it says: the first 200 characters of the prompt, or the watermark's bit count.
    pub detail: String,
}

/// What reading a file's traces gave: the traces, and why part of it could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceScan {
    /// The traces found (before any problem stopped the walk).
    pub traces: Vec<Trace>,
    /// Problems met, each naming the container and the offset.
    pub problems: Vec<String>,
}

impl TraceScan {
    fn push(&mut self, signal: impl Into<String>, detail: String) {
        let signal = signal.into();
        if !self.traces.iter().any(|t| t.signal == signal) {
            self.traces.push(Trace { signal, detail });
        }
    }
}

/// Reads the generator traces in the file at `path`, recognised by its first bytes (PNG,
/// JPEG, WebP, TIFF, ISO-BMFF/QuickTime, FLAC, ID3-tagged audio); other files give nothing.
/// `Err` only when the file cannot be opened or read at all.
pub fn traces_in_file(path: &Path) -> io::Result<TraceScan> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    traces_in(BufReader::new(file), len)
}

/// As [`traces_in_file`], for `len` bytes read from `r` (positioned at their start).
pub fn traces_in<R: Read + Seek>(mut r: R, len: u64) -> io::Result<TraceScan> {
    let mut head = [0u8; 12];
    let n = read_up_to(&mut r, &mut head)?;
    let head = &head[..n];
    r.seek(SeekFrom::Start(0))?;
    let mut scan = TraceScan::default();
    let result = if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        png(&mut r, len, &mut scan)
    } else if head.starts_with(&[0xFF, 0xD8]) {
        jpeg(&mut r, len, &mut scan)
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        webp(&mut r, len, &mut scan)
    } else if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        // A TIFF is its own EXIF structure; one larger than the metadata bound is not read.
        if len <= MAX_METADATA {
            read_bounded(&mut r, len, len, "TIFF").map(|bytes| exif_traces(bytes, false, &mut scan))
        } else {
            Ok(())
        }
    } else if head.starts_with(b"fLaC") {
        flac(&mut r, len, 0, &mut scan)
    } else if head.starts_with(b"ID3") {
        id3_then(&mut r, len, &mut scan)
    } else if head.len() >= 8
        && matches!(&head[4..8], b"ftyp" | b"moov" | b"wide" | b"mdat" | b"free")
    {
        mp4(&mut r, len, &mut scan)
    } else {
        Ok(())
    };
    if let Err(problem) = result {
        scan.problems.push(problem);
    }
    Ok(scan)
}

/// A walk that stopped: the problem in words (container, offset, what).
type Walk = Result<(), String>;

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads `size` bytes at the current position, after checking that they are in the file
/// (`remaining` bytes are left): a length past the end is a problem, never an allocation.
fn read_bounded<R: Read + Seek>(
    r: &mut R,
    size: u64,
    remaining: u64,
    what: &str,
) -> Result<Vec<u8>, String> {
    let at = r.stream_position().map_err(|e| e.to_string())?;
    if size > remaining {
        return Err(format!(
            "{what} at offset {at} claims {size} bytes, past the end of the file ({remaining} left): the file is truncated or corrupt"
        ));
    }
    let mut buf = Vec::with_capacity(size.min(MAX_METADATA) as usize);
    r.by_ref()
        .take(size)
        .read_to_end(&mut buf)
        .map_err(|e| format!("{what} at offset {at}: {e}"))?;
    if (buf.len() as u64) < size {
        return Err(format!("{what} at offset {at}: the file ends early"));
    }
    Ok(buf)
}

fn pos<R: Seek>(r: &mut R) -> Result<u64, String> {
    r.stream_position().map_err(|e| e.to_string())
}

fn skip<R: Seek>(r: &mut R, n: u64, len: u64, what: &str) -> Walk {
    let at = pos(r)?;
    let to = at.checked_add(n).filter(|&to| to <= len).ok_or_else(|| {
        format!("{what} at offset {at} claims {n} bytes, past the end of the file ({len} bytes)")
    })?;
    r.seek(SeekFrom::Start(to)).map_err(|e| e.to_string())?;
    Ok(())
}

fn exact<R: Read>(r: &mut R, buf: &mut [u8], what: &str, at: u64) -> Walk {
    r.read_exact(buf)
        .map_err(|_| format!("{what} at offset {at}: the file ends early"))
}

// ---------------------------------------------------------------------------------------
// PNG

/// The PNG keywords that are traces by themselves, with their signals.
const PNG_KEYS: [(&str, &str); 6] = [
    ("parameters", "png-text:parameters"),
    ("prompt", "png-text:prompt"),
    ("workflow", "png-text:workflow"),
    ("invokeai_metadata", "png-text:invokeai_metadata"),
    ("invokeai_graph", "png-text:invokeai_graph"),
    ("fooocus_scheme", "png-text:fooocus_scheme"),
];

fn png<R: Read + Seek>(r: &mut R, len: u64, scan: &mut TraceScan) -> Walk {
    skip(r, 8, len, "PNG signature")?;
    let mut novelai = NovelAi::default();
    let result = (|| -> Walk {
        loop {
            let at = pos(r)?;
            if at == len {
                return Err(format!("PNG ends at offset {at} without an IEND chunk"));
            }
            let mut header = [0u8; 8];
            exact(r, &mut header, "PNG chunk header", at)?;
            let size = u64::from(u32::from_be_bytes([
                header[0], header[1], header[2], header[3],
            ]));
            let kind = [header[4], header[5], header[6], header[7]];
            let name = String::from_utf8_lossy(&kind).into_owned();
            if size > 0x7FFF_FFFF {
                return Err(format!(
                    "PNG chunk {name:?} at offset {at} claims {size} bytes, more than PNG allows (2^31 - 1)"
                ));
            }
            let remaining = len - pos(r)?;
            if size + 4 > remaining {
                return Err(format!(
                    "PNG chunk {name:?} at offset {at} claims {size} bytes, past the end of the file ({remaining} left): the file is truncated or corrupt"
                ));
            }
            match &kind {
                b"IEND" => return Ok(()),
                b"tEXt" | b"zTXt" | b"iTXt" if size <= MAX_METADATA => {
                    let data = read_bounded(r, size, remaining, &format!("PNG chunk {name:?}"))?;
                    skip(r, 4, len, "PNG chunk CRC")?;
                    if let Some((key, text)) = png_text(&kind, &data) {
                        png_trace(&key, &text, scan, &mut novelai);
                    }
                }
                b"eXIf" if size <= MAX_METADATA => {
                    let data = read_bounded(r, size, remaining, "PNG chunk \"eXIf\"")?;
                    skip(r, 4, len, "PNG chunk CRC")?;
                    exif_traces(data, false, scan);
                }
                _ => skip(r, size + 4, len, &format!("PNG chunk {name:?}"))?,
            }
        }
    })();
    novelai.finish(scan);
    result
}

/// NovelAI writes `Software: NovelAI`, `Source: ... NovelAI ...`, `Description` (the
/// prompt) and `Comment` (JSON with `prompt`, `steps`, `sampler`, ...).
#[derive(Default)]
struct NovelAi {
    software: Option<String>,
    source: Option<String>,
    comment: Option<String>,
    description: Option<String>,
}

impl NovelAi {
    fn finish(self, scan: &mut TraceScan) {
        let named = |s: &Option<String>| {
            s.as_deref()
                .is_some_and(|s| s.to_ascii_lowercase().contains("novelai"))
        };
        if !(named(&self.software) || named(&self.source)) {
            return;
        }
        let prompt = self
            .comment
            .as_deref()
            .and_then(|c| serde_json::from_str::<Value>(c).ok())
            .and_then(|v| v["prompt"].as_str().map(str::to_string))
            .or(self.description)
            .or(self.comment);
        let detail = match prompt {
            Some(p) => excerpt(&p),
            None => excerpt(self.software.or(self.source).as_deref().unwrap_or_default()),
        };
        scan.push("png-text:novelai", detail);
    }
}

fn png_trace(key: &str, text: &str, scan: &mut TraceScan, novelai: &mut NovelAi) {
    if let Some((_, signal)) = PNG_KEYS.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
        scan.push(*signal, excerpt(&prompt_of(text)));
        return;
    }
    let slot = match key.to_ascii_lowercase().as_str() {
        "software" => &mut novelai.software,
        "source" => &mut novelai.source,
        "comment" => &mut novelai.comment,
        "description" => &mut novelai.description,
        _ => return,
    };
    slot.get_or_insert_with(|| text.to_string());
}

/// The keyword and text of a `tEXt`, `zTXt` or `iTXt` chunk's data; `None` when malformed.
fn png_text(kind: &[u8; 4], data: &[u8]) -> Option<(String, String)> {
    let nul = data.iter().position(|&b| b == 0)?;
    let key = latin1(&data[..nul]);
    let rest = &data[nul + 1..];
    let text = match kind {
        b"tEXt" => latin1(rest),
        b"zTXt" => latin1(&inflate(rest.get(1..)?)),
        _ => {
            let (&compressed, rest) = rest.split_first()?;
            let rest = rest.get(1..)?; // compression method
            let lang_end = rest.iter().position(|&b| b == 0)?;
            let rest = &rest[lang_end + 1..];
            let translated_end = rest.iter().position(|&b| b == 0)?;
            let body = &rest[translated_end + 1..];
            if compressed == 1 {
                String::from_utf8_lossy(&inflate(body)).into_owned()
            } else {
                String::from_utf8_lossy(body).into_owned()
            }
        }
    };
    Some((key, text))
}

/// Inflates zlib data up to [`MAX_TEXT`] bytes; what inflated before an error is kept.
fn inflate(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut z = flate2::read::ZlibDecoder::new(data).take(MAX_TEXT);
    if let Err(e) = z.read_to_end(&mut out) {
        tracing::debug!("compressed text inflated to {} bytes, then: {e}", out.len());
    }
    out
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

// ---------------------------------------------------------------------------------------
// JPEG and WebP containers, EXIF

fn jpeg<R: Read + Seek>(r: &mut R, len: u64, scan: &mut TraceScan) -> Walk {
    skip(r, 2, len, "JPEG start")?;
    loop {
        let at = pos(r)?;
        let mut marker = [0u8; 2];
        exact(r, &mut marker, "JPEG marker", at)?;
        // Bytes that are no marker: decoders skip them with a warning, and the metadata
        // segments come first, so the walk ends here without a problem.
        if marker[0] != 0xFF {
            return Ok(());
        }
        match marker[1] {
            // Start of scan or end of image: the metadata segments are behind us.
            0xDA | 0xD9 => return Ok(()),
            0xFF => {
                r.seek(SeekFrom::Current(-1)).map_err(|e| e.to_string())?;
                continue;
            }
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let mut size = [0u8; 2];
        exact(r, &mut size, "JPEG segment length", at)?;
        let size = u64::from(u16::from_be_bytes(size)).saturating_sub(2);
        if marker[1] == 0xE1 {
            let remaining = len - pos(r)?;
            let data = read_bounded(r, size, remaining, "JPEG APP1 segment")?;
            if let Some(tiff) = data.strip_prefix(b"Exif\0\0") {
                exif_traces(tiff.to_vec(), false, scan);
            }
        } else {
            skip(r, size, len, "JPEG segment")?;
        }
    }
}

fn webp<R: Read + Seek>(r: &mut R, len: u64, scan: &mut TraceScan) -> Walk {
    skip(r, 12, len, "WebP header")?;
    while pos(r)? + 8 <= len {
        let at = pos(r)?;
        let mut header = [0u8; 8];
        exact(r, &mut header, "WebP chunk header", at)?;
        let size = u64::from(u32::from_le_bytes([
            header[4], header[5], header[6], header[7],
        ]));
        let padded = size + (size & 1);
        if &header[..4] == b"EXIF" && size <= MAX_METADATA {
            let remaining = len - pos(r)?;
            let data = read_bounded(r, size, remaining, "WebP EXIF chunk")?;
            // Some writers keep JPEG's `Exif\0\0` prefix in the chunk.
            let tiff = data
                .strip_prefix(b"Exif\0\0")
                .map(<[u8]>::to_vec)
                .unwrap_or(data);
            exif_traces(tiff, true, scan);
            skip(r, padded - size, len, "WebP chunk padding").ok();
        } else {
            skip(r, padded, len, "WebP chunk")?;
        }
    }
    Ok(())
}

/// Software names of image generators (matched case-insensitively inside the field); a
/// camera's or an editor's `Software` is not among them.
const GENERATORS: [&str; 16] = [
    "novelai",
    "comfyui",
    "automatic1111",
    "stable diffusion",
    "stable-diffusion",
    "invokeai",
    "fooocus",
    "midjourney",
    "dall-e",
    "dall·e",
    "adobe firefly",
    "dreamstudio",
    "draw things",
    "diffusionbee",
    "leonardo.ai",
    "ideogram",
];

/// Traces in TIFF-structured EXIF bytes. `webp`: also the `prompt:` / `workflow:` text ComfyUI
/// writes into a WebP's EXIF.
fn exif_traces(tiff: Vec<u8>, webp: bool, scan: &mut TraceScan) {
    let exif = match exif::Reader::new().read_raw(tiff) {
        Ok(e) => e,
        Err(e) => {
            tracing::debug!("EXIF not parsed: {e}");
            return;
        }
    };
    for field in exif.fields() {
        let text = match field.tag {
            // UNDEFINED as EXIF says; some writers (Pillow) store it as BYTE.
            exif::Tag::UserComment => match &field.value {
                exif::Value::Undefined(bytes, _) => user_comment(bytes),
                exif::Value::Byte(bytes) => user_comment(bytes),
                _ => continue,
            },
            _ => match &field.value {
                exif::Value::Ascii(parts) => parts
                    .iter()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => continue,
            },
        };
        let text = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
        if text.is_empty() {
            continue;
        }
        if webp && let Some((signal, body)) = comfy_webp_text(text) {
            scan.push(signal, excerpt(&prompt_of(body)));
            continue;
        }
        let generator_text = || {
            let body = comfy_webp_text(text).map_or(text, |(_, b)| b);
            is_a1111(body) || is_comfy_json(body)
        };
        match field.tag {
            exif::Tag::UserComment if generator_text() => {
                scan.push("exif:UserComment", excerpt(&prompt_of(text)));
            }
            exif::Tag::ImageDescription if generator_text() => {
                scan.push("exif:ImageDescription", excerpt(&prompt_of(text)));
            }
            exif::Tag::Software if known_generator(text) => {
                scan.push("exif:Software", excerpt(text));
            }
            _ => {}
        }
    }
}

/// `prompt:{...}` / `workflow:{...}` (ComfyUI's WebP EXIF), case-insensitively.
fn comfy_webp_text(text: &str) -> Option<(&'static str, &str)> {
    for (prefix, signal) in [
        ("prompt:", "webp-exif:prompt"),
        ("workflow:", "webp-exif:workflow"),
    ] {
        if text.len() > prefix.len()
            && text.is_char_boundary(prefix.len())
            && text[..prefix.len()].eq_ignore_ascii_case(prefix)
        {
            let body = text[prefix.len()..].trim_start();
            if body.starts_with('{') {
                return Some((signal, body));
            }
        }
    }
    None
}

/// EXIF `UserComment`: an 8-byte character code, then the text.
fn user_comment(bytes: &[u8]) -> String {
    let (code, body) = bytes.split_at(bytes.len().min(8));
    if code == b"UNICODE\0" {
        // UTF-16 in the byte order of... whichever the writer chose (piexif writes big-endian
        // whatever the TIFF order): take the reading with more plain ASCII characters.
        let units = |be: bool| -> Vec<u16> {
            body.chunks_exact(2)
                .map(|c| {
                    if be {
                        u16::from_be_bytes([c[0], c[1]])
                    } else {
                        u16::from_le_bytes([c[0], c[1]])
                    }
                })
                .collect()
        };
        let ascii = |u: &[u16]| u.iter().filter(|&&c| (0x20..0x7F).contains(&c)).count();
        let (be, le) = (units(true), units(false));
        let chosen = if ascii(&be) >= ascii(&le) { be } else { le };
        return String::from_utf16_lossy(&chosen);
    }
    if code == b"ASCII\0\0\0" || code == [0u8; 8] {
        return String::from_utf8_lossy(body).into_owned();
    }
    String::from_utf8_lossy(bytes).into_owned()
}

fn known_generator(text: &str) -> bool {
    let lower = text.to_lowercase();
    GENERATORS.iter().any(|g| lower.contains(g))
}

/// An AUTOMATIC1111-style parameters block: `Steps: N, Sampler: X, ... Seed: N`.
fn is_a1111(text: &str) -> bool {
    text.contains("Steps: ") && text.contains("Sampler: ") && text.contains("Seed: ")
}

/// ComfyUI JSON: an API prompt (nodes with `class_type` and `inputs`) or a UI workflow
/// (`nodes` and `links`).
fn is_comfy_json(text: &str) -> bool {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text.trim()) else {
        return false;
    };
    (map.contains_key("nodes") && map.contains_key("links"))
        || map
            .values()
            .any(|v| v.get("class_type").is_some() && v.get("inputs").is_some())
}

// ---------------------------------------------------------------------------------------
// ISO-BMFF / QuickTime

fn mp4<R: Read + Seek>(r: &mut R, len: u64, scan: &mut TraceScan) -> Walk {
    let Some(moov) = find_box(r, 0, len, b"moov")? else {
        return Ok(());
    };
    // ffmpeg writes the `mdta` metadata in moov/udta/meta; QuickTime in moov/meta.
    let mut metas = Vec::new();
    if let Some(udta) = find_box(r, moov.0, moov.1, b"udta")? {
        metas.extend(find_box(r, udta.0, udta.1, b"meta")?);
    }
    metas.extend(find_box(r, moov.0, moov.1, b"meta")?);
    for (start, end) in metas {
        if end - start > MAX_METADATA {
            continue;
        }
        r.seek(SeekFrom::Start(start)).map_err(|e| e.to_string())?;
        let data = read_bounded(r, end - start, len - start, "MP4 meta box")?;
        mdta(&data, scan);
    }
    Ok(())
}

/// The first child box of type `kind` in `[from, to)`: its content's range.
fn find_box<R: Read + Seek>(
    r: &mut R,
    from: u64,
    to: u64,
    kind: &[u8; 4],
) -> Result<Option<(u64, u64)>, String> {
    let mut at = from;
    while at + 8 <= to {
        r.seek(SeekFrom::Start(at)).map_err(|e| e.to_string())?;
        let mut header = [0u8; 8];
        exact(r, &mut header, "MP4 box header", at)?;
        let mut size = u64::from(u32::from_be_bytes([
            header[0], header[1], header[2], header[3],
        ]));
        let mut header_len = 8;
        if size == 1 {
            let mut large = [0u8; 8];
            exact(r, &mut large, "MP4 box size", at)?;
            size = u64::from_be_bytes(large);
            header_len = 16;
        } else if size == 0 {
            size = to - at;
        }
        let name = String::from_utf8_lossy(&header[4..8]).into_owned();
        let end = at
            .checked_add(size)
            .filter(|&end| size >= header_len && end <= to)
            .ok_or_else(|| {
                format!(
                    "MP4 box {name:?} at offset {at} claims {size} bytes, past the end of its container ({to})"
                )
            })?;
        if &header[4..8] == kind {
            return Ok(Some((at + header_len, end)));
        }
        at = end;
    }
    Ok(None)
}

/// The boxes of a byte slice: (type, content).
fn boxes(mut data: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut out = Vec::new();
    while data.len() >= 8 {
        let size = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
        let size = if size == 0 { data.len() } else { size };
        if size < 8 || size > data.len() {
            break;
        }
        out.push(([data[4], data[5], data[6], data[7]], &data[8..size]));
        data = &data[size..];
    }
    out
}

/// QuickTime metadata: `keys` (1-based names) and `ilst` (items typed by key index, each
/// holding a `data` box: type, locale, value).
fn mdta(meta: &[u8], scan: &mut TraceScan) {
    // The `meta` box is a full box in ISO files (4 bytes of version and flags) and a plain one
    // in QuickTime files; the first child tells which.
    let content = if meta.get(4..8) == Some(b"hdlr") {
        meta
    } else {
        meta.get(4..).unwrap_or_default()
    };
    let children = boxes(content);
    let mut keys: Vec<String> = Vec::new();
    if let Some((_, k)) = children.iter().find(|(t, _)| t == b"keys") {
        let mut rest = k.get(8..).unwrap_or_default(); // version, flags, entry count
        while rest.len() >= 8 {
            let size = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            if size < 8 || size > rest.len() {
                break;
            }
            keys.push(String::from_utf8_lossy(&rest[8..size]).into_owned());
            rest = &rest[size..];
        }
    }
    let Some((_, ilst)) = children.iter().find(|(t, _)| t == b"ilst") else {
        return;
    };
    for (index, item) in boxes(ilst) {
        let index = u32::from_be_bytes(index) as usize;
        let Some(key) = index.checked_sub(1).and_then(|i| keys.get(i)) else {
            continue;
        };
        let signal = match key.to_ascii_lowercase().as_str() {
            "prompt" => "mp4:udta:prompt",
            "workflow" => "mp4:udta:workflow",
            _ => continue,
        };
        if let Some((_, data)) = boxes(item).into_iter().find(|(t, _)| t == b"data") {
            let value = data.get(8..).unwrap_or_default();
            let value = &value[..value.len().min(MAX_TEXT as usize)];
            scan.push(signal, excerpt(&prompt_of(&String::from_utf8_lossy(value))));
        }
    }
}

// ---------------------------------------------------------------------------------------
// FLAC and ID3

fn flac<R: Read + Seek>(r: &mut R, len: u64, start: u64, scan: &mut TraceScan) -> Walk {
    r.seek(SeekFrom::Start(start)).map_err(|e| e.to_string())?;
    skip(r, 4, len, "FLAC signature")?;
    loop {
        let at = pos(r)?;
        let mut header = [0u8; 4];
        exact(r, &mut header, "FLAC metadata block header", at)?;
        let last = header[0] & 0x80 != 0;
        let kind = header[0] & 0x7F;
        let size = u64::from(u32::from_be_bytes([0, header[1], header[2], header[3]]));
        if kind == 4 {
            let remaining = len - pos(r)?;
            let data = read_bounded(r, size, remaining, "FLAC Vorbis comment block")?;
            vorbis_comments(&data, scan);
        } else {
            skip(r, size, len, "FLAC metadata block")?;
        }
        if last {
            return Ok(());
        }
    }
}

fn vorbis_comments(data: &[u8], scan: &mut TraceScan) {
    let le = |b: &[u8], at: usize| -> Option<usize> {
        let s = b.get(at..at + 4)?;
        Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
    };
    let Some(vendor) = le(data, 0) else { return };
    let mut at = 4usize.saturating_add(vendor);
    let Some(count) = le(data, at) else { return };
    at += 4;
    for _ in 0..count {
        let Some(n) = le(data, at) else { return };
        let Some(comment) = data.get(at + 4..(at + 4).saturating_add(n)) else {
            return;
        };
        at += 4 + n;
        let comment = String::from_utf8_lossy(comment);
        let Some((key, value)) = comment.split_once('=') else {
            continue;
        };
        match key.to_ascii_uppercase().as_str() {
            "PROMPT" => scan.push("flac:PROMPT", excerpt(&prompt_of(value))),
            "WORKFLOW" => scan.push("flac:WORKFLOW", excerpt(&prompt_of(value))),
            _ => {}
        }
    }
}

/// An ID3v2 tag at the start: its `TXXX` frames; then a FLAC stream after it, if one follows.
fn id3_then<R: Read + Seek>(r: &mut R, len: u64, scan: &mut TraceScan) -> Walk {
    let mut header = [0u8; 10];
    exact(r, &mut header, "ID3 header", 0)?;
    // The tag's size is four 7-bit bytes (synchsafe), after the 10-byte header (and a 10-byte
    // footer when flag 0x10 is set).
    let size = header[6..10]
        .iter()
        .fold(0u64, |acc, &b| (acc << 7) | u64::from(b & 0x7F));
    let total = 10 + size + if header[5] & 0x10 != 0 { 10 } else { 0 };
    if total > len {
        return Err(format!(
            "ID3 tag at offset 0 claims {total} bytes, past the end of the file ({len} bytes)"
        ));
    }
    if total <= MAX_METADATA {
        r.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
        let bytes = read_bounded(r, total, len, "ID3 tag")?;
        match id3::Tag::read_from2(io::Cursor::new(bytes)) {
            Ok(tag) => {
                for t in tag.extended_texts() {
                    match t.description.to_ascii_uppercase().as_str() {
                        "PROMPT" => scan.push("id3:PROMPT", excerpt(&prompt_of(&t.value))),
                        "WORKFLOW" => scan.push("id3:WORKFLOW", excerpt(&prompt_of(&t.value))),
                        _ => {}
                    }
                }
            }
            Err(e) => return Err(format!("ID3 tag at offset 0: {e}")),
        }
    }
    // Some writers put an ID3 tag in front of a FLAC stream.
    r.seek(SeekFrom::Start(total)).map_err(|e| e.to_string())?;
    let mut magic = [0u8; 4];
    if read_up_to(r, &mut magic).map_err(|e| e.to_string())? == 4 && &magic == b"fLaC" {
        return flac(r, len, total, scan);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Prompts

/// The prompt inside a generator's text, when one can be told apart; else the text.
pub fn prompt_of(text: &str) -> String {
    // ID3v2.4 and EXIF texts may end in NUL.
    let text = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    let trimmed = text;
    if trimmed.starts_with('{')
        && let Ok(v) = serde_json::from_str::<Value>(trimmed)
        && let Some(p) = json_prompt(&v)
    {
        return p;
    }
    // AUTOMATIC1111: the prompt is what comes before the negative prompt and the settings.
    if is_a1111(text) {
        let end = ["\nNegative prompt:", "\nSteps: "]
            .iter()
            .filter_map(|m| text.find(m))
            .min()
            .unwrap_or(text.len());
        return text[..end].to_string();
    }
    text.to_string()
}

fn json_prompt(v: &Value) -> Option<String> {
    let map = v.as_object()?;
    for key in ["positive_prompt", "prompt", "Prompt"] {
        if let Some(p) = map.get(key).and_then(Value::as_str) {
            return Some(p.to_string());
        }
    }
    // ComfyUI API prompt: the first text encoder's `text` input.
    for node in map.values() {
        if node["class_type"]
            .as_str()
            .is_some_and(|c| c.contains("TextEncode"))
            && let Some(t) = node["inputs"]["text"].as_str()
        {
            return Some(t.to_string());
        }
    }
    // ComfyUI workflow: the first text encoder's first widget value.
    for node in map.get("nodes")?.as_array()? {
        if node["type"]
            .as_str()
            .is_some_and(|c| c.contains("TextEncode"))
            && let Some(t) = node["widgets_values"][0].as_str()
        {
            return Some(t.to_string());
        }
    }
    None
}

/// The first [`DETAIL_CHARS`] characters, white space folded, control characters dropped.
pub fn excerpt(text: &str) -> String {
    let mut out = String::new();
    let mut n = 0;
    for word in text.split_whitespace() {
        if n > 0 {
            if n >= DETAIL_CHARS {
                break;
            }
            out.push(' ');
            n += 1;
        }
        for c in word.chars().filter(|c| !c.is_control()) {
            if n >= DETAIL_CHARS {
                break;
            }
            out.push(c);
            n += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn any_bytes_behind_a_known_signature_give_a_result_never_a_panic(
            magic in 0usize..7,
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
        ) {
            let prefixes: [&[u8]; 7] = [
                b"\x89PNG\r\n\x1a\n", b"\xFF\xD8", b"RIFF\0\0\0\0WEBP", b"II*\0",
                b"fLaC", b"ID3\x04\0\0\0\0\x01\0", b"\0\0\0\x18ftypisom",
            ];
            let mut bytes = prefixes[magic].to_vec();
            bytes.extend_from_slice(&body);
            let len = bytes.len() as u64;
            let scan = traces_in(io::Cursor::new(bytes), len);
            proptest::prop_assert!(scan.is_ok());
        }
    }

    #[test]
    fn an_excerpt_keeps_two_hundred_characters_with_white_space_folded() {
        let long = format!("a  cat\n\tin {}", "é".repeat(500));
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), DETAIL_CHARS);
        assert!(e.starts_with("a cat in éé"));
    }

    #[test]
    fn the_prompt_is_found_in_comfyui_json_and_invokeai_metadata() {
        let api = r#"{"3":{"class_type":"KSampler","inputs":{}},"6":{"class_type":"CLIPTextEncode","inputs":{"text":"a red fox"}}}"#;
        assert_eq!(prompt_of(api), "a red fox");
        let ui =
            r#"{"nodes":[{"type":"CLIPTextEncode","widgets_values":["a blue jay"]}],"links":[]}"#;
        assert_eq!(prompt_of(ui), "a blue jay");
        assert!(is_comfy_json(api) && is_comfy_json(ui));
        assert_eq!(prompt_of(r#"{"positive_prompt":"owl"}"#), "owl");
        assert_eq!(prompt_of("plain words"), "plain words");
    }

    #[test]
    fn a_cameras_software_tag_is_not_a_generators() {
        assert!(!known_generator("Adobe Photoshop 25.0 (Macintosh)"));
        assert!(!known_generator("HDR+ 1.0.540104767zd"));
        assert!(known_generator("NovelAI"));
        assert!(known_generator("ComfyUI"));
    }

    #[test]
    fn user_comments_decode_in_either_utf16_order_and_ascii() {
        let text = "Steps: 20";
        let mut be = b"UNICODE\0".to_vec();
        be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        let mut le = b"UNICODE\0".to_vec();
        le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(user_comment(&be), text);
        assert_eq!(user_comment(&le), text);
        assert_eq!(user_comment(b"ASCII\0\0\0Steps: 20"), text);
    }

    #[test]
    fn malformed_vorbis_comments_and_mdta_boxes_give_nothing_and_do_not_panic() {
        let mut scan = TraceScan::default();
        vorbis_comments(&[0xFF, 0xFF, 0xFF, 0xFF], &mut scan);
        vorbis_comments(&[0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F, 1, 0, 0], &mut scan);
        mdta(&[0, 0, 0, 9, b'k', b'e', b'y', b's'], &mut scan);
        mdta(&[], &mut scan);
        assert!(scan.traces.is_empty());
    }
}
