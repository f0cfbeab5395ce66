#!/usr/bin/env python3
"""Make the generator-trace fixtures in crates/greenlight-scan/tests/fixtures/traces/.

Each file is written the way the generator writes it, with the same writer:

  PNG text chunks   Pillow's PngInfo (what AUTOMATIC1111, ComfyUI, Fooocus, InvokeAI and
                    NovelAI use): tEXt, zTXt (add_text(..., zip=True)) and iTXt (add_itxt)
  JPEG/WebP EXIF    Pillow's Exif: UserComment as AUTOMATIC1111 writes it ("UNICODE\\0" and
                    UTF-16 big-endian, as piexif's UserComment.dump does), and the
                    "Prompt:" / "workflow:" texts of ComfyUI's animated WebP node (tags 0x010F
                    and 0x010E)
  MP4               ffmpeg -movflags use_metadata_tags -metadata prompt=... -metadata workflow=...
  FLAC, MP3         ffmpeg -metadata PROMPT=... -metadata WORKFLOW=... (Vorbis comments, ID3 TXXX)

and plain counterparts with no trace (a camera-like JPEG whose Software is an editor's).
Needs Pillow and ffmpeg (with libmp3lame):

  python3 -m venv /tmp/greenlight-trace-venv && /tmp/greenlight-trace-venv/bin/pip install Pillow
  /tmp/greenlight-trace-venv/bin/python scripts/trace-fixtures.py
"""

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image, PngImagePlugin

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates/greenlight-scan/tests/fixtures/traces"

PROMPT = "a lighthouse on a cliff at dusk, oil painting, dramatic sky"
A1111 = (
    f"{PROMPT}\nNegative prompt: blurry, low quality\n"
    "Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234567890, Size: 64x64, "
    "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Version: v1.10.1"
)
COMFY_PROMPT = json.dumps({
    "3": {"class_type": "KSampler", "inputs": {"seed": 42, "steps": 20, "model": ["4", 0]}},
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": PROMPT, "clip": ["4", 1]}},
})
COMFY_WORKFLOW = json.dumps({
    "last_node_id": 6,
    "nodes": [
        {"id": 4, "type": "CheckpointLoaderSimple", "widgets_values": ["sd_xl_base_1.0.safetensors"]},
        {"id": 6, "type": "CLIPTextEncode", "widgets_values": [PROMPT]},
    ],
    "links": [[1, 4, 1, 6, 0, "CLIP"]],
    "version": 0.4,
})
INVOKE_METADATA = json.dumps({
    "generation_mode": "txt2img", "positive_prompt": PROMPT, "negative_prompt": "",
    "model": {"name": "stable-diffusion-v1-5"}, "seed": 7, "steps": 30,
})
INVOKE_GRAPH = json.dumps({"id": "graph", "nodes": {"positive_prompt": {"type": "compel", "prompt": PROMPT}}})
FOOOCUS = json.dumps({"prompt": PROMPT, "negative_prompt": "", "steps": 30, "version": "Fooocus v2.5.5"})
NOVELAI_COMMENT = json.dumps({"prompt": PROMPT, "steps": 28, "sampler": "k_euler_ancestral", "seed": 9, "uc": "lowres"})


def picture(w=64, h=64) -> Image.Image:
    img = Image.new("RGB", (w, h))
    img.putdata([((x * 4) % 256, (y * 4) % 256, (x * y) % 256) for y in range(h) for x in range(w)])
    return img


def png(name: str, chunks: list[tuple[str, str, str]]) -> None:
    info = PngImagePlugin.PngInfo()
    for kind, key, value in chunks:
        if kind == "tEXt":
            info.add_text(key, value)
        elif kind == "zTXt":
            info.add_text(key, value, zip=True)
        else:
            info.add_itxt(key, value, zip=True)
    picture().save(OUT / name, pnginfo=info)


def user_comment(text: str) -> bytes:
    return b"UNICODE\0" + text.encode("utf-16-be")


def run(*cmd: str) -> None:
    subprocess.run(cmd, check=True)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    png("a1111.png", [("tEXt", "parameters", A1111)])
    png("comfyui.png", [("tEXt", "prompt", COMFY_PROMPT), ("tEXt", "workflow", COMFY_WORKFLOW)])
    png("invokeai.png", [("iTXt", "invokeai_metadata", INVOKE_METADATA), ("iTXt", "invokeai_graph", INVOKE_GRAPH)])
    png("fooocus.png", [("zTXt", "parameters", FOOOCUS), ("tEXt", "fooocus_scheme", "fooocus")])
    png("novelai.png", [("tEXt", "Title", "AI generated image"), ("tEXt", "Description", PROMPT),
                        ("tEXt", "Software", "NovelAI"), ("tEXt", "Source", "NovelAI Diffusion V4 4F8B2E1A"),
                        ("tEXt", "Comment", NOVELAI_COMMENT)])
    # Software and Comment that are not NovelAI's: no trace.
    png("editor.png", [("tEXt", "Software", "GIMP 2.10.36"), ("tEXt", "Comment", "Created with GIMP")])
    picture().save(OUT / "plain.png")

    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = user_comment(A1111)
    picture().save(OUT / "a1111.jpg", exif=exif, quality=80)
    exif = Image.Exif()
    exif[0x010E] = COMFY_PROMPT  # ImageDescription
    exif[0x0131] = "ComfyUI"  # Software
    picture().save(OUT / "comfyui.jpg", exif=exif, quality=80)
    exif = Image.Exif()
    exif[0x010F] = "Canon"  # Make
    exif[0x0110] = "Canon EOS R5"  # Model
    exif[0x0131] = "Adobe Photoshop 25.0 (Macintosh)"
    exif[0x010E] = "Harbour at dawn"
    picture().save(OUT / "camera.jpg", exif=exif, quality=80)
    picture().save(OUT / "plain.jpg", quality=80)

    # ComfyUI's SaveAnimatedWEBP: the prompt in Make (0x010F), extra PNG info ("workflow")
    # from ImageDescription (0x010E) downwards.
    exif = Image.Exif()
    exif[0x010F] = "Prompt:" + COMFY_PROMPT
    exif[0x010E] = "workflow:" + COMFY_WORKFLOW
    frames = [picture(), picture().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    frames[0].save(OUT / "comfyui.webp", save_all=True, append_images=frames[1:], duration=100,
                   lossless=True, exif=exif)
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = user_comment(A1111)
    picture().save(OUT / "a1111.webp", exif=exif, quality=80)

    quiet = ["ffmpeg", "-v", "error", "-y", "-fflags", "+bitexact"]
    video = ["-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10", "-t", "0.5",
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-threads", "1"]
    run(*quiet, *video, "-movflags", "use_metadata_tags", "-metadata", f"prompt={COMFY_PROMPT}",
        "-metadata", f"workflow={COMFY_WORKFLOW}", str(OUT / "comfyui.mp4"))
    run(*quiet, *video, "-map_metadata", "-1", str(OUT / "plain.mp4"))
    audio = ["-f", "lavfi", "-i", "sine=frequency=440:duration=0.2"]
    tags = ["-metadata", f"PROMPT={COMFY_PROMPT}", "-metadata", f"WORKFLOW={COMFY_WORKFLOW}"]
    run(*quiet, *audio, *tags, "-c:a", "flac", str(OUT / "comfyui.flac"))
    run(*quiet, *audio, *tags, "-c:a", "libmp3lame", "-b:a", "32k", str(OUT / "comfyui.mp3"))
    for f in sorted(OUT.iterdir()):
        print(f.name, f.stat().st_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
