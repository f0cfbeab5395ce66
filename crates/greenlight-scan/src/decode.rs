//! Image decoding with hard limits, for perceptual hashing.
//!
//! Every image in a delivery is untrusted: a few kilobytes of PNG or JPEG can claim
//! 100,000 × 100,000 pixels (a decompression bomb), and truncated or corrupt files are common.
//! This module reads the header first and refuses absurd dimensions before anything is
//! allocated, caps the decoded allocation, and turns every failure into a [`DecodeError`] whose
//! variants a caller can report as an `UNREADABLE` finding. It never panics on hostile bytes
//! (a property test feeds it random and truncated input).
//!
//! JPEG goes through libjpeg-turbo (the `turbojpeg` crate): its output is bit-exact with
//! libjpeg's, which is what Meta's reference PDQ hasher sees, so PDQ hashes of JPEGs match the
//! reference bit for bit. Other formats (PNG, GIF, WebP, TIFF, BMP) go through the `image`
//! crate with [`image::Limits`] set.
//!
//! ```
//! use greenlight_scan::decode::{decode, DecodeError};
//! assert!(matches!(decode(b"not an image"), Err(DecodeError::Unsupported { .. })));
//! ```

use std::io::Cursor;

/// Largest width or height accepted, in pixels.
pub const MAX_DIMENSION: u32 = 20_000;

/// Largest decoded pixel buffer accepted, in bytes (512 MiB).
pub const MAX_DECODED_BYTES: u64 = 512 * 1024 * 1024;

/// Limits applied while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted width, in pixels.
    pub max_width: u32,
    /// Largest accepted height, in pixels.
    pub max_height: u32,
    /// Largest accepted decoded allocation, in bytes.
    pub max_alloc: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_width: MAX_DIMENSION,
            max_height: MAX_DIMENSION,
            max_alloc: MAX_DECODED_BYTES,
        }
    }
}

/// Why an image could not be decoded. Each variant maps to an `UNREADABLE` finding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The data ends before the image does.
    #[error("truncated {format} image: {message}")]
    Truncated {
        /// The format the data claims to be (e.g. `JPEG`).
        format: &'static str,
        /// What the decoder said.
        message: String,
    },
    /// The data is not a valid image of its format.
    #[error("corrupt {format} image: {message}")]
    Corrupt {
        /// The format the data claims to be.
        format: &'static str,
        /// What the decoder said.
        message: String,
    },
    /// The image is larger than the limits allow (a possible decompression bomb).
    #[error("{format} image of {width}x{height} pixels exceeds the limits ({limit})")]
    TooLarge {
        /// The format the data claims to be.
        format: &'static str,
        /// Claimed width in pixels (0 when unknown).
        width: u64,
        /// Claimed height in pixels (0 when unknown).
        height: u64,
        /// Which limit was hit.
        limit: String,
    },
    /// Not an image format we decode, or a variant of one we do not support.
    #[error("unsupported image: {message}")]
    Unsupported {
        /// What is unsupported.
        message: String,
    },
}

/// The image formats recognised from their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageKind {
    /// JPEG (JFIF, Exif), decoded with libjpeg-turbo.
    Jpeg,
    /// PNG.
    Png,
    /// GIF (first frame).
    Gif,
    /// WebP.
    WebP,
    /// TIFF.
    Tiff,
    /// BMP.
    Bmp,
}

impl ImageKind {
    /// The format's usual name, e.g. `JPEG`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "JPEG",
            Self::Png => "PNG",
            Self::Gif => "GIF",
            Self::WebP => "WebP",
            Self::Tiff => "TIFF",
            Self::Bmp => "BMP",
        }
    }

    fn to_image_format(self) -> image::ImageFormat {
        match self {
            Self::Jpeg => image::ImageFormat::Jpeg,
            Self::Png => image::ImageFormat::Png,
            Self::Gif => image::ImageFormat::Gif,
            Self::WebP => image::ImageFormat::WebP,
            Self::Tiff => image::ImageFormat::Tiff,
            Self::Bmp => image::ImageFormat::Bmp,
        }
    }
}

/// Recognises an image format from the first bytes of a file (not its name).
pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
    match image::guess_format(bytes).ok()? {
        image::ImageFormat::Jpeg => Some(ImageKind::Jpeg),
        image::ImageFormat::Png => Some(ImageKind::Png),
        image::ImageFormat::Gif => Some(ImageKind::Gif),
        image::ImageFormat::WebP => Some(ImageKind::WebP),
        image::ImageFormat::Tiff => Some(ImageKind::Tiff),
        image::ImageFormat::Bmp => Some(ImageKind::Bmp),
        _ => None,
    }
}

