//! PDQ against Meta's reference hasher: the hashes and qualities in
//! `tests/fixtures/pdq-reference/expected.tsv` were printed by Meta's C++ `pdq-photo-hasher`
//! on the images beside it (from facebook/ThreatExchange, BSD licence, see
//! `LICENSE.ThreatExchange` there). The exact path must give them bit for bit.
//!
//! Also checked here: dihedral hashes against a rotated copy, the distance between the `image`
//! crate's JPEG decoder and libjpeg-turbo (printed, and bounded), and that edited copies of an
//! image (re-encoded, resized, cropped, recoloured) stay within the default match distance
//! while unrelated images do not.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use greenlight_scan::decode::{self, Limits};
use greenlight_scan::pdq::{
    self, DEFAULT_MATCH_DISTANCE, Dihedral, PdqHash, PdqOptions, PdqPath, hash_image_bytes,
    hash_image_bytes_dihedral,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pdq-reference")
}

struct Expected {
    file: String,
    hash: PdqHash,
    quality: Option<u8>,
}

fn expected() -> Vec<Expected> {
    let text = std::fs::read_to_string(fixtures().join("expected.tsv"))
        .expect("expected.tsv is in the fixtures");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let mut cols = line.split('\t');
            let file = cols.next().expect("file column").to_string();
            let hash = PdqHash::from_hex(cols.next().expect("hash column"))
                .expect("valid hash in expected.tsv");
            let quality = cols
                .next()
                .filter(|q| !q.is_empty())
                .map(|q| q.parse().expect("integer quality"));
            Expected {
                file,
                hash,
                quality,
            }
        })
        .collect()
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(file)).expect("fixture image is readable")
}

#[test]
fn exact_path_reproduces_the_reference_hashes_and_qualities() {
    let mut failures = Vec::new();
    let all = expected();
    assert!(all.len() >= 9, "expected.tsv lists the reference images");
    for e in &all {
        let result = hash_image_bytes(&read(&e.file)).expect("reference image decodes");
        assert_eq!(result.path, PdqPath::Exact);
        let distance = result.hash.distance(&e.hash);
        if distance != 0 || e.quality.is_some_and(|q| q != result.quality) {
            failures.push(format!(
                "{}: {} bits off (got {} q{}, want {} q{:?})",
                e.file, distance, result.hash, result.quality, e.hash, e.quality
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "differs from the reference:\n{}",
        failures.join("\n")
    );
}

#[test]
fn all_eight_dihedral_hashes_match_the_reference() {
    // dihedral.tsv: `pdq-photo-hasher --pdqdih` on each JPEG, in Dihedral::ALL order.
    let text = std::fs::read_to_string(fixtures().join("dihedral.tsv"))
        .expect("dihedral.tsv is in the fixtures");
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut cache: std::collections::HashMap<String, pdq::PdqDihedral> = Default::default();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, transform, want) = (
            cols[0],
            cols[1],
            PdqHash::from_hex(cols[2]).expect("valid hash"),
        );
        let dihedral = cache
            .entry(file.to_string())
            .or_insert_with(|| hash_image_bytes_dihedral(&read(file)).expect("decodes"));
        let (_, got) = dihedral
            .iter()
            .find(|(t, _)| t.as_str() == transform)
            .expect("known transform name");
        if got != want {
            failures.push(format!(
                "{file} {transform}: {} bits off",
                got.distance(&want)
            ));
        }
        checked += 1;
    }
    assert_eq!(checked, 64);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn small_image_is_low_quality() {
    let result = hash_image_bytes(&read("misc-images/small.jpg")).expect("decodes");
    assert!(result.is_low_quality());
    assert!(
        !hash_image_bytes(&read("dih/bridge-1-original.jpg"))
            .expect("decodes")
            .is_low_quality()
    );
}

#[test]
fn dihedral_original_is_the_plain_hash_and_rotation_finds_the_rotated_copy() {
    let original = read("dih/bridge-1-original.jpg");
    let rotated = read("dih/bridge-2-rotate-90.jpg");
    let dihedral = hash_image_bytes_dihedral(&original).expect("decodes");
    assert_eq!(
        dihedral.original(),
        hash_image_bytes(&original).expect("decodes").hash
    );
    let rotated_hash = hash_image_bytes(&rotated).expect("decodes").hash;
    let distances: Vec<(Dihedral, u32)> = dihedral
        .iter()
        .map(|(t, h)| (t, h.distance(&rotated_hash)))
        .collect();
    println!("distance of each dihedral hash of the original to the rotated copy: {distances:?}");
    let (best, best_distance) = *distances
        .iter()
        .min_by_key(|(_, d)| *d)
        .expect("eight hashes");
    // The copy was rotated by the file's author (and re-encoded), so the derived hash is close,
    // not identical; every other transform is far.
    assert!(
        matches!(best, Dihedral::Rotate90 | Dihedral::Rotate270),
        "closest transform was {best:?}"
    );
    assert!(best_distance <= 16, "rotation is {best_distance} bits away");
    assert!(
        distances
            .iter()
            .filter(|(t, _)| *t != best)
            .all(|(_, d)| *d > 60)
    );
}

fn encode(image: &image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut out), format)
        .expect("encodes in memory");
    out
}

