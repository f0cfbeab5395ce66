//! Bank matching: exact range queries at distance ≤ 31 over a bank of random PDQ hashes with
//! planted near neighbours, through [`PdqIndex`] and, as the baseline in the same run, a linear
//! scan of the same bank. One thread; times are the thread's CPU time.
//!
//! Every query has planted neighbours at distances spread over 0..=31, with the flipped bits
//! spread over all 16 substrings for some, so the probes that guarantee recall are exercised;
//! the bench first checks that the index returns exactly what the scan returns.
//!
//! Knobs: `GREENLIGHT_BENCH_BANK` (bank size, default 1,000,000), `GREENLIGHT_BENCH_HASH_DIR`
//! (also write `bank.bin` and `queries.bin`, 32 bytes per hash, for comparing other libraries
//! on the same data; see `docs/pdq.md`).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use greenlight_scan::index::PdqIndex;
use greenlight_scan::pdq::PdqHash;

const QUERIES: usize = 1000;
const DISTANCE: u32 = 31;

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn hash(&mut self) -> PdqHash {
        PdqHash::from_words([self.next(), self.next(), self.next(), self.next()])
    }
}

fn flip_bits(hash: PdqHash, rng: &mut SplitMix, count: u32, spread: bool) -> PdqHash {
    let mut h = hash;
    let mut flipped = std::collections::HashSet::new();
    let mut k = 0usize;
    while flipped.len() < count as usize {
        // Spread: bit k goes to substring k % 16, so no substring stays equal for count >= 16.
        let bit = if spread {
            (k % 16) * 16 + (rng.next() % 16) as usize
        } else {
            (rng.next() % 256) as usize
        };
        k += 1;
        if flipped.insert(bit) {
            h.0[bit / 8] ^= 1 << (bit % 8);
        }
    }
    h
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
    let size = std::env::var("GREENLIGHT_BENCH_BANK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000usize);
    let mut rng = SplitMix(0x5EED);
    let queries: Vec<PdqHash> = (0..QUERIES).map(|_| rng.hash()).collect();
    let mut bank: Vec<(u64, PdqHash)> = (0..size as u64).map(|id| (id, rng.hash())).collect();
    // Plant neighbours: for every query, three hashes at distances from 0 to 31.
    for (q, query) in queries.iter().enumerate() {
        for j in 0..3u32 {
            let d = (q as u32 * 7 + j * 11) % (DISTANCE + 1);
            let planted = flip_bits(*query, &mut rng, d, j == 1);
            let slot = (rng.next() % size as u64) as usize;
            bank[slot].1 = planted;
        }
    }
    if let Ok(dir) = std::env::var("GREENLIGHT_BENCH_HASH_DIR") {
        std::fs::create_dir_all(&dir).expect("the hash directory can be created");
        let bytes =
            |hs: &mut dyn Iterator<Item = PdqHash>| hs.flat_map(|h| h.0).collect::<Vec<u8>>();
        let path = std::path::Path::new(&dir);
        std::fs::write(
            path.join("bank.bin"),
            bytes(&mut bank.iter().map(|(_, h)| *h)),
        )
        .expect("writes bank.bin");
        std::fs::write(
            path.join("queries.bin"),
            bytes(&mut queries.iter().copied()),
        )
        .expect("writes queries.bin");
    }

    let started = std::time::Instant::now();
    let index = PdqIndex::from_iter(DISTANCE, bank.iter().copied());
    eprintln!("index of {size} hashes built in {:.2?}", started.elapsed());

    // Recall check before timing: identical answers on a sample of queries.
    let mut total = 0;
    for query in queries.iter().take(50) {
        let fast = index.query(query, DISTANCE);
        assert_eq!(
            fast,
            index.linear_scan(query, DISTANCE),
            "index and scan disagree"
        );
        total += fast.len();
    }
    assert!(total >= 50, "planted neighbours are found");

    let mut group = c.benchmark_group(format!("match_{size}_hashes_d{DISTANCE}"));
    group.throughput(Throughput::Elements(QUERIES as u64));
    group.bench_function("index", |b| {
        b.iter_custom(|iters| {
            cpu_timed(iters, || {
                for query in &queries {
                    black_box(index.query(black_box(query), DISTANCE));
                }
            })
        })
    });
    // The scan is ~1000x slower: time it on 10 queries and scale throughput accordingly.
    group.throughput(Throughput::Elements(10));
    group.bench_function("baseline_linear_scan", |b| {
        b.iter_custom(|iters| {
            cpu_timed(iters, || {
                for query in queries.iter().take(10) {
                    black_box(index.linear_scan(black_box(query), DISTANCE));
                }
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
