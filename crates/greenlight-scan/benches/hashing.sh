#!/usr/bin/env bash
# Hashing throughput of `greenlight scan` against b3sum and openssl on the same file, in one
# hyperfine run (warm page cache). Usage: benches/hashing.sh [SIZE_MIB] (default 4096).
# Needs: hyperfine, b3sum (cargo install b3sum), openssl, and a built greenlight binary
# (GREENLIGHT=path, default target/release/greenlight).
set -euo pipefail
MIB=${1:-4096}
GREENLIGHT=${GREENLIGHT:-target/release/greenlight}
B3SUM=${B3SUM:-b3sum}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
head -c $((MIB * 1024 * 1024)) /dev/urandom > "$DIR/payload.bin"
cat "$DIR/payload.bin" > /dev/null # warm the page cache
hyperfine --warmup 1 --runs ${RUNS:-5} --export-markdown "${OUT:-/dev/stdout}" \
  -n "b3sum" "$B3SUM $DIR/payload.bin" \
  -n "greenlight scan (BLAKE3)" "$GREENLIGHT scan --no-cache --format json $DIR/payload.bin" \
  -n "openssl dgst -sha256" "openssl dgst -sha256 $DIR/payload.bin" \
  -n "greenlight scan --sha256 (BLAKE3 + SHA-256)" "$GREENLIGHT scan --no-cache --sha256 --format json $DIR/payload.bin"
