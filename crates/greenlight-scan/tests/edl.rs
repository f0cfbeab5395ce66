//! Edit lists read from files: a hand-written CMX 3600 EDL (drop-frame, a dissolve, an
//! audio-only event), an OTIO timeline with a gap, a transition and an upper track, and hostile
//! inputs that must give an error naming the file and the line (or JSON path).

use std::path::{Path, PathBuf};

use greenlight_scan::edl::{EditList, EditListFormat, EdlError, Transition};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/edl")
        .join(name)
}

/// Writes `bytes` to `name` in a fresh temporary folder and reads it as an edit list.
fn read_bytes(
    name: &str,
    bytes: &[u8],
    rate: (u32, u32),
) -> (tempfile::TempDir, Result<EditList, EdlError>) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write the test file");
    let result = EditList::read(&path, rate.0, rate.1);
    (dir, result)
}

fn error_text(result: Result<EditList, EdlError>) -> String {
    match result {
        Ok(list) => panic!("expected an error, read {} events", list.events.len()),
        Err(e) => e.to_string(),
    }
}

// 01:00:00;00 in drop-frame at 29.97: 60 minutes of 1798 frames, plus 2 per tenth minute.
const ONE_HOUR_DF: u64 = 107_892;

#[test]
fn drop_frame_edl_maps_record_frames_to_events() {
    let list = EditList::read(&fixture("three-events-df.edl"), 30000, 1001).expect("valid EDL");
    assert_eq!(list.format, EditListFormat::Cmx3600);
    assert_eq!(list.title.as_deref(), Some("GREENLIGHT DROP FRAME REEL"));
    assert!(list.drop_frame);
    // Event 003 is audio only and the zero-length outgoing line of 002 is not an event.
    let numbers: Vec<u32> = list.events.iter().map(|e| e.number).collect();
    assert_eq!(numbers, [1, 2, 4]);

    let first = &list.events[0];
    assert_eq!(first.record_in, ONE_HOUR_DF);
    assert_eq!(first.record_out, ONE_HOUR_DF + 90);
    assert_eq!(first.clip.as_deref(), Some("opening_wide.mov"));
    assert_eq!(first.reel.as_deref(), Some("A001"));
    assert_eq!(first.source_in, "00:59:58;00");
    assert_eq!(first.source_out, "01:00:01;00");
    assert_eq!(
        first.source_file.as_deref(),
        Some("/media/opening_wide.mov")
    );
    assert_eq!(first.transition, Transition::Cut);

    // The dissolve: the incoming clip (TO CLIP NAME) covers the dissolve and what follows.
    let dissolve = &list.events[1];
    assert_eq!(dissolve.transition, Transition::Dissolve { frames: 30 });
    assert_eq!(dissolve.clip.as_deref(), Some("temp_ai_insert.mov"));
    assert_eq!(dissolve.reel.as_deref(), Some("B007"));
    assert_eq!(
        (dissolve.record_in, dissolve.record_out),
        (ONE_HOUR_DF + 90, ONE_HOUR_DF + 240)
    );

    // Event 004 ends at 01:01:00;02, the first frame of minute 1 in drop-frame timecode.
    let last = &list.events[2];
    assert_eq!(last.record_out, ONE_HOUR_DF + 1800);
    assert_eq!(last.source_in, "02:30:10;02");

    assert_eq!(list.event_at(ONE_HOUR_DF - 1), None);
    assert_eq!(list.event_at(ONE_HOUR_DF).map(|e| e.number), Some(1));
    assert_eq!(list.event_at(ONE_HOUR_DF + 89).map(|e| e.number), Some(1));
    assert_eq!(list.event_at(ONE_HOUR_DF + 90).map(|e| e.number), Some(2));
    assert_eq!(list.event_at(ONE_HOUR_DF + 239).map(|e| e.number), Some(2));
    assert_eq!(list.event_at(ONE_HOUR_DF + 240).map(|e| e.number), Some(4));
    assert_eq!(list.event_at(ONE_HOUR_DF + 1799).map(|e| e.number), Some(4));
    assert_eq!(list.event_at(ONE_HOUR_DF + 1800), None);
}

#[test]
fn edl_is_recognised_by_content_without_its_extension() {
    let text = std::fs::read(fixture("three-events-df.edl")).expect("fixture");
    let (_dir, result) = read_bytes("cut-list.txt", &text, (30000, 1001));
    let list = result.expect("read as CMX 3600");
    assert_eq!(list.format, EditListFormat::Cmx3600);
    assert_eq!(list.events.len(), 3);
}

#[test]
fn drop_frame_edl_read_at_24_fps_names_the_first_event_line() {
    let err = error_text(EditList::read(&fixture("three-events-df.edl"), 24, 1));
    assert!(err.contains("three-events-df.edl"), "{err}");
    assert!(err.contains("line 4:"), "{err}");
    assert!(err.contains("30000/1001"), "{err}");
}

