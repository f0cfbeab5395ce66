#!/usr/bin/env python3
"""Recall and precision of audio matching in `greenlight scan`, and the bit error rates behind
its threshold.

Makes a set with ffmpeg: "temp tracks" (synthetic music: an arpeggio over a four-chord
progression, a bass and a pad, 20 s at 44.1 kHz stereo) and "tracks of the same style" made
by the same generator with other progressions, patterns and tempi. Each temp track is cut into
a 55 s mix between same-style beds and then:

  straight     cut in as it is
  dialogue     under a synthetic voice (harmonic, pitch gliding, syllables) at equal level (amix)
  aac128       the mix re-encoded to AAC 128k (MP4)
  tempo+3%     the temp track played 3 % faster (atempo=1.03) before it is cut in
  ducked-20dB  a limit: the temp track 20 dB under the voice
  pitch+1      a limit: the temp track a semitone higher (asetrate, tempo kept)

Negatives: mixes of same-style tracks only (straight, under the voice, AAC), which must match
nothing. Each temp track is registered under its own use with `greenlight assets add`; every mix
is scanned with `greenlight scan --format json --no-cache`. A positive is found when its own
ledger entry is reported with `"medium": "audio"` and a range within 1.5 s of the truth.

It also prints, per transformation, the smallest window bit error rate against the right
temp track (the scan's windows: 40 items, every 4, best alignment), and for negatives the
smallest against any temp track: the margin the scan's threshold sits in.

Usage: scripts/audio_recall.py [--bin target/debug/greenlight] [--work DIR] [--keep]
Needs ffmpeg and Python 3.8+ (standard library only).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

RATE = 44100
WINDOW = 40
HOP = 4
ITEM = 1365 / 11025

# MIDI notes of chords.
C, D, E, F, G, A, B = 60, 62, 64, 65, 67, 69, 71
MAJ = (0, 4, 7)
MIN = (0, 3, 7)


def chord(root, kind):
    return [root + i for i in kind]


# (name, progression, notes per second, arpeggio pattern, seconds per chord)
TEMP = [
    ("temp-a", [chord(C, MAJ), chord(F, MAJ), chord(A - 12, MIN), chord(G - 12, MAJ)], 6, [0, 1, 2, 1], 2.0),
    ("temp-b", [chord(A - 12, MIN), chord(F, MAJ), chord(C, MAJ), chord(G - 12, MAJ)], 5, [0, 2, 1, 2], 2.4),
    ("temp-c", [chord(D, MAJ), chord(G - 12, MAJ), chord(B - 12, MIN), chord(A - 12, MAJ)], 7, [2, 1, 0, 1], 1.6),
    ("temp-d", [chord(E, MIN), chord(C, MAJ), chord(G - 12, MAJ), chord(D, MAJ)], 4, [0, 1, 2, 0], 2.0),
]
SAME_STYLE = [
    # Same instruments, progressions that share chords with the temp tracks, other rhythms.
    ("style-a", [chord(F, MAJ), chord(C, MAJ), chord(D, MIN), chord(A - 14, MAJ)], 5.5, [0, 2, 1, 0], 1.8),
    ("style-b", [chord(G - 12, MAJ), chord(E, MIN), chord(A - 12, MIN), chord(D, MAJ)], 4.5, [1, 0, 2, 1], 2.2),
    ("style-c", [chord(C, MAJ), chord(A - 12, MIN), chord(F, MAJ), chord(G - 12, MAJ)], 6.5, [2, 0, 1, 0], 2.6),
    ("style-d", [chord(B - 13, MAJ), chord(F, MAJ), chord(G - 12, MIN), chord(E - 1, MAJ)], 7.5, [0, 1, 0, 2], 1.4),
]


def freq(midi):
    return 440.0 * 2 ** ((midi - 69) / 12)


def music_expr(progression, rate, pattern, chord_seconds):
    """An aevalsrc expression: arpeggio (with a decaying envelope), bass and pad."""
    steps = len(pattern)
    lead = "0"
    bass = "0"
    pad = "0"
    for ci in reversed(range(len(progression))):
        notes = progression[ci]
        arp = "0"
        for k in reversed(range(steps)):
            arp = f"if(eq(ld(1),{k}),{freq(notes[pattern[k]] + 12):.4f},{arp})"
        lead = f"if(eq(ld(0),{ci}),{arp},{lead})"
        bass = f"if(eq(ld(0),{ci}),{freq(notes[0] - 12):.4f},{bass})"
        tones = "+".join(f"sin(2*PI*{freq(n):.4f}*t)" for n in notes)
        pad = f"if(eq(ld(0),{ci}),{tones},{pad})"
    n = len(progression)
    return (
        f"st(0,mod(floor(t/{chord_seconds}),{n}));st(1,mod(floor(t*{rate}),{steps}));"
        f"st(2,{lead});"
        f"0.32*exp(-6*(t*{rate}-floor(t*{rate}))/{rate}*{rate}/2)*(sin(2*PI*ld(2)*t)+0.4*sin(4*PI*ld(2)*t))"
        f"+0.22*sin(2*PI*({bass})*t)+0.06*({pad})"
    )


VOICE = (
    "st(0,150+40*sin(2*PI*0.7*t)+25*sin(2*PI*1.9*t));"
    "(0.5+0.5*sin(2*PI*3.3*t))*(0.6+0.4*sin(2*PI*0.9*t))*gt(mod(t,4.1),0.6)*"
    "0.56*(sin(2*PI*ld(0)*t)+0.7*sin(4*PI*ld(0)*t)+0.5*sin(6*PI*ld(0)*t)+0.3*sin(8*PI*ld(0)*t)"
    "+0.2*sin(10*PI*ld(0)*t))"
)


def ff(*args):
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", *args], check=True)


def make_track(path, spec, seconds):
    _, prog, rate, pattern, cs = spec
    expr = music_expr(prog, rate, pattern, cs)
    ff("-f", "lavfi", "-i", f"aevalsrc='{expr}':s={RATE}:d={seconds}", "-ac", "2", "-c:a", "pcm_s16le", path)


def make_voice(path, seconds):
    ff("-f", "lavfi", "-i", f"aevalsrc='{VOICE}':s={RATE}:d={seconds}", "-ac", "2", "-c:a", "pcm_s16le", path)


def mix(out, bed1, clip, bed2, clip_filter="", voice=None, clip_gain_db=0.0, aac=False):
    """bed1 + (clip, filtered) + bed2, optionally amixed with the voice at equal weights."""
    inputs = ["-i", bed1, "-i", clip, "-i", bed2]
    cf = clip_filter + ("," if clip_filter else "") + f"volume={clip_gain_db}dB"
    graph = f"[1:a]{cf}[c];[0:a][c][2:a]concat=n=3:v=0:a=1[m]"
    if voice:
        inputs += ["-i", voice]
        graph += ";[m][3:a]amix=inputs=2:duration=first:normalize=1[o]"
        out_label = "[o]"
    else:
        out_label = "[m]"
    codec = ["-c:a", "aac", "-b:a", "128k"] if aac else ["-c:a", "pcm_s16le"]
    ff(*inputs, "-filter_complex", graph, "-map", out_label, *codec, out)


def fingerprint(binary, path):
    out = subprocess.run([binary, "hash", "--format", "json", path], capture_output=True, text=True)
    line = json.loads(out.stdout.strip().splitlines()[-1])
    return line.get("chromaprint", [])


def best_rates(clip, mix_fp):
    """Per mix window (40 items every 4): the smallest share of differing bits at any
    alignment with the clip (the scan's window search, without its shortcuts)."""
    w = min(WINDOW, len(clip))
    out = []
    if len(mix_fp) < w:
        return out
    starts = list(range(0, len(mix_fp) - w + 1, HOP))
    for s in starts:
        m = mix_fp[s:s + w]
        best = 32 * w
        for o in range(0, len(clip) - w + 1):
            c = clip[o:o + w]
            e = 0
            for a, b in zip(m, c):
                e += bin(a ^ b).count("1")
                if e >= best:
                    break
            best = min(best, e)
        out.append((s * ITEM, best / (32 * w)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join("target", "debug", "greenlight"))
    ap.add_argument("--work")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--no-rates", action="store_true", help="skip the (slow, pure Python) bit error rates")
    args = ap.parse_args()
    if shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg is needed")
    binary = os.path.abspath(args.bin)
    work = args.work or tempfile.mkdtemp(prefix="gl-audio-recall-")
    os.makedirs(work, exist_ok=True)
    src = os.path.join(work, "src")
    os.makedirs(src, exist_ok=True)

    temp = {}
    for spec in TEMP:
        p = os.path.join(src, spec[0] + ".wav")
        make_track(p, spec, 20)
        temp[spec[0]] = p
    style = {}
    for spec in SAME_STYLE:
        p = os.path.join(src, spec[0] + ".wav")
        make_track(p, spec, 20)
        style[spec[0]] = p
    voice = os.path.join(src, "voice.wav")
    make_voice(voice, 60)

    transforms = [
        ("straight", {}),
        ("dialogue", {"voice": True}),
        ("aac128", {"aac": True}),
        ("tempo+3%", {"clip_filter": "atempo=1.03"}),
        ("ducked-20dB", {"voice": True, "clip_gain_db": -20.0}),
        ("pitch+1", {"clip_filter": f"asetrate={RATE}*1.059463,aresample={RATE},atempo=1/1.059463"}),
    ]
    cases = []  # (folder, file, truth temp or None, (start, end) or None, transform)
    names = list(style)
    for i, (name, path) in enumerate(temp.items()):
        bed1 = style[names[i % len(names)]]
        bed2 = style[names[(i + 1) % len(names)]]
        # The bed before the clip is cut to a length that differs per clip, so offsets vary.
        lead = 9.0 + 2.3 * i
        cut = os.path.join(src, f"bed-{i}.wav")
        ff("-i", bed1, "-t", f"{lead}", "-c:a", "pcm_s16le", cut)
        for tname, opts in transforms:
            folder = os.path.join(work, "deliveries", tname)
            os.makedirs(folder, exist_ok=True)
            out = os.path.join(folder, f"{name}.{'mp4' if opts.get('aac') else 'wav'}")
            mix(out, cut, path, bed2, clip_filter=opts.get("clip_filter", ""),
                voice=voice if opts.get("voice") else None,
                clip_gain_db=opts.get("clip_gain_db", 0.0), aac=opts.get("aac", False))
            length = 20.0 / 1.03 if tname == "tempo+3%" else 20.0
            cases.append((tname, out, name, (lead, lead + length)))
    for i, (a, b) in enumerate([(names[0], names[1]), (names[2], names[3]), (names[1], names[2])]):
        for tname, opts in [("negative", {}), ("negative-dialogue", {"voice": True}), ("negative-aac", {"aac": True})]:
            folder = os.path.join(work, "deliveries", tname)
            os.makedirs(folder, exist_ok=True)
            out = os.path.join(folder, f"style-{i}.{'mp4' if opts.get('aac') else 'wav'}")
            cut = os.path.join(src, f"nbed-{i}.wav")
            ff("-i", style[a], "-t", "8", "-c:a", "pcm_s16le", cut)
            mix(out, cut, style[b], style[names[3 - i]], voice=voice if opts.get("voice") else None,
                aac=opts.get("aac", False))
            cases.append((tname, out, None, None))

    db = os.path.join(work, "banks.db")
    url = f"sqlite://{db}?mode=rwc"
    for name, path in temp.items():
        subprocess.run([binary, "assets", "add", "--production", "P", "--use", name,
                        "--database-url", url, path], check=True, capture_output=True)

    # Scan each folder once.
    found = {}
    for tname in sorted({c[0] for c in cases}):
        folder = os.path.join(work, "deliveries", tname)
        r = subprocess.run([binary, "scan", folder, "--format", "json", "--no-cache",
                            "--production", "P", "--database-url", url], capture_output=True, text=True)
        report = json.loads(r.stdout)
        for f in report["files"]:
            hits = []
            for x in f["findings"]:
                m = x.get("match") or {}
                if m.get("medium") == "audio":
                    hits.append((m.get("use_ref"), m.get("audio_ranges") or m.get("time_ranges")))
            found[os.path.join(folder, f["path"])] = hits

    rows = {}
    for tname, path, truth, span in cases:
        r = rows.setdefault(tname, {"n": 0, "found": 0, "placed": 0, "false": 0, "err": []})
        r["n"] += 1
        hits = found.get(path, [])
        own = [h for h in hits if h[0] == truth]
        others = [h for h in hits if h[0] != truth]
        r["false"] += 1 if others else 0
        if truth and own:
            r["found"] += 1
            near = min(((a - span[0], b - span[1]) for (_, ranges) in own for (a, b) in ranges),
                       key=lambda e: abs(e[0]) + abs(e[1]))
            r["err"].append(near)
            ok = abs(near[0]) <= 1.5 and abs(near[1]) <= 1.5
            r["placed"] += 1 if ok else 0

    rates = {}
    if not args.no_rates:
        prints = {n: fingerprint(binary, p) for n, p in temp.items()}
        for tname, path, truth, span in cases:
            fp = fingerprint(binary, path)
            against = [truth] if truth else list(prints)
            inside, outside = 1.0, 1.0
            for n in against:
                for (t, rate) in best_rates(prints[n], fp):
                    in_span = span is not None and span[0] - 0.5 <= t and t + WINDOW * ITEM <= span[1] + 3
                    if in_span:
                        inside = min(inside, rate)
                    elif span is None or t + WINDOW * ITEM < span[0] or t > span[1]:
                        outside = min(outside, rate)
            rr = rates.setdefault(tname, {"in": [], "out": []})
            rr["in"].append(inside)
            rr["out"].append(outside)

    print(f"{'set':<18} {'mixes':>5} {'found':>6} {'placed':>7} {'false':>6}  {'recall':>6}  "
          f"{'best BER in clip (max over mixes)':>34}  {'best BER elsewhere (min)':>24}")
    tp = fp_ = fn = 0
    for tname, r in rows.items():
        positive = not tname.startswith("negative")
        recall = f"{r['found'] / r['n']:.2f}" if positive else "-"
        rr = rates.get(tname)
        inside = f"{max(rr['in']):.3f}" if rr and positive else "-"
        outside = f"{min(rr['out']):.3f}" if rr else "-"
        print(f"{tname:<18} {r['n']:>5} {r['found']:>6} {r['placed']:>7} {r['false']:>6}  {recall:>6}  "
              f"{inside:>34}  {outside:>24}")
        if tname in ("straight", "dialogue", "aac128", "tempo+3%"):
            tp += r["found"]
            fn += r["n"] - r["found"]
        fp_ += r["false"]
    print("\nrange errors (reported - true, seconds: start, end) of the found positives:")
    for tname, r in rows.items():
        if r["err"]:
            print(f"  {tname:<14} " + " ".join(f"{a:+.1f}/{b:+.1f}" for a, b in r["err"]))
    print(f"\nrequired transformations: recall {tp / max(1, tp + fn):.2f} ({tp}/{tp + fn}), "
          f"false matches {fp_} (precision {tp / max(1, tp + fp_):.2f})")
    if not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"set kept in {work}")


if __name__ == "__main__":
    main()
