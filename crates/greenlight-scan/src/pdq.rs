//! PDQ perceptual hashes (Meta's published algorithm), in our own code.
//!
//! PDQ turns an image into 256 bits such that visually similar images (re-encoded, resized,
//! lightly cropped or recoloured) have hashes a small Hamming distance apart. The steps, as
//! described in Meta's paper and followed by its reference hasher:
//!
//! 1. decode to 8-bit RGB (JPEG as libjpeg decodes it, see [`crate::decode`]);
//! 2. an image larger than 512 pixels on a side is first resized to exactly 512×512 by
//!    nearest-neighbour sampling (the aspect ratio is not kept), as the reference command-line
//!    hasher does to bound the cost of the next step;
//! 3. luminance `Y = 0.299 R + 0.587 G + 0.114 B` in `f32` (a grey image's level is taken as is);
//! 4. two passes of a box filter along rows then columns, each of window
//!    `ceil(side / 128)` (a "Jarosz" tent filter), then sampling of 64×64 pixel centres;
//! 5. quality: the sum of quantised gradients of the 64×64 image, scaled to 0–100;
//! 6. the 16×16 lowest non-constant coefficients of the 64×64 DCT-II;
//! 7. bit `16 i + j` is set when coefficient `(i, j)` is above the median of the 256.
//!
//! Every floating-point operation is done in the reference's order and precision, so on the
//! same pixels the hash and the integer quality are bit-for-bit the reference's (the test
//! `tests/pdq_reference.rs` checks this on Meta's reference images).
//!
//! The eight dihedral variants (rotations and flips) come from the same DCT: rotating or
//! flipping an image only transposes the coefficient matrix and changes the signs of odd rows
//! or columns, so one computation gives all eight hashes.
//!
//! ```
//! use greenlight_scan::pdq::{hash_rgb, PdqPath};
//! // A 64x64 gradient: hashable, and the result says which decode path ran.
//! let rgb: Vec<u8> = (0..64 * 64).flat_map(|i| [(i % 64 * 4) as u8, (i / 64 * 4) as u8, 0]).collect();
//! let result = hash_rgb(64, 64, &rgb);
//! assert_eq!(result.path, PdqPath::Exact);
//! assert_eq!(result.hash.to_hex().len(), 64);
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::decode::{self, Channels, DecodeError, DecodedImage, Limits};

/// Hashes with a quality below this are too featureless to match on (flat or tiny images):
/// a scan reports them as `LOW-QUALITY-HASH` instead of matching them.
pub const LOW_QUALITY_THRESHOLD: u8 = 50;

/// The default largest Hamming distance at which two PDQ hashes count as a match.
pub const DEFAULT_MATCH_DISTANCE: u32 = 31;

/// Images larger than this on either side are first resized to this square (reference step).
pub const DOWNSAMPLE_SIDE: u32 = 512;

/// Images smaller than this on either side get the all-zero hash and quality 0.
const MIN_HASHABLE_SIDE: usize = 5;

/// A 256-bit PDQ hash. Bytes are in the order of the 64-digit hex form (most significant
/// first), so bit `k` of the hash (coefficient row `k / 16`, column `k % 16`) is bit `k % 8` of
/// byte `31 - k / 8`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PdqHash(pub [u8; 32]);

/// A string that is not 64 hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a PDQ hash is 64 hexadecimal digits, got {got:?}")]
pub struct PdqHashParseError {
    /// The rejected text (up to 80 characters).
    pub got: String,
}

impl PdqHash {
    /// The all-zero hash, given to images too small to hash.
    pub const ZERO: PdqHash = PdqHash([0; 32]);

    /// 64 lowercase hexadecimal digits, the form used by Meta's tools and ThreatExchange.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hexadecimal digits (either case).
    pub fn from_hex(text: &str) -> Result<Self, PdqHashParseError> {
        let mut bytes = [0u8; 32];
        match hex::decode_to_slice(text, &mut bytes) {
            Ok(()) => Ok(Self(bytes)),
            Err(_) => Err(PdqHashParseError {
                got: text.chars().take(80).collect(),
            }),
        }
    }

