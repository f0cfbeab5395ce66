//! The SD/SDXL watermark decoder per 1080p frame, against decoding that frame.
//!
//! A 1920×1080 frame is made here from the reference bridge photo (resized), encoded in
//! memory as PNG and as JPEG (quality 90). Measured in the same run:
//! - `watermark_decode_all`: both channel orders, all three messages (what the scan runs);
//! - `baseline_png_decode` and `baseline_jpeg_decode`: decoding the frame (the `image` crate
//!   for PNG, libjpeg-turbo for JPEG), the cost the watermark adds to.
//!
//! Times are the thread's CPU time (the machine is shared). See `docs/performance.md`.

use std::hint::black_box;
use std::io::Cursor;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use greenlight_scan::decode;
use greenlight_scan::watermark::{Picture, decode_all};

fn frame() -> image::RgbImage {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pdq-reference/dih/bridge-1-original.jpg");
    let bridge = image::open(&fixture)
        .expect("the bridge fixture decodes")
        .to_rgb8();
    image::imageops::resize(&bridge, 1920, 1080, image::imageops::FilterType::Triangle)
}

fn cpu_timed(iters: u64, mut f: impl FnMut()) -> std::time::Duration {
    let start = cpu_time::ThreadTime::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let rgb = frame();
    let mut png = Vec::new();
    rgb.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("PNG encodes in memory");
    let mut jpeg = Vec::new();
    rgb.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
        Cursor::new(&mut jpeg),
        90,
    ))
    .expect("JPEG encodes in memory");
    let pixels = rgb.into_raw();
    let picture = Picture {
        width: 1920,
        height: 1080,
        pixels: &pixels,
        bytes_per_pixel: 3,
    };
    let mut group = c.benchmark_group("watermark_1080p");
    group.bench_function("watermark_decode_all", |b| {
        b.iter_custom(|iters| cpu_timed(iters, || drop(black_box(decode_all(black_box(&picture))))))
    });
    group.bench_function("baseline_png_decode", |b| {
        b.iter_custom(|iters| {
            cpu_timed(iters, || {
                drop(black_box(decode::decode(black_box(&png)).expect("decodes")))
            })
        })
    });
    group.bench_function("baseline_jpeg_decode", |b| {
        b.iter_custom(|iters| {
            cpu_timed(iters, || {
                drop(black_box(
                    decode::decode(black_box(&jpeg)).expect("decodes"),
                ))
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
