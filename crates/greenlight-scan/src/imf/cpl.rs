//! Composition playlists (ST 2067-3) and their timelines.
//!
//! Positions are exact rationals of seconds (`Ratio<u128>`, checked arithmetic): a resource
//! at 48/1 inside a 24/1 composition, or 48 000 audio samples per 1001/24 000 s, never
//! accumulate rounding. Conversions to whole frames happen once, at the end: a range of
//! composition frames starts at `floor(start × rate)` and ends (exclusive) at
//! `ceil(end × rate)`, so it covers every composition frame the resource is in; a single track
//! file frame maps to composition frame `floor(time × rate)`, the composition frame showing
//! it. In a conforming CPL every resource boundary falls on a composition frame and both are
//! exact.

use std::ops::Range;
use std::path::{Path, PathBuf};

use num_rational::Ratio;
use num_traits::{CheckedAdd, CheckedMul, CheckedSub, Zero};

use super::xml::Element;
use super::{AssetId, ImfError};
use crate::timecode::{EditRate, Timecode, TimecodeFormat};

/// The most segments read from one CPL.
pub const MAX_SEGMENTS: usize = 10_000;
/// The most resources read from one CPL (all sequences together).
pub const MAX_RESOURCES: usize = 20_000;
/// The most uses (resources times their repeats) one CPL may expand to.
pub const MAX_USES: u64 = 100_000;
/// The longest `ContentTitle` kept, in bytes (a longer one is cut at a character boundary).
pub const MAX_TITLE_BYTES: usize = 1024;
/// The longest track file accepted: 24 hours at its edit rate (a timecode day).
pub const MAX_TRACK_SECONDS: u64 = 24 * 3600;

type Seconds = Ratio<u128>;

/// What a sequence carries, from its element's local name. Ordered picture first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SequenceKind {
    /// `MainImageSequence`.
    Image,
    /// `MainAudioSequence`, `IABSequence`, `MGASequence` and other audio.
    Audio,
    /// IMSC timed text: subtitles, captions, forced narrative and the like.
    TimedText,
    /// Any other sequence with track files (ancillary data, ISXD metadata, ...).
    Other,
    /// `MarkerSequence`: no track files.
    Marker,
}

impl SequenceKind {
    /// The kind of a sequence element, by local name.
    pub fn from_element(local_name: &str) -> Self {
        match local_name {
            "MainImageSequence" => Self::Image,
            "MainAudioSequence" | "IABSequence" | "MGASequence" | "ADMAudioSequence" => Self::Audio,
            "SubtitlesSequence"
            | "HearingImpairedCaptionsSequence"
            | "VisuallyImpairedTextSequence"
            | "CommentarySequence"
            | "KaraokeSequence"
            | "ForcedNarrativeSequence" => Self::TimedText,
            "MarkerSequence" => Self::Marker,
            _ => Self::Other,
        }
    }
}

/// A composition playlist and its timeline.
#[derive(Clone, Debug)]
pub struct Composition {
    pub id: AssetId,
    /// The CPL file.
    pub path: PathBuf,
    /// `ContentTitle`, at most [`MAX_TITLE_BYTES`].
    pub title: String,
    /// The composition's `EditRate`: composition frames count at this rate.
    pub edit_rate: EditRate,
    pub timecode: CompositionTimecode,
    pub segments: Vec<Segment>,
    /// Length in composition frames (rounded up).
    pub duration: u64,
    tracks: Vec<TrackUses>,
}

/// `CompositionTimecode`, or 00:00:00:00 non-drop at the nominal rate when absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompositionTimecode {
    /// `TimecodeRate` and `TimecodeDropFrame`.
    pub format: TimecodeFormat,
    /// `TimecodeStartAddress` as a frame count at `format`.
    pub start: u64,
}

/// A segment: sequences that play side by side.
#[derive(Clone, Debug)]
pub struct Segment {
    pub id: AssetId,
    pub sequences: Vec<Sequence>,
}

/// A sequence (`MainImageSequence`, `MainAudioSequence`, `SubtitlesSequence`, ...).
#[derive(Clone, Debug)]
pub struct Sequence {
    pub id: AssetId,
    pub track_id: Option<AssetId>,
    pub kind: SequenceKind,
    /// The element's local name, as written.
    pub element: String,
    pub resources: Vec<Resource>,
}

