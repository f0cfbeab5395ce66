#!/usr/bin/env python3
"""Recall of re-encoded clips in `greenlight scan`, and false matches on unrelated footage.

Makes a held-out set of fast-motion clips with ffmpeg (1280x720, 24 fps, 4-8 s, none of them
used by the tests), registers each under its own `use.ref` with `greenlight assets add`, then
builds deliveries that cut each clip in at a random frame offset (and from a random in-point)
between other footage, re-encoded to H.264 (crf 23-28), ProRes 422 and JPEG 2000 in MXF at
other sizes, plus unrelated clips (other sources, seeds and regions) that must not match.
Each codec's folder is scanned once with `greenlight scan --format json --no-cache`.

Reports per codec: recall (deliveries in which the clip's own ledger entry was found, over all
deliveries), how many of those placed the match inside the clip's delivered seconds, false
matches (unrelated clips that matched any ledger entry, and deliveries that matched a ledger
entry other than their own).

With --alternatives it also registers every frame of every delivery in a second store and
replays other sampling choices on those hashes (the same decoding and PDQ as the scan, and the
scan's threshold of 31 bits and minimum quality of 50): the `fps` filter's once a second (the
frame before k + 0.5 s) against a ledger of four a second (also taken by `fps`), exact frame
positions against four a second, and exact positions against every frame (what the scan does;
its figures must equal the scan's).

Usage: scripts/recall.py [--bin target/release/greenlight] [--work DIR] [--seed 12] [--keep]
                         [--alternatives]
Needs ffmpeg with libx264 and libopenjpeg, and Python 3.8+ (standard library only).
"""

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile

RATE = 24
W, H = 1280, 720

# Registered (temporary) clips: fast motion, each a lavfi graph producing 1280x720 at 24 fps.
# `{d}` is the duration in seconds, `{s}` a seed, `{still}` a large still to pan over.
SOURCES = [
    ("testsrc2", "testsrc2=s=1280x720:r=24:d={d}"),
    ("life", "life=s=320x180:r=24:mold=8:ratio=0.12:seed={s}:life_color=#f0e0c0:"
             "death_color=#102030:mold_color=#306090,scale=1280:720:flags=neighbor,trim=duration={d}"),
    ("cellauto", "cellauto=s=320x180:r=24:rule=30:seed={s}:random_fill_ratio=0.5,"
                 "scale=1280:720:flags=neighbor,trim=duration={d}"),
    ("pan-mandelbrot", "movie={still},loop=loop=-1:size=1,fps=24,"
                       "crop=1280:720:x='40+t*180':y='30+t*55',trim=duration={d}"),
    ("zoom-mandelbrot", "movie={still},loop=loop=-1:size=1,fps=24,"
                        "zoompan=z='1+in*0.02':x='(iw-iw/zoom)*0.6':y='(ih-ih/zoom)*0.4':d=1:"
                        "s=1280x720:fps=24,trim=duration={d}"),
    ("rgbtestsrc-rotate", "rgbtestsrc=s=1280x720:r=24,rotate=a='PI*t/3':fillcolor=gray,"
                          "trim=duration={d}"),
    ("sierpinski", "sierpinski=s=1280x720:r=24:seed={s}:jump=60:type=carpet,trim=duration={d}"),
    ("plasma", "nullsrc=s=640x360:r=24,geq=lum='128+90*sin(X/23+T*7)*cos(Y/17-T*5)':"
               "cb='128+60*sin(Y/31+T*3)':cr='128+60*cos(X/29-T*4)',scale=1280:720,trim=duration={d}"),
]

# Unrelated clips: other sources, the same families with other seeds, rules and regions.
UNRELATED = [
    ("testsrc", "testsrc=s=1280x720:r=24:d={d}"),
    ("life-other-seed", "life=s=320x180:r=24:mold=8:ratio=0.12:seed={s}:life_color=#f0e0c0:"
                        "death_color=#102030:mold_color=#306090,scale=1280:720:flags=neighbor,"
                        "trim=duration={d}"),
    ("cellauto-rule110", "cellauto=s=320x180:r=24:rule=110:seed={s}:random_fill_ratio=0.5,"
                         "scale=1280:720:flags=neighbor,trim=duration={d}"),
    ("pan-mandelbrot-elsewhere", "movie={still},loop=loop=-1:size=1,fps=24,"
                                 "crop=1280:720:x='1200-t*150':y='700-t*40',trim=duration={d}"),
    ("sierpinski-triangle", "sierpinski=s=1280x720:r=24:seed={s}:jump=60:type=triangle,"
                            "trim=duration={d}"),
    ("plasma-other", "nullsrc=s=640x360:r=24,geq=lum='128+90*cos(X/19-T*6)*sin(Y/27+T*8)':"
                     "cb='128+60*cos(Y/23+T*2)':cr='128+60*sin(X/37+T*5)',scale=1280:720,"
                     "trim=duration={d}"),
    ("smptehdbars-scroll", "smptehdbars=s=1280x720:r=24,scroll=h=0.02:v=0.01,trim=duration={d}"),
    ("mptestsrc", "mptestsrc=r=24,scale=1280:720,trim=duration={d}"),
    ("yuvtestsrc-rotate", "yuvtestsrc=s=1280x720:r=24,rotate=a='-PI*t/4':fillcolor=black,"
                          "trim=duration={d}"),
]