    /// Hamming distance: the number of differing bits (0–256).
    pub fn distance(&self, other: &PdqHash) -> u32 {
        let (a, b) = (self.words(), other.words());
        (0..4).map(|i| (a[i] ^ b[i]).count_ones()).sum()
    }

    /// The hash as four 64-bit words (big-endian chunks of the hex form).
    pub fn words(&self) -> [u64; 4] {
        let mut words = [0u64; 4];
        for (word, chunk) in words.iter_mut().zip(self.0.chunks_exact(8)) {
            *word = u64::from_be_bytes(chunk.try_into().expect("chunks_exact(8) yields 8 bytes"));
        }
        words
    }

    /// Builds a hash from [`PdqHash::words`].
    pub fn from_words(words: [u64; 4]) -> Self {
        let mut bytes = [0u8; 32];
        for (chunk, word) in bytes.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        Self(bytes)
    }

    /// Bit `k` (0–255): whether DCT coefficient `(k / 16, k % 16)` is above the median.
    pub fn bit(&self, k: usize) -> bool {
        self.0[31 - k / 8] >> (k % 8) & 1 == 1
    }

    fn set_bit(&mut self, k: usize) {
        self.0[31 - k / 8] |= 1 << (k % 8);
    }
}

impl fmt::Debug for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PdqHash({})", self.to_hex())
    }
}

impl fmt::Display for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for PdqHash {
    type Err = PdqHashParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

impl Serialize for PdqHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for PdqHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// Which decode path produced a hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PdqPath {
    /// Full decode, then the reference's steps: the reference's hash on the same pixels.
    Exact,
    /// JPEG decoded at a reduced size inside libjpeg-turbo's inverse DCT (large JPEGs only);
    /// a few bits from the exact hash at most (see `docs/pdq.md`).
    Fast,
}

impl PdqPath {
    /// `exact` or `fast`, as in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Fast => "fast",
        }
    }
}

/// A hash, its quality (0–100) and the path that computed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PdqResult {
    /// The hash.
    pub hash: PdqHash,
    /// 0–100; below [`LOW_QUALITY_THRESHOLD`] the hash should not be matched on.
    pub quality: u8,
    /// Which decode path ran.
    pub path: PdqPath,
}

impl PdqResult {
    /// Whether the quality is too low to match on.
    pub fn is_low_quality(&self) -> bool {
        self.quality < LOW_QUALITY_THRESHOLD
    }
}

/// The eight dihedral transforms of an image, in the order of [`PdqDihedral::hashes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dihedral {
    /// The image as is.
    Original,
    /// Rotated 90° counter-clockwise.
    Rotate90,
    /// Rotated 180°.
    Rotate180,
    /// Rotated 270° counter-clockwise.
    Rotate270,
    /// Flipped top to bottom.
    FlipX,
    /// Flipped left to right.
    FlipY,
    /// Transposed (mirrored about the main diagonal).
    FlipPlus1,
    /// Mirrored about the anti-diagonal.
    FlipMinus1,
}

impl Dihedral {
    /// All eight, in the order of [`PdqDihedral::hashes`].
    pub const ALL: [Dihedral; 8] = [
        Self::Original,
        Self::Rotate90,
        Self::Rotate180,
        Self::Rotate270,
        Self::FlipX,
        Self::FlipY,
        Self::FlipPlus1,
        Self::FlipMinus1,
    ];

