#!/usr/bin/env bash
# Counts the instructions each engine executes per declaration over the public scenarios, with
# callgrind (insensitive to the other jobs on the machine, unlike wall-clock timings).
# Usage: tools/engine-compare/callgrind.sh [ITERATIONS]   (needs valgrind)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
iters="${1:-10}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/gl-compare}"
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
bin="$CARGO_TARGET_DIR/release/engine-compare"
scenarios="$(find "$here/../../../shared/scenarios/public" -name '*.yaml' | wc -l)"
out="$(mktemp -d)"
printf '%-18s %12s %9s\n' engine instr/decl 'x parse'
base=""
for engine in parse cel rego-engine rego-compiled rego-rvm cel-lean rego-lean-engine rego-lean-rvm rego-input; do
  valgrind --tool=callgrind --callgrind-out-file="$out/$engine.out" \
    --toggle-collect='*measured_*' "$bin" --only "$engine" --iters "$iters" 2>"$out/$engine.log"
  total="$(grep -oP 'Collected : \K[0-9]+' "$out/$engine.log")"
  per=$((total / (iters * scenarios)))
  base="${base:-$per}"
  printf '%-18s %12d %9s\n' "$engine" "$per" "$(echo "scale=4; $per / $base" | bc | xargs printf "%.2f")"
done
rm -rf "$out"
