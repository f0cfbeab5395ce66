//! IMF packages: packages written here (XML by hand, essence as plain bytes or as JPEG 2000 MXF
//! made by ffmpeg), hostile packages, the two real packages in `../shared/data/imf` when that
//! folder is present, and agreement with ffmpeg's own `imf` demuxer on which frames a
//! composition plays.

// Frame ranges come in lists; a list holding one range is what is meant here.
#![allow(clippy::single_range_in_vec_init)]

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use greenlight_scan::imf::{AssetId, ImfError, MAX_XML_BYTES, Package, PackageProblem};

mod imf_package;
use imf_package::{Imp, cpl, resource, timecode, uuid};

fn id(n: u32) -> AssetId {
    AssetId::parse(&uuid(n)).expect("a valid id")
}

/// Track file A (48 frames at 24/1), B (96 at 48/1), C (2000 at 30000/1001), D (unused).
/// CPL 1 at 24/1 from 01:00:00:00 plays A 10..22 three times then all of B; CPL 2 at 29.97
/// drop-frame plays C from its frame 100.
fn table_package(dir: &Path) -> PathBuf {
    let cpl1 = cpl(
        1,
        "Reel one",
        "24 1",
        &timecode(false, 24, "01:00:00:00"),
        &[vec![(
            "MainImageSequence",
            resource(
                11,
                101,
                "<IntrinsicDuration>48</IntrinsicDuration><EntryPoint>10</EntryPoint><SourceDuration>12</SourceDuration><RepeatCount>3</RepeatCount>",
            ) + &resource(
                12,
                102,
                "<EditRate>48 1</EditRate><IntrinsicDuration>96</IntrinsicDuration>",
            ),
        )]],
    );
    let cpl2 = cpl(
        2,
        "NTSC",
        "30000 1001",
        &timecode(true, 30, "00:00:00;00"),
        &[vec![(
            "MainImageSequence",
            resource(
                21,
                103,
                "<IntrinsicDuration>2000</IntrinsicDuration><EntryPoint>100</EntryPoint>",
            ),
        )]],
    );
    let mut imp = Imp::new(dir);
    imp.file(101, "A.mxf", b"picture A")
        .file(102, "B.mxf", b"picture B at 48")
        .file(103, "C.mxf", b"picture C at 29.97")
        .file(104, "D.mxf", b"delivered, never played")
        .file(1, "CPL_1.xml", cpl1.as_bytes())
        .file(2, "CPL_2.xml", cpl2.as_bytes());
    imp.finish()
}

/// Track file, its frame, and every (CPL, composition frame, timecode) that frame shows at.
type TableRow = (u32, u64, &'static [(u32, u64, &'static str)]);