    /// Short name, e.g. `rotate_90`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Original => "original",
            Self::Rotate90 => "rotate_90",
            Self::Rotate180 => "rotate_180",
            Self::Rotate270 => "rotate_270",
            Self::FlipX => "flip_x",
            Self::FlipY => "flip_y",
            Self::FlipPlus1 => "flip_plus_1",
            Self::FlipMinus1 => "flip_minus_1",
        }
    }

    /// `(transpose, negate)`: how coefficient `(i, j)` of the original becomes this transform's
    /// coefficient. A flip along an axis negates the odd-frequency coefficients along it (the
    /// DCT basis `cos(pi (2x + 1) u / 128)` is even in `x -> 63 - x` for even `u` and odd for odd
    /// `u`), and a rotation is a flip followed by a transpose.
    fn rule(self) -> (bool, fn(usize, usize) -> bool) {
        match self {
            Self::Original => (false, |_, _| false),
            Self::Rotate90 => (true, |_, j| j % 2 == 0),
            Self::Rotate180 => (false, |i, j| (i + j) % 2 == 1),
            Self::Rotate270 => (true, |i, _| i % 2 == 0),
            Self::FlipX => (false, |i, _| i % 2 == 0),
            Self::FlipY => (false, |_, j| j % 2 == 0),
            Self::FlipPlus1 => (true, |_, _| false),
            Self::FlipMinus1 => (true, |i, j| (i + j) % 2 == 1),
        }
    }
}

/// The hashes of the eight dihedral transforms of one image, computed from one DCT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PdqDihedral {
    /// In the order of [`Dihedral::ALL`]: the original first.
    pub hashes: [PdqHash; 8],
    /// Quality of the image (the same for all eight).
    pub quality: u8,
}

impl PdqDihedral {
    /// The hash of the image as is.
    pub fn original(&self) -> PdqHash {
        self.hashes[0]
    }

    /// Pairs each hash with its transform.
    pub fn iter(&self) -> impl Iterator<Item = (Dihedral, PdqHash)> + '_ {
        Dihedral::ALL.into_iter().zip(self.hashes)
    }
}

/// How [`hash_image_bytes_with`] decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PdqOptions {
    /// Allow the fast path for large JPEGs (reduced-size decode). Off by default.
    pub fast: bool,
    /// Decode limits.
    pub limits: Limits,
}

/// Decodes an image and hashes it on the exact path.
pub fn hash_image_bytes(bytes: &[u8]) -> Result<PdqResult, DecodeError> {
    hash_image_bytes_with(bytes, &PdqOptions::default())
}

/// Decodes an image and returns its eight dihedral hashes (exact path).
pub fn hash_image_bytes_dihedral(bytes: &[u8]) -> Result<PdqDihedral, DecodeError> {
    hash_image_bytes_dihedral_with(bytes, &PdqOptions::default()).map(|(d, _)| d)
}

/// Decodes an image with `options` and hashes it.
pub fn hash_image_bytes_with(bytes: &[u8], options: &PdqOptions) -> Result<PdqResult, DecodeError> {
    let (image, path) = decode_for_pdq(bytes, options)?;
    let (hash, quality) = match Coefficients::of_image(&image) {
        Some(c) => (c.hash(Dihedral::Original), c.quality),
        None => (PdqHash::ZERO, 0),
    };
    Ok(PdqResult {
        hash,
        quality,
        path,
    })
}

/// Decodes an image with `options` and returns its dihedral hashes and the path that ran.
pub fn hash_image_bytes_dihedral_with(
    bytes: &[u8],
    options: &PdqOptions,
) -> Result<(PdqDihedral, PdqPath), DecodeError> {
    let (image, path) = decode_for_pdq(bytes, options)?;
    Ok((dihedral_of(Coefficients::of_image(&image)), path))
}

/// The eight dihedral hashes of a decoded image (exact path).
pub fn hash_decoded_dihedral(image: &DecodedImage) -> PdqDihedral {
    dihedral_of(Coefficients::of_image(image))
}

/// Hashes a decoded image (exact path).
pub fn hash_decoded(image: &DecodedImage) -> PdqResult {
    let (hash, quality) = match Coefficients::of_image(image) {
        Some(c) => (c.hash(Dihedral::Original), c.quality),
        None => (PdqHash::ZERO, 0),
    };
    PdqResult {
        hash,
        quality,
        path: PdqPath::Exact,
    }
}

