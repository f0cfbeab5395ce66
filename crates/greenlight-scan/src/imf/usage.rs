//! Track files across compositions: which frames any composition uses (so each file is decoded
//! once), where a frame of a track file appears in each composition, which delivered frames no
//! composition plays, and which frames to sample.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Range, RangeInclusive};
use std::path::PathBuf;

use super::{AssetId, Package, SequenceKind};
use crate::timecode::{EditRate, Timecode};

/// One track file and the frames the package's compositions use of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackFile {
    pub id: AssetId,
    /// Its file, when a package maps it.
    pub path: Option<PathBuf>,
    pub kind: SequenceKind,
    /// The unit of every frame number here (the resources' edit rate).
    pub edit_rate: EditRate,
    /// The largest `IntrinsicDuration` any resource states for it.
    pub intrinsic_duration: u64,
    /// Frames used by any composition: sorted, overlapping and adjacent ranges merged.
    pub used: Vec<Range<u64>>,
    /// Every distinct resource range (`EntryPoint .. EntryPoint + SourceDuration`), sorted.
    pub resource_ranges: Vec<Range<u64>>,
}

impl TrackFile {
    /// The frames to hash: see [`sample_frames`].
    pub fn sample_frames(&self) -> Vec<u64> {
        sample_frames(self.edit_rate, &self.used, &self.resource_ranges)
    }
}

/// Where one frame of a track file shows in one composition.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Placement {
    pub cpl_id: AssetId,
    pub title: String,
    pub segment_id: AssetId,
    pub resource_id: AssetId,
    /// Frame of the composition at its edit rate, from 0.
    pub composition_frame: u64,
    /// Composition timecode (CPL timecode rate, start address and drop-frame).
    pub timecode: Timecode,
}

/// Where a run of frames of a track file shows in one composition, for one play of one
/// resource. `in`/`out` are the first and last frame, inclusive (as the report's
/// `time_ranges` are). Serializes with the report's names (`cpl`, `title`, `segment`,
/// `resource`, `in`, `out`) plus the frame ranges.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PlacedRange {
    #[serde(rename = "cpl")]
    pub cpl_id: AssetId,
    pub title: String,
    #[serde(rename = "segment")]
    pub segment_id: AssetId,
    #[serde(rename = "resource")]
    pub resource_id: AssetId,
    /// The part of the asked range inside this play, in track file frames.
    pub file_frames: RangeInclusive<u64>,
    pub composition_frames: RangeInclusive<u64>,
    #[serde(rename = "in")]
    pub timecode_in: Timecode,
    #[serde(rename = "out")]
    pub timecode_out: Timecode,
}

/// Delivered frames that no composition plays (the scan's `NOT-IN-COMPOSITION`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unused {
    pub id: AssetId,
    pub path: PathBuf,
    /// Unused frame ranges; `None` when no composition uses the track file at all (its
    /// length is then unknown to the CPLs).
    pub frames: Option<Vec<Range<u64>>>,
}

impl Package {
    /// Every track file any composition uses, with its used frames merged over all CPLs:
    /// picture first, then audio, timed text and the rest, each by id.
    pub fn track_files(&self) -> Vec<TrackFile> {
        let mut by_id: BTreeMap<&AssetId, TrackFile> = BTreeMap::new();
        for c in &self.compositions {
            for t in c.timeline() {
                let entry = by_id.entry(&t.track_file).or_insert_with(|| TrackFile {
                    id: t.track_file.clone(),
                    path: self.assets.get(&t.track_file).map(|a| a.path.clone()),
                    kind: t.kind,
                    // The first composition's rate wins; a conforming package states one
                    // rate per track file.
                    edit_rate: t.edit_rate,
                    intrinsic_duration: 0,
                    used: Vec::new(),
                    resource_ranges: Vec::new(),
                });
                if entry.edit_rate != t.edit_rate {
                    continue;
                }
                entry.intrinsic_duration = entry.intrinsic_duration.max(t.intrinsic_duration);
                for u in &t.uses {
                    entry.used.push(u.file_frames.clone());
                    entry.resource_ranges.push(u.file_frames.clone());
                }
            }
        }
        let mut out: Vec<TrackFile> = by_id
            .into_values()
            .map(|mut t| {
                t.used = merge(std::mem::take(&mut t.used));
                t.resource_ranges.sort_by_key(|r| (r.start, r.end));
                t.resource_ranges.dedup();
                t
            })
            .collect();
        out.sort_by(|a, b| a.kind.cmp(&b.kind).then_with(|| a.id.cmp(&b.id)));
        out
    }