/// How the decoded samples are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channels {
    /// Three bytes per pixel, R, G, B.
    Rgb,
    /// One byte per pixel (grey level). Kept apart from RGB because PDQ takes a grey level as
    /// the luminance itself, where `0.299 g + 0.587 g + 0.114 g` in `f32` is not always `g`.
    Gray,
}

impl Channels {
    /// Bytes per pixel.
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            Self::Rgb => 3,
            Self::Gray => 1,
        }
    }
}

/// A decoded 8-bit image, rows top to bottom, no padding. Alpha is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Layout of `pixels`.
    pub channels: Channels,
    /// `width * height * channels.bytes_per_pixel()` bytes.
    pub pixels: Vec<u8>,
    /// The format the image was decoded from.
    pub kind: ImageKind,
}

/// Decodes `bytes` with the default [`Limits`].
pub fn decode(bytes: &[u8]) -> Result<DecodedImage, DecodeError> {
    decode_with_limits(bytes, &Limits::default())
}

/// Decodes `bytes`, refusing anything beyond `limits` before allocating for it.
pub fn decode_with_limits(bytes: &[u8], limits: &Limits) -> Result<DecodedImage, DecodeError> {
    match sniff(bytes) {
        Some(ImageKind::Jpeg) => decode_jpeg(bytes, limits, JpegScale::Full, false),
        Some(kind) => decode_with_image_crate(bytes, kind, limits),
        None => Err(DecodeError::Unsupported {
            message: "not a JPEG, PNG, GIF, WebP, TIFF or BMP image".into(),
        }),
    }
}

/// Decodes a JPEG at a reduced size when that is cheaper: libjpeg-turbo can scale by 1/2, 1/4
/// or 1/8 inside its inverse DCT. The largest reduction is chosen that keeps both sides at least
/// `min_side` pixels. Returns `None` when the data is not a JPEG, or when no reduction applies.
pub fn decode_jpeg_reduced(
    bytes: &[u8],
    limits: &Limits,
    min_side: u32,
) -> Option<Result<DecodedImage, DecodeError>> {
    if sniff(bytes) != Some(ImageKind::Jpeg) {
        return None;
    }
    let header = match turbojpeg::read_header(bytes) {
        Ok(header) => header,
        Err(err) => return Some(Err(jpeg_error(err))),
    };
    if header.is_lossless
        || !matches!(
            header.colorspace,
            turbojpeg::Colorspace::YCbCr | turbojpeg::Colorspace::Gray
        )
    {
        return None;
    }
    let min_side = min_side as usize;
    let denom = [8usize, 4, 2].into_iter().find(|&d| {
        let f = turbojpeg::ScalingFactor::new(1, d);
        f.scale(header.width) >= min_side && f.scale(header.height) >= min_side
    })?;
    Some(decode_jpeg(bytes, limits, JpegScale::Reduced(denom), false))
}

#[derive(Debug, Clone, Copy)]
enum JpegScale {
    Full,
    Reduced(usize),
}

fn jpeg_error(err: turbojpeg::Error) -> DecodeError {
    let message = err.to_string();
    let lower = message.to_ascii_lowercase();
    // libjpeg's wording for data that stops early: "Premature end of JPEG file",
    // "Corrupt JPEG data: premature end of data segment".
    if lower.contains("premature end")
        || lower.contains("empty input")
        || lower.contains("insufficient data")
    {
        DecodeError::Truncated {
            format: "JPEG",
            message,
        }
    } else {
        DecodeError::Corrupt {
            format: "JPEG",
            message,
        }
    }
}

fn check_size(
    format: &'static str,
    width: u64,
    height: u64,
    bytes_per_pixel: u64,
    limits: &Limits,
) -> Result<(), DecodeError> {
    let too_large = |limit: String| DecodeError::TooLarge {
        format,
        width,
        height,
        limit,
    };
    if width == 0 || height == 0 {
        return Err(DecodeError::Corrupt {
            format,
            message: format!("image has no pixels ({width}x{height})"),
        });
    }
    if width > u64::from(limits.max_width) || height > u64::from(limits.max_height) {
        return Err(too_large(format!(
            "at most {}x{} pixels",
            limits.max_width, limits.max_height
        )));
    }
    let bytes = width.saturating_mul(height).saturating_mul(bytes_per_pixel);
    if bytes > limits.max_alloc {
        return Err(too_large(format!(
            "at most {} MiB decoded",
            limits.max_alloc / (1024 * 1024)
        )));
    }
    Ok(())
}

/// Decodes a JPEG whose data ends early as far as it goes: libjpeg fills the rows it could
/// not decode with grey, as Meta's PDQ hasher (which decodes with libjpeg) hashes such a file.
/// Any other error is returned as [`decode_with_limits`] would.
pub fn decode_truncated_jpeg(bytes: &[u8], limits: &Limits) -> Result<DecodedImage, DecodeError> {
    decode_jpeg(bytes, limits, JpegScale::Full, true)
}

