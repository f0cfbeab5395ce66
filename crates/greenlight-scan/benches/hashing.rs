//! Hashing throughput of the scan's digest path (`digest::digest_file`), against the raw
//! `blake3` and `sha2` crates on the same bytes, measured in the same run.
//!
//! Knobs (environment):
//! - `GL_BENCH_HASH_MIB` (default 256): size of the file hashed, in MiB. The file is written
//!   once to the temp dir and read from the page cache (warm), like a re-read delivery.
//!
//! The comparison with the reference command-line tools (`b3sum`, `openssl dgst -sha256`) on
//! the same file is `benches/hashing.sh` (hyperfine); both are reported in `docs/scan.md`.

use std::io::Read;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use greenlight_scan::digest::{blake3_file, digest_file, sha256_file};

fn hashing(c: &mut Criterion) {
    let mib: u64 = std::env::var("GL_BENCH_HASH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("payload.bin");
    {
        // Incompressible, deterministic bytes (xorshift), written in 1 MiB blocks.
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut block = vec![0u8; 1 << 20];
        for _ in 0..mib {
            for chunk in block.chunks_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                chunk.copy_from_slice(&x.to_le_bytes());
            }
            f.write_all(&block).expect("write");
        }
    }
    let size = mib << 20;
    let mut g = c.benchmark_group("hashing");
    g.throughput(Throughput::Bytes(size));
    g.sample_size(10).measurement_time(Duration::from_secs(10));

    g.bench_function("scan digest_file blake3", |b| {
        b.iter(|| digest_file(&path, false).expect("digest"))
    });
    g.bench_function("baseline blake3 mmap+rayon (crate)", |b| {
        b.iter(|| {
            let mut h = blake3::Hasher::new();
            h.update_mmap_rayon(&path).expect("mmap");
            h.finalize()
        })
    });
    g.bench_function("baseline blake3 single-thread read", |b| {
        b.iter(|| {
            let mut h = blake3::Hasher::new();
            let mut f = std::fs::File::open(&path).expect("open");
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = f.read(&mut buf).expect("read");
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
            h.finalize()
        })
    });
    g.bench_function("scan sha256_file", |b| {
        b.iter(|| sha256_file(&path).expect("sha256"))
    });
    g.bench_function("scan digest_file blake3+sha256", |b| {
        b.iter(|| digest_file(&path, true).expect("digest"))
    });
    g.bench_function("scan blake3_file", |b| {
        b.iter(|| blake3_file(&path, size).expect("blake3"))
    });
    g.finish();
}

criterion_group!(benches, hashing);
criterion_main!(benches);
