//! An exact range index over PDQ hashes: every stored hash within a Hamming distance of a query,
//! for banks of millions of hashes.
//!
//! Multi-index hashing (Norouzi, Punjani and Fleet, "Fast Search in Hamming Space with
//! Multi-Index Hashing", CVPR 2012). Each 256-bit hash is cut into 16 substrings of 16 bits, and
//! for each substring position a table maps each of the 65,536 values to the hashes having that
//! value there. The recall guarantee is the pigeonhole principle: if two hashes differ in at
//! most `d` bits, those bits fall into 16 substrings, so at least one substring differs in at
//! most `floor(d / 16)` bits. Probing, in every table, each value within `floor(d / 16)` bits of
//! the query's substring therefore reaches every hash within `d`: for the default `d = 31`
//! that is the query's own value and its 16 one-bit neighbours, 17 probes per table. Each
//! candidate is then checked with its full 256-bit distance, so the result is exactly what a
//! linear scan returns (a property test checks this).
//!
//! Why 16 × 16 bits: with `n` random hashes a bucket holds about `n / 65536` entries (15 at a
//! million), so a query at `d <= 31` verifies about 272 × 15 ≈ 4,000 candidates instead of
//! `n`. Fewer, longer substrings need a larger probe radius (8 × 32 bits at `d = 31` means
//! radius 3, 5,489 probes per table); more, shorter ones make buckets crowded (32 × 8 bits
//! means ~4,000 entries per bucket). Tables are stored as sorted arrays with an offset per
//! value (compressed sparse rows), 4 bytes per entry and table, plus the hashes and ids once.
//!
//! ```
//! use greenlight_scan::index::PdqIndex;
//! use greenlight_scan::pdq::PdqHash;
//! let a = PdqHash([0x55; 32]);
//! let mut b = a;
//! b.0[0] ^= 0b111; // 3 bits apart
//! let index = PdqIndex::from_iter(31, [(1, a), (2, PdqHash([0xAA; 32]))]);
//! assert_eq!(index.query(&b, 31), vec![(1, 3)]);
//! ```

use crate::pdq::{PdqDihedral, PdqHash};

const SUBSTRINGS: usize = 16;
const BUCKETS: usize = 1 << 16;

/// A hash as four words, aligned so that it never straddles two cache lines: verifying a
/// candidate then costs one memory access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(32))]
struct Words([u64; 4]);

/// A range index over PDQ hashes, each stored with a caller's `u64` id.
#[derive(Debug, Clone)]
pub struct PdqIndex {
    max_distance: u32,
    /// All hashes, as 4 words each, in insertion order (row = position).
    hashes: Vec<Words>,
    ids: Vec<u64>,
    /// Rows `0..indexed` are in the tables; later rows are scanned linearly until the next
    /// rebuild.
    indexed: usize,
    /// `SUBSTRINGS` tables, each `BUCKETS + 1` offsets into its slice of `rows`.
    offsets: Vec<u32>,
    /// `SUBSTRINGS` runs of `indexed` row numbers, each sorted by that table's substring.
    rows: Vec<u32>,
}

/// Substring `s` (0–15) of a hash given as four words.
fn substring(words: &Words, s: usize) -> usize {
    ((words.0[s / 4] >> ((s % 4) * 16)) & 0xFFFF) as usize
}

/// Population count of two words with one multiply (SWAR): builds for baseline x86-64 have no
/// POPCNT instruction, and `count_ones` then costs a multiply per word.
fn popcount2(x: u64, y: u64) -> u32 {
    const M1: u64 = 0x5555_5555_5555_5555;
    const M2: u64 = 0x3333_3333_3333_3333;
    const M4: u64 = 0x0F0F_0F0F_0F0F_0F0F;
    const H01: u64 = 0x0101_0101_0101_0101;
    let x = x - ((x >> 1) & M1);
    let y = y - ((y >> 1) & M1);
    let x = (x & M2) + ((x >> 2) & M2);
    let y = (y & M2) + ((y >> 2) & M2);
    let x = (x + (x >> 4)) & M4;
    let y = (y + (y >> 4)) & M4;
    // Each byte of x + y is at most 16, so the sum of the bytes fits the top byte.
    ((x + y).wrapping_mul(H01) >> 56) as u32
}

