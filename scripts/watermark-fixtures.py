#!/usr/bin/env python3
"""Make the invisible-watermark fixtures that tests/watermark_reference.rs compares our decoder to.

Watermarks small PNGs with the PyPI `invisible-watermark` 0.2.0 package (method `dwtDct`) the
way the Stable Diffusion reference pipelines do, decodes them (and clean images) with the same
package, and writes into crates/greenlight-scan/tests/fixtures/watermark/:

  <name>.png       the image (lossless, so the Rust test sees the pixels the package saw)
  expected.json    per image and per channel order (`bgr`: as read, `rgb`: red and blue
                   swapped), the package's per-block votes (one character per 4x4 block of the
                   Haar approximation of the U plane, in the package's order) and its decoded
                   bits for the SDXL, SD1 and SD2 messages, with how many bits match each
  versions.txt     the package versions used

The messages are those of the reference pipelines: SDXL's 48 bits 0xB3EC907BB19E (Stability's
generative-models and diffusers), "StableDiffusionV1" (CompVis scripts, 136 bits) and "SDV2"
(Stability's stablediffusion scripts, 32 bits). `sdxl-rgb-order.png` is embedded the way older
diffusers releases did it, handing RGB pixels to an encoder that expects BGR.

Base pictures: two crops of ThreatExchange's PDQ test photos already in
tests/fixtures/pdq-reference (BSD licence, see the LICENSE file there) and synthetic patterns.

Run scripts/watermark-fixtures.sh (it makes a venv with the packages); the package imports
`torch` at the top for another method, and a stub module stands in for it.
"""

import argparse
import json
import sys
import types
from importlib import metadata
from pathlib import Path