fn encode_jpeg(image: &image::RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    image
        .write_with_encoder(encoder)
        .expect("JPEG encodes in memory");
    out
}

/// Hash of the same bytes decoded by the `image` crate instead of libjpeg-turbo.
fn hash_with_image_crate(bytes: &[u8]) -> PdqHash {
    let kind = decode::sniff(bytes).expect("an image");
    let decoded =
        decode::decode_with_image_crate(bytes, kind, &Limits::default()).expect("decodes");
    pdq::hash_decoded(&decoded).hash
}

fn print_distribution(label: &str, distances: &[u32]) {
    let mut sorted = distances.to_vec();
    sorted.sort_unstable();
    let max = sorted.last().copied().unwrap_or(0);
    let zero = sorted.iter().filter(|&&d| d == 0).count();
    let mean = sorted.iter().sum::<u32>() as f64 / sorted.len().max(1) as f64;
    println!(
        "{label}: n={} zero={} mean={mean:.2} median={} max={max} all={sorted:?}",
        sorted.len(),
        zero,
        sorted.get(sorted.len() / 2).copied().unwrap_or(0)
    );
}

/// The JPEGs of the reference set plus re-encodings of the bridge at several qualities and sizes.
fn jpeg_corpus() -> Vec<(String, Vec<u8>)> {
    let mut corpus: Vec<(String, Vec<u8>)> = expected()
        .into_iter()
        .filter(|e| e.file.ends_with(".jpg"))
        .map(|e| (e.file.clone(), read(&e.file)))
        .collect();
    let bridge = image::load_from_memory(&read("dih/bridge-1-original.jpg"))
        .expect("decodes")
        .to_rgb8();
    for (w, h) in [
        (1600, 1004),
        (1200, 753),
        (800, 502),
        (640, 640),
        (400, 251),
    ] {
        let resized = image::imageops::resize(&bridge, w, h, image::imageops::FilterType::Triangle);
        for q in [60, 85, 95] {
            corpus.push((format!("bridge {w}x{h} q{q}"), encode_jpeg(&resized, q)));
        }
    }
    corpus
}

#[test]
fn image_crate_jpeg_decoder_stays_close_to_libjpeg() {
    let corpus = jpeg_corpus();
    let distances: Vec<u32> = corpus
        .iter()
        .map(|(name, bytes)| {
            let exact = hash_image_bytes(bytes).expect("decodes").hash;
            let other = hash_with_image_crate(bytes);
            let d = exact.distance(&other);
            if d > 0 {
                println!("  {name}: image crate is {d} bits from libjpeg-turbo");
            }
            d
        })
        .collect();
    print_distribution("image crate vs libjpeg-turbo (JPEG)", &distances);
    // Decoders differ in IDCT rounding and chroma upsampling: a handful of bits, never a miss.
    assert!(distances.iter().all(|&d| d <= 16));
}

