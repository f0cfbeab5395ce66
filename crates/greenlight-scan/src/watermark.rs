//! The invisible watermark the Stable Diffusion reference pipelines embed: the `dwtDct`
//! method of the `invisible-watermark` library (PyPI 0.2.0), as the SD 1.x/2.x scripts and
//! the SDXL/SVD pipelines call it.
//!
//! **The method, as that package decodes it.** The picture (BGR) is converted to YUV with
//! OpenCV's 8-bit fixed-point BT.601 arithmetic; only the U plane carries the mark (the
//! package's scales are `[0, 36, 36]` but its loop visits channels 0 and 1 only). The U plane,
//! cropped to multiples of 4, goes through one level of a 2-D Haar DWT; its approximation band is
//! cut into 4×4 blocks, row by row. Each block casts one vote: of its 15 values after the first,
//! the one of largest magnitude (the first on a tie), taken modulo 36, is a 1 when above 18.
//! Block `k` votes for bit `k mod n` of an `n`-bit message; a bit is 1 when its share of 1-votes
//! times 255 exceeds 127. Despite the name, 0.2.0's `dwtDct` applies no DCT to the blocks (only
//! its unused SVD variant does), so none is computed here.
//!
//! **Bit-exact.** The votes equal the package's on every block of the reference fixtures
//! (`tests/watermark_reference.rs`, made by `scripts/watermark-fixtures.py`). That needs
//! OpenCV's integer YUV (checked against OpenCV on all 2^24 colours when the fixtures were
//! made) and PyWavelets' Haar arithmetic, `s·x[2i+1] + s·x[2i]` with `s = 0.7071067811865476`,
//! rows first, then columns, in `f64` (the factored `s·(x[2i+1] + x[2i])` changes 3 of 1,024
//! votes on the SDXL fixture). The arithmetic is a dozen lines, so it is written here
//! rather than pulled in with a wavelet crate whose summation order would have to be checked.
//!
//! **Messages and thresholds** ([`Message`]): SDXL's 48 bits `0xB3EC907BB19E` count from 36
//! matching bits, as Stability's own detector says; `StableDiffusionV1` (136 bits) and `SDV2`
//! (32 bits) count from 89 and 26 bits, the smallest counts whose chance on random bits is no
//! greater than SDXL's (3.6 × 10⁻⁴). Both channel orders are tried, because older diffusers
//! releases handed RGB pixels to an encoder that expects BGR.
//!
//! Memory stays bounded whatever the picture's size: eight rows of pixels are turned into one
//! row of blocks at a time.

use serde::{Deserialize, Serialize};

/// PyWavelets' Haar filter coefficient: `1/√2` rounded to the nearest `f64`
/// (0.7071067811865476), the same double its C tables hold.
const HAAR: f64 = std::f64::consts::FRAC_1_SQRT_2;

/// The package's quantisation step for the U plane.
const SCALE: f64 = 36.0;

/// The package refuses pictures of fewer pixels than this (256 × 256).
pub const MIN_PIXELS: usize = 256 * 256;

/// Which way round the picture's channels are handed to the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelOrder {
    /// The picture's own colours (the encoder was given BGR, as it expects).
    Bgr,
    /// Red and blue swapped (the encoder was given RGB, as older diffusers did).
    Rgb,
}

impl ChannelOrder {
    /// `bgr` or `rgb`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bgr => "bgr",
            Self::Rgb => "rgb",
        }
    }
}

/// A message the reference pipelines embed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Message {
    /// SDXL and SVD (Stability's generative-models, diffusers): 48 bits `0xB3EC907BB19E`.
    Sdxl,
    /// Stable Diffusion 1.x scripts: the bytes of `StableDiffusionV1`.
    Sd1,
    /// Stable Diffusion 2.x scripts: the bytes of `SDV2`.
    Sd2,
}

impl Message {
    /// Every message, in the order they are tried.
    pub const ALL: [Message; 3] = [Message::Sdxl, Message::Sd1, Message::Sd2];

    /// The message's bits, most significant first (as the package unpacks them).
    pub fn bits(self) -> Vec<bool> {
        fn of_bytes(bytes: &[u8]) -> Vec<bool> {
            bytes
                .iter()
                .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1 == 1))
                .collect()
        }
        match self {
            Self::Sdxl => of_bytes(&0xB3EC_907B_B19E_u64.to_be_bytes()[2..]),
            Self::Sd1 => of_bytes(b"StableDiffusionV1"),
            Self::Sd2 => of_bytes(b"SDV2"),
        }
    }

    /// How many bits must match for the mark to count (see the module documentation).
    pub fn threshold(self) -> u32 {
        match self {
            Self::Sdxl => 36,
            Self::Sd1 => 89,
            Self::Sd2 => 26,
        }
    }

    /// The trace signal: `watermark:sdxl`, `watermark:sd1`, `watermark:sd2`.
    pub fn signal(self) -> &'static str {
        match self {
            Self::Sdxl => "watermark:sdxl",
            Self::Sd1 => "watermark:sd1",
            Self::Sd2 => "watermark:sd2",
        }
    }

    /// What the message is, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Sdxl => "SDXL/SVD watermark 0xB3EC907BB19E",
            Self::Sd1 => "Stable Diffusion 1.x watermark \"StableDiffusionV1\"",
            Self::Sd2 => "Stable Diffusion 2.x watermark \"SDV2\"",
        }
    }
}