/// A resource with its defaults applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    pub id: AssetId,
    /// The resource's `EditRate`, or the composition's when absent.
    pub edit_rate: EditRate,
    pub intrinsic_duration: u64,
    /// Default 0.
    pub entry_point: u64,
    /// Default `IntrinsicDuration - EntryPoint`.
    pub source_duration: u64,
    /// Default 1.
    pub repeat_count: u64,
    /// Absent for markers.
    pub track_file_id: Option<AssetId>,
}

/// One play of a resource of a track file in a composition (a resource repeated three times
/// gives three uses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Use {
    pub cpl_id: AssetId,
    pub title: String,
    pub segment_id: AssetId,
    pub resource_id: AssetId,
    /// Which repeat, from 0.
    pub repeat: u64,
    /// Frames of the track file, in its own edit units: `EntryPoint .. EntryPoint +
    /// SourceDuration`.
    pub file_frames: Range<u64>,
    /// Frames of the composition at its edit rate (floor of the start, ceiling of the end).
    pub composition_frames: Range<u64>,
    /// Exact start in seconds from the composition's start.
    start: Seconds,
}

/// Every use of one track file in one composition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackUses {
    pub track_file: AssetId,
    pub kind: SequenceKind,
    /// The edit rate of the resources that use it (the unit of `file_frames`).
    pub edit_rate: EditRate,
    /// The largest `IntrinsicDuration` stated for it.
    pub intrinsic_duration: u64,
    /// In composition order.
    pub uses: Vec<Use>,
}

impl Composition {
    /// Every track file the composition uses with its uses, picture first, then audio, timed
    /// text and others, each in order of first appearance.
    pub fn timeline(&self) -> &[TrackUses] {
        &self.tracks
    }

    /// How many uses (resource plays) the timeline holds.
    pub fn plays(&self) -> u64 {
        self.tracks.iter().map(|t| t.uses.len() as u64).sum()
    }

    /// The composition timecode of composition frame `frame`, at the CPL's timecode rate and
    /// start address. When `TimecodeRate` differs from the nominal rate of `EditRate`, the
    /// frame is scaled by their ratio (rounded down).
    pub fn timecode_at(&self, frame: u64) -> Timecode {
        let fps = u128::from(self.timecode.format.fps());
        let nominal = u128::from(self.edit_rate.nominal_fps());
        let scaled = u128::from(frame) * fps / nominal;
        let tc_frame = u128::from(self.timecode.start) + scaled;
        self.timecode
            .format
            .timecode((tc_frame % u128::from(self.timecode.format.frames_per_day())) as u64)
    }

    /// The composition frame showing frame `file_frame` of the track file during `use_`
    /// (`None` when the frame is outside the use).
    pub fn composition_frame(&self, use_: &Use, rate: EditRate, file_frame: u64) -> Option<u64> {
        if !use_.file_frames.contains(&file_frame) {
            return None;
        }
        let offset = Ratio::new(
            u128::from(file_frame - use_.file_frames.start) * u128::from(rate.den),
            u128::from(rate.num),
        );
        let t = use_.start.checked_add(&offset)?;
        let f = t
            .checked_mul(&as_ratio(self.edit_rate))?
            .floor()
            .to_integer();
        u64::try_from(f).ok()
    }
}

fn as_ratio(r: EditRate) -> Seconds {
    Ratio::new(u128::from(r.num), u128::from(r.den))
}

/// Seconds of `frames` at `rate`.
fn seconds(frames: u64, rate: EditRate) -> Seconds {
    Ratio::new(
        u128::from(frames) * u128::from(rate.den),
        u128::from(rate.num),
    )
}

struct Ctx<'a> {
    path: &'a Path,
}

