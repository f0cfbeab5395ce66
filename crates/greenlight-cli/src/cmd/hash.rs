//! `greenlight hash`: BLAKE3 (and optionally SHA-256) of each file, for images the PDQ
//! perceptual hash, its quality and the decode path, and for files with sound the raw
//! Chromaprint fingerprint of the first audio stream and its length in seconds.
//!
//! A file that cannot be read, or an image that cannot be decoded, gets an `error` instead and
//! the command goes on; the exit code is then 4.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use greenlight_scan::{audio, decode, digest, pdq};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A block per file, for people.
    Human,
    /// One JSON object per line: `file`, `blake3`, for images `pdq`, `pdq_quality`,
    /// `pdq_path`, for sound `chromaprint` and `audio_seconds` (plus `sha256`, `pdq_dihedral`
    /// or `error` where they apply).
    Json,
}

/// Arguments of `greenlight hash`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 every file hashed, 2 usage error, 4 a file could not be read or decoded."
)]
pub struct Args {
    /// Files to hash.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Also print SHA-256.
    #[arg(long)]
    pub sha256: bool,
    /// Print only the image's own PDQ hash, not the hashes of its seven rotations and flips.
    #[arg(long)]
    pub no_dihedral: bool,
    /// Allow PDQ's fast path for large JPEGs (reduced-size decode, within 2 bits of exact).
    #[arg(long)]
    pub fast: bool,
}

/// What was computed for one file.
struct Hashed {
    blake3: String,
    sha256: Option<String>,
    pdq: Option<PdqOutcome>,
    audio: Option<Result<greenlight_store::banks::AudioPrint, String>>,
}

enum PdqOutcome {
    Hashed {
        dihedral: Box<pdq::PdqDihedral>,
        path: pdq::PdqPath,
    },
    Failed(decode::DecodeError),
}

/// Files larger than this are not decoded as images (no delivered still is this large; a
/// file claiming to be one is hashed, and reported as too large to decode).
const MAX_IMAGE_FILE_BYTES: u64 = 512 * 1024 * 1024;

fn hash_file(path: &Path, args: &Args) -> anyhow::Result<Hashed> {
    let digests = digest::digest_file(path, args.sha256)
        .with_context(|| format!("reading {}", path.display()))?;
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    let mut head = [0u8; 32];
    let head_len = {
        use std::io::Read;
        let mut file =
            std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
        let mut filled = 0;
        while filled < head.len() {
            let n = file
                .read(&mut head[filled..])
                .with_context(|| format!("reading {}", path.display()))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        filled
    };
    let pdq = match decode::sniff(&head[..head_len]) {
        None => None,
        Some(kind) if size > MAX_IMAGE_FILE_BYTES => {
            Some(PdqOutcome::Failed(decode::DecodeError::TooLarge {
                format: kind.name(),
                width: 0,
                height: 0,
                limit: format!("files up to {} MiB", MAX_IMAGE_FILE_BYTES / (1024 * 1024)),
            }))
        }
        Some(_) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let options = pdq::PdqOptions {
                fast: args.fast,
                ..pdq::PdqOptions::default()
            };
            Some(
                match pdq::hash_image_bytes_dihedral_with(&bytes, &options) {
                    Ok((dihedral, path)) => PdqOutcome::Hashed {
                        dihedral: Box::new(dihedral),
                        path,
                    },
                    Err(err) => PdqOutcome::Failed(err),
                },
            )
        }
    };
    // Sound: anything that is not a still image and that ffprobe finds an audio stream in.
    let audio = if pdq.is_some() || size == 0 {
        None
    } else {
        match audio::probe(path) {
            Ok(Some(_)) => Some(
                audio::fingerprint_file(path, audio::MAX_SECONDS)
                    .map(|(print, _)| print)
                    .map_err(|e| e.to_string()),
            ),
            Ok(None) => None,
            Err(audio::AudioError::FfmpegMissing(_)) => None,
            Err(e) => Some(Err(e.to_string())),
        }
    };
    Ok(Hashed {
        blake3: digests.blake3,
        sha256: digests.sha256,
        pdq,
        audio,
    })
}