/// Hashes an 8-bit RGB frame (`width * height * 3` bytes, rows top to bottom), e.g. a video
/// frame from `ffmpeg -pix_fmt rgb24`. The same steps as for an image file, 512 step included.
///
/// # Panics
/// When `rgb` is shorter than `width * height * 3` (a caller's bug, not data).
pub fn hash_rgb(width: u32, height: u32, rgb: &[u8]) -> PdqResult {
    let (hash, quality) = match rgb_coefficients(width, height, rgb) {
        Some(c) => (c.hash(Dihedral::Original), c.quality),
        None => (PdqHash::ZERO, 0),
    };
    PdqResult {
        hash,
        quality,
        path: PdqPath::Exact,
    }
}

/// The eight dihedral hashes of an RGB frame; see [`hash_rgb`].
///
/// # Panics
/// When `rgb` is shorter than `width * height * 3`.
pub fn hash_rgb_dihedral(width: u32, height: u32, rgb: &[u8]) -> PdqDihedral {
    dihedral_of(rgb_coefficients(width, height, rgb))
}

/// Hashes an 8-bit RGB frame at its own size, without the 512 px resizing step, as Meta's vPDQ
/// hashes video frames (its frame hasher filters the full-size luminance directly). On frames
/// larger than 512 px this gives vPDQ's hash bit for bit where [`hash_rgb`] can be a few bits
/// away; it costs memory and time in proportion to the frame's size.
///
/// # Panics
/// When `rgb` is shorter than `width * height * 3` (a caller's bug, not data).
pub fn hash_rgb_unscaled(width: u32, height: u32, rgb: &[u8]) -> PdqResult {
    let (w, h) = (width as usize, height as usize);
    assert!(
        rgb.len() >= w * h * 3,
        "hash_rgb_unscaled needs width * height * 3 bytes of RGB"
    );
    let (hash, quality) = match Coefficients::of_pixels_sized(w, h, Channels::Rgb, rgb, false) {
        Some(c) => (c.hash(Dihedral::Original), c.quality),
        None => (PdqHash::ZERO, 0),
    };
    PdqResult {
        hash,
        quality,
        path: PdqPath::Exact,
    }
}

fn rgb_coefficients(width: u32, height: u32, rgb: &[u8]) -> Option<Coefficients> {
    let (w, h) = (width as usize, height as usize);
    assert!(
        rgb.len() >= w * h * 3,
        "hash_rgb needs width * height * 3 bytes of RGB"
    );
    Coefficients::of_pixels(w, h, Channels::Rgb, rgb)
}

fn dihedral_of(coefficients: Option<Coefficients>) -> PdqDihedral {
    match coefficients {
        Some(c) => PdqDihedral {
            hashes: Dihedral::ALL.map(|d| c.hash(d)),
            quality: c.quality,
        },
        None => PdqDihedral {
            hashes: [PdqHash::ZERO; 8],
            quality: 0,
        },
    }
}

fn decode_for_pdq(
    bytes: &[u8],
    options: &PdqOptions,
) -> Result<(DecodedImage, PdqPath), DecodeError> {
    if options.fast
        && let Some(result) = decode::decode_jpeg_reduced(bytes, &options.limits, DOWNSAMPLE_SIDE)
    {
        return result.map(|image| (image, PdqPath::Fast));
    }
    decode::decode_with_limits(bytes, &options.limits).map(|image| (image, PdqPath::Exact))
}

/// The 16×16 DCT coefficients of an image and its quality.
struct Coefficients {
    dct: [[f32; 16]; 16],
    quality: u8,
}

impl Coefficients {
    fn of_image(image: &DecodedImage) -> Option<Self> {
        Self::of_pixels(
            image.width as usize,
            image.height as usize,
            image.channels,
            &image.pixels,
        )
    }

    /// Steps 2 to 6. `None` when the image is too small to hash.
    fn of_pixels(width: usize, height: usize, channels: Channels, pixels: &[u8]) -> Option<Self> {
        Self::of_pixels_sized(width, height, channels, pixels, true)
    }