fn decode_jpeg(
    bytes: &[u8],
    limits: &Limits,
    scale: JpegScale,
    keep_partial: bool,
) -> Result<DecodedImage, DecodeError> {
    use turbojpeg::{Colorspace, PixelFormat};
    let mut decompressor = turbojpeg::Decompressor::new().map_err(jpeg_error)?;
    let header = decompressor.read_header(bytes).map_err(jpeg_error)?;
    // Refuse absurd dimensions from the header alone, before any pixel buffer exists.
    check_size("JPEG", header.width as u64, header.height as u64, 3, limits)?;
    let channels = match header.colorspace {
        Colorspace::Gray => Channels::Gray,
        Colorspace::YCbCr | Colorspace::RGB => Channels::Rgb,
        // libjpeg-turbo decodes CMYK/YCCK only to CMYK samples; the `image` crate converts them.
        Colorspace::CMYK | Colorspace::YCCK => {
            return decode_with_image_crate(bytes, ImageKind::Jpeg, limits);
        }
    };
    // A progressive JPEG can hold thousands of tiny scans that each cost a full pass over the
    // coefficients (a CPU bomb in a small file). Real encoders write about ten.
    decompressor.set_scan_limit(500).map_err(jpeg_error)?;
    let (width, height) = match scale {
        JpegScale::Full => (header.width, header.height),
        JpegScale::Reduced(denom) => {
            let factor = turbojpeg::ScalingFactor::new(1, denom);
            decompressor
                .set_scaling_factor(factor)
                .map_err(jpeg_error)?;
            (factor.scale(header.width), factor.scale(header.height))
        }
    };
    let bpp = channels.bytes_per_pixel();
    let format = if channels == Channels::Gray {
        PixelFormat::GRAY
    } else {
        PixelFormat::RGB
    };
    let mut pixels = vec![0u8; width * height * bpp];
    let image = turbojpeg::Image {
        pixels: pixels.as_mut_slice(),
        width,
        pitch: width * bpp,
        height,
        format,
    };
    match decompressor.decompress(bytes, image).map_err(jpeg_error) {
        Ok(()) => {}
        Err(DecodeError::Truncated { .. }) if keep_partial => {}
        Err(e) => return Err(e),
    }
    Ok(DecodedImage {
        width: u32::try_from(width).map_err(|_| DecodeError::Corrupt {
            format: "JPEG",
            message: "width".into(),
        })?,
        height: u32::try_from(height).map_err(|_| DecodeError::Corrupt {
            format: "JPEG",
            message: "height".into(),
        })?,
        channels,
        pixels,
        kind: ImageKind::Jpeg,
    })
}

fn image_error(format: &'static str, err: image::ImageError) -> DecodeError {
    use image::ImageError;
    match err {
        ImageError::Limits(e) => DecodeError::TooLarge {
            format,
            width: 0,
            height: 0,
            limit: e.to_string(),
        },
        ImageError::Unsupported(e) => DecodeError::Unsupported {
            message: format!("{format}: {e}"),
        },
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            DecodeError::Truncated {
                format,
                message: e.to_string(),
            }
        }
        other => {
            let message = other.to_string();
            let lower = message.to_ascii_lowercase();
            if lower.contains("eof") || lower.contains("end of") || lower.contains("truncated") {
                DecodeError::Truncated { format, message }
            } else {
                DecodeError::Corrupt { format, message }
            }
        }
    }
}