#[test]
fn composition_timecodes_match_a_hand_computed_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let package = Package::open(&table_package(dir.path()), &[]).expect("opens");
    assert_eq!(
        package.verify(),
        vec![],
        "a package written right verifies clean"
    );
    assert_eq!(package.compositions().len(), 2);

    let table: &[TableRow] = &[
        // RepeatCount 3, EntryPoint 10, SourceDuration 12: frame 10 opens each repeat.
        (
            101,
            10,
            &[
                (1, 0, "01:00:00:00"),
                (1, 12, "01:00:00:12"),
                (1, 24, "01:00:01:00"),
            ],
        ),
        (
            101,
            21,
            &[
                (1, 11, "01:00:00:11"),
                (1, 23, "01:00:00:23"),
                (1, 35, "01:00:01:11"),
            ],
        ),
        (101, 9, &[]),
        (101, 22, &[]),
        // B at 48/1 inside 24/1: two file frames per composition frame, from frame 36.
        (102, 0, &[(1, 36, "01:00:01:12")]),
        (102, 1, &[(1, 36, "01:00:01:12")]),
        (102, 2, &[(1, 37, "01:00:01:13")]),
        (102, 95, &[(1, 83, "01:00:03:11")]),
        // 29.97 drop-frame from 00:00:00;00, entry point 100.
        (103, 100, &[(2, 0, "00:00:00;00")]),
        (103, 1899, &[(2, 1799, "00:00:59;29")]),
        (103, 1900, &[(2, 1800, "00:01:00;02")]),
        (103, 1999, &[(2, 1899, "00:01:03;11")]),
        (104, 0, &[]),
    ];
    for (tf, frame, want) in table {
        let got: Vec<(AssetId, u64, String)> = package
            .locate(&id(*tf), *frame)
            .into_iter()
            .map(|p| (p.cpl_id, p.composition_frame, p.timecode.to_string()))
            .collect();
        let want: Vec<(AssetId, u64, String)> = want
            .iter()
            .map(|(c, f, tc)| (id(*c), *f, tc.to_string()))
            .collect();
        assert_eq!(got, want, "track file {tf} frame {frame}");
    }

    let c1 = &package.compositions()[0];
    let c1 = if c1.id == id(1) {
        c1
    } else {
        &package.compositions()[1]
    };
    assert_eq!(c1.title, "Reel one");
    assert_eq!(c1.duration, 36 + 48);
    let a = &c1.timeline()[0];
    let spans: Vec<_> = a
        .uses
        .iter()
        .map(|u| {
            (
                u.repeat,
                u.file_frames.clone(),
                u.composition_frames.clone(),
            )
        })
        .collect();
    assert_eq!(
        spans,
        vec![(0, 10..22, 0..12), (1, 10..22, 12..24), (2, 10..22, 24..36)]
    );

    // A finding on frames 15..=30 of A is inside frames 15..=21 of each repeat.
    let placed: Vec<(String, String, u64, u64)> = package
        .locate_range(&id(101), 15..=30)
        .into_iter()
        .map(|p| {
            (
                p.timecode_in.to_string(),
                p.timecode_out.to_string(),
                *p.file_frames.start(),
                *p.file_frames.end(),
            )
        })
        .collect();
    assert_eq!(
        placed,
        vec![
            ("01:00:00:05".into(), "01:00:00:11".into(), 15, 21),
            ("01:00:00:17".into(), "01:00:00:23".into(), 15, 21),
            ("01:00:01:05".into(), "01:00:01:11".into(), 15, 21),
        ]
    );

    // In the report's words: cpl, title, segment, resource, in, out.
    let json = serde_json::to_value(&package.locate_range(&id(101), 15..=15)[0]).expect("json");
    assert_eq!(json["cpl"], uuid(1));
    assert_eq!(json["title"], "Reel one");
    assert_eq!(json["segment"], uuid(0x5000_0000 + 100));
    assert_eq!(json["resource"], uuid(11));
    assert_eq!(
        (&json["in"], &json["out"]),
        (&"01:00:00:05".into(), &"01:00:00:05".into())
    );

    // Each track file once, picture first, with its used frames merged over CPLs.
    let tracks = package.track_files();
    let used: Vec<_> = tracks
        .iter()
        .map(|t| (t.id.clone(), t.used.clone()))
        .collect();
    assert_eq!(
        used,
        vec![
            (id(101), vec![10..22]),
            (id(102), vec![0..96]),
            (id(103), vec![100..2000])
        ]
    );
    // A: no whole second lands in 10..22, so only the resource's first and last frames.
    assert_eq!(tracks[0].sample_frames(), vec![10, 21]);
    // B at 48/1: seconds 0 and 1 (frames 0, 48) and the last frame.
    assert_eq!(tracks[1].sample_frames(), vec![0, 48, 95]);
    // C at 30000/1001: round(k * 29.97) for k = 4..=66 (frame 120 to 1978), plus 100 and 1999.
    let c = tracks[2].sample_frames();
    assert_eq!(c.first(), Some(&100));
    assert_eq!(c[1], 120);
    assert_eq!(c[c.len() - 2], 1978);
    assert_eq!(c.last(), Some(&1999));
    assert_eq!(c.len(), 63 + 2);

    // Frames delivered but in no composition.
    let unused: Vec<_> = package
        .not_in_composition()
        .into_iter()
        .map(|u| (u.id, u.frames))
        .collect();
    assert_eq!(
        unused,
        vec![
            (id(101), Some(vec![0..10, 22..48])),
            (id(103), Some(vec![0..100])),
            (id(104), None),
        ]
    );
}