/// The distance when it is at most `max`. Half the hash decides for almost every candidate:
/// two unrelated hashes differ in ~64 of 128 bits, far above any useful `max`.
fn distance_within(a: &Words, b: &Words, max: u32) -> Option<u32> {
    let half = popcount2(a.0[0] ^ b.0[0], a.0[1] ^ b.0[1]);
    if half > max {
        return None;
    }
    let d = half + popcount2(a.0[2] ^ b.0[2], a.0[3] ^ b.0[3]);
    (d <= max).then_some(d)
}

impl PdqIndex {
    /// An empty index. `max_distance` is the largest distance it is queried at by default
    /// ([`PdqIndex::query_default`]); [`PdqIndex::query`] stays exact at any distance, it only
    /// gets slower above 31 (the probe radius grows to `d / 16`), and above 47 it scans.
    pub fn new(max_distance: u32) -> Self {
        Self {
            max_distance,
            hashes: Vec::new(),
            ids: Vec::new(),
            indexed: 0,
            offsets: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// Builds an index from `(id, hash)` pairs in one pass.
    pub fn from_iter(max_distance: u32, entries: impl IntoIterator<Item = (u64, PdqHash)>) -> Self {
        let mut index = Self::new(max_distance);
        for (id, hash) in entries {
            index.hashes.push(Words(hash.words()));
            index.ids.push(id);
        }
        index.rebuild();
        index
    }

    /// The default query distance given to [`PdqIndex::new`].
    pub fn max_distance(&self) -> u32 {
        self.max_distance
    }

    /// Number of stored hashes.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Adds a hash. Recent additions are searched linearly until they are folded into the
    /// tables, which happens when they reach an eighth of the indexed size (amortised O(1)
    /// per insert) or on [`PdqIndex::rebuild`].
    pub fn insert(&mut self, id: u64, hash: PdqHash) {
        self.hashes.push(Words(hash.words()));
        self.ids.push(id);
        let pending = self.hashes.len() - self.indexed;
        if pending >= 1024.max(self.indexed / 8) {
            self.rebuild();
        }
    }

    /// Folds every added hash into the tables (a counting sort per table).
    ///
    /// # Panics
    /// With more than `u32::MAX` hashes (rows are stored as `u32`).
    pub fn rebuild(&mut self) {
        let n = self.hashes.len();
        assert!(
            u32::try_from(n).is_ok(),
            "a PdqIndex holds at most u32::MAX hashes"
        );
        self.offsets = vec![0; SUBSTRINGS * (BUCKETS + 1)];
        self.rows = vec![0; SUBSTRINGS * n];
        for s in 0..SUBSTRINGS {
            let offsets = &mut self.offsets[s * (BUCKETS + 1)..(s + 1) * (BUCKETS + 1)];
            for words in &self.hashes {
                offsets[substring(words, s) + 1] += 1;
            }
            for b in 0..BUCKETS {
                offsets[b + 1] += offsets[b];
            }
            let mut next: Vec<u32> = offsets[..BUCKETS].to_vec();
            let rows = &mut self.rows[s * n..(s + 1) * n];
            for (row, words) in self.hashes.iter().enumerate() {
                let slot = &mut next[substring(words, s)];
                rows[*slot as usize] = row as u32;
                *slot += 1;
            }
        }
        self.indexed = n;
    }

    /// Every `(id, distance)` within `max_distance` of `query`, sorted by distance then id.
    /// An id stored with several hashes appears once, at its smallest distance.
    pub fn query(&self, query: &PdqHash, max_distance: u32) -> Vec<(u64, u32)> {
        let mut found = Vec::new();
        self.collect(&Words(query.words()), max_distance, &mut found);
        finish(found)
    }

    /// [`PdqIndex::query`] at the index's default distance.
    pub fn query_default(&self, query: &PdqHash) -> Vec<(u64, u32)> {
        self.query(query, self.max_distance)
    }

    /// Matches for any of the eight dihedral hashes of an image (a rotated or mirrored copy of a
    /// stored image matches): each id once, at its smallest distance over the eight.
    pub fn query_dihedral(&self, query: &PdqDihedral, max_distance: u32) -> Vec<(u64, u32)> {
        let mut found = Vec::new();
        for hash in &query.hashes {
            self.collect(&Words(hash.words()), max_distance, &mut found);
        }
        finish(found)
    }

    /// Pushes `(id, distance, row)` for every row within `max_distance`, possibly repeated.
    fn collect(&self, q: &Words, max_distance: u32, found: &mut Vec<(u32, u64, u32)>) {
        let mut check = |row: usize| {
            if let Some(d) = distance_within(&self.hashes[row], q, max_distance) {
                found.push((d, self.ids[row], row as u32));
            }
        };
        // Too few entries for the tables to pay off, or too wide a query: scan.
        let radius = max_distance as usize / SUBSTRINGS;
        if self.indexed < 4096 || radius > 2 {
            (0..self.hashes.len()).for_each(check);
            return;
        }
        // Three passes instead of one nested loop: bucket ranges for every probe, then the
        // rows in them, then the distances. Within each pass the memory reads are independent
        // of each other, so the processor overlaps their cache misses; nested, each probe
        // waited for its offsets, then its rows, then its hashes.
        let n = self.indexed;
        let mut ranges: Vec<(u32, u32, usize)> =
            Vec::with_capacity(SUBSTRINGS * (1 + 16 + 120 * radius / 2));
        for s in 0..SUBSTRINGS {
            let offsets = &self.offsets[s * (BUCKETS + 1)..(s + 1) * (BUCKETS + 1)];
            let key = substring(q, s);
            let mut probe = |value: usize| ranges.push((offsets[value], offsets[value + 1], s * n));
            probe(key);
            if radius >= 1 {
                for a in 0..16 {
                    probe(key ^ (1 << a));
                    if radius >= 2 {
                        for b in a + 1..16 {
                            probe(key ^ (1 << a) ^ (1 << b));
                        }
                    }
                }
            }
        }
        let total: usize = ranges
            .iter()
            .map(|&(start, end, _)| (end - start) as usize)
            .sum();
        let mut candidates: Vec<u32> = Vec::with_capacity(total);
        for &(start, end, base) in &ranges {
            candidates.extend_from_slice(&self.rows[base + start as usize..base + end as usize]);
        }
        candidates.iter().for_each(|&row| check(row as usize));
        (self.indexed..self.hashes.len()).for_each(check);
    }

    /// Every `(id, distance)` within `max_distance`, by checking every stored hash: the
    /// baseline the index is measured and tested against.
    pub fn linear_scan(&self, query: &PdqHash, max_distance: u32) -> Vec<(u64, u32)> {
        let q = Words(query.words());
        let found = self
            .hashes
            .iter()
            .enumerate()
            .filter_map(|(row, h)| {
                distance_within(h, &q, max_distance).map(|d| (d, self.ids[row], row as u32))
            })
            .collect();
        finish(found)
    }
}

impl FromIterator<(u64, PdqHash)> for PdqIndex {
    fn from_iter<T: IntoIterator<Item = (u64, PdqHash)>>(iter: T) -> Self {
        PdqIndex::from_iter(crate::pdq::DEFAULT_MATCH_DISTANCE, iter)
    }
}

/// Sorts by (distance, id), then keeps each id once (its first, smallest, distance).
fn finish(mut found: Vec<(u32, u64, u32)>) -> Vec<(u64, u32)> {
    found.sort_unstable();
    found.dedup_by_key(|(_, id, _)| *id);
    // dedup_by_key only drops neighbours; one id with two different distances is not adjacent.
    let mut seen = std::collections::HashSet::with_capacity(found.len());
    found
        .into_iter()
        .filter(|(_, id, _)| seen.insert(*id))
        .map(|(d, id, _)| (id, d))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn flip(hash: PdqHash, bits: &[usize]) -> PdqHash {
        let mut h = hash;
        for &b in bits {
            h.0[b / 8] ^= 1 << (b % 8);
        }
        h
    }

    /// Deterministic pseudo-random hashes (SplitMix64), so tests need no RNG crate.
    fn random_hashes(seed: u64, n: usize) -> Vec<PdqHash> {
        let mut state = seed;
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        (0..n)
            .map(|_| PdqHash::from_words([next(), next(), next(), next()]))
            .collect()
    }

    #[test]
    fn finds_a_neighbour_whose_differences_are_spread_over_every_substring() {
        // 31 differing bits spread so no substring matches exactly: only the radius-1 probes
        // can find it. With exact-match probing alone this test fails.
        let base = random_hashes(1, 1)[0];
        let bits: Vec<usize> = (0..31).map(|i| (i % 16) * 16 + i / 16).collect();
        let near = flip(base, &bits);
        let mut entries: Vec<(u64, PdqHash)> = random_hashes(2, 10_000)
            .into_iter()
            .zip(10..)
            .map(|(h, i)| (i, h))
            .collect();
        entries.push((7, near));
        let index = PdqIndex::from_iter(31, entries);
        assert_eq!(index.query(&base, 31), vec![(7, 31)]);
        assert_eq!(index.query(&base, 30), vec![]);
    }

    #[test]
    fn results_are_sorted_by_distance_then_id_and_ids_appear_once() {
        let base = random_hashes(3, 1)[0];
        let mut entries: Vec<(u64, PdqHash)> = random_hashes(4, 5000)
            .into_iter()
            .zip(100..)
            .map(|(h, i)| (i, h))
            .collect();
        entries.extend([
            (9, flip(base, &[1, 2])),
            (5, flip(base, &[3, 4])),
            (1, flip(base, &[0])),
            (5, base),
        ]);
        let index = PdqIndex::from_iter(31, entries);
        assert_eq!(index.query(&base, 31), vec![(5, 0), (1, 1), (9, 2)]);
    }

    #[test]
    fn inserted_hashes_are_found_before_and_after_a_rebuild() {
        let mut index = PdqIndex::new(31);
        let hashes = random_hashes(5, 20_000);
        for (i, h) in hashes.iter().enumerate() {
            index.insert(i as u64, *h);
        }
        let probe = flip(hashes[19_999], &[5, 77, 200]);
        assert_eq!(index.query(&probe, 31), vec![(19_999, 3)]);
        index.rebuild();
        assert_eq!(index.query(&probe, 31), vec![(19_999, 3)]);
    }

    #[test]
    fn dihedral_query_finds_a_stored_rotation() {
        let hashes = random_hashes(6, 8);
        let dihedral = PdqDihedral {
            hashes: hashes.clone().try_into().expect("eight hashes"),
            quality: 100,
        };
        let mut entries: Vec<(u64, PdqHash)> = random_hashes(7, 5000)
            .into_iter()
            .zip(100..)
            .map(|(h, i)| (i, h))
            .collect();
        entries.push((42, flip(hashes[3], &[10, 20])));
        let index = PdqIndex::from_iter(31, entries);
        assert_eq!(index.query_dihedral(&dihedral, 31), vec![(42, 2)]);
        assert!(index.query(&hashes[0], 31).is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// The index's answer is exactly a linear scan's, at any distance, for planted
        /// neighbours at every distance around the limit.
        #[test]
        fn index_agrees_with_a_linear_scan(
            seed in any::<u64>(),
            max_distance in 0u32..48,
            flips in proptest::collection::vec(proptest::collection::vec(0usize..256, 0..40), 1..20),
        ) {
            let base = random_hashes(seed, 1)[0];
            let mut entries: Vec<(u64, PdqHash)> =
                random_hashes(seed ^ 1, 6000).into_iter().zip(1000..).map(|(h, i)| (i, h)).collect();
            for (i, bits) in flips.iter().enumerate() {
                entries.push((i as u64, flip(base, bits)));
            }
            let index = PdqIndex::from_iter(31, entries);
            prop_assert_eq!(index.query(&base, max_distance), index.linear_scan(&base, max_distance));
        }
    }
}