/// A watermark found in a picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detection {
    /// Which message.
    pub message: Message,
    /// In which channel order.
    pub order: ChannelOrder,
    /// How many of its bits were decoded as embedded.
    pub matched: u32,
    /// How many bits it has.
    pub total: u32,
}

/// An 8-bit picture to decode: RGB (3 bytes a pixel) or grey (1 byte), rows top to bottom.
#[derive(Debug, Clone, Copy)]
pub struct Picture<'a> {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// The samples.
    pub pixels: &'a [u8],
    /// 3 for RGB, 1 for grey.
    pub bytes_per_pixel: usize,
}

impl Picture<'_> {
    /// Whether the buffer holds the picture and it is large enough for the method.
    fn usable(&self) -> bool {
        matches!(self.bytes_per_pixel, 1 | 3)
            && self
                .width
                .checked_mul(self.height)
                .and_then(|n| n.checked_mul(self.bytes_per_pixel))
                .is_some_and(|n| self.pixels.len() >= n)
            && self.width.saturating_mul(self.height) >= MIN_PIXELS
    }

    /// The U samples of OpenCV's `COLOR_BGR2YUV` for the first `out.len()` pixels of `row`,
    /// with blue taken from the picture's blue channel (`Bgr`) or its red one (`Rgb`).
    fn u_row(&self, row: usize, order: ChannelOrder, out: &mut [f64]) {
        let start = row * self.width * self.bytes_per_pixel;
        let samples = &self.pixels[start..start + out.len() * self.bytes_per_pixel];
        if self.bytes_per_pixel == 1 {
            for (o, &v) in out.iter_mut().zip(samples) {
                let v = i32::from(v);
                *o = f64::from(u_of(v, v, v));
            }
            return;
        }
        let (ri, bi) = match order {
            ChannelOrder::Bgr => (0, 2),
            ChannelOrder::Rgb => (2, 0),
        };
        for (o, p) in out.iter_mut().zip(samples.chunks_exact(3)) {
            let (r, g, b) = (i32::from(p[ri]), i32::from(p[1]), i32::from(p[bi]));
            *o = f64::from(u_of(r, g, b));
        }
    }
}

/// OpenCV's fixed point (14 fractional bits): Y = 0.114 B + 0.587 G + 0.299 R,
/// U = 0.492 (B - Y) + 128, each rounded; then saturated to 8 bits.
#[inline]
fn u_of(r: i32, g: i32, b: i32) -> i32 {
    let y = (b * 1868 + g * 9617 + r * 4899 + (1 << 13)) >> 14;
    (((b - y) * 8061 + (128 << 14) + (1 << 13)) >> 14).clamp(0, 255)
}

/// Calls `vote(block, one)` for every 4×4 block of the Haar approximation of the picture's U
/// plane, in the package's order. Returns the number of blocks, or `None` (and casts no vote)
/// when the picture is smaller than the method allows or its buffer is short.
pub fn for_each_vote(
    picture: &Picture<'_>,
    order: ChannelOrder,
    mut vote: impl FnMut(usize, bool),
) -> Option<usize> {
    if !picture.usable() {
        return None;
    }
    // The package crops the plane to multiples of 4; the approximation band is half that size,
    // and its blocks cover whole multiples of 4 of it.
    let (w4, h4) = (picture.width / 4 * 4, picture.height / 4 * 4);
    let (aw, ah) = (w4 / 2, h4 / 2);
    let (bw, bh) = (aw / 4, ah / 4);
    let mut band = vec![[0f64; 4]; aw]; // four rows of the approximation band, by column
    let mut pair = vec![0f64; w4]; // one row of the vertical step
    let (mut top, mut bottom) = (vec![0f64; w4], vec![0f64; w4]);
    let mut block = 0usize;
    for by in 0..bh {
        for r in 0..4 {
            let row = (by * 4 + r) * 2;
            picture.u_row(row, order, &mut top);
            picture.u_row(row + 1, order, &mut bottom);
            // Rows first: s·x[2i+1] + s·x[2i], as PyWavelets sums it.
            for ((p, t), b) in pair.iter_mut().zip(&top).zip(&bottom) {
                *p = HAAR * b + HAAR * t;
            }
            for (m, column) in band.iter_mut().enumerate() {
                column[r] = HAAR * pair[2 * m + 1] + HAAR * pair[2 * m];
            }
        }
        for bx in 0..bw {
            // Row-major within the block, skipping its first value; the first maximum wins.
            let mut best = -1.0f64;
            for k in 1..16 {
                let v = band[bx * 4 + k % 4][k / 4].abs();
                if v > best {
                    best = v;
                }
            }
            vote(block, best % SCALE > 0.5 * SCALE);
            block += 1;
        }
    }
    Some(block)
}