#[test]
fn otio_timeline_with_a_gap_a_dissolve_and_an_upper_track() {
    let list = EditList::read(&fixture("gap.otio"), 24, 1).expect("valid OTIO");
    assert_eq!(list.format, EditListFormat::Otio);
    assert_eq!(list.title.as_deref(), Some("Gap and overlay"));
    assert!(!list.drop_frame);
    assert_eq!(list.events.len(), 3, "{:#?}", list.events);

    let opening = &list.events[0];
    assert_eq!((opening.number, opening.track), (1, 1));
    assert_eq!((opening.record_in, opening.record_out), (86_400, 86_448));
    assert_eq!(opening.clip.as_deref(), Some("opening_wide"));
    assert_eq!(opening.reel.as_deref(), Some("A001"));
    assert_eq!(opening.source_in, "00:00:04:04");
    assert_eq!(opening.source_out, "00:00:06:04");
    assert_eq!(
        opening.source_file.as_deref(),
        Some("file:///media/opening_wide.mov")
    );

    // After a one-second gap; the transition before it becomes its way in.
    let insert = &list.events[1];
    assert_eq!((insert.record_in, insert.record_out), (86_472, 86_544));
    assert_eq!(insert.transition, Transition::Dissolve { frames: 12 });
    assert_eq!(insert.source_in, "12:00:00:00");
    assert_eq!(insert.source_out, "12:00:03:00");
    assert_eq!(
        insert.source_file.as_deref(),
        Some("file:///media/temp_ai_insert.mov")
    );

    let overlay = &list.events[2];
    assert_eq!((overlay.number, overlay.track), (3, 2));
    assert_eq!((overlay.record_in, overlay.record_out), (86_480, 86_490));

    assert_eq!(list.event_at(86_447).map(|e| e.number), Some(1));
    // The gap: nothing is cut in there.
    assert_eq!(list.event_at(86_448), None);
    assert_eq!(list.event_at(86_471), None);
    assert_eq!(list.event_at(86_472).map(|e| e.number), Some(2));
    // The upper track hides the lower one where they overlap.
    assert_eq!(list.event_at(86_485).map(|e| e.number), Some(3));
    assert_eq!(list.event_at(86_490).map(|e| e.number), Some(2));
    assert_eq!(list.event_at(86_544), None);
}

#[test]
fn otio_record_frames_follow_the_rate_asked_for() {
    // The same timeline counted at 48 fps: every record frame doubles.
    let list = EditList::read(&fixture("gap.otio"), 48, 1).expect("valid OTIO");
    assert_eq!(
        (list.events[1].record_in, list.events[1].record_out),
        (172_944, 173_088)
    );
}

#[test]
fn an_oversized_file_is_refused_before_parsing() {
    let big = vec![b'A'; 8 * 1024 * 1024 + 1];
    let (_dir, result) = read_bytes("huge.edl", &big, (24, 1));
    assert!(
        matches!(result, Err(EdlError::TooLarge { .. })),
        "{result:?}"
    );
    let err = error_text(result);
    assert!(
        err.contains("huge.edl") && err.contains("larger than"),
        "{err}"
    );
}

#[test]
fn binary_input_names_the_line_of_the_first_bad_byte() {
    let mut bytes = b"TITLE: X\nFCM: NON-DROP FRAME\n".to_vec();
    bytes.extend_from_slice(&[0x00, 0xff, 0xfe, 0x89, b'P', b'N', b'G']);
    let (_dir, result) = read_bytes("binary.edl", &bytes, (24, 1));
    let err = error_text(result);
    assert!(err.contains("binary.edl"), "{err}");
    assert!(err.contains("line 3: not UTF-8"), "{err}");
}

#[test]
fn malformed_timecodes_are_each_reported_with_their_line() {
    let text = "TITLE: BROKEN\n\
                FCM: NON-DROP FRAME\n\
                001  A001  V  C  00:00:00:00 00:00:01:00 01:00:00:00 01:00:01:00\n\
                002  A002  V  C  00:00:00:00 00:00:01:00 01:00:01:00 01:00:61:00\n\
                003  A003  V  C  00:00:00:00 00:00:01:00 01:00:02:00 01:00:02:24\n\
                004  A004  V  C  00:00:00:00 0:00:01:00 01:00:03:00 01:00:04:00\n\
                005  A005  V  X  00:00:00:00 00:00:01:00 01:00:04:00 01:00:05:00\n\
                006  A006  V  C  00:00:00:00 00:00:01:00 01:00:06:00 01:00:05:00\n";
    let (_dir, result) = read_bytes("broken.edl", text.as_bytes(), (24, 1));
    let err = error_text(result);
    assert!(err.contains("broken.edl"), "{err}");
    assert!(
        err.contains("line 4: \"01:00:61:00\": minutes and seconds must be below 60"),
        "{err}"
    );
    assert!(
        err.contains("line 5: \"01:00:02:24\": frame 24 is not below 24"),
        "{err}"
    );
    assert!(
        err.contains("line 6: \"0:00:01:00\" is not a timecode"),
        "{err}"
    );
    assert!(err.contains("line 7: \"X\" is not a transition"), "{err}");
    assert!(
        err.contains("line 8: record out is before record in"),
        "{err}"
    );
    assert!(!err.contains("line 3"), "{err}");
}

