#!/usr/bin/env bash
# Speed of `greenlight scan` on delivery video, as a ratio against `ffmpeg -f null` decoding
# every frame of the same file in the same run (the cost of a scan that decodes everything):
#
#   (a) 1080p24 ProRes 422, PRORES_SECONDS long (default 120),
#   (b) 20 s UHD (3840x2160) 24 fps JPEG 2000 in MXF (about 200 Mbit/s),
#   (c) 60 s 1080p24 H.264 (x264 defaults, crf 20),
#
# and the frames per second of a whole scan of each IMF package in IMP_DIRS (default: the two
# real packages in ../shared/data/imf when present), against decoding its picture track.
#
# Each command runs RUNS times (default 3) under hyperfine after one untimed scan that checks
# the scan worked (and warms the page cache); the table gives median wall-clock times and
# mean CPU time (user + system, children included), and decode / scan for both. CPU time is the
# steadier figure on a shared machine (docs/decisions/0203-benchmarks-in-cpu-time.md).
#
# Content is testsrc2 with light temporal noise (grain). To keep encoding short, (a) and (b) are
# encoded for 10 s and 5 s and repeated by stream copy to their full length: each frame still
# costs what it costs to decode.
#
# Knobs (environment): BIN (default $CARGO_TARGET_DIR/release/greenlight, or target/...),
# RUNS, PRORES_SECONDS, IMP_DIRS (space-separated), WORK (keep media there between runs; a
# temporary folder otherwise), OUT (the hyperfine JSON and the table; default WORK).
# Needs ffmpeg (libx264, libopenjpeg), ffprobe, hyperfine (apt-get install hyperfine), python3.
set -euo pipefail

cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$(realpath "${BIN:-$TARGET/release/greenlight}")
RUNS=${RUNS:-3}
PRORES_SECONDS=${PRORES_SECONDS:-120}
IMP_DIRS=${IMP_DIRS:-$(for d in ../shared/data/imf/HT ../shared/data/imf/PHDR; do [ -f "$d/ASSETMAP.xml" ] && realpath "$d"; done; true)}

for tool in ffmpeg ffprobe hyperfine python3; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 2; }
done
[ -x "$BIN" ] || { echo "$BIN: build it first (cargo build --release -p greenlight)" >&2; exit 2; }

if [ -n "${WORK:-}" ]; then
  mkdir -p "$WORK"
else
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
fi
OUT=${OUT:-$WORK}
mkdir -p "$OUT"
DB="sqlite://$WORK/banks.db"
START=$(date +%s)

log() { echo "[$(($(date +%s) - START)) s] $*" >&2; }
ff() { nice ffmpeg -hide_banner -nostdin -v error -y "$@"; }

# A ledger to match against: one registered clip (so the scan does its PDQ queries too).
if [ ! -f "$WORK/banks.db" ]; then
  ff -f lavfi -i "mandelbrot=s=1280x720:r=24,trim=duration=4" -c:v libx264 -pix_fmt yuv420p "$WORK/ledger-clip.mp4"
  "$BIN" assets add --database-url "$DB" --production bench --use BENCH-1 "$WORK/ledger-clip.mp4" >/dev/null
fi

SRC="testsrc2=s=1920x1080:r=24,noise=alls=3:allf=t+u"
if [ ! -f "$WORK/prores-1080p.mov" ]; then
  log "encoding (a) ProRes 1080p, $PRORES_SECONDS s"
  ff -f lavfi -i "$SRC,trim=duration=10" -c:v prores_ks -profile:v 2 -pix_fmt yuv422p10le "$WORK/prores-10s.mov"
  ff -stream_loop $(((PRORES_SECONDS + 9) / 10 - 1)) -i "$WORK/prores-10s.mov" -t "$PRORES_SECONDS" -c copy "$WORK/prores-1080p.mov"
  rm "$WORK/prores-10s.mov"
fi
if [ ! -f "$WORK/j2k-uhd.mxf" ]; then
  log "encoding (b) JPEG 2000 UHD MXF, 20 s"
  ff -f lavfi -i "testsrc2=s=3840x2160:r=24,noise=alls=3:allf=t+u,trim=duration=5" \
    -c:v libopenjpeg -compression_level 12 -pix_fmt yuv420p -f mxf "$WORK/j2k-5s.mxf"
  ff -stream_loop 3 -i "$WORK/j2k-5s.mxf" -c copy -f mxf "$WORK/j2k-uhd.mxf"
  rm "$WORK/j2k-5s.mxf"
fi
if [ ! -f "$WORK/h264-1080p.mp4" ]; then
  log "encoding (c) H.264 1080p, 60 s"
  ff -f lavfi -i "$SRC,trim=duration=60" -c:v libx264 -preset fast -crf 20 -pix_fmt yuv420p "$WORK/h264-1080p.mp4"
fi

frames() { ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of default=nw=1:nk=1 "$1" | head -1; }

# bench NAME TARGET DECODE-COMMAND: the untimed check, then hyperfine on decode and scan.
bench() {
  local name=$1 target=$2 decode=$3
  local scan="$BIN scan $target --no-cache --database-url $DB --production bench --format json"
  log "$name: checking the scan"
  local rc=0
  $scan >"$OUT/$name.scan.json" 2>"$OUT/$name.scan.err" || rc=$?
  if [ "$rc" -gt 1 ]; then
    echo "scan of $target exited $rc:" >&2; cat "$OUT/$name.scan.err" >&2; exit 1
  fi
  log "$name: timing ($RUNS runs each)"
  hyperfine --style none --runs "$RUNS" --ignore-failure --export-json "$OUT/$name.json" \
    -n decode "$decode" -n scan "$scan >/dev/null" >&2
}

