//! Image sequences: numbered frames in one folder delivered as one shot (DPX and EXR always;
//! TIFF, PNG and JPEG when at least [`MIN_STILL_FRAMES`] consecutively numbered frames share
//! format and size). Each frame file stays a file of the report, with its own BLAKE3 and PDQ;
//! the sequence adds one entry (`video/x-image-sequence`) for the shot as a whole: the folder,
//! a BLAKE3 over its frames' digests in order, and what its frames matched as time ranges and
//! timecode at the sequence's rate (`--sequence-rate`, default 24), the frame numbers in the
//! file names counting from 00:00:00:00.

use std::collections::BTreeMap;
use std::path::Path;

/// Frames of a TIFF, PNG or JPEG run that make it a sequence rather than numbered stills.
pub const MIN_STILL_FRAMES: usize = 24;

/// Frames of a sequence hashed one by one; a longer one has frame `round(k × rate)` hashed
/// (as video is sampled), every frame still gets its BLAKE3.
pub const MAX_HASHED_FRAMES: usize = 2400;

/// One sequence found in the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    /// The folder, relative to the delivery root (`.` for the root).
    pub folder: String,
    /// The file name pattern, e.g. `shot_######.dpx`.
    pub pattern: String,
    /// Media type of the frames.
    pub mime: String,
    /// Frame number (from the file name) and index of the file in the walked files, in order.
    pub frames: Vec<(u64, usize)>,
    /// Frame numbers missing between the first and the last.
    pub missing: Vec<u64>,
}

impl Sequence {
    /// Whether the frames are of a kind only ffmpeg decodes here (DPX, EXR).
    pub fn needs_ffmpeg(&self) -> bool {
        self.mime == "image/x-dpx" || self.mime == "image/x-exr"
    }

    /// The indices (into `frames`) of the frames whose PDQ is computed: all of them up to
    /// [`MAX_HASHED_FRAMES`], else frame `round(k × rate)` of the shot for each second `k`.
    pub fn hashed(&self, rate_num: u32, rate_den: u32) -> Vec<usize> {
        if self.frames.len() <= MAX_HASHED_FRAMES {
            return (0..self.frames.len()).collect();
        }
        let sampling = crate::video::Sampling::PerSecond(1);
        (0..self.frames.len())
            .filter(|&i| sampling.keeps(i as u64, rate_num, rate_den))
            .collect()
    }
}

/// Splits `name` into (prefix, frame number, digit count, extension) when its stem ends in
/// digits: `shot_000123.dpx` -> (`shot_`, 123, 6, `dpx`).
fn numbered(name: &str) -> Option<(&str, u64, usize, &str)> {
    let (stem, ext) = name.rsplit_once('.')?;
    let digits = stem.bytes().rev().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 10 {
        return None;
    }
    let (prefix, number) = stem.split_at(stem.len() - digits);
    Some((prefix, number.parse().ok()?, digits, ext))
}

/// Finds the sequences among `files` (paths relative to the delivery root, with their media
/// types); `size(i)` gives the pixel size of still `i` (asked only of numbered stills).
pub fn find(files: &[(&str, &str)], size: impl Fn(usize) -> Option<(u32, u32)>) -> Vec<Sequence> {
    // (folder, prefix, digits, extension, type) -> frames
    type Key<'a> = (&'a str, &'a str, usize, &'a str, &'a str);
    // (frame number, file index, pixel size of a still)
    type Frame = (u64, usize, Option<(u32, u32)>);
    let mut groups: BTreeMap<Key<'_>, Vec<Frame>> = BTreeMap::new();
    for (i, (rel, mime)) in files.iter().enumerate() {
        let always = matches!(*mime, "image/x-dpx" | "image/x-exr");
        let still = matches!(*mime, "image/tiff" | "image/png" | "image/jpeg");
        if !always && !still {
            continue;
        }
        let (folder, name) = rel.rsplit_once('/').unwrap_or((".", rel));
        let Some((prefix, number, digits, ext)) = numbered(name) else {
            continue;
        };
        let pixels = if still { size(i) } else { None };
        groups
            .entry((folder, prefix, digits, ext, mime))
            .or_default()
            .push((number, i, pixels));
    }
    let mut out = Vec::new();
    for ((folder, prefix, digits, ext, mime), mut frames) in groups {
        frames.sort_unstable_by_key(|f| f.0);
        frames.dedup_by_key(|f| f.0);
        let always = matches!(mime, "image/x-dpx" | "image/x-exr");
        if always {
            if frames.len() < 2 {
                continue;
            }
        } else {
            // Stills: the longest run of consecutive numbers with one pixel size.
            let mut best: (usize, usize) = (0, 0);
            let mut start = 0;
            for i in 1..=frames.len() {
                let breaks = i == frames.len()
                    || frames[i].0 != frames[i - 1].0 + 1
                    || frames[i].2 != frames[start].2;
                if breaks {
                    if i - start > best.1 - best.0 {
                        best = (start, i);
                    }
                    start = i;
                }
            }
            if best.1 - best.0 < MIN_STILL_FRAMES || frames[best.0].2.is_none() {
                continue;
            }
            frames = frames[best.0..best.1].to_vec();
        }
        let (first, last) = (frames[0].0, frames[frames.len() - 1].0);
        let present: std::collections::HashSet<u64> = frames.iter().map(|f| f.0).collect();
        let missing: Vec<u64> = (first..=last)
            .filter(|n| !present.contains(n))
            .take(1000)
            .collect();
        out.push(Sequence {
            folder: folder.to_string(),
            pattern: format!("{prefix}{}.{ext}", "#".repeat(digits)),
            mime: mime.to_string(),
            frames: frames.iter().map(|f| (f.0, f.1)).collect(),
            missing,
        });
    }
    out
}