    /// Every place frame `frame` of track file `track_file` shows, in every composition and
    /// every play (a repeated resource shows it once per repeat), in CPL then timeline order.
    pub fn locate(&self, track_file: &AssetId, frame: u64) -> Vec<Placement> {
        let mut out = Vec::new();
        for c in &self.compositions {
            for t in c.timeline().iter().filter(|t| &t.track_file == track_file) {
                for u in &t.uses {
                    if let Some(cf) = c.composition_frame(u, t.edit_rate, frame) {
                        out.push(Placement {
                            cpl_id: c.id.clone(),
                            title: c.title.clone(),
                            segment_id: u.segment_id.clone(),
                            resource_id: u.resource_id.clone(),
                            composition_frame: cf,
                            timecode: c.timecode_at(cf),
                        });
                    }
                }
            }
        }
        out
    }

    /// Where the track file frames `frames` (inclusive) show: one entry per composition and
    /// play that holds any of them, with composition timecode in and out.
    pub fn locate_range(
        &self,
        track_file: &AssetId,
        frames: RangeInclusive<u64>,
    ) -> Vec<PlacedRange> {
        let mut out = Vec::new();
        for c in &self.compositions {
            for t in c.timeline().iter().filter(|t| &t.track_file == track_file) {
                for u in &t.uses {
                    if u.file_frames.is_empty() {
                        continue;
                    }
                    let first = (*frames.start()).max(u.file_frames.start);
                    let last = (*frames.end()).min(u.file_frames.end - 1);
                    if first > last {
                        continue;
                    }
                    let (Some(cin), Some(cout)) = (
                        c.composition_frame(u, t.edit_rate, first),
                        c.composition_frame(u, t.edit_rate, last),
                    ) else {
                        continue;
                    };
                    out.push(PlacedRange {
                        cpl_id: c.id.clone(),
                        title: c.title.clone(),
                        segment_id: u.segment_id.clone(),
                        resource_id: u.resource_id.clone(),
                        file_frames: first..=last,
                        composition_frames: cin..=cout,
                        timecode_in: c.timecode_at(cin),
                        timecode_out: c.timecode_at(cout),
                    });
                }
            }
        }
        out
    }

    /// Track files of this package (not of an original version) with frames no composition
    /// plays: the frames outside every use up to the largest `IntrinsicDuration`, or the whole
    /// file when no CPL uses it. Only assets the PKLs type as MXF (or named `.mxf`) count.
    pub fn not_in_composition(&self) -> Vec<Unused> {
        let tracks: BTreeMap<AssetId, TrackFile> = self
            .track_files()
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        let mxf_types: BTreeSet<&AssetId> = self
            .packing_lists
            .iter()
            .flat_map(|p| &p.assets)
            .filter(|a| a.asset_type.contains("mxf"))
            .map(|a| &a.id)
            .collect();
        let mut out = Vec::new();
        for a in self.assets.values() {
            let is_mxf = mxf_types.contains(&a.id)
                || a.path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("mxf"));
            if a.original_version.is_some() || a.packing_list || !is_mxf {
                continue;
            }
            let frames = match tracks.get(&a.id) {
                None => None,
                Some(t) => {
                    let gaps = gaps(&t.used, t.intrinsic_duration);
                    if gaps.is_empty() {
                        continue;
                    }
                    Some(gaps)
                }
            };
            out.push(Unused {
                id: a.id.clone(),
                path: a.path.clone(),
                frames,
            });
        }
        out
    }

    /// Track files that compositions play as timed text (IMSC subtitles and captions), whose
    /// images the scan hashes.
    pub fn subtitle_track_files(&self) -> Vec<AssetId> {
        let set: BTreeSet<AssetId> = self
            .compositions
            .iter()
            .flat_map(|c| c.timeline())
            .filter(|t| t.kind == SequenceKind::TimedText)
            .map(|t| t.track_file.clone())
            .collect();
        set.into_iter().collect()
    }
}