    /// Steps 2 (when `downsample`) to 6.
    fn of_pixels_sized(
        width: usize,
        height: usize,
        channels: Channels,
        pixels: &[u8],
        downsample: bool,
    ) -> Option<Self> {
        let (rows, cols, mut luma) = luminance(width, height, channels, pixels, downsample);
        if rows < MIN_HASHABLE_SIDE || cols < MIN_HASHABLE_SIDE {
            return None;
        }
        let mut small = [[0f32; 64]; 64];
        if rows == 64 && cols == 64 {
            // The reference takes a 64x64 input (e.g. a frame ffmpeg already scaled) as is.
            for (row, chunk) in small.iter_mut().zip(luma.chunks_exact(64)) {
                row.copy_from_slice(chunk);
            }
        } else {
            let mut scratch = vec![0f32; rows * cols];
            let row_window = jarosz_window(cols);
            let col_window = jarosz_window(rows);
            for _ in 0..2 {
                box_along_rows(&luma, &mut scratch, rows, cols, row_window);
                box_along_cols(&scratch, &mut luma, rows, cols, col_window);
            }
            // Sample the centres of a 64x64 grid.
            for (i, row) in small.iter_mut().enumerate() {
                let src_i = ((i as f64 + 0.5) * rows as f64 / 64.0) as usize;
                for (j, value) in row.iter_mut().enumerate() {
                    let src_j = ((j as f64 + 0.5) * cols as f64 / 64.0) as usize;
                    *value = luma[src_i * cols + src_j];
                }
            }
        }
        let quality = quality(&small);
        Some(Self {
            dct: dct_64_to_16(&small),
            quality,
        })
    }

    /// Step 7 for one dihedral transform.
    fn hash(&self, transform: Dihedral) -> PdqHash {
        let (transpose, negate) = transform.rule();
        let mut coefficients = [0f32; 256];
        for i in 0..16 {
            for j in 0..16 {
                let v = if negate(i, j) {
                    -self.dct[i][j]
                } else {
                    self.dct[i][j]
                };
                let (r, c) = if transpose { (j, i) } else { (i, j) };
                coefficients[r * 16 + c] = v;
            }
        }
        let median = median_256(&coefficients);
        let mut hash = PdqHash::ZERO;
        for (k, &v) in coefficients.iter().enumerate() {
            if v > median {
                hash.set_bit(k);
            }
        }
        hash
    }
}

/// Steps 2 and 3: the luminance of the (possibly 512×512-resampled) image, row-major.
fn luminance(
    width: usize,
    height: usize,
    channels: Channels,
    pixels: &[u8],
    downsample: bool,
) -> (usize, usize, Vec<f32>) {
    let side = DOWNSAMPLE_SIDE as usize;
    let (rows, cols) = if downsample && (width > side || height > side) {
        (side, side)
    } else {
        (height, width)
    };
    // Nearest neighbour: target pixel x takes source pixel floor(x * width / cols), which is
    // what the reference's resize computes in `double` for these sizes.
    let src_x: Vec<usize> = (0..cols).map(|x| x * width / cols).collect();
    let mut luma = Vec::with_capacity(rows * cols);
    let bpp = channels.bytes_per_pixel();
    for y in 0..rows {
        let src_y = y * height / rows;
        let row = &pixels[src_y * width * bpp..(src_y + 1) * width * bpp];
        match channels {
            Channels::Rgb => luma.extend(src_x.iter().map(|&x| {
                let p = &row[x * 3..x * 3 + 3];
                0.299f32 * f32::from(p[0]) + 0.587f32 * f32::from(p[1]) + 0.114f32 * f32::from(p[2])
            })),
            Channels::Gray => luma.extend(src_x.iter().map(|&x| f32::from(row[x]))),
        }
    }
    (rows, cols, luma)
}

/// Window of each box-filter pass: two passes of `ceil(n / 128)` cover the `n / 64` input
/// pixels that fold into one of the 64 output pixels.
fn jarosz_window(n: usize) -> usize {
    n.div_ceil(128)
}