#[test]
fn timed_text_track_files_are_listed_for_the_scan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let xml = cpl(
        1,
        "With subtitles",
        "24 1",
        "",
        &[vec![
            (
                "MainImageSequence",
                resource(11, 101, "<IntrinsicDuration>24</IntrinsicDuration>"),
            ),
            (
                "SubtitlesSequence",
                resource(12, 102, "<IntrinsicDuration>24</IntrinsicDuration>"),
            ),
            (
                "MarkerSequence",
                format!(
                    "<Resource><Id>{}</Id><IntrinsicDuration>24</IntrinsicDuration></Resource>",
                    uuid(13)
                ),
            ),
        ]],
    );
    let mut imp = Imp::new(dir.path());
    imp.file(101, "V.mxf", b"v")
        .file(102, "S.mxf", b"s")
        .file(1, "CPL.xml", xml.as_bytes());
    let package = Package::open(&imp.finish(), &[]).expect("opens");
    assert_eq!(package.verify(), vec![]);
    assert_eq!(package.subtitle_track_files(), vec![id(102)]);
}

fn invalid_about<'a>(problems: &'a [PackageProblem], file: &str) -> Vec<&'a str> {
    problems
        .iter()
        .filter_map(|p| match p {
            PackageProblem::Invalid { file: f, detail }
                if f.file_name().is_some_and(|n| n == file) =>
            {
                Some(detail.as_str())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn wrong_sizes_wrong_hashes_and_missing_assets_are_invalid_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let xml = cpl(
        1,
        "T",
        "24 1",
        "",
        &[vec![(
            "MainImageSequence",
            resource(11, 101, "<IntrinsicDuration>24</IntrinsicDuration>"),
        )]],
    );
    let mut imp = Imp::new(dir.path());
    imp.file(101, "V.mxf", b"the picture")
        .file(102, "HASH.mxf", b"same size")
        .file(103, "SIZE.mxf", b"size")
        .file(1, "CPL.xml", xml.as_bytes())
        .unlisted(104, "GONE.mxf");
    let root = imp.finish();
    fs::write(root.join("HASH.mxf"), b"SAME SIZE").expect("tamper");
    fs::write(root.join("SIZE.mxf"), b"sizes").expect("tamper");
    let problems = Package::open(&root, &[]).expect("opens").verify();
    let hash = invalid_about(&problems, "HASH.mxf");
    assert_eq!(hash.len(), 1, "{problems:?}");
    assert!(
        hash[0].contains("SHA-1") && hash[0].contains("PKL.xml"),
        "{}",
        hash[0]
    );
    let size = invalid_about(&problems, "SIZE.mxf");
    assert_eq!(
        size,
        vec![format!("5 bytes, but PKL.xml says 4 (asset {})", uuid(103)).as_str()]
    );
    let gone = invalid_about(&problems, "GONE.mxf");
    assert_eq!(gone.len(), 1, "{problems:?}");
    assert!(gone[0].contains("missing"), "{}", gone[0]);
    assert_eq!(problems.len(), 3, "nothing else: {problems:?}");
    assert!(problems.iter().all(|p| p.code() == "PACKAGE-INVALID"));
}

#[test]
fn a_packing_list_the_asset_map_does_not_flag_is_still_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = table_package(dir.path());
    let map = fs::read_to_string(root.join("ASSETMAP.xml")).expect("read");
    let unflagged = map.replace("<PackingList>true</PackingList>", "");
    assert_ne!(map, unflagged);
    fs::write(root.join("ASSETMAP.xml"), unflagged).expect("write");
    fs::write(root.join("A.mxf"), b"picture a").expect("tamper, same size");
    let problems = Package::open(&root, &[]).expect("opens").verify();
    let about = invalid_about(&problems, "A.mxf");
    assert!(
        about.len() == 1 && about[0].contains("SHA-1"),
        "{problems:?}"
    );
}

#[test]
fn a_track_file_in_no_package_is_incomplete_until_the_original_version_supplies_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ov = Imp::new(&dir.path().join("OV"))
        .file(101, "V.mxf", b"original picture")
        .finish();
    let xml = cpl(
        2,
        "Supplemental",
        "24 1",
        "",
        &[vec![(
            "MainImageSequence",
            resource(21, 101, "<IntrinsicDuration>24</IntrinsicDuration>")
                + &resource(22, 102, "<IntrinsicDuration>24</IntrinsicDuration>"),
        )]],
    );
    let vf = Imp::new(&dir.path().join("VF"))
        .file(102, "INSERT.mxf", b"new shot")
        .file(2, "CPL.xml", xml.as_bytes())
        .finish();

    let alone = Package::open(&vf, &[]).expect("opens").verify();
    assert_eq!(
        alone,
        vec![PackageProblem::Incomplete {
            cpl: id(2),
            resource: id(21),
            track_file: id(101)
        }]
    );
    assert_eq!(alone[0].code(), "PACKAGE-INCOMPLETE");

    let with_ov = Package::open(&vf, std::slice::from_ref(&ov)).expect("opens");
    assert_eq!(with_ov.verify(), vec![]);
    let v = with_ov
        .track_files()
        .into_iter()
        .find(|t| t.id == id(101))
        .expect("track");
    assert_eq!(v.path, Some(ov.join("V.mxf")));
    // The original version's files are not this delivery's: never "not in composition".
    assert!(with_ov.not_in_composition().iter().all(|u| u.id != id(101)));
}