/// Sorted ranges with overlapping and adjacent ones joined; empty ones dropped.
fn merge(mut ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
    ranges.retain(|r| !r.is_empty());
    ranges.sort_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// The parts of `0..len` outside merged `used`.
fn gaps(used: &[Range<u64>], len: u64) -> Vec<Range<u64>> {
    let mut out = Vec::new();
    let mut at = 0;
    for r in used {
        if r.start > at {
            out.push(at..r.start.min(len));
        }
        at = at.max(r.end);
    }
    if at < len {
        out.push(at..len);
    }
    out.retain(|r| !r.is_empty());
    out
}

/// The frames of a track file at `rate` to hash: frame `round(k × rate)` for every whole second
/// `k` of the file whose frame lies in `used`, plus the first and last frame of every range in
/// `resource_ranges` (an insert shorter than a second is still seen). Exact integer arithmetic
/// (halves round up); sorted, without duplicates.
pub fn sample_frames(
    rate: EditRate,
    used: &[Range<u64>],
    resource_ranges: &[Range<u64>],
) -> Vec<u64> {
    let mut out = BTreeSet::new();
    let (num, den) = (u128::from(rate.num), u128::from(rate.den));
    for r in used.iter().filter(|r| !r.is_empty()) {
        // The first second whose frame could be in the range: round(k × rate) >= start needs
        // k >= (start - 1/2) / rate; start from just below it and skip what falls short.
        let mut k = (u128::from(r.start) * den / num).saturating_sub(1);
        while let Ok(sec) = u64::try_from(k) {
            let f = rate.frame_at_second(sec);
            if f >= r.end {
                break;
            }
            if f >= r.start {
                out.insert(f);
            }
            k += 1;
        }
    }
    for r in resource_ranges.iter().filter(|r| !r.is_empty()) {
        out.insert(r.start);
        out.insert(r.end - 1);
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(s: &str) -> EditRate {
        s.parse().expect("rate")
    }

    #[test]
    fn ranges_merge_when_they_overlap_or_touch() {
        assert_eq!(
            merge(vec![10..20, 0..5, 5..7, 15..30, 40..40]),
            vec![0..7, 10..30]
        );
        assert_eq!(gaps(&[0..7, 10..30], 35), vec![7..10, 30..35]);
        assert_eq!(
            gaps(std::slice::from_ref(&(0..35)), 35),
            Vec::<Range<u64>>::new()
        );
        let before: Vec<Range<u64>> = std::iter::once(0..5).collect();
        assert_eq!(gaps(std::slice::from_ref(&(5..10)), 8), before);
    }

    #[test]
    fn samples_fall_on_whole_seconds_and_resource_ends() {
        // 24 fps, frames 30..100 used: seconds 2, 3 and 4 are frames 48, 72, 96; the resource's
        // ends are 30 and 99.
        let r = std::slice::from_ref(&(30..100));
        assert_eq!(sample_frames(rate("24 1"), r, r), vec![30, 48, 72, 96, 99]);
        // 29.97: second 1 is frame round(29.97) = 30, second 10 is frame 300 (299.7 rounded).
        let s = sample_frames(rate("30000 1001"), std::slice::from_ref(&(0..301)), &[]);
        assert_eq!(s[..3], [0, 30, 60]);
        assert_eq!(s.last(), Some(&300));
        assert_eq!(s.len(), 11);
        // A 5-frame insert inside no whole second still gets its first and last frame.
        let r = std::slice::from_ref(&(50..55));
        assert_eq!(sample_frames(rate("24 1"), r, r), vec![50, 54]);
    }
}