/// The phases of a running box filter of `window` over `len` samples: how many samples are
/// added before the first output, then output with the window growing, full, and shrinking.
fn box_phases(len: usize, window: usize) -> (usize, usize, usize, usize) {
    let half = (window + 2) / 2;
    (half - 1, window - half + 1, len - window, half - 1)
}

fn box_along_rows(input: &[f32], output: &mut [f32], rows: usize, cols: usize, window: usize) {
    let (grow_silent, grow, full, shrink) = box_phases(cols, window);
    for (inp, out) in input
        .chunks_exact(cols)
        .zip(output.chunks_exact_mut(cols))
        .take(rows)
    {
        let (mut sum, mut count) = (0f32, 0usize);
        let (mut left, mut right, mut o) = (0, 0, 0);
        for _ in 0..grow_silent {
            sum += inp[right];
            count += 1;
            right += 1;
        }
        for _ in 0..grow {
            sum += inp[right];
            count += 1;
            out[o] = sum / count as f32;
            right += 1;
            o += 1;
        }
        for _ in 0..full {
            sum += inp[right];
            sum -= inp[left];
            out[o] = sum / count as f32;
            left += 1;
            right += 1;
            o += 1;
        }
        for _ in 0..shrink {
            sum -= inp[left];
            count -= 1;
            out[o] = sum / count as f32;
            left += 1;
            o += 1;
        }
    }
}

/// The same filter down each column. All columns advance together, row by row, so memory is
/// read in order; each column still sees exactly the operations of a one-column pass.
fn box_along_cols(input: &[f32], output: &mut [f32], rows: usize, cols: usize, window: usize) {
    let (grow_silent, grow, full, shrink) = box_phases(rows, window);
    let mut sums = vec![0f32; cols];
    let row = |r: usize| &input[r * cols..(r + 1) * cols];
    let (mut left, mut right, mut o, mut count) = (0, 0, 0, 0usize);
    for _ in 0..grow_silent {
        sums.iter_mut().zip(row(right)).for_each(|(s, &v)| *s += v);
        count += 1;
        right += 1;
    }
    for _ in 0..grow {
        count += 1;
        let n = count as f32;
        let out = &mut output[o * cols..(o + 1) * cols];
        for ((s, &v), d) in sums.iter_mut().zip(row(right)).zip(out) {
            *s += v;
            *d = *s / n;
        }
        right += 1;
        o += 1;
    }
    for _ in 0..full {
        let n = count as f32;
        let out = &mut output[o * cols..(o + 1) * cols];
        for (((s, &add), &sub), d) in sums.iter_mut().zip(row(right)).zip(row(left)).zip(out) {
            *s += add;
            *s -= sub;
            *d = *s / n;
        }
        left += 1;
        right += 1;
        o += 1;
    }
    for _ in 0..shrink {
        count -= 1;
        let n = count as f32;
        let out = &mut output[o * cols..(o + 1) * cols];
        for ((s, &sub), d) in sums.iter_mut().zip(row(left)).zip(out) {
            *s -= sub;
            *d = *s / n;
        }
        left += 1;
        o += 1;
    }
}

/// Step 5: the sum of vertical and horizontal differences, each scaled to 0–100 and truncated,
/// divided by 90 and capped at 100 (constants tuned by the algorithm's authors).
fn quality(small: &[[f32; 64]; 64]) -> u8 {
    let step = |u: f32, v: f32| (((u - v) * 100.0) / 255.0) as i32;
    // Integer sums: the order of the additions does not matter here.
    let mut sum: i32 = 0;
    for pair in small.windows(2) {
        sum += pair[0]
            .iter()
            .zip(&pair[1])
            .map(|(&u, &v)| step(u, v).abs())
            .sum::<i32>();
    }
    for row in small {
        sum += row.windows(2).map(|w| step(w[0], w[1]).abs()).sum::<i32>();
    }
    (sum / 90).min(100) as u8
}

