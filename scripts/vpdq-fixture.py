#!/usr/bin/env python3
"""Make the vPDQ reference fixture that tests/vpdq_reference.rs compares our PDQ against.

Makes a short video with ffmpeg, hashes every frame of it with Meta's vPDQ (PyPI `vpdq`),
and writes into crates/greenlight-scan/tests/fixtures/vpdq/:

  <name>.mp4          the video (checked in, so the Rust test needs no exact ffmpeg rerun)
  <name>.csv          vPDQ's hashes in `vpdq-hash-video` form: frame,quality,pdq_hex,seconds
  <name>.signal.json  the same hashes as a python-threatexchange `vpdq` signal string
  <name>.txt          the ffmpeg command, and the ffmpeg and vpdq versions used

The checked-in fixtures were made with the defaults and with
  --name testsrc2-1280x720-24fps-12frames --size 1280x720 --seconds 0.5
  --name testsrc2-320x240-24fps-bt709-12frames --seconds 0.5 --bt709

Setup (the reference is not needed by CI; it needs FFmpeg's development files to build):

  apt-get install -y ffmpeg cmake pkg-config libavcodec-dev libavformat-dev libavutil-dev \
      libswscale-dev libavdevice-dev libavfilter-dev
  python3 -m venv /tmp/vpdq-venv && /tmp/vpdq-venv/bin/pip install vpdq==0.2.5
  /tmp/vpdq-venv/bin/python scripts/vpdq-fixture.py
"""

import argparse
import json
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import vpdq

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "crates/greenlight-scan/tests/fixtures/vpdq"


def ffmpeg_command(video: Path, size: str, rate: int, seconds: str, bt709: bool) -> list[str]:
    # One thread and fixed settings, so the same ffmpeg build makes the same bytes. --bt709 only
    # tags the stream (the pixels are the same): vPDQ ignores the tag, ffmpeg's scaler does not.
    tags = ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"] if bt709 else []
    return [
        "ffmpeg", "-v", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}",
        "-t", seconds,
        "-c:v", "libx264", "-preset", "medium", "-crf", "28", "-pix_fmt", "yuv420p",
        "-threads", "1", "-map_metadata", "-1", "-fflags", "+bitexact",
        *tags,
        str(video),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--name", default="testsrc2-320x240-24fps-3s")
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--rate", type=int, default=24)
    ap.add_argument("--seconds", default="3")
    ap.add_argument("--bt709", action="store_true", help="tag the stream as BT.709")
    args = ap.parse_args()

    args.out_dir.mkdir(parents=True, exist_ok=True)
    video = args.out_dir / f"{args.name}.mp4"
    command = ffmpeg_command(video, args.size, args.rate, args.seconds, args.bt709)
    subprocess.run(command, check=True)

    # seconds_per_hash=0: every frame, at the video's own size (no downsampling).
    features = vpdq.computeHash(str(video), seconds_per_hash=0)
    features.sort(key=lambda f: f.frame_number)

    # `vpdq-hash-video` writes the seconds with three decimals (vpdqio.cpp).
    lines = [f"{f.frame_number},{f.quality},{f.hex},{f.timestamp:.3f}\n" for f in features]
    (args.out_dir / f"{args.name}.csv").write_text("".join(lines))

    # python-threatexchange's VpdqCompactFeature.__str__ and vpdq_to_json.
    signal = json.dumps([f"{f.hex},{f.quality},{f.timestamp:.3}" for f in features])
    (args.out_dir / f"{args.name}.signal.json").write_text(signal)

    ffmpeg_version = subprocess.run(
        ["ffmpeg", "-version"], check=True, capture_output=True, text=True
    ).stdout.splitlines()[0]
    relative = [shlex.quote(str(Path(c).relative_to(ROOT))) if c == str(video) else shlex.quote(c)
                for c in command]
    (args.out_dir / f"{args.name}.txt").write_text(
        f"command: {' '.join(relative)}\n"
        f"ffmpeg: {ffmpeg_version}\n"
        f"vpdq: {metadata.version('vpdq')} (PyPI), computeHash(seconds_per_hash=0)\n"
        f"frames: {len(features)}\n"
    )
    print(f"{len(features)} frames hashed; wrote {args.out_dir}/{args.name}.*")
    return 0


if __name__ == "__main__":
    sys.exit(main())