#[test]
fn hostile_documents_become_problems_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE CompositionPlaylist [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<CompositionPlaylist><Id>urn:uuid:00000000-0000-4000-8000-000000000005</Id><ContentTitle>&d;&d;&d;&d;</ContentTitle></CompositionPlaylist>"#;
    let big_head = "<?xml version=\"1.0\"?>\n<CompositionPlaylist xmlns=\"http://www.smpte-ra.org/schemas/2067-3/2016\">\n";
    let mut imp = Imp::new(dir.path());
    imp.file(5, "CPL_BOMB.xml", bomb.as_bytes())
        .file(6, "CPL_BIG.xml", big_head.as_bytes())
        .file(7, "CPL_BROKEN.xml", b"<CompositionPlaylist>\n  <Id>urn:uuid:00000000-0000-4000-8000-000000000007</Id>\n  <SegmentList>\n")
        .file(
            8,
            "CPL_EMPTY.xml",
            cpl(8, "No duration", "24 1", "", &[vec![("MainImageSequence", resource(81, 101, ""))]]).as_bytes(),
        );
    let root = imp.finish();
    // A sparse gigabyte: refused by its size, never read (nor hashed: its size is not the PKL's).
    let big = fs::OpenOptions::new()
        .write(true)
        .open(root.join("CPL_BIG.xml"))
        .expect("open");
    big.set_len(1 << 30).expect("sparse file");
    drop(big);

    let package = Package::open(&root, &[]).expect("opens");
    assert!(package.compositions().is_empty());
    let problems = package.verify();

    let bomb = invalid_about(&problems, "CPL_BOMB.xml");
    assert_eq!(bomb.len(), 1, "{problems:?}");
    assert!(
        bomb[0].contains("line 2") && bomb[0].contains("DOCTYPE"),
        "{}",
        bomb[0]
    );

    let big = invalid_about(&problems, "CPL_BIG.xml");
    assert!(
        big.iter().any(|d| d.contains(&format!(
            "1073741824 bytes, over the limit of {MAX_XML_BYTES}"
        ))),
        "{big:?}"
    );
    assert!(
        big.iter()
            .any(|d| d.contains("1073741824 bytes, but PKL.xml says")),
        "{big:?}"
    );

    let broken = invalid_about(&problems, "CPL_BROKEN.xml");
    assert_eq!(broken.len(), 1, "{problems:?}");
    assert!(
        broken[0].contains("ends inside <SegmentList> (line 3)"),
        "{}",
        broken[0]
    );

    let empty = invalid_about(&problems, "CPL_EMPTY.xml");
    assert_eq!(empty.len(), 1, "{problems:?}");
    assert!(
        empty[0].contains("has no <IntrinsicDuration>"),
        "{}",
        empty[0]
    );
}