/// Rows 1..=16 of the 64-point DCT-II matrix (row 0, the mean, carries no structure), scaled
/// by sqrt(2/64), computed in `f64` and stored as `f32` as the reference does.
fn dct_matrix() -> &'static [[f32; 64]; 16] {
    static MATRIX: OnceLock<[[f32; 64]; 16]> = OnceLock::new();
    MATRIX.get_or_init(|| {
        let scale = (2.0f64 / 64.0).sqrt() as f32;
        let mut m = [[0f32; 64]; 16];
        for (i, row) in m.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                let angle =
                    (std::f64::consts::PI / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64;
                *v = (f64::from(scale) * angle.cos()) as f32;
            }
        }
        m
    })
}

/// Step 6: `D A Dᵀ` for the 16×64 matrix `D`. Each output is accumulated in `f32` over `k`
/// in increasing order, as the reference does (the order matters for the last bit); the loops
/// run over `k` outside so the compiler can vectorise across outputs.
fn dct_64_to_16(a: &[[f32; 64]; 64]) -> [[f32; 16]; 16] {
    let d = dct_matrix();
    let mut t = [[0f32; 64]; 16];
    for (t_row, d_row) in t.iter_mut().zip(d) {
        for (k, a_row) in a.iter().enumerate() {
            let dk = d_row[k];
            for (t, &a) in t_row.iter_mut().zip(a_row) {
                *t += dk * a;
            }
        }
    }
    let mut d_t = [[0f32; 16]; 64];
    for (j, d_row) in d.iter().enumerate() {
        for (k, &v) in d_row.iter().enumerate() {
            d_t[k][j] = v;
        }
    }
    let mut b = [[0f32; 16]; 16];
    for (b_row, t_row) in b.iter_mut().zip(&t) {
        for (k, &tk) in t_row.iter().enumerate() {
            for (b, &dk) in b_row.iter_mut().zip(&d_t[k]) {
                *b += tk * dk;
            }
        }
    }
    b
}