#[test]
fn fast_path_stays_within_a_few_bits_of_the_exact_path() {
    let bridge = image::load_from_memory(&read("dih/bridge-1-original.jpg"))
        .expect("decodes")
        .to_rgb8();
    let mut distances = Vec::new();
    for (w, h) in [(1024, 1024), (2048, 1286), (3200, 2008)] {
        let resized = image::imageops::resize(&bridge, w, h, image::imageops::FilterType::Triangle);
        for q in [75, 92] {
            let bytes = encode_jpeg(&resized, q);
            let exact = hash_image_bytes(&bytes).expect("decodes");
            let fast = pdq::hash_image_bytes_with(
                &bytes,
                &PdqOptions {
                    fast: true,
                    ..PdqOptions::default()
                },
            )
            .expect("decodes");
            assert_eq!(
                fast.path,
                PdqPath::Fast,
                "{w}x{h} is large enough for a reduced decode"
            );
            distances.push(exact.hash.distance(&fast.hash));
        }
    }
    print_distribution("fast vs exact path", &distances);
    assert!(
        distances.iter().all(|&d| d <= 2),
        "fast path drifted: {distances:?}"
    );
    // A JPEG too small to reduce takes the exact path even when fast is allowed.
    let small = pdq::hash_image_bytes_with(
        &read("bridge-mods/square-512x512.jpg"),
        &PdqOptions {
            fast: true,
            ..PdqOptions::default()
        },
    )
    .expect("decodes");
    assert_eq!(small.path, PdqPath::Exact);
}

fn crop_right(original: &image::RgbImage, percent: u32) -> image::RgbImage {
    let (w, h) = original.dimensions();
    image::imageops::crop_imm(original, 0, 0, w - w * percent / 100, h).to_image()
}

fn variants(original: &image::RgbImage) -> Vec<(String, Vec<u8>)> {
    use image::imageops::{self, FilterType};
    let (w, h) = original.dimensions();
    let dynamic = |img: image::RgbImage| image::DynamicImage::ImageRgb8(img);
    let mut out = vec![
        ("jpeg q30".to_string(), encode_jpeg(original, 30)),
        ("jpeg q70".to_string(), encode_jpeg(original, 70)),
        (
            "png".to_string(),
            encode(&dynamic(original.clone()), image::ImageFormat::Png),
        ),
        (
            "half size".to_string(),
            encode_jpeg(
                &imageops::resize(original, w / 2, h / 2, FilterType::Triangle),
                85,
            ),
        ),
        (
            "quarter size".to_string(),
            encode_jpeg(
                &imageops::resize(original, w / 4, h / 4, FilterType::Triangle),
                85,
            ),
        ),
        (
            "stretched".to_string(),
            encode_jpeg(
                &imageops::resize(original, w, h * 3 / 4, FilterType::Triangle),
                85,
            ),
        ),
    ];
    let crop = |fraction: u32| {
        let (dx, dy) = (w * fraction / 100, h * fraction / 100);
        imageops::crop_imm(original, dx, dy, w - 2 * dx, h - 2 * dy).to_image()
    };
    // PDQ is built for re-encodes, rescales and colour changes; crops move every DCT phase and
    // cost about 10 bits per 1% (see docs/pdq.md). Only crops PDQ is meant to survive are here;
    // `crop_sensitivity_is_measured` prints larger ones.
    out.push(("crop 1% each side".to_string(), encode_jpeg(&crop(1), 85)));
    out.push((
        "crop 2% off the right".to_string(),
        encode_jpeg(&crop_right(original, 2), 85),
    ));
    let mut brighter = original.clone();
    imageops::colorops::brighten_in_place(&mut brighter, 25);
    out.push(("brighter".to_string(), encode_jpeg(&brighter, 85)));
    let mut contrast = original.clone();
    imageops::colorops::contrast_in_place(&mut contrast, 20.0);
    out.push(("more contrast".to_string(), encode_jpeg(&contrast, 85)));
    let grey = dynamic(original.clone()).grayscale();
    out.push((
        "greyscale".to_string(),
        encode(&grey, image::ImageFormat::Jpeg),
    ));
    let mut tinted = original.clone();
    for p in tinted.pixels_mut() {
        p.0 = [p.0[0].saturating_add(30), p.0[1], p.0[2].saturating_sub(20)];
    }
    out.push(("warm tint".to_string(), encode_jpeg(&tinted, 85)));
    let mut hue = original.clone();
    imageops::colorops::huerotate_in_place(&mut hue, 40);
    out.push(("hue rotated 40".to_string(), encode_jpeg(&hue, 85)));
    out
}

