//! Generator traces in the scan: what a file carries ([`crate::trace`] for metadata,
//! [`crate::watermark`] for pictures) and the findings that follow.
//!
//! Rules (product decisions): a trace is a `GENERATOR-TRACE` finding naming its signal,
//! *overridable*, and a *note* when the file matches a ledger entry approved for final use;
//! a traced file that matches no ledger entry also gets one `UNDECLARED-AI`, shared with the
//! AI-marked path (C2PA, IPTC), so nothing is counted twice.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::decode::{Channels, DecodedImage};
use crate::report::TraceReport;
use crate::scan::FileFacts;
use crate::trace::Trace;
use crate::verdict::{Code, Policy, Severity};
use crate::watermark::{ChannelOrder, Detection, Picture, detect};

/// The watermark trace of a decoded picture, if it carries one.
pub(crate) fn watermark_in_image(image: &DecodedImage) -> Option<Trace> {
    let picture = Picture {
        width: image.width as usize,
        height: image.height as usize,
        pixels: &image.pixels,
        bytes_per_pixel: match image.channels {
            Channels::Rgb => 3,
            Channels::Gray => 1,
        },
    };
    detect(&picture).map(|d| watermark_trace(&d, None))
}

/// Video frames tested for the watermark: the first, then one a second after it.
pub const WATERMARK_FRAMES: u32 = 3;

/// Largest frame (in pixels) tested for the watermark: 4096 × 2160.
pub const MAX_WATERMARK_PIXELS: u64 = 4096 * 2160;

/// The watermark in a video: the first [`WATERMARK_FRAMES`] frames a second apart, decoded by
/// `ffmpeg` at their own size. The frames the scan samples for PDQ are scaled to 512×512,
/// which erases a watermark made at full size, so these few frames are decoded once more;
/// the pipelines that embed it (SVD) mark every frame, so the first ones tell. `None` when no
/// frame carries it, the frame is too large, or ffmpeg cannot decode it (the PDQ pass reports
/// an undecodable video).
pub(crate) fn watermark_in_video(path: &Path, info: &crate::video::VideoInfo) -> Option<Trace> {
    let (w, h) = (u64::from(info.width), u64::from(info.height));
    if w == 0 || h == 0 || w * h > MAX_WATERMARK_PIXELS {
        return None;
    }
    let mut child = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-nostats", "-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:v:0", "-an", "-sn", "-dn", "-vf"])
        .arg("select=isnan(prev_selected_t)+gte(t-prev_selected_t\\,1)")
        .args(["-fps_mode", "passthrough", "-frames:v"])
        .arg(WATERMARK_FRAMES.to_string())
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take()?;
    let mut frame = vec![0u8; (w * h * 3) as usize];
    let mut found = None;
    for k in 0..WATERMARK_FRAMES {
        if stdout.read_exact(&mut frame).is_err() {
            break;
        }
        let picture = Picture {
            width: w as usize,
            height: h as usize,
            pixels: &frame,
            bytes_per_pixel: 3,
        };
        if let Some(d) = detect(&picture) {
            found = Some(watermark_trace(&d, Some(k * 1000)));
            break;
        }
    }
    drop(stdout);
    let _ = child.kill();
    let _ = child.wait();
    found
}

/// The trace of a watermark found (in a video, at `millis`).
pub(crate) fn watermark_trace(d: &Detection, millis: Option<u32>) -> Trace {
    let mut detail = format!("{}/{} bits", d.matched, d.total);
    if d.order == ChannelOrder::Rgb {
        detail.push_str(", red and blue swapped");
    }
    if let Some(ms) = millis {
        detail.push_str(&format!(", frame at {}", crate::scan::fmt_time(ms / 1000)));
    }
    Trace {
        signal: d.message.signal().to_string(),
        detail,
    }
}

/// Reads the metadata traces of the file into `facts`; a container that cannot be walked is
/// a problem (an `UNREADABLE` finding) unless the file was already found unreadable or
/// truncated, and what was read before it is kept.
pub(crate) fn metadata_traces(path: &Path, facts: &mut FileFacts) {
    match crate::trace::traces_in_file(path) {
        Ok(scan) => {
            for t in scan.traces {
                if !facts.traces.iter().any(|x| x.signal == t.signal) {
                    facts.traces.push(t);
                }
            }
            // A file the decoder already found broken is reported once, by the decoder.
            if facts.problems.is_empty() && facts.truncated.is_none() {
                facts.problems.extend(
                    scan.problems
                        .into_iter()
                        .map(|p| format!("metadata could not be read for generator traces: {p}")),
                );
            } else {
                for p in scan.problems {
                    tracing::debug!("generator traces: {p}");
                }
            }
        }
        Err(e) => facts
            .problems
            .push(format!("could not be read for generator traces: {e}")),
    }
}