impl Ctx<'_> {
    fn err(&self, line: usize, detail: impl Into<String>) -> ImfError {
        ImfError::Xml {
            path: self.path.to_path_buf(),
            line,
            detail: detail.into(),
        }
    }

    fn need<'e>(&self, el: &'e Element, name: &str) -> Result<&'e Element, ImfError> {
        el.child(name)
            .ok_or_else(|| self.err(el.line, format!("<{}> has no <{name}>", el.name)))
    }

    fn id(&self, el: &Element, name: &str) -> Result<AssetId, ImfError> {
        let c = self.need(el, name)?;
        AssetId::parse(&c.text)
            .ok_or_else(|| self.err(c.line, format!("{name} {:?} is not a urn:uuid", c.text)))
    }

    fn opt_u64(&self, el: &Element, name: &str) -> Result<Option<u64>, ImfError> {
        match el.child(name) {
            None => Ok(None),
            Some(c) => c.text.parse().map(Some).map_err(|_| {
                self.err(c.line, format!("{name} {:?} is not a whole number", c.text))
            }),
        }
    }

    fn rate(&self, c: &Element) -> Result<EditRate, ImfError> {
        c.text
            .parse()
            .map_err(|e| self.err(c.line, format!("{}: {e}", c.name)))
    }
}

/// Reads a CPL from its parsed document and builds its timeline.
pub(crate) fn parse(root: &Element, path: &Path) -> Result<Composition, ImfError> {
    let cx = Ctx { path };
    if root.name != "CompositionPlaylist" {
        return Err(cx.err(
            root.line,
            format!(
                "the root element is <{}>, not <CompositionPlaylist>",
                root.name
            ),
        ));
    }
    let id = cx.id(root, "Id")?;
    let title = cut(
        root.text_of("ContentTitle").unwrap_or_default(),
        MAX_TITLE_BYTES,
    );
    let edit_rate = cx.rate(cx.need(root, "EditRate")?)?;
    let timecode = match root.child("CompositionTimecode") {
        None => CompositionTimecode {
            format: TimecodeFormat::from_rate(edit_rate, false)
                .map_err(|e| cx.err(root.line, e.to_string()))?,
            start: 0,
        },
        Some(tc) => {
            let drop = cx.need(tc, "TimecodeDropFrame")?;
            let drop_frame = match drop.text.as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                other => {
                    return Err(cx.err(
                        drop.line,
                        format!("TimecodeDropFrame {other:?} is not true or false"),
                    ));
                }
            };
            let rate_el = cx.need(tc, "TimecodeRate")?;
            let fps = cx.rate(rate_el)?.nominal_fps();
            let format = TimecodeFormat::new(fps, drop_frame)
                .map_err(|e| cx.err(rate_el.line, e.to_string()))?;
            let start_el = cx.need(tc, "TimecodeStartAddress")?;
            let start = format
                .parse(&start_el.text)
                .map_err(|e| cx.err(start_el.line, e.to_string()))?;
            CompositionTimecode { format, start }
        }
    };

    let mut segments = Vec::new();
    let mut resources = 0usize;
    let list = cx.need(root, "SegmentList")?;
    for seg in list.children_named("Segment") {
        if segments.len() >= MAX_SEGMENTS {
            return Err(cx.err(seg.line, format!("more than {MAX_SEGMENTS} segments")));
        }
        let seg_id = cx.id(seg, "Id")?;
        let mut sequences = Vec::new();
        for seq in &cx.need(seg, "SequenceList")?.children {
            let kind = SequenceKind::from_element(&seq.name);
            let Some(res_list) = seq.child("ResourceList") else {
                return Err(cx.err(seq.line, format!("<{}> has no <ResourceList>", seq.name)));
            };
            let mut list = Vec::new();
            for res in res_list.children_named("Resource") {
                resources += 1;
                if resources > MAX_RESOURCES {
                    return Err(cx.err(res.line, format!("more than {MAX_RESOURCES} resources")));
                }
                list.push(resource(&cx, res, edit_rate, kind)?);
            }
            sequences.push(Sequence {
                id: cx.id(seq, "Id")?,
                track_id: seq.text_of("TrackId").and_then(AssetId::parse),
                kind,
                element: seq.name.clone(),
                resources: list,
            });
        }
        segments.push(Segment {
            id: seg_id,
            sequences,
        });
    }
    if segments.is_empty() {
        return Err(cx.err(list.line, "<SegmentList> has no <Segment>"));
    }
    let mut c = Composition {
        id,
        path: path.to_path_buf(),
        title,
        edit_rate,
        timecode,
        segments,
        duration: 0,
        tracks: Vec::new(),
    };
    build_timeline(&mut c).map_err(|detail| cx.err(root.line, detail))?;
    Ok(c)
}