# `imwatermark` imports torch (for its rivaGan method) when it is imported; dwtDct never uses it.
sys.modules.setdefault("torch", types.ModuleType("torch"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from imwatermark import WatermarkDecoder, WatermarkEncoder  # noqa: E402
from imwatermark.maxDct import EmbedMaxDct  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "crates/greenlight-scan/tests/fixtures"
DEFAULT_OUT = FIXTURES / "watermark"

SDXL_MESSAGE = 0b101100111110110010010000011110111011000110011110
SDXL_BITS = [int(b) for b in bin(SDXL_MESSAGE)[2:]]
SD1_BYTES = b"StableDiffusionV1"
SD2_BYTES = b"SDV2"


def bits_of(data: bytes) -> list[int]:
    return [int(b) for b in np.unpackbits(np.frombuffer(data, dtype=np.uint8))]


MESSAGES = {
    "sdxl": SDXL_BITS,
    "sd1": bits_of(SD1_BYTES),
    "sd2": bits_of(SD2_BYTES),
}


def photo(path: Path, x: int, y: int, w: int, h: int) -> np.ndarray:
    """A crop of a test photo, as RGB."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"cannot read {path}")
    crop = bgr[y : y + h, x : x + w]
    if crop.shape[:2] != (h, w):
        crop = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(crop[:, :, ::-1])


def pattern(w: int, h: int, seed: int) -> np.ndarray:
    """A smooth colour test pattern with a little noise, as RGB."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(xx / 23.0) * np.cos(yy / 31.0)
    g = 255 * xx / max(w - 1, 1)
    b = 255 * yy / max(h - 1, 1)
    rgb = np.stack([r, g, b], axis=-1) + rng.normal(0, 3, (h, w, 3))
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def embed_compvis(rgb: np.ndarray, message: bytes) -> np.ndarray:
    """As the SD 1.x / 2.x scripts' put_watermark: RGB to BGR, encode, back to RGB."""
    enc = WatermarkEncoder()
    enc.set_watermark("bytes", message)
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    out = enc.encode(bgr, "dwtDct")
    return np.ascontiguousarray(out[:, :, ::-1])


def embed_sdxl(rgb: np.ndarray, swapped: bool) -> np.ndarray:
    """As the SDXL watermarker: float pixels 0-255 (BGR, or RGB in older diffusers), encode,
    back to the pipeline's order, clamp and round to 8 bits as its image post-processing does."""
    enc = WatermarkEncoder()
    enc.set_watermark("bits", SDXL_BITS)
    pixels = rgb.astype(np.float32)
    if not swapped:
        pixels = pixels[:, :, ::-1]
    out = enc.encode(np.ascontiguousarray(pixels), "dwtDct")
    if not swapped:
        out = out[:, :, ::-1]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


class Recorder:
    """Records every per-block vote the package's dwtDct decoder casts, in order."""

    def __init__(self):
        self.votes: list[int] = []
        self._orig = EmbedMaxDct.infer_dct_matrix

    def __enter__(self):
        rec = self

        def infer(this, block, scale):
            v = rec._orig(this, block, scale)
            rec.votes.append(int(v))
            return v

        EmbedMaxDct.infer_dct_matrix = infer
        return self

    def __exit__(self, *exc):
        EmbedMaxDct.infer_dct_matrix = self._orig


def decode(bgr: np.ndarray) -> dict:
    out = {"bits": {}, "matches": {}}
    votes = None
    for name, expected in MESSAGES.items():
        dec = WatermarkDecoder("bits", len(expected))
        with Recorder() as rec:
            bits = [int(b) for b in dec.decode(bgr, "dwtDct")]
        # The votes do not depend on the message length; keep them once, check they agree.
        v = "".join(map(str, rec.votes))
        if votes is not None and v != votes:
            raise SystemExit("votes differ between message lengths")
        votes = v
        out["bits"][name] = "".join(map(str, bits))
        out["matches"][name] = sum(int(a == b) for a, b in zip(bits, expected))
    out["votes"] = votes
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)

    bridge = FIXTURES / "pdq-reference/dih/bridge-1-original.jpg"
    square = FIXTURES / "pdq-reference/bridge-mods/square-256x256.jpg"
    images = {
        # name: (RGB pixels, what it is)
        "sdxl.png": (embed_sdxl(photo(bridge, 200, 120, 256, 256), swapped=False),
                     "SDXL message, BGR order (current pipelines)"),
        "sdxl-rgb-order.png": (embed_sdxl(photo(square, 0, 0, 256, 256), swapped=True),
                               "SDXL message, RGB handed to the encoder (older diffusers)"),
        "sd1.png": (embed_compvis(pattern(256, 256, 7), SD1_BYTES),
                    "\"StableDiffusionV1\", 136 bits (SD 1.x scripts)"),
        # Not a multiple of 4 on either side: the package crops to multiples of 4.
        "sd2.png": (embed_compvis(photo(bridge, 100, 100, 262, 259), SD2_BYTES),
                    "\"SDV2\", 32 bits (SD 2.x scripts), 262x259"),
        "clean-photo.png": (photo(bridge, 420, 300, 256, 256), "no watermark (photo)"),
        "clean-pattern.png": (pattern(320, 256, 3), "no watermark (test pattern)"),
    }

    expected = {"package": "invisible-watermark 0.2.0 dwtDct", "images": []}
    for name, (rgb, what) in images.items():
        path = out_dir / name
        # Written and read back with OpenCV: a PNG is lossless, so the Rust test decodes the
        # very pixels decoded here.
        cv2.imwrite(str(path), rgb[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        h, w = bgr.shape[:2]
        entry = {"file": name, "what": what, "width": w, "height": h, "orders": {}}
        entry["orders"]["bgr"] = decode(bgr)
        entry["orders"]["rgb"] = decode(np.ascontiguousarray(bgr[:, :, ::-1]))
        expected["images"].append(entry)
        print(name, {o: d["matches"] for o, d in entry["orders"].items()})

    (out_dir / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    versions = [f"{p} {metadata.version(p)}" for p in
                ("invisible-watermark", "numpy", "PyWavelets", "opencv-python-headless")]
    (out_dir / "versions.txt").write_text("\n".join(versions) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