#[test]
fn a_dissolve_without_its_length_is_an_error() {
    let text = "TITLE: X\n001  A001  V  D  00:00:00:00 00:00:01:00 01:00:00:00 01:00:01:00\n";
    let (_dir, result) = read_bytes("d.edl", text.as_bytes(), (24, 1));
    let err = error_text(result);
    assert!(
        err.contains("line 2: a dissolve (D) needs its length"),
        "{err}"
    );
}

#[test]
fn text_that_is_no_edl_is_refused() {
    let (_dir, result) = read_bytes("notes.edl", b"Shopping list\nmilk, eggs\n", (24, 1));
    let err = error_text(result);
    assert!(err.contains("notes.edl: not a CMX 3600 EDL"), "{err}");
}

#[test]
fn too_many_events_are_refused() {
    let mut text = String::from("TITLE: LONG\n");
    for i in 0..100_001u64 {
        let tc = |f: u64| {
            format!(
                "{:02}:{:02}:{:02}:{:02}",
                f / 86_400,
                f / 1440 % 60,
                f / 24 % 60,
                f % 24
            )
        };
        text.push_str(&format!(
            "{:03}  R  V  C  00:00:00:00 00:00:00:01 {} {}\n",
            i % 1000,
            tc(i),
            tc(i + 1)
        ));
    }
    let (_dir, result) = read_bytes("long.edl", text.as_bytes(), (24, 1));
    assert!(
        matches!(result, Err(EdlError::TooManyEvents { limit: 100_000, .. })),
        "{result:?}"
    );
}

#[test]
fn otio_syntax_errors_name_the_line() {
    let text = "{\n  \"OTIO_SCHEMA\": \"Timeline.1\",\n  \"tracks\": {\n    \"OTIO_SCHEMA\": \"Stack.1\",\n    \"children\": [,]\n  }\n}\n";
    let (_dir, result) = read_bytes("bad.otio", text.as_bytes(), (24, 1));
    let err = error_text(result);
    assert!(err.contains("bad.otio: line 5: column"), "{err}");
}

#[test]
fn otio_type_errors_name_the_line() {
    let text = "{\"OTIO_SCHEMA\": \"Timeline.1\", \"tracks\": {\"OTIO_SCHEMA\": \"Stack.1\", \"children\": [\n\
        {\"OTIO_SCHEMA\": \"Track.1\", \"kind\": \"Video\", \"children\": [\n\
        {\"OTIO_SCHEMA\": \"Gap.1\", \"source_range\": {\"start_time\": {\"value\": 0, \"rate\": 24},\n\
        \"duration\": {\"value\": \"ten\", \"rate\": 24}}}]}]}}\n";
    let (_dir, result) = read_bytes("typed.otio", text.as_bytes(), (24, 1));
    let err = error_text(result);
    assert!(err.contains("typed.otio: line 4"), "{err}");
    assert!(err.contains("invalid type"), "{err}");
}

#[test]
fn otio_items_without_a_length_name_their_json_path() {
    let text = r#"{"OTIO_SCHEMA": "Timeline.1", "tracks": {"OTIO_SCHEMA": "Stack.1", "children": [
        {"OTIO_SCHEMA": "Track.1", "kind": "Video", "children": [
            {"OTIO_SCHEMA": "Clip.1", "name": "a", "source_range": {
                "start_time": {"value": 0, "rate": 24}, "duration": {"value": 24, "rate": 24}}},
            {"OTIO_SCHEMA": "Clip.1", "name": "b", "media_reference": null},
            {"OTIO_SCHEMA": "Generator.9", "name": "c"},
            {"OTIO_SCHEMA": "Gap.1", "source_range": {
                "start_time": {"value": 0, "rate": 24}, "duration": {"value": -5, "rate": 24}}}
        ]}]}}"#;
    let (_dir, result) = read_bytes("holes.otio", text.as_bytes(), (24, 1));
    let err = error_text(result);
    assert!(
        err.contains("tracks.children[0].children[1]: has no source_range"),
        "{err}"
    );
    assert!(
        err.contains("tracks.children[0].children[2]: OTIO_SCHEMA \"Generator.9\" is not a Clip"),
        "{err}"
    );
    assert!(
        err.contains("tracks.children[0].children[3].source_range.duration: not a duration"),
        "{err}"
    );
}

#[test]
fn otio_that_is_not_a_timeline_is_refused() {
    let (_dir, result) = read_bytes(
        "clip.otio",
        br#"{"OTIO_SCHEMA": "Clip.1", "name": "x"}"#,
        (24, 1),
    );
    let err = error_text(result);
    assert!(err.contains("not an OTIO Timeline"), "{err}");
}

#[test]
fn deeply_nested_json_is_an_error_not_a_stack_overflow() {
    let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let (_dir, result) = read_bytes("deep.otio", text.as_bytes(), (24, 1));
    let err = error_text(result);
    assert!(err.contains("deep.otio: line 1"), "{err}");
}

#[test]
fn an_unusable_rate_is_refused() {
    let result = EditList::read(&fixture("gap.otio"), 24, 0);
    assert!(matches!(result, Err(EdlError::Rate { .. })), "{result:?}");
}