# Other footage around the cut-in clip.
FILLER = "gradients=s={w}x{h}:r=24:speed=0.03:seed={s},trim=end_frame={n}"

CODECS = {
    "h264": {"ext": "mp4", "sizes": [(1920, 1080), (960, 540)]},
    "prores": {"ext": "mov", "sizes": [(960, 540), (1920, 1080)]},
    "j2k-mxf": {"ext": "mxf", "sizes": [(1920, 1080), (960, 540)]},
}


def make(cmd, out, skip=False):
    """Runs an ffmpeg command writing `out`, unless skipped or a kept working folder has it."""
    if skip or (os.path.exists(out) and os.path.getsize(out) > 0):
        return
    try:
        run(cmd)
    except SystemExit:
        if os.path.exists(out):
            os.remove(out)
        raise


def run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-3000:]}")
    return r.stdout


def codec_args(codec, rng):
    if codec == "h264":
        crf = rng.randint(23, 28)
        return ["-c:v", "libx264", "-preset", "fast", "-crf", str(crf), "-pix_fmt", "yuv420p"], f"crf {crf}"
    if codec == "prores":
        return ["-c:v", "prores_ks", "-profile:v", "2", "-pix_fmt", "yuv422p10le"], "422"
    return ["-c:v", "libopenjpeg", "-pix_fmt", "yuv420p", "-f", "mxf"], "lossy default"


def lavfi_clip(graph, out):
    make(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", graph, "-r", str(RATE),
          "-c:v", "libx264", "-preset", "medium", "-crf", "14", "-pix_fmt", "yuv420p", out], out)


THRESHOLD = 31
MIN_QUALITY = 50


def stored_frames(path):
    """use_ref -> [(frame number at 24 fps, hash as int, quality)] from a bank store file."""
    con = sqlite3.connect(path)
    out = {}
    for ref, ms, pdq, q in con.execute(
            "SELECT a.use_ref, f.at_ms, f.pdq, f.quality FROM bank_assets a "
            "JOIN bank_asset_frames f ON f.asset_id = a.id ORDER BY a.use_ref, f.at_ms"):
        out.setdefault(ref, []).append((round(ms * RATE / 1000), int(pdq, 16), q))
    con.close()
    return out


