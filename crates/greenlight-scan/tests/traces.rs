//! Generator traces in files written the way the generators write them (see
//! `fixtures/traces/README.md` and `scripts/trace-fixtures.py`), and hostile containers built
//! here byte by byte.

mod media;

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

mod in_the_scan {
    use std::path::Path;

    use chrono::NaiveDate;
    use greenlight_scan::credentials::CredentialReader;
    use greenlight_scan::declarations::Declarations;
    use greenlight_scan::report::{FileReport, ScanReport};
    use greenlight_scan::scan::{self, BankKind, Banks, NoProgress, ScanInputs, ScanOptions};
    use greenlight_scan::verdict::{Code, Policy, Severity, Verdict};
    use greenlight_scan::waiver::Waivers;
    use greenlight_store::banks::Asset;

    use super::{PROMPT, fixture};

    fn as_of() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).expect("date")
    }

    fn options() -> ScanOptions {
        ScanOptions {
            sha256: false,
            max_distance: 31,
            use_cache: false,
            cache_path: None,
            policy: Policy::default(),
            as_of: as_of(),
            ov: vec![],
            edit_list: None,
            sequence_rate: greenlight_scan::timecode::EditRate { num: 24, den: 1 },
        }
    }

    fn asset(path: &Path, use_ref: &str) -> Asset {
        let fp = scan::fingerprint(path, BankKind::Ledger).expect("fingerprint");
        Asset {
            id: 1,
            production: "ep101".into(),
            use_ref: use_ref.into(),
            tool: Some("Gen".into()),
            added_at: "2026-11-01T00:00:00Z".into(),
            file_name: "a1111.png".into(),
            blake3: fp.digests.blake3,
            media_type: fp.media.mime,
            pdq: fp.pdq.map(|(h, _)| h.to_hex()),
            pdq_quality: fp.pdq.map(|(_, q)| q),
            frames: vec![],
            thumbnail: None,
            audio: None,
        }
    }

    fn run(root: &Path, banks: &Banks, decls: Option<&Declarations>) -> ScanReport {
        let credentials = CredentialReader::new(None).expect("reader");
        let inputs = ScanInputs {
            banks,
            declarations: decls,
            waivers: &Waivers::default(),
            credentials: &credentials,
        };
        scan::scan(root, &options(), &inputs, &NoProgress).expect("scan runs")
    }

    fn file<'a>(r: &'a ScanReport, path: &str) -> &'a FileReport {
        r.files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("{path} in report"))
    }

    fn delivery(dir: &Path) -> std::path::PathBuf {
        let root = dir.join("delivery");
        std::fs::create_dir_all(&root).expect("mkdir");
        for name in ["a1111.png", "plain.png", "comfyui.mp4", "comfyui.flac"] {
            std::fs::copy(fixture(name), root.join(name)).expect("copy");
        }
        let marked = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/watermark");
        std::fs::copy(marked.join("sdxl.png"), root.join("sdxl.png")).expect("copy");
        std::fs::copy(marked.join("clean-photo.png"), root.join("clean.png")).expect("copy");
        root
    }

    #[test]
    fn a_traced_file_in_no_ledger_entry_fails_with_its_trace_and_undeclared_ai() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = delivery(dir.path());
        let report = run(&root, &Banks::default(), None);
        assert_eq!(report.verdict, Verdict::Fail);

        let f = file(&report, "a1111.png");
        assert_eq!(f.verdict, Verdict::Fail);
        let codes: Vec<Code> = f.findings.iter().map(|x| x.code).collect();
        assert_eq!(codes, [Code::UndeclaredAi, Code::GeneratorTrace]);
        let trace = &f.findings[1];
        assert_eq!(trace.severity, Severity::Overridable);
        let t = trace.trace.as_ref().expect("trace");
        assert_eq!(
            (t.signal.as_str(), t.detail.as_str()),
            ("png-text:parameters", PROMPT)
        );
        assert!(trace.message.contains(PROMPT), "{}", trace.message);
        assert!(
            f.findings[0].message.contains("png-text:parameters"),
            "{}",
            f.findings[0].message
        );

        // The SDXL watermark, with its bit count.
        let f = file(&report, "sdxl.png");
        let t = f
            .findings
            .iter()
            .find_map(|x| x.trace.as_ref())
            .expect("watermark trace");
        assert_eq!(
            (t.signal.as_str(), t.detail.as_str()),
            ("watermark:sdxl", "37/48 bits")
        );

        // Video and audio metadata keys, one finding a signal, one UNDECLARED-AI a file.
        for (name, signals) in [
            ("comfyui.mp4", ["mp4:udta:prompt", "mp4:udta:workflow"]),
            ("comfyui.flac", ["flac:PROMPT", "flac:WORKFLOW"]),
        ] {
            let f = file(&report, name);
            let mut got: Vec<&str> = f
                .findings
                .iter()
                .filter_map(|x| x.trace.as_ref().map(|t| t.signal.as_str()))
                .collect();
            got.sort_unstable();
            assert_eq!(got, signals, "{name}");
            let undeclared = f
                .findings
                .iter()
                .filter(|x| x.code == Code::UndeclaredAi)
                .count();
            assert_eq!(undeclared, 1, "{name}");
        }

        for name in ["plain.png", "clean.png"] {
            let f = file(&report, name);
            assert!(f.findings.is_empty(), "{name}: {:?}", f.findings);
            assert_eq!(f.verdict, Verdict::Pass);
        }
        assert_eq!(report.summary.by_code.get("GENERATOR-TRACE"), Some(&6));
    }

    #[test]
    fn a_trace_is_a_note_on_a_file_approved_for_final_use_and_no_undeclared_ai() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = delivery(dir.path());
        let decls = dir.path().join("decls");
        std::fs::create_dir_all(&decls).expect("mkdir");
        std::fs::write(
            decls.join("plate.yaml"),
            // Not an EU release: the file need not keep an AI marking (a trace is no marking).
            "greenlight: declaration/v1\nproduction:\n  title: Harbour Lights\n  eu_release: false\n  release_date: 2026-12-01\n\
             use:\n  ref: PLATE-1\n  summary: Generated plate\ntools:\n  - name: Gen\noutputs:\n  final: true\n  media: [image]\n",
        )
        .expect("write");
        std::fs::write(
            decls.join("plate.decision.yaml"),
            "state: approved\nby: reviewer@example.com\nat: 2026-11-02\n",
        )
        .expect("write");
        let declarations = Declarations::load(&decls, as_of()).expect("declarations");
        let banks = Banks {
            ledger: vec![asset(&fixture("a1111.png"), "PLATE-1")],
            references: vec![],
            audio_references: vec![],
        };
        let report = run(&root, &banks, Some(&declarations));
        let f = file(&report, "a1111.png");
        let got: Vec<(Code, Severity)> = f.findings.iter().map(|x| (x.code, x.severity)).collect();
        assert_eq!(
            got,
            [
                (Code::ApprovedAi, Severity::Note),
                (Code::GeneratorTrace, Severity::Note)
            ]
        );
        assert_eq!(f.verdict, Verdict::Pass);
    }

    #[test]
    fn iptc_2025_ai_properties_and_adobe_parameters_are_on_the_ai_marked_path_with_names() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("delivery");
        std::fs::create_dir_all(&root).expect("mkdir");
        let packet = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
             <rdf:Description xmlns:Iptc4xmpExt=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\" \
             Iptc4xmpExt:AISystemUsed=\"Midjourney\" Iptc4xmpExt:AISystemVersionUsed=\"6.1\" \
             Iptc4xmpExt:AIPromptInformation=\"a fox in the snow\"/></rdf:RDF></x:xmpmeta>";
        let png = super::media::insert_itxt(
            &super::media::png(64, 64, 3),
            "XML:com.adobe.xmp",
            packet.as_bytes(),
        );
        std::fs::write(root.join("iptc.png"), png).expect("write");

        let signer = c2pa::EphemeralSigner::new("greenlight-test.local").expect("signer");
        let definition = serde_json::json!({
            "claim_generator_info": [{"name": "Adobe Photoshop", "version": "25.0"}],
            "assertions": [{"label": "c2pa.actions", "data": {"actions": [{
                "action": "c2pa.edited",
                "softwareAgent": {"name": "Adobe Firefly"},
                "parameters": {"com.adobe.digitalSourceType": super::media::AI}
            }]}}]
        });
        let mut dest = std::io::Cursor::new(Vec::new());
        super::media::builder(&definition)
            .sign(
                &signer,
                "image/png",
                &mut std::io::Cursor::new(super::media::png(64, 64, 4)),
                &mut dest,
            )
            .expect("signs");
        std::fs::write(root.join("fill.png"), dest.into_inner()).expect("write");

        let report = run(&root, &Banks::default(), None);
        let message = |name: &str| {
            let f = file(&report, name);
            assert!(
                f.findings.iter().all(|x| x.code != Code::GeneratorTrace),
                "{name}: C2PA and IPTC are no traces"
            );
            f.findings
                .iter()
                .find(|x| x.code == Code::UndeclaredAi)
                .unwrap_or_else(|| panic!("{name}: {:?}", f.findings))
                .message
                .clone()
        };
        let m = message("iptc.png");
        assert!(
            m.contains("AI System Used \"Midjourney\"")
                && m.contains("AI System Version Used \"6.1\"")
                && m.contains("AI Prompt Information \"a fox in the snow\""),
            "{m}"
        );
        let m = message("fill.png");
        assert!(
            m.contains("claim generator Adobe Photoshop 25.0")
                && m.contains("software agent Adobe Firefly"),
            "{m}"
        );
    }

    #[test]
    fn the_watermark_is_found_in_the_frames_of_a_losslessly_encoded_video() {
        if !super::media::ffmpeg() {
            eprintln!("skipped: ffmpeg is not installed, so no video can be made");
            return;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("delivery");
        std::fs::create_dir_all(&root).expect("mkdir");
        let marked = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/watermark");
        for (still, video) in [("sdxl.png", "marked.mkv"), ("clean-photo.png", "clean.mkv")] {
            let out = std::process::Command::new("ffmpeg")
                .args(["-v", "error", "-y", "-loop", "1", "-i"])
                .arg(marked.join(still))
                .args(["-t", "2", "-r", "5", "-c:v", "ffv1", "-pix_fmt", "bgr0"])
                .arg(root.join(video))
                .output()
                .expect("ffmpeg runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let report = run(&root, &Banks::default(), None);
        let f = file(&report, "marked.mkv");
        let t = f
            .findings
            .iter()
            .find_map(|x| x.trace.as_ref())
            .unwrap_or_else(|| panic!("{:?}", f.findings));
        assert_eq!(
            (t.signal.as_str(), t.detail.as_str()),
            ("watermark:sdxl", "37/48 bits, frame at 0:00")
        );
        assert!(file(&report, "clean.mkv").findings.is_empty());
    }
}