#[test]
fn edited_copies_match_within_the_default_distance_and_other_images_do_not() {
    let sources = [
        "dih/bridge-1-original.jpg",
        "misc-images/c.png",
        "bridge-mods/square-512x512.jpg",
    ];
    let mut all = Vec::new();
    for source in sources {
        let bytes = read(source);
        let original = image::load_from_memory(&bytes).expect("decodes").to_rgb8();
        let hash = hash_image_bytes(&bytes).expect("decodes").hash;
        for (name, variant) in variants(&original) {
            let result = hash_image_bytes(&variant).expect("variant decodes");
            let d = hash.distance(&result.hash);
            println!("  {source} / {name}: {d} bits (quality {})", result.quality);
            assert!(
                d <= DEFAULT_MATCH_DISTANCE,
                "{source} / {name} is {d} bits away: the matcher would miss it"
            );
            all.push(d);
        }
    }
    print_distribution("edited copies vs original", &all);
    // Different pictures must be far apart, or matching within 31 means nothing.
    let bridge = hash_image_bytes(&read("dih/bridge-1-original.jpg"))
        .expect("decodes")
        .hash;
    let c = hash_image_bytes(&read("misc-images/c.png"))
        .expect("decodes")
        .hash;
    let wee = hash_image_bytes(&read("misc-images/wee.jpg"))
        .expect("decodes")
        .hash;
    for (a, b) in [(bridge, c), (bridge, wee), (c, wee)] {
        assert!(
            a.distance(&b) > 2 * DEFAULT_MATCH_DISTANCE,
            "unrelated images {} bits apart",
            a.distance(&b)
        );
    }
}

#[test]
fn crop_sensitivity_is_measured() {
    let bytes = read("dih/bridge-1-original.jpg");
    let original = image::load_from_memory(&bytes).expect("decodes").to_rgb8();
    let hash = hash_image_bytes(&bytes).expect("decodes").hash;
    let (w, h) = original.dimensions();
    let mut rows = Vec::new();
    for percent in [1, 2, 3, 5, 10] {
        let right = hash_image_bytes(&encode_jpeg(&crop_right(&original, percent), 90))
            .expect("decodes")
            .hash;
        let (dx, dy) = (w * percent / 100, h * percent / 100);
        let all = image::imageops::crop_imm(&original, dx, dy, w - 2 * dx, h - 2 * dy).to_image();
        let all = hash_image_bytes(&encode_jpeg(&all, 90))
            .expect("decodes")
            .hash;
        rows.push((percent, hash.distance(&right), hash.distance(&all)));
    }
    println!("crop %: (bits, cropped off the right; bits, cropped on every side) {rows:?}");
    // Distance grows with the crop: a matcher tuned for re-encodes is not a crop detector.
    assert!(rows.windows(2).all(|w| w[0].2 <= w[1].2 + 4));
}