#[test]
fn an_unreadable_asset_map_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    match Package::open(dir.path(), &[]) {
        Err(ImfError::NoAssetMap { dir: d }) => assert_eq!(d, dir.path()),
        other => panic!("expected NoAssetMap, got {other:?}"),
    }
    fs::write(
        dir.path().join("ASSETMAP.xml"),
        "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY e \"e\">]>\n<AssetMap>&e;</AssetMap>",
    )
    .expect("write");
    let e = Package::open(dir.path(), &[]).expect_err("a DOCTYPE is refused");
    assert!(e.to_string().contains("ASSETMAP.xml line 2"), "{e}");

    // A path that leaves the package is a problem, not a read outside it.
    fs::write(
        dir.path().join("ASSETMAP.xml"),
        format!(
            "<AssetMap><AssetList><Asset><Id>{}</Id><ChunkList><Chunk><Path>../../etc/passwd</Path></Chunk></ChunkList></Asset></AssetList></AssetMap>",
            uuid(1)
        ),
    )
    .expect("write");
    let problems = Package::open(dir.path(), &[]).expect("opens").verify();
    let about = invalid_about(&problems, "ASSETMAP.xml");
    assert!(
        about
            .iter()
            .any(|d| d.contains("not a relative path inside the package")),
        "{about:?}"
    );
    // And with no packing list, nothing could be checked: that is a problem too.
    assert!(
        about.iter().any(|d| d.contains("no packing list")),
        "{about:?}"
    );
}

/// The real packages, from Netflix Photon's test resources.
fn shared_imf() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/imf");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

#[test]
fn the_real_packages_open_verify_clean_and_have_their_durations() {
    let Some(root) = shared_imf() else { return };
    // (folder, edit rate, frames, audio samples at 48 kHz, last frame's timecode)
    for (name, rate, frames, samples, last_tc) in [
        ("HT", "60000/1001", 80, 64_064, "00:00:01:19"),
        ("PHDR", "24000/1001", 24, 48_048, "00:00:00:23"),
    ] {
        let package = Package::open(&root.join(name), &[]).expect(name);
        assert_eq!(package.verify(), vec![], "{name}");
        let [c] = package.compositions() else {
            panic!("{name}: one CPL expected")
        };
        assert_eq!(c.edit_rate.to_string(), rate, "{name}");
        assert_eq!(c.duration, frames, "{name}");
        assert_eq!(c.timecode_at(frames - 1).to_string(), last_tc, "{name}");
        let tracks = package.track_files();
        let got: Vec<_> = tracks
            .iter()
            .map(|t| (t.kind, t.edit_rate.to_string(), t.used.clone()))
            .collect();
        use greenlight_scan::imf::SequenceKind::{Audio, Image};
        assert_eq!(
            got,
            vec![
                (Image, rate.to_string(), vec![0..frames]),
                (Audio, "48000/1".to_string(), vec![0..samples]),
            ],
            "{name}"
        );
        assert!(
            tracks
                .iter()
                .all(|t| t.path.as_ref().is_some_and(|p| p.is_file()))
        );
        assert_eq!(package.not_in_composition(), vec![], "{name}");
    }
}

/// Whether ffmpeg here can write JPEG 2000 MXF and read IMF; says why not otherwise.
fn ffmpeg_with_imf() -> bool {
    let listed = |flag: &str, name: &str| {
        Command::new("ffmpeg")
            .args(["-hide_banner", flag])
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .any(|w| w == name)
            })
            .unwrap_or(false)
    };
    if !listed("-encoders", "libopenjpeg") {
        eprintln!("skipped: ffmpeg with libopenjpeg is not available");
        return false;
    }
    if !listed("-demuxers", "imf") {
        eprintln!("skipped: ffmpeg has no imf demuxer");
        return false;
    }
    true
}

