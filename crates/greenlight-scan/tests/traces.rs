//! Generator traces in files written the way the generators write them (see
//! `fixtures/traces/README.md` and `scripts/trace-fixtures.py`), and hostile containers built
//! here byte by byte.

use std::io::Write;
use std::path::{Path, PathBuf};

use greenlight_scan::trace::{MAX_TEXT, traces_in_file};

const PROMPT: &str = "a lighthouse on a cliff at dusk, oil painting, dramatic sky";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/traces")
        .join(name)
}

/// The (signal, detail) pairs found in a fixture.
fn traces(name: &str) -> Vec<(String, String)> {
    let scan = traces_in_file(&fixture(name)).expect("readable");
    assert!(scan.problems.is_empty(), "{name}: {:?}", scan.problems);
    scan.traces
        .into_iter()
        .map(|t| (t.signal, t.detail))
        .collect()
}

fn signals(name: &str) -> Vec<String> {
    traces(name).into_iter().map(|(s, _)| s).collect()
}

#[test]
fn each_png_text_signal_is_found_with_the_prompt_as_detail() {
    let cases = [
        ("a1111.png", vec!["png-text:parameters"]),
        ("comfyui.png", vec!["png-text:prompt", "png-text:workflow"]),
        (
            "invokeai.png",
            vec!["png-text:invokeai_metadata", "png-text:invokeai_graph"],
        ),
        (
            "fooocus.png",
            vec!["png-text:parameters", "png-text:fooocus_scheme"],
        ),
        ("novelai.png", vec!["png-text:novelai"]),
    ];
    for (file, want) in cases {
        let found = traces(file);
        let got: Vec<&str> = found.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(got, want, "{file}");
        for (signal, detail) in &found {
            if signal == "png-text:fooocus_scheme" {
                assert_eq!(detail, "fooocus");
            } else if signal == "png-text:invokeai_graph" {
                assert!(detail.contains(PROMPT), "{file} {signal}: {detail}");
            } else {
                assert_eq!(detail, PROMPT, "{file} {signal}");
            }
        }
    }
}

#[test]
fn exif_signals_are_found_only_when_the_text_is_a_generators() {
    assert_eq!(
        traces("a1111.jpg"),
        [("exif:UserComment".to_string(), PROMPT.to_string())]
    );
    assert_eq!(
        traces("a1111.webp"),
        [("exif:UserComment".to_string(), PROMPT.to_string())]
    );
    assert_eq!(
        traces("comfyui.jpg"),
        [
            ("exif:ImageDescription".to_string(), PROMPT.to_string()),
            ("exif:Software".to_string(), "ComfyUI".to_string())
        ]
    );
    assert_eq!(
        traces("comfyui.webp"),
        [
            ("webp-exif:workflow".to_string(), PROMPT.to_string()),
            ("webp-exif:prompt".to_string(), PROMPT.to_string())
        ]
    );
    // An editor's Software tag, a camera's Make and a caption are not traces.
    assert!(signals("camera.jpg").is_empty());
}

#[test]
fn video_and_audio_metadata_keys_are_found() {
    for (file, want) in [
        ("comfyui.mp4", ["mp4:udta:prompt", "mp4:udta:workflow"]),
        ("comfyui.flac", ["flac:PROMPT", "flac:WORKFLOW"]),
        ("comfyui.mp3", ["id3:PROMPT", "id3:WORKFLOW"]),
    ] {
        let found = traces(file);
        let mut got: Vec<&str> = found.iter().map(|(s, _)| s.as_str()).collect();
        got.sort_unstable();
        assert_eq!(got, want, "{file}");
        assert!(found.iter().all(|(_, d)| d == PROMPT), "{file}: {found:?}");
    }
}

#[test]
fn plain_files_and_other_programs_text_give_no_trace() {
    for file in [
        "plain.png",
        "plain.jpg",
        "plain.mp4",
        "editor.png",
        "camera.jpg",
    ] {
        assert!(signals(file).is_empty(), "{file}: {:?}", signals(file));
    }
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&[0, 0, 0, 0]); // CRC (not checked by the trace reader)
    out
}