fn resource(
    cx: &Ctx<'_>,
    res: &Element,
    cpl_rate: EditRate,
    kind: SequenceKind,
) -> Result<Resource, ImfError> {
    let id = cx.id(res, "Id")?;
    let edit_rate = match res.child("EditRate") {
        Some(r) => cx.rate(r)?,
        None => cpl_rate,
    };
    let intrinsic_duration = cx
        .opt_u64(res, "IntrinsicDuration")?
        .ok_or_else(|| cx.err(res.line, "<Resource> has no <IntrinsicDuration>"))?;
    if u128::from(intrinsic_duration) * u128::from(edit_rate.den)
        > u128::from(MAX_TRACK_SECONDS) * u128::from(edit_rate.num)
    {
        return Err(cx.err(
            res.line,
            format!(
                "resource {id}: IntrinsicDuration {intrinsic_duration} at {edit_rate} is longer \
                 than 24 hours"
            ),
        ));
    }
    let entry_point = cx.opt_u64(res, "EntryPoint")?.unwrap_or(0);
    if entry_point > intrinsic_duration {
        return Err(cx.err(
            res.line,
            format!(
                "resource {id}: EntryPoint {entry_point} is past IntrinsicDuration {intrinsic_duration}"
            ),
        ));
    }
    let source_duration = cx
        .opt_u64(res, "SourceDuration")?
        .unwrap_or(intrinsic_duration - entry_point);
    if source_duration > intrinsic_duration - entry_point {
        return Err(cx.err(
            res.line,
            format!(
                "resource {id}: EntryPoint {entry_point} + SourceDuration {source_duration} is \
                 past IntrinsicDuration {intrinsic_duration}"
            ),
        ));
    }
    let repeat_count = cx.opt_u64(res, "RepeatCount")?.unwrap_or(1);
    let track_file_id = match res.child("TrackFileId") {
        Some(t) => Some(AssetId::parse(&t.text).ok_or_else(|| {
            cx.err(
                t.line,
                format!("TrackFileId {:?} is not a urn:uuid", t.text),
            )
        })?),
        None if kind != SequenceKind::Marker => {
            return Err(cx.err(res.line, format!("resource {id} has no <TrackFileId>")));
        }
        None => None,
    };
    Ok(Resource {
        id,
        edit_rate,
        intrinsic_duration,
        entry_point,
        source_duration,
        repeat_count,
        track_file_id,
    })
}

const OVERFLOW: &str = "the composition's durations overflow";

fn build_timeline(c: &mut Composition) -> Result<(), String> {
    let cpl_rate = as_ratio(c.edit_rate);
    let mut tracks: Vec<TrackUses> = Vec::new();
    let mut seg_start = Seconds::zero();
    let mut uses = 0u64;
    for seg in &c.segments {
        let mut seg_len = Seconds::zero();
        for seq in &seg.sequences {
            let mut t = seg_start;
            for res in &seq.resources {
                let once = seconds(res.source_duration, res.edit_rate);
                let Some(tf) = &res.track_file_id else {
                    let all = once
                        .checked_mul(&Ratio::from_integer(u128::from(res.repeat_count)))
                        .ok_or(OVERFLOW)?;
                    t = t.checked_add(&all).ok_or(OVERFLOW)?;
                    continue;
                };
                uses = uses.saturating_add(res.repeat_count);
                if uses > MAX_USES {
                    return Err(format!(
                        "more than {MAX_USES} resource plays (RepeatCount included)"
                    ));
                }
                let track = match tracks.iter_mut().position(|u| &u.track_file == tf) {
                    Some(i) => &mut tracks[i],
                    None => {
                        tracks.push(TrackUses {
                            track_file: tf.clone(),
                            kind: seq.kind,
                            edit_rate: res.edit_rate,
                            intrinsic_duration: res.intrinsic_duration,
                            uses: Vec::new(),
                        });
                        let last = tracks.len() - 1;
                        &mut tracks[last]
                    }
                };
                if track.edit_rate != res.edit_rate {
                    return Err(format!(
                        "track file {tf} is used at edit rate {} and at {}",
                        track.edit_rate, res.edit_rate
                    ));
                }
                track.intrinsic_duration = track.intrinsic_duration.max(res.intrinsic_duration);
                for repeat in 0..res.repeat_count {
                    let end = t.checked_add(&once).ok_or(OVERFLOW)?;
                    let first = frame_floor(&t, &cpl_rate).ok_or(OVERFLOW)?;
                    let last = frame_ceil(&end, &cpl_rate).ok_or(OVERFLOW)?;
                    track.uses.push(Use {
                        cpl_id: c.id.clone(),
                        title: c.title.clone(),
                        segment_id: seg.id.clone(),
                        resource_id: res.id.clone(),
                        repeat,
                        file_frames: res.entry_point..res.entry_point + res.source_duration,
                        composition_frames: first..last,
                        start: t,
                    });
                    t = end;
                }
            }
            let len = t.checked_sub(&seg_start).ok_or(OVERFLOW)?;
            if len > seg_len {
                seg_len = len;
            }
        }
        seg_start = seg_start.checked_add(&seg_len).ok_or(OVERFLOW)?;
    }
    c.duration = frame_ceil(&seg_start, &cpl_rate).ok_or(OVERFLOW)?;
    // Picture first; within a kind, order of first appearance (the sort is stable).
    tracks.sort_by_key(|t| t.kind);
    c.tracks = tracks;
    Ok(())
}