fn ffmpeg(args: &[&str]) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The frame MD5s of `ffmpeg -f framemd5` output, in order.
fn md5s(framemd5: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(framemd5)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(|s| s.trim().to_string()))
        .collect()
}

#[test]
fn our_timeline_plays_the_frames_ffmpegs_imf_demuxer_plays() {
    if !ffmpeg_with_imf() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("IMP");
    fs::create_dir_all(&root).expect("folder");
    // testsrc2 changes every frame, so each frame's MD5 says which frame it is.
    for (name, seconds, source) in [
        ("A.mxf", "2", "testsrc2=size=320x180:rate=24"),
        ("B.mxf", "1", "testsrc2=size=320x180:rate=24,hflip"),
    ] {
        let path = root.join(name);
        let path = path.to_str().expect("utf-8 path");
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            source,
            "-t",
            seconds,
            "-c:v",
            "libopenjpeg",
            "-f",
            "mxf",
            path,
        ]);
    }
    let xml = cpl(
        1,
        "Cut",
        "24 1",
        &timecode(false, 24, "01:00:00:00"),
        &[
            vec![(
                "MainImageSequence",
                resource(
                    11,
                    101,
                    "<IntrinsicDuration>48</IntrinsicDuration><EntryPoint>10</EntryPoint><SourceDuration>12</SourceDuration><RepeatCount>2</RepeatCount>",
                ) + &resource(
                    12,
                    102,
                    "<IntrinsicDuration>24</IntrinsicDuration><EntryPoint>3</EntryPoint><SourceDuration>7</SourceDuration>",
                ),
            )],
            vec![(
                "MainImageSequence",
                resource(
                    13,
                    101,
                    "<IntrinsicDuration>48</IntrinsicDuration><EntryPoint>40</EntryPoint>",
                ),
            )],
        ],
    );
    let a = fs::read(root.join("A.mxf")).expect("A");
    let b = fs::read(root.join("B.mxf")).expect("B");
    let mut imp = Imp::new(&root);
    imp.file(101, "A.mxf", &a)
        .file(102, "B.mxf", &b)
        .file(1, "CPL.xml", xml.as_bytes());
    imp.finish();

    let package = Package::open(&root, &[]).expect("opens");
    assert_eq!(package.verify(), vec![]);
    let [c] = package.compositions() else {
        panic!("one CPL")
    };
    // Our playlist: every picture use in composition order, frame by frame.
    let mut uses: Vec<_> = c
        .timeline()
        .iter()
        .flat_map(|t| t.uses.iter().map(move |u| (t.track_file.clone(), u)))
        .collect();
    uses.sort_by_key(|(_, u)| u.composition_frames.start);
    let frames_of: HashMap<AssetId, Vec<String>> = [(id(101), "A.mxf"), (id(102), "B.mxf")]
        .into_iter()
        .map(|(tf, name)| {
            let path = root.join(name);
            (
                tf,
                md5s(&ffmpeg(&[
                    "-i",
                    path.to_str().expect("utf-8"),
                    "-map",
                    "0:v",
                    "-f",
                    "framemd5",
                    "-",
                ])),
            )
        })
        .collect();
    let ours: Vec<String> = uses
        .iter()
        .flat_map(|(tf, u)| u.file_frames.clone().map(move |f| (tf.clone(), f as usize)))
        .map(|(tf, f)| frames_of[&tf][f].clone())
        .collect();
    assert_eq!(ours.len(), 12 * 2 + 7 + 8);
    assert_eq!(c.duration, ours.len() as u64);

    let cpl_path = root.join("CPL.xml");
    let theirs = md5s(&ffmpeg(&[
        "-f",
        "imf",
        "-i",
        cpl_path.to_str().expect("utf-8"),
        "-map",
        "0:v",
        "-f",
        "framemd5",
        "-",
    ]));
    assert_eq!(ours, theirs);
}