/// The lower median (the 128th smallest) of 256 values, which is what the reference's Torben
/// median selection returns for an even count.
fn median_256(values: &[f32; 256]) -> f32 {
    let mut copy = *values;
    let (_, median, _) = copy.select_nth_unstable_by(127, f32::total_cmp);
    *median
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hex_round_trips_and_rejects_bad_input() {
        let text = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
        let hash = PdqHash::from_hex(text).expect("valid hex");
        assert_eq!(hash.to_hex(), text);
        assert_eq!(PdqHash::from_hex(&text.to_uppercase()), Ok(hash));
        assert!(PdqHash::from_hex(&text[1..]).is_err());
        assert!(PdqHash::from_hex(&text.replace('d', "g")).is_err());
        assert_eq!(
            serde_json::to_string(&hash).expect("serialises"),
            format!("\"{text}\"")
        );
    }

    #[test]
    fn bit_k_is_word_k_over_16_of_the_reference_layout() {
        // The reference prints sixteen 16-bit words, the last word (bits 240..256) first.
        let mut h = PdqHash::ZERO;
        h.set_bit(0);
        assert_eq!(h.to_hex(), format!("{}0001", "0".repeat(60)));
        let mut h = PdqHash::ZERO;
        h.set_bit(255);
        assert_eq!(h.to_hex(), format!("8{}", "0".repeat(63)));
        assert!(h.bit(255) && !h.bit(254));
    }

    #[test]
    fn median_is_the_lower_middle_value() {
        let mut values = [0f32; 256];
        for (i, v) in values.iter_mut().enumerate() {
            *v = ((i * 37) % 256) as f32;
        }
        assert_eq!(median_256(&values), 127.0);
    }

    #[test]
    fn tiny_images_get_the_zero_hash_and_quality_zero() {
        let r = hash_rgb(4, 100, &[200; 4 * 100 * 3]);
        assert_eq!((r.hash, r.quality), (PdqHash::ZERO, 0));
    }

    #[test]
    fn flat_image_has_quality_zero() {
        let r = hash_rgb(100, 80, &[128; 100 * 80 * 3]);
        assert_eq!(r.quality, 0);
        assert!(r.is_low_quality());
    }

    fn pattern(width: usize, height: usize) -> Vec<u8> {
        let mut rgb = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            for x in 0..width {
                let v = ((x * 255 / width) as f32 * 0.6 + (y * 255 / height) as f32 * 0.4) as u8;
                let blob = if (x as i64 - 30).pow(2) + (y as i64 - 20).pow(2) < 150 {
                    255
                } else {
                    0
                };
                rgb.extend([v, v / 2, blob]);
            }
        }
        rgb
    }

    /// Applies a dihedral transform to an RGB image by moving pixels.
    fn transform_pixels(t: Dihedral, w: usize, h: usize, rgb: &[u8]) -> (usize, usize, Vec<u8>) {
        let (ow, oh) = match t {
            Dihedral::Rotate90
            | Dihedral::Rotate270
            | Dihedral::FlipPlus1
            | Dihedral::FlipMinus1 => (h, w),
            _ => (w, h),
        };
        let mut out = vec![0u8; ow * oh * 3];
        for y in 0..h {
            for x in 0..w {
                // Where source pixel (x, y) lands.
                let (nx, ny) = match t {
                    Dihedral::Original => (x, y),
                    Dihedral::Rotate90 => (y, w - 1 - x),
                    Dihedral::Rotate180 => (w - 1 - x, h - 1 - y),
                    Dihedral::Rotate270 => (h - 1 - y, x),
                    Dihedral::FlipX => (x, h - 1 - y),
                    Dihedral::FlipY => (w - 1 - x, y),
                    Dihedral::FlipPlus1 => (y, x),
                    Dihedral::FlipMinus1 => (h - 1 - y, w - 1 - x),
                };
                let (s, d) = ((y * w + x) * 3, (ny * ow + nx) * 3);
                out[d..d + 3].copy_from_slice(&rgb[s..s + 3]);
            }
        }
        (ow, oh, out)
    }

    #[test]
    fn each_dihedral_hash_is_closest_to_the_hash_of_its_transformed_pixels() {
        // Deriving a transform's hash from the coefficients is not bit-exact with hashing moved
        // pixels: the 64x64 sampling picks odd pixel positions, which a flip turns into even
        // ones. So each derived hash must be near its own transform and far from the others.
        let (w, h) = (128, 128);
        let rgb = pattern(w, h);
        let dihedral = hash_rgb_dihedral(w as u32, h as u32, &rgb);
        assert_eq!(dihedral.original(), hash_rgb(w as u32, h as u32, &rgb).hash);
        let direct: Vec<PdqHash> = Dihedral::ALL
            .iter()
            .map(|&t| {
                let (tw, th, moved) = transform_pixels(t, w, h, &rgb);
                hash_rgb(tw as u32, th as u32, &moved).hash
            })
            .collect();
        for (k, (t, derived)) in dihedral.iter().enumerate() {
            let distances: Vec<u32> = direct.iter().map(|d| derived.distance(d)).collect();
            assert!(distances[k] <= 16, "{}: {distances:?}", t.as_str());
            assert!(
                distances.iter().enumerate().all(|(j, &d)| j == k || d > 64),
                "{}: {distances:?}",
                t.as_str()
            );
        }
    }

    proptest! {
        #[test]
        fn distance_is_a_metric(a in any::<[u8; 32]>(), b in any::<[u8; 32]>(), c in any::<[u8; 32]>()) {
            let (a, b, c) = (PdqHash(a), PdqHash(b), PdqHash(c));
            prop_assert_eq!(a.distance(&a), 0);
            prop_assert_eq!(a.distance(&b), b.distance(&a));
            prop_assert!(a.distance(&c) <= a.distance(&b) + b.distance(&c));
            prop_assert_eq!(PdqHash::from_words(a.words()), a);
        }
    }
}