fn png_with(chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = 64u32.to_be_bytes().to_vec();
    ihdr.extend(64u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    out.extend(chunk(b"IHDR", &ihdr));
    for c in chunks {
        out.extend_from_slice(c);
    }
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(bytes))
        .expect("written");
    path
}

#[test]
fn a_png_chunk_claiming_two_gib_is_a_problem_not_an_allocation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut claim = 0x7FFF_FFFFu32.to_be_bytes().to_vec();
    claim.extend_from_slice(b"tEXt");
    claim.extend_from_slice(b"parameters\0Steps: 1");
    let path = write(dir.path(), "claims.png", &png_with(&[claim]));
    let scan = traces_in_file(&path).expect("readable");
    assert!(scan.traces.is_empty());
    assert_eq!(scan.problems.len(), 1, "{:?}", scan.problems);
    assert!(
        scan.problems[0].contains("\"tEXt\" at offset 33 claims 2147483647 bytes"),
        "{}",
        scan.problems[0]
    );
    // Above PNG's own limit.
    let mut claim = 0x8000_0000u32.to_be_bytes().to_vec();
    claim.extend_from_slice(b"zTXt");
    let path = write(dir.path(), "over.png", &png_with(&[claim]));
    let scan = traces_in_file(&path).expect("readable");
    assert!(
        scan.problems[0].contains("more than PNG allows"),
        "{:?}",
        scan.problems
    );
}

#[test]
fn a_compressed_text_bomb_inflates_only_to_the_cap_and_still_names_its_signal() {
    use flate2::{Compression, write::ZlibEncoder};
    let dir = tempfile::tempdir().expect("temp dir");
    // 64 MiB of spaces after a prompt compress to some 64 KiB.
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    z.write_all(b"a bomb of a prompt").expect("compress");
    let block = vec![b' '; 1 << 20];
    for _ in 0..64 {
        z.write_all(&block).expect("compress");
    }
    let compressed = z.finish().expect("compress");
    assert!(compressed.len() < 1 << 20);
    let mut ztxt = b"prompt\0\0".to_vec();
    ztxt.extend_from_slice(&compressed);
    let mut itxt = b"workflow\0\x01\0\0\0".to_vec();
    itxt.extend_from_slice(&compressed);
    let png = png_with(&[
        chunk(b"zTXt", &ztxt),
        chunk(b"iTXt", &itxt),
        chunk(b"IEND", &[]),
    ]);
    let path = write(dir.path(), "bomb.png", &png);
    let scan = traces_in_file(&path).expect("readable");
    assert!(scan.problems.is_empty(), "{:?}", scan.problems);
    let got: Vec<(&str, &str)> = scan
        .traces
        .iter()
        .map(|t| (t.signal.as_str(), t.detail.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("png-text:prompt", "a bomb of a prompt"),
            ("png-text:workflow", "a bomb of a prompt")
        ]
    );
    assert_eq!(MAX_TEXT, 1 << 20);
}

#[test]
fn truncated_files_keep_what_was_read_and_say_where_they_end() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in [
        "comfyui.png",
        "comfyui.mp4",
        "comfyui.flac",
        "comfyui.mp3",
        "a1111.jpg",
    ] {
        let bytes = std::fs::read(fixture(name)).expect("fixture");
        for cut in [bytes.len() / 2, bytes.len() / 5, 13] {
            let path = write(dir.path(), name, &bytes[..cut]);
            // Never a panic nor an error for the file as a whole; a cut inside a container's
            // declared length is a problem.
            let scan = traces_in_file(&path).expect("readable");
            for p in &scan.problems {
                assert!(p.contains("offset"), "{name} cut at {cut}: {p}");
            }
        }
    }
    let bytes = std::fs::read(fixture("comfyui.png")).expect("fixture");
    let path = write(dir.path(), "cut.png", &bytes[..bytes.len() - 30]);
    let scan = traces_in_file(&path).expect("readable");
    assert_eq!(scan.traces.len(), 2, "text chunks before the cut are kept");
    assert_eq!(scan.problems.len(), 1, "{:?}", scan.problems);
}