/// Decodes with the `image` crate (any format it supports), with the same limits. Public for
/// comparing decoders; [`decode`] is what hashing uses.
pub fn decode_with_image_crate(
    bytes: &[u8],
    kind: ImageKind,
    limits: &Limits,
) -> Result<DecodedImage, DecodeError> {
    let format = kind.name();
    let reader = || {
        let mut reader =
            image::ImageReader::with_format(Cursor::new(bytes), kind.to_image_format());
        let mut image_limits = image::Limits::default();
        image_limits.max_image_width = Some(limits.max_width);
        image_limits.max_image_height = Some(limits.max_height);
        image_limits.max_alloc = Some(limits.max_alloc);
        reader.limits(image_limits);
        reader
    };
    let (width, height) = reader()
        .into_dimensions()
        .map_err(|e| image_error(format, e))?;
    check_size(format, u64::from(width), u64::from(height), 3, limits)?;
    let image = reader().decode().map_err(|e| image_error(format, e))?;
    let (channels, pixels) = if image.color().has_color() {
        (Channels::Rgb, image.into_rgb8().into_raw())
    } else {
        (Channels::Gray, image.into_luma8().into_raw())
    };
    Ok(DecodedImage {
        width,
        height,
        channels,
        pixels,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x * 7) as u8, (y * 3) as u8, 90])
        });
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .expect("PNG encodes in memory");
        out
    }

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x * 5) as u8, (y * 2) as u8, 40])
        });
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Jpeg)
            .expect("JPEG encodes in memory");
        out
    }

    /// Rewrites the SOF0 frame header of a baseline JPEG to claim other dimensions.
    fn patch_jpeg_dimensions(mut bytes: Vec<u8>, width: u16, height: u16) -> Vec<u8> {
        let pos = bytes
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("baseline JPEG has a SOF0 marker");
        bytes[pos + 5..pos + 7].copy_from_slice(&height.to_be_bytes());
        bytes[pos + 7..pos + 9].copy_from_slice(&width.to_be_bytes());
        bytes
    }

    #[test]
    fn png_and_jpeg_decode_to_rgb() {
        let p = decode(&png(30, 20)).expect("valid PNG");
        assert_eq!(
            (p.width, p.height, p.channels, p.pixels.len()),
            (30, 20, Channels::Rgb, 30 * 20 * 3)
        );
        let j = decode(&jpeg(33, 17)).expect("valid JPEG");
        assert_eq!(
            (j.width, j.height, j.kind, j.pixels.len()),
            (33, 17, ImageKind::Jpeg, 33 * 17 * 3)
        );
    }

    #[test]
    fn grey_png_stays_grey() {
        let img = image::GrayImage::from_fn(8, 8, |x, _| image::Luma([x as u8 * 10]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .expect("PNG encodes");
        let d = decode(&out).expect("valid PNG");
        assert_eq!(d.channels, Channels::Gray);
        assert_eq!(d.pixels[..3], [0, 10, 20]);
    }

    #[test]
    fn jpeg_claiming_absurd_dimensions_is_refused_before_decoding() {
        let bomb = patch_jpeg_dimensions(jpeg(16, 16), 60_000, 60_000);
        match decode(&bomb) {
            Err(DecodeError::TooLarge {
                width: 60_000,
                height: 60_000,
                ..
            }) => {}
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn allocation_limit_applies_below_the_dimension_limit() {
        let limits = Limits {
            max_alloc: 1000,
            ..Limits::default()
        };
        assert!(matches!(
            decode_with_limits(&jpeg(40, 40), &limits),
            Err(DecodeError::TooLarge { .. })
        ));
        assert!(matches!(
            decode_with_limits(&png(40, 40), &limits),
            Err(DecodeError::TooLarge { .. })
        ));
    }

    #[test]
    fn png_claiming_absurd_dimensions_is_refused() {
        // A valid PNG header (CRC recomputed) claiming 100000x100000 pixels: a decompression
        // bomb's header. It must be refused as too large, before any pixel buffer exists.
        let mut bytes = png(16, 16);
        bytes[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        assert!(
            matches!(decode(&bytes), Err(DecodeError::TooLarge { .. })),
            "{:?}",
            decode(&bytes)
        );
        // Within the dimension limit but over the allocation limit (15000^2 RGB > 512 MiB).
        bytes[16..20].copy_from_slice(&15_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&15_000u32.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        assert!(
            matches!(decode(&bytes), Err(DecodeError::TooLarge { .. })),
            "{:?}",
            decode(&bytes)
        );
    }

    /// CRC-32 (ISO-HDLC) as PNG chunks use it, bit by bit.
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn truncated_files_are_errors_not_panics() {
        let j = jpeg(64, 64);
        assert!(decode(&j[..j.len() / 2]).is_err());
        let p = png(64, 64);
        assert!(matches!(
            decode(&p[..p.len() / 2]),
            Err(DecodeError::Truncated { .. } | DecodeError::Corrupt { .. })
        ));
    }

    #[test]
    fn reduced_jpeg_decode_keeps_both_sides_above_the_minimum() {
        let big = jpeg(1200, 1100);
        let d = decode_jpeg_reduced(&big, &Limits::default(), 512)
            .expect("reduction applies")
            .expect("decodes");
        assert_eq!((d.width, d.height), (600, 550));
        assert!(decode_jpeg_reduced(&jpeg(600, 600), &Limits::default(), 512).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn truncated_or_flipped_images_never_panic(cut in 0usize..4000, flip in 0usize..4000, value in any::<u8>()) {
            for mut bytes in [jpeg(40, 30), png(40, 30)] {
                if flip < bytes.len() {
                    bytes[flip] = value;
                }
                bytes.truncate(cut.min(bytes.len()));
                let _ = decode(&bytes);
            }
        }
    }
}
