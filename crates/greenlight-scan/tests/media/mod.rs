//! Media made by the tests themselves: images with the `image` crate, C2PA-signed copies with
//! `c2pa::Builder` and an ephemeral signer (no key fixtures), videos with `ffmpeg`.
#![allow(dead_code)]

use std::io::Cursor;
use std::path::Path;

use base64::Engine;
use c2pa::Signer;
use image::{ImageFormat, Rgb, RgbImage};

pub const AI: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";
pub const CAPTURE: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture";

/// A textured picture, different for each seed (shapes, not noise, so PDQ has structure).
pub fn picture(w: u32, h: u32, seed: u32) -> RgbImage {
    // Low spatial frequencies only: PDQ looks at a 64x64 downsample, and fine detail would
    // alias differently at different sizes, which is not what the tolerance tests are about.
    let s = 1.0 + (seed % 7) as f32 * 0.35;
    let phase = seed as f32 * 0.9;
    RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
        let a =
            ((fx * 5.0 * s + phase).sin() * (fy * 3.0 + phase * 0.5).cos() * 110.0 + 128.0) as u8;
        let b = (((fx - 0.3).hypot(fy - 0.6) * 9.0 * s + phase).sin() * 110.0 + 128.0) as u8;
        let c = if ((fx * 4.0 + phase) as u32 + (fy * 3.0) as u32 + seed).is_multiple_of(2) {
            210
        } else {
            40
        };
        Rgb([a, b, c])
    })
}

pub fn encode(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("image encodes");
    out.into_inner()
}

pub fn png(w: u32, h: u32, seed: u32) -> Vec<u8> {
    encode(&picture(w, h, seed), ImageFormat::Png)
}

/// Signs `bytes` (of `format`) with a fresh ephemeral signer: a `c2pa.created` action with the
/// given digital source type, and optionally one signed ingredient. Returns the signed bytes
/// and the PEM of the signer's CA (to use as a trust anchor).
pub fn sign(
    bytes: &[u8],
    format: &str,
    source_type: &str,
    ingredient: Option<(&[u8], &str)>,
) -> (Vec<u8>, String) {
    let signer = c2pa::EphemeralSigner::new("greenlight-test.local").expect("ephemeral signer");
    let definition = serde_json::json!({
        "title": "test asset",
        "claim_generator_info": [{"name": "greenlight-test", "version": "1"}],
        "assertions": [{
            "label": "c2pa.actions",
            "data": {"actions": [{
                "action": "c2pa.created",
                "digitalSourceType": source_type,
                "softwareAgent": {"name": "TestGen"}
            }]}
        }]
    });
    let mut builder = builder(&definition);
    if let Some((ing, ing_format)) = ingredient {
        let json = serde_json::json!({"title": "ingredient", "relationship": "componentOf"});
        builder
            .add_ingredient_from_stream(
                json.to_string(),
                ing_format,
                &mut Cursor::new(ing.to_vec()),
            )
            .expect("ingredient");
    }
    let mut dest = Cursor::new(Vec::new());
    builder
        .sign(&signer, format, &mut Cursor::new(bytes.to_vec()), &mut dest)
        .expect("signs");
    let certs = signer.certs().expect("certs");
    let ca = certs.last().expect("a CA certificate");
    let b64 = base64::engine::general_purpose::STANDARD.encode(ca);
    let lines: Vec<_> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    (
        dest.into_inner(),
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        ),
    )
}

/// An XMP packet declaring `source_type`, appended inside a PNG `iTXt` chunk-free place: the
/// scan locates packets by scanning, so a PNG with the packet in a text chunk is enough.
pub fn png_with_xmp(w: u32, h: u32, seed: u32, source_type: &str) -> Vec<u8> {
    let png = png(w, h, seed);
    let packet = format!(
        "<?xpacket begin=\"\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?><x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\
         <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
         <rdf:Description xmlns:Iptc4xmpExt=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\" \
         Iptc4xmpExt:DigitalSourceType=\"{source_type}\"/></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>"
    );
    insert_itxt(&png, "XML:com.adobe.xmp", packet.as_bytes())
}

/// Inserts an uncompressed iTXt chunk after IHDR.
pub fn insert_itxt(png: &[u8], keyword: &str, text: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    data.extend_from_slice(keyword.as_bytes());
    data.extend_from_slice(&[0, 0, 0, 0, 0]);
    data.extend_from_slice(text);
    let mut chunk = Vec::new();
    chunk.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = b"iTXt".to_vec();
    body.extend_from_slice(&data);
    chunk.extend_from_slice(&body);
    chunk.extend_from_slice(&crc32(&body).to_be_bytes());
    let ihdr_end = 8 + 8 + 13 + 4;
    let mut out = png[..ihdr_end].to_vec();
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&png[ihdr_end..]);
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Whether `ffmpeg` runs here; tests needing it print why they skip.
pub fn ffmpeg() -> bool {
    std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A `seconds`-long test video (`testsrc`, 320x240, 25 fps, H.264 or MPEG-4) at `path`.
pub fn testsrc(path: &Path, seconds: u32, pattern: &str) {
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("{pattern}=duration={seconds}:size=320x240:rate=25"))
        .args(["-pix_fmt", "yuv420p"])
        .arg(path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg made {}", path.display());
}

/// A builder for a manifest definition, with a default context.
pub fn builder(definition: &serde_json::Value) -> c2pa::Builder {
    c2pa::Builder::from_context(c2pa::Context::new())
        .with_definition(definition.to_string())
        .expect("builder")
}