def alternatives(binary, work, db, codecs, expected, spans):
    """Replays sampling choices on the hash of every delivered and every registered frame."""
    fdb_file = os.path.join(work, "frames.db")
    if os.path.exists(fdb_file):
        os.remove(fdb_file)
    names = {}
    for i, base in enumerate(sorted(expected)):
        codec = expected[base][0]
        ref = f"F-{i}"
        names[ref] = base
        run([binary, "assets", "add", "--database-url", f"sqlite://{fdb_file}", "--production",
             "frames", "--use", ref, os.path.join(work, codec, base)])
    print("registered every frame of every delivery", file=sys.stderr)
    ledger = stored_frames(os.path.join(work, "banks.db"))
    delivered = {names[r]: f for r, f in stored_frames(fdb_file).items()}

    def keep(frames, pick):
        return [(n, h) for n, h, q in frames if q >= MIN_QUALITY and pick(n)]

    # (label, delivery frames kept, ledger frames kept), numbers of frames at 24 fps.
    choices = [
        ("fps filter 1/s vs ledger fps filter 4/s (before)", lambda n: n % 24 == 11, lambda n: n % 6 == 2),
        ("exact 1/s vs ledger exact 4/s (reference banks)", lambda n: n % 24 == 0, lambda n: n % 6 == 0),
        ("exact 1/s vs every ledger frame (now)", lambda n: n % 24 == 0, lambda n: True),
    ]
    print()
    print("| sampling (delivery vs ledger) | codec | recall | in-clip samples within 31 bits "
          "| median nearest distance | false matches |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for label, dpick, lpick in choices:
        kept = {ref: keep(f, lpick) for ref, f in ledger.items()}
        for codec in list(codecs) + ["all"]:
            found = total = inside = inside_ok = false = unrelated = 0
            nearest = []
            for base, (c, ref, *_rest) in expected.items():
                if codec != "all" and c != codec:
                    continue
                samples = keep(delivered.get(base, []), dpick)
                if ref is None:
                    unrelated += 1
                    false += any(bin(h ^ l).count("1") <= THRESHOLD
                                 for _, h in samples for fr in kept.values() for _, l in fr)
                    continue
                total += 1
                first, end = spans[base]
                hit = False
                for n, h in samples:
                    d = min((bin(h ^ l).count("1") for _, l in kept[ref]), default=256)
                    hit |= d <= THRESHOLD
                    if first <= n < end:
                        inside += 1
                        inside_ok += d <= THRESHOLD
                        nearest.append(d)
                found += hit
            nearest.sort()
            med = nearest[len(nearest) // 2] if nearest else "-"
            print(f"| {label} | {codec} | {found}/{total} | {inside_ok}/{inside} | {med} "
                  f"| {false}/{unrelated} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"),
                                                  "release", "greenlight"))
    ap.add_argument("--work", help="working folder (default: a temporary one)")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--keep", action="store_true", help="keep the working folder")
    ap.add_argument("--codecs", default=",".join(CODECS),
                    help="comma-separated subset of " + ", ".join(CODECS) + " to make and scan")
    ap.add_argument("--alternatives", action="store_true",
                    help="also replay other sampling choices on every frame's hash")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    if not os.access(binary, os.X_OK):
        sys.exit(f"{binary}: not an executable; build with `cargo build --release -p greenlight`")
    rng = random.Random(a.seed)
    selected = {c: CODECS[c] for c in a.codecs.split(",") if c in CODECS}
    if not selected:
        sys.exit(f"--codecs: none of {a.codecs!r} is one of {', '.join(CODECS)}")
    work = a.work or tempfile.mkdtemp(prefix="gl-recall-")
    os.makedirs(work, exist_ok=True)
    clips = os.path.join(work, "clips")
    os.makedirs(clips, exist_ok=True)
    db = f"sqlite://{os.path.join(work, 'banks.db')}"
    if os.path.exists(os.path.join(work, "banks.db")):
        os.remove(os.path.join(work, "banks.db"))

    # A large still to pan over: a frame of the Mandelbrot set.
    still = os.path.join(clips, "still.png")
    make(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
          "mandelbrot=s=2560x1440:start_x=-0.743643887037151:start_y=0.13182590420533:"
          "start_scale=0.02:end_scale=0.02:maxiter=1500", "-frames:v", "1", still], still)

    registered = []
    for i, (name, graph) in enumerate(SOURCES, start=1):
        d = rng.randint(4, 8)
        path = os.path.join(clips, f"R-{i}-{name}.mp4")
        lavfi_clip(graph.format(d=d, s=rng.randint(1, 10**6), still=still), path)
        registered.append((f"R-{i}", name, path, d))

    unrelated = []
    for name, graph in UNRELATED:
        d = rng.randint(4, 8)
        path = os.path.join(clips, f"U-{name}.mp4")
        lavfi_clip(graph.format(d=d, s=rng.randint(10**6, 2 * 10**6), still=still), path)
        unrelated.append((name, path))

    # Deliveries, one folder per codec.
    spans = {}  # file name -> delivered frames of the clip [first, end)
    expected = {}  # file name -> (codec, ref, clip start s, clip end s) or (codec, None, ...)
    for ci, (codec, spec) in enumerate(CODECS.items()):
        folder = os.path.join(work, codec)
        if codec in selected:
            os.makedirs(folder, exist_ok=True)
        for i, (ref, name, path, d) in enumerate(registered):
            w, h = spec["sizes"][(i + ci) % 2]
            pre = rng.randint(13, 83)   # frames of other footage before the clip
            post = rng.randint(12, 48)  # and after
            cut_in = rng.randint(0, 11)  # in-point into the clip, in frames
            args, note = codec_args(codec, rng)
            out = os.path.join(folder, f"{ref}-{name}-{w}x{h}.{spec['ext']}")
            graph = (f"{FILLER.format(w=w, h=h, s=rng.randint(1, 10**6), n=pre)},setsar=1[a];"
                     f"[0:v]trim=start_frame={cut_in},setpts=PTS-STARTPTS,scale={w}:{h},setsar=1[c];"
                     f"{FILLER.format(w=w, h=h, s=rng.randint(1, 10**6), n=post)},setsar=1[b];"
                     "[a][c][b]concat=n=3:v=1:a=0,format=yuv420p[v]")
            make(["ffmpeg", "-v", "error", "-y", "-i", path, "-filter_complex", graph,
                  "-map", "[v]", "-r", str(RATE)] + args + [out], out, codec not in selected)
            clip_frames = d * RATE - cut_in
            expected[os.path.basename(out)] = (codec, ref, pre / RATE, (pre + clip_frames) / RATE,
                                               f"{w}x{h} {note}, at frame {pre}, in-point {cut_in}")
            spans[os.path.basename(out)] = (pre, pre + clip_frames)
        for i, (name, path) in enumerate(unrelated):
            w, h = spec["sizes"][(i + ci) % 2]
            args, note = codec_args(codec, rng)
            out = os.path.join(folder, f"U-{name}-{w}x{h}.{spec['ext']}")
            make(["ffmpeg", "-v", "error", "-y", "-i", path, "-vf", f"scale={w}:{h}",
                  "-r", str(RATE)] + args + [out], out, codec not in selected)
            expected[os.path.basename(out)] = (codec, None, 0, 0, f"{w}x{h} {note}")
        print(f"made {codec} deliveries" if codec in selected else f"skipped {codec}",
              file=sys.stderr)

    for ref, name, path, d in registered:
        run([binary, "assets", "add", "--database-url", db, "--production", "recall",
             "--use", ref, "--tool", "lavfi", path])
        print(f"registered {ref} {name} ({d} s)", file=sys.stderr)

    expected = {k: v for k, v in expected.items() if v[0] in selected}
    rows = {c: {"deliveries": 0, "found": 0, "placed": 0, "wrong": 0, "unrelated": 0,
                "false": 0} for c in selected}
    detail = []
    for codec in selected:
        folder = os.path.join(work, codec)
        r = subprocess.run([binary, "scan", folder, "--database-url", db, "--production", "recall",
                            "--format", "json", "--no-cache"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode not in (0, 1):
            sys.exit(f"scan of {folder} exited {r.returncode}:\n{r.stderr[-3000:]}")
        report = json.loads(r.stdout)
        for f in report["files"]:
            base = os.path.basename(f["path"])
            if base not in expected:
                continue
            _, ref, start, end, note = expected[base]
            matches = [x["match"] for x in f["findings"] if x.get("match")]
            refs = sorted({m.get("use_ref") or m.get("title") or "?" for m in matches})
            row = rows[codec]
            if ref is None:
                row["unrelated"] += 1
                row["false"] += bool(matches)
                detail.append((codec, base, "unrelated", "FALSE MATCH " + ",".join(refs) if matches else "no match"))
                continue
            row["deliveries"] += 1
            own = [m for m in matches if m.get("use_ref") == ref]
            others = [x for x in refs if x != ref]
            if own:
                row["found"] += 1
                secs = [(a, b) for m in own for a, b in m.get("time_ranges", [])]
                # A range [a, b] in whole seconds lies in the clip when it overlaps its span.
                if secs and all(b + 1 > start and a < end for a, b in secs):
                    row["placed"] += 1
                dist = min((m.get("distance") or 0) for m in own)
                got = f"found, seconds {secs}, best distance {dist}"
            else:
                got = "NOT FOUND"
            if others:
                row["wrong"] += 1
                got += f"; also matched {','.join(others)}"
            detail.append((codec, base, f"{note}; clip at {start:.2f}-{end:.2f} s", got))

    for codec, base, what, got in detail:
        print(f"{codec:8} {base:42} {what:58} {got}")
    print()
    print("| codec | deliveries | recall | located in the clip's seconds | matched another entry "
          "| unrelated clips | false matches |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    total = {k: 0 for k in next(iter(rows.values()))}
    for codec, row in rows.items():
        for k, v in row.items():
            total[k] += v
    for codec, row in list(rows.items()) + [("all", total)]:
        print(f"| {codec} | {row['deliveries']} | {row['found']}/{row['deliveries']} "
              f"({100 * row['found'] / max(row['deliveries'], 1):.0f} %) | {row['placed']} "
              f"| {row['wrong']} | {row['unrelated']} | {row['false']}/{row['unrelated']} |")
    if a.alternatives:
        alternatives(binary, work, db, selected, expected, spans)
    if not a.keep and not a.work:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"\nfiles kept in {work}", file=sys.stderr)


if __name__ == "__main__":
    main()
