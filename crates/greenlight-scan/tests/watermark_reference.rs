//! The DWT-DCT watermark decoder against the reference package: `invisible-watermark` 0.2.0
//! decoded the PNGs in `fixtures/watermark/` (made by `scripts/watermark-fixtures.py`, which
//! also embedded the marks the way the Stable Diffusion pipelines do) and recorded every
//! per-block vote and the decoded bits; ours must give the same, block for block.

use std::path::{Path, PathBuf};

use greenlight_scan::watermark::{
    ChannelOrder, Message, Picture, bits_from_votes, block_votes, decode_all, detect, matching_bits,
};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/watermark")
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("expected.json parses")
}

fn rgb(file: &str) -> (usize, usize, Vec<u8>) {
    let img = image::open(fixtures().join(file))
        .expect("fixture decodes")
        .to_rgb8();
    (img.width() as usize, img.height() as usize, img.into_raw())
}

fn as_bits(s: &str) -> Vec<bool> {
    s.bytes().map(|b| b == b'1').collect()
}

#[test]
fn votes_and_bits_equal_the_reference_packages_on_every_fixture() {
    let expected = expected();
    let images = expected["images"].as_array().expect("images");
    assert_eq!(images.len(), 6);
    for image in images {
        let file = image["file"].as_str().expect("file");
        let (w, h, pixels) = rgb(file);
        assert_eq!(w as u64, image["width"].as_u64().expect("width"), "{file}");
        assert_eq!(
            h as u64,
            image["height"].as_u64().expect("height"),
            "{file}"
        );
        let picture = Picture {
            width: w,
            height: h,
            pixels: &pixels,
            bytes_per_pixel: 3,
        };
        for (order, key) in [(ChannelOrder::Bgr, "bgr"), (ChannelOrder::Rgb, "rgb")] {
            let reference = &image["orders"][key];
            let want = as_bits(reference["votes"].as_str().expect("votes"));
            let got = block_votes(&picture, order).expect("large enough");
            assert_eq!(got.len(), want.len(), "{file} {key}: block count");
            let differing: Vec<usize> = (0..got.len()).filter(|&i| got[i] != want[i]).collect();
            assert!(
                differing.is_empty(),
                "{file} {key}: {} of {} votes differ, first at block {:?}",
                differing.len(),
                got.len(),
                differing.first()
            );
            for message in Message::ALL {
                let name = match message {
                    Message::Sdxl => "sdxl",
                    Message::Sd1 => "sd1",
                    Message::Sd2 => "sd2",
                };
                let bits = bits_from_votes(&got, message.bits().len());
                let want_bits = as_bits(reference["bits"][name].as_str().expect("bits"));
                assert_eq!(bits, want_bits, "{file} {key} {name}: bits");
                assert_eq!(
                    u64::from(matching_bits(&bits, message)),
                    reference["matches"][name].as_u64().expect("matches"),
                    "{file} {key} {name}: matching bits"
                );
            }
        }
    }
}

#[test]
fn each_pipelines_mark_is_found_in_its_channel_order_and_clean_pictures_stay_under_thresholds() {
    let cases = [
        ("sdxl.png", Some((Message::Sdxl, ChannelOrder::Bgr))),
        (
            "sdxl-rgb-order.png",
            Some((Message::Sdxl, ChannelOrder::Rgb)),
        ),
        ("sd1.png", Some((Message::Sd1, ChannelOrder::Bgr))),
        ("sd2.png", Some((Message::Sd2, ChannelOrder::Bgr))),
        ("clean-photo.png", None),
        ("clean-pattern.png", None),
    ];
    for (file, want) in cases {
        let (w, h, pixels) = rgb(file);
        let picture = Picture {
            width: w,
            height: h,
            pixels: &pixels,
            bytes_per_pixel: 3,
        };
        let found = detect(&picture);
        assert_eq!(
            found.map(|d| (d.message, d.order)),
            want,
            "{file}: {:?}",
            decode_all(&picture)
        );
        if want.is_none() {
            // Each message stays at least two bits under its threshold on a clean picture.
            for d in decode_all(&picture) {
                assert!(
                    d.matched + 2 <= d.message.threshold(),
                    "{file}: {d:?} is close to the threshold"
                );
            }
        }
    }
}
