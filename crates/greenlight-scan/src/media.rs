//! Media type from content, never from the file name: a `.jpg` that is really an MP4 is
//! hashed as video. Sniffing uses the `infer` crate's magic-number table; a few types it does
//! not know (C2PA sidecars, XMP sidecars) are recognised here.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// How many leading bytes are read to sniff a type (enough for ISO-BMFF `ftyp` brands and
/// every signature in `infer`'s table).
pub const SNIFF_LEN: usize = 8192;

/// The broad class of a file, which decides how it is analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// A still image: PDQ hash, C2PA, XMP.
    Image,
    /// A video: PDQ per frame at one frame per second, C2PA, XMP.
    Video,
    /// Audio: exact hash, C2PA, XMP.
    Audio,
    /// A C2PA manifest store kept beside the asset it describes (`NAME.c2pa`).
    C2paSidecar,
    /// Anything else: exact hash only.
    Other,
}

/// A sniffed media type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaType {
    /// MIME type, `application/octet-stream` when unknown.
    pub mime: String,
    /// The class that decides the analysis.
    pub kind: MediaKind,
}

/// Sniffs the type of `head`, the first bytes of a file.
pub fn sniff(head: &[u8]) -> MediaType {
    // A C2PA sidecar is a bare JUMBF superbox: a 4-byte length, then `jumb`.
    if head.len() >= 8 && &head[4..8] == b"jumb" {
        return MediaType {
            mime: "application/c2pa".into(),
            kind: MediaKind::C2paSidecar,
        };
    }
    if let Some(t) = professional_video(head) {
        return t;
    }
    if let Some(mime) = crate::sequence::sniff(head) {
        return MediaType {
            mime: mime.into(),
            kind: MediaKind::Image,
        };
    }
    match infer::get(head) {
        Some(t) => {
            let kind = match t.matcher_type() {
                infer::MatcherType::Image => MediaKind::Image,
                infer::MatcherType::Video => MediaKind::Video,
                infer::MatcherType::Audio => MediaKind::Audio,
                _ => MediaKind::Other,
            };
            MediaType {
                mime: t.mime_type().to_string(),
                kind,
            }
        }
        None => MediaType {
            mime: "application/octet-stream".into(),
            kind: MediaKind::Other,
        },
    }
}

/// The SMPTE universal label of an MXF partition pack (ST 377-1), up to the byte that tells
/// header, body or footer apart: every MXF file starts with its header partition pack, after
/// at most a 64 KiB run-in.
const MXF_PARTITION_KEY: [u8; 13] = [
    0x06, 0x0E, 0x2B, 0x34, 0x02, 0x05, 0x01, 0x01, 0x0D, 0x01, 0x02, 0x01, 0x01,
];

/// Delivery video formats `infer` does not know: MXF, MPEG transport streams (plain and
/// M2TS), YUV4MPEG2, and raw H.264 / HEVC elementary streams.
fn professional_video(head: &[u8]) -> Option<MediaType> {
    let video = |mime: &str| {
        Some(MediaType {
            mime: mime.into(),
            kind: MediaKind::Video,
        })
    };
    // MXF: the header partition key (byte 13 = 0x02), at the start or after a run-in.
    if head
        .windows(MXF_PARTITION_KEY.len() + 1)
        .any(|w| w[..13] == MXF_PARTITION_KEY && w[13] == 0x02)
    {
        return video("application/mxf");
    }
    // MPEG-TS: sync byte every 188 bytes; M2TS: every 192, after a 4-byte timestamp.
    let synced = |first: usize, stride: usize| {
        head.len() >= first + 3 * stride
            && (0..4).all(|i| head.get(first + i * stride) == Some(&0x47))
    };
    if synced(0, 188) {
        return video("video/mp2t");
    }
    if synced(4, 192) {
        return video("video/mp2t");
    }
    if head.starts_with(b"YUV4MPEG2 ") {
        return video("video/x-yuv4mpeg");
    }
    // Annex B start code, then a NAL header: H.264 SPS (type 7) / AUD (9), HEVC VPS (32) /
    // AUD (35).
    let nal = if head.starts_with(&[0, 0, 0, 1]) {
        head.get(4)
    } else if head.starts_with(&[0, 0, 1]) {
        head.get(3)
    } else {
        None
    };
    match nal {
        // H.264: a sequence parameter set (type 7, referenced) or an access unit delimiter.
        Some(&b) if (b & 0x9F == 0x07 && b & 0x60 != 0) || b == 0x09 => video("video/h264"),
        // HEVC: a video parameter set (type 32) or an access unit delimiter (type 35).
        Some(&0x40) | Some(&0x46) => video("video/h265"),
        _ => None,
    }
}

/// The media type of a video by ffprobe's container name.
pub fn video_mime(container: &str) -> String {
    let first = container.split(',').next().unwrap_or_default();
    match first {
        "mxf" | "mxf_d10" | "mxf_opatom" => "application/mxf",
        "mpegts" => "video/mp2t",
        "mov" => "video/quicktime",
        "matroska" => "video/x-matroska",
        "avi" => "video/x-msvideo",
        "h264" => "video/h264",
        "hevc" => "video/h265",
        "yuv4mpegpipe" => "video/x-yuv4mpeg",
        "mpeg" | "mpegvideo" => "video/mpeg",
        "ivf" => "video/x-ivf",
        "flv" => "video/x-flv",
        "webm" => "video/webm",
        "image2" | "jpeg_pipe" | "png_pipe" => "video/x-image-sequence",
        _ => "video/x-unknown",
    }
    .to_string()
}

/// Reads the head of a file and sniffs it.
pub fn sniff_file(path: &Path) -> io::Result<MediaType> {
    let file = File::open(path)?;
    let mut head = Vec::with_capacity(SNIFF_LEN);
    file.take(SNIFF_LEN as u64).read_to_end(&mut head)?;
    Ok(sniff(&head))
}

/// Whether the image decoder (and so PDQ) can read this type; other images (HEIC, AVIF,
/// JPEG XL, ...) get their exact hash and credentials only.
pub fn pdq_decodable(mime: &str) -> bool {
    matches!(
        mime,
        "image/jpeg" | "image/png" | "image/gif" | "image/webp" | "image/tiff" | "image/bmp"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_comes_from_content_not_name() {
        let png = [
            0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R',
        ];
        let t = sniff(&png);
        assert_eq!((t.mime.as_str(), t.kind), ("image/png", MediaKind::Image));
        let mp4 = [
            0, 0, 0, 0x18, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm', 0, 0, 2, 0,
        ];
        assert_eq!(sniff(&mp4).kind, MediaKind::Video);
        assert_eq!(sniff(b"plain text, nothing more").kind, MediaKind::Other);
    }

    #[test]
    fn a_jumbf_superbox_is_a_c2pa_sidecar() {
        let head = [0, 0, 0, 0x40, b'j', b'u', b'm', b'b', 0, 0];
        assert_eq!(sniff(&head).kind, MediaKind::C2paSidecar);
    }
}