/// Every block's vote, in order (see [`for_each_vote`]).
pub fn block_votes(picture: &Picture<'_>, order: ChannelOrder) -> Option<Vec<bool>> {
    let mut votes = Vec::new();
    for_each_vote(picture, order, |_, v| votes.push(v))?;
    Some(votes)
}

/// The bits of an `len`-bit message decoded from per-bit vote counts, as the package decides
/// them: `mean × 255 > 127`, where a bit without votes is 0.
fn decide(ones: &[u32], counts: &[u32]) -> Vec<bool> {
    ones.iter()
        .zip(counts)
        .map(|(&o, &c)| c > 0 && f64::from(o) / f64::from(c) * 255.0 > 127.0)
        .collect()
}

/// The `len` bits the package decodes from these votes.
pub fn bits_from_votes(votes: &[bool], len: usize) -> Vec<bool> {
    let mut ones = vec![0u32; len];
    let mut counts = vec![0u32; len];
    if len == 0 {
        return vec![];
    }
    for (k, &v) in votes.iter().enumerate() {
        counts[k % len] += 1;
        ones[k % len] += u32::from(v);
    }
    decide(&ones, &counts)
}

/// How many bits of `decoded` equal the message's.
pub fn matching_bits(decoded: &[bool], message: Message) -> u32 {
    decoded
        .iter()
        .zip(message.bits())
        .filter(|(a, b)| **a == *b)
        .count() as u32
}

/// Every message in both channel orders, with its matching bit count, strongest match first.
pub fn decode_all(picture: &Picture<'_>) -> Vec<Detection> {
    let mut out = Vec::new();
    for order in [ChannelOrder::Bgr, ChannelOrder::Rgb] {
        let lens: Vec<usize> = Message::ALL.iter().map(|m| m.bits().len()).collect();
        let mut ones: Vec<Vec<u32>> = lens.iter().map(|&n| vec![0; n]).collect();
        let mut counts: Vec<Vec<u32>> = lens.iter().map(|&n| vec![0; n]).collect();
        let cast = for_each_vote(picture, order, |k, v| {
            for (i, &n) in lens.iter().enumerate() {
                counts[i][k % n] += 1;
                ones[i][k % n] += u32::from(v);
            }
        });
        if cast.is_none() {
            return vec![];
        }
        for (i, message) in Message::ALL.into_iter().enumerate() {
            let bits = decide(&ones[i], &counts[i]);
            out.push(Detection {
                message,
                order,
                matched: matching_bits(&bits, message),
                total: lens[i] as u32,
            });
        }
    }
    out.sort_by(|a, b| {
        (u64::from(b.matched) * u64::from(a.total))
            .cmp(&(u64::from(a.matched) * u64::from(b.total)))
    });
    out
}

/// The watermark in a picture: the strongest message that reaches its threshold, in either
/// channel order; `None` when none does or the picture is too small for the method.
pub fn detect(picture: &Picture<'_>) -> Option<Detection> {
    decode_all(picture)
        .into_iter()
        .find(|d| d.matched >= d.message.threshold())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_messages_have_the_reference_lengths() {
        assert_eq!(Message::Sdxl.bits().len(), 48);
        assert_eq!(Message::Sd1.bits().len(), 136);
        assert_eq!(Message::Sd2.bits().len(), 32);
        // 0xB3 = 1011 0011, most significant bit first.
        assert_eq!(
            &Message::Sdxl.bits()[..8],
            &[true, false, true, true, false, false, true, true]
        );
    }

    #[test]
    fn a_flat_grey_picture_carries_no_watermark() {
        let pixels = vec![128u8; 300 * 300];
        let picture = Picture {
            width: 300,
            height: 300,
            pixels: &pixels,
            bytes_per_pixel: 1,
        };
        assert_eq!(detect(&picture), None);
        assert_eq!(decode_all(&picture).len(), 6);
    }

    #[test]
    fn a_picture_below_the_methods_size_or_with_a_short_buffer_is_not_decoded() {
        let pixels = vec![0u8; 255 * 256 * 3];
        let small = Picture {
            width: 255,
            height: 256,
            pixels: &pixels,
            bytes_per_pixel: 3,
        };
        assert_eq!(block_votes(&small, ChannelOrder::Bgr), None);
        let short = Picture {
            width: 512,
            height: 512,
            pixels: &pixels,
            bytes_per_pixel: 3,
        };
        assert_eq!(block_votes(&short, ChannelOrder::Bgr), None);
        assert!(decode_all(&short).is_empty());
    }

    #[test]
    fn bits_follow_the_packages_majority_rule() {
        // Bit 0: 1 of 2 votes (0.5 * 255 = 127.5 > 127): 1. Bit 1: 0 of 2: 0.
        assert_eq!(
            bits_from_votes(&[true, false, false, false], 2),
            [true, false]
        );
        assert_eq!(bits_from_votes(&[true], 3), [true, false, false]);
    }
}