/// The path a sequence is reported under: its folder, or `folder/pattern` when the folder
/// holds more than one sequence.
pub fn report_paths(sequences: &[Sequence]) -> Vec<String> {
    sequences
        .iter()
        .map(|s| {
            let shared = sequences.iter().filter(|o| o.folder == s.folder).count() > 1;
            match (s.folder.as_str(), shared) {
                (".", false) => ".".to_string(),
                (".", true) => s.pattern.clone(),
                (f, false) => f.to_string(),
                (f, true) => format!("{f}/{}", s.pattern),
            }
        })
        .collect()
}

/// A BLAKE3 over the frames' BLAKE3 digests (hex), in frame order.
pub fn digest_of(frame_digests: &[&str]) -> String {
    let mut h = blake3::Hasher::new();
    for d in frame_digests {
        if let Ok(bytes) = hex::decode(d) {
            h.update(&bytes);
        }
    }
    h.finalize().to_hex().to_string()
}

/// Whether `path`'s head is a DPX or OpenEXR image.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    match head.get(..4)? {
        b"SDPX" | b"XPDS" => Some("image/x-dpx"),
        [0x76, 0x2F, 0x31, 0x01] => Some("image/x-exr"),
        _ => None,
    }
}

/// Pixel size of a still (TIFF, PNG, JPEG) from its header, without decoding it.
pub fn still_size(path: &Path) -> Option<(u32, u32)> {
    image::image_dimensions(path).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_names_split_into_prefix_number_and_extension() {
        assert_eq!(numbered("shot_000123.dpx"), Some(("shot_", 123, 6, "dpx")));
        assert_eq!(numbered("0001.exr"), Some(("", 1, 4, "exr")));
        assert_eq!(numbered("poster.png"), None);
        assert_eq!(numbered("noext123"), None);
    }

    #[test]
    fn dpx_frames_are_always_a_sequence_and_stills_only_from_24() {
        let names: Vec<String> = (1..=3).map(|n| format!("plates/a_{n:04}.dpx")).collect();
        let stills: Vec<String> = (1..=23).map(|n| format!("stills/s_{n:04}.png")).collect();
        let mut files: Vec<(&str, &str)> =
            names.iter().map(|n| (n.as_str(), "image/x-dpx")).collect();
        files.extend(stills.iter().map(|n| (n.as_str(), "image/png")));
        let found = find(&files, |_| Some((64, 48)));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].pattern, "a_####.dpx");
        assert_eq!(found[0].frames.len(), 3);
        let more: Vec<String> = (1..=24).map(|n| format!("stills/s_{n:04}.png")).collect();
        let files: Vec<(&str, &str)> = more.iter().map(|n| (n.as_str(), "image/png")).collect();
        assert_eq!(find(&files, |_| Some((64, 48))).len(), 1);
    }

    #[test]
    fn stills_of_another_size_break_the_run_and_a_gap_is_named() {
        let names: Vec<String> = (1..=30).map(|n| format!("s/f{n:03}.png")).collect();
        let files: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "image/png")).collect();
        let size = |i: usize| Some(if i == 10 { (10, 10) } else { (64, 48) });
        assert!(
            find(&files, size).is_empty(),
            "runs of 10 and 19 are stills"
        );
        let dpx: Vec<String> = [1, 2, 4, 5]
            .iter()
            .map(|n| format!("p/x{n:02}.dpx"))
            .collect();
        let files: Vec<(&str, &str)> = dpx.iter().map(|n| (n.as_str(), "image/x-dpx")).collect();
        assert_eq!(find(&files, |_| None)[0].missing, [3]);
    }
}
