//! `greenlight hash`: BLAKE3, SHA-256 and PDQ of files, against Meta's reference hashes.

use std::path::{Path, PathBuf};

use crate::util::Dir;

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../greenlight-scan/tests/fixtures/pdq-reference")
}

/// `(file, hash, quality)` rows of the reference hasher's output.
fn reference_rows() -> Vec<(String, String, Option<u64>)> {
    let text = std::fs::read_to_string(reference_dir().join("expected.tsv"))
        .expect("reference fixtures exist");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (
                cols[0].to_string(),
                cols[1].to_string(),
                cols.get(2).and_then(|q| q.parse().ok()),
            )
        })
        .collect()
}

fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

#[test]
fn json_gives_the_reference_pdq_hash_and_quality_for_every_image() {
    let dir = Dir::new();
    let rows = reference_rows();
    let files: Vec<String> = rows
        .iter()
        .map(|(f, _, _)| reference_dir().join(f).display().to_string())
        .collect();
    let mut args = vec!["hash", "--format", "json"];
    args.extend(files.iter().map(String::as_str));
    let out = dir.run(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), rows.len());
    for ((file, hash, quality), line) in rows.iter().zip(&lines) {
        assert!(
            line["file"]
                .as_str()
                .expect("file")
                .ends_with(file.as_str())
        );
        assert_eq!(line["pdq"], hash.as_str(), "{file}");
        if let Some(q) = quality {
            assert_eq!(line["pdq_quality"], *q, "{file}");
        }
        assert_eq!(line["pdq_path"], "exact");
        assert_eq!(line["blake3"].as_str().expect("blake3").len(), 64);
        assert_eq!(line["pdq_dihedral"]["original"], hash.as_str());
        assert!(line.get("sha256").is_none());
    }
}

#[test]
fn blake3_and_sha256_are_the_known_answers_and_non_images_get_no_pdq() {
    let dir = Dir::new();
    dir.write("empty", "");
    dir.write("hello.txt", "hello\n");
    let out = dir.run(&[
        "hash",
        "--format",
        "json",
        "--sha256",
        "--no-dihedral",
        "empty",
        "hello.txt",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(&out.stdout);
    // Published digests of the empty input (BLAKE3's test vectors, FIPS 180-4).
    assert_eq!(
        lines[0]["blake3"],
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    );
    assert_eq!(
        lines[0]["sha256"],
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    // `sha256sum` of "hello\n".
    assert_eq!(
        lines[1]["sha256"],
        "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    );
    assert_eq!(lines[1]["file"], "hello.txt");
    assert!(lines[1].get("pdq").is_none());
    let keys: Vec<&String> = lines[1].as_object().expect("object").keys().collect();
    assert_eq!(keys, ["file", "blake3", "sha256"]);
}

#[test]
fn unreadable_and_corrupt_files_give_an_error_line_and_exit_4_after_the_rest() {
    let dir = Dir::new();
    let good = reference_dir().join("misc-images/wee.jpg");
    let jpeg = std::fs::read(&good).expect("fixture");
    dir.write("truncated.jpg", &jpeg[..jpeg.len() / 3]);
    let good = good.display().to_string();
    let out = dir.run(&[
        "hash",
        "--format",
        "json",
        "missing.png",
        "truncated.jpg",
        &good,
    ]);
    assert_eq!(out.status.code(), Some(4));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["file"], "missing.png");
    assert!(
        lines[0]["error"]
            .as_str()
            .expect("error")
            .contains("missing.png")
    );
    assert!(lines[0].get("blake3").is_none());
    assert!(
        lines[1]["error"].as_str().expect("error").contains("JPEG"),
        "{}",
        lines[1]
    );
    assert_eq!(
        lines[1]["blake3"]
            .as_str()
            .expect("blake3 of the bytes")
            .len(),
        64
    );
    assert_eq!(
        lines[2]["pdq"],
        "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d"
    );
}

#[test]
fn human_output_names_the_quality_and_flags_low_quality() {
    let dir = Dir::new();
    let small = reference_dir()
        .join("misc-images/small.jpg")
        .display()
        .to_string();
    let out = dir.run(&["hash", &small]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("0007001f003f003f007f00ff00ff00ff01ff01ff01ff03ff03ff03ff03ff03ff"),
        "{text}"
    );
    assert!(
        text.contains("pdq quality  0, below 50: too low to match on"),
        "{text}"
    );
    assert!(text.contains("rotate_90"), "{text}");
}

#[test]
fn no_files_is_a_usage_error() {
    let out = Dir::new().run(&["hash"]);
    assert_eq!(out.status.code(), Some(2));
}