/// Where a signal is found and which generators write it, in words.
fn describe(signal: &str) -> String {
    let (place, who) = match signal {
        "png-text:parameters" => ("PNG text \"parameters\"", "AUTOMATIC1111, Fooocus"),
        "png-text:prompt" => ("PNG text \"prompt\"", "ComfyUI"),
        "png-text:workflow" => ("PNG text \"workflow\"", "ComfyUI"),
        "png-text:invokeai_metadata" => ("PNG text \"invokeai_metadata\"", "InvokeAI"),
        "png-text:invokeai_graph" => ("PNG text \"invokeai_graph\"", "InvokeAI"),
        "png-text:fooocus_scheme" => ("PNG text \"fooocus_scheme\"", "Fooocus"),
        "png-text:novelai" => ("PNG text \"Software\"/\"Comment\"", "NovelAI"),
        "exif:UserComment" => ("EXIF UserComment", "a generator's parameters"),
        "exif:Software" => ("EXIF Software", "a generator's name"),
        "exif:ImageDescription" => ("EXIF ImageDescription", "a generator's parameters"),
        "webp-exif:prompt" => ("WebP EXIF \"prompt:\"", "ComfyUI"),
        "webp-exif:workflow" => ("WebP EXIF \"workflow:\"", "ComfyUI"),
        "mp4:udta:prompt" => ("MP4 metadata key \"prompt\"", "ComfyUI"),
        "mp4:udta:workflow" => ("MP4 metadata key \"workflow\"", "ComfyUI"),
        "flac:PROMPT" => ("FLAC Vorbis comment PROMPT", "ComfyUI"),
        "flac:WORKFLOW" => ("FLAC Vorbis comment WORKFLOW", "ComfyUI"),
        "id3:PROMPT" => ("ID3 TXXX frame PROMPT", "ComfyUI"),
        "id3:WORKFLOW" => ("ID3 TXXX frame WORKFLOW", "ComfyUI"),
        "watermark:sdxl" => ("invisible watermark 0xB3EC907BB19E", "SDXL, SVD"),
        "watermark:sd1" => (
            "invisible watermark \"StableDiffusionV1\"",
            "Stable Diffusion 1.x",
        ),
        "watermark:sd2" => ("invisible watermark \"SDV2\"", "Stable Diffusion 2.x"),
        other => (other, "a generator"),
    };
    format!("{place} ({who})")
}

/// One `GENERATOR-TRACE` finding per trace: code, severity, message and the trace itself.
pub(crate) fn trace_findings(
    facts: &FileFacts,
    approved_final: bool,
    policy: &Policy,
) -> Vec<(Code, Severity, String, Option<TraceReport>)> {
    facts
        .traces
        .iter()
        .map(|t| {
            let severity = if approved_final {
                Severity::Note
            } else {
                Code::GeneratorTrace.severity(policy)
            };
            let what = if t.signal.starts_with("watermark:") {
                format!("{} bits match", t.detail)
            } else {
                format!("{:?}", t.detail)
            };
            let mut message = format!("generator trace in {}: {what}", describe(&t.signal));
            if approved_final {
                message.push_str("; the file matches a ledger entry approved for final use");
            }
            (
                Code::GeneratorTrace,
                severity,
                message,
                Some(TraceReport {
                    signal: t.signal.clone(),
                    detail: t.detail.clone(),
                }),
            )
        })
        .collect()
}

/// Why the file counts as AI output for `UNDECLARED-AI` when it matches no ledger entry: its
/// AI marking (C2PA, IPTC) and its generator traces, in one sentence; `None` when it has
/// neither or it matches the ledger.
pub(crate) fn undeclared(
    facts: &FileFacts,
    ai_marked: bool,
    ledger_matched: bool,
) -> Option<String> {
    if ledger_matched {
        return None;
    }
    let mut why = Vec::new();
    if ai_marked {
        why.push(ai_marking(facts));
    }
    if !facts.traces.is_empty() {
        let signals: Vec<&str> = facts.traces.iter().map(|t| t.signal.as_str()).collect();
        why.push(format!(
            "it carries generator traces ({})",
            signals.join(", ")
        ));
    }
    (!why.is_empty()).then(|| why.join("; "))
}

/// What marks the file as AI output, in words, with the generators' names where the marking
/// gives them (the credential wins over XMP).
fn ai_marking(facts: &FileFacts) -> String {
    if let Some(c) = facts.credential.as_ref().filter(|c| c.declares_ai()) {
        let mut names = Vec::new();
        if let Some(g) = &c.claim_generator {
            names.push(format!("claim generator {g}"));
        }
        for agent in c.ai_software_agents() {
            names.push(format!("software agent {agent}"));
        }
        return if names.is_empty() {
            "its content credential says AI-generated".to_string()
        } else {
            format!(
                "its content credential says AI-generated ({})",
                names.join(", ")
            )
        };
    }
    let dst = facts
        .xmp_source_types
        .iter()
        .any(|t| crate::xmp::is_generative_ai(t));
    if facts.xmp_ai.is_empty() {
        return "its XMP (IPTC digital source type) says AI-generated".to_string();
    }
    let fields: Vec<String> = facts
        .xmp_ai
        .iter()
        .map(|a| {
            let label = crate::xmp::AI_PROPERTIES
                .iter()
                .find(|(p, _)| *p == a.property)
                .map_or(a.property.as_str(), |(_, l)| l);
            format!("{label} {:?}", crate::trace::excerpt(&a.value))
        })
        .collect();
    format!(
        "its XMP ({}IPTC 2025.1 {}) says AI-generated",
        if dst {
            "IPTC digital source type, "
        } else {
            ""
        },
        fields.join(", ")
    )
}