/// `s` cut to at most `max` bytes at a character boundary.
fn cut(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

fn frame_floor(t: &Seconds, rate: &Seconds) -> Option<u64> {
    u64::try_from(t.checked_mul(rate)?.floor().to_integer()).ok()
}

fn frame_ceil(t: &Seconds, rate: &Seconds) -> Option<u64> {
    u64::try_from(t.checked_mul(rate)?.ceil().to_integer()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TF_A: &str = "urn:uuid:00000000-0000-0000-0000-00000000000a";
    const TF_B: &str = "urn:uuid:00000000-0000-0000-0000-00000000000b";

    fn uuid(n: u32) -> String {
        format!("urn:uuid:00000000-0000-0000-0000-{n:012}")
    }

    fn cpl(rate: &str, timecode: &str, resources: &str) -> Result<Composition, ImfError> {
        let xml = format!(
            r#"<CompositionPlaylist xmlns="http://www.smpte-ra.org/schemas/2067-3/2013">
  <Id>{}</Id><ContentTitle>T</ContentTitle><EditRate>{rate}</EditRate>{timecode}
  <SegmentList><Segment><Id>{}</Id><SequenceList>
    <MainImageSequence xmlns="urn:x"><Id>{}</Id><ResourceList>{resources}</ResourceList></MainImageSequence>
  </SequenceList></Segment></SegmentList>
</CompositionPlaylist>"#,
            uuid(1),
            uuid(2),
            uuid(3)
        );
        let root = super::super::xml::parse(xml.as_bytes(), Path::new("CPL.xml"))?;
        parse(&root, Path::new("CPL.xml"))
    }

    fn res(n: u32, tf: &str, fields: &str) -> String {
        format!(
            "<Resource><Id>{}</Id>{fields}<TrackFileId>{tf}</TrackFileId></Resource>",
            uuid(n)
        )
    }

    #[test]
    fn defaults_apply_and_repeats_follow_each_other() {
        let c = cpl(
            "24 1",
            "",
            &(res(10, TF_A, "<IntrinsicDuration>100</IntrinsicDuration><EntryPoint>10</EntryPoint><RepeatCount>3</RepeatCount>")
                + &res(11, TF_B, "<IntrinsicDuration>5</IntrinsicDuration>")),
        )
        .expect("parses");
        let r = &c.segments[0].sequences[0].resources[0];
        assert_eq!(
            (r.entry_point, r.source_duration, r.repeat_count),
            (10, 90, 3)
        );
        assert_eq!(r.edit_rate, EditRate { num: 24, den: 1 });
        let a = &c.timeline()[0];
        let spans: Vec<_> = a
            .uses
            .iter()
            .map(|u| (u.file_frames.clone(), u.composition_frames.clone()))
            .collect();
        assert_eq!(
            spans,
            vec![(10..100, 0..90), (10..100, 90..180), (10..100, 180..270)]
        );
        assert_eq!(c.timeline()[1].uses[0].composition_frames, 270..275);
        assert_eq!(c.duration, 275);
    }

    #[test]
    fn a_resource_at_another_rate_is_converted_exactly() {
        // 48 frames a second inside a 24 fps composition: 96 file frames are 48 composition
        // frames, and file frame 95 shows in composition frame 47.
        let c = cpl(
            "24 1",
            "",
            &(res(10, TF_A, "<IntrinsicDuration>24</IntrinsicDuration>")
                + &res(
                    11,
                    TF_B,
                    "<EditRate>48 1</EditRate><IntrinsicDuration>96</IntrinsicDuration>",
                )),
        )
        .expect("parses");
        let b = &c.timeline()[1];
        assert_eq!(b.uses[0].composition_frames, 24..72);
        assert_eq!(c.composition_frame(&b.uses[0], b.edit_rate, 95), Some(71));
        assert_eq!(c.composition_frame(&b.uses[0], b.edit_rate, 1), Some(24));
        assert_eq!(c.composition_frame(&b.uses[0], b.edit_rate, 96), None);
    }

    #[test]
    fn the_start_address_and_drop_frame_label_composition_frames() {
        let tc = "<CompositionTimecode><TimecodeDropFrame>true</TimecodeDropFrame>\
                  <TimecodeRate>30</TimecodeRate><TimecodeStartAddress>00:59:59;28</TimecodeStartAddress>\
                  </CompositionTimecode>";
        let c = cpl(
            "30000 1001",
            tc,
            &res(10, TF_A, "<IntrinsicDuration>10</IntrinsicDuration>"),
        )
        .expect("parses");
        assert_eq!(c.timecode_at(0).to_string(), "00:59:59;28");
        assert_eq!(c.timecode_at(2).to_string(), "01:00:00;00");
        // Without a CompositionTimecode: 00:00:00:00 at the nominal rate, non-drop.
        let c = cpl(
            "30000 1001",
            "",
            &res(10, TF_A, "<IntrinsicDuration>1800</IntrinsicDuration>"),
        )
        .expect("parses");
        assert_eq!(c.timecode_at(1800).to_string(), "00:01:00:00");
    }

    #[test]
    fn impossible_resources_are_refused_with_their_line() {
        for (fields, words) in [
            (
                "<IntrinsicDuration>10</IntrinsicDuration><EntryPoint>11</EntryPoint>",
                "past IntrinsicDuration",
            ),
            (
                "<IntrinsicDuration>10</IntrinsicDuration><EntryPoint>5</EntryPoint><SourceDuration>6</SourceDuration>",
                "past IntrinsicDuration",
            ),
            (
                "<IntrinsicDuration>ten</IntrinsicDuration>",
                "\"ten\" is not a whole number",
            ),
            (
                "<EditRate>24 0</EditRate><IntrinsicDuration>1</IntrinsicDuration>",
                "EditRate",
            ),
            ("", "no <IntrinsicDuration>"),
            (
                "<IntrinsicDuration>1</IntrinsicDuration><RepeatCount>100001</RepeatCount>",
                "more than 100000 resource plays",
            ),
            (
                "<IntrinsicDuration>2073601</IntrinsicDuration>",
                "longer than 24 hours",
            ),
        ] {
            let e = cpl("24 1", "", &res(10, TF_A, fields)).expect_err(fields);
            let msg = e.to_string();
            assert!(msg.starts_with("CPL.xml line "), "{msg}");
            assert!(msg.contains(words), "{fields}: {msg}");
        }
    }

    #[test]
    fn sequence_kinds_put_picture_first() {
        assert!(
            SequenceKind::from_element("MainImageSequence")
                < SequenceKind::from_element("MainAudioSequence")
        );
        assert_eq!(
            SequenceKind::from_element("SubtitlesSequence"),
            SequenceKind::TimedText
        );
        assert_eq!(
            SequenceKind::from_element("MarkerSequence"),
            SequenceKind::Marker
        );
        assert_eq!(
            SequenceKind::from_element("ISXDDataSequence"),
            SequenceKind::Other
        );
    }
}