fn json_line(file: &Path, result: &anyhow::Result<Hashed>, args: &Args) -> serde_json::Value {
    let mut obj = serde_json::Map::new();
    obj.insert("file".into(), file.display().to_string().into());
    match result {
        Err(err) => {
            obj.insert("error".into(), format!("{err:#}").into());
        }
        Ok(h) => {
            obj.insert("blake3".into(), h.blake3.clone().into());
            if let Some(sha) = &h.sha256 {
                obj.insert("sha256".into(), sha.clone().into());
            }
            match &h.pdq {
                None => {}
                Some(PdqOutcome::Hashed { dihedral, path }) => {
                    obj.insert("pdq".into(), dihedral.original().to_hex().into());
                    obj.insert("pdq_quality".into(), dihedral.quality.into());
                    obj.insert("pdq_path".into(), path.as_str().into());
                    if !args.no_dihedral {
                        let all: serde_json::Map<String, serde_json::Value> = dihedral
                            .iter()
                            .map(|(t, h)| (t.as_str().to_string(), h.to_hex().into()))
                            .collect();
                        obj.insert("pdq_dihedral".into(), all.into());
                    }
                }
                Some(PdqOutcome::Failed(err)) => {
                    obj.insert("error".into(), format!("cannot decode image: {err}").into());
                }
            }
            match &h.audio {
                None => {}
                Some(Ok(print)) => {
                    obj.insert("chromaprint".into(), print.chromaprint.clone().into());
                    obj.insert(
                        "audio_seconds".into(),
                        (print.millis as f64 / 1000.0).into(),
                    );
                }
                Some(Err(err)) => {
                    obj.insert(
                        "error".into(),
                        format!("cannot fingerprint audio: {err}").into(),
                    );
                }
            }
        }
    }
    obj.into()
}

fn human_block(
    out: &mut impl Write,
    file: &Path,
    result: &anyhow::Result<Hashed>,
    args: &Args,
) -> std::io::Result<()> {
    writeln!(out, "{}", file.display())?;
    match result {
        Err(err) => writeln!(out, "  error        {err:#}")?,
        Ok(h) => {
            writeln!(out, "  blake3       {}", h.blake3)?;
            if let Some(sha) = &h.sha256 {
                writeln!(out, "  sha256       {sha}")?;
            }
            match &h.pdq {
                None => {}
                Some(PdqOutcome::Hashed { dihedral, path }) => {
                    let low = if dihedral.quality < pdq::LOW_QUALITY_THRESHOLD {
                        format!(
                            ", below {}: too low to match on",
                            pdq::LOW_QUALITY_THRESHOLD
                        )
                    } else {
                        String::new()
                    };
                    writeln!(out, "  pdq          {}", dihedral.original())?;
                    writeln!(out, "  pdq quality  {}{low}", dihedral.quality)?;
                    writeln!(out, "  pdq path     {}", path.as_str())?;
                    if !args.no_dihedral {
                        for (t, h) in dihedral.iter().skip(1) {
                            writeln!(out, "  {:<12} {h}", t.as_str())?;
                        }
                    }
                }
                Some(PdqOutcome::Failed(err)) => {
                    writeln!(out, "  error        cannot decode image: {err}")?
                }
            }
            match &h.audio {
                None => {}
                Some(Ok(print)) => {
                    writeln!(
                        out,
                        "  audio        {:.3} s, {} fingerprint items",
                        print.millis as f64 / 1000.0,
                        print.chromaprint.len()
                    )?;
                    let head: Vec<String> = print
                        .chromaprint
                        .iter()
                        .take(8)
                        .map(u32::to_string)
                        .collect();
                    writeln!(
                        out,
                        "  chromaprint  {}{}",
                        head.join(","),
                        if print.chromaprint.len() > 8 {
                            ",..."
                        } else {
                            ""
                        }
                    )?;
                }
                Some(Err(err)) => writeln!(out, "  error        cannot fingerprint audio: {err}")?,
            }
        }
    }
    Ok(())
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<u8> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = false;
    for (n, file) in args.files.iter().enumerate() {
        let result = hash_file(file, &args);
        let errored = match &result {
            Err(_) => true,
            Ok(h) => {
                matches!(h.pdq, Some(PdqOutcome::Failed(_))) || matches!(h.audio, Some(Err(_)))
            }
        };
        failed |= errored;
        let written = match args.format {
            Format::Json => writeln!(out, "{}", json_line(file, &result, &args)),
            Format::Human => {
                if n > 0 {
                    writeln!(out)?;
                }
                human_block(&mut out, file, &result, &args)
            }
        };
        match written {
            // A closed pipe (`| head`) is not an error worth reporting.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                return Ok(if failed { 4 } else { 0 });
            }
            other => other?,
        }
        match &result {
            Err(err) => tracing::warn!(file = %file.display(), "{err:#}"),
            Ok(Hashed {
                pdq: Some(PdqOutcome::Failed(err)),
                ..
            }) => {
                tracing::warn!(file = %file.display(), "cannot decode image: {err}");
            }
            Ok(_) => {}
        }
        out.flush().or_else(|e| {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                Ok(())
            } else {
                Err(e)
            }
        })?;
    }
    Ok(if failed { crate::cmd::EXIT_IO } else { 0 })
}