declare -a ROWS=()
bench prores "$WORK/prores-1080p.mov" "ffmpeg -nostdin -v error -i $WORK/prores-1080p.mov -f null -"
ROWS+=("prores|(a) ProRes 422 1080p24, $PRORES_SECONDS s|$(frames "$WORK/prores-1080p.mov")")
bench j2k "$WORK/j2k-uhd.mxf" "ffmpeg -nostdin -v error -i $WORK/j2k-uhd.mxf -f null -"
ROWS+=("j2k|(b) JPEG 2000 UHD 24 fps MXF, 20 s|$(frames "$WORK/j2k-uhd.mxf")")
bench h264 "$WORK/h264-1080p.mp4" "ffmpeg -nostdin -v error -i $WORK/h264-1080p.mp4 -f null -"
ROWS+=("h264|(c) H.264 1080p24, 60 s|$(frames "$WORK/h264-1080p.mp4")")
i=0
for imp in $IMP_DIRS; do
  i=$((i + 1))
  video=$(find "$imp" -maxdepth 1 -iname 'VIDEO*.mxf' -o -maxdepth 1 -iname '*_v*.mxf' | head -n 1)
  [ -n "$video" ] || { echo "$imp: no picture track file (VIDEO*.mxf) found; skipped" >&2; continue; }
  # ffmpeg's own decoder cannot read HTJ2K: decode with OpenJPEG as the scan does.
  dec=""
  ffmpeg -nostdin -v error -i "$video" -frames:v 1 -f null - 2>/dev/null || dec="-c:v libopenjpeg"
  bench "imp$i" "$imp" "ffmpeg -nostdin -v error $dec -i $video -f null -"
  ROWS+=("imp$i|IMF package $(basename "$imp") (picture track decoded${dec:+ with libopenjpeg})|$(frames "$video")")
done

# Fidelity of reduced-resolution JPEG 2000 decoding: every frame of 1 s of the UHD file
# (decoded at -lowres 2, 960x540) and of a 1080p J2K file (-lowres 1) against a lossless FFV1
# copy of the same frames (decoded at full size), both hashed by `assets add` (every frame).
log "lowres fidelity"
FDB="$WORK/fidelity.db"
rm -f "$FDB"
ff -i "$WORK/j2k-uhd.mxf" -t 1 -c copy -f mxf "$WORK/fid-uhd.mxf"
ff -f lavfi -i "$SRC,trim=duration=1" -c:v libopenjpeg -compression_level 12 -pix_fmt yuv420p -f mxf "$WORK/fid-1080.mxf"
for f in fid-uhd fid-1080; do
  ff -i "$WORK/$f.mxf" -c:v ffv1 "$WORK/$f-full.mkv"
  "$BIN" assets add --database-url "sqlite://$FDB" --production fidelity --use "$f" "$WORK/$f.mxf" >/dev/null
  "$BIN" assets add --database-url "sqlite://$FDB" --production fidelity --use "$f-full" "$WORK/$f-full.mkv" >/dev/null
done
python3 - "$FDB" <<'PY' | tee "$OUT/lowres.md"
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
frames = {}
for ref, ms, pdq in con.execute("SELECT a.use_ref, f.at_ms, f.pdq FROM bank_assets a "
                                "JOIN bank_asset_frames f ON f.asset_id = a.id"):
    frames.setdefault(ref, {})[ms] = int(pdq, 16)
print("| J2K file | decoded at | frames | bits from full-size decode: max | mean |")
print("| --- | --- | ---: | ---: | ---: |")
for ref, label, size in (("fid-uhd", "3840x2160", "960x540 (-lowres 2)"),
                         ("fid-1080", "1920x1080", "960x540 (-lowres 1)")):
    low, full = frames.get(ref, {}), frames.get(ref + "-full", {})
    d = [bin(low[t] ^ full[t]).count("1") for t in sorted(low) if t in full]
    print(f"| {label} | {size} | {len(d)} | {max(d) if d else '-'} "
          f"| {sum(d) / max(len(d), 1):.2f} |")
PY

log "done"
python3 - "$OUT" "${ROWS[@]}" <<'PY' | tee "$OUT/bench-scan.md"
import json, sys
out = sys.argv[1]
print("| file | frames | decode wall (s) | scan wall (s) | decode / scan, wall | decode CPU (s) "
      "| scan CPU (s) | decode / scan, CPU | scan frames / s |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for row in sys.argv[2:]:
    name, label, frames = row.split("|")
    res = {r["command"]: r for r in json.load(open(f"{out}/{name}.json"))["results"]}
    d, s = res["decode"], res["scan"]
    dw, sw = d["median"], s["median"]
    dc, sc = d["user"] + d["system"], s["user"] + s["system"]
    print(f"| {label} | {frames} | {dw:.2f} | {sw:.2f} | **{dw / sw:.1f}x** | {dc:.2f} | {sc:.2f} "
          f"| {dc / sc:.1f}x | {int(frames) / sw:.0f} |")
PY
