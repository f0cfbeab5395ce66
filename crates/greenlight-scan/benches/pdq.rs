//! PDQ throughput per core, JPEG decode included, on 1600×900 JPEGs.
//!
//! The images are made here from the reference bridge photo (crops, tints, resized to
//! 1600×900, JPEG quality 90), so the bench needs no data outside the repository. Measured in
//! the same run, as baselines:
//! - `decode_only`: libjpeg-turbo full decode alone (the floor of the exact path);
//! - `image_crate`: the `image` crate's JPEG decoder followed by the same hashing.
//!
//! Meta's C++ reference hasher is compared outside this bench (it is not part of the
//! project): set `GREENLIGHT_BENCH_JPEG_DIR=DIR` to also write the generated JPEGs there, then
//! time `pdq-photo-hasher DIR/*.jpg` with hyperfine (see `docs/pdq.md`).
//!
//! Times are the thread's CPU time (the machine is shared).
//!
//! Knobs: `GREENLIGHT_BENCH_JPEGS` (number of images, default 8).

use std::hint::black_box;
use std::io::Cursor;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use greenlight_scan::decode::{self, ImageKind, Limits};
use greenlight_scan::pdq::{self, PdqOptions};

fn make_jpegs(count: usize) -> Vec<Vec<u8>> {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pdq-reference/dih/bridge-1-original.jpg");
    let bridge = image::open(&fixture)
        .expect("the bridge fixture decodes")
        .to_rgb8();
    let (w, h) = bridge.dimensions();
    (0..count)
        .map(|i| {
            let i = i as u32;
            // A different window and tint per image, so no two files are the same.
            let (cw, ch) = (w - 40 * (i % 8), h - 30 * (i % 6));
            let (x, y) = (13 * (i % 3), 9 * (i % 4));
            let crop = image::imageops::crop_imm(&bridge, x, y, cw - x, ch - y).to_image();
            let mut resized =
                image::imageops::resize(&crop, 1600, 900, image::imageops::FilterType::Triangle);
            for p in resized.pixels_mut() {
                p.0[(i % 3) as usize] = p.0[(i % 3) as usize].saturating_add((i * 7 % 40) as u8);
            }
            let mut out = Vec::new();
            let encoder =
                image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut out), 90);
            resized
                .write_with_encoder(encoder)
                .expect("JPEG encodes in memory");
            out
        })
        .collect()
}

/// Runs `f` `iters` times and returns the thread's CPU time. This machine is shared: wall
/// time would count the time other processes hold the core, thread CPU time does not.
fn cpu_timed(iters: u64, mut f: impl FnMut()) -> std::time::Duration {
    let start = cpu_time::ThreadTime::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let count = std::env::var("GREENLIGHT_BENCH_JPEGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let jpegs = make_jpegs(count);
    if let Ok(dir) = std::env::var("GREENLIGHT_BENCH_JPEG_DIR") {
        std::fs::create_dir_all(&dir).expect("the JPEG directory can be created");
        for (i, bytes) in jpegs.iter().enumerate() {
            std::fs::write(Path::new(&dir).join(format!("frame-{i:03}.jpg")), bytes)
                .expect("JPEG can be written");
        }
    }
    let mut group = c.benchmark_group("pdq_1600x900_jpeg");
    group.throughput(Throughput::Elements(jpegs.len() as u64));
    group.bench_function("exact", |b| {
        b.iter_custom(|iters| {
            cpu_timed(iters, || {
                for jpeg in &jpegs {
                    black_box(pdq::hash_image_bytes(black_box(jpeg)).expect("decodes"));
                }
            })
        })
    });
    group.bench_function("exact_dihedral", |b| {
        b.iter_custom(|iters| {
            cpu_timed(iters, || {
                for jpeg in &jpegs {
                    black_box(pdq::hash_image_bytes_dihedral(black_box(jpeg)).expect("decodes"));
                }
            })
        })
    });
    let fast = PdqOptions {
        fast: true,
        ..PdqOptions::default()
    };
    group.bench_function("fast_option", |b| {
        b.iter_custom(|iters| {
            cpu_timed(iters, || {
                for jpeg in &jpegs {
                    black_box(pdq::hash_image_bytes_with(black_box(jpeg), &fast).expect("decodes"));
                }
            })
        })
    });
    group.bench_function("baseline_decode_only", |b| {
        b.iter_custom(|iters| {
            cpu_timed(iters, || {
                for jpeg in &jpegs {
                    black_box(decode::decode(black_box(jpeg)).expect("decodes"));
                }
            })
        })
    });
    group.bench_function("baseline_image_crate_decode_and_hash", |b| {
        b.iter_custom(|iters| {
            cpu_timed(iters, || {
                for jpeg in &jpegs {
                    let image =
                        decode::decode_with_image_crate(jpeg, ImageKind::Jpeg, &Limits::default())
                            .expect("decodes");
                    black_box(pdq::hash_decoded(&image));
                }
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
